"""Grades as families see them: per subject in a period with averages, predicted and period
grades, what is new since the last visit, the school years to choose from, and the calculator
("what do I need for the next period grade").

Families never see deleted grades nor grades a teacher holds back
(`services.core.visibility.family_visible`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, cast, literal, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    GradeKind,
    ScaleKind,
)
from db.models import (
    AcademicYear,
    Enrollment,
    Grade,
    GradesSeen,
    GradingScale,
    PeriodGrade,
    SchoolClass,
    Student,
    Subject,
    TeachingAssignment,
)
from db.upsert import upsert
from services.core.access import Action, denied, require
from services.core.actors import Actor, Role
from services.core.grading import (
    ScaleSpec,
    display_value,
    grades_needed,
    period_value,
    threshold_for,
    weighted_average,
)
from services.core.visibility import family_visible
from services.diary.child import YEAR_COLUMNS, Child, YearInfo, open_child
from services.diary.periods import PeriodInfo, open_period

TABLE_NAME_WIDTH = 13


@dataclass(frozen=True)
class GradeItem:
    id: int
    subject_id: int
    subject: str
    lesson_id: int
    date: date
    value: str
    score: float
    kind: GradeKind
    weight: float
    comment: str | None
    is_new: bool = False
    edited: bool = False


_SCALE_COLUMNS = (
    GradingScale.kind.label("scale_kind"),
    GradingScale.min_score,
    GradingScale.max_score,
    GradingScale.pass_score,
    GradingScale.allow_modifiers,
)


def _scale(row: Any) -> ScaleSpec:
    """The scale of a row selected with `_SCALE_COLUMNS`."""
    return ScaleSpec(
        ScaleKind(row.scale_kind), row.min_score, row.max_score, row.pass_score, row.allow_modifiers
    )


@functools.cache
def _grades_statement(one_subject: bool) -> Any:
    """`_grade_rows`' statement, built once per variant with bound parameters
    (``student_id``, ``start``, ``end``, ``today``, and ``subject_id`` for one subject): every
    day, week and grades screen runs it."""
    today: Any = bindparam("today")
    query = (
        select(
            Grade.id,
            Grade.subject_id,
            Subject.name.label("subject"),
            Grade.lesson_id,
            Grade.date,
            Grade.value,
            Grade.score,
            Grade.weight,
            Grade.kind,
            Grade.comment,
            Grade.created_at,
            Grade.updated_at,
            *_SCALE_COLUMNS,
        )
        .join(Subject, Subject.id == Grade.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(
            Grade.student_id == bindparam("student_id"),
            Grade.date >= bindparam("start"),
            Grade.date <= bindparam("end"),
            family_visible(today),
        )
        .order_by(Grade.date, Grade.id)
    )
    if one_subject:
        query = query.where(Grade.subject_id == bindparam("subject_id"))
    return query


async def _grade_rows(
    session: AsyncSession,
    child: Child,
    start: date,
    end: date,
    *,
    subject_id: int | None = None,
) -> Sequence[Any]:
    """The student's grades from `start` to `end` the family may see today (of one subject)."""
    params: dict[str, Any] = {
        "student_id": child.student_id,
        "start": start,
        "end": end,
        "today": child.today,
    }
    if subject_id is not None:
        params["subject_id"] = subject_id
    result = await session.execute(_grades_statement(subject_id is not None), params)
    rows: Sequence[Any] = result.all()
    return rows


def _grade_item(row: Any, seen_at: datetime | None = None) -> GradeItem:
    changed = row.updated_at or row.created_at
    return GradeItem(
        id=row.id,
        subject_id=row.subject_id,
        subject=row.subject,
        lesson_id=row.lesson_id,
        date=row.date,
        value=display_value(row.value),
        score=float(row.score),
        kind=GradeKind(row.kind),
        weight=float(row.weight),
        comment=row.comment,
        is_new=seen_at is not None and changed is not None and changed > seen_at,
        edited=row.updated_at is not None,
    )


@dataclass(frozen=True)
class SubjectGrades:
    subject_id: int
    name: str
    label: str  # the name fitted to the summary table's column
    short_name: str
    scale: ScaleSpec
    grades: list[GradeItem]
    average: float | None
    predicted: str | None
    proposed: str | None = None
    final: str | None = None

    @property
    def new_count(self) -> int:
        return sum(1 for g in self.grades if g.is_new)

    @property
    def pass_fail(self) -> bool:
        return self.scale.kind == ScaleKind.PASS_FAIL


def fit_name(name: str, short_name: str, width: int = TABLE_NAME_WIDTH) -> str:
    """A subject name for a fixed-width column: the name, else the short name, else cut."""
    for candidate in (name.strip(), short_name.strip()):
        if candidate and len(candidate) <= width:
            return candidate
    base = (short_name.strip() or name.strip()) or "?"
    return base if len(base) <= width else base[: width - 1] + "…"


@dataclass(frozen=True)
class GradesView:
    child: Child
    periods: list[PeriodInfo]
    period: PeriodInfo
    subjects: list[SubjectGrades]
    subject: SubjectGrades | None  # the subject opened, None on the summary

    @property
    def period_over(self) -> bool:
        return self.period.is_over(self.child.today)

    @property
    def new_count(self) -> int:
        return sum(s.new_count for s in self.subjects)


async def _seen_threshold(
    session: AsyncSession, actor: Actor, child: Child, *, entry: bool, now: datetime
) -> datetime | None:
    """Grades changed after this are "new". Entering the grades moves the mark (one upsert);
    navigating inside them only reads it."""
    if actor.account_id is None:
        return None
    if not entry and child.preloaded.has_seen:
        return child.preloaded.seen_at
    if not entry:
        return await session.scalar(
            select(GradesSeen.seen_at).where(
                GradesSeen.account_id == actor.account_id,
                GradesSeen.student_id == child.student_id,
            )
        )
    stmt = upsert(session, GradesSeen).values(
        account_id=actor.account_id, student_id=child.student_id, seen_at=None, opened_at=now
    )
    previous: datetime | None = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[GradesSeen.account_id, GradesSeen.student_id],
            set_={"seen_at": GradesSeen.opened_at, "opened_at": stmt.excluded.opened_at},
        ).returning(GradesSeen.seen_at)
    )
    return previous


async def subject_summaries(
    session: AsyncSession,
    child: Child,
    period: PeriodInfo,
    *,
    seen_at: datetime | None = None,
    subject_id: int | None = None,
) -> list[SubjectGrades]:
    """Every subject of the class in the period with its grades, weighted average, predicted
    and period grades. Two statements whatever the number of grades."""
    if child.class_id is None:
        return []
    # one statement: the class's assignments (kind 0, by subject name) and, with a period,
    # the student's period grades in it (kind 1)
    assigned_rows = select(
        literal(0).label("row_kind"),
        TeachingAssignment.id.label("assignment_id"),
        TeachingAssignment.subject_id,
        Subject.name,
        Subject.short_name,
        *_SCALE_COLUMNS,
        cast(null(), PeriodGrade.proposed_value.type).label("proposed"),
        cast(null(), PeriodGrade.value.type).label("final"),
    ).select_from(TeachingAssignment).join(
        Subject, Subject.id == TeachingAssignment.subject_id
    ).join(GradingScale, GradingScale.id == TeachingAssignment.scale_id).where(
        TeachingAssignment.class_id == child.class_id
    )  # fmt: skip
    branches: list[Any] = [assigned_rows]
    if period.id:
        branches.append(
            select(
                literal(1),
                TeachingAssignment.id,
                TeachingAssignment.subject_id,
                *(cast(null(), c.type) for c in (Subject.name, Subject.short_name)),
                *(cast(null(), c.type) for c in _SCALE_COLUMNS),
                PeriodGrade.proposed_value,
                PeriodGrade.value,
            )
            .join(TeachingAssignment, TeachingAssignment.id == PeriodGrade.assignment_id)
            .where(PeriodGrade.student_id == child.student_id, PeriodGrade.period_id == period.id)
        )
    listed = (
        await session.execute(
            union_all(*branches).order_by(
                literal_column("row_kind"), literal_column("name"), literal_column("assignment_id")
            )
        )
    ).all()
    subjects: dict[int, tuple[str, str, ScaleSpec]] = {}
    finals: dict[int, tuple[str | None, str | None]] = {}
    for listed_row in listed:
        if listed_row.row_kind == 1:
            finals[listed_row.subject_id] = (listed_row.proposed, listed_row.final)
        elif listed_row.subject_id not in subjects:
            subjects[listed_row.subject_id] = (
                listed_row.name,
                listed_row.short_name,
                _scale(listed_row),
            )
    rows = await _grade_rows(
        session, child, period.starts_on, period.ends_on, subject_id=subject_id
    )
    by_subject: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_subject[row.subject_id].append(row)
        if row.subject_id not in subjects:  # graded in a subject no longer assigned
            subjects[row.subject_id] = (row.subject, row.subject, _scale(row))
    result = []
    for sid, (name, short, spec) in sorted(subjects.items(), key=lambda x: x[1][0].lower()):
        if subject_id is not None and sid != subject_id:
            continue
        graded = by_subject.get(sid, [])
        average = weighted_average((float(r.score), float(r.weight)) for r in graded)
        proposed, final = finals.get(sid, (None, None))
        result.append(
            SubjectGrades(
                subject_id=sid,
                name=name,
                label=fit_name(name, short),
                short_name=short or name,
                scale=spec,
                grades=[_grade_item(r, seen_at) for r in graded],
                average=average,
                predicted=period_value(spec, average) if average is not None else None,
                proposed=display_value(proposed) if proposed else None,
                final=display_value(final) if final else None,
            )
        )
    return result


async def grades_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    period_id: int | None = None,
    year_id: int | None = None,
    subject_id: int | None = None,
    entry: bool = False,
    now: datetime | None = None,
) -> GradesView:
    """The grades of a period (default: the current one; or the chosen year's), all subjects
    or one. `entry`: the family opens the grades now (moves the "new" mark)."""
    now = now or utcnow()
    child, periods, period = await open_period(
        session,
        actor,
        student_id,
        Action.VIEW_GRADES,
        period_id=period_id,
        now=now,
        year_id=year_id,
        seen=not entry,
    )
    seen_at = await _seen_threshold(session, actor, child, entry=entry, now=now)
    subjects = await subject_summaries(session, child, period, seen_at=seen_at)
    subject = None
    if subject_id:
        subject = next((s for s in subjects if s.subject_id == subject_id), None)
        if subject is None:
            raise denied(Action.VIEW_GRADES, subject_id)
    if entry:
        await session.commit()
    return GradesView(child, periods, period, subjects, subject)


@dataclass(frozen=True)
class Target:
    """A period grade to reach and the grades that would get the average there."""

    value: str
    threshold: float
    ordinary: list[tuple[str, int]] | None  # (value, how many) with weight-1 grades
    test: list[tuple[str, int]] | None  # … with tests (weight 2)


@dataclass(frozen=True)
class CalculatorView:
    child: Child
    period: PeriodInfo
    subject: SubjectGrades
    targets: list[Target]

    @property
    def period_over(self) -> bool:
        return self.period.is_over(self.child.today)


def _targets_for(spec: ScaleSpec, predicted: str | None) -> list[str]:
    """The period grades worth aiming at: the next marks above the predicted one (at most 3;
    tens on a hundred-point scale; "pass" on pass/fail). None without grades yet."""
    if predicted is None:
        return []
    if spec.kind == ScaleKind.PASS_FAIL:
        return [] if predicted == "pass" else ["pass"]
    current, high = int(predicted), int(spec.max_score)
    if spec.kind == ScaleKind.HUNDRED:
        marks = [m for m in range(10, high + 1, 10) if m > current]
    else:
        marks = list(range(current + 1, high + 1))
    return [str(m) for m in marks[:3]]


def plan_targets(
    spec: ScaleSpec, pairs: list[tuple[float, float]], predicted: str | None
) -> list[Target]:
    """For each target period grade: the cheapest ways there with ordinary grades (weight 1)
    and with a test (weight 2), through `services.core.grading.grades_needed`."""
    targets = []
    for value in _targets_for(spec, predicted):
        ordinary = grades_needed(spec, pairs, value, weight=1.0, limit=3)
        test = grades_needed(spec, pairs, value, weight=2.0, limit=2)
        targets.append(
            Target(
                value=value,
                threshold=threshold_for(spec, value),
                ordinary=[(display_value(v), n) for v, n in ordinary] if ordinary else ordinary,
                test=[(display_value(v), n) for v, n in test] if test else test,
            )
        )
    return targets


async def calculator_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    period_id: int,
    subject_id: int,
    *,
    now: datetime | None = None,
) -> CalculatorView:
    """ "What do I need": the grades that would reach the next period grades in a subject."""
    child, _periods, period = await open_period(
        session, actor, student_id, Action.VIEW_GRADES, period_id=period_id, now=now
    )
    found = await subject_summaries(session, child, period, subject_id=subject_id)
    if not found:
        raise denied(Action.VIEW_GRADES, subject_id)
    subject = found[0]
    pairs = [(g.score, g.weight) for g in subject.grades]
    targets = (
        [] if period.is_over(child.today) else plan_targets(subject.scale, pairs, subject.predicted)
    )
    return CalculatorView(child, period, subject, targets)


@dataclass(frozen=True)
class YearsView:
    child: Child
    years: list[YearInfo]


async def years_view(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> YearsView:
    """The school years the student has grades for (their enrollments), newest first."""
    child = await open_child(session, actor, student_id, Action.VIEW_GRADES, now=now)
    rows = await session.execute(
        select(*YEAR_COLUMNS)
        .join(SchoolClass, SchoolClass.year_id == AcademicYear.id)
        .join(Enrollment, Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.student_id == student_id)
        .distinct()
        .order_by(AcademicYear.starts_on.desc())
    )
    return YearsView(child, [YearInfo.of(row) for row in rows])


async def set_grades_spoiler(session: AsyncSession, actor: Actor, on: bool) -> None:
    """A student chooses to see (and receive) their grades under a spoiler."""
    own = actor.current_child(Role.STUDENT)
    if own is None:
        raise denied(Action.VIEW_GRADES)
    await require(session, actor, Action.VIEW_GRADES, own.student_id)
    student = await session.get(Student, own.student_id)
    if student is None:
        raise denied(Action.VIEW_GRADES, own.student_id)
    student.grades_spoiler = on
    await session.commit()
