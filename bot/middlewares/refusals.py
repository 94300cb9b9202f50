from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from services.access import AccessDenied

logger = logging.getLogger("parta.access")


class RefusalMiddleware(BaseMiddleware):
    """Turns a policy refusal into a polite answer; the update's work is rolled back.

    Registered on messages and on callback queries inside `CallbackAnswerMiddleware`, so a
    refused button press gets its answer as an alert.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except AccessDenied as exc:
            session: AsyncSession | None = data.get("session")
            if session is not None:
                await session.rollback()
            user = data.get("event_from_user")
            logger.warning(
                "refused %s on %s for user %s", exc.action, exc.target_id, user and user.id
            )
            text = _("Sorry, you don't have access to this.")
            answer: CallbackAnswer | None = data.get("callback_answer")
            if isinstance(event, CallbackQuery) and answer is not None and not answer.answered:
                answer.text = text
                answer.show_alert = True
            elif isinstance(event, Message):
                await event.answer(text)
            return None
