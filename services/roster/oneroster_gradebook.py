"""The gradebook half of a OneRoster 1.2 export: categories, line items and results.

`load_gradebook` is one read-only pass over the journal: the grade kinds become categories,
each lesson with grades becomes one line item per grade kind given on it (OneRoster gives a
line item a single category), and each grade staff can see (every grade not deleted, held
ones included) becomes a result. Scales are the school's `ScaleRow`s, the same rows
`SchoolData.scales` holds.

Ids: every row is named through `source_id_of`: its own ``source_id`` (what an import
stored) or ``#<id>`` for a row made here, the way the roster export names rows. A line item
is its lesson's id and the grade kind (``#12-test``), a result its grade's id (``#345``), a
category its kind (``kind-oral``). Importing the export again (`services.roster.grades`)
finds every grade and lesson by those ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import GradeKind, PeriodKind
from db.models import (
    AcademicYear,
    Grade,
    GradingScale,
    Lesson,
    Period,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core.grading import DEFAULT_WEIGHTS
from services.roster.model import ScaleRow
from services.roster.snapshot import local_id, scale_row


def source_id_of(row: object) -> str:
    """The id a row is exported under: its `source_id` when it has one, else Parta's own
    ``#<primary key>`` (`snapshot.local_id`), the id the roster export gives it too, so the
    gradebook and the roster meet on the same ids and a re-import finds the row again."""
    stored = getattr(row, "source_id", None)
    return local_id(stored if isinstance(stored, str) else None, getattr(row, "id"))  # noqa: B009


@dataclass(frozen=True, slots=True)
class CategoryRow:
    source_id: str
    title: str
    weight: float


@dataclass(frozen=True, slots=True)
class LineItemRow:
    source_id: str
    title: str
    class_id: str  # the scheduled class: an AssignmentRow.source_id
    category_id: str
    day: date  # assignDate and dueDate
    period_id: str | None  # a PeriodRow.source_id (gradingPeriodSourcedId)
    result_min: float
    result_max: float


@dataclass(frozen=True, slots=True)
class ResultRow:
    source_id: str
    line_item_id: str
    student_id: str
    score: float
    text_score: str  # the grade as written ("4+", "pass")
    day: date
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Gradebook:
    categories: tuple[CategoryRow, ...] = ()
    line_items: tuple[LineItemRow, ...] = ()
    results: tuple[ResultRow, ...] = ()
    scales: tuple[ScaleRow, ...] = ()


def category_id(kind: GradeKind) -> str:
    return f"kind-{kind.value}"


def categories() -> tuple[CategoryRow, ...]:
    """One category per grade kind, weighted by the default weight of that kind."""
    return tuple(
        CategoryRow(category_id(kind), kind.value, DEFAULT_WEIGHTS[kind]) for kind in GradeKind
    )


def _period_of(day: date, periods: list[Period]) -> str | None:
    for period in periods:
        if period.kind is not PeriodKind.YEAR and period.starts_on <= day <= period.ends_on:
            return source_id_of(period)
    return None


async def load_gradebook(session: AsyncSession, school_id: int | None = None) -> Gradebook:
    """The gradebook of the school `school_id` (every school when None, the single-school
    case), ordered by lesson date and ids so two loads of the same data are equal.

    Read-only: one query for the grades with their lesson, assignment, scale and student,
    one for the periods, one for the scales.
    """
    query = (
        select(Grade, Lesson, TeachingAssignment, GradingScale, Student)
        .join(Lesson, Grade.lesson_id == Lesson.id)
        .join(TeachingAssignment, Grade.assignment_id == TeachingAssignment.id)
        .join(GradingScale, TeachingAssignment.scale_id == GradingScale.id)
        .join(Student, Grade.student_id == Student.id)
        .where(Grade.deleted_at.is_(None))
        .order_by(Lesson.date, Lesson.id, Grade.kind, Grade.id)
    )
    periods_q = select(Period).join(AcademicYear).order_by(Period.starts_on, Period.id)
    scales_q = select(GradingScale).order_by(GradingScale.code, GradingScale.id)
    if school_id is not None:
        query = query.where(Student.school_id == school_id)
        periods_q = periods_q.where(AcademicYear.school_id == school_id)
        scales_q = scales_q.where(GradingScale.school_id == school_id)
    rows = (await session.execute(query)).all()
    periods = list((await session.scalars(periods_q)).all())
    scales = tuple(scale_row(s) for s in (await session.scalars(scales_q)).all())
    subjects = await _subject_names(session, {row[2].subject_id for row in rows})
    items: dict[str, LineItemRow] = {}
    results: list[ResultRow] = []
    for grade, lesson, assignment, scale, student in rows:
        item_id = f"{source_id_of(lesson)}-{grade.kind.value}"
        if item_id not in items:
            items[item_id] = LineItemRow(
                source_id=item_id,
                title=lesson.topic or f"{subjects[assignment.subject_id]} {lesson.date}",
                class_id=source_id_of(assignment),
                category_id=category_id(grade.kind),
                day=lesson.date,
                period_id=_period_of(lesson.date, periods),
                result_min=float(scale.min_score),
                result_max=float(scale.max_score),
            )
        results.append(
            ResultRow(
                source_id=source_id_of(grade),
                line_item_id=item_id,
                student_id=source_id_of(student),
                score=float(grade.score),
                text_score=grade.value,
                day=grade.date,
                comment=grade.comment,
            )
        )
    return Gradebook(categories(), tuple(items.values()), tuple(results), scales)


async def _subject_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = await session.execute(select(Subject.id, Subject.name).where(Subject.id.in_(ids)))
    return dict(found.all())
