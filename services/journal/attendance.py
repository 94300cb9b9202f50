"""Attendance marks: one student, a tap cycling the mark, everyone present; absent and late
marks are announced to the family after the grace window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    AttendanceStatus,
)
from db.models import (
    Attendance,
    Enrollment,
)
from db.upsert import upsert
from services.core import audit
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.journal.context import (
    REASON_LIMIT,
    LessonContext,
    ReasonRequired,
    check_took_place,
    clean_text,
    enrolled_on,
    lock_lesson,
    require_open,
    student_name,
    writable,
    writable_open,
)
from services.notify import (
    DedupKey,
    NotificationEvent,
    cancel_pending,
    notify_family,
)

NOTIFIED_ATTENDANCE = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.LATE})
#: What a tap on a student in the attendance screen makes of their mark.
NEXT_STATUS: dict[AttendanceStatus | None, AttendanceStatus] = {
    None: AttendanceStatus.ABSENT,
    AttendanceStatus.PRESENT: AttendanceStatus.ABSENT,
    AttendanceStatus.ABSENT: AttendanceStatus.LATE,
    AttendanceStatus.LATE: AttendanceStatus.PRESENT,
    AttendanceStatus.EXCUSED: AttendanceStatus.PRESENT,
}


# --- attendance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceWrite:
    lesson_id: int
    student_id: int
    student_name: str
    status: AttendanceStatus | None
    old_status: AttendanceStatus | None


def attendance_snapshot(row: Attendance | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": AttendanceStatus(row.status).value,
        "minutes_late": row.minutes_late,
        "reason": row.reason,
    }


async def attendance_events(
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
            revive=True,
        )


async def _current_mark(
    session: AsyncSession, lesson_id: int, student_id: int
) -> Attendance | None:
    """The student's mark in the lesson as it is now (locked on PostgreSQL until the commit)."""
    return await session.scalar(
        select(Attendance)
        .where(Attendance.lesson_id == lesson_id, Attendance.student_id == student_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _write_attendance(
    session: AsyncSession,
    actor: Actor,
    ctx: LessonContext,
    student_id: int,
    row: Attendance | None,
    status: AttendanceStatus | None,
    *,
    reason: str | None,
    minutes_late: int | None,
    grace: timedelta,
    now: datetime,
    action: AuditAction | None = None,
) -> tuple[AttendanceStatus | None, AttendanceStatus | None]:
    """Upsert (or remove) one mark, `row` being the mark as it was (`_current_mark`), with
    its audit entry and events; no commit."""
    before = attendance_snapshot(row)
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
        if row is not None:  # the upsert changed it behind the session's back
            session.expire(row)
    if after == before:
        return old, status
    if action is None:
        first = before is None
        action = AuditAction.ATTENDANCE_CREATE if first else AuditAction.ATTENDANCE_UPDATE
    audit.record(
        session,
        actor,
        action,
        audit.Target(audit.ATTENDANCE, attendance_id, ctx.id, student_id),
        at=now,
        old=before,
        new=after,
        reason=reason if status == AttendanceStatus.EXCUSED else None,
    )
    await attendance_events(session, attendance_id, student_id, old, status, grace, now)
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
    ctx = await writable(session, actor, lesson_id)
    name = await student_name(session, ctx, student_id)
    await require_open(session, ctx)
    check_took_place(ctx, now)
    reason = clean_text(reason, REASON_LIMIT)
    await lock_lesson(session, ctx.id)
    row = await _current_mark(session, ctx.id, student_id)
    status = status_of(AttendanceStatus(row.status) if row is not None else None)
    if status == AttendanceStatus.EXCUSED and not reason:
        raise ReasonRequired("journal.excused")
    old, new = await _write_attendance(
        session,
        actor,
        ctx,
        student_id,
        row,
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
    ctx = await writable_open(session, actor, lesson_id)
    check_took_place(ctx, now)
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
            .where(enrolled_on(ctx.class_id, ctx.date), Attendance.id.is_(None))
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
            AuditAction.ATTENDANCE_BULK,
            audit.Target(audit.ATTENDANCE, attendance_id, ctx.id, student_id),
            at=now,
            new={"status": AttendanceStatus.PRESENT.value, "minutes_late": None, "reason": None},
        )
    await session.commit()
    return len(created)
