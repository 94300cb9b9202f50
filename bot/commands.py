"""The command menu, registered per scope and language with setMyCommands: everyone's default
menu per language, and a known user's own menu (their roles, their language) per chat."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n

from bot.config import SUPPORTED_LOCALES
from bot.i18n import N_
from services.core.access import Action, family_may
from services.core.actors import FAMILY_ROLES, Actor, Role

STAFF = frozenset({Role.TEACHER, Role.CLASS_TEACHER, Role.HEAD_TEACHER, Role.ADMIN})
EVERYONE: frozenset[Role] = frozenset()

# (command, description msgid, roles that see it — empty: everyone, also unknown users).
# Areas append their commands here, in the order they should appear.
MENU: list[tuple[str, str, frozenset[Role]]] = [
    ("start", N_("Main screen"), EVERYONE),
    ("today", N_("Today's lessons, grades and homework"), FAMILY_ROLES),
    ("tomorrow", N_("Tomorrow's lessons and homework"), FAMILY_ROLES),
    ("week", N_("The week in the diary"), FAMILY_ROLES),
    ("grades", N_("Grades and averages"), FAMILY_ROLES),
    ("homework", N_("Homework"), FAMILY_ROLES),
    ("schedule", N_("Timetable"), FAMILY_ROLES),
    ("attendance", N_("Absences and lateness"), FAMILY_ROLES),
    ("access", N_("Who can see my child"), frozenset({Role.PARENT})),
    ("requests", N_("Parents' link requests"), frozenset({Role.CLASS_TEACHER, Role.ADMIN})),
    (
        "classes",
        N_("Access by class"),
        frozenset({Role.CLASS_TEACHER, Role.HEAD_TEACHER, Role.ADMIN}),
    ),
    ("codes", N_("Access codes and letters"), frozenset({Role.ADMIN})),
    ("school", N_("School data: import, export, template"), frozenset({Role.ADMIN})),
    ("journal", N_("Teacher's journal: lessons, grades, attendance"), STAFF),
    ("reports", N_("Reports: summaries, attendance, report cards"), STAFF),
    ("settings", N_("Notification settings"), FAMILY_ROLES | STAFF),
    ("help", N_("What I can do"), EVERYONE),
    ("language", N_("Change the language"), EVERYONE),
]
assert all(roles <= FAMILY_ROLES | STAFF for _, _, roles in MENU)

#: the diary commands a trusted person's grant must allow (the others show any child's day)
NEEDS: dict[str, Action] = {
    "grades": Action.VIEW_GRADES,
    "homework": Action.VIEW_HOMEWORK,
    "schedule": Action.VIEW_SCHEDULE,
    "attendance": Action.VIEW_ATTENDANCE,
}


def menu_for(actor: Actor | None, locale: str, i18n: I18n) -> list[BotCommand]:
    """The commands an actor sees (all its roles together), described in `locale`; one that
    needs a scope only if the actor is a parent or a student, or one of its grants has it."""
    roles = actor.roles if actor is not None else frozenset()
    return [
        BotCommand(command=name, description=i18n.gettext(text, locale=locale))
        for name, text, allowed in MENU
        if (not allowed or allowed & roles) and _in_scope(actor, name)
    ]


def _in_scope(actor: Actor | None, command: str) -> bool:
    need = NEEDS.get(command)
    if need is None or actor is None:
        return True
    return any(family_may(child, need) for child in actor.children)


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


async def forget_chat_menu(bot: Bot, telegram_id: int) -> None:
    """Drop a user's own menu (after they deleted their data): the default menus apply."""
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=telegram_id))
