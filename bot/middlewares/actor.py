from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.base import Handler
from services.core.actors import Actor, load_actor


class ActorMiddleware(BaseMiddleware):
    """Resolves the Telegram user to the current `Actor` (roles, linked students)."""

    async def __call__(
        self,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        actor = (
            await load_actor(session, user.id, user.language_code)
            if user is not None
            else Actor(telegram_id=0)
        )
        data["actor"] = actor
        return await handler(event, data)
