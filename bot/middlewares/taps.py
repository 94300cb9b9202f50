"""A double tap runs once: the second press of the same button answered and dropped."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.middlewares.base import Handler
from bot.telegram import KeptResponseSession


class RepeatedTapMiddleware(BaseMiddleware):
    """Drops a double tap's second press (`ShownEdits.repeated_tap`): one tap of a grade
    makes one grade, of an attendance toggle one step, however fast the finger. Registered
    on callback queries inside `CallbackAnswerMiddleware`, which answers the dropped press."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message) and event.data:
            bot: Bot | None = data.get("bot")
            session = bot.session if bot is not None else None
            if isinstance(session, KeptResponseSession) and session.shown.repeated_tap(
                event.message, event.data
            ):
                return None
        return await handler(event, data)
