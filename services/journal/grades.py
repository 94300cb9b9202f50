"""Grade writes: give, change, delete and hold back a grade.

Notifications follow the outbox contract of `services.notify.recipients`: a new grade is announced
after the grace window (or at the start of the day it is held until); changing or deleting it
after that asks for a reason and tells the family "4 → 5, reason: …"; inside the window the
dispatcher simply reads the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    GradeKind,
)
from db.models import (
    Acknowledgement,
    Grade,
    Period,
    Student,
)
from services.core import audit
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.grading import (
    InvalidGrade,
    ParsedGrade,
    ScaleSpec,
    default_weight,
    keyboard_values,
    parse_grade,
)
from services.core.schooltime import local_date
from services.core.visibility import released_at
from services.journal.context import (
    REASON_LIMIT,
    LessonContext,
    NoReasonNeeded,
    ReasonRequired,
    check_took_place,
    clean_text,
    grade_access,
    grade_lesson,
    lock_lesson,
    readable,
    student_name,
)
from services.notify import (
    DedupKey,
    NotificationEvent,
    cancel_pending,
    notify_family,
    retime_pending,
)

DEFAULT_KIND = GradeKind.CLASSWORK
HOLD_WEEK, HOLD_TWO_WEEKS, HOLD_PERIOD_END = 1, 2, 3


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


async def hold_choices(session: AsyncSession, ctx: LessonContext, today: date) -> dict[int, date]:
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


def _written(
    grade: Grade,
    name: str,
    old_value: str | None,
    *,
    deleted: bool = False,
    hidden_until: date | None = None,
) -> GradeWrite:
    return GradeWrite(
        grade.id,
        grade.lesson_id,
        grade.student_id,
        name,
        grade.value,
        old_value,
        GradeKind(grade.kind),
        deleted=deleted,
        hidden_until=hidden_until,
    )


def grade_snapshot(grade: Grade) -> dict[str, Any]:
    return {
        "value": grade.value,
        "kind": GradeKind(grade.kind).value,
        "weight": grade.weight,
        "hidden_until": grade.hidden_until.isoformat() if grade.hidden_until else None,
        "deleted": grade.deleted_at is not None,
    }


def grade_entry(grade: Grade) -> audit.Target:
    """What the audit entries of `grade` are about (its lesson and student attached)."""
    return audit.Target(audit.GRADE, grade.id, grade.lesson_id, grade.student_id)


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
    ctx = await readable(session, actor, lesson_id)
    closed = await grade_access(session, actor, ctx, reason)
    name = await student_name(session, ctx, student_id)
    check_took_place(ctx, now)
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
        AuditAction.GRADE_CREATE,
        grade_entry(grade),
        at=now,
        new=grade_snapshot(grade),
        reason=clean_text(reason, REASON_LIMIT) if closed else None,
    )
    await _announce_new_grade(session, grade, ctx, grace, now)
    await session.commit()
    return _written(grade, name, None, hidden_until=hold_until)


async def _grade_for_write(
    session: AsyncSession, actor: Actor, grade_id: int, reason: str | NoReasonNeeded | None
) -> tuple[Grade, LessonContext, bool, str]:
    ctx = await readable(session, actor, await grade_lesson(session, grade_id))
    closed = await grade_access(session, actor, ctx, reason)
    await lock_lesson(session, ctx.id)
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


async def void_acknowledgements(session: AsyncSession, grade_id: int) -> None:
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
    before = grade_snapshot(grade)
    old_value = grade.value
    if parsed is not None:
        grade.value, grade.score = parsed.value, parsed.score
    if kind is not None:
        grade.kind = GradeKind(kind)
        grade.weight = default_weight(kind)
    after = grade_snapshot(grade)
    if after == before:
        return _written(grade, name, old_value)
    grade.updated_at = now
    if grade.value != old_value:
        await void_acknowledgements(session, grade.id)
    entry = audit.record(
        session,
        actor,
        AuditAction.GRADE_UPDATE,
        grade_entry(grade),
        at=now,
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
    return _written(grade, name, old_value)


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
    before = grade_snapshot(grade)
    grade.deleted_at = now
    grade.updated_at = now
    audit.record(
        session,
        actor,
        AuditAction.GRADE_DELETE,
        grade_entry(grade),
        at=now,
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
    return _written(grade, name, grade.value, deleted=True)


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
    before = grade_snapshot(grade)
    grade.hidden_until = until
    after = grade_snapshot(grade)
    if after != before:
        grade.updated_at = now
        audit.record(
            session,
            actor,
            AuditAction.GRADE_HOLD,
            grade_entry(grade),
            at=now,
            old=before,
            new=after,
        )
        due = max(announce_at(grade, grace, ctx.zone), now)
        await retime_pending(session, DedupKey.grade_new(grade.id), due)
    await session.commit()
    return _written(grade, name, grade.value, hidden_until=until)


async def hold_until(
    session: AsyncSession, actor: Actor, grade_id: int, choice: int, *, now: datetime | None = None
) -> date:
    """The date of a hold option (`HOLD_WEEK`, …) for this grade's lesson."""
    now = now or utcnow()
    ctx = await readable(session, actor, await grade_lesson(session, grade_id))
    choices = await hold_choices(session, ctx, local_date(now, ctx.zone))
    if choice not in choices:
        raise DomainError("journal.bad_date")
    return choices[choice]
