"""Undo of the actor's last grade or attendance change in a lesson."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    AttendanceStatus,
    GradeKind,
)
from db.models import (
    Attendance,
    AuditEntry,
    Grade,
    Student,
)
from services.core import audit
from services.core.access import Action, require
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.grading import (
    parse_grade,
)
from services.journal.attendance import (
    attendance_events,
    attendance_snapshot,
)
from services.journal.context import (
    LessonContext,
    NoReasonNeeded,
    grade_access,
    lock_lesson,
    readable,
    require_open,
)
from services.journal.grades import (
    announce_at,
    grade_entry,
    grade_snapshot,
    void_acknowledgements,
)
from services.notify import (
    DedupKey,
    cancel_pending,
    retime_pending,
    revive_cancelled,
)

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
    ctx = await readable(session, actor, lesson_id)
    await lock_lesson(session, ctx.id)
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
    await grade_access(session, actor, ctx, NoReasonNeeded.UNDO)
    grade = await session.scalar(
        select(Grade).where(Grade.id == target.entity_id).with_for_update()
    )
    if grade is None:
        raise DomainError("journal.nothing_to_undo")
    current = grade_snapshot(grade)
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
            await void_acknowledgements(session, grade.id)
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
    after = grade_snapshot(grade)
    audit.record(
        session,
        actor,
        AuditAction.GRADE_UNDO,
        grade_entry(grade),
        at=now,
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
    await require_open(session, ctx)
    await lock_lesson(session, ctx.id)
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
    if any(attendance_snapshot(rows.get(e.student_id or 0)) != e.new for e in batch):
        raise DomainError("journal.changed_since")
    for entry in batch:
        row = rows[entry.student_id or 0]
        old = AttendanceStatus(row.status)
        current = attendance_snapshot(row)
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
            AuditAction.ATTENDANCE_UNDO,
            audit.Target(audit.ATTENDANCE, row.id, ctx.id, entry.student_id),
            at=now,
            old=current,
            new={**(restore or {"status": None}), "undo_of": entry.id},
        )
        await attendance_events(session, row.id, row.student_id, old, new, grace, now)
    return target.new, target.old, len(batch)
