"""/start, /help, /language and the main screen: for everyone, known or not."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.callbacks import LanguageCb, MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.commands import register_chat_menu
from bot.keyboards import home_keyboard, language_keyboard
from bot.middlewares.locale import remember_locale
from bot.screens import Screen
from handlers.context import Ctx
from services.core.actors import Actor, Role, set_locale
from services.people import linking

ROLE_ORDER = list(Role)


def _roles(actor: Actor) -> list[str]:
    return [role.value for role in ROLE_ORDER if role in actor.roles]


def home_screen(ctx: Ctx) -> Screen:
    """The main screen of a known user: who they are and where they can go."""
    actor = ctx.actor
    return ctx.screen("common/home.html.j2", home_keyboard(actor), actor=actor, roles=_roles(actor))


async def start(message: Message, ctx: Ctx, i18n: I18n) -> None:
    await ctx.state.set_state(None)  # /start is the way out of any half-finished conversation
    if not ctx.actor.is_known:
        await ctx.show(ctx.screen("common/welcome.html.j2"))
        return
    if not ctx.actor.roles and await linking.has_pending_request(ctx.session, ctx.actor):
        await ctx.show(ctx.screen("linking/pending.html.j2"))
        return
    await ctx.show(home_screen(ctx))
    await register_chat_menu(ctx.bot, ctx.actor, i18n.current_locale, i18n)


async def open_home(query: CallbackQuery, ctx: Ctx) -> None:
    await ctx.show(home_screen(ctx))


async def show_help(message: Message, ctx: Ctx) -> None:
    actor = ctx.actor
    await ctx.show(ctx.screen("common/help.html.j2", actor=actor, roles=_roles(actor)))


async def ask_language(message: Message, ctx: Ctx) -> None:
    await ctx.show(ctx.screen("common/language.html.j2", language_keyboard()))


async def on_language_chosen(
    query: CallbackQuery, callback_data: LanguageCb, ctx: Ctx, i18n: I18n
) -> None:
    locale = callback_data.code.value
    await set_locale(ctx.session, ctx.actor, locale)
    await remember_locale(ctx.state, locale)
    with i18n.use_locale(locale):
        await ctx.show(ctx.screen("common/language_set.html.j2"))
    if ctx.actor.is_known:
        await register_chat_menu(ctx.bot, ctx.actor, locale, i18n)


def create_router() -> Router:
    router = Router(name="common")
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(on_language_chosen, LanguageCb.filter())
    router.callback_query.register(open_home, MenuCb.filter(F.screen == MenuScreen.HOME))
    return router
