"""The journal's audit trail: who changed a grade or an attendance mark, when, old → new, why.

Every journal write adds an `AuditEntry` in its own transaction (`record`). Entries carry the
lesson and the student they concern, so staff can read the trail of a lesson or of a student
(`lesson_trail`, `student_trail`: a class teacher for their class, head teachers and admins
for the school; a lesson's own teachers for their lesson). Entries are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import (
    Account,
    AuditEntry,
    Lesson,
    SchoolClass,
    Student,
    Subject,
)
from services.core import enrolment
from services.core.access import Action, denied, require
from services.core.actors import Actor


class AuditAction(StrEnum):
    """What an audit entry records. The values are what `audit_log.action` stores: never
    change one (the rows already written keep their meaning); add a member instead."""

    # the journal
    GRADE_CREATE = "grade.create"
    GRADE_UPDATE = "grade.update"
    GRADE_DELETE = "grade.delete"
    GRADE_HOLD = "grade.hold"  # held back from the family, or shown again
    GRADE_UNDO = "grade.undo"
    ATTENDANCE_CREATE = "attendance.create"
    ATTENDANCE_UPDATE = "attendance.update"
    ATTENDANCE_BULK = "attendance.bulk"  # "everyone present" for a lesson
    ATTENDANCE_UNDO = "attendance.undo"
    PERIOD_GRADE_SET = "period_grade.set"
    PERIOD_CLOSE = "period.close"
    LESSON_TOPIC = "lesson.topic"
    LESSON_CANCEL = "lesson.cancel"
    LESSON_RESTORE = "lesson.restore"
    LESSON_REPLACEMENT = "lesson.replacement"
    HOMEWORK_CREATE = "homework.create"
    HOMEWORK_UPDATE = "homework.update"
    HOMEWORK_DUE = "homework.due"
    SUBMISSION_REVIEW = "submission.review"
    # access codes, links and trusted persons
    CODES_ISSUE = "codes.issue"
    CODE_FAILED = "code.failed"
    CODE_ACCEPTED = "code.accepted"
    LINK_CODE = "link.code"
    LINK_PHONE_MATCH = "link.phone_match"
    LINK_REQUEST = "link.request"
    LINK_APPROVE = "link.approve"
    LINK_REJECT = "link.reject"
    GUARDIAN_UNLINK_SELF = "guardian.unlink_self"
    GUARDIAN_REVOKE = "guardian.revoke"
    TRUSTED_INVITE = "trusted.invite"
    TRUSTED_ACCEPT = "trusted.accept"
    TRUSTED_UPDATE = "trusted.update"
    TRUSTED_REVOKE = "trusted.revoke"
    # personal data
    PRIVACY_ERASE = "privacy.erase"
    # the school year
    YEAR_NEW = "year.new"  # a new school year started (services.people.newyear)
    # the school's roster
    ROSTER_IMPORT = "roster.import"  # an import applied; `new` holds its counts


GRADE = "grade"
ATTENDANCE = "attendance"
PERIOD_GRADE = "period_grade"
LESSON = "lesson"
HOMEWORK = "homework"
SUBMISSION = "submission"

PAGE_SIZE = 10


class Author(Protocol):
    """Who made a change: an `Actor`, or `By` where only the ids are known."""

    @property
    def account_id(self) -> int | None: ...

    @property
    def telegram_id(self) -> int | None: ...


@dataclass(frozen=True)
class By:
    """An author known by ids only (a code's issuer, a year's starter, an erased account)."""

    account_id: int | None
    telegram_id: int | None = None


class Change(TypedDict, total=False):
    """What an entry says changed: the details before and after, and the reason given."""

    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str | None


@dataclass(frozen=True)
class Target:
    """What an entry is about: the `entity` and its id, and the lesson and the student it
    concerns (the trails of a lesson and of a student read these)."""

    entity: str
    entity_id: int | None
    lesson_id: int | None = None
    student_id: int | None = None


def record(
    session: AsyncSession,
    by: Author,
    action: AuditAction,
    about: Target,
    *,
    at: datetime | None = None,
    **change: Unpack[Change],
) -> AuditEntry:
    """Add an entry to the session (flushed with the change it describes). `at` None: the
    column's default (the time of the flush)."""
    entry = AuditEntry(
        actor_id=by.account_id,
        telegram_id=by.telegram_id,
        action=action,
        entity=about.entity,
        entity_id=about.entity_id,
        lesson_id=about.lesson_id,
        student_id=about.student_id,
        **change,
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry


@dataclass(frozen=True)
class TrailLine:
    """One entry as staff read it."""

    id: int
    at: datetime
    who: str
    action: str  # an `AuditAction` value (compares equal to its member)
    entity: str
    student: str | None
    subject: str | None
    lesson_date: date | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str | None


@dataclass(frozen=True)
class Trail:
    """A page of the trail of one lesson (`lesson_id`) or one student (`student_id`)."""

    lesson_id: int
    student_id: int
    class_name: str | None
    subject_name: str | None
    lesson_date: date | None
    student_name: str | None
    lines: list[TrailLine]
    page: int
    has_more: bool


async def _lines(session: AsyncSession, where: Any, page: int) -> tuple[list[TrailLine], bool]:
    rows = await session.execute(
        select(
            AuditEntry,
            Account.full_name,
            Student.full_name,
            Subject.name,
            Lesson.date,
        )
        .outerjoin(Account, Account.id == AuditEntry.actor_id)
        .outerjoin(Student, Student.id == AuditEntry.student_id)
        .outerjoin(Lesson, Lesson.id == AuditEntry.lesson_id)
        .outerjoin(Subject, Subject.id == Lesson.subject_id)
        .where(where)
        .order_by(AuditEntry.id.desc())
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    lines = [
        TrailLine(
            entry.id,
            entry.at,
            who or "—",
            entry.action,
            entry.entity,
            student,
            subject,
            lesson_date,
            entry.old,
            entry.new,
            entry.reason,
        )
        for entry, who, student, subject, lesson_date in rows
    ]
    return lines[:PAGE_SIZE], len(lines) > PAGE_SIZE


async def lesson_trail(
    session: AsyncSession, actor: Actor, lesson_id: int, *, page: int = 0
) -> Trail:
    """The changes made in one lesson, newest first (its teachers, class teacher, head)."""
    await require(session, actor, Action.READ_LESSON, lesson_id)
    row = (
        await session.execute(
            select(SchoolClass.name, Subject.name, Lesson.date)
            .join(SchoolClass, SchoolClass.id == Lesson.class_id)
            .join(Subject, Subject.id == Lesson.subject_id)
            .where(Lesson.id == lesson_id)
        )
    ).one()
    page = max(page, 0)
    lines, more = await _lines(session, AuditEntry.lesson_id == lesson_id, page)
    return Trail(lesson_id, 0, row[0], row[1], row[2], None, lines, page, more)


async def student_class(
    session: AsyncSession, student_id: int, *, now: datetime | None = None
) -> int | None:
    """The student's current class (`services.core.enrolment`; None when they are in none)."""
    stay = await enrolment.current_class(session, student_id, now=now or utcnow())
    return stay.class_id if stay is not None else None


async def student_trail(
    session: AsyncSession, actor: Actor, student_id: int, *, page: int = 0
) -> Trail:
    """Every journal change about one student (class teacher, head teacher, admin)."""
    class_id = await student_class(session, student_id)
    if class_id is None:
        raise denied(Action.VIEW_CLASS_JOURNAL, student_id)
    await require(session, actor, Action.VIEW_CLASS_JOURNAL, class_id)
    name = await session.scalar(select(Student.full_name).where(Student.id == student_id))
    page = max(page, 0)
    lines, more = await _lines(session, AuditEntry.student_id == student_id, page)
    return Trail(0, student_id, None, None, None, name or "", lines, page, more)
