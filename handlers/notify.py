"""Notifications in the chat: reactions on grade messages (seen, comments and the teacher's
replies), the settings screen (/settings) and, for admins, the undelivered notifications."""

from __future__ import annotations

from typing import Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks import notify as cb
from bot.commands import forget_chat_menu
from bot.filters import register_buttons
from bot.keyboards import notify as kb
from bot.notifier import preference_defaults
from bot.screens import Screen
from bot.states import Payload, Slot
from bot.telegram import edit_keyboard, pressed_message, send_long
from handlers.calendar import subscriptions_offered
from handlers.context import Ctx
from services.core.access import Action, can, require
from services.core.actors import Role
from services.core.errors import DomainError
from services.core.schooltime import utcnow
from services.notify import outbox, preferences, reactions
from services.notify.preferences import MODES
from services.people import privacy

PROMPT_TTL = 15 * 60  # seconds a prompt waits for the text before it is forgotten


class NoteStates(StatesGroup):
    comment = State()  # a parent writes a comment on a grade
    reply = State()  # a teacher writes a reply to a comment


class AwaitedNote(Payload):
    """A comment on a grade (`on="grade"`) or a reply to a comment (`on="comment"`) waiting
    to be typed; `at`: when it was asked (epoch seconds)."""

    on: Literal["grade", "comment"]
    target_id: int
    at: int

    @property
    def to_teacher(self) -> bool:
        """A parent's comment goes to the teacher; a reply goes back to the family."""
        return self.on == "grade"


NOTE = Slot("note", AwaitedNote)


def _now() -> int:
    return int(utcnow().timestamp())


# --- settings -----------------------------------------------------------------------------------


async def settings_screen(ctx: Ctx) -> Screen:
    """The notification settings (a stranger gets the welcome instead)."""
    session, actor = ctx.session, ctx.actor
    if not actor.is_known:
        return ctx.screen("common/welcome.html.j2")
    dead = None
    if actor.school_id is not None and await can(session, actor, Action.ADMINISTER):
        dead = await outbox.dead_letter_count(session, actor.school_id)
    view = await preferences.settings_view(
        session, actor, preference_defaults(ctx.settings), dead_letters=dead
    )
    erase = actor.account_id if privacy.may_erase(actor) else None
    markup = kb.settings_keyboard(view, erase, calendar=subscriptions_offered(ctx.settings, actor))
    return ctx.screen("settings/main.html.j2", markup, view=view)


async def show_settings(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/settings and the "Settings" buttons."""
    await ctx.show(await settings_screen(ctx))


async def on_preference(query: CallbackQuery, callback_data: cb.PrefCb, ctx: Ctx) -> None:
    if ctx.actor.is_known:
        await _set_preference(ctx, callback_data)
    await ctx.show(await settings_screen(ctx))


async def _set_preference(ctx: Ctx, data: cb.PrefCb) -> None:
    session, actor = ctx.session, ctx.actor
    defaults = preference_defaults(ctx.settings)
    kind, value = data.kind, data.value
    try:
        if data.op == cb.PrefOp.MODE and kind is not None and 0 <= value < len(MODES):
            await preferences.set_mode(session, actor, kind, MODES[value], defaults)
        elif data.op == cb.PrefOp.URGENT and kind is not None:
            await preferences.set_urgent(session, actor, kind, bool(value), defaults)
        elif data.op == cb.PrefOp.QUIET:
            await preferences.set_quiet(session, actor, value)
        elif data.op == cb.PrefOp.DIGEST_TIME:
            await preferences.set_digest_time(session, actor, value)
    except ValueError:
        ctx.alert(ctx.render("notify/error.html.j2", key="bad_option"))


async def on_dead_letters(query: CallbackQuery, callback_data: cb.DeadLetterCb, ctx: Ctx) -> None:
    session, actor = ctx.session, ctx.actor
    await require(session, actor, Action.ADMINISTER)
    assert actor.school_id is not None
    if callback_data.retry:
        count = await outbox.retry_dead_letters(session, actor.school_id, utcnow())
        ctx.tell(ctx.render("settings/retried.html.j2", count=count))
    letters = await outbox.dead_letters(session, actor.school_id)
    count = await outbox.dead_letter_count(session, actor.school_id)
    markup = kb.dead_letters_keyboard(count)
    await ctx.show(
        ctx.screen("settings/dead_letters.html.j2", markup, letters=letters, count=count)
    )


async def on_erase(query: CallbackQuery, callback_data: cb.EraseCb, ctx: Ctx) -> None:
    """Settings → "Delete my data": a confirmation screen, then the deletion (own data only)."""
    actor, account_id = ctx.actor, callback_data.account_id
    privacy.require_own(actor, account_id)
    if not callback_data.confirm:
        screen = ctx.screen(
            "settings/erase_confirm.html.j2",
            kb.erase_confirm_keyboard(account_id),
            children=[c.name for c in actor.children if c.via != Role.STUDENT],
            student=actor.has(Role.STUDENT),
            parent=actor.has(Role.PARENT),
        )
        await ctx.show(screen)
        return
    await privacy.erase_account(ctx.session, actor, account_id)
    await ctx.state.clear()
    await ctx.show(ctx.screen("settings/erased.html.j2"))
    await forget_chat_menu(ctx.bot, actor.telegram_id)


# --- reactions ----------------------------------------------------------------------------------


async def on_seen(query: CallbackQuery, callback_data: cb.ReactCb, ctx: Ctx) -> None:
    first = await reactions.acknowledge(ctx.session, ctx.actor, callback_data.grade_id)
    ctx.alert(ctx.render("notify/seen.html.j2", first=first))
    await _drop_seen_button(query, callback_data, ctx.bot)


async def _drop_seen_button(query: CallbackQuery, pressed: cb.ReactCb, bot: Bot) -> None:
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
    await edit_keyboard(message, bot, markup)


async def on_comment(query: CallbackQuery, callback_data: cb.ReactCb, ctx: Ctx) -> None:
    view = await reactions.thread(ctx.session, ctx.actor, callback_data.grade_id)
    if not view.can_comment:
        await require(ctx.session, ctx.actor, Action.REACT_TO_GRADE, view.grade.student_id)
        ctx.alert(ctx.render("notify/error.html.j2", key="grade_gone"))
        return
    await _ask(ctx, AwaitedNote(on="grade", target_id=view.grade.id, at=_now()), view)


async def on_reply(query: CallbackQuery, callback_data: cb.ReplyCb, ctx: Ctx) -> None:
    comment_id = callback_data.comment_id
    view = await reactions.reply_target(ctx.session, ctx.actor, comment_id)
    await _ask(ctx, AwaitedNote(on="comment", target_id=comment_id, at=_now()), view)


async def _ask(ctx: Ctx, note: AwaitedNote, view: reactions.ThreadView) -> None:
    """Wait for the text of `note`, asked for below the pressed message."""
    await ctx.state.set_state(NoteStates.comment if note.to_teacher else NoteStates.reply)
    await NOTE.save(ctx.state, note)
    text = ctx.render("notify/prompt.html.j2", view=view, to_teacher=note.to_teacher)
    await ctx.show(Screen(text, kb.cancel_keyboard()), anew=True)


async def on_thread(query: CallbackQuery, callback_data: cb.ReactCb, ctx: Ctx) -> None:
    view = await reactions.thread(ctx.session, ctx.actor, callback_data.grade_id)
    markup = kb.thread_keyboard(view.grade.id, can_comment=view.can_comment)
    # the whole thread, in as many messages as it takes (20 comments of 1000 characters an hour)
    text = ctx.render("notify/thread.html.j2", view=view)
    await send_long(ctx.bot, ctx.chat_id, text, reply_markup=markup)


async def on_note_text(message: Message, ctx: Ctx) -> None:
    """The text of a comment or a reply; a prompt left too long (or stored by an older
    version) has expired and nothing is sent."""
    note = await NOTE.load(ctx.state)
    await NOTE.clear(ctx.state)
    if note is None or _now() - note.at > PROMPT_TTL:
        raise DomainError("reaction.expired")
    session, actor, text = ctx.session, ctx.actor, message.text
    if note.to_teacher:
        sent = await reactions.add_comment(session, actor, note.target_id, text)
    else:
        sent = await reactions.add_reply(session, actor, note.target_id, text)
    await ctx.show(ctx.screen("notify/sent.html.j2", to_teacher=note.to_teacher, text=sent.text))


async def on_not_text(message: Message, ctx: Ctx) -> None:
    await ctx.show(ctx.screen("notify/error.html.j2", key="not_text"))


async def on_cancel(query: CallbackQuery, callback_data: cb.NoteCancelCb, ctx: Ctx) -> None:
    had = await ctx.state.get_state() in (NoteStates.comment.state, NoteStates.reply.state)
    if had:
        await NOTE.clear(ctx.state)
    await ctx.show(ctx.screen("notify/cancelled.html.j2", had=had))


def create_router() -> Router:
    router = Router(name="notify")
    router.message.register(show_settings, Command("settings"))
    buttons = router.callback_query
    buttons.register(show_settings, MenuCb.filter(F.screen == MenuScreen.SETTINGS))
    buttons.register(on_seen, cb.ReactCb.filter(F.op == cb.ReactOp.SEEN))
    buttons.register(on_comment, cb.ReactCb.filter(F.op == cb.ReactOp.COMMENT))
    buttons.register(on_thread, cb.ReactCb.filter(F.op == cb.ReactOp.THREAD))
    register_buttons(router, on_preference, on_dead_letters, on_erase, on_reply, on_cancel)
    writing = StateFilter(NoteStates.comment, NoteStates.reply)
    router.message.register(on_note_text, writing, F.text & ~F.text.startswith("/"))
    router.message.register(on_not_text, writing, ~F.text)
    return router
