"""What every per-update middleware shares: the handler type, rolling an update's work back,
and the one shape of a middleware that turns a failure into an answer."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rendering import Renderer

#: the next step of aiogram's middleware chain
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

E = TypeVar("E", bound=Exception)


async def roll_back(data: dict[str, Any]) -> None:
    """Undo what the update wrote so far (nothing if it has no session yet)."""
    session: AsyncSession | None = data.get("session")
    if session is not None:
        await session.rollback()


class AnsweringMiddleware(BaseMiddleware, Generic[E]):
    """Catches `caught` from the rest of the update: logs it (`report`), rolls the update's
    work back, then tells the user (`answer`, rendered with `renderer`); the update ends
    there (None). Anything else passes through untouched."""

    caught: type[E]

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except self.caught as exc:
            self.report(exc, data)
            await roll_back(data)
            await self.answer(event, data, exc)
            return None

    @abstractmethod
    def report(self, exc: E, data: dict[str, Any]) -> None:
        """Log the failure (called inside the `except`, so `logger.exception` has it)."""

    @abstractmethod
    async def answer(self, event: TelegramObject, data: dict[str, Any], exc: E) -> None:
        """Tell the user about `exc`, in their language."""
