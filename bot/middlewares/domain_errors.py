"""The one translator of `DomainError` into an answer the user reads."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from aiogram import Bot
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer

from bot.middlewares.base import AnsweringMiddleware
from bot.rendering import Renderer
from bot.telegram import plain_text, show_for
from services.core.errors import DomainError, Shown

logger = logging.getLogger("parta.refusals")

#: the short refusal of `Shown.ALERT`, whatever the area
REFUSED_TEMPLATE = "errors/refused.html.j2"
#: the template that explains each area's keys (rendered with ``key`` = the reason, without
#: the area, and ``details``)
AREA_TEMPLATES: Mapping[str, str] = MappingProxyType(
    {
        "access": "errors/access.html.j2",
        "codes": "school/codes_error.html.j2",
        "journal": "journal/error.html.j2",
        "link": "linking/error.html.j2",
        "privacy": "settings/erase_error.html.j2",
        "reaction": "notify/error.html.j2",
        "roster": "school/roster_error.html.j2",
        "submission": "diary/submit_refused.html.j2",
        "year": "school/year_error.html.j2",
    }
)
# detail values safe to log: ids, counts, enums and times (names and typed text are not)
_LOGGED = (int, enum.Enum, date, datetime)


def error_text(renderer: Renderer, error: DomainError) -> str:
    """The localized Telegram HTML that tells the user about `error`, as it is shown."""
    if error.shown == Shown.ALERT:
        return renderer.render(REFUSED_TEMPLATE)
    return renderer.render(AREA_TEMPLATES[error.area], key=error.reason, details=error.details)


def _loggable(details: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in details.items() if isinstance(v, _LOGGED))


class DomainErrorMiddleware(AnsweringMiddleware[DomainError]):
    """Turns a `DomainError` into its answer; the update's work is rolled back and the refusal
    logged as a warning.

    `Shown.ALERT` and `Shown.REASON` answer a pressed button with an alert (through the
    `CallbackAnswer` that `CallbackAnswerMiddleware` prepared) and a message with a reply;
    `Shown.SCREEN` puts the text in place of the pressed screen. Registered on messages and
    on callback queries, inside `CallbackAnswerMiddleware`.
    """

    caught = DomainError

    def report(self, exc: DomainError, data: dict[str, Any]) -> None:
        user = data.get("event_from_user")
        logger.warning(
            "refused %s %s for user %s", exc.key, _loggable(exc.details), user and user.id
        )

    async def answer(self, event: TelegramObject, data: dict[str, Any], exc: DomainError) -> None:
        text = error_text(self.renderer, exc)
        if isinstance(event, Message):
            await event.answer(text)
            return
        if not isinstance(event, CallbackQuery):
            return
        if exc.shown == Shown.SCREEN:
            bot: Bot = data["bot"]
            await show_for(event, bot, text)
            return
        answer: CallbackAnswer | None = data.get("callback_answer")
        if answer is not None and not answer.answered:
            answer.text = plain_text(text)
            answer.show_alert = True
