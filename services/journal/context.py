"""The lesson and its context: one query for everything a screen or a write needs to know,
the access and closed-period checks every read and write of the journal starts with, the
lesson lock, and the small helpers the journal's modules share.

`now` is UTC throughout the journal; dates are the school's local dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    Enrollment,
    Grade,
    GradingScale,
    Lesson,
    Period,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core import enrolment
from services.core.access import (
    Action,
    LessonFacts,
    can,
    denied,
    forget_lesson,
    lesson_facts_query,
    remember_lesson,
    require,
)
from services.core.actors import Actor
from services.core.errors import DomainError
from services.core.grading import (
    ScaleSpec,
)
from services.core.schooltime import local_date, zone_of

REASON_LIMIT = 500


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
    #: a closed reporting period covers the lesson's date (as the context was loaded)
    closed: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)


_Teacher = aliased(Staff)
_Replacement = aliased(Staff)


def _closed_period() -> Select[Any]:
    """A closed reporting period covering the lesson's date (correlated to the lesson)."""
    return select(Period.id).where(
        Period.year_id == SchoolClass.year_id,
        Period.starts_on <= Lesson.date,
        Period.ends_on >= Lesson.date,
        Period.closed_at.is_not(None),
    )


# A session serves one update: a lesson's context is read once in it, so the screen redrawn
# after a write (a grade, a mark) costs no second read. A write that changes what the context
# holds forgets it: the lesson's own fields (`forget_context`, with the policy's facts), a
# period closed (`forget_contexts`).
_CONTEXTS = "parta.lesson_contexts"


def _contexts(session: AsyncSession) -> dict[int, LessonContext]:
    contexts: dict[int, LessonContext] = session.info.setdefault(_CONTEXTS, {})
    return contexts


def forget_context(session: AsyncSession, lesson_id: int) -> None:
    """The lesson changed (topic, cancellation, replacement): read it again next time."""
    _contexts(session).pop(lesson_id, None)
    forget_lesson(session, lesson_id)


def forget_contexts(session: AsyncSession) -> None:
    """A period was closed (every lesson's `closed` may change): read them again."""
    _contexts(session).clear()


async def load_context(session: AsyncSession, lesson_id: int) -> LessonContext | None:
    """The lesson with its class, school, subject, scale, teachers and whether a closed period
    covers it: one statement (it also tells the access policy who teaches it), once per
    session (see `forget_context`)."""
    known = _contexts(session).get(lesson_id)
    if known is not None:
        return known
    row = (
        await session.execute(
            lesson_facts_query(
                Lesson,
                SchoolClass.name,
                SchoolClass.year_id,
                School.timezone,
                Subject.name,
                GradingScale,
                _Teacher.full_name,
                _Replacement.full_name,
                _closed_period().exists(),
            )
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
    facts = LessonFacts.of(row)
    lesson, class_name, year_id, tz, subject, scale, teacher, repl, closed = row[4:]
    remember_lesson(session, lesson.id, facts)
    context = _contexts(session)[lesson.id] = LessonContext(
        id=lesson.id,
        assignment_id=lesson.assignment_id,
        class_id=lesson.class_id,
        subject_id=lesson.subject_id,
        year_id=year_id,
        school_id=facts.school_id,
        date=lesson.date,
        lesson_number=lesson.lesson_number,
        starts_at=lesson.starts_at,
        ends_at=lesson.ends_at,
        room=lesson.room,
        topic=lesson.topic,
        cancelled=lesson.cancelled,
        cancel_reason=lesson.cancel_reason,
        teacher_id=facts.teacher_id,
        replacement_teacher_id=lesson.replacement_teacher_id,
        class_name=class_name,
        subject_name=subject,
        teacher_name=teacher,
        replacement_name=repl,
        timezone=tz,
        scale=ScaleSpec.from_row(scale),
        closed=bool(closed),
    )
    return context


async def _allowed(
    session: AsyncSession, actor: Actor, action: Action, lesson_id: int
) -> LessonContext:
    # the context first: it brings the facts the policy reads (`remember_lesson`), so the check
    # costs no statement; nothing of it leaves here unless the check passes
    ctx = await load_context(session, lesson_id)
    if ctx is None:
        raise denied(action, lesson_id)
    await require(session, actor, action, lesson_id)
    return ctx


async def readable(session: AsyncSession, actor: Actor, lesson_id: int) -> LessonContext:
    """The lesson's context if the actor may read it; refused otherwise."""
    return await _allowed(session, actor, Action.READ_LESSON, lesson_id)


async def writable(session: AsyncSession, actor: Actor, lesson_id: int) -> LessonContext:
    """The lesson's context if the actor may write it; refused otherwise."""
    return await _allowed(session, actor, Action.WRITE_LESSON, lesson_id)


async def period_closed(session: AsyncSession, ctx: LessonContext) -> bool:
    """Whether a closed reporting period covers the lesson's date (`LessonContext.closed`,
    read with the lesson: no statement)."""
    return ctx.closed


async def require_open(session: AsyncSession, ctx: LessonContext) -> None:
    """Refuse a write that feeds a closed period: attendance, the lesson's topic, cancellation
    and replacement, and its homework. Frozen for everyone once the period is closed (grades
    and period grades keep their own rule: the head teacher or an admin, with a reason).
    Call it after the access check, so a stranger learns nothing about the period."""
    if await period_closed(session, ctx):
        raise DomainError("journal.lesson_period_closed")


async def writable_open(session: AsyncSession, actor: Actor, lesson_id: int) -> LessonContext:
    """The lesson's context for a write that feeds a closed period (`require_open`): refused
    unless the actor may write the lesson and no closed period covers it."""
    ctx = await writable(session, actor, lesson_id)
    await require_open(session, ctx)
    return ctx


async def grades_writable(
    session: AsyncSession, actor: Actor, ctx: LessonContext, *, closed: bool
) -> bool:
    """Whether the screens offer the actor to write the lesson's grades: in a `closed` period
    only to those who may edit closed periods (`grade_access` enforces it on a write)."""
    if closed:
        return await can(session, actor, Action.EDIT_CLOSED_PERIOD)
    return await can(session, actor, Action.WRITE_LESSON, ctx.id)


class NoReasonNeeded(enum.Enum):
    """Grade writes a closed period allows without a reason: they change nothing the family
    was told (holding a grade back or releasing it; undoing inside the grace window)."""

    HOLD = enum.auto()
    UNDO = enum.auto()


async def grade_access(
    session: AsyncSession, actor: Actor, ctx: LessonContext, reason: str | NoReasonNeeded | None
) -> bool:
    """May the actor write grades of this lesson? Returns whether its period is closed.

    In a closed period only a head teacher or admin may, and only with a reason (or a write
    that needs none).
    """
    if not await period_closed(session, ctx):
        await require(session, actor, Action.WRITE_LESSON, ctx.id)
        return False
    if await can(session, actor, Action.EDIT_CLOSED_PERIOD):
        if not reason:
            raise ReasonRequired("journal.closed_period")
        return True
    if await can(session, actor, Action.WRITE_LESSON, ctx.id):
        raise DomainError("journal.period_closed")
    raise denied(Action.WRITE_LESSON, ctx.id)


async def lock_lesson(session: AsyncSession, lesson_id: int) -> None:
    """Serialize read-modify-write changes of one lesson until the transaction ends.

    A no-op UPDATE of the lesson row: a row lock on PostgreSQL, the write lock on SQLite. Two
    teachers tapping the same student at once then apply both taps, one after the other.
    """
    await session.execute(
        update(Lesson).where(Lesson.id == lesson_id).values(cancelled=Lesson.cancelled)
    )


def check_took_place(ctx: LessonContext, now: datetime) -> None:
    """Grades and attendance belong to lessons that took place."""
    if ctx.cancelled:
        raise DomainError("journal.lesson_cancelled")
    if ctx.date > local_date(now, ctx.zone):
        raise DomainError("journal.lesson_in_future")


def enrolled_on(class_id: int, day: date) -> Any:
    """The class's students on `day` (`services.core.enrolment`)."""
    return and_(Enrollment.class_id == class_id, enrolment.covers_day(day))


async def student_name(session: AsyncSession, ctx: LessonContext, student_id: int) -> str:
    """The name of a student of the lesson's class; a forged student id is refused."""
    name = await session.scalar(
        select(Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Student.id == student_id, enrolled_on(ctx.class_id, ctx.date))
    )
    if name is None:
        raise denied(Action.WRITE_LESSON, ctx.id)
    return name


def count_of(column: Any, *where: Any, parent: Any) -> Any:
    """A scalar subquery counting `column`'s rows that match `where`, correlated to `parent`
    (so one query lists parents with their counts)."""
    return select(func.count(column)).where(*where).correlate(parent).scalar_subquery()


def clean_text(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    if len(text) > limit:
        raise DomainError("journal.too_long", limit=limit)
    return text or None


async def grade_lesson(session: AsyncSession, grade_id: int) -> int:
    lesson_id = await session.scalar(select(Grade.lesson_id).where(Grade.id == grade_id))
    if lesson_id is None:
        raise denied(Action.READ_LESSON, grade_id)
    return lesson_id
