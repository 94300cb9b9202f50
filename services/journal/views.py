"""What the journal shows: the roster, a day's lessons and the pickers, the lesson card, one
student in a lesson, one grade, and the run-through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    GradeKind,
    SubmissionStatus,
)
from db.jsonrows import json_rows
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    Comment,
    Enrollment,
    Grade,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    SchoolClass,
    Staff,
    Student,
    Subject,
    SubmissionFile,
    TeachingAssignment,
)
from services.core import access, enrolment
from services.core.access import Action, can, denied, require
from services.core.actors import Actor, Role
from services.core.errors import DomainError
from services.core.files import Attachment
from services.core.grading import (
    keyboard_values,
)
from services.core.schooltime import local_date
from services.core.timetable import generate_lessons
from services.journal.context import (
    LessonContext,
    check_took_place,
    count_of,
    enrolled_on,
    grade_lesson,
    grades_writable,
    period_closed,
    readable,
    writable,
)
from services.journal.grades import (
    announce_at,
    hold_choices,
)

AWAY = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED})
LESSONS_PAGE = 10


# --- the roster -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A grade as the staff see it, with the family's reactions."""

    id: int
    value: str
    kind: GradeKind
    weight: float
    comment: str | None
    hidden_until: date | None
    seen: int
    comments: int
    created_at: datetime


@dataclass
class RosterLine:
    number: int
    student_id: int
    name: str
    attendance: AttendanceStatus | None = None
    minutes_late: int | None = None
    reason: str | None = None
    marks: list[Mark] = field(default_factory=list)

    @property
    def away(self) -> bool:
        return self.attendance in AWAY


def _mark_query(*where: Any) -> Any:
    seen = count_of(Acknowledgement.id, Acknowledgement.grade_id == Grade.id, parent=Grade)
    comments = count_of(Comment.id, Comment.grade_id == Grade.id, parent=Grade)
    return (
        select(Grade, seen, comments)
        .where(Grade.deleted_at.is_(None), *where)
        .order_by(Grade.created_at, Grade.id)
    )


def _mark(grade: Grade, seen: int, comments: int) -> Mark:
    return Mark(
        grade.id,
        grade.value,
        GradeKind(grade.kind),
        grade.weight,
        grade.comment,
        grade.hidden_until,
        int(seen or 0),
        int(comments or 0),
        grade.created_at,
    )


async def _roster(
    session: AsyncSession, ctx: LessonContext, student_id: int | None = None
) -> list[RosterLine]:
    """The class on the lesson's date with attendance and this lesson's grades (two queries)."""
    query = (
        select(
            Student.id,
            Student.full_name,
            Attendance.status,
            Attendance.minutes_late,
            Attendance.reason,
        )
        .join(Enrollment, Enrollment.student_id == Student.id)
        .outerjoin(
            Attendance,
            and_(Attendance.student_id == Student.id, Attendance.lesson_id == ctx.id),
        )
        .where(enrolled_on(ctx.class_id, ctx.date))
        .order_by(Student.full_name, Student.id)
    )
    rows = (await session.execute(query)).all()
    lines = {
        sid: RosterLine(
            number, sid, name, AttendanceStatus(status) if status else None, late, reason
        )
        for number, (sid, name, status, late, reason) in enumerate(rows, 1)
    }
    where = [Grade.lesson_id == ctx.id]
    if student_id is not None:
        where.append(Grade.student_id == student_id)
    for grade, seen, comments in await session.execute(_mark_query(*where)):
        line = lines.get(grade.student_id)
        if line is not None:
            line.marks.append(_mark(grade, seen, comments))
    result = list(lines.values())
    if student_id is not None:
        result = [line for line in result if line.student_id == student_id]
    return result


# --- lessons of a day, pickers ---------------------------------------------------------------


@dataclass(frozen=True)
class LessonItem:
    id: int
    date: date
    lesson_number: int
    starts_at: time
    class_id: int
    class_name: str
    subject_name: str
    room: str | None
    topic: str | None
    cancelled: bool
    replaced: bool
    replacing: bool
    mine: bool
    homework: bool
    grades: int


@dataclass(frozen=True)
class DayView:
    day: date
    today: date
    class_id: int
    class_name: str | None
    lessons: list[LessonItem]
    teaches: bool
    class_journal: bool


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class AssignmentItem:
    id: int
    class_id: int
    class_name: str
    subject_name: str
    mine: bool

    @classmethod
    def of(cls, assignment_id: int, row: Sequence[Any], staff_id: int | None) -> AssignmentItem:
        """The item from a row of `assignment_query` (its first five columns), as `staff_id`
        sees it."""
        teacher_id, class_id, _school_id, class_name, subject_name = row[:5]
        return cls(assignment_id, class_id, class_name, subject_name, teacher_id == staff_id)


def assignment_query(assignment_id: int, *extra: Any) -> Any:
    """A teaching assignment's facts for the access policy (`assignment_facts_query`), its
    class and subject names, then `extra` columns."""
    return access.assignment_facts_query(
        assignment_id, SchoolClass.name, Subject.name, *extra
    ).join(Subject, Subject.id == TeachingAssignment.subject_id)


def _lesson_items_query() -> Any:
    has_homework = exists().where(Homework.lesson_id == Lesson.id)
    grades = count_of(
        Grade.id, Grade.lesson_id == Lesson.id, Grade.deleted_at.is_(None), parent=Lesson
    )
    return access.lesson_facts_query(
        Lesson, SchoolClass.name, Subject.name, has_homework, grades
    ).join(Subject, Subject.id == Lesson.subject_id)


def _lesson_items(rows: Any, staff_id: int | None) -> list[LessonItem]:
    items = []
    for row in rows:
        facts = access.LessonFacts.of(row)
        lesson, class_name, subject, homework, grades = row[4:]
        replacing = staff_id is not None and facts.replacement_teacher_id == staff_id
        items.append(
            LessonItem(
                id=lesson.id,
                date=lesson.date,
                lesson_number=lesson.lesson_number,
                starts_at=lesson.starts_at,
                class_id=lesson.class_id,
                class_name=class_name,
                subject_name=subject,
                room=lesson.room,
                topic=lesson.topic,
                cancelled=lesson.cancelled,
                replaced=lesson.replacement_teacher_id is not None and not replacing,
                replacing=replacing,
                mine=staff_id is not None and (facts.teacher_id == staff_id or replacing),
                homework=bool(homework),
                grades=int(grades or 0),
            )
        )
    return items


async def generate_missing(
    session: AsyncSession, class_ids: list[int], start: date, end: date
) -> None:
    """Create the timetable's missing lessons; a concurrent creator wins harmlessly."""
    if not class_ids:
        return
    try:
        if await generate_lessons(session, class_ids=class_ids, start=start, end=end):
            await session.commit()
    except IntegrityError:
        await session.rollback()


async def _taught_classes(session: AsyncSession, staff_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(TeachingAssignment.class_id)
            .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
            .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(TeachingAssignment.teacher_id == staff_id, AcademicYear.is_current)
            .distinct()
        )
    )


async def day_view(
    session: AsyncSession, actor: Actor, day: date, *, today: date, class_id: int = 0
) -> DayView:
    """The actor's lessons on `day` (taught or replaced), or a class's lessons of that day.

    Missing lessons are generated from the timetable first. In a class, its class teacher and
    head teachers see every subject; a subject teacher sees their own lessons only.
    """
    if not actor.is_staff:
        raise denied(Action.READ_CLASS, class_id or None)
    staff_id = actor.staff_id
    taught = await _taught_classes(session, staff_id) if staff_id else []
    query = _lesson_items_query().where(Lesson.date == day)
    class_name: str | None = None
    full = False
    if class_id:
        await require(session, actor, Action.READ_CLASS, class_id)
        full = await can(session, actor, Action.VIEW_CLASS_JOURNAL, class_id)
        await generate_missing(session, [class_id], day, day)
        class_name = await session.scalar(
            select(SchoolClass.name).where(SchoolClass.id == class_id)
        )
        query = query.where(Lesson.class_id == class_id)
        if not full:
            query = query.where(
                or_(
                    TeachingAssignment.teacher_id == staff_id,
                    Lesson.replacement_teacher_id == staff_id,
                )
            )
    else:
        await generate_missing(session, taught, day, day)
        query = query.where(
            or_(
                TeachingAssignment.teacher_id == staff_id,
                Lesson.replacement_teacher_id == staff_id,
            )
        )
    rows = await session.execute(query.order_by(Lesson.lesson_number, SchoolClass.name))
    return DayView(
        day=day,
        today=today,
        class_id=class_id,
        class_name=class_name,
        lessons=_lesson_items(rows, staff_id),
        teaches=bool(taught),
        class_journal=full,
    )


async def journal_classes(session: AsyncSession, actor: Actor) -> list[Choice]:
    """Classes whose journal the actor may open: taught and led ones; the school for heads."""
    if not actor.is_staff:
        raise denied(Action.READ_CLASS)
    query = enrolment.school_classes(actor.school_id)
    if not actor.has(Role.HEAD_TEACHER, Role.ADMIN):
        taught = select(TeachingAssignment.class_id).where(
            TeachingAssignment.teacher_id == (actor.staff_id or -1)
        )
        query = query.where(
            or_(SchoolClass.id.in_(taught), SchoolClass.id.in_(actor.class_teacher_of or (-1,)))
        )
    return [Choice(i, n) for i, n in await session.execute(query)]


async def journal_subjects(
    session: AsyncSession, actor: Actor, class_id: int = 0
) -> list[AssignmentItem]:
    """The actor's teaching assignments, or every subject of a class they may read in full."""
    if not actor.is_staff:
        raise denied(Action.READ_ASSIGNMENT)
    query = (
        select(TeachingAssignment.id, SchoolClass.id, SchoolClass.name, Subject.name)
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .add_columns(TeachingAssignment.teacher_id)
        .where(AcademicYear.is_current)
        .order_by(SchoolClass.grade_level, SchoolClass.name, Subject.name)
    )
    if class_id:
        await require(session, actor, Action.READ_CLASS, class_id)
        query = query.where(TeachingAssignment.class_id == class_id)
        if not await can(session, actor, Action.VIEW_CLASS_JOURNAL, class_id):
            query = query.where(TeachingAssignment.teacher_id == (actor.staff_id or -1))
    else:
        query = query.where(TeachingAssignment.teacher_id == (actor.staff_id or -1))
    return [
        AssignmentItem(aid, cid, cname, sname, teacher == actor.staff_id)
        for aid, cid, cname, sname, teacher in await session.execute(query)
    ]


@dataclass(frozen=True)
class AssignmentLessons:
    assignment: AssignmentItem
    lessons: list[LessonItem]
    page: int
    has_more: bool


async def assignment_lessons(
    session: AsyncSession, actor: Actor, assignment_id: int, *, today: date, page: int = 0
) -> AssignmentLessons:
    """One subject in one class: its lessons up to a week ahead, newest first, by pages."""
    await require(session, actor, Action.READ_ASSIGNMENT, assignment_id)
    row = (await session.execute(assignment_query(assignment_id))).one()
    item = AssignmentItem.of(assignment_id, row, actor.staff_id)
    page = max(page, 0)
    if page == 0:
        await generate_missing(session, [item.class_id], today - timedelta(days=28), today)
    rows = await session.execute(
        _lesson_items_query()
        .where(Lesson.assignment_id == assignment_id, Lesson.date <= today + timedelta(days=7))
        .order_by(Lesson.date.desc(), Lesson.lesson_number.desc())
        .offset(page * LESSONS_PAGE)
        .limit(LESSONS_PAGE + 1)
    )
    lessons = _lesson_items(rows, actor.staff_id)
    return AssignmentLessons(item, lessons[:LESSONS_PAGE], page, len(lessons) > LESSONS_PAGE)


# --- the lesson card ------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView(Attachment):
    """A homework's file on the teacher's screens: an `Attachment` with its row's id."""

    id: int = field(kw_only=True)

    @staticmethod
    def columns(model: type[HomeworkAttachment] | type[SubmissionFile]) -> tuple[Any, ...]:
        """What a view reads of a kept file's row (an attachment or a submitted file)."""
        return (model.id, model.kind, model.file_id, model.file_name, model.file_unique_id)

    @classmethod
    def of(cls, row: Sequence[Any]) -> AttachmentView:
        """The view from the values of `columns` (a row, or a `db.jsonrows` entry)."""
        row_id, kind, file_id, file_name, file_unique_id = row
        return cls(AttachmentKind(kind), file_id, file_name, file_unique_id, id=int(row_id))


@dataclass(frozen=True)
class HomeworkBrief:
    id: int
    text: str
    due_date: date
    attachments: int
    submissions: int
    to_review: int


@dataclass
class LessonCard:
    lesson: LessonContext
    roster: list[RosterLine]
    homework: list[HomeworkBrief]
    values: list[str]
    today: date
    can_write: bool
    can_replace: bool
    class_journal: bool
    closed: bool

    @property
    def future(self) -> bool:
        return self.lesson.date > self.today

    @property
    def gradable(self) -> bool:
        return self.can_write and not self.future and not self.lesson.cancelled

    @property
    def present(self) -> int:
        return sum(1 for line in self.roster if line.attendance is not None and not line.away)

    @property
    def unmarked(self) -> int:
        return sum(1 for line in self.roster if line.attendance is None)


def _briefs_query(lesson_id: int, *extra: Any) -> Any:
    files = count_of(
        HomeworkAttachment.id, HomeworkAttachment.homework_id == Homework.id, parent=Homework
    )
    of_homework = HomeworkSubmission.homework_id == Homework.id
    submitted = count_of(HomeworkSubmission.id, of_homework, parent=Homework)
    waiting = count_of(
        HomeworkSubmission.id,
        of_homework,
        HomeworkSubmission.status == SubmissionStatus.SUBMITTED,
        parent=Homework,
    )
    return (
        select(Homework.id, Homework.text, Homework.due_date, files, submitted, waiting, *extra)
        .where(Homework.lesson_id == lesson_id)
        .order_by(Homework.id)
    )


def _brief(row: Any) -> HomeworkBrief:
    i, t, d, f, s, w = row[:6]
    return HomeworkBrief(i, t, d, int(f or 0), int(s or 0), int(w or 0))


async def homework_briefs(session: AsyncSession, lesson_id: int) -> list[HomeworkBrief]:
    rows = await session.execute(_briefs_query(lesson_id))
    return [_brief(row) for row in rows]


async def homework_with_files(
    session: AsyncSession, lesson_id: int
) -> tuple[list[HomeworkBrief], list[AttachmentView]]:
    """The lesson's homework briefs and the files of the latest one, in one statement."""
    attached = (
        select(json_rows(*AttachmentView.columns(HomeworkAttachment)))
        .where(HomeworkAttachment.homework_id == Homework.id)
        .correlate(Homework)
        .scalar_subquery()
    )
    rows = (await session.execute(_briefs_query(lesson_id, attached))).all()
    if not rows:
        return [], []
    files = sorted(map(AttachmentView.of, rows[-1][6] or []), key=lambda view: view.id)
    return [_brief(row) for row in rows], files


async def lesson_card(
    session: AsyncSession, actor: Actor, lesson_id: int, *, now: datetime | None = None
) -> LessonCard:
    """The lesson with topic, homework and the roster with marks (a fixed handful of queries)."""
    now = now or utcnow()
    ctx = await readable(session, actor, lesson_id)
    can_write = await can(session, actor, Action.WRITE_LESSON, lesson_id)
    return LessonCard(
        lesson=ctx,
        roster=await _roster(session, ctx),
        homework=await homework_briefs(session, lesson_id),
        values=keyboard_values(ctx.scale),
        today=local_date(now, ctx.zone),
        can_write=can_write,
        can_replace=await can(session, actor, Action.ASSIGN_REPLACEMENT, lesson_id),
        class_journal=await can(session, actor, Action.VIEW_CLASS_JOURNAL, ctx.class_id),
        closed=await period_closed(session, ctx),
    )


# --- one student in a lesson, one grade ------------------------------------------------------


@dataclass(frozen=True)
class CommentView:
    grade_id: int
    author: str
    text: str
    created_at: datetime


@dataclass
class StudentSheet:
    lesson: LessonContext
    line: RosterLine
    comments: list[CommentView]
    values: list[str]
    today: date
    can_write: bool
    class_journal: bool
    closed: bool

    @property
    def gradable(self) -> bool:
        return self.can_write and self.lesson.date <= self.today and not self.lesson.cancelled


async def _comments(session: AsyncSession, grade_ids: Sequence[int]) -> list[CommentView]:
    if not grade_ids:
        return []
    rows = await session.execute(
        select(Comment.grade_id, Account.full_name, Comment.text, Comment.created_at)
        .join(Account, Account.id == Comment.author_id)
        .where(Comment.grade_id.in_(grade_ids))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(10)
    )
    return [CommentView(g, a, t, c) for g, a, t, c in reversed(rows.all())]


async def student_sheet(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    student_id: int,
    *,
    now: datetime | None = None,
) -> StudentSheet:
    """A student in a lesson: attendance, this lesson's grades with comments and "Seen"."""
    now = now or utcnow()
    ctx = await readable(session, actor, lesson_id)
    lines = await _roster(session, ctx, student_id)
    if not lines:
        raise denied(Action.READ_LESSON, lesson_id)
    line = lines[0]
    closed = await period_closed(session, ctx)
    can_write = await grades_writable(session, actor, ctx, closed=closed)
    return StudentSheet(
        lesson=ctx,
        line=line,
        comments=await _comments(session, [m.id for m in line.marks]),
        values=keyboard_values(ctx.scale),
        today=local_date(now, ctx.zone),
        can_write=can_write,
        class_journal=await can(session, actor, Action.VIEW_CLASS_JOURNAL, ctx.class_id),
        closed=closed,
    )


@dataclass(frozen=True)
class SeenBy:
    name: str
    at: datetime


@dataclass
class GradeDetail:
    lesson: LessonContext
    student_id: int
    student_name: str
    mark: Mark
    author: str | None
    updated_at: datetime | None
    announce_at: datetime
    announced: bool
    seen_by: list[SeenBy]
    comments: list[CommentView]
    values: list[str]
    hold_choices: dict[int, date]
    can_write: bool
    closed: bool


async def grade_detail(
    session: AsyncSession,
    actor: Actor,
    grade_id: int,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> GradeDetail:
    """One grade: who gave it and when, whether the family was told, "Seen" and comments."""
    now = now or utcnow()
    ctx = await readable(session, actor, await grade_lesson(session, grade_id))
    row = (await session.execute(_mark_query(Grade.id == grade_id))).first()
    if row is None:
        raise DomainError("journal.grade_gone")
    grade, seen, comments = row
    names = (
        await session.execute(
            select(Student.full_name, Staff.full_name)
            .outerjoin(Staff, Staff.id == grade.author_id)
            .where(Student.id == grade.student_id)
        )
    ).one()
    seen_rows = await session.execute(
        select(Account.full_name, Acknowledgement.seen_at)
        .join(Account, Account.id == Acknowledgement.account_id)
        .where(Acknowledgement.grade_id == grade_id)
        .order_by(Acknowledgement.seen_at)
        .limit(10)
    )
    closed = await period_closed(session, ctx)
    can_write = await grades_writable(session, actor, ctx, closed=closed)
    due = announce_at(grade, grace, ctx.zone)
    return GradeDetail(
        lesson=ctx,
        student_id=grade.student_id,
        student_name=names[0],
        mark=_mark(grade, seen, comments),
        author=names[1],
        updated_at=grade.updated_at,
        announce_at=due,
        announced=now >= due,
        seen_by=[SeenBy(n, a) for n, a in seen_rows],
        comments=await _comments(session, [grade_id]),
        values=keyboard_values(ctx.scale),
        hold_choices=await hold_choices(session, ctx, local_date(now, ctx.zone)),
        can_write=can_write,
        closed=closed,
    )


# --- run-through ----------------------------------------------------------------------------


@dataclass
class RunStep:
    """One student of a run-through: grade with one tap, skip, or mark absent."""

    lesson: LessonContext
    line: RosterLine
    position: int
    total: int
    values: list[str]
    graded: int


async def run_step(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    *,
    after: int | None = None,
    current: int | None = None,
    now: datetime | None = None,
) -> RunStep | None:
    """The student to grade next: `current` itself, else the first present student after
    `after` (else from the top). None when the roster is done."""
    now = now or utcnow()
    ctx = await writable(session, actor, lesson_id)
    check_took_place(ctx, now)
    roster = await _roster(session, ctx)
    if current is not None:
        chosen = next((line for line in roster if line.student_id == current), None)
    else:
        start = 0
        if after is not None:
            start = next(
                (i + 1 for i, line in enumerate(roster) if line.student_id == after), len(roster)
            )
        chosen = next((line for line in roster[start:] if not line.away), None)
    if chosen is None:
        return None
    graded = sum(1 for line in roster if line.marks)
    return RunStep(ctx, chosen, chosen.number, len(roster), keyboard_values(ctx.scale), graded)
