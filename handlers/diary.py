"""The diary for parents, students and trusted persons: commands, the diary menu, the day,
week, timetable, grades, homework (with handing in), attendance and report screens.

Commands answer with a new message; buttons edit the screen in place. Callback data names
the student and objects by id only; the diary service checks every one against the actor.
While a student hands in homework, the `SUBMIT` slot keeps the draft (`SubmitDraft`); a
missing or garbled draft counts as stale.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks import diary as cb
from bot.callbacks.diary import SubmitOp
from bot.commands import NEEDS
from bot.files import files_gone, upload_name
from bot.filters import register_buttons
from bot.keyboards import diary as kb
from bot.screens import Screen
from bot.states import Payload, Slot, SubmitStates
from bot.telegram import MESSAGE_LIMIT, sent_file, split_html, visible_length
from handlers.context import Ctx
from services import diary
from services.core.access import Action, can
from services.core.actors import ChildRef, Role
from services.core.errors import DomainError
from services.core.files import NewFile
from services.core.schooltime import utcnow
from services.diary import family_report
from services.diary.report_files import FamilyReportFile, family_report_file
from services.reports import Format, ReportKind


class SubmitDraft(Payload):
    """The work a student is handing in: what for, and the files and comment so far."""

    homework_id: int
    subject: str
    text: str
    files: tuple[NewFile, ...] = ()
    comment: str | None = None
    replacing: bool = False


SUBMIT = Slot("submit", SubmitDraft)

SCOPE_NAMES = {
    Action.VIEW_GRADES: "grades",
    Action.VIEW_HOMEWORK: "homework",
    Action.VIEW_ATTENDANCE: "attendance",
    Action.VIEW_SCHEDULE: "schedule",
}

_BLANK_LINES = re.compile(r"\n{3,}")


def _fit(html: str) -> str:
    """A screen is one message: blank lines collapsed, what does not fit cut off (markup
    stays balanced)."""
    html = _BLANK_LINES.sub("\n\n", html)
    if visible_length(html) <= MESSAGE_LIMIT:
        return html
    return split_html(html, MESSAGE_LIMIT - 2)[0] + "\n…"


def _screen(
    ctx: Ctx, template: str, keyboard: InlineKeyboardMarkup | None = None, /, **context: Any
) -> Screen:
    """A diary screen: the template rendered and fitted into one message (`_fit`)."""
    return Screen(_fit(ctx.render(template, **context)), keyboard)


def _day(value: int) -> date | None:
    """A day from callback data; 0 or nonsense: today."""
    return diary.ordinal_day(value)


# --- screens ------------------------------------------------------------------------------


async def _no_child(ctx: Ctx) -> Screen:
    ended = await diary.ended_access(ctx.session, ctx.actor, now=utcnow())
    markup = kb.home_keyboard() if ctx.actor.is_known else None
    return _screen(ctx, "diary/no_child.html.j2", markup, ended=ended)


async def _menu(ctx: Ctx) -> Screen:
    ref = ctx.actor.current_child()
    if ref is None:
        return await _no_child(ctx)
    menu = await diary.diary_menu(ctx.session, ctx.actor, ref.student_id)
    return _screen(ctx, "diary/menu.html.j2", kb.diary_menu_keyboard(menu), menu=menu)


async def _day_screen(ctx: Ctx, student_id: int, day: date | None, offset: int = 0) -> Screen:
    view = await diary.day_view(ctx.session, ctx.actor, student_id, day, offset=offset)
    return _screen(ctx, "diary/day.html.j2", kb.day_keyboard(view), view=view)


async def _week_screen(ctx: Ctx, student_id: int, day: date | None) -> Screen:
    view = await diary.week_view(ctx.session, ctx.actor, student_id, day)
    return _screen(ctx, "diary/week.html.j2", kb.week_keyboard(view), view=view)


async def _schedule_screen(ctx: Ctx, student_id: int, day: date | None) -> Screen:
    view = await diary.schedule_view(ctx.session, ctx.actor, student_id, day)
    return _screen(ctx, "diary/schedule.html.j2", kb.schedule_keyboard(view), view=view)


async def _grades_screen(
    ctx: Ctx,
    student_id: int,
    *,
    period_id: int = 0,
    subject_id: int = 0,
    year_id: int = 0,
    entry: bool = False,
) -> Screen:
    view = await diary.grades_view(
        ctx.session,
        ctx.actor,
        student_id,
        period_id=period_id,
        subject_id=subject_id,
        year_id=year_id,
        entry=entry,
    )
    if view.subject is not None:
        return _screen(ctx, "diary/subject.html.j2", kb.subject_keyboard(view), view=view)
    return _screen(ctx, "diary/grades.html.j2", kb.grades_keyboard(view), view=view)


async def _homework_screen(ctx: Ctx, student_id: int, subject_id: int = 0) -> Screen:
    view = await diary.homework_list(ctx.session, ctx.actor, student_id, subject_id=subject_id)
    return _screen(ctx, "diary/homework.html.j2", kb.homework_list_keyboard(view), view=view)


async def _homework_item_screen(
    ctx: Ctx, student_id: int, homework_id: int, notice: str | None = None
) -> Screen:
    detail = await diary.homework_detail(ctx.session, ctx.actor, student_id, homework_id)
    markup = kb.homework_item_keyboard(detail)
    return _screen(ctx, "diary/homework_item.html.j2", markup, detail=detail, notice=notice)


async def _attendance_screen(ctx: Ctx, student_id: int, period_id: int = 0) -> Screen:
    view = await diary.attendance_view(ctx.session, ctx.actor, student_id, period_id=period_id)
    return _screen(ctx, "diary/attendance.html.j2", kb.attendance_keyboard(view), view=view)


async def _report_screen(ctx: Ctx, student_id: int, period_id: int = 0) -> Screen:
    report = await family_report(ctx.session, ctx.actor, student_id, period_id=period_id)
    return _screen(ctx, "diary/report.html.j2", kb.report_keyboard(report), report=report)


# --- commands -------------------------------------------------------------------------------


async def _command_child(ctx: Ctx, action: Action | None = None) -> ChildRef | None:
    """The current child for a command, or an explanation why there is none (no link, an
    ended grant, or a scope the trusted person was not given)."""
    ref = ctx.actor.current_child()
    if ref is None:
        await ctx.show(await _no_child(ctx))
        return None
    if action is not None and not await can(ctx.session, ctx.actor, action, ref.student_id):
        markup = kb.diary_back_keyboard()
        name, scope = ref.name, SCOPE_NAMES[action]
        await ctx.show(_screen(ctx, "diary/no_scope.html.j2", markup, child_name=name, scope=scope))
        return None
    await diary.record_opened(ctx.session, ctx.actor, ref.student_id)
    return ref


Build = Callable[[Ctx, int], Awaitable[Screen]]

#: each command's screen; what a trusted person's grant must allow for it is the menu's
#: `bot.commands.NEEDS` (a command it does not allow is neither in their menu nor served)
COMMANDS: dict[str, Build] = {
    "today": lambda ctx, sid: _day_screen(ctx, sid, None),
    "tomorrow": lambda ctx, sid: _day_screen(ctx, sid, None, offset=1),
    "week": lambda ctx, sid: _week_screen(ctx, sid, None),
    "grades": lambda ctx, sid: _grades_screen(ctx, sid, entry=True),
    "homework": lambda ctx, sid: _homework_screen(ctx, sid),
    "schedule": lambda ctx, sid: _schedule_screen(ctx, sid, None),
    "attendance": lambda ctx, sid: _attendance_screen(ctx, sid),
}


async def diary_command(message: Message, command: CommandObject, ctx: Ctx) -> None:
    """/today, /tomorrow, /week, /grades, /homework, /schedule, /attendance: the current
    child's screen."""
    scope, build = NEEDS.get(command.command), COMMANDS[command.command]
    if ref := await _command_child(ctx, scope):
        await ctx.show(await build(ctx, ref.student_id))


# --- buttons --------------------------------------------------------------------------------


async def open_diary(query: CallbackQuery, ctx: Ctx) -> None:
    await ctx.show(await _menu(ctx))


async def on_day(query: CallbackQuery, callback_data: cb.DayCb, ctx: Ctx) -> None:
    await ctx.show(await _day_screen(ctx, callback_data.student_id, _day(callback_data.day)))


async def on_week(query: CallbackQuery, callback_data: cb.WeekCb, ctx: Ctx) -> None:
    await ctx.show(await _week_screen(ctx, callback_data.student_id, _day(callback_data.day)))


async def on_schedule(query: CallbackQuery, callback_data: cb.ScheduleCb, ctx: Ctx) -> None:
    day = _day(callback_data.day)
    await ctx.show(await _schedule_screen(ctx, callback_data.student_id, day))


async def on_grades(query: CallbackQuery, callback_data: cb.GradesCb, ctx: Ctx) -> None:
    data = callback_data
    screen = await _grades_screen(
        ctx,
        data.student_id,
        period_id=data.period_id,
        subject_id=data.subject_id,
        year_id=data.year_id,
        entry=data.entry,
    )
    await ctx.show(screen)


async def on_calculator(query: CallbackQuery, callback_data: cb.CalcCb, ctx: Ctx) -> None:
    data = callback_data
    view = await diary.calculator_view(
        ctx.session, ctx.actor, data.student_id, data.period_id, data.subject_id
    )
    await ctx.show(
        _screen(ctx, "diary/calculator.html.j2", kb.calculator_keyboard(view), view=view)
    )


async def on_years(query: CallbackQuery, callback_data: cb.YearsCb, ctx: Ctx) -> None:
    view = await diary.years_view(ctx.session, ctx.actor, callback_data.student_id)
    await ctx.show(_screen(ctx, "diary/years.html.j2", kb.years_keyboard(view), view=view))


async def on_spoiler(query: CallbackQuery, callback_data: cb.SpoilerCb, ctx: Ctx) -> None:
    await diary.set_grades_spoiler(ctx.session, ctx.actor, callback_data.on)
    own = ctx.actor.current_child(Role.STUDENT)
    assert own is not None  # set_grades_spoiler refused otherwise
    ctx.tell(
        _("Grades are now hidden under a spoiler.")
        if callback_data.on
        else _("Grades are shown openly again.")
    )
    screen = await _grades_screen(ctx, own.student_id, period_id=callback_data.period_id)
    await ctx.show(screen)


async def on_homework(query: CallbackQuery, callback_data: cb.HomeworkCb, ctx: Ctx) -> None:
    data = callback_data
    await ctx.show(await _homework_screen(ctx, data.student_id, data.subject_id))


async def on_homework_item(
    query: CallbackQuery, callback_data: cb.HomeworkItemCb, ctx: Ctx
) -> None:
    data = callback_data
    await ctx.show(await _homework_item_screen(ctx, data.student_id, data.homework_id))


async def on_homework_files(
    query: CallbackQuery, callback_data: cb.HomeworkFilesCb, ctx: Ctx
) -> None:
    """Send a homework's attachments again, a few per press: by file_id, or the school's copy
    (`bot.files.Files.send`); an alert says how many are gone altogether."""
    sid, hid, offset = callback_data.student_id, callback_data.homework_id, callback_data.offset
    item, files, total = await diary.homework_attachments(
        ctx.session, ctx.actor, sid, hid, offset=offset
    )
    if not files:
        ctx.alert(_("There are no more attachments."))
        return
    await ctx.session.commit()  # nothing to write: end the read before talking to Telegram
    gone = 0
    for index, attachment in enumerate(files):
        number = offset + index + 1
        caption = ctx.render(
            "diary/attachment.html.j2",
            item=item,
            name=attachment.file_name,
            number=number,
            total=total,
        )
        last = index == len(files) - 1
        markup = kb.more_attachments_keyboard(sid, hid, number, total) if last else None
        sent = await ctx.files.send(
            ctx.bot, ctx.session, ctx.chat_id, attachment.kept, caption=caption, reply_markup=markup
        )
        if sent is None:
            gone += 1
            if markup is not None:  # the way to the next files stays
                await ctx.bot.send_message(ctx.chat_id, caption, reply_markup=markup)
    if gone:
        ctx.alert(files_gone(gone))


async def on_attendance(query: CallbackQuery, callback_data: cb.AttendanceCb, ctx: Ctx) -> None:
    data = callback_data
    await ctx.show(await _attendance_screen(ctx, data.student_id, data.period_id))


async def on_report(query: CallbackQuery, callback_data: cb.ReportCb, ctx: Ctx) -> None:
    data = callback_data
    await ctx.show(await _report_screen(ctx, data.student_id, data.period_id))


async def on_report_card(query: CallbackQuery, callback_data: cb.ReportCardCb, ctx: Ctx) -> None:
    """The report card of the period (or the whole year) as a PDF."""
    data = callback_data
    found = await family_report_file(
        ctx.session,
        ctx.actor,
        data.student_id,
        ReportKind.CARD,
        period_id=data.period_id,
        whole_year=data.whole_year,
    )
    await _send_report_file(ctx, found, Format.PDF)


async def on_progress_chart(
    query: CallbackQuery, callback_data: cb.ProgressChartCb, ctx: Ctx
) -> None:
    """The progress chart of the period as a picture."""
    data = callback_data
    found = await family_report_file(
        ctx.session, ctx.actor, data.student_id, ReportKind.PROGRESS, period_id=data.period_id
    )
    await _send_report_file(ctx, found, Format.PNG)


def _file_name(found: FamilyReportFile) -> str:
    """The card's file name: "Report card", the student, the period and the year (localized),
    without characters a file system may refuse."""
    year = found.child.year
    parts = [_("Report card"), found.child.name, kb.period_label(found.period)]
    stem = " ".join([*parts, year.name if year else ""]).replace("/", "-")
    return upload_name(stem, "pdf")


async def _send_report_file(ctx: Ctx, found: FamilyReportFile | None, fmt: Format) -> None:
    """Render the report in the worker process (the button answered first, "sending a
    file…" meanwhile) and send it: a PDF as a document, a chart as a photo, each with a
    caption; an alert when there is nothing to send."""
    key = "card" if fmt is Format.PDF else "progress"
    if found is None or found.is_empty:
        ctx.alert(ctx.render("diary/report_file.html.j2", key=f"no_{key}"))
        return
    await ctx.session.commit()  # nothing to write: end the read before the worker and Telegram
    action = ChatAction.UPLOAD_DOCUMENT if fmt is Format.PDF else ChatAction.UPLOAD_PHOTO
    content = await ctx.report_file(found.report, fmt.value, action)
    caption = ctx.render(
        "diary/report_file.html.j2",
        key=key,
        child=found.child,
        period=found.period,
        attendance=found.has_attendance,
    )
    if fmt is Format.PDF:
        document = BufferedInputFile(content, _file_name(found))
        await ctx.bot.send_document(ctx.chat_id, document, caption=caption)
    else:
        photo = BufferedInputFile(content, "progress.png")
        await ctx.bot.send_photo(ctx.chat_id, photo, caption=caption)


# --- handing in homework ----------------------------------------------------------------------


def _submit_screen(ctx: Ctx, draft: SubmitDraft) -> Screen:
    """The prompt while work is collected: what was received so far, "Done" and "Cancel"."""
    return _screen(
        ctx,
        "diary/submit.html.j2",
        kb.submit_keyboard(draft.homework_id),
        item={"subject": draft.subject, "text": draft.text},
        files=[f.file_name for f in draft.files],
        comment=draft.comment,
        replacing=draft.replacing,
        max_files=diary.MAX_SUBMISSION_FILES,
    )


def _refused(ctx: Ctx, key: str, keyboard: InlineKeyboardMarkup | None = None) -> Screen:
    return _screen(ctx, "diary/submit_refused.html.j2", keyboard, key=key)


async def on_submit(query: CallbackQuery, callback_data: cb.SubmitCb, ctx: Ctx) -> None:
    """Start handing in homework, hand in what was collected, or cancel."""
    hid = callback_data.homework_id
    if callback_data.op == SubmitOp.START:
        await _start_submission(ctx, hid)
        return
    draft = await SUBMIT.load(ctx.state)
    if draft is None or draft.homework_id != hid:
        ctx.alert(ctx.render("diary/submit_refused.html.j2", key="stale"))
        return
    own = ctx.actor.current_child(Role.STUDENT)
    if callback_data.op == SubmitOp.CANCEL or own is None:
        await SUBMIT.clear(ctx.state)
        if own is not None:
            await ctx.show(await _homework_item_screen(ctx, own.student_id, hid, "cancelled"))
        return
    try:
        await diary.submit_homework(ctx.session, ctx.actor, hid, draft.files, draft.comment)
    except DomainError as exc:
        # kept: besides the answer, a refused submission (other than "no files yet") ends the
        # draft; the FSM storage is not rolled back with the database
        if exc.area == "submission" and exc.reason != "no_files":
            await SUBMIT.clear(ctx.state)
        raise
    await SUBMIT.clear(ctx.state)
    ctx.tell(_("Handed in."))
    await ctx.show(await _homework_item_screen(ctx, own.student_id, hid, "submitted"))
    ctx.files.keep_later(ctx.bot, draft.files)


async def _start_submission(ctx: Ctx, homework_id: int) -> None:
    item = await diary.start_submission(ctx.session, ctx.actor, homework_id)
    draft = SubmitDraft(
        homework_id=homework_id,
        subject=item.subject,
        text=item.text[:300],
        replacing=item.status is not None,
    )
    await ctx.state.set_state(SubmitStates.collecting)
    await SUBMIT.save(ctx.state, draft)
    await ctx.show(_submit_screen(ctx, draft))


async def on_submission_part(message: Message, ctx: Ctx) -> None:
    """A file, a photo or a comment for the work being handed in."""
    draft = await SUBMIT.load(ctx.state)
    if draft is None:
        await SUBMIT.clear(ctx.state)
        await ctx.show(_refused(ctx, "stale"))
        return
    new = sent_file(message)
    if new is not None and len(draft.files) >= diary.MAX_SUBMISSION_FILES:
        await ctx.show(_refused(ctx, "too_many_files", kb.submit_keyboard(draft.homework_id)))
        return
    draft = _added(draft, new, (message.caption if new is not None else message.text) or "")
    await SUBMIT.save(ctx.state, draft)
    await ctx.show(_submit_screen(ctx, draft))


def _added(draft: SubmitDraft, new: diary.NewFile | None, words: str) -> SubmitDraft:
    """The draft with a file and/or words for the comment added (the comment is cut to
    `diary.COMMENT_LIMIT`)."""
    files = (*draft.files, new) if new is not None else draft.files
    comment = draft.comment
    if words.strip():
        comment = "\n".join(filter(None, [comment, words.strip()]))[: diary.COMMENT_LIMIT]
    return draft.model_copy(update={"files": files, "comment": comment})


def create_router() -> Router:
    router = Router(name="diary")
    router.message.register(diary_command, Command(*COMMANDS))
    router.message.register(
        on_submission_part,
        StateFilter(SubmitStates.collecting),
        F.document | F.photo | (F.text & ~F.text.startswith("/")),
    )
    router.callback_query.register(open_diary, MenuCb.filter(F.screen == MenuScreen.DIARY))
    register_buttons(
        router,
        on_day,
        on_week,
        on_schedule,
        on_grades,
        on_calculator,
        on_years,
        on_spoiler,
        on_homework,
        on_homework_item,
        on_homework_files,
        on_submit,
        on_attendance,
        on_report,
        on_report_card,
        on_progress_chart,
    )
    return router
