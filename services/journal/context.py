"""The teacher's journal: a day's lessons, the lesson card and its roster, grades, attendance,
homework and submissions, topic / cancellation / replacement, Undo, and the "unseen" list.

Every function takes the current `Actor` and asks `services.core.access` before it reads or writes
anything (a subject teacher writes their own and replaced lessons; a class teacher reads every
subject of their class; head teachers and admins read the school). A write commits its unit of
work — the change, its `AuditEntry` rows and its outbox rows — in one transaction before it
returns, so a handler can answer with the saved state.

Notifications follow the outbox contract of `services.notify.recipients`: a new grade is announced
after the grace window (or at the start of the day it is held until); changing or deleting it
after that asks for a reason and tells the family "4 → 5, reason: …"; inside the window the
dispatcher simply reads the current state. `now` is UTC; dates are the school's local dates.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.base import utcnow
from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    GradeKind,
    StaffRole,
    SubmissionStatus,
)
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    AuditEntry,
    Comment,
    Enrollment,
    Grade,
    GradingScale,
    Guardianship,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    Subject,
    SubmissionFile,
    TeachingAssignment,
)
from db.upsert import upsert
from services.core import audit, enrolment, links
from services.core.access import Action, can, denied, require
from services.core.actors import Actor, Role
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.files import NewFile
from services.core.grading import (
    InvalidGrade,
    ParsedGrade,
    ScaleSpec,
    default_weight,
    is_passing,
    keyboard_values,
    parse_grade,
)
from services.core.schooltime import local_date, zone_of
from services.core.timetable import generate_lessons
from services.core.visibility import family_visible, released_at
from services.notify import (
    DedupKey,
    NotificationEvent,
    cancel_pending,
    enqueue,
    notify_family,
    retime_pending,
    revive_cancelled,
)

DEFAULT_KIND = GradeKind.CLASSWORK
NOTIFIED_ATTENDANCE = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.LATE})
AWAY = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED})
#: What a tap on a student in the attendance screen makes of their mark.
NEXT_STATUS: dict[AttendanceStatus | None, AttendanceStatus] = {
    None: AttendanceStatus.ABSENT,
    AttendanceStatus.PRESENT: AttendanceStatus.ABSENT,
    AttendanceStatus.ABSENT: AttendanceStatus.LATE,
    AttendanceStatus.LATE: AttendanceStatus.PRESENT,
    AttendanceStatus.EXCUSED: AttendanceStatus.PRESENT,
}
HOLD_WEEK, HOLD_TWO_WEEKS, HOLD_PERIOD_END = 1, 2, 3
TOPIC_LIMIT = 500
TEXT_LIMIT = 3000
REASON_LIMIT = 500
REPLACEMENT_PAGE = 10
LESSONS_PAGE = 10
UNDO_LOOKBACK = 60

UNDOABLE = frozenset(
    {
        AuditAction.GRADE_CREATE,
        AuditAction.GRADE_UPDATE,
        AuditAction.GRADE_DELETE,
        AuditAction.GRADE_HOLD,
        AuditAction.ATTENDANCE_CREATE,
        AuditAction.ATTENDANCE_UPDATE,
        AuditAction.ATTENDANCE_BULK,
    }
)
UNDO_ACTIONS = frozenset({AuditAction.GRADE_UNDO, AuditAction.ATTENDANCE_UNDO})


class ReasonRequired(DomainError):
    """The change needs a reason: the grade was announced already, or its period is closed.

    Not a refusal but a question: the handlers catch it by type and ask the teacher for the
    reason, then try again with it (uncaught, it is shown like any journal error).
    """


# --- the lesson and its context -------------------------------------------------------------


@dataclass(frozen=True)
class LessonContext:
    """A lesson with everything a screen or a write needs to know about it (one query)."""

    id: int
    assignment_id: int
    class_id: int
    subject_id: int
    year_id: int
    school_id: int
    date: date
    lesson_number: int
    starts_at: time
    ends_at: time
    room: str | None
    topic: str | None
    cancelled: bool
    cancel_reason: str | None
    teacher_id: int
    replacement_teacher_id: int | None
    class_name: str
    subject_name: str
    teacher_name: str
    replacement_name: str | None
    timezone: str
    scale: ScaleSpec

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)


_Teacher = aliased(Staff)
_Replacement = aliased(Staff)


async def _context(session: AsyncSession, lesson_id: int) -> LessonContext | None:
    row = (
        await session.execute(
            select(
                Lesson,
                TeachingAssignment.teacher_id,
                SchoolClass.name,
                SchoolClass.year_id,
                SchoolClass.school_id,
                School.timezone,
                Subject.name,
                GradingScale,
                _Teacher.full_name,
                _Replacement.full_name,
            )
            .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
            .join(SchoolClass, SchoolClass.id == Lesson.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .join(Subject, Subject.id == Lesson.subject_id)
            .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
            .join(_Teacher, _Teacher.id == TeachingAssignment.teacher_id)
            .outerjoin(_Replacement, _Replacement.id == Lesson.replacement_teacher_id)
            .where(Lesson.id == lesson_id)
        )
    ).first()
    if row is None:
        return None
    lesson, teacher_id, class_name, year_id, school_id, tz, subject, scale, teacher, repl = row
    return LessonContext(
        id=lesson.id,
        assignment_id=lesson.assignment_id,
        class_id=lesson.class_id,
        subject_id=lesson.subject_id,
        year_id=year_id,
        school_id=school_id,
        date=lesson.date,
        lesson_number=lesson.lesson_number,
        starts_at=lesson.starts_at,
        ends_at=lesson.ends_at,
        room=lesson.room,
        topic=lesson.topic,
        cancelled=lesson.cancelled,
        cancel_reason=lesson.cancel_reason,
        teacher_id=teacher_id,
        replacement_teacher_id=lesson.replacement_teacher_id,
        class_name=class_name,
        subject_name=subject,
        teacher_name=teacher,
        replacement_name=repl,
        timezone=tz,
        scale=ScaleSpec.from_row(scale),
    )


async def _readable(session: AsyncSession, actor: Actor, lesson_id: int) -> LessonContext:
    await require(session, actor, Action.READ_LESSON, lesson_id)
    ctx = await _context(session, lesson_id)
    if ctx is None:
        raise denied(Action.READ_LESSON, lesson_id)
    return ctx


async def _writable(session: AsyncSession, actor: Actor, lesson_id: int) -> LessonContext:
    await require(session, actor, Action.WRITE_LESSON, lesson_id)
    ctx = await _context(session, lesson_id)
    if ctx is None:
        raise denied(Action.WRITE_LESSON, lesson_id)
    return ctx


async def _period_closed(session: AsyncSession, ctx: LessonContext) -> bool:
    """Whether a closed reporting period covers the lesson's date."""
    found = await session.scalar(
        select(Period.id)
        .where(
            Period.year_id == ctx.year_id,
            Period.starts_on <= ctx.date,
            Period.ends_on >= ctx.date,
            Period.closed_at.is_not(None),
        )
        .limit(1)
    )
    return found is not None


async def _require_open(session: AsyncSession, ctx: LessonContext) -> None:
    """Refuse a write that feeds a closed period: attendance, the lesson's topic, cancellation
    and replacement, and its homework. Frozen for everyone once the period is closed (grades
    and period grades keep their own rule: the head teacher or an admin, with a reason).
    Call it after the access check, so a stranger learns nothing about the period."""
    if await _period_closed(session, ctx):
        raise DomainError("journal.lesson_period_closed")


class NoReasonNeeded(enum.Enum):
    """Grade writes a closed period allows without a reason: they change nothing the family
    was told (holding a grade back or releasing it; undoing inside the grace window)."""

    HOLD = enum.auto()
    UNDO = enum.auto()


async def _grade_access(
    session: AsyncSession, actor: Actor, ctx: LessonContext, reason: str | NoReasonNeeded | None
) -> bool:
    """May the actor write grades of this lesson? Returns whether its period is closed.

    In a closed period only a head teacher or admin may, and only with a reason (or a write
    that needs none).
    """
    if not await _period_closed(session, ctx):
        await require(session, actor, Action.WRITE_LESSON, ctx.id)
        return False
    if await can(session, actor, Action.EDIT_CLOSED_PERIOD):
        if not reason:
            raise ReasonRequired("journal.closed_period")
        return True
    if await can(session, actor, Action.WRITE_LESSON, ctx.id):
        raise DomainError("journal.period_closed")
    raise denied(Action.WRITE_LESSON, ctx.id)


async def _lock_lesson(session: AsyncSession, lesson_id: int) -> None:
    """Serialize read-modify-write changes of one lesson until the transaction ends.

    A no-op UPDATE of the lesson row: a row lock on PostgreSQL, the write lock on SQLite. Two
    teachers tapping the same student at once then apply both taps, one after the other.
    """
    await session.execute(
        update(Lesson).where(Lesson.id == lesson_id).values(cancelled=Lesson.cancelled)
    )


def _check_took_place(ctx: LessonContext, now: datetime) -> None:
    """Grades and attendance belong to lessons that took place."""
    if ctx.cancelled:
        raise DomainError("journal.lesson_cancelled")
    if ctx.date > local_date(now, ctx.zone):
        raise DomainError("journal.lesson_in_future")


def _enrolled_on(class_id: int, day: date) -> Any:
    """The class's students on `day` (`services.core.enrolment`)."""
    return and_(Enrollment.class_id == class_id, enrolment.covers_day(day))


async def _student_name(session: AsyncSession, ctx: LessonContext, student_id: int) -> str:
    """The name of a student of the lesson's class; a forged student id is refused."""
    name = await session.scalar(
        select(Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Student.id == student_id, _enrolled_on(ctx.class_id, ctx.date))
    )
    if name is None:
        raise denied(Action.WRITE_LESSON, ctx.id)
    return name


def clean_text(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    if len(text) > limit:
        raise DomainError("journal.too_long", limit=limit)
    return text or None


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
    seen = (
        select(func.count(Acknowledgement.id))
        .where(Acknowledgement.grade_id == Grade.id)
        .correlate(Grade)
        .scalar_subquery()
    )
    comments = (
        select(func.count(Comment.id))
        .where(Comment.grade_id == Grade.id)
        .correlate(Grade)
        .scalar_subquery()
    )
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
        .where(_enrolled_on(ctx.class_id, ctx.date))
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


def _lesson_items_query() -> Any:
    has_homework = exists().where(Homework.lesson_id == Lesson.id)
    grades = (
        select(func.count(Grade.id))
        .where(Grade.lesson_id == Lesson.id, Grade.deleted_at.is_(None))
        .correlate(Lesson)
        .scalar_subquery()
    )
    return (
        select(
            Lesson,
            SchoolClass.name,
            Subject.name,
            TeachingAssignment.teacher_id,
            has_homework,
            grades,
        )
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(Subject, Subject.id == Lesson.subject_id)
    )


def _lesson_items(rows: Any, staff_id: int | None) -> list[LessonItem]:
    items = []
    for lesson, class_name, subject, teacher_id, homework, grades in rows:
        replacing = staff_id is not None and lesson.replacement_teacher_id == staff_id
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
                mine=staff_id is not None and (teacher_id == staff_id or replacing),
                homework=bool(homework),
                grades=int(grades or 0),
            )
        )
    return items


async def _generate(session: AsyncSession, class_ids: list[int], start: date, end: date) -> None:
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
        await _generate(session, [class_id], day, day)
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
        await _generate(session, taught, day, day)
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
    query = (
        select(SchoolClass.id, SchoolClass.name)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_current, SchoolClass.school_id == actor.school_id)
        .order_by(SchoolClass.grade_level, SchoolClass.name)
    )
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
    row = (
        await session.execute(
            select(
                TeachingAssignment.class_id,
                SchoolClass.name,
                Subject.name,
                TeachingAssignment.teacher_id,
            )
            .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.id == assignment_id)
        )
    ).one()
    item = AssignmentItem(assignment_id, row[0], row[1], row[2], row[3] == actor.staff_id)
    page = max(page, 0)
    if page == 0:
        await _generate(session, [item.class_id], today - timedelta(days=28), today)
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
class AttachmentView:
    id: int
    kind: AttachmentKind
    file_id: str
    file_name: str | None


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


async def _homework_briefs(session: AsyncSession, lesson_id: int) -> list[HomeworkBrief]:
    files = (
        select(func.count(HomeworkAttachment.id))
        .where(HomeworkAttachment.homework_id == Homework.id)
        .correlate(Homework)
        .scalar_subquery()
    )
    submitted = (
        select(func.count(HomeworkSubmission.id))
        .where(HomeworkSubmission.homework_id == Homework.id)
        .correlate(Homework)
        .scalar_subquery()
    )
    waiting = (
        select(func.count(HomeworkSubmission.id))
        .where(
            HomeworkSubmission.homework_id == Homework.id,
            HomeworkSubmission.status == SubmissionStatus.SUBMITTED,
        )
        .correlate(Homework)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Homework.id, Homework.text, Homework.due_date, files, submitted, waiting)
        .where(Homework.lesson_id == lesson_id)
        .order_by(Homework.id)
    )
    return [
        HomeworkBrief(i, t, d, int(f or 0), int(s or 0), int(w or 0)) for i, t, d, f, s, w in rows
    ]


async def lesson_card(
    session: AsyncSession, actor: Actor, lesson_id: int, *, now: datetime | None = None
) -> LessonCard:
    """The lesson with topic, homework and the roster with marks (a fixed handful of queries)."""
    now = now or utcnow()
    ctx = await _readable(session, actor, lesson_id)
    can_write = await can(session, actor, Action.WRITE_LESSON, lesson_id)
    return LessonCard(
        lesson=ctx,
        roster=await _roster(session, ctx),
        homework=await _homework_briefs(session, lesson_id),
        values=keyboard_values(ctx.scale),
        today=local_date(now, ctx.zone),
        can_write=can_write,
        can_replace=await can(session, actor, Action.ASSIGN_REPLACEMENT, lesson_id),
        class_journal=await can(session, actor, Action.VIEW_CLASS_JOURNAL, ctx.class_id),
        closed=await _period_closed(session, ctx),
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
    ctx = await _readable(session, actor, lesson_id)
    lines = await _roster(session, ctx, student_id)
    if not lines:
        raise denied(Action.READ_LESSON, lesson_id)
    line = lines[0]
    closed = await _period_closed(session, ctx)
    can_write = await can(session, actor, Action.WRITE_LESSON, lesson_id)
    if closed:
        can_write = await can(session, actor, Action.EDIT_CLOSED_PERIOD)
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


async def _grade_lesson(session: AsyncSession, grade_id: int) -> int:
    lesson_id = await session.scalar(select(Grade.lesson_id).where(Grade.id == grade_id))
    if lesson_id is None:
        raise denied(Action.READ_LESSON, grade_id)
    return lesson_id


def announce_at(grade: Grade, grace: timedelta, zone: ZoneInfo) -> datetime:
    """When the family hears of the grade: after the grace window, or when a held grade is
    released to them (`services.core.visibility`)."""
    due = grade.created_at + grace
    if grade.hidden_until is not None:
        due = max(due, released_at(grade.hidden_until, zone))
    return due


def _check_hold(ctx: LessonContext, until: date, now: datetime) -> None:
    """A grade is held back until a later day, within a year of its lesson."""
    if not local_date(now, ctx.zone) < until <= ctx.date + timedelta(days=366):
        raise DomainError("journal.bad_date")


async def _hold_choices(session: AsyncSession, ctx: LessonContext, today: date) -> dict[int, date]:
    choices = {HOLD_WEEK: today + timedelta(days=7), HOLD_TWO_WEEKS: today + timedelta(days=14)}
    period_end = await session.scalar(
        select(func.min(Period.ends_on)).where(
            Period.year_id == ctx.year_id,
            Period.starts_on <= today,
            Period.ends_on > today,
        )
    )
    if period_end is not None:
        choices[HOLD_PERIOD_END] = period_end
    return choices


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
    ctx = await _readable(session, actor, await _grade_lesson(session, grade_id))
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
    closed = await _period_closed(session, ctx)
    if closed:
        can_write = await can(session, actor, Action.EDIT_CLOSED_PERIOD)
    else:
        can_write = await can(session, actor, Action.WRITE_LESSON, ctx.id)
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
        hold_choices=await _hold_choices(session, ctx, local_date(now, ctx.zone)),
        can_write=can_write,
        closed=closed,
    )


# --- grade writes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeWrite:
    """What was saved, for the answer the teacher sees."""

    grade_id: int
    lesson_id: int
    student_id: int
    student_name: str
    value: str
    old_value: str | None
    kind: GradeKind
    deleted: bool = False
    hidden_until: date | None = None


def _snapshot(grade: Grade) -> dict[str, Any]:
    return {
        "value": grade.value,
        "kind": GradeKind(grade.kind).value,
        "weight": grade.weight,
        "hidden_until": grade.hidden_until.isoformat() if grade.hidden_until else None,
        "deleted": grade.deleted_at is not None,
    }


def _parse(spec: ScaleSpec, value: str | int) -> ParsedGrade:
    """A typed value, or the index of a keyboard value (`keyboard_values(spec)`)."""
    if isinstance(value, int):
        values = keyboard_values(spec)
        if not 0 <= value < len(values):
            raise DomainError("journal.invalid_value", value=str(value))
        value = values[value]
    try:
        return parse_grade(spec, value)
    except InvalidGrade:
        raise DomainError("journal.invalid_value", value=value[:20]) from None


async def _announce_new_grade(
    session: AsyncSession, grade: Grade, ctx: LessonContext, grace: timedelta, now: datetime
) -> None:
    due = announce_at(grade, grace, ctx.zone)
    await notify_family(
        session,
        student_id=grade.student_id,
        event=NotificationEvent.GRADE,
        payload={"grade_id": grade.id},
        dedup_key=DedupKey.grade_new(grade.id),
        delay=max(due - now, timedelta(0)),
        now=now,
    )


async def add_grade(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    student_id: int,
    value: str | int,
    kind: GradeKind = DEFAULT_KIND,
    *,
    grace: timedelta,
    now: datetime | None = None,
    reason: str | None = None,
    hold_until: date | None = None,
) -> GradeWrite:
    """Give a student a grade in a lesson (audited). The family hears after `grace`, or at
    the start of `hold_until` (school time) when the grade is held back until then."""
    now = now or utcnow()
    ctx = await _readable(session, actor, lesson_id)
    closed = await _grade_access(session, actor, ctx, reason)
    name = await _student_name(session, ctx, student_id)
    _check_took_place(ctx, now)
    if hold_until is not None:
        _check_hold(ctx, hold_until, now)
    parsed = _parse(ctx.scale, value)
    kind = GradeKind(kind)
    grade = Grade(
        student_id=student_id,
        lesson_id=ctx.id,
        assignment_id=ctx.assignment_id,
        subject_id=ctx.subject_id,
        date=ctx.date,
        value=parsed.value,
        score=parsed.score,
        weight=default_weight(kind),
        kind=kind,
        author_id=actor.staff_id,
        created_at=now,
        hidden_until=hold_until,
    )
    session.add(grade)
    await session.flush()
    audit.record(
        session,
        actor,
        action=AuditAction.GRADE_CREATE,
        entity=audit.GRADE,
        entity_id=grade.id,
        at=now,
        lesson_id=ctx.id,
        student_id=student_id,
        new=_snapshot(grade),
        reason=clean_text(reason, REASON_LIMIT) if closed else None,
    )
    await _announce_new_grade(session, grade, ctx, grace, now)
    await session.commit()
    return GradeWrite(
        grade.id, ctx.id, student_id, name, grade.value, None, kind, hidden_until=hold_until
    )


async def _grade_for_write(
    session: AsyncSession, actor: Actor, grade_id: int, reason: str | NoReasonNeeded | None
) -> tuple[Grade, LessonContext, bool, str]:
    ctx = await _readable(session, actor, await _grade_lesson(session, grade_id))
    closed = await _grade_access(session, actor, ctx, reason)
    await _lock_lesson(session, ctx.id)
    grade = await session.scalar(
        select(Grade)
        .where(Grade.id == grade_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if grade is None or grade.deleted_at is not None:
        raise DomainError("journal.grade_gone")
    name = await session.scalar(select(Student.full_name).where(Student.id == grade.student_id))
    return grade, ctx, closed, name or ""


async def _void_acknowledgements(session: AsyncSession, grade_id: int) -> None:
    """A family's "Seen" is for the value they were shown: once the value changes it no longer
    says anything, and the teacher must not see the corrected grade as seen. The family is
    told of the change (after the grace window) and can say "Seen" again."""
    await session.execute(delete(Acknowledgement).where(Acknowledgement.grade_id == grade_id))


async def change_grade(
    session: AsyncSession,
    actor: Actor,
    grade_id: int,
    *,
    value: str | int | None = None,
    kind: GradeKind | None = None,
    reason: str | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> GradeWrite:
    """Change a grade's value or kind. After the family was told, a reason is required and
    the family hears "old → new, reason"; before, they simply get the corrected grade."""
    now = now or utcnow()
    grade, ctx, closed, name = await _grade_for_write(session, actor, grade_id, reason)
    parsed = _parse(ctx.scale, value) if value is not None else None
    announced = now >= announce_at(grade, grace, ctx.zone)
    reason = clean_text(reason, REASON_LIMIT)
    if announced and not reason:
        raise ReasonRequired(
            "journal.announced", old=grade.value, new=parsed.value if parsed else grade.value
        )
    before = _snapshot(grade)
    old_value = grade.value
    if parsed is not None:
        grade.value, grade.score = parsed.value, parsed.score
    if kind is not None:
        grade.kind = GradeKind(kind)
        grade.weight = default_weight(kind)
    after = _snapshot(grade)
    if after == before:
        return GradeWrite(
            grade.id, ctx.id, grade.student_id, name, grade.value, old_value, grade.kind
        )
    grade.updated_at = now
    if grade.value != old_value:
        await _void_acknowledgements(session, grade.id)
    entry = audit.record(
        session,
        actor,
        action=AuditAction.GRADE_UPDATE,
        entity=audit.GRADE,
        entity_id=grade.id,
        at=now,
        lesson_id=ctx.id,
        student_id=grade.student_id,
        old=before,
        new=after,
        reason=reason if announced or closed else None,
    )
    await session.flush()
    if announced and grade.value != old_value:
        await notify_family(
            session,
            student_id=grade.student_id,
            event=NotificationEvent.GRADE_CHANGED,
            payload={
                "grade_id": grade.id,
                "old_value": old_value,
                "new_value": grade.value,
                "reason": reason,
            },
            dedup_key=DedupKey.grade_changed(grade.id, entry.id),
            now=now,
        )
    await session.commit()
    return GradeWrite(
        grade.id, ctx.id, grade.student_id, name, grade.value, old_value, GradeKind(grade.kind)
    )


async def delete_grade(
    session: AsyncSession,
    actor: Actor,
    grade_id: int,
    *,
    reason: str | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> GradeWrite:
    """Delete a grade (kept for the trail). Inside the grace window nothing is sent; after it
    a reason is required and the family hears that the grade was removed, and why."""
    now = now or utcnow()
    grade, ctx, closed, name = await _grade_for_write(session, actor, grade_id, reason)
    announced = now >= announce_at(grade, grace, ctx.zone)
    reason = clean_text(reason, REASON_LIMIT)
    if announced and not reason:
        raise ReasonRequired("journal.announced", old=grade.value)
    before = _snapshot(grade)
    grade.deleted_at = now
    grade.updated_at = now
    audit.record(
        session,
        actor,
        action=AuditAction.GRADE_DELETE,
        entity=audit.GRADE,
        entity_id=grade.id,
        at=now,
        lesson_id=ctx.id,
        student_id=grade.student_id,
        old=before,
        reason=reason if announced or closed else None,
    )
    if announced:
        await notify_family(
            session,
            student_id=grade.student_id,
            event=NotificationEvent.GRADE_DELETED,
            payload={"grade_id": grade.id, "old_value": grade.value, "reason": reason},
            dedup_key=DedupKey.grade_deleted(grade.id),
            now=now,
        )
    else:
        await cancel_pending(session, DedupKey.grade_new(grade.id))
    await session.commit()
    return GradeWrite(
        grade.id, ctx.id, grade.student_id, name, grade.value, grade.value, GradeKind(grade.kind),
        deleted=True,
    )  # fmt: skip


async def hold_grade(
    session: AsyncSession,
    actor: Actor,
    grade_id: int,
    until: date | None,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> GradeWrite:
    """Hold a grade back from the family until a date (`None` releases it now).

    Only a grade the family has not heard of yet can be held; its pending notification moves
    to the start of that day in the school's time zone.
    """
    now = now or utcnow()
    grade, ctx, _closed, name = await _grade_for_write(
        session, actor, grade_id, NoReasonNeeded.HOLD
    )
    if until is not None:
        _check_hold(ctx, until, now)
        if now >= announce_at(grade, grace, ctx.zone):
            raise DomainError("journal.already_announced")
    before = _snapshot(grade)
    grade.hidden_until = until
    after = _snapshot(grade)
    if after != before:
        grade.updated_at = now
        audit.record(
            session,
            actor,
            action=AuditAction.GRADE_HOLD,
            entity=audit.GRADE,
            entity_id=grade.id,
            at=now,
            lesson_id=ctx.id,
            student_id=grade.student_id,
            old=before,
            new=after,
        )
        due = max(announce_at(grade, grace, ctx.zone), now)
        await retime_pending(session, DedupKey.grade_new(grade.id), due)
    await session.commit()
    return GradeWrite(
        grade.id, ctx.id, grade.student_id, name, grade.value, grade.value, GradeKind(grade.kind),
        hidden_until=until,
    )  # fmt: skip


async def hold_until(
    session: AsyncSession, actor: Actor, grade_id: int, choice: int, *, now: datetime | None = None
) -> date:
    """The date of a hold option (`HOLD_WEEK`, …) for this grade's lesson."""
    now = now or utcnow()
    ctx = await _readable(session, actor, await _grade_lesson(session, grade_id))
    choices = await _hold_choices(session, ctx, local_date(now, ctx.zone))
    if choice not in choices:
        raise DomainError("journal.bad_date")
    return choices[choice]


# --- attendance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceWrite:
    lesson_id: int
    student_id: int
    student_name: str
    status: AttendanceStatus | None
    old_status: AttendanceStatus | None


def _att_snapshot(row: Attendance | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": AttendanceStatus(row.status).value,
        "minutes_late": row.minutes_late,
        "reason": row.reason,
    }


async def _attendance_events(
    session: AsyncSession,
    attendance_id: int,
    student_id: int,
    old: AttendanceStatus | None,
    new: AttendanceStatus | None,
    grace: timedelta,
    now: datetime,
) -> None:
    """Absent/late marks are announced after the grace window; a mark corrected inside it
    cancels its pending announcement (and marking it again revives it)."""
    if old == new:
        return
    if old in NOTIFIED_ATTENDANCE:
        await cancel_pending(session, DedupKey.attendance(attendance_id, old))
    if new in NOTIFIED_ATTENDANCE:
        assert new is not None
        await notify_family(
            session,
            student_id=student_id,
            event=NotificationEvent.ATTENDANCE,
            payload={"attendance_id": attendance_id, "status": new.value},
            dedup_key=DedupKey.attendance(attendance_id, new),
            delay=grace,
            now=now,
        )
        await revive_cancelled(session, DedupKey.attendance(attendance_id, new), now + grace)


async def _write_attendance(
    session: AsyncSession,
    actor: Actor,
    ctx: LessonContext,
    student_id: int,
    status: AttendanceStatus | None,
    *,
    reason: str | None,
    minutes_late: int | None,
    grace: timedelta,
    now: datetime,
    action: AuditAction | None = None,
) -> tuple[AttendanceStatus | None, AttendanceStatus | None]:
    """Upsert (or remove) one mark with its audit entry and events; no commit."""
    row = await session.scalar(
        select(Attendance)
        .where(Attendance.lesson_id == ctx.id, Attendance.student_id == student_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    before = _att_snapshot(row)
    old = AttendanceStatus(row.status) if row is not None else None
    if status is None:
        if row is None:
            return old, None
        attendance_id = row.id
        await session.execute(delete(Attendance).where(Attendance.id == row.id))
        after = None
    else:
        values = {
            "status": status,
            "minutes_late": minutes_late if status == AttendanceStatus.LATE else None,
            "reason": reason if status == AttendanceStatus.EXCUSED else None,
            "marked_by_id": actor.staff_id,
            "marked_at": now,
        }
        stmt = (
            upsert(session, Attendance)
            .values(lesson_id=ctx.id, student_id=student_id, **values)
            .on_conflict_do_update(index_elements=["lesson_id", "student_id"], set_=values)
            .returning(Attendance.id)
        )
        attendance_id = int((await session.execute(stmt)).scalar_one())
        after = {
            "status": status.value,
            "minutes_late": values["minutes_late"],
            "reason": values["reason"],
        }
        if row is not None:
            await session.refresh(row)
    if after == before:
        return old, status
    audit.record(
        session,
        actor,
        action=action
        or (AuditAction.ATTENDANCE_CREATE if before is None else AuditAction.ATTENDANCE_UPDATE),
        entity=audit.ATTENDANCE,
        entity_id=attendance_id,
        at=now,
        lesson_id=ctx.id,
        student_id=student_id,
        old=before,
        new=after,
        reason=reason if status == AttendanceStatus.EXCUSED else None,
    )
    await _attendance_events(session, attendance_id, student_id, old, status, grace, now)
    return old, status


async def set_attendance(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    student_id: int,
    status: AttendanceStatus | None,
    *,
    reason: str | None = None,
    minutes_late: int | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> AttendanceWrite:
    """Mark one student (`None` clears the mark); excused takes a reason."""
    return await _write_mark(
        session,
        actor,
        lesson_id,
        student_id,
        lambda _current: status,
        reason=reason,
        minutes_late=minutes_late,
        grace=grace,
        now=now,
    )


async def cycle_attendance(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    student_id: int,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> AttendanceWrite:
    """One tap on a student: present → absent → late → present (excused → present)."""
    return await _write_mark(
        session, actor, lesson_id, student_id, NEXT_STATUS.__getitem__, grace=grace, now=now
    )


async def _write_mark(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    student_id: int,
    status_of: Callable[[AttendanceStatus | None], AttendanceStatus | None],
    *,
    reason: str | None = None,
    minutes_late: int | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> AttendanceWrite:
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    name = await _student_name(session, ctx, student_id)
    await _require_open(session, ctx)
    _check_took_place(ctx, now)
    reason = clean_text(reason, REASON_LIMIT)
    await _lock_lesson(session, ctx.id)
    current = await session.scalar(
        select(Attendance.status).where(
            Attendance.lesson_id == ctx.id, Attendance.student_id == student_id
        )
    )
    status = status_of(AttendanceStatus(current) if current else None)
    if status == AttendanceStatus.EXCUSED and not reason:
        raise ReasonRequired("journal.excused")
    old, new = await _write_attendance(
        session,
        actor,
        ctx,
        student_id,
        status,
        reason=reason,
        minutes_late=minutes_late,
        grace=grace,
        now=now,
    )
    await session.commit()
    return AttendanceWrite(ctx.id, student_id, name, new, old)


async def mark_all_present(
    session: AsyncSession, actor: Actor, lesson_id: int, *, now: datetime | None = None
) -> int:
    """Write "present" for every student without a mark yet; returns how many were marked."""
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    await _require_open(session, ctx)
    _check_took_place(ctx, now)
    missing = list(
        await session.scalars(
            select(Enrollment.student_id)
            .outerjoin(
                Attendance,
                and_(
                    Attendance.student_id == Enrollment.student_id,
                    Attendance.lesson_id == ctx.id,
                ),
            )
            .where(_enrolled_on(ctx.class_id, ctx.date), Attendance.id.is_(None))
        )
    )
    if not missing:
        return 0
    rows = [
        {
            "lesson_id": ctx.id,
            "student_id": student_id,
            "status": AttendanceStatus.PRESENT,
            "marked_by_id": actor.staff_id,
            "marked_at": now,
        }
        for student_id in missing
    ]
    stmt = (
        upsert(session, Attendance)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["lesson_id", "student_id"])
        .returning(Attendance.id, Attendance.student_id)
    )
    created = (await session.execute(stmt)).all()
    for attendance_id, student_id in created:
        audit.record(
            session,
            actor,
            action=AuditAction.ATTENDANCE_BULK,
            entity=audit.ATTENDANCE,
            entity_id=attendance_id,
            at=now,
            lesson_id=ctx.id,
            student_id=student_id,
            new={"status": AttendanceStatus.PRESENT.value, "minutes_late": None, "reason": None},
        )
    await session.commit()
    return len(created)


# --- undo -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoResult:
    lesson_id: int
    student_id: int
    student_name: str
    entity: str
    action: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    count: int = 1


async def undo_last(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> UndoResult:
    """Undo the actor's last grade or attendance change in this lesson.

    A grade can be undone while the family has not heard of it (inside the grace window);
    after that it is edited or deleted with a reason. A change someone else has made since
    is never overwritten.
    """
    now = now or utcnow()
    ctx = await _readable(session, actor, lesson_id)
    await _lock_lesson(session, ctx.id)
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.lesson_id == lesson_id,
                AuditEntry.actor_id == actor.account_id,
                AuditEntry.action.in_(UNDOABLE | UNDO_ACTIONS),
            )
            .order_by(AuditEntry.id.desc())
            .limit(UNDO_LOOKBACK)
        )
    )
    undone = {
        int(e.new["undo_of"]) for e in entries if e.action in UNDO_ACTIONS and e.new is not None
    }
    target = next((e for e in entries if e.action in UNDOABLE and e.id not in undone), None)
    if target is None or target.student_id is None or target.entity_id is None:
        raise DomainError("journal.nothing_to_undo")
    name = await session.scalar(select(Student.full_name).where(Student.id == target.student_id))
    if target.entity == audit.GRADE:
        result = await _undo_grade(session, actor, ctx, target, grace, now)
    else:
        result = await _undo_attendance(session, actor, ctx, target, grace, now)
    await session.commit()
    return UndoResult(ctx.id, target.student_id, name or "", target.entity, target.action, *result)


async def _undo_grade(
    session: AsyncSession,
    actor: Actor,
    ctx: LessonContext,
    target: AuditEntry,
    grace: timedelta,
    now: datetime,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int]:
    await _grade_access(session, actor, ctx, NoReasonNeeded.UNDO)
    grade = await session.scalar(
        select(Grade).where(Grade.id == target.entity_id).with_for_update()
    )
    if grade is None:
        raise DomainError("journal.nothing_to_undo")
    current = _snapshot(grade)
    expected = target.new if target.new is not None else {**(target.old or {}), "deleted": True}
    if current != expected:
        raise DomainError("journal.changed_since")
    if now >= announce_at(grade, grace, ctx.zone):
        raise DomainError("journal.too_late_to_undo")
    restore = target.old
    announcement = DedupKey.grade_new(grade.id)
    if restore is None:  # undo a new grade: remove it
        grade.deleted_at = now
        await cancel_pending(session, announcement)
    else:
        parsed = parse_grade(ctx.scale, restore["value"])
        if parsed.value != grade.value:
            await _void_acknowledgements(session, grade.id)
        grade.value, grade.score = parsed.value, parsed.score
        grade.kind = GradeKind(restore["kind"])
        grade.weight = float(restore["weight"])
        held = restore.get("hidden_until")
        grade.hidden_until = date.fromisoformat(held) if held else None
        if restore.get("deleted"):
            grade.deleted_at = grade.deleted_at or now
        elif grade.deleted_at is not None:
            grade.deleted_at = None
            await revive_cancelled(session, announcement, now)
        await retime_pending(session, announcement, max(announce_at(grade, grace, ctx.zone), now))
    grade.updated_at = now
    after = _snapshot(grade)
    audit.record(
        session,
        actor,
        action=AuditAction.GRADE_UNDO,
        entity=audit.GRADE,
        entity_id=grade.id,
        at=now,
        lesson_id=ctx.id,
        student_id=grade.student_id,
        old=current,
        new={**after, "undo_of": target.id},
    )
    return current, after, 1


async def _undo_attendance(
    session: AsyncSession,
    actor: Actor,
    ctx: LessonContext,
    target: AuditEntry,
    grace: timedelta,
    now: datetime,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int]:
    await require(session, actor, Action.WRITE_LESSON, ctx.id)
    await _require_open(session, ctx)
    await _lock_lesson(session, ctx.id)
    batch = [target]
    if target.action == AuditAction.ATTENDANCE_BULK:
        batch = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.lesson_id == ctx.id,
                    AuditEntry.actor_id == actor.account_id,
                    AuditEntry.action == AuditAction.ATTENDANCE_BULK,
                    AuditEntry.at == target.at,
                )
            )
        )
    rows = {
        row.student_id: row
        for row in await session.scalars(
            select(Attendance)
            .where(
                Attendance.lesson_id == ctx.id,
                Attendance.student_id.in_([e.student_id for e in batch]),
            )
            .with_for_update()
        )
    }
    if any(_att_snapshot(rows.get(e.student_id or 0)) != e.new for e in batch):
        raise DomainError("journal.changed_since")
    for entry in batch:
        row = rows[entry.student_id or 0]
        old = AttendanceStatus(row.status)
        current = _att_snapshot(row)
        restore = entry.old
        new: AttendanceStatus | None = None
        if restore is None:
            await session.execute(delete(Attendance).where(Attendance.id == row.id))
        else:
            new = AttendanceStatus(restore["status"])
            row.status = new
            row.minutes_late = restore.get("minutes_late")
            row.reason = restore.get("reason")
            row.marked_by_id = actor.staff_id
            row.marked_at = now
        audit.record(
            session,
            actor,
            action=AuditAction.ATTENDANCE_UNDO,
            entity=audit.ATTENDANCE,
            entity_id=row.id,
            at=now,
            lesson_id=ctx.id,
            student_id=entry.student_id,
            old=current,
            new={**(restore or {"status": None}), "undo_of": entry.id},
        )
        await _attendance_events(session, row.id, row.student_id, old, new, grace, now)
    return target.new, target.old, len(batch)


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
    ctx = await _writable(session, actor, lesson_id)
    _check_took_place(ctx, now)
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


# --- homework and submissions ---------------------------------------------------------------


@dataclass
class HomeworkScreen:
    lesson: LessonContext
    homework: HomeworkBrief | None
    attachments: list[AttachmentView]
    due_choices: list[date]
    can_write: bool


async def _due_choices(session: AsyncSession, ctx: LessonContext) -> list[date]:
    """The dates of the next three lessons of this subject in this class."""
    start = ctx.date + timedelta(days=1)
    await _generate(session, [ctx.class_id], start, start + timedelta(days=20))
    dates = await session.scalars(
        select(Lesson.date)
        .where(
            Lesson.assignment_id == ctx.assignment_id,
            Lesson.date > ctx.date,
            Lesson.cancelled.is_(False),
        )
        .distinct()
        .order_by(Lesson.date)
        .limit(3)
    )
    return list(dates) or [ctx.date + timedelta(days=7)]


async def homework_screen(session: AsyncSession, actor: Actor, lesson_id: int) -> HomeworkScreen:
    """The lesson's homework with its files and submissions count, and due-date choices."""
    ctx = await _readable(session, actor, lesson_id)
    can_write = await can(session, actor, Action.WRITE_LESSON, lesson_id)
    can_write = can_write and not await _period_closed(session, ctx)  # see `_require_open`
    briefs = await _homework_briefs(session, lesson_id)
    homework = briefs[-1] if briefs else None
    files: list[AttachmentView] = []
    if homework is not None:
        rows = await session.execute(
            select(
                HomeworkAttachment.id,
                HomeworkAttachment.kind,
                HomeworkAttachment.file_id,
                HomeworkAttachment.file_name,
            )
            .where(HomeworkAttachment.homework_id == homework.id)
            .order_by(HomeworkAttachment.id)
        )
        files = [AttachmentView(i, AttachmentKind(k), f, n) for i, k, f, n in rows]
    choices = await _due_choices(session, ctx) if can_write else []
    return HomeworkScreen(ctx, homework, files, choices, can_write)


async def save_homework(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    *,
    text: str | None = None,
    attachments: Sequence[NewFile] = (),
    grace: timedelta,
    now: datetime | None = None,
) -> int:
    """Post the lesson's homework (text and files), or add to / rewrite the posted one.

    New homework is due on the next lesson of the subject and announced to every family of
    the class after the grace window. Returns the homework id.
    """
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    await _require_open(session, ctx)
    text = clean_text(text, TEXT_LIMIT)
    homework = await session.scalar(
        select(Homework).where(Homework.lesson_id == lesson_id).order_by(Homework.id.desc())
    )
    created = homework is None
    if homework is None:
        if not text and not attachments:
            raise DomainError("journal.empty_homework")
        due = (await _due_choices(session, ctx))[0]
        homework = Homework(
            lesson_id=ctx.id,
            class_id=ctx.class_id,
            subject_id=ctx.subject_id,
            due_date=due,
            text=text or "",
            created_by_id=actor.staff_id,
            created_at=now,
        )
        session.add(homework)
        await session.flush()
    elif text is not None:
        old_text = homework.text
        homework.text = text
        homework.updated_at = now
        audit.record(
            session,
            actor,
            action=AuditAction.HOMEWORK_UPDATE,
            entity=audit.HOMEWORK,
            entity_id=homework.id,
            at=now,
            lesson_id=ctx.id,
            old={"text": old_text},
            new={"text": text},
        )
    for item in attachments:
        session.add(
            HomeworkAttachment(
                homework_id=homework.id,
                kind=item.kind,
                file_id=item.file_id,
                file_unique_id=item.file_unique_id,
                file_name=item.file_name,
                mime_type=item.mime_type,
                file_size=item.file_size,
            )
        )
    if created:
        audit.record(
            session,
            actor,
            action=AuditAction.HOMEWORK_CREATE,
            entity=audit.HOMEWORK,
            entity_id=homework.id,
            at=now,
            lesson_id=ctx.id,
            new={"text": homework.text, "due_date": homework.due_date.isoformat()},
        )
        students = await session.scalars(
            select(Enrollment.student_id).where(_enrolled_on(ctx.class_id, ctx.date))
        )
        for student_id in students.all():
            await notify_family(
                session,
                student_id=student_id,
                event=NotificationEvent.HOMEWORK,
                payload={"homework_id": homework.id},
                dedup_key=DedupKey.homework(homework.id, student_id),
                delay=grace,
                now=now,
            )
    elif attachments:
        homework.updated_at = now
    await session.commit()
    return homework.id


async def set_due_date(
    session: AsyncSession, actor: Actor, lesson_id: int, due: date, *, now: datetime | None = None
) -> None:
    """Move the homework's due date (after the lesson, within two months)."""
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    await _require_open(session, ctx)
    if not ctx.date < due <= ctx.date + timedelta(days=60):
        raise DomainError("journal.bad_date")
    homework = await session.scalar(
        select(Homework).where(Homework.lesson_id == lesson_id).order_by(Homework.id.desc())
    )
    if homework is None:
        raise DomainError("journal.no_homework")
    if homework.due_date != due:
        audit.record(
            session,
            actor,
            action=AuditAction.HOMEWORK_DUE,
            entity=audit.HOMEWORK,
            entity_id=homework.id,
            at=now,
            lesson_id=ctx.id,
            old={"due_date": homework.due_date.isoformat()},
            new={"due_date": due.isoformat()},
        )
        homework.due_date = due
        homework.updated_at = now
        await session.commit()


@dataclass(frozen=True)
class SubmissionItem:
    id: int
    student_id: int
    student_name: str
    status: SubmissionStatus
    submitted_at: datetime
    files: int
    comment: str | None
    teacher_comment: str | None


@dataclass
class SubmissionList:
    lesson: LessonContext
    homework_id: int | None
    items: list[SubmissionItem]
    missing: list[str]


def _submission_query() -> Any:
    files = (
        select(func.count(SubmissionFile.id))
        .where(SubmissionFile.submission_id == HomeworkSubmission.id)
        .correlate(HomeworkSubmission)
        .scalar_subquery()
    )
    return select(HomeworkSubmission, Student.full_name, files).join(
        Student, Student.id == HomeworkSubmission.student_id
    )


def _submission_item(sub: HomeworkSubmission, name: str, files: int) -> SubmissionItem:
    return SubmissionItem(
        sub.id,
        sub.student_id,
        name,
        SubmissionStatus(sub.status),
        sub.submitted_at,
        int(files or 0),
        sub.comment,
        sub.teacher_comment,
    )


async def submissions(session: AsyncSession, actor: Actor, lesson_id: int) -> SubmissionList:
    """Who handed in the lesson's homework (waiting for review first) and who did not."""
    ctx = await _readable(session, actor, lesson_id)
    homework_id = await session.scalar(
        select(func.max(Homework.id)).where(Homework.lesson_id == lesson_id)
    )
    if homework_id is None:
        return SubmissionList(ctx, None, [], [])
    rows = await session.execute(
        _submission_query()
        .where(HomeworkSubmission.homework_id == homework_id)
        .order_by(HomeworkSubmission.submitted_at)
    )
    items = [_submission_item(s, n, f) for s, n, f in rows]
    order = {SubmissionStatus.SUBMITTED: 0, SubmissionStatus.RETURNED: 1}
    items.sort(key=lambda i: order.get(i.status, 2))
    handed = {i.student_id for i in items}
    roster = await session.execute(
        select(Student.id, Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(_enrolled_on(ctx.class_id, ctx.date))
        .order_by(Student.full_name)
    )
    missing = [name for sid, name in roster if sid not in handed]
    return SubmissionList(ctx, homework_id, items, missing)


@dataclass
class SubmissionDetail:
    lesson: LessonContext
    item: SubmissionItem
    files: list[AttachmentView]
    can_write: bool


async def _submission_lesson(session: AsyncSession, submission_id: int) -> int:
    lesson_id = await session.scalar(
        select(Homework.lesson_id)
        .join(HomeworkSubmission, HomeworkSubmission.homework_id == Homework.id)
        .where(HomeworkSubmission.id == submission_id)
    )
    if lesson_id is None:
        raise denied(Action.READ_LESSON, submission_id)
    return lesson_id


async def submission_detail(
    session: AsyncSession, actor: Actor, submission_id: int
) -> SubmissionDetail:
    """A submission with its files (the bot re-sends them by file_id)."""
    ctx = await _readable(session, actor, await _submission_lesson(session, submission_id))
    sub, name, count = (
        await session.execute(_submission_query().where(HomeworkSubmission.id == submission_id))
    ).one()
    rows = await session.execute(
        select(
            SubmissionFile.id, SubmissionFile.kind, SubmissionFile.file_id, SubmissionFile.file_name
        )
        .where(SubmissionFile.submission_id == submission_id)
        .order_by(SubmissionFile.id)
    )
    return SubmissionDetail(
        ctx,
        _submission_item(sub, name, count),
        [AttachmentView(i, AttachmentKind(k), f, n) for i, k, f, n in rows],
        await can(session, actor, Action.WRITE_LESSON, ctx.id),
    )


async def review_submission(
    session: AsyncSession,
    actor: Actor,
    submission_id: int,
    *,
    accept: bool,
    comment: str | None = None,
    now: datetime | None = None,
) -> SubmissionItem:
    """Accept a submission or return it with a comment; the student is told."""
    now = now or utcnow()
    lesson_id = await _submission_lesson(session, submission_id)
    await require(session, actor, Action.WRITE_LESSON, lesson_id)
    sub = await session.scalar(
        select(HomeworkSubmission).where(HomeworkSubmission.id == submission_id).with_for_update()
    )
    assert sub is not None
    comment = clean_text(comment, REASON_LIMIT)
    if not accept and not comment:
        raise ReasonRequired("journal.return_comment")
    old = {"status": SubmissionStatus(sub.status).value, "teacher_comment": sub.teacher_comment}
    sub.status = SubmissionStatus.ACCEPTED if accept else SubmissionStatus.RETURNED
    sub.teacher_comment = comment
    sub.reviewed_at = now
    sub.reviewed_by_id = actor.staff_id
    reviews = await session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == audit.SUBMISSION,
            AuditEntry.entity_id == sub.id,
            AuditEntry.action == AuditAction.SUBMISSION_REVIEW,
        )
    )
    audit.record(
        session,
        actor,
        action=AuditAction.SUBMISSION_REVIEW,
        entity=audit.SUBMISSION,
        entity_id=sub.id,
        at=now,
        lesson_id=lesson_id,
        student_id=sub.student_id,
        old=old,
        new={"status": sub.status.value, "teacher_comment": comment},
    )
    student_account = await session.scalar(
        select(Student.account_id).where(Student.id == sub.student_id)
    )
    if student_account is not None:
        await enqueue(
            session,
            account_ids=[student_account],
            event=NotificationEvent.SUBMISSION_REVIEWED,
            payload={"submission_id": sub.id, "student_id": sub.student_id},
            dedup_key=DedupKey.submission_reviewed(sub.id, int(reviews or 0) + 1),
            now=now,
        )
    await session.commit()
    row = (
        await session.execute(_submission_query().where(HomeworkSubmission.id == submission_id))
    ).one()
    return _submission_item(*row)


# --- the lesson itself: topic, cancellation, replacement ------------------------------------


async def set_topic(
    session: AsyncSession, actor: Actor, lesson_id: int, topic: str, *, now: datetime | None = None
) -> None:
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    await _require_open(session, ctx)
    cleaned = clean_text(topic, TOPIC_LIMIT)
    if cleaned == ctx.topic:
        return
    await _set_lesson_field(
        session, actor, lesson_id, AuditAction.LESSON_TOPIC, "topic", ctx.topic, cleaned, now
    )


async def _set_lesson_field(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    action: AuditAction,
    field: str,
    old: object,
    new: object,
    now: datetime,
) -> None:
    """Change one field of a lesson, audited (old → new), and commit."""
    await session.execute(update(Lesson).where(Lesson.id == lesson_id).values({field: new}))
    audit.record(
        session,
        actor,
        action=action,
        entity=audit.LESSON,
        entity_id=lesson_id,
        at=now,
        lesson_id=lesson_id,
        old={field: old},
        new={field: new},
    )
    await session.commit()


async def set_cancelled(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    cancelled: bool,
    *,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    ctx = await _writable(session, actor, lesson_id)
    await _require_open(session, ctx)
    if ctx.cancelled == cancelled:
        return
    action = AuditAction.LESSON_CANCEL if cancelled else AuditAction.LESSON_RESTORE
    await _set_lesson_field(
        session, actor, lesson_id, action, "cancelled", ctx.cancelled, cancelled, now
    )


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    busy: bool


@dataclass
class ReplacementPage:
    lesson: LessonContext
    candidates: list[Candidate]
    page: int
    has_more: bool


def _teachers_of(school_id: int) -> Any:
    return (
        select(Staff.id, Staff.full_name)
        .join(StaffRoleGrant, StaffRoleGrant.staff_id == Staff.id)
        .where(Staff.school_id == school_id, StaffRoleGrant.role == StaffRole.TEACHER)
    )


async def replacement_candidates(
    session: AsyncSession, actor: Actor, lesson_id: int, *, page: int = 0
) -> ReplacementPage:
    """The school's teachers who could take the lesson, those free at that hour first."""
    await require(session, actor, Action.ASSIGN_REPLACEMENT, lesson_id)
    ctx = await _readable(session, actor, lesson_id)
    school_classes = await session.scalars(
        select(SchoolClass.id).where(SchoolClass.year_id == ctx.year_id)
    )
    await _generate(session, list(school_classes), ctx.date, ctx.date)
    busy = set(
        await session.scalars(
            select(TeachingAssignment.teacher_id)
            .join(Lesson, Lesson.assignment_id == TeachingAssignment.id)
            .where(
                Lesson.date == ctx.date,
                Lesson.lesson_number == ctx.lesson_number,
                Lesson.cancelled.is_(False),
                Lesson.replacement_teacher_id.is_(None),
            )
        )
    )
    busy |= set(
        await session.scalars(
            select(Lesson.replacement_teacher_id).where(
                Lesson.date == ctx.date,
                Lesson.lesson_number == ctx.lesson_number,
                Lesson.replacement_teacher_id.is_not(None),
            )
        )
    )
    staff = [
        Candidate(sid, name, sid in busy)
        for sid, name in await session.execute(
            _teachers_of(ctx.school_id).where(Staff.id != ctx.teacher_id).order_by(Staff.full_name)
        )
    ]
    staff.sort(key=lambda c: c.busy)
    page = max(page, 0)
    chunk = staff[page * REPLACEMENT_PAGE : (page + 1) * REPLACEMENT_PAGE]
    return ReplacementPage(ctx, chunk, page, len(staff) > (page + 1) * REPLACEMENT_PAGE)


async def set_replacement(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    staff_id: int | None,
    *,
    now: datetime | None = None,
) -> None:
    """Give the lesson to a replacement teacher (who may then grade it), or take it back."""
    now = now or utcnow()
    await require(session, actor, Action.ASSIGN_REPLACEMENT, lesson_id)
    ctx = await _readable(session, actor, lesson_id)
    await _require_open(session, ctx)
    if staff_id is not None:
        valid = await session.scalar(_teachers_of(ctx.school_id).where(Staff.id == staff_id))
        if valid is None or staff_id == ctx.teacher_id:
            raise denied(Action.ASSIGN_REPLACEMENT, lesson_id)
    if staff_id == ctx.replacement_teacher_id:
        return
    await _set_lesson_field(
        session,
        actor,
        lesson_id,
        AuditAction.LESSON_REPLACEMENT,
        "replacement_teacher_id",
        ctx.replacement_teacher_id,
        staff_id,
        now,
    )


# --- what families have not seen ------------------------------------------------------------


@dataclass(frozen=True)
class UnseenGrade:
    grade_id: int
    date: date
    student_name: str
    subject_name: str
    value: str
    failing: bool
    linked: bool


@dataclass(frozen=True)
class Absence:
    date: date
    lesson_number: int
    student_name: str
    subject_name: str
    linked: bool


@dataclass
class UnseenReport:
    class_id: int
    class_name: str
    since: date
    failing: list[UnseenGrade]
    absences: list[Absence]
    other: list[UnseenGrade]
    other_total: int


async def unseen_report(
    session: AsyncSession,
    actor: Actor,
    class_id: int,
    *,
    today: date,
    days: int = 30,
    limit: int = 15,
) -> UnseenReport:
    """Grades of the class no guardian has marked "Seen" (failing ones first) and the
    unexcused absences of the last `days` days: who the class teacher should call."""
    await require(session, actor, Action.VIEW_CLASS_JOURNAL, class_id)
    class_name = await session.scalar(select(SchoolClass.name).where(SchoolClass.id == class_id))
    since = today - timedelta(days=days)
    linked = (
        exists()
        .where(Guardianship.student_id == Student.id, links.guardianship_active())
        .correlate(Student)
    )
    seen = exists().where(Acknowledgement.grade_id == Grade.id).correlate(Grade)
    rows = await session.execute(
        select(Grade, Student.full_name, Subject.name, GradingScale, linked)
        .join(Student, Student.id == Grade.student_id)
        .join(
            Enrollment, and_(Enrollment.student_id == Student.id, Enrollment.class_id == class_id)
        )
        .join(Subject, Subject.id == Grade.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(
            enrolment.covers_day(today),
            Grade.date >= since,
            family_visible(today),
            ~seen,
        )
        .order_by(Grade.date.desc(), Grade.id.desc())
        .limit(500)
    )
    failing: list[UnseenGrade] = []
    other: list[UnseenGrade] = []
    specs: dict[int, ScaleSpec] = {}
    for grade, name, subject, scale, has_guardian in rows:
        spec = specs.setdefault(scale.id, ScaleSpec.from_row(scale))
        try:
            bad = not is_passing(spec, grade.value)
        except InvalidGrade:
            bad = False
        item = UnseenGrade(
            grade.id, grade.date, name, subject, grade.value, bad, bool(has_guardian)
        )
        (failing if bad else other).append(item)
    absences = await session.execute(
        select(Lesson.date, Lesson.lesson_number, Student.full_name, Subject.name, linked)
        .join(Attendance, Attendance.lesson_id == Lesson.id)
        .join(Student, Student.id == Attendance.student_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(
            Lesson.class_id == class_id,
            Lesson.date >= since,
            Attendance.status == AttendanceStatus.ABSENT,
        )
        .order_by(Lesson.date.desc(), Lesson.lesson_number)
        .limit(limit)
    )
    return UnseenReport(
        class_id,
        class_name or "",
        since,
        failing[:limit],
        [Absence(d, n, s, subj, bool(ln)) for d, n, s, subj, ln in absences],
        other[: limit // 3 * 2],
        len(other),
    )
