"""The journal's buttons and /journal: navigation, grades and the run-through, attendance,
the lesson's topic / cancellation / replacement / homework, submissions, period grades, the
history and the "not seen by parents" list. Every write answers with the updated screen and
a short confirmation, so a teacher never wonders whether it was saved."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from markupsafe import Markup

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks import journal as cb
from bot.callbacks.journal import (
    HOLD_CHOICES,
    AttendOp,
    LessonOp,
    LessonView,
    MarkOp,
    PeriodGradeOp,
    PeriodOp,
    RosterMode,
    RunOp,
    SubOp,
)
from bot.files import files_gone
from bot.filters import register_buttons
from bot.keyboards import journal as kb
from bot.screens import Screen
from bot.telegram import edit_keyboard, pressed_message
from db.enums import AttendanceStatus
from handlers.journal import prompts, screens
from handlers.journal.context import JournalCtx, day_of
from services import journal
from services.core.access import Action, denied
from services.core.errors import DomainError
from services.journal import periods

# --- entry points and navigation ------------------------------------------------------------


def parse_day(raw: str | None, today: date) -> date:
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


async def journal_command(message: Message, command: CommandObject, ctx: JournalCtx) -> None:
    await prompts.leave(ctx.state)
    day = parse_day(command.args, await ctx.today())
    await ctx.show(await screens.day(ctx, day))


async def open_journal(query: CallbackQuery, ctx: JournalCtx) -> None:
    await prompts.leave(ctx.state)
    await ctx.show(await screens.day(ctx))


async def show_day(query: CallbackQuery, callback_data: cb.JDayCb, ctx: JournalCtx) -> None:
    await prompts.leave(ctx.state)
    await ctx.show(await screens.day(ctx, day_of(callback_data.day), callback_data.class_id))


async def show_picker(query: CallbackQuery, callback_data: cb.JPickCb, ctx: JournalCtx) -> None:
    data = callback_data
    await ctx.show(await screens.picker(ctx, data.what, day_of(data.day), data.class_id))


async def show_assignment(
    query: CallbackQuery, callback_data: cb.JAssignCb, ctx: JournalCtx
) -> None:
    data = callback_data
    await ctx.show(await screens.assignment(ctx, data.assignment_id, data.page))


async def _lesson_trail(ctx: JournalCtx, lesson_id: int) -> Screen:
    return await screens.trail(ctx, lesson_id, 0, 0)


LESSON_VIEWS = {
    LessonView.CARD: screens.lesson,
    LessonView.SETTINGS: screens.settings,
    LessonView.HOMEWORK: screens.homework,
    LessonView.SUBMISSIONS: screens.submissions,
    LessonView.AUDIT: _lesson_trail,
}


async def show_lesson(query: CallbackQuery, callback_data: cb.JLessonCb, ctx: JournalCtx) -> None:
    await prompts.leave(ctx.state)
    await ctx.show(await LESSON_VIEWS[callback_data.view](ctx, callback_data.lesson_id))


async def _send_files(ctx: JournalCtx, files: list[journal.AttachmentView], page: int) -> None:
    """Send stored files again (one page: a burst a chat may take), from the school's copy
    when Telegram no longer knows a file_id; the press is answered with an alert if a file is
    gone altogether."""
    await ctx.session.commit()  # end the read before talking to Telegram
    gone = 0
    for item in files[(page - 1) * kb.FILES_PER_PAGE : page * kb.FILES_PER_PAGE]:
        if await ctx.files.send(ctx.bot, ctx.session, ctx.chat_id, item.kept) is None:
            gone += 1
    if gone:
        ctx.alert(files_gone(gone))


async def show_homework_files(
    query: CallbackQuery, callback_data: cb.JHomeworkFilesCb, ctx: JournalCtx
) -> None:
    """A page of the homework's files, a few per press, then its screen again below them."""
    await prompts.leave(ctx.state)
    page = max(callback_data.page, 1)
    screen, files = await screens.homework_files(ctx, callback_data.lesson_id, page)
    await _send_files(ctx, files, page)
    await ctx.show(screen, anew=True)


async def show_roster(query: CallbackQuery, callback_data: cb.JRosterCb, ctx: JournalCtx) -> None:
    data = callback_data
    await prompts.leave(ctx.state)
    await ctx.show(await screens.roster(ctx, data.lesson_id, data.mode, data.page))


async def show_student(query: CallbackQuery, callback_data: cb.JStudentCb, ctx: JournalCtx) -> None:
    data = callback_data
    await prompts.leave(ctx.state)
    await ctx.show(await screens.student(ctx, data.lesson_id, data.student_id, data.kind))


# --- grades ---------------------------------------------------------------------------------


async def on_grade(query: CallbackQuery, callback_data: cb.JGradeCb, ctx: JournalCtx) -> None:
    """One tap, one grade; in a run-through the next student comes up at once."""
    data = callback_data
    change = prompts.AddGrade(
        lesson_id=data.lesson_id, student_id=data.student_id, value=data.value, kind=data.kind
    )
    try:
        saved = await change.make(ctx)
    except journal.ReasonRequired:
        reason = prompts.Reason(change=change)
        await prompts.ask(ctx, reason, "reason_closed", lesson_id=data.lesson_id)
        return
    notice = ctx.say(change.done, name=saved.student_name, value=saved.value)
    if data.run:
        screen = await screens.run(
            ctx, data.lesson_id, data.kind, after=data.student_id, notice=notice
        )
    else:
        screen = await screens.student(ctx, data.lesson_id, data.student_id, data.kind, notice)
    await ctx.show(screen)


async def ask_value(query: CallbackQuery, callback_data: cb.JTypeCb, ctx: JournalCtx) -> None:
    data = callback_data
    sheet = await journal.student_sheet(ctx.session, ctx.actor, data.lesson_id, data.student_id)
    if not sheet.gradable:
        raise denied(Action.WRITE_LESSON, data.lesson_id)
    task = prompts.TypedGrade(lesson_id=data.lesson_id, student_id=data.student_id, kind=data.kind)
    details = {"name": sheet.line.name, "example": sheet.values[len(sheet.values) // 3]}
    await prompts.ask(ctx, task, "value", lesson_id=data.lesson_id, details=details)


async def on_run(query: CallbackQuery, callback_data: cb.JRunCb, ctx: JournalCtx) -> None:
    """Start, skip, mark absent, switch the kind, or stop a run-through."""
    data = callback_data
    lesson_id, student_id, kind = data.lesson_id, data.student_id, data.kind
    if data.op == RunOp.STOP:
        await prompts.leave(ctx.state)
        screen = await screens.lesson(ctx, lesson_id)
    elif data.op == RunOp.START:
        screen = await screens.run(ctx, lesson_id, kind)
    elif data.op in (RunOp.SHOW, RunOp.KIND):
        screen = await screens.run(ctx, lesson_id, kind, current=student_id)
    else:
        notice: Markup | str = ""
        if data.op == RunOp.ABSENT:
            saved = await journal.set_attendance(
                ctx.session,
                ctx.actor,
                lesson_id,
                student_id,
                AttendanceStatus.ABSENT,
                grace=ctx.grace,
            )
            notice = ctx.say("attendance", name=saved.student_name, status=saved.status)
        screen = await screens.run(ctx, lesson_id, kind, after=student_id, notice=notice)
    await ctx.show(screen)


async def on_mark(query: CallbackQuery, callback_data: cb.JMarkCb, ctx: JournalCtx) -> None:
    """An existing grade: open it, delete it, or show it to the family now."""
    grade_id = callback_data.grade_id
    notice: Markup | str = ""
    if callback_data.op == MarkOp.DELETE:
        await _regrade(ctx, prompts.DeleteGrade(grade_id=grade_id))
        return
    if callback_data.op == MarkOp.RELEASE:
        await journal.hold_grade(ctx.session, ctx.actor, grade_id, None, grace=ctx.grace)
        notice = ctx.say("released")
    await ctx.show(await screens.grade(ctx, grade_id, notice))


async def on_mark_value(
    query: CallbackQuery, callback_data: cb.JMarkValueCb, ctx: JournalCtx
) -> None:
    data = callback_data
    await _regrade(ctx, prompts.ChangeGrade(grade_id=data.grade_id, value=data.value))


async def on_mark_kind(
    query: CallbackQuery, callback_data: cb.JMarkKindCb, ctx: JournalCtx
) -> None:
    data = callback_data
    await _regrade(ctx, prompts.ChangeGrade(grade_id=data.grade_id, kind=data.kind))


async def _regrade(ctx: JournalCtx, change: prompts.ChangeGrade | prompts.DeleteGrade) -> None:
    """Change or delete a grade; after the family was told, ask for the reason first. A
    changed grade shows itself again, a deleted one its student."""
    try:
        saved = await change.make(ctx)
    except journal.ReasonRequired as exc:
        await prompts.ask_reason(ctx, exc, change)
        return
    notice = ctx.say(change.done, name=saved.student_name, old=saved.old_value, value=saved.value)
    if isinstance(change, prompts.DeleteGrade):
        screen = await screens.student(ctx, saved.lesson_id, saved.student_id, notice=notice)
    else:
        screen = await screens.grade(ctx, change.grade_id, notice)
    await ctx.show(screen)


async def on_hold(query: CallbackQuery, callback_data: cb.JHoldCb, ctx: JournalCtx) -> None:
    """Hold a grade back from the family for the chosen while."""
    grade_id = callback_data.grade_id
    choice = HOLD_CHOICES[callback_data.hold]
    until = await journal.hold_until(ctx.session, ctx.actor, grade_id, choice)
    await journal.hold_grade(ctx.session, ctx.actor, grade_id, until, grace=ctx.grace)
    await ctx.show(await screens.grade(ctx, grade_id, ctx.say("held", day=until)))


async def on_undo(query: CallbackQuery, callback_data: cb.JUndoCb, ctx: JournalCtx) -> None:
    data = callback_data
    result = await journal.undo_last(ctx.session, ctx.actor, data.lesson_id, grace=ctx.grace)
    notice = ctx.say("undone", name=result.student_name)
    if data.kind is not None:  # resume the run-through
        current = result.student_id if result.count == 1 else data.student_id
        screen = await screens.run(ctx, data.lesson_id, data.kind, current=current, notice=notice)
    else:
        screen = await screens.lesson(ctx, data.lesson_id, notice)
    await ctx.show(screen)


# --- attendance -----------------------------------------------------------------------------


async def on_attendance(query: CallbackQuery, callback_data: cb.JAttendCb, ctx: JournalCtx) -> None:
    """All present, one student's mark cycled (in the roster or on their screen), or "why is
    this student excused?"."""
    lesson_id, student_id, op = callback_data.lesson_id, callback_data.student_id, callback_data.op
    if op == AttendOp.EXCUSE:
        await _ask_excuse(ctx, lesson_id, student_id)
        return
    if op == AttendOp.ALL:
        count = await journal.mark_all_present(ctx.session, ctx.actor, lesson_id)
        notice = ctx.say("all_present", count=count)
    else:
        saved = await journal.cycle_attendance(
            ctx.session, ctx.actor, lesson_id, student_id, grace=ctx.grace
        )
        notice = ctx.say("attendance", name=saved.student_name, status=saved.status)
    if op == AttendOp.TOGGLE:
        screen = await screens.student(ctx, lesson_id, student_id, notice=notice)
    else:
        screen = await screens.roster(ctx, lesson_id, RosterMode.ATTENDANCE, notice=notice)
    await ctx.show(screen)


async def _ask_excuse(ctx: JournalCtx, lesson_id: int, student_id: int) -> None:
    sheet = await journal.student_sheet(ctx.session, ctx.actor, lesson_id, student_id)
    if not sheet.can_write:
        raise denied(Action.WRITE_LESSON, lesson_id)
    task = prompts.Excuse(lesson_id=lesson_id, student_id=student_id)
    details = {"name": sheet.line.name}
    await prompts.ask(ctx, task, "excuse", lesson_id=lesson_id, details=details)


# --- the lesson: topic, cancellation, replacement, homework ----------------------------------


def _lesson_task(op: LessonOp, lesson_id: int) -> prompts.Topic | prompts.Homework | prompts.Files:
    if op == LessonOp.TOPIC:
        return prompts.Topic(lesson_id=lesson_id)
    if op == LessonOp.HOMEWORK:
        return prompts.Homework(lesson_id=lesson_id)
    return prompts.Files(lesson_id=lesson_id)


async def on_lesson_op(
    query: CallbackQuery, callback_data: cb.JLessonOpCb, ctx: JournalCtx
) -> None:
    """Ask for the topic, the homework or its files; cancel or restore the lesson; take its
    replacement teacher off."""
    lesson_id, op = callback_data.lesson_id, callback_data.op
    if op in (LessonOp.TOPIC, LessonOp.HOMEWORK, LessonOp.FILES):
        card = await journal.lesson_card(ctx.session, ctx.actor, lesson_id)
        if not card.can_write:
            raise denied(Action.WRITE_LESSON, lesson_id)
        if card.closed:  # don't ask for what the service will refuse
            raise DomainError("journal.lesson_period_closed")
        task = _lesson_task(op, lesson_id)
        markup = kb.files_keyboard(lesson_id) if op == LessonOp.FILES else None
        await prompts.ask(ctx, task, task.what, lesson_id=lesson_id, markup=markup)
        return
    if op == LessonOp.CLEAR_REPLACEMENT:
        await journal.set_replacement(ctx.session, ctx.actor, lesson_id, None)
    else:
        await journal.set_cancelled(ctx.session, ctx.actor, lesson_id, op == LessonOp.CANCEL)
    await ctx.show(await screens.settings(ctx, lesson_id, ctx.say("saved")))


async def show_replacements(
    query: CallbackQuery, callback_data: cb.JReplaceCb, ctx: JournalCtx
) -> None:
    await ctx.show(await screens.replacement(ctx, callback_data.lesson_id, callback_data.page))


async def on_replacement(
    query: CallbackQuery, callback_data: cb.JReplaceSetCb, ctx: JournalCtx
) -> None:
    lesson_id = callback_data.lesson_id
    await journal.set_replacement(ctx.session, ctx.actor, lesson_id, callback_data.teacher_id)
    await ctx.show(await screens.settings(ctx, lesson_id, ctx.say("saved")))


async def on_due(query: CallbackQuery, callback_data: cb.JDueCb, ctx: JournalCtx) -> None:
    lesson_id = callback_data.lesson_id
    await journal.set_due_date(ctx.session, ctx.actor, lesson_id, day_of(callback_data.day))
    await ctx.show(await screens.homework(ctx, lesson_id, ctx.say("saved")))


async def on_submission(
    query: CallbackQuery, callback_data: cb.JSubmissionCb, ctx: JournalCtx
) -> None:
    """Open a handed-in work, re-send a page of its files, accept it or return it."""
    submission_id, op = callback_data.submission_id, callback_data.op
    notice: Markup | str = ""
    if op == SubOp.FILES:
        page = max(callback_data.page, 1)
        screen, files = await screens.submission_files(ctx, submission_id, page)
        await _send_files(ctx, files, page)
        await ctx.show(screen, anew=True)
        return
    if op == SubOp.RETURN:
        await _ask_return_comment(ctx, submission_id)
        return
    if op == SubOp.ACCEPT:
        await journal.review_submission(ctx.session, ctx.actor, submission_id, accept=True)
        notice = ctx.say("reviewed")
    await ctx.show(await screens.submission(ctx, submission_id, notice))


async def _ask_return_comment(ctx: JournalCtx, submission_id: int) -> None:
    detail = await journal.submission_detail(ctx.session, ctx.actor, submission_id)
    if not detail.can_write:
        raise denied(Action.WRITE_LESSON, detail.lesson.id)
    task = prompts.ReturnComment(submission_id=submission_id)
    details = {"name": detail.item.student_name}
    await prompts.ask(ctx, task, "return_comment", lesson_id=detail.lesson.id, details=details)


# --- period grades --------------------------------------------------------------------------


async def on_period(query: CallbackQuery, callback_data: cb.JPeriodCb, ctx: JournalCtx) -> None:
    aid, pid, op = callback_data.assignment_id, callback_data.period_id, callback_data.op
    notice: Markup | str = ""
    if op == PeriodOp.CLOSE_ASK:
        await ctx.show(await screens.close_period(ctx, aid, pid))
        return
    if op == PeriodOp.CONFIRM:
        count = await periods.confirm_proposed(ctx.session, ctx.actor, aid, pid)
        notice = ctx.say("confirmed", count=count)
    elif op == PeriodOp.CLOSE:
        await periods.close_period(ctx.session, ctx.actor, pid)
        notice = ctx.say("closed")
    await ctx.show(await screens.period(ctx, aid, pid, notice))


async def on_period_grade(
    query: CallbackQuery, callback_data: cb.JPeriodGradeCb, ctx: JournalCtx
) -> None:
    """A student's period grade: its keyboard, or "type the period grade"."""
    aid, pid, sid = callback_data.assignment_id, callback_data.period_id, callback_data.student_id
    if callback_data.op == PeriodGradeOp.OPEN:
        await ctx.show(await screens.period_student(ctx, aid, pid, sid))
        return
    sheet, line = await screens.period_line(ctx, aid, pid, sid)
    if not sheet.can_write:
        raise denied(Action.WRITE_ASSIGNMENT, aid)
    task = prompts.PeriodValue(assignment_id=aid, period_id=pid, student_id=sid)
    await prompts.ask(ctx, task, "period_value", details={"name": line.name})


async def on_period_value(
    query: CallbackQuery, callback_data: cb.JPeriodValueCb, ctx: JournalCtx
) -> None:
    """Set a student's period grade from its keyboard (a closed period asks for a reason)."""
    data = callback_data
    await screens.period_line(ctx, data.assignment_id, data.period_id, data.student_id)
    change = prompts.SetPeriodGrade(
        assignment_id=data.assignment_id,
        period_id=data.period_id,
        student_id=data.student_id,
        value=data.value,
    )
    try:
        await change.make(ctx)
    except journal.ReasonRequired as exc:
        await prompts.ask_reason(ctx, exc, change)
        return
    notice = ctx.say("saved")
    await ctx.show(await screens.period(ctx, data.assignment_id, data.period_id, notice))


# --- history, the unseen list, leaving a prompt ---------------------------------------------


async def show_audit(query: CallbackQuery, callback_data: cb.JAuditCb, ctx: JournalCtx) -> None:
    data = callback_data
    await ctx.show(await screens.trail(ctx, data.lesson_id, data.student_id, data.page))


async def show_unseen(query: CallbackQuery, callback_data: cb.JUnseenCb, ctx: JournalCtx) -> None:
    await ctx.show(await screens.unseen(ctx, callback_data.class_id))


async def on_cancel_input(
    query: CallbackQuery, callback_data: cb.JCancelCb, ctx: JournalCtx
) -> None:
    """Leave the prompt this button belongs to. A prompt already answered (or replaced by a
    newer one) has nothing to cancel: say so, never "Cancelled" over a change that stands."""
    pressed = pressed_message(query)
    prompt = await prompts.current(ctx.state)
    replaced = (
        prompt is not None
        and pressed is not None
        and prompt.prompt_id is not None
        and prompt.prompt_id != pressed.message_id
    )
    if prompt is None or replaced:
        ctx.alert(ctx.toast("nothing_to_cancel"))
        if pressed is not None:
            await edit_keyboard(pressed, ctx.bot)
        return
    await prompts.leave(ctx.state)
    notice = ctx.toast("cancelled")
    lesson_id = callback_data.lesson_id
    await ctx.show(await screens.lesson(ctx, lesson_id, notice) if lesson_id else Screen(notice))


def create_router() -> Router:
    """The journal's buttons and /journal (the package gates this router to staff)."""
    router = Router(name="journal_actions")
    router.message.register(journal_command, Command("journal"))
    router.callback_query.register(open_journal, MenuCb.filter(F.screen == MenuScreen.JOURNAL))
    register_buttons(
        router,
        show_day,
        show_picker,
        show_assignment,
        show_lesson,
        show_homework_files,
        show_roster,
        show_student,
        on_grade,
        ask_value,
        on_run,
        on_mark,
        on_mark_value,
        on_mark_kind,
        on_hold,
        on_undo,
        on_attendance,
        on_lesson_op,
        show_replacements,
        on_replacement,
        on_due,
        on_submission,
        on_period,
        on_period_grade,
        on_period_value,
        show_audit,
        show_unseen,
        on_cancel_input,
    )
    return router
