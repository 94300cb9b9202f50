"""The journal's screens: each loads its view from the services (which check the actor),
renders its template and builds its keyboard. `notice` is a confirmation shown on top."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup

from bot.callbacks.journal import Pick, RosterMode
from bot.keyboards import journal as kb
from bot.screens import Screen
from db.enums import GradeKind
from handlers.journal import prompts
from handlers.journal.context import JournalCtx
from services import journal
from services.core import audit
from services.core.access import Action, denied
from services.core.grading import default_weight
from services.journal import periods

Notice = Markup | str


async def day(ctx: JournalCtx, on: date | None = None, class_id: int = 0) -> Screen:
    """A day's lessons (the actor's own, or a class's); someone who teaches nothing picks a
    class instead."""
    today = await ctx.today()
    view = await journal.day_view(
        ctx.session, ctx.actor, on or today, today=today, class_id=class_id
    )
    if not view.teaches and not class_id and not view.lessons:
        classes = await journal.journal_classes(ctx.session, ctx.actor)
        return ctx.screen("journal/day.html.j2", kb.classes_keyboard(view.day, classes), view=view)
    return ctx.screen("journal/day.html.j2", kb.day_keyboard(view), view=view)


async def picker(ctx: JournalCtx, what: Pick, on: date, class_id: int) -> Screen:
    """Pick a class, a subject or a day of the week."""
    empty = False
    if what == Pick.CLASS:
        classes = await journal.journal_classes(ctx.session, ctx.actor)
        empty, markup = not classes, kb.classes_keyboard(on, classes)
    elif what == Pick.SUBJECT:
        items = await journal.journal_subjects(ctx.session, ctx.actor, class_id)
        empty, markup = not items, kb.subjects_keyboard(on, items, class_id)
    else:
        if not ctx.actor.is_staff:
            raise denied(Action.READ_CLASS)
        markup = kb.week_keyboard(on, class_id, await ctx.today())
    return ctx.screen("journal/pick.html.j2", markup, what=what.name.lower(), day=on, empty=empty)


async def assignment(ctx: JournalCtx, assignment_id: int, page: int) -> Screen:
    today = await ctx.today()
    view = await journal.assignment_lessons(
        ctx.session, ctx.actor, assignment_id, today=today, page=page
    )
    return ctx.screen("journal/assignment.html.j2", kb.assignment_keyboard(view, today), view=view)


async def lesson(ctx: JournalCtx, lesson_id: int, notice: Notice = "") -> Screen:
    card = await journal.lesson_card(ctx.session, ctx.actor, lesson_id)
    return ctx.screen("journal/lesson.html.j2", kb.lesson_keyboard(card), card=card, notice=notice)


async def roster(
    ctx: JournalCtx, lesson_id: int, mode: RosterMode, page: int = 0, notice: Notice = ""
) -> Screen:
    card = await journal.lesson_card(ctx.session, ctx.actor, lesson_id)
    if mode != RosterMode.GRADES and not card.can_write:
        raise denied(Action.WRITE_LESSON, lesson_id)
    page = min(max(page, 0), max(len(card.roster) - 1, 0) // kb.ROSTER_PAGE)
    markup = kb.roster_keyboard(card, mode, page)
    return ctx.screen("journal/roster.html.j2", markup, card=card, mode=mode.value, notice=notice)


async def student(
    ctx: JournalCtx,
    lesson_id: int,
    student_id: int,
    kind: GradeKind = journal.DEFAULT_KIND,
    notice: Notice = "",
) -> Screen:
    sheet = await journal.student_sheet(ctx.session, ctx.actor, lesson_id, student_id)
    markup = kb.student_keyboard(sheet, kind)
    return ctx.screen("journal/student.html.j2", markup, sheet=sheet, kind=kind, notice=notice)


async def run(
    ctx: JournalCtx,
    lesson_id: int,
    kind: GradeKind,
    *,
    after: int | None = None,
    current: int | None = None,
    notice: Notice = "",
) -> Screen:
    """The next student of a run-through (typing a value is armed for them), or the lesson
    card when the roster is done."""
    step = await journal.run_step(ctx.session, ctx.actor, lesson_id, after=after, current=current)
    if step is None:
        await prompts.leave(ctx.state)
        done = ctx.toast("run_done")
        return await lesson(ctx, lesson_id, Markup("\n").join([notice, done]) if notice else done)
    await prompts.arm_run(ctx, lesson_id, step.line.student_id, kind)
    return ctx.screen(
        "journal/run.html.j2",
        kb.run_keyboard(step, kind),
        step=step,
        kind=kind,
        weight=default_weight(kind),
        notice=notice,
    )


async def grade(ctx: JournalCtx, grade_id: int, notice: Notice = "") -> Screen:
    detail = await journal.grade_detail(ctx.session, ctx.actor, grade_id, grace=ctx.grace)
    markup = kb.grade_keyboard(detail)
    return ctx.screen("journal/grade.html.j2", markup, detail=detail, notice=notice)


async def homework(ctx: JournalCtx, lesson_id: int, notice: Notice = "") -> Screen:
    return (await homework_files(ctx, lesson_id, 0, notice))[0]


async def homework_files(
    ctx: JournalCtx, lesson_id: int, files_page: int, notice: Notice = ""
) -> tuple[Screen, list[journal.AttachmentView]]:
    """The lesson's homework (`files_page`: the page of its files re-sent with it) and its
    files."""
    view = await journal.homework_screen(ctx.session, ctx.actor, lesson_id)
    markup = kb.homework_keyboard(view, files_page)
    screen = ctx.screen("journal/homework.html.j2", markup, screen=view, notice=notice)
    return screen, view.attachments


async def submissions(ctx: JournalCtx, lesson_id: int) -> Screen:
    view = await journal.submissions(ctx.session, ctx.actor, lesson_id)
    return ctx.screen("journal/submissions.html.j2", kb.submissions_keyboard(view), view=view)


async def submission(ctx: JournalCtx, submission_id: int, notice: Notice = "") -> Screen:
    return (await submission_files(ctx, submission_id, 0, notice))[0]


async def submission_files(
    ctx: JournalCtx, submission_id: int, files_page: int, notice: Notice = ""
) -> tuple[Screen, list[journal.AttachmentView]]:
    """A handed-in work (`files_page`: the page of its files re-sent with it) and its files."""
    detail = await journal.submission_detail(ctx.session, ctx.actor, submission_id)
    markup = kb.submission_keyboard(detail, files_page)
    screen = ctx.screen("journal/submission.html.j2", markup, detail=detail, notice=notice)
    return screen, detail.files


async def settings(ctx: JournalCtx, lesson_id: int, notice: Notice = "") -> Screen:
    """Topic, cancellation and replacement of a lesson (for who may change any of them)."""
    card = await journal.lesson_card(ctx.session, ctx.actor, lesson_id)
    if not (card.can_write or card.can_replace):
        raise denied(Action.WRITE_LESSON, lesson_id)
    markup = kb.settings_keyboard(card)
    return ctx.screen("journal/settings.html.j2", markup, card=card, notice=notice)


async def replacement(ctx: JournalCtx, lesson_id: int, page: int) -> Screen:
    view = await journal.replacement_candidates(ctx.session, ctx.actor, lesson_id, page=page)
    return ctx.screen("journal/replacement.html.j2", kb.replacement_keyboard(view), page=view)


async def period_sheet(ctx: JournalCtx, assignment_id: int, period_id: int) -> periods.PeriodSheet:
    today = await ctx.today()
    return await periods.period_sheet(ctx.session, ctx.actor, assignment_id, period_id, today=today)


async def period(
    ctx: JournalCtx, assignment_id: int, period_id: int = 0, notice: Notice = ""
) -> Screen:
    sheet = await period_sheet(ctx, assignment_id, period_id)
    markup = kb.period_keyboard(sheet)
    return ctx.screen("journal/period.html.j2", markup, sheet=sheet, notice=notice)


async def close_period(ctx: JournalCtx, assignment_id: int, period_id: int) -> Screen:
    """ "Close the period for the school?" (for who may close it)."""
    sheet = await period_sheet(ctx, assignment_id, period_id)
    if not sheet.can_close:
        raise denied(Action.CLOSE_PERIOD, period_id)
    markup = kb.close_period_keyboard(assignment_id, sheet.period.id)
    return ctx.screen("journal/period_close.html.j2", markup, sheet=sheet)


async def period_line(
    ctx: JournalCtx, assignment_id: int, period_id: int, student_id: int
) -> tuple[periods.PeriodSheet, periods.PeriodLine]:
    """A student's line of a period sheet; refused when the student or period is not in it."""
    sheet = await period_sheet(ctx, assignment_id, period_id)
    line = next((x for x in sheet.lines if x.student_id == student_id), None)
    if line is None or sheet.period.id != period_id:
        raise denied(Action.READ_ASSIGNMENT, assignment_id)
    return sheet, line


async def period_student(
    ctx: JournalCtx, assignment_id: int, period_id: int, student_id: int
) -> Screen:
    sheet, line = await period_line(ctx, assignment_id, period_id, student_id)
    markup = kb.period_student_keyboard(sheet, line)
    return ctx.screen("journal/period_student.html.j2", markup, sheet=sheet, line=line)


async def trail(ctx: JournalCtx, lesson_id: int, student_id: int, page: int) -> Screen:
    """The history of changes of a lesson (`lesson_id`), else of a student."""
    if lesson_id:
        found = await audit.lesson_trail(ctx.session, ctx.actor, lesson_id, page=page)
    else:
        found = await audit.student_trail(ctx.session, ctx.actor, student_id, page=page)
    markup = kb.audit_keyboard(lesson_id, student_id, found.page, found.has_more)
    return ctx.screen("journal/audit.html.j2", markup, trail=found)


async def unseen(ctx: JournalCtx, class_id: int) -> Screen:
    today = await ctx.today()
    report = await journal.unseen_report(ctx.session, ctx.actor, class_id, today=today)
    return ctx.screen("journal/unseen.html.j2", kb.unseen_keyboard(class_id, today), report=report)
