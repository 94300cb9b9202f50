"""What every per-update middleware shares: the handler type and rolling an update's work back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

#: the next step of aiogram's middleware chain
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def roll_back(data: dict[str, Any]) -> None:
    """Undo what the update wrote so far (nothing if it has no session yet)."""
    session: AsyncSession | None = data.get("session")
    if session is not None:
        await session.rollback()
