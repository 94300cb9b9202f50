"""Notifications in the chat: reactions on grade messages (seen, comments and the teacher's
replies), the settings screen (/settings) and, for admins, the undelivered notifications."""

from __future__ import annotations

from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCb, Screen
from bot.callbacks.notify import (
    DeadLetterCb,
    EraseCb,
    NoteCancelCb,
    PrefCb,
    PrefOp,
    ReactCb,
    ReactOp,
    ReplyCb,
)
from bot.commands import forget_chat_menu
from bot.config import Settings
from bot.keyboards.notify import (
    cancel_keyboard,
    dead_letters_keyboard,
    erase_confirm_keyboard,
    settings_keyboard,
    thread_keyboard,
)
from bot.notifier import preference_defaults
from bot.rendering import Renderer
from bot.telegram import pressed_message, refuse, show_for
from db.base import utcnow
from services.core.access import Action, can, require
from services.core.actors import Actor, Role
from services.notify import outbox, preferences, reactions
from services.notify.preferences import MODES
from services.people import privacy

TARGET_KEY = "note_target"
ASKED_KEY = "note_asked_at"
PROMPT_TTL = 15 * 60  # seconds a prompt waits for the text before it is forgotten


class NoteStates(StatesGroup):
    comment = State()  # a parent writes a comment on a grade
    reply = State()  # a teacher writes a reply to a comment


# --- settings -----------------------------------------------------------------------------------


async def _render_settings(
    session: AsyncSession, actor: Actor, renderer: Renderer, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not actor.is_known:
        return renderer.render("common/welcome.html.j2"), None
    dead = None
    if actor.school_id is not None and await can(session, actor, Action.ADMINISTER):
        dead = await outbox.dead_letter_count(session, actor.school_id)
    view = await preferences.settings_view(
        session, actor, preference_defaults(settings), dead_letters=dead
    )
    erase = actor.account_id if privacy.may_erase(actor) else None
    return renderer.render("settings/main.html.j2", view=view), settings_keyboard(view, erase)


async def settings_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, settings: Settings
) -> None:
    text, markup = await _render_settings(session, actor, renderer, settings)
    await message.answer(text, reply_markup=markup)


async def open_settings(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
) -> None:
    text, markup = await _render_settings(session, actor, renderer, settings)
    await show_for(query, bot, text, markup)


async def on_preference(
    query: CallbackQuery,
    callback_data: PrefCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    if not actor.is_known:
        await open_settings(query, session, actor, renderer, settings, bot)
        return
    defaults = preference_defaults(settings)
    kind, value = callback_data.kind, callback_data.value
    try:
        if callback_data.op == PrefOp.MODE and kind is not None and 0 <= value < len(MODES):
            await preferences.set_mode(session, actor, kind, MODES[value], defaults)
        elif callback_data.op == PrefOp.URGENT and kind is not None:
            await preferences.set_urgent(session, actor, kind, bool(value), defaults)
        elif callback_data.op == PrefOp.QUIET:
            await preferences.set_quiet(session, actor, value)
        elif callback_data.op == PrefOp.DIGEST_TIME:
            await preferences.set_digest_time(session, actor, value)
    except ValueError:
        refuse(callback_answer, renderer.render("notify/error.html.j2", key="bad_option"))
    await open_settings(query, session, actor, renderer, settings, bot)


async def on_dead_letters(
    query: CallbackQuery,
    callback_data: DeadLetterCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    await require(session, actor, Action.ADMINISTER)
    assert actor.school_id is not None
    if callback_data.retry:
        count = await outbox.retry_dead_letters(session, actor.school_id, utcnow())
        callback_answer.text = renderer.render("settings/retried.html.j2", count=count)
    letters = await outbox.dead_letters(session, actor.school_id)
    count = await outbox.dead_letter_count(session, actor.school_id)
    await show_for(
        query,
        bot,
        renderer.render("settings/dead_letters.html.j2", letters=letters, count=count),
        dead_letters_keyboard(count),
    )


async def on_erase(
    query: CallbackQuery,
    callback_data: EraseCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Settings → "Delete my data": a confirmation screen, then the deletion (own data only)."""
    privacy.require_own(actor, callback_data.account_id)
    if not callback_data.confirm:
        text = renderer.render(
            "settings/erase_confirm.html.j2",
            children=[c.name for c in actor.children if c.via != Role.STUDENT],
            student=actor.has(Role.STUDENT),
            parent=actor.has(Role.PARENT),
        )
        await show_for(query, bot, text, erase_confirm_keyboard(callback_data.account_id))
        return
    await privacy.erase_account(session, actor, callback_data.account_id)
    await state.clear()
    await show_for(query, bot, renderer.render("settings/erased.html.j2"))
    await forget_chat_menu(bot, actor.telegram_id)


# --- reactions ----------------------------------------------------------------------------------


async def on_seen(
    query: CallbackQuery,
    callback_data: ReactCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    callback_answer: CallbackAnswer,
) -> None:
    first = await reactions.acknowledge(session, actor, callback_data.grade_id)
    refuse(callback_answer, renderer.render("notify/seen.html.j2", first=first))
    await _drop_seen_button(query, callback_data)


async def _drop_seen_button(query: CallbackQuery, pressed: ReactCb) -> None:
    """Once seen, the push loses that grade's "👀 Seen" (its other buttons stay)."""
    message = pressed_message(query)
    if message is None or message.reply_markup is None:
        return
    data = pressed.pack()
    rows = [
        [button for button in row if button.callback_data != data]
        for row in message.reply_markup.inline_keyboard
    ]
    rows = [row for row in rows if row]
    if rows == message.reply_markup.inline_keyboard:
        return
    markup = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
    with suppress(TelegramBadRequest):  # too old to edit, or deleted: the answer is enough
        await message.edit_reply_markup(reply_markup=markup)


async def on_comment(
    query: CallbackQuery,
    callback_data: ReactCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    view = await reactions.thread(session, actor, callback_data.grade_id)
    if not view.can_comment:
        await require(session, actor, Action.REACT_TO_GRADE, view.grade.student_id)
        refuse(callback_answer, renderer.render("notify/error.html.j2", key="grade_gone"))
        return
    await state.set_state(NoteStates.comment)
    await state.update_data({TARGET_KEY: view.grade.id, ASKED_KEY: utcnow().timestamp()})
    await bot.send_message(
        query.from_user.id,
        renderer.render("notify/prompt.html.j2", view=view, to_teacher=True),
        reply_markup=cancel_keyboard(),
    )


async def on_thread(
    query: CallbackQuery,
    callback_data: ReactCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    view = await reactions.thread(session, actor, callback_data.grade_id)
    await bot.send_message(
        query.from_user.id,
        renderer.render("notify/thread.html.j2", view=view),
        reply_markup=thread_keyboard(view.grade.id, can_comment=view.can_comment),
    )


async def on_reply(
    query: CallbackQuery,
    callback_data: ReplyCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
) -> None:
    view = await reactions.reply_target(session, actor, callback_data.comment_id)
    await state.set_state(NoteStates.reply)
    await state.update_data({TARGET_KEY: callback_data.comment_id, ASKED_KEY: utcnow().timestamp()})
    await bot.send_message(
        query.from_user.id,
        renderer.render("notify/prompt.html.j2", view=view, to_teacher=False),
        reply_markup=cancel_keyboard(),
    )


async def _pending_target(state: FSMContext) -> int | None:
    """The grade or comment being answered, unless the prompt is too old."""
    data = await state.get_data()
    asked = data.get(ASKED_KEY)
    target = data.get(TARGET_KEY)
    await state.set_state(None)
    await state.update_data({TARGET_KEY: None, ASKED_KEY: None})
    if not isinstance(target, int) or not isinstance(asked, int | float):
        return None
    if utcnow().timestamp() - asked > PROMPT_TTL:
        return None
    return target


async def on_comment_text(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, state: FSMContext
) -> None:
    grade_id = await _pending_target(state)
    if grade_id is None:
        await message.answer(renderer.render("notify/error.html.j2", key="expired"))
        return
    comment = await reactions.add_comment(session, actor, grade_id, message.text)
    await message.answer(renderer.render("notify/sent.html.j2", to_teacher=True, text=comment.text))


async def on_reply_text(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, state: FSMContext
) -> None:
    comment_id = await _pending_target(state)
    if comment_id is None:
        await message.answer(renderer.render("notify/error.html.j2", key="expired"))
        return
    reply = await reactions.add_reply(session, actor, comment_id, message.text)
    await message.answer(renderer.render("notify/sent.html.j2", to_teacher=False, text=reply.text))


async def on_not_text(message: Message, renderer: Renderer) -> None:
    await message.answer(renderer.render("notify/error.html.j2", key="not_text"))


async def on_cancel(query: CallbackQuery, state: FSMContext, renderer: Renderer, bot: Bot) -> None:
    had = await state.get_state() in (NoteStates.comment.state, NoteStates.reply.state)
    if had:
        await state.set_state(None)
        await state.update_data({TARGET_KEY: None, ASKED_KEY: None})
    await show_for(
        query,
        bot,
        renderer.render("notify/cancelled.html.j2", had=had),
        None,
    )


def create_router() -> Router:
    router = Router(name="notify")
    router.message.filter(F.chat.type == "private")
    router.message.register(settings_command, Command("settings"))
    router.callback_query.register(open_settings, MenuCb.filter(F.screen == Screen.SETTINGS))
    router.callback_query.register(on_preference, PrefCb.filter())
    router.callback_query.register(on_dead_letters, DeadLetterCb.filter())
    router.callback_query.register(on_erase, EraseCb.filter())
    router.callback_query.register(on_seen, ReactCb.filter(F.op == ReactOp.SEEN))
    router.callback_query.register(on_comment, ReactCb.filter(F.op == ReactOp.COMMENT))
    router.callback_query.register(on_thread, ReactCb.filter(F.op == ReactOp.THREAD))
    router.callback_query.register(on_reply, ReplyCb.filter())
    router.callback_query.register(on_cancel, NoteCancelCb.filter())
    text = F.text & ~F.text.startswith("/")
    router.message.register(on_comment_text, StateFilter(NoteStates.comment), text)
    router.message.register(on_reply_text, StateFilter(NoteStates.reply), text)
    router.message.register(on_not_text, StateFilter(NoteStates.comment, NoteStates.reply), ~F.text)
    return router
