from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update

from bot.middlewares.base import AnsweringMiddleware

logger = logging.getLogger("parta.errors")


class ErrorReplyMiddleware(AnsweringMiddleware[Exception]):
    """Innermost update middleware: log a handler's failure with context, roll the update's
    work back and tell the user, in their language, instead of leaving them in silence."""

    caught = Exception

    def report(self, exc: Exception, data: dict[str, Any]) -> None:
        update: Update | None = data.get("event_update")
        user = data.get("event_from_user")
        logger.exception(
            "update %s from user %s failed (handler %s)",
            update.update_id if update else "?",
            user.id if user else "?",
            getattr(data.get("handler"), "callback", None),
        )

    async def answer(self, event: TelegramObject, data: dict[str, Any], exc: Exception) -> None:
        chat = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if chat is not None and bot is not None:
            try:
                await bot.send_message(chat.id, self.renderer.render("errors/apology.html.j2"))
            except TelegramAPIError:
                logger.exception("could not send the apology to chat %s", chat.id)
