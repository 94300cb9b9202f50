"""The lesson itself: its topic, cancellation and a replacement teacher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    StaffRole,
)
from db.models import (
    Lesson,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    TeachingAssignment,
)
from services.core import audit
from services.core.access import Action, denied, require
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.journal.context import (
    LessonContext,
    clean_text,
    forget_context,
    readable,
    require_open,
    writable_open,
)
from services.journal.views import (
    generate_missing,
)

TOPIC_LIMIT = 500
REPLACEMENT_PAGE = 10


# --- the lesson itself: topic, cancellation, replacement ------------------------------------


async def set_topic(
    session: AsyncSession, actor: Actor, lesson_id: int, topic: str, *, now: datetime | None = None
) -> None:
    now = now or utcnow()
    ctx = await writable_open(session, actor, lesson_id)
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
    forget_context(session, lesson_id)
    audit.record(
        session,
        actor,
        action,
        audit.Target(audit.LESSON, lesson_id, lesson_id),
        at=now,
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
    ctx = await writable_open(session, actor, lesson_id)
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
    ctx = await readable(session, actor, lesson_id)
    school_classes = await session.scalars(
        select(SchoolClass.id).where(SchoolClass.year_id == ctx.year_id)
    )
    await generate_missing(session, list(school_classes), ctx.date, ctx.date)
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
    ctx = await readable(session, actor, lesson_id)
    await require_open(session, ctx)
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
