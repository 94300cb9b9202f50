"""The teacher's journal: /journal, a day's lessons, the lesson card, one-tap grades and the
run-through, attendance, homework and submissions, topic / cancellation / replacement, period
grades, the history of changes and the "not seen by parents" list.

Handlers are thin: they call `services.journal` / `services.periods` / `services.audit` (which
check the actor and commit), render a template and show it in place. Every write answers with
the updated screen and a short confirmation, so a teacher never wonders whether it was saved.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCb, Screen
from bot.callbacks.journal import (
    AttendOp,
    JAssignCb,
    JAttendCb,
    JAuditCb,
    JCancelCb,
    JDayCb,
    JGradeCb,
    JLessonCb,
    JLessonOpCb,
    JMarkCb,
    JPeriodCb,
    JPeriodGradeCb,
    JPickCb,
    JRosterCb,
    JRunCb,
    JStudentCb,
    JSubmissionCb,
    JTypeCb,
    JUndoCb,
    JUnseenCb,
    LessonOp,
    LessonView,
    MarkOp,
    PeriodOp,
    Pick,
    RosterMode,
    RunOp,
    SubOp,
)
from bot.config import Settings
from bot.keyboards import journal as kb
from bot.rendering import Renderer
from bot.telegram import plain_text, pressed_message, refuse, show, show_for
from db.base import utcnow
from db.enums import AttachmentKind, AttendanceStatus, GradeKind
from services import audit, journal, periods
from services.access import Action, denied
from services.actors import Actor
from services.core.errors import DomainError
from services.grading import default_weight
from services.school import school_zone

INPUT = "journal"  # the FSM data key of a pending typed input
PROMPT = "prompt_id"  # in the pending input: the message that asked for it
INPUT_TTL = 30 * 60  # seconds a prompt (or an armed run-through) waits for its answer


class JournalInput(StatesGroup):
    value = State()  # a typed grade (also armed during a run-through)
    reason = State()  # the reason of a change after the grace window or in a closed period
    topic = State()
    homework = State()  # text and/or files
    files = State()  # more files for the homework
    excuse = State()  # why a student is excused
    comment = State()  # what a returned submission should fix
    period_value = State()  # a typed period grade


# --- helpers --------------------------------------------------------------------------------


Screen_ = tuple[str, InlineKeyboardMarkup | None]


def _grace(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.notify_grace_seconds)


async def _today(session: AsyncSession, actor: Actor, settings: Settings) -> date:
    zone = await school_zone(session, actor.school_id, settings.timezone)
    return utcnow().astimezone(zone).date()


def _day(ordinal: int) -> date:
    try:
        return date.fromordinal(ordinal)
    except (ValueError, OverflowError):
        raise DomainError("journal.bad_date") from None


def _toast(renderer: Renderer, key: str, **details: Any) -> Markup:
    """A short confirmation (rendered, escaped HTML) to put on top of the next screen."""
    return Markup(renderer.render("journal/toast.html.j2", key=key, details=details))


def _say(answer: CallbackAnswer, renderer: Renderer, key: str, **details: Any) -> Markup:
    """Confirm a write in the button's answer; returns the same notice as HTML."""
    notice = _toast(renderer, key, **details)
    answer.text = plain_text(notice)
    return notice


async def _leave_input(state: FSMContext) -> None:
    """Drop a pending typed input (a navigation button was pressed instead)."""
    current = await state.get_state()
    if current is not None and current.startswith(JournalInput.__name__):
        await state.set_state(None)
        await state.update_data({INPUT: None})


async def _ask(
    state: FSMContext,
    target: State,
    renderer: Renderer,
    bot: Bot,
    chat_id: int,
    key: str,
    *,
    lesson_id: int = 0,
    details: dict[str, Any] | None = None,
    markup: InlineKeyboardMarkup | None = None,
    **pending: Any,
) -> None:
    """Ask for a typed input: remember what it is for and which message asks it."""
    await state.set_state(target)
    await state.update_data({INPUT: {"lesson_id": lesson_id, **pending, "at": _now()}})
    prompt = await bot.send_message(
        chat_id,
        renderer.render("journal/prompt.html.j2", key=key, details=details or {}),
        reply_markup=markup or kb.cancel_keyboard(lesson_id),
    )
    await state.update_data(
        {INPUT: {"lesson_id": lesson_id, **pending, "at": _now(), PROMPT: prompt.message_id}}
    )


async def _settle_prompt(bot: Bot | None, chat_id: int, pending: dict[str, Any]) -> None:
    """The prompt has been answered and the change saved: take its buttons off, so its
    "Cancel" can't later claim to cancel a change that stands. Call after the service."""
    prompt_id = pending.get(PROMPT)
    if bot is None or not prompt_id:
        return
    with suppress(TelegramBadRequest):  # deleted by the user, or too old to edit
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=int(prompt_id), reply_markup=None
        )


def _now() -> int:
    return int(utcnow().timestamp())


async def _pending(state: FSMContext) -> dict[str, Any]:
    """What the prompt being answered was for; a prompt left for too long has expired."""
    data = (await state.get_data()).get(INPUT)
    pending = dict(data) if isinstance(data, dict) else {}
    if _now() - int(pending.get("at", 0)) > INPUT_TTL:
        await _leave_input(state)
        raise DomainError("journal.expired")
    return pending


# --- screens --------------------------------------------------------------------------------


async def _day_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    day: date | None = None,
    class_id: int = 0,
) -> Screen_:
    today = await _today(session, actor, settings)
    view = await journal.day_view(session, actor, day or today, today=today, class_id=class_id)
    if not view.teaches and not class_id and not view.lessons:
        classes = await journal.journal_classes(session, actor)
        text = renderer.render("journal/day.html.j2", view=view)
        return text, kb.classes_keyboard(view.day, classes)
    return renderer.render("journal/day.html.j2", view=view), kb.day_keyboard(view)


async def _lesson_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    notice: Markup | str = "",
) -> Screen_:
    card = await journal.lesson_card(session, actor, lesson_id)
    text = renderer.render("journal/lesson.html.j2", card=card, notice=notice)
    return text, kb.lesson_keyboard(card)


async def _roster_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    mode: RosterMode,
    page: int = 0,
    notice: Markup | str = "",
) -> Screen_:
    card = await journal.lesson_card(session, actor, lesson_id)
    if mode != RosterMode.GRADES and not card.can_write:
        raise denied(Action.WRITE_LESSON, lesson_id)
    page = min(max(page, 0), max(len(card.roster) - 1, 0) // kb.ROSTER_PAGE)
    text = renderer.render("journal/roster.html.j2", card=card, mode=mode.value, notice=notice)
    return text, kb.roster_keyboard(card, mode, page)


async def _student_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    student_id: int,
    kind: GradeKind = journal.DEFAULT_KIND,
    notice: Markup | str = "",
) -> Screen_:
    sheet = await journal.student_sheet(session, actor, lesson_id, student_id)
    text = renderer.render("journal/student.html.j2", sheet=sheet, kind=kind, notice=notice)
    return text, kb.student_keyboard(sheet, kind)


async def _run_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    lesson_id: int,
    kind: GradeKind,
    *,
    after: int | None = None,
    current: int | None = None,
    notice: Markup | str = "",
) -> Screen_:
    """The next student of a run-through (typing a value is armed for them), or the lesson
    card when the roster is done."""
    step = await journal.run_step(session, actor, lesson_id, after=after, current=current)
    if step is None:
        await _leave_input(state)
        done = _toast(renderer, "run_done")
        return await _lesson_screen(
            session,
            actor,
            renderer,
            lesson_id,
            Markup("\n").join([notice, done]) if notice else done,
        )
    await state.set_state(JournalInput.value)
    await state.update_data(
        {
            INPUT: {
                "lesson_id": lesson_id,
                "student_id": step.line.student_id,
                "kind": kind.value,
                "run": True,
                "at": _now(),
            }
        }
    )
    text = renderer.render(
        "journal/run.html.j2", step=step, kind=kind, weight=default_weight(kind), notice=notice
    )
    return text, kb.run_keyboard(step, kind)


async def _grade_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    grade_id: int,
    notice: Markup | str = "",
) -> Screen_:
    detail = await journal.grade_detail(session, actor, grade_id, grace=_grace(settings))
    text = renderer.render("journal/grade.html.j2", detail=detail, notice=notice)
    return text, kb.grade_keyboard(detail)


async def _homework_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    notice: Markup | str = "",
) -> Screen_:
    screen = await journal.homework_screen(session, actor, lesson_id)
    text = renderer.render("journal/homework.html.j2", screen=screen, notice=notice)
    return text, kb.homework_keyboard(screen)


async def _settings_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    notice: Markup | str = "",
) -> Screen_:
    card = await journal.lesson_card(session, actor, lesson_id)
    if not (card.can_write or card.can_replace):
        raise denied(Action.WRITE_LESSON, lesson_id)
    text = renderer.render("journal/settings.html.j2", card=card, notice=notice)
    return text, kb.settings_keyboard(card)


async def _submission_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    submission_id: int,
    notice: Markup | str = "",
) -> Screen_:
    detail = await journal.submission_detail(session, actor, submission_id)
    text = renderer.render("journal/submission.html.j2", detail=detail, notice=notice)
    return text, kb.submission_keyboard(detail)


async def _period_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    assignment_id: int,
    period_id: int = 0,
    notice: Markup | str = "",
) -> Screen_:
    today = await _today(session, actor, settings)
    sheet = await periods.period_sheet(session, actor, assignment_id, period_id, today=today)
    text = renderer.render("journal/period.html.j2", sheet=sheet, notice=notice)
    return text, kb.period_keyboard(sheet)


# --- entry points and navigation ------------------------------------------------------------


def _parse_day(raw: str | None, today: date) -> date:
    """A date typed after /journal: 27.11, 27.11.2026 or 2026-11-27 (else today)."""
    text = (raw or "").strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.strptime(f"{text}.{today.year}", "%d.%m.%Y").date()
    except ValueError:
        return today


async def journal_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    await _leave_input(state)
    if not actor.is_staff:
        raise denied(Action.READ_CLASS)
    day = _parse_day(command.args, await _today(session, actor, settings))
    text, markup = await _day_screen(session, actor, renderer, settings, day)
    await message.answer(text, reply_markup=markup)


async def open_journal(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    await _leave_input(state)
    text, markup = await _day_screen(session, actor, renderer, settings)
    await show_for(query, bot, text, markup)


async def show_day(
    query: CallbackQuery,
    callback_data: JDayCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    await _leave_input(state)
    text, markup = await _day_screen(
        session, actor, renderer, settings, _day(callback_data.day), callback_data.class_id
    )
    await show_for(query, bot, text, markup)


async def show_picker(
    query: CallbackQuery,
    callback_data: JPickCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
) -> None:
    day = _day(callback_data.day)
    markup: InlineKeyboardMarkup
    empty = False
    if callback_data.what == Pick.CLASS:
        classes = await journal.journal_classes(session, actor)
        empty = not classes
        markup = kb.classes_keyboard(day, classes)
    elif callback_data.what == Pick.SUBJECT:
        items = await journal.journal_subjects(session, actor, callback_data.class_id)
        empty = not items
        markup = kb.subjects_keyboard(day, items, callback_data.class_id)
    else:
        if not actor.is_staff:
            raise denied(Action.READ_CLASS)
        today = await _today(session, actor, settings)
        markup = kb.week_keyboard(day, callback_data.class_id, today)
    text = renderer.render(
        "journal/pick.html.j2", what=callback_data.what.name.lower(), day=day, empty=empty
    )
    await show_for(query, bot, text, markup)


async def show_assignment(
    query: CallbackQuery,
    callback_data: JAssignCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
) -> None:
    today = await _today(session, actor, settings)
    view = await journal.assignment_lessons(
        session, actor, callback_data.assignment_id, today=today, page=callback_data.page
    )
    await show_for(
        query,
        bot,
        renderer.render("journal/assignment.html.j2", view=view),
        kb.assignment_keyboard(view, today),
    )


async def show_lesson(
    query: CallbackQuery,
    callback_data: JLessonCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
) -> None:
    await _leave_input(state)
    lesson_id = callback_data.lesson_id
    chat_id = query.from_user.id
    if callback_data.view == LessonView.SETTINGS:
        text, markup = await _settings_screen(session, actor, renderer, lesson_id)
    elif callback_data.view == LessonView.HOMEWORK:
        screen = await journal.homework_screen(session, actor, lesson_id)
        text = renderer.render("journal/homework.html.j2", screen=screen, notice="")
        if callback_data.page > 0:  # show the files, a few per press, then the screen again
            page = callback_data.page
            await _send_files(bot, chat_id, screen.attachments, page)
            await bot.send_message(chat_id, text, reply_markup=kb.homework_keyboard(screen, page))
            return
        markup = kb.homework_keyboard(screen)
    elif callback_data.view == LessonView.SUBMISSIONS:
        view = await journal.submissions(session, actor, lesson_id)
        text = renderer.render("journal/submissions.html.j2", view=view)
        markup = kb.submissions_keyboard(view)
    elif callback_data.view == LessonView.AUDIT:
        text, markup = await _audit_screen(session, actor, renderer, lesson_id, 0, 0)
    else:
        text, markup = await _lesson_screen(session, actor, renderer, lesson_id)
    await show(pressed_message(query), bot, chat_id, text, markup)


async def _send_files(
    bot: Bot, chat_id: int, files: list[journal.AttachmentView], page: int
) -> None:
    """Re-send stored files by their Telegram file_id (one page: a burst a chat may take)."""
    for item in files[(page - 1) * kb.FILES_PER_PAGE : page * kb.FILES_PER_PAGE]:
        if item.kind == AttachmentKind.PHOTO:
            await bot.send_photo(chat_id, item.file_id)
        else:
            await bot.send_document(chat_id, item.file_id)


async def show_roster(
    query: CallbackQuery,
    callback_data: JRosterCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
) -> None:
    await _leave_input(state)
    text, markup = await _roster_screen(
        session, actor, renderer, callback_data.lesson_id, callback_data.mode, callback_data.page
    )
    await show_for(query, bot, text, markup)


async def show_student(
    query: CallbackQuery,
    callback_data: JStudentCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
) -> None:
    await _leave_input(state)
    text, markup = await _student_screen(
        session,
        actor,
        renderer,
        callback_data.lesson_id,
        callback_data.student_id,
        callback_data.kind,
    )
    await show_for(query, bot, text, markup)


# --- grades ---------------------------------------------------------------------------------


async def on_grade(
    query: CallbackQuery,
    callback_data: JGradeCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    """One tap, one grade; in a run-through the next student comes up at once."""
    data = callback_data
    try:
        saved = await journal.add_grade(
            session,
            actor,
            data.lesson_id,
            data.student_id,
            data.value,
            data.kind,
            grace=_grace(settings),
        )
    except journal.ReasonRequired:
        await _ask(
            state,
            JournalInput.reason,
            renderer,
            bot,
            query.from_user.id,
            "reason_closed",
            lesson_id=data.lesson_id,
            op="add",
            student_id=data.student_id,
            value=data.value,
            kind=data.kind.value,
        )
        return
    notice = _say(callback_answer, renderer, "grade", name=saved.student_name, value=saved.value)
    if data.run:
        text, markup = await _run_screen(
            session, actor, renderer, state, data.lesson_id, data.kind,
            after=data.student_id, notice=notice,
        )  # fmt: skip
    else:
        text, markup = await _student_screen(
            session, actor, renderer, data.lesson_id, data.student_id, data.kind, notice
        )
    await show_for(query, bot, text, markup)


async def ask_value(
    query: CallbackQuery,
    callback_data: JTypeCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
) -> None:
    sheet = await journal.student_sheet(
        session, actor, callback_data.lesson_id, callback_data.student_id
    )
    if not sheet.gradable:
        raise denied(Action.WRITE_LESSON, callback_data.lesson_id)
    await _ask(
        state,
        JournalInput.value,
        renderer,
        bot,
        query.from_user.id,
        "value",
        lesson_id=callback_data.lesson_id,
        details={"name": sheet.line.name, "example": sheet.values[len(sheet.values) // 3]},
        student_id=callback_data.student_id,
        kind=callback_data.kind.value,
        run=False,
    )


async def on_run(
    query: CallbackQuery,
    callback_data: JRunCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    """Start, skip, mark absent, switch the kind, or stop a run-through."""
    data = callback_data
    lesson_id, student_id, kind = data.lesson_id, data.student_id, data.kind
    if data.op == RunOp.STOP:
        await _leave_input(state)
        text, markup = await _lesson_screen(session, actor, renderer, lesson_id)
    elif data.op == RunOp.START:
        text, markup = await _run_screen(session, actor, renderer, state, lesson_id, kind)
    elif data.op in (RunOp.SHOW, RunOp.KIND):
        text, markup = await _run_screen(
            session, actor, renderer, state, lesson_id, kind, current=student_id
        )
    elif data.op == RunOp.ABSENT:
        saved = await journal.set_attendance(
            session,
            actor,
            lesson_id,
            student_id,
            AttendanceStatus.ABSENT,
            grace=_grace(settings),
        )
        notice = _say(
            callback_answer, renderer, "attendance", name=saved.student_name, status=saved.status
        )
        text, markup = await _run_screen(
            session, actor, renderer, state, lesson_id, kind, after=student_id, notice=notice
        )
    else:
        text, markup = await _run_screen(
            session, actor, renderer, state, lesson_id, kind, after=student_id
        )
    await show_for(query, bot, text, markup)


async def on_mark(
    query: CallbackQuery,
    callback_data: JMarkCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    """An existing grade: change its value or kind, hold it back, release it, delete it."""
    grade_id, op, arg = callback_data.grade_id, callback_data.op, callback_data.arg
    grace = _grace(settings)
    chat_id = query.from_user.id
    notice: Markup | str = ""
    if op in (MarkOp.VALUE, MarkOp.KIND):
        if op == MarkOp.KIND and not 0 <= arg < len(kb.KINDS):
            raise DomainError("journal.invalid_value", value=str(arg))
        change: dict[str, Any] = {"value": arg} if op == MarkOp.VALUE else {"kind": kb.KINDS[arg]}
        try:
            saved = await journal.change_grade(session, actor, grade_id, grace=grace, **change)
        except journal.ReasonRequired as exc:
            await _ask_reason(state, renderer, bot, chat_id, exc, op="change", grade_id=grade_id,
                              **{k: (v.value if isinstance(v, GradeKind) else v)
                                 for k, v in change.items()})  # fmt: skip
            return
        notice = _say(
            callback_answer,
            renderer,
            "changed",
            name=saved.student_name,
            old=saved.old_value,
            value=saved.value,
        )
    elif op == MarkOp.DELETE:
        try:
            saved = await journal.delete_grade(session, actor, grade_id, grace=grace)
        except journal.ReasonRequired as exc:
            await _ask_reason(state, renderer, bot, chat_id, exc, op="delete", grade_id=grade_id)
            return
        notice = _say(callback_answer, renderer, "deleted", name=saved.student_name,
                      value=saved.value)  # fmt: skip
        text, markup = await _student_screen(
            session, actor, renderer, saved.lesson_id, saved.student_id, notice=notice
        )
        await show(pressed_message(query), bot, chat_id, text, markup)
        return
    elif op == MarkOp.HOLD:
        until = await journal.hold_until(session, actor, grade_id, arg)
        await journal.hold_grade(session, actor, grade_id, until, grace=grace)
        notice = _say(callback_answer, renderer, "held", day=until)
    elif op == MarkOp.RELEASE:
        await journal.hold_grade(session, actor, grade_id, None, grace=grace)
        notice = _say(callback_answer, renderer, "released")
    text, markup = await _grade_screen(session, actor, renderer, settings, grade_id, notice)
    await show(pressed_message(query), bot, chat_id, text, markup)


async def _ask_reason(
    state: FSMContext,
    renderer: Renderer,
    bot: Bot,
    chat_id: int,
    exc: journal.ReasonRequired,
    **pending: Any,
) -> None:
    # the handlers keep `except ReasonRequired`: it asks for the reason (an FSM prompt), which
    # is more than the refusal middleware's answer
    key = "reason_closed" if exc.key == "journal.closed_period" else f"reason_{pending['op']}"
    await _ask(
        state, JournalInput.reason, renderer, bot, chat_id, key, details=exc.details, **pending
    )


async def on_undo(
    query: CallbackQuery,
    callback_data: JUndoCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    result = await journal.undo_last(
        session, actor, callback_data.lesson_id, grace=_grace(settings)
    )
    notice = _say(callback_answer, renderer, "undone", name=result.student_name)
    if callback_data.kind is not None:
        text, markup = await _run_screen(
            session, actor, renderer, state, callback_data.lesson_id, callback_data.kind,
            current=result.student_id if result.count == 1 else callback_data.student_id,
            notice=notice,
        )  # fmt: skip
    else:
        text, markup = await _lesson_screen(
            session, actor, renderer, callback_data.lesson_id, notice
        )
    await show_for(query, bot, text, markup)


# --- attendance -----------------------------------------------------------------------------


async def on_attendance(
    query: CallbackQuery,
    callback_data: JAttendCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    lesson_id, student_id = callback_data.lesson_id, callback_data.student_id
    chat_id = query.from_user.id
    grace = _grace(settings)
    if callback_data.op == AttendOp.ALL:
        count = await journal.mark_all_present(session, actor, lesson_id)
        notice = _say(callback_answer, renderer, "all_present", count=count)
        text, markup = await _roster_screen(
            session, actor, renderer, lesson_id, RosterMode.ATTENDANCE, notice=notice
        )
    elif callback_data.op == AttendOp.EXCUSE:
        sheet = await journal.student_sheet(session, actor, lesson_id, student_id)
        if not sheet.can_write:
            raise denied(Action.WRITE_LESSON, lesson_id)
        await _ask(
            state,
            JournalInput.excuse,
            renderer,
            bot,
            chat_id,
            "excuse",
            lesson_id=lesson_id,
            details={"name": sheet.line.name},
            student_id=student_id,
        )
        return
    else:
        saved = await journal.cycle_attendance(session, actor, lesson_id, student_id, grace=grace)
        notice = _say(
            callback_answer, renderer, "attendance", name=saved.student_name, status=saved.status
        )
        if callback_data.op == AttendOp.TOGGLE:
            text, markup = await _student_screen(
                session, actor, renderer, lesson_id, student_id, notice=notice
            )
        else:
            text, markup = await _roster_screen(
                session, actor, renderer, lesson_id, RosterMode.ATTENDANCE, notice=notice
            )
    await show(pressed_message(query), bot, chat_id, text, markup)


# --- the lesson: topic, cancellation, replacement, homework ----------------------------------


async def on_lesson_op(
    query: CallbackQuery,
    callback_data: JLessonOpCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    lesson_id, op, arg = callback_data.lesson_id, callback_data.op, callback_data.arg
    chat_id = query.from_user.id
    if op in (LessonOp.TOPIC, LessonOp.HOMEWORK, LessonOp.FILES):
        card = await journal.lesson_card(session, actor, lesson_id)
        if not card.can_write:
            raise denied(Action.WRITE_LESSON, lesson_id)
        if card.closed:  # don't ask for what the service will refuse
            raise DomainError("journal.lesson_period_closed")
        target, key, markup = {
            LessonOp.TOPIC: (JournalInput.topic, "topic", None),
            LessonOp.HOMEWORK: (JournalInput.homework, "homework", None),
            LessonOp.FILES: (JournalInput.files, "files", kb.files_keyboard(lesson_id)),
        }[op]
        await _ask(state, target, renderer, bot, chat_id, key, lesson_id=lesson_id, markup=markup)
        return
    if op == LessonOp.REPLACE:
        page = await journal.replacement_candidates(session, actor, lesson_id, page=arg)
        text = renderer.render("journal/replacement.html.j2", page=page)
        await show(pressed_message(query), bot, chat_id, text, kb.replacement_keyboard(page))
        return
    if op == LessonOp.DUE:
        await journal.set_due_date(session, actor, lesson_id, _day(arg))
        notice = _say(callback_answer, renderer, "saved")
        text, markup = await _homework_screen(session, actor, renderer, lesson_id, notice)
        await show(pressed_message(query), bot, chat_id, text, markup)
        return
    if op in (LessonOp.CANCEL, LessonOp.RESTORE):
        await journal.set_cancelled(session, actor, lesson_id, op == LessonOp.CANCEL)
    elif op == LessonOp.SET_REPLACEMENT:
        await journal.set_replacement(session, actor, lesson_id, arg)
    elif op == LessonOp.CLEAR_REPLACEMENT:
        await journal.set_replacement(session, actor, lesson_id, None)
    notice = _say(callback_answer, renderer, "saved")
    text, markup = await _settings_screen(session, actor, renderer, lesson_id, notice)
    await show(pressed_message(query), bot, chat_id, text, markup)


async def on_submission(
    query: CallbackQuery,
    callback_data: JSubmissionCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    submission_id, op = callback_data.submission_id, callback_data.op
    chat_id = query.from_user.id
    notice: Markup | str = ""
    if op == SubOp.FILES:
        detail = await journal.submission_detail(session, actor, submission_id)
        page = max(callback_data.page, 1)
        await _send_files(bot, chat_id, detail.files, page)
        text = renderer.render("journal/submission.html.j2", detail=detail, notice="")
        await bot.send_message(chat_id, text, reply_markup=kb.submission_keyboard(detail, page))
        return
    if op == SubOp.RETURN:
        detail = await journal.submission_detail(session, actor, submission_id)
        if not detail.can_write:
            raise denied(Action.WRITE_LESSON, detail.lesson.id)
        await _ask(
            state,
            JournalInput.comment,
            renderer,
            bot,
            chat_id,
            "return_comment",
            lesson_id=detail.lesson.id,
            details={"name": detail.item.student_name},
            submission_id=submission_id,
        )
        return
    if op == SubOp.ACCEPT:
        await journal.review_submission(session, actor, submission_id, accept=True)
        notice = _say(callback_answer, renderer, "reviewed")
    text, markup = await _submission_screen(session, actor, renderer, submission_id, notice)
    await show(pressed_message(query), bot, chat_id, text, markup)


# --- period grades --------------------------------------------------------------------------


async def on_period(
    query: CallbackQuery,
    callback_data: JPeriodCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    aid, pid, op = callback_data.assignment_id, callback_data.period_id, callback_data.op
    notice: Markup | str = ""
    if op == PeriodOp.CONFIRM:
        count = await periods.confirm_proposed(session, actor, aid, pid)
        notice = _say(callback_answer, renderer, "confirmed", count=count)
    elif op == PeriodOp.CLOSE_ASK:
        today = await _today(session, actor, settings)
        sheet = await periods.period_sheet(session, actor, aid, pid, today=today)
        if not sheet.can_close:
            raise denied(Action.CLOSE_PERIOD, pid)
        await show_for(
            query,
            bot,
            renderer.render("journal/period_close.html.j2", sheet=sheet),
            kb.close_period_keyboard(aid, sheet.period.id),
        )
        return
    elif op == PeriodOp.CLOSE:
        await periods.close_period(session, actor, pid)
        notice = _say(callback_answer, renderer, "closed")
    text, markup = await _period_screen(session, actor, renderer, settings, aid, pid, notice)
    await show_for(query, bot, text, markup)


async def on_period_grade(
    query: CallbackQuery,
    callback_data: JPeriodGradeCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    data = callback_data
    chat_id = query.from_user.id
    today = await _today(session, actor, settings)
    sheet = await periods.period_sheet(
        session, actor, data.assignment_id, data.period_id, today=today
    )
    line = next((x for x in sheet.lines if x.student_id == data.student_id), None)
    if line is None or sheet.period.id != data.period_id:
        raise denied(Action.READ_ASSIGNMENT, data.assignment_id)
    if data.value == -1:
        text = renderer.render("journal/period_student.html.j2", sheet=sheet, line=line)
        await show(
            pressed_message(query), bot, chat_id, text, kb.period_student_keyboard(sheet, line)
        )
        return
    pending: dict[str, Any] = {
        "op": "period",
        "assignment_id": data.assignment_id,
        "period_id": data.period_id,
        "student_id": data.student_id,
    }
    if data.value < 0:
        if not sheet.can_write:
            raise denied(Action.WRITE_ASSIGNMENT, data.assignment_id)
        await _ask(
            state,
            JournalInput.period_value,
            renderer,
            bot,
            chat_id,
            "period_value",
            details={"name": line.name},
            **pending,
        )
        return
    try:
        await periods.set_period_grade(
            session, actor, data.assignment_id, data.period_id, data.student_id, data.value
        )
    except journal.ReasonRequired as exc:
        await _ask_reason(state, renderer, bot, chat_id, exc, value=data.value, **pending)
        return
    notice = _say(callback_answer, renderer, "saved")
    text, markup = await _period_screen(
        session, actor, renderer, settings, data.assignment_id, data.period_id, notice
    )
    await show(pressed_message(query), bot, chat_id, text, markup)


# --- history and the unseen list ------------------------------------------------------------


async def _audit_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    lesson_id: int,
    student_id: int,
    page: int,
) -> Screen_:
    if lesson_id:
        trail = await audit.lesson_trail(session, actor, lesson_id, page=page)
    else:
        trail = await audit.student_trail(session, actor, student_id, page=page)
    text = renderer.render("journal/audit.html.j2", trail=trail)
    return text, kb.audit_keyboard(lesson_id, student_id, trail.page, trail.has_more)


async def show_audit(
    query: CallbackQuery,
    callback_data: JAuditCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    text, markup = await _audit_screen(
        session,
        actor,
        renderer,
        callback_data.lesson_id,
        callback_data.student_id,
        callback_data.page,
    )
    await show_for(query, bot, text, markup)


async def show_unseen(
    query: CallbackQuery,
    callback_data: JUnseenCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
) -> None:
    today = await _today(session, actor, settings)
    report = await journal.unseen_report(session, actor, callback_data.class_id, today=today)
    await show_for(
        query,
        bot,
        renderer.render("journal/unseen.html.j2", report=report),
        kb.unseen_keyboard(callback_data.class_id, today),
    )


async def on_cancel_input(
    query: CallbackQuery,
    callback_data: JCancelCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    state: FSMContext,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    """Leave the prompt this button belongs to. A prompt already answered (or replaced by a
    newer one) has nothing to cancel: say so, never "Cancelled" over a change that stands."""
    pressed = pressed_message(query)
    current = await state.get_state()
    data = (await state.get_data()).get(INPUT)
    waiting = current is not None and current.startswith(JournalInput.__name__)
    prompt_id = data.get(PROMPT) if isinstance(data, dict) else None
    if not waiting or (pressed is not None and prompt_id and prompt_id != pressed.message_id):
        refuse(callback_answer, _toast(renderer, "nothing_to_cancel"))
        if pressed is not None and pressed.reply_markup is not None:
            with suppress(TelegramBadRequest):
                await pressed.edit_reply_markup(reply_markup=None)
        return
    await _leave_input(state)
    notice = _toast(renderer, "cancelled")
    if callback_data.lesson_id:
        text, markup = await _lesson_screen(
            session, actor, renderer, callback_data.lesson_id, notice
        )
    else:
        text, markup = notice, None
    await show_for(query, bot, text, markup)


# --- typed inputs ---------------------------------------------------------------------------


async def on_typed_value(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    """A grade typed instead of tapped (any value of the scale, e.g. 87)."""
    pending = await _pending(state)
    lesson_id = int(pending.get("lesson_id", 0))
    student_id = int(pending.get("student_id", 0))
    kind = GradeKind(pending.get("kind", journal.DEFAULT_KIND))
    try:
        saved = await journal.add_grade(
            session,
            actor,
            lesson_id,
            student_id,
            (message.text or "").strip(),
            kind,
            grace=_grace(settings),
        )
    except journal.ReasonRequired:
        await message.answer(renderer.render("journal/error.html.j2", key="period_closed",
                                             details={}))  # fmt: skip
        return
    await _settle_prompt(message.bot, message.chat.id, pending)
    notice = _toast(renderer, "grade", name=saved.student_name, value=saved.value)
    if pending.get("run"):
        text, markup = await _run_screen(
            session, actor, renderer, state, lesson_id, kind, after=student_id, notice=notice
        )
    else:
        await _leave_input(state)
        text, markup = await _student_screen(
            session, actor, renderer, lesson_id, student_id, kind, notice
        )
    await message.answer(text, reply_markup=markup)


async def on_reason(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    """The reason of a pending change: apply the change with it."""
    pending = await _pending(state)
    reason = (message.text or "").strip()
    if not reason:
        raise DomainError("journal.need_text")
    grace = _grace(settings)
    op = pending.get("op")
    await _leave_input(state)
    if op == "period":
        await periods.set_period_grade(
            session,
            actor,
            int(pending["assignment_id"]),
            int(pending["period_id"]),
            int(pending["student_id"]),
            pending["value"],
            reason=reason,
        )
        text, markup = await _period_screen(
            session, actor, renderer, settings, int(pending["assignment_id"]),
            int(pending["period_id"]), _toast(renderer, "saved"),
        )  # fmt: skip
    elif op == "add":
        saved = await journal.add_grade(
            session,
            actor,
            int(pending["lesson_id"]),
            int(pending["student_id"]),
            pending["value"],
            GradeKind(pending["kind"]),
            grace=grace,
            reason=reason,
        )
        notice = _toast(renderer, "grade", name=saved.student_name, value=saved.value)
        text, markup = await _student_screen(
            session, actor, renderer, saved.lesson_id, saved.student_id, notice=notice
        )
    elif op in ("change", "delete"):
        grade_id = int(pending["grade_id"])
        if op == "delete":
            saved = await journal.delete_grade(session, actor, grade_id, reason=reason, grace=grace)
            notice = _toast(renderer, "deleted", name=saved.student_name, value=saved.value)
        else:
            kind = GradeKind(pending["kind"]) if "kind" in pending else None
            saved = await journal.change_grade(
                session, actor, grade_id, value=pending.get("value"), kind=kind,
                reason=reason, grace=grace,
            )  # fmt: skip
            notice = _toast(
                renderer, "changed", name=saved.student_name, old=saved.old_value,
                value=saved.value,
            )  # fmt: skip
        text, markup = await _student_screen(
            session, actor, renderer, saved.lesson_id, saved.student_id, notice=notice
        )
    else:
        return
    await _settle_prompt(message.bot, message.chat.id, pending)
    await message.answer(text, reply_markup=markup)


async def on_topic(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, state: FSMContext
) -> None:
    pending = await _pending(state)
    lesson_id = int(pending.get("lesson_id", 0))
    await journal.set_topic(session, actor, lesson_id, message.text or "")
    await _leave_input(state)
    await _settle_prompt(message.bot, message.chat.id, pending)
    text, markup = await _lesson_screen(
        session, actor, renderer, lesson_id, _toast(renderer, "saved")
    )
    await message.answer(text, reply_markup=markup)


def _attachment(message: Message) -> journal.NewAttachment | None:
    if message.document is not None:
        doc = message.document
        return journal.NewAttachment(
            AttachmentKind.DOCUMENT,
            doc.file_id,
            doc.file_unique_id,
            (doc.file_name or "")[:255] or None,
            (doc.mime_type or "")[:128] or None,
            doc.file_size,
        )
    if message.photo:
        photo = message.photo[-1]
        return journal.NewAttachment(
            AttachmentKind.PHOTO,
            photo.file_id,
            photo.file_unique_id,
            None,
            "image/jpeg",
            photo.file_size,
        )
    return None


async def on_homework(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    """The homework text (a file or photo may come with it as the caption's carrier)."""
    pending = await _pending(state)
    lesson_id = int(pending.get("lesson_id", 0))
    attachment = _attachment(message)
    text = message.text if message.text is not None else message.caption
    await journal.save_homework(
        session,
        actor,
        lesson_id,
        text=text,
        attachments=[attachment] if attachment else [],
        grace=_grace(settings),
    )
    await _leave_input(state)
    await _settle_prompt(message.bot, message.chat.id, pending)
    text, markup = await _homework_screen(
        session, actor, renderer, lesson_id, _toast(renderer, "saved")
    )
    await message.answer(text, reply_markup=markup)


async def on_files(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    pending = await _pending(state)
    lesson_id = int(pending.get("lesson_id", 0))
    attachment = _attachment(message)
    if attachment is None:
        await message.answer(
            renderer.render("journal/prompt.html.j2", key="files", details={}),
            reply_markup=kb.files_keyboard(lesson_id),
        )
        return
    await journal.save_homework(
        session, actor, lesson_id, attachments=[attachment], grace=_grace(settings)
    )
    count = int(pending.get("count", 0)) + 1
    await state.update_data({INPUT: {**pending, "count": count, "at": _now()}})
    await message.answer(
        _toast(renderer, "files", count=count), reply_markup=kb.files_keyboard(lesson_id)
    )


async def on_excuse(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    pending = await _pending(state)
    lesson_id = int(pending.get("lesson_id", 0))
    saved = await journal.set_attendance(
        session,
        actor,
        lesson_id,
        int(pending.get("student_id", 0)),
        AttendanceStatus.EXCUSED,
        reason=message.text,
        grace=_grace(settings),
    )
    await _leave_input(state)
    await _settle_prompt(message.bot, message.chat.id, pending)
    notice = _toast(renderer, "attendance", name=saved.student_name, status=saved.status)
    text, markup = await _roster_screen(
        session, actor, renderer, lesson_id, RosterMode.ATTENDANCE, notice=notice
    )
    await message.answer(text, reply_markup=markup)


async def on_return_comment(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, state: FSMContext
) -> None:
    pending = await _pending(state)
    submission_id = int(pending.get("submission_id", 0))
    await journal.review_submission(
        session, actor, submission_id, accept=False, comment=message.text
    )
    await _leave_input(state)
    await _settle_prompt(message.bot, message.chat.id, pending)
    text, markup = await _submission_screen(
        session, actor, renderer, submission_id, _toast(renderer, "reviewed")
    )
    await message.answer(text, reply_markup=markup)


async def on_period_value(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    state: FSMContext,
) -> None:
    pending = await _pending(state)
    value = (message.text or "").strip()
    try:
        await periods.set_period_grade(
            session,
            actor,
            int(pending.get("assignment_id", 0)),
            int(pending.get("period_id", 0)),
            int(pending.get("student_id", 0)),
            value,
        )
    except journal.ReasonRequired as exc:
        await _settle_prompt(message.bot, message.chat.id, pending)
        await _ask_reason(
            state, renderer, message.bot, message.chat.id, exc,  # type: ignore[arg-type]
            **{**pending, "value": value},
        )  # fmt: skip
        return
    await _leave_input(state)
    await _settle_prompt(message.bot, message.chat.id, pending)
    text, markup = await _period_screen(
        session, actor, renderer, settings, int(pending["assignment_id"]),
        int(pending["period_id"]), _toast(renderer, "saved"),
    )  # fmt: skip
    await message.answer(text, reply_markup=markup)


async def need_text(message: Message, renderer: Renderer) -> None:
    await message.answer(renderer.render("journal/error.html.j2", key="need_text", details={}))


def create_input_router() -> Router:
    """The answers to the journal's prompts. Registered before every other router: while a
    prompt waits, the teacher's next message is its answer (even one that looks like an
    access code)."""
    router = Router(name="journal_input")
    router.message.filter(F.chat.type == "private")
    not_command = ~F.text.startswith("/")
    text = F.text & not_command
    router.message.register(on_typed_value, StateFilter(JournalInput.value), text)
    router.message.register(on_reason, StateFilter(JournalInput.reason), text)
    router.message.register(on_topic, StateFilter(JournalInput.topic), text)
    router.message.register(
        on_homework, StateFilter(JournalInput.homework), text | F.document | F.photo
    )
    router.message.register(on_files, StateFilter(JournalInput.files), not_command)
    router.message.register(on_excuse, StateFilter(JournalInput.excuse), text)
    router.message.register(on_return_comment, StateFilter(JournalInput.comment), text)
    router.message.register(on_period_value, StateFilter(JournalInput.period_value), text)
    router.message.register(
        need_text,
        StateFilter(
            JournalInput.value,
            JournalInput.reason,
            JournalInput.topic,
            JournalInput.homework,
            JournalInput.excuse,
            JournalInput.comment,
            JournalInput.period_value,
        ),
        not_command,
    )
    return router


def create_router() -> Router:
    router = Router(name="journal")
    router.message.filter(F.chat.type == "private")
    router.message.register(journal_command, Command("journal"))

    cq = router.callback_query
    cq.register(open_journal, MenuCb.filter(F.screen == Screen.JOURNAL))
    cq.register(show_day, JDayCb.filter())
    cq.register(show_picker, JPickCb.filter())
    cq.register(show_assignment, JAssignCb.filter())
    cq.register(show_lesson, JLessonCb.filter())
    cq.register(show_roster, JRosterCb.filter())
    cq.register(show_student, JStudentCb.filter())
    cq.register(on_grade, JGradeCb.filter())
    cq.register(ask_value, JTypeCb.filter())
    cq.register(on_run, JRunCb.filter())
    cq.register(on_mark, JMarkCb.filter())
    cq.register(on_undo, JUndoCb.filter())
    cq.register(on_attendance, JAttendCb.filter())
    cq.register(on_lesson_op, JLessonOpCb.filter())
    cq.register(on_submission, JSubmissionCb.filter())
    cq.register(on_period, JPeriodCb.filter())
    cq.register(on_period_grade, JPeriodGradeCb.filter())
    cq.register(show_audit, JAuditCb.filter())
    cq.register(show_unseen, JUnseenCb.filter())
    cq.register(on_cancel_input, JCancelCb.filter())
    return router
