from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from bot.config import SUPPORTED_LOCALES
from services.core.actors import Actor

LOCALE_KEY = "locale"  # FSM data: the language a user without an account chose (/language)


async def chosen_locale(state: FSMContext) -> str | None:
    """The language chosen in this chat with /language, if it is one we speak."""
    chosen = (await state.get_data()).get(LOCALE_KEY)
    return chosen if chosen in SUPPORTED_LOCALES else None


async def remember_locale(state: FSMContext, locale: str) -> None:
    """Keep the chat's chosen language (it outlives every conversation)."""
    await state.update_data({LOCALE_KEY: locale})


def pick_locale(actor: Actor | None, chosen: str | None, user: User | None, default: str) -> str:
    """The account's choice, else the chat's choice, else Telegram's language, else default."""
    if actor is not None and actor.locale in SUPPORTED_LOCALES:
        return actor.locale
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if user is not None and user.language_code:
        language = user.language_code.split("-")[0].lower()
        if language in SUPPORTED_LOCALES:
            return language
    return default


class LocaleMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        actor: Actor | None = data.get("actor")
        chosen: str | None = None
        state: FSMContext | None = data.get("state")
        if (actor is None or actor.locale is None) and state is not None:
            chosen = await chosen_locale(state)
        return pick_locale(actor, chosen, data.get("event_from_user"), self.i18n.default_locale)
