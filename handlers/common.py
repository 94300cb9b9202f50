"""/start, /help, /language: for everyone, known or not."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LanguageCb, MenuCb, Screen
from bot.commands import register_chat_menu
from bot.keyboards import home_keyboard, language_keyboard
from bot.middlewares.locale import LOCALE_KEY
from bot.rendering import Renderer
from bot.telegram import show_for
from services.core.actors import Actor, Role, set_locale
from services.people import linking

ROLE_ORDER = list(Role)


def _roles(actor: Actor) -> list[str]:
    return [role.value for role in ROLE_ORDER if role in actor.roles]


def render_home(actor: Actor, renderer: Renderer) -> tuple[str, InlineKeyboardMarkup | None]:
    """The main screen of a known user: who they are and where they can go."""
    text = renderer.render("common/home.html.j2", actor=actor, roles=_roles(actor))
    return text, home_keyboard(actor)


async def start(
    message: Message,
    command: CommandObject,
    actor: Actor,
    session: AsyncSession,
    state: FSMContext,
    renderer: Renderer,
    bot: Bot,
    i18n: I18n,
) -> None:
    await state.set_state(None)  # /start is the way out of any half-finished conversation
    if not actor.is_known:
        await message.answer(renderer.render("common/welcome.html.j2"))
        return
    if not actor.roles and await linking.has_pending_request(session, actor):
        await message.answer(renderer.render("linking/pending.html.j2"))
        return
    text, markup = render_home(actor, renderer)
    await message.answer(text, reply_markup=markup)
    await register_chat_menu(bot, actor, i18n.current_locale, i18n)


async def open_home(query: CallbackQuery, actor: Actor, renderer: Renderer, bot: Bot) -> None:
    text, markup = render_home(actor, renderer)
    await show_for(query, bot, text, markup)


async def show_help(message: Message, actor: Actor, renderer: Renderer) -> None:
    await message.answer(renderer.render("common/help.html.j2", actor=actor, roles=_roles(actor)))


async def ask_language(message: Message, renderer: Renderer) -> None:
    await message.answer(
        renderer.render("common/language.html.j2"), reply_markup=language_keyboard()
    )


async def on_language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    actor: Actor,
    session: AsyncSession,
    state: FSMContext,
    renderer: Renderer,
    i18n: I18n,
    bot: Bot,
) -> None:
    locale = callback_data.code.value
    await set_locale(session, actor, locale)
    await state.update_data({LOCALE_KEY: locale})
    with i18n.use_locale(locale):
        text = renderer.render("common/language_set.html.j2")
        if isinstance(query.message, Message):
            if query.message.html_text != text:
                await query.message.edit_text(text)
        else:
            await bot.send_message(query.from_user.id, text)
    if actor.is_known:
        await register_chat_menu(bot, actor, locale, i18n)


def create_router() -> Router:
    router = Router(name="common")
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(ask_language, Command("language"))
    router.callback_query.register(on_language_chosen, LanguageCb.filter())
    router.callback_query.register(open_home, MenuCb.filter(F.screen == Screen.HOME))
    return router
