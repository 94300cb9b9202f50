"""The command menu, registered per scope and language with setMyCommands."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n

from bot.config import SUPPORTED_LOCALES
from bot.i18n import N_
from services.actors import Actor

# (command, description msgid)
_MENU: list[tuple[str, str]] = [
    ("start", N_("Main screen")),
    ("help", N_("What I can do")),
    ("language", N_("Change the language")),
]


def menu_for(actor: Actor | None, locale: str, i18n: I18n) -> list[BotCommand]:
    """The commands an actor sees, described in `locale`."""
    return [
        BotCommand(command=name, description=i18n.gettext(text, locale=locale))
        for name, text in _MENU
    ]


async def register_default_menus(bot: Bot, i18n: I18n) -> None:
    """Menus for every private chat: one per language, the default locale without a code."""
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(menu_for(None, i18n.default_locale, i18n), scope=scope)
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(menu_for(None, locale, i18n), scope=scope, language_code=locale)


async def register_chat_menu(bot: Bot, actor: Actor, locale: str, i18n: I18n) -> None:
    """A known user's own menu (their roles, their chosen language)."""
    scope = BotCommandScopeChat(chat_id=actor.telegram_id)
    await bot.set_my_commands(menu_for(actor, locale, i18n), scope=scope)
