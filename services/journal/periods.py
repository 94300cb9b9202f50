"""Period grades: proposed from the weighted average of the period's grades, confirmed or
overridden by the subject's teacher, and reporting periods closed by the head teacher or an
admin. Once a period is closed only they may change its grades, and only with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import PeriodKind, ScaleKind
from db.jsonrows import json_rows
from db.models import (
    AcademicYear,
    Enrollment,
    Grade,
    GradingScale,
    Period,
    PeriodGrade,
    SchoolClass,
    Student,
    TeachingAssignment,
)
from db.upsert import upsert
from services.core import audit, enrolment
from services.core.access import Action, can, denied, remember_assignment, require
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.grading import (
    InvalidGrade,
    ScaleSpec,
    keyboard_values,
    parse_grade,
    period_value,
)
from services.core.periods import PERIOD_COLUMNS
from services.journal.context import REASON_LIMIT, ReasonRequired, clean_text, forget_contexts
from services.journal.views import AssignmentItem, assignment_query


@dataclass(frozen=True)
class PeriodRef:
    id: int
    kind: PeriodKind
    number: int
    starts_on: date
    ends_on: date
    closed_at: datetime | None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @classmethod
    def of(cls, period: Period) -> PeriodRef:
        return cls(
            period.id,
            PeriodKind(period.kind),
            period.number,
            period.starts_on,
            period.ends_on,
            period.closed_at,
        )


@dataclass(frozen=True)
class PeriodLine:
    number: int
    student_id: int
    name: str
    average: float | None
    grades: int
    proposed: str | None
    value: str | None


@dataclass
class PeriodSheet:
    assignment: AssignmentItem
    period: PeriodRef
    periods: list[PeriodRef]
    lines: list[PeriodLine]
    scale: ScaleSpec
    choices: list[str]
    can_write: bool
    can_close: bool

    @property
    def unconfirmed(self) -> int:
        return sum(1 for line in self.lines if line.value is None and line.proposed is not None)

    @property
    def typed(self) -> bool:
        """Whether values beyond the keyboard can be typed (hundred-point scales)."""
        return self.scale.kind == ScaleKind.HUNDRED


def period_choices(spec: ScaleSpec) -> list[str]:
    """The values a period grade can take on a keyboard (no +/−; hundred-point by tens)."""
    values = [v for v in keyboard_values(spec) if v[-1] not in "+-"]
    if spec.kind == ScaleKind.HUNDRED:
        values = [v for v in values if int(v) % 10 == 0]
    return values


@dataclass(frozen=True)
class _Assignment:
    item: AssignmentItem
    scale: ScaleSpec
    year_id: int
    school_id: int
    #: the periods of its year, as `_periods` orders them
    periods: list[PeriodRef]


def _moment(value: str | None) -> datetime | None:
    """A UTC timestamp from `db.jsonrows` (SQLite keeps it without its offset)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _assignment(session: AsyncSession, actor: Actor, assignment_id: int) -> _Assignment:
    """The assignment with its year's periods, in one statement (which also tells the access
    policy who teaches it), if the actor may read it."""
    of_year = (
        select(json_rows(*PERIOD_COLUMNS)).where(Period.year_id == SchoolClass.year_id)
    ).scalar_subquery()
    row = (
        await session.execute(
            assignment_query(assignment_id, GradingScale, SchoolClass.year_id, of_year).join(
                GradingScale, GradingScale.id == TeachingAssignment.scale_id
            )
        )
    ).first()
    if row is None:
        raise denied(Action.READ_ASSIGNMENT, assignment_id)
    teacher_id, class_id, school_id = row[:3]
    remember_assignment(session, assignment_id, teacher_id, class_id, school_id)
    item = AssignmentItem.of(assignment_id, row, actor.staff_id)
    scale, year_id, found = row[5:]
    await require(session, actor, Action.READ_ASSIGNMENT, assignment_id)
    periods = [
        PeriodRef(
            i,
            PeriodKind(k),
            n,
            date.fromisoformat(starts),
            date.fromisoformat(ends),
            _moment(closed),
        )
        for i, k, n, starts, ends, closed in found
    ]
    periods.sort(key=lambda p: (p.kind == PeriodKind.YEAR, p.starts_on, p.number))
    return _Assignment(item, ScaleSpec.from_row(scale), year_id, school_id, periods)


def _default_period(periods: list[PeriodRef], today: date) -> PeriodRef:
    parts = [p for p in periods if p.kind != PeriodKind.YEAR] or periods
    current = [p for p in parts if p.starts_on <= today <= p.ends_on]
    if current:
        return current[0]
    started = [p for p in parts if p.starts_on <= today]
    return started[-1] if started else parts[0]


def _enrolled_in(class_id: int, period: PeriodRef) -> ColumnElement[bool]:
    """The class's students on any day of the period (`services.core.enrolment`)."""
    return and_(
        Enrollment.class_id == class_id,
        enrolment.covers_period(period.starts_on, period.ends_on),
    )


async def _lines(
    session: AsyncSession, a: _Assignment, period: PeriodRef, student_id: int | None = None
) -> list[PeriodLine]:
    """Students with their weighted average, proposal and set value (three queries)."""
    query = (
        select(Student.id, Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(_enrolled_in(a.item.class_id, period))
        .order_by(Student.full_name, Student.id)
    )
    students = (await session.execute(query)).all()
    averages = {
        sid: (float(total) / float(weights) if weights else None, int(count))
        for sid, total, weights, count in await session.execute(
            select(
                Grade.student_id,
                func.sum(Grade.score * Grade.weight),
                func.sum(Grade.weight),
                func.count(Grade.id),
            )
            .where(
                Grade.assignment_id == a.item.id,
                Grade.date >= period.starts_on,
                Grade.date <= period.ends_on,
                Grade.deleted_at.is_(None),
            )
            .group_by(Grade.student_id)
        )
    }
    rows = await session.execute(
        select(PeriodGrade.student_id, PeriodGrade.value).where(
            PeriodGrade.assignment_id == a.item.id, PeriodGrade.period_id == period.id
        )
    )
    values: dict[int, str | None] = {sid: value for sid, value in rows}  # noqa: C416
    lines = []
    for number, (sid, name) in enumerate(students, 1):
        if student_id is not None and sid != student_id:
            continue
        average, count = averages.get(sid, (None, 0))
        proposed = period_value(a.scale, average) if average is not None else None
        lines.append(PeriodLine(number, sid, name, average, count, proposed, values.get(sid)))
    return lines


async def _period(session: AsyncSession, a: _Assignment, period_id: int) -> PeriodRef:
    period = next((p for p in a.periods if p.id == period_id), None)
    if period is None:
        raise denied(Action.READ_ASSIGNMENT, period_id)
    return period


async def _may_write(
    session: AsyncSession, actor: Actor, a: _Assignment, period: PeriodRef
) -> bool:
    if period.closed:
        return await can(session, actor, Action.EDIT_CLOSED_PERIOD)
    return await can(session, actor, Action.WRITE_ASSIGNMENT, a.item.id)


async def period_sheet(
    session: AsyncSession,
    actor: Actor,
    assignment_id: int,
    period_id: int = 0,
    *,
    today: date,
) -> PeriodSheet:
    """A subject's period grades in a class: average, proposal and the set grade per student."""
    a = await _assignment(session, actor, assignment_id)
    periods = a.periods
    if not periods:
        raise DomainError("journal.no_periods")
    period = next((p for p in periods if p.id == period_id), None) or _default_period(
        periods, today
    )
    return PeriodSheet(
        assignment=a.item,
        period=period,
        periods=periods,
        lines=await _lines(session, a, period),
        scale=a.scale,
        choices=period_choices(a.scale),
        can_write=await _may_write(session, actor, a, period),
        can_close=not period.closed and await can(session, actor, Action.CLOSE_PERIOD),
    )


async def _write(
    session: AsyncSession,
    actor: Actor,
    a: _Assignment,
    period: PeriodRef,
    line: PeriodLine,
    value: str,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    """Set the student's period grade to `value` (over `line.value`) and record it in the
    audit trail."""
    values = {
        "proposed_value": line.proposed,
        "value": value,
        "set_by_id": actor.staff_id,
        "set_at": now,
    }
    stmt = (
        upsert(session, PeriodGrade)
        .values(student_id=line.student_id, assignment_id=a.item.id, period_id=period.id, **values)
        .on_conflict_do_update(
            index_elements=["student_id", "assignment_id", "period_id"], set_=values
        )
        .returning(PeriodGrade.id)
    )
    grade_id = int((await session.execute(stmt)).scalar_one())
    audit.record(
        session,
        actor,
        AuditAction.PERIOD_GRADE_SET,
        audit.Target(audit.PERIOD_GRADE, grade_id, student_id=line.student_id),
        at=now,
        old={"value": line.value} if line.value is not None else None,
        new={"value": value, "period_id": period.id, "assignment_id": a.item.id},
        reason=reason,
    )


async def confirm_proposed(
    session: AsyncSession,
    actor: Actor,
    assignment_id: int,
    period_id: int,
    *,
    now: datetime | None = None,
) -> int:
    """Set every student's period grade that is still empty to its proposal."""
    now = now or utcnow()
    a = await _assignment(session, actor, assignment_id)
    await require(session, actor, Action.WRITE_ASSIGNMENT, assignment_id)
    period = await _period(session, a, period_id)
    if period.closed:
        raise DomainError("journal.period_closed")
    count = 0
    for line in await _lines(session, a, period):
        if line.value is not None or line.proposed is None:
            continue
        await _write(session, actor, a, period, line, line.proposed, now)
        count += 1
    await session.commit()
    return count


async def set_period_grade(
    session: AsyncSession,
    actor: Actor,
    assignment_id: int,
    period_id: int,
    student_id: int,
    value: str | int,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> PeriodLine:
    """Confirm or override one student's period grade (a keyboard index or a typed value).

    In a closed period only a head teacher or admin may, with a reason.
    """
    now = now or utcnow()
    a = await _assignment(session, actor, assignment_id)
    period = await _period(session, a, period_id)
    reason = clean_text(reason, REASON_LIMIT)
    if period.closed:
        await require(session, actor, Action.EDIT_CLOSED_PERIOD)
        if not reason:
            raise ReasonRequired("journal.closed_period")
    else:
        await require(session, actor, Action.WRITE_ASSIGNMENT, assignment_id)
    lines = await _lines(session, a, period, student_id)
    if not lines:
        raise denied(Action.WRITE_ASSIGNMENT, assignment_id)
    line = lines[0]
    if isinstance(value, int):
        choices = period_choices(a.scale)
        if not 0 <= value < len(choices):
            raise DomainError("journal.invalid_value", value=str(value))
        value = choices[value]
    try:
        parsed = parse_grade(a.scale, value)
    except InvalidGrade:
        raise DomainError("journal.invalid_value", value=value[:20]) from None
    if parsed.value[-1] in "+-":
        raise DomainError("journal.invalid_value", value=parsed.value)
    if parsed.value != line.value:
        needs_reason = period.closed or line.value is not None
        await _write(
            session,
            actor,
            a,
            period,
            line,
            parsed.value,
            now,
            reason=reason if needs_reason else None,
        )
        await session.commit()
    return PeriodLine(
        line.number,
        line.student_id,
        line.name,
        line.average,
        line.grades,
        line.proposed,
        parsed.value,
    )


async def close_period(
    session: AsyncSession, actor: Actor, period_id: int, *, now: datetime | None = None
) -> PeriodRef:
    """Close a reporting period for the whole school (head teacher or admin)."""
    now = now or utcnow()
    await require(session, actor, Action.CLOSE_PERIOD)
    period = await session.scalar(
        select(Period)
        .join(AcademicYear, AcademicYear.id == Period.year_id)
        .where(Period.id == period_id, AcademicYear.school_id == actor.school_id)
        .with_for_update()
    )
    if period is None:
        raise denied(Action.CLOSE_PERIOD, period_id)
    if period.closed_at is None:
        period.closed_at = now
        period.closed_by_id = actor.account_id
        forget_contexts(session)
        audit.record(
            session,
            actor,
            AuditAction.PERIOD_CLOSE,
            audit.Target("period", period.id),
            at=now,
            new={"closed_at": now.isoformat()},
        )
        await session.commit()
    return PeriodRef.of(period)
