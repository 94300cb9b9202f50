"""The diary for parents, students and trusted persons: commands, the diary menu, the day,
week, timetable, grades, homework (with handing in), attendance and report screens.

Commands answer with a new message; buttons edit the screen in place. Callback data names
the student and objects by id only; the diary service checks every one against the actor.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypedDict

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import MenuCb, Screen
from bot.callbacks.diary import (
    AttendanceCb,
    CalcCb,
    DayCb,
    GradesCb,
    HomeworkCb,
    HomeworkFilesCb,
    HomeworkItemCb,
    ReportCb,
    ScheduleCb,
    SpoilerCb,
    SubmitCb,
    SubmitOp,
    WeekCb,
    YearsCb,
)
from bot.keyboards.diary import (
    attendance_keyboard,
    calculator_keyboard,
    day_keyboard,
    diary_back_keyboard,
    diary_menu_keyboard,
    grades_keyboard,
    home_keyboard,
    homework_item_keyboard,
    homework_list_keyboard,
    more_attachments_keyboard,
    report_keyboard,
    schedule_keyboard,
    subject_keyboard,
    submit_keyboard,
    week_keyboard,
    years_keyboard,
)
from bot.rendering import Renderer
from bot.states import SubmitStates
from bot.telegram import MESSAGE_LIMIT, refuse, show_for, split_html, visible_length
from db.base import utcnow
from db.enums import AttachmentKind
from services import diary
from services.access import Action, can
from services.actors import Actor, ChildRef, Role
from services.core.errors import DomainError
from services.reports import family_report

SUBMIT_KEY = "submit"


class SubmitDraft(TypedDict):
    """The work a student is handing in, kept in FSM storage (JSON: files as plain dicts)."""

    homework_id: int
    subject: str
    text: str
    files: list[dict[str, Any]]
    comment: str | None
    replacing: bool


async def _saved_draft(state: FSMContext) -> SubmitDraft | None:
    draft: SubmitDraft | None = (await state.get_data()).get(SUBMIT_KEY)
    return draft


SCOPE_NAMES = {
    Action.VIEW_GRADES: "grades",
    Action.VIEW_HOMEWORK: "homework",
    Action.VIEW_ATTENDANCE: "attendance",
    Action.VIEW_SCHEDULE: "schedule",
}

Screenful = tuple[str, InlineKeyboardMarkup | None]


_BLANK_LINES = re.compile(r"\n{3,}")


def _fit(html: str) -> str:
    """A screen is one message: blank lines collapsed, what does not fit cut off (markup
    stays balanced)."""
    html = _BLANK_LINES.sub("\n\n", html)
    if visible_length(html) <= MESSAGE_LIMIT:
        return html
    return split_html(html, MESSAGE_LIMIT - 2)[0] + "\n…"


async def _show(query: CallbackQuery, bot: Bot, screen: Screenful) -> None:
    text, markup = screen
    await show_for(query, bot, _fit(text), markup)


async def _answer(message: Message, screen: Screenful) -> None:
    text, markup = screen
    await message.answer(_fit(text), reply_markup=markup)


def _day(value: int) -> date | None:
    """A day from callback data; 0 or nonsense: today."""
    return diary.ordinal_day(value)


# --- screens ------------------------------------------------------------------------------


async def _no_child(session: AsyncSession, actor: Actor, renderer: Renderer) -> Screenful:
    ended = await diary.ended_access(session, actor, now=utcnow())
    markup = home_keyboard() if actor.is_known else None
    return renderer.render("diary/no_child.html.j2", ended=ended), markup


async def _menu(session: AsyncSession, actor: Actor, renderer: Renderer) -> Screenful:
    ref = actor.current_child()
    if ref is None:
        return await _no_child(session, actor, renderer)
    menu = await diary.diary_menu(session, actor, ref.student_id)
    return renderer.render("diary/menu.html.j2", menu=menu), diary_menu_keyboard(menu)


async def _day_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    student_id: int,
    day: date | None,
    offset: int = 0,
) -> Screenful:
    view = await diary.day_view(session, actor, student_id, day, offset=offset)
    return renderer.render("diary/day.html.j2", view=view), day_keyboard(view)


async def _week_screen(
    session: AsyncSession, actor: Actor, renderer: Renderer, student_id: int, day: date | None
) -> Screenful:
    view = await diary.week_view(session, actor, student_id, day)
    return renderer.render("diary/week.html.j2", view=view), week_keyboard(view)


async def _schedule_screen(
    session: AsyncSession, actor: Actor, renderer: Renderer, student_id: int, day: date | None
) -> Screenful:
    view = await diary.schedule_view(session, actor, student_id, day)
    return renderer.render("diary/schedule.html.j2", view=view), schedule_keyboard(view)


async def _grades_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    student_id: int,
    *,
    period_id: int = 0,
    subject_id: int = 0,
    year_id: int = 0,
    entry: bool = False,
) -> Screenful:
    view = await diary.grades_view(
        session,
        actor,
        student_id,
        period_id=period_id,
        subject_id=subject_id,
        year_id=year_id,
        entry=entry,
    )
    if view.subject is not None:
        return renderer.render("diary/subject.html.j2", view=view), subject_keyboard(view)
    return renderer.render("diary/grades.html.j2", view=view), grades_keyboard(view)


async def _homework_screen(
    session: AsyncSession, actor: Actor, renderer: Renderer, student_id: int, subject_id: int = 0
) -> Screenful:
    view = await diary.homework_list(session, actor, student_id, subject_id=subject_id)
    return renderer.render("diary/homework.html.j2", view=view), homework_list_keyboard(view)


async def _homework_item_screen(
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    student_id: int,
    homework_id: int,
    notice: str | None = None,
) -> Screenful:
    detail = await diary.homework_detail(session, actor, student_id, homework_id)
    text = renderer.render("diary/homework_item.html.j2", detail=detail, notice=notice)
    return text, homework_item_keyboard(detail)


async def _attendance_screen(
    session: AsyncSession, actor: Actor, renderer: Renderer, student_id: int, period_id: int = 0
) -> Screenful:
    view = await diary.attendance_view(session, actor, student_id, period_id=period_id)
    return renderer.render("diary/attendance.html.j2", view=view), attendance_keyboard(view)


async def _report_screen(
    session: AsyncSession, actor: Actor, renderer: Renderer, student_id: int, period_id: int = 0
) -> Screenful:
    report = await family_report(session, actor, student_id, period_id=period_id)
    return renderer.render("diary/report.html.j2", report=report), report_keyboard(report)


# --- commands -------------------------------------------------------------------------------


async def _command_child(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    action: Action | None = None,
) -> ChildRef | None:
    """The current child for a command, or an explanation why there is none (no link, an
    ended grant, or a scope the trusted person was not given)."""
    ref = actor.current_child()
    if ref is None:
        await _answer(message, await _no_child(session, actor, renderer))
        return None
    if action is not None and not await can(session, actor, action, ref.student_id):
        text = renderer.render(
            "diary/no_scope.html.j2", child_name=ref.name, scope=SCOPE_NAMES[action]
        )
        await message.answer(text, reply_markup=diary_back_keyboard())
        return None
    await diary.record_opened(session, actor, ref.student_id)
    return ref


async def today_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer)
    if ref is not None:
        await _answer(message, await _day_screen(session, actor, renderer, ref.student_id, None))


async def tomorrow_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer)
    if ref is not None:
        screen = await _day_screen(session, actor, renderer, ref.student_id, None, offset=1)
        await _answer(message, screen)


async def week_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer)
    if ref is not None:
        await _answer(message, await _week_screen(session, actor, renderer, ref.student_id, None))


async def schedule_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer, Action.VIEW_SCHEDULE)
    if ref is not None:
        screen = await _schedule_screen(session, actor, renderer, ref.student_id, None)
        await _answer(message, screen)


async def grades_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer, Action.VIEW_GRADES)
    if ref is not None:
        screen = await _grades_screen(session, actor, renderer, ref.student_id, entry=True)
        await _answer(message, screen)


async def homework_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer, Action.VIEW_HOMEWORK)
    if ref is not None:
        await _answer(message, await _homework_screen(session, actor, renderer, ref.student_id))


async def attendance_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer
) -> None:
    ref = await _command_child(message, session, actor, renderer, Action.VIEW_ATTENDANCE)
    if ref is not None:
        screen = await _attendance_screen(session, actor, renderer, ref.student_id)
        await _answer(message, screen)


# --- buttons --------------------------------------------------------------------------------


async def open_diary(
    query: CallbackQuery, session: AsyncSession, actor: Actor, renderer: Renderer, bot: Bot
) -> None:
    await _show(query, bot, await _menu(session, actor, renderer))


async def on_day(
    query: CallbackQuery,
    callback_data: DayCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _day_screen(
        session, actor, renderer, callback_data.student_id, _day(callback_data.day)
    )
    await _show(query, bot, screen)


async def on_week(
    query: CallbackQuery,
    callback_data: WeekCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _week_screen(
        session, actor, renderer, callback_data.student_id, _day(callback_data.day)
    )
    await _show(query, bot, screen)


async def on_schedule(
    query: CallbackQuery,
    callback_data: ScheduleCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _schedule_screen(
        session, actor, renderer, callback_data.student_id, _day(callback_data.day)
    )
    await _show(query, bot, screen)


async def on_grades(
    query: CallbackQuery,
    callback_data: GradesCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _grades_screen(
        session,
        actor,
        renderer,
        callback_data.student_id,
        period_id=callback_data.period_id,
        subject_id=callback_data.subject_id,
        year_id=callback_data.year_id,
        entry=callback_data.entry,
    )
    await _show(query, bot, screen)


async def on_calculator(
    query: CallbackQuery,
    callback_data: CalcCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    view = await diary.calculator_view(
        session, actor, callback_data.student_id, callback_data.period_id, callback_data.subject_id
    )
    text = renderer.render("diary/calculator.html.j2", view=view)
    await _show(query, bot, (text, calculator_keyboard(view)))


async def on_years(
    query: CallbackQuery,
    callback_data: YearsCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    view = await diary.years_view(session, actor, callback_data.student_id)
    text = renderer.render("diary/years.html.j2", view=view)
    await _show(query, bot, (text, years_keyboard(view)))


async def on_spoiler(
    query: CallbackQuery,
    callback_data: SpoilerCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    await diary.set_grades_spoiler(session, actor, callback_data.on)
    own = actor.current_child(Role.STUDENT)
    assert own is not None  # set_grades_spoiler refused otherwise
    callback_answer.text = (
        _("Grades are now hidden under a spoiler.")
        if callback_data.on
        else _("Grades are shown openly again.")
    )
    screen = await _grades_screen(
        session, actor, renderer, own.student_id, period_id=callback_data.period_id
    )
    await _show(query, bot, screen)


async def on_homework(
    query: CallbackQuery,
    callback_data: HomeworkCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _homework_screen(
        session, actor, renderer, callback_data.student_id, callback_data.subject_id
    )
    await _show(query, bot, screen)


async def on_homework_item(
    query: CallbackQuery,
    callback_data: HomeworkItemCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _homework_item_screen(
        session, actor, renderer, callback_data.student_id, callback_data.homework_id
    )
    await _show(query, bot, screen)


async def on_homework_files(
    query: CallbackQuery,
    callback_data: HomeworkFilesCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    """Re-send a homework's attachments by their file_id, a few per press."""
    sid, hid, offset = callback_data.student_id, callback_data.homework_id, callback_data.offset
    item, files, total = await diary.homework_attachments(session, actor, sid, hid, offset=offset)
    if not files:
        refuse(callback_answer, _("There are no more attachments."))
        return
    await session.commit()  # nothing to write: end the read before talking to Telegram
    for index, attachment in enumerate(files):
        number = offset + index + 1
        caption = renderer.render(
            "diary/attachment.html.j2",
            item=item,
            name=attachment.file_name,
            number=number,
            total=total,
        )
        last = index == len(files) - 1
        markup = more_attachments_keyboard(sid, hid, number, total) if last else None
        try:
            if attachment.kind == AttachmentKind.PHOTO:
                await bot.send_photo(
                    query.from_user.id, attachment.file_id, caption=caption, reply_markup=markup
                )
            else:
                await bot.send_document(
                    query.from_user.id, attachment.file_id, caption=caption, reply_markup=markup
                )
        except TelegramBadRequest:
            refuse(callback_answer, _("This file is no longer available on Telegram."))
            return


async def on_attendance(
    query: CallbackQuery,
    callback_data: AttendanceCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _attendance_screen(
        session, actor, renderer, callback_data.student_id, callback_data.period_id
    )
    await _show(query, bot, screen)


async def on_report(
    query: CallbackQuery,
    callback_data: ReportCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    screen = await _report_screen(
        session, actor, renderer, callback_data.student_id, callback_data.period_id
    )
    await _show(query, bot, screen)


# --- handing in homework ----------------------------------------------------------------------


def _prompt(renderer: Renderer, draft: SubmitDraft) -> str:
    return renderer.render(
        "diary/submit.html.j2",
        item={"subject": draft["subject"], "text": draft["text"]},
        files=[f["file_name"] for f in draft["files"]],
        comment=draft["comment"],
        replacing=draft["replacing"],
        max_files=diary.MAX_SUBMISSION_FILES,
    )


async def _end_submission(state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data({SUBMIT_KEY: None})


async def on_submit(
    query: CallbackQuery,
    callback_data: SubmitCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    hid = callback_data.homework_id
    if callback_data.op == SubmitOp.START:
        item = await diary.start_submission(session, actor, hid)
        draft: SubmitDraft = {
            "homework_id": hid,
            "subject": item.subject,
            "text": item.text[:300],
            "files": [],
            "comment": None,
            "replacing": item.status is not None,
        }
        await state.set_state(SubmitStates.collecting)
        await state.update_data({SUBMIT_KEY: draft})
        await _show(query, bot, (_prompt(renderer, draft), submit_keyboard(hid)))
        return

    saved = await _saved_draft(state)
    if not saved or saved["homework_id"] != hid:
        refuse(callback_answer, renderer.render("diary/submit_refused.html.j2", key="stale"))
        return
    own = actor.current_child(Role.STUDENT)
    if callback_data.op == SubmitOp.CANCEL or own is None:
        await _end_submission(state)
        if own is not None:
            screen = await _homework_item_screen(
                session, actor, renderer, own.student_id, hid, "cancelled"
            )
            await _show(query, bot, screen)
        return
    files = [diary.NewFile(**{**f, "kind": AttachmentKind(f["kind"])}) for f in saved["files"]]
    try:
        await diary.submit_homework(session, actor, hid, files, saved["comment"])
    except DomainError as exc:
        # kept: besides the answer, a refused submission (other than "no files yet") ends the
        # draft; the FSM storage is not rolled back with the database
        if exc.area == "submission" and exc.reason != "no_files":
            await _end_submission(state)
        raise
    await _end_submission(state)
    callback_answer.text = _("Handed in.")
    screen = await _homework_item_screen(session, actor, renderer, own.student_id, hid, "submitted")
    await _show(query, bot, screen)


def _new_file(message: Message) -> dict[str, Any] | None:
    if message.document is not None:
        doc = message.document
        return {
            "kind": AttachmentKind.DOCUMENT.value,
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "file_name": doc.file_name,
            "mime_type": doc.mime_type,
            "file_size": doc.file_size,
        }
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return {
            "kind": AttachmentKind.PHOTO.value,
            "file_id": photo.file_id,
            "file_unique_id": photo.file_unique_id,
            "file_name": None,
            "mime_type": "image/jpeg",
            "file_size": photo.file_size,
        }
    return None


async def on_submission_part(message: Message, state: FSMContext, renderer: Renderer) -> None:
    """A file, a photo or a comment for the work being handed in."""
    draft = await _saved_draft(state)
    if not draft:
        await _end_submission(state)
        await message.answer(renderer.render("diary/submit_refused.html.j2", key="stale"))
        return
    new = _new_file(message)
    if new is not None and len(draft["files"]) >= diary.MAX_SUBMISSION_FILES:
        await message.answer(
            renderer.render("diary/submit_refused.html.j2", key="too_many_files"),
            reply_markup=submit_keyboard(draft["homework_id"]),
        )
        return
    if new is not None:
        draft["files"].append(new)
    words = (message.caption if new is not None else message.text) or ""
    if words.strip():
        joined = "\n".join(filter(None, [draft["comment"], words.strip()]))
        draft["comment"] = joined[: diary.COMMENT_LIMIT]
    await state.update_data({SUBMIT_KEY: draft})
    await message.answer(
        _prompt(renderer, draft), reply_markup=submit_keyboard(draft["homework_id"])
    )


def create_router() -> Router:
    router = Router(name="diary")
    router.message.filter(F.chat.type == "private")
    router.message.register(today_command, Command("today"))
    router.message.register(tomorrow_command, Command("tomorrow"))
    router.message.register(week_command, Command("week"))
    router.message.register(grades_command, Command("grades"))
    router.message.register(homework_command, Command("homework"))
    router.message.register(schedule_command, Command("schedule"))
    router.message.register(attendance_command, Command("attendance"))
    router.message.register(
        on_submission_part,
        StateFilter(SubmitStates.collecting),
        F.document | F.photo | (F.text & ~F.text.startswith("/")),
    )
    router.callback_query.register(open_diary, MenuCb.filter(F.screen == Screen.DIARY))
    router.callback_query.register(on_day, DayCb.filter())
    router.callback_query.register(on_week, WeekCb.filter())
    router.callback_query.register(on_schedule, ScheduleCb.filter())
    router.callback_query.register(on_grades, GradesCb.filter())
    router.callback_query.register(on_calculator, CalcCb.filter())
    router.callback_query.register(on_years, YearsCb.filter())
    router.callback_query.register(on_spoiler, SpoilerCb.filter())
    router.callback_query.register(on_homework, HomeworkCb.filter())
    router.callback_query.register(on_homework_item, HomeworkItemCb.filter())
    router.callback_query.register(on_homework_files, HomeworkFilesCb.filter())
    router.callback_query.register(on_submit, SubmitCb.filter())
    router.callback_query.register(on_attendance, AttendanceCb.filter())
    router.callback_query.register(on_report, ReportCb.filter())
    return router
