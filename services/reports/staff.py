"""What a member of staff may have from the bot's ``/reports``, and the reports themselves,
checked against the actor on every call (a forged button press of another role or another
school's class is refused by the one access policy, `services.reports.access`).

* a teacher: the classes they teach (a subject of theirs, or their own class) — class summary,
  attendance, risk and coverage; the summary and the coverage narrowed to their own subjects
  unless the class is theirs;
* a class teacher: their own class, every kind (report cards and progress of the whole class);
* a head teacher or an admin: any class of the school, every kind, and the school summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import PeriodKind
from db.models import AcademicYear, Enrollment, Period, SchoolClass, Student, TeachingAssignment
from services.core import enrolment
from services.core.access import Action, can, denied
from services.core.actors import Actor, Role
from services.core.grading import is_good, is_passing
from services.diary.periods import PeriodInfo
from services.reports import build
from services.reports.access import CLASS_KINDS, STUDENT_KINDS, require_report
from services.reports.formats import Format
from services.reports.model import (
    ClassSummary,
    CoverageReport,
    Report,
    ReportKind,
    SubjectFigures,
    SummaryRow,
    When,
)

#: the kinds in the order /reports offers them
ORDER = (
    ReportKind.CLASS,
    ReportKind.ATTENDANCE,
    ReportKind.RISK,
    ReportKind.COVERAGE,
    ReportKind.CARD,
    ReportKind.PROGRESS,
    ReportKind.SCHOOL,
)
#: the kinds with a chart (`services.reports.charts`)
CHARTED = frozenset({ReportKind.CLASS, ReportKind.SCHOOL, ReportKind.ATTENDANCE})


@dataclass(frozen=True)
class ClassChoice:
    id: int
    name: str


def school_wide(actor: Actor) -> bool:
    """A head teacher or an admin: every class of the school and the school summary."""
    return actor.is_staff and actor.has(Role.HEAD_TEACHER, Role.ADMIN)


def offered_kinds(actor: Actor) -> list[ReportKind]:
    """The kinds /reports shows the actor (none for anyone but staff)."""
    if not actor.is_staff:
        return []
    kinds = set(CLASS_KINDS)
    if actor.class_teacher_of or school_wide(actor):
        kinds |= STUDENT_KINDS
    if school_wide(actor):
        kinds.add(ReportKind.SCHOOL)
    return [kind for kind in ORDER if kind in kinds]


def formats_of(kind: ReportKind) -> tuple[Format, ...]:
    """The formats of a kind: a whole class's cards or progress as one file (Excel, PDF);
    the others also as chat text, and as a chart where the kind has one."""
    if kind in STUDENT_KINDS:
        return (Format.XLSX, Format.PDF)
    charted = (Format.PNG,) if kind in CHARTED else ()
    return (Format.TEXT, Format.XLSX, Format.PDF, *charted)


def _require_kind(actor: Actor, kind: ReportKind) -> None:
    if kind not in offered_kinds(actor):
        raise denied(Action.VIEW_GRADES if kind in STUDENT_KINDS else Action.READ_CLASS)


async def offered_classes(
    session: AsyncSession, actor: Actor, kind: ReportKind
) -> list[ClassChoice]:
    """The current year's classes the actor may have `kind` for, in roster order."""
    _require_kind(actor, kind)
    query = enrolment.school_classes(actor.school_id)
    own = SchoolClass.id.in_(actor.class_teacher_of or (-1,))
    if school_wide(actor):
        pass
    elif kind in STUDENT_KINDS:
        query = query.where(own)
    else:
        taught = select(TeachingAssignment.class_id).where(
            TeachingAssignment.teacher_id == (actor.staff_id or -1)
        )
        query = query.where(or_(own, SchoolClass.id.in_(taught)))
    return [ClassChoice(int(i), str(n)) for i, n in await session.execute(query)]


async def require_staff_report(
    session: AsyncSession, actor: Actor, kind: ReportKind, class_id: int
) -> None:
    """The actor may have `kind` of the class (`class_id`; ignored for the school summary):
    else the policy's `DomainError`. A whole class's cards and progress are its class
    teacher's, or the school's head teacher's and admins'."""
    _require_kind(actor, kind)
    if kind is ReportKind.SCHOOL:
        await require_report(session, actor, kind, actor.school_id or 0)
        return
    if kind in STUDENT_KINDS:
        own = class_id in actor.class_teacher_of
        if not own and not (
            school_wide(actor) and await can(session, actor, Action.READ_CLASS, class_id)
        ):
            raise denied(Action.VIEW_GRADES, class_id)
        return
    await require_report(session, actor, kind, class_id)


async def class_name(session: AsyncSession, class_id: int) -> str:
    return str(await session.scalar(select(SchoolClass.name).where(SchoolClass.id == class_id)))


async def year_periods(session: AsyncSession, actor: Actor) -> list[PeriodInfo]:
    """The periods of the school's current year: quarters (trimesters, semesters) by date,
    the year itself last."""
    rows = await session.execute(
        select(Period.id, Period.kind, Period.number, Period.starts_on, Period.ends_on)
        .join(AcademicYear, AcademicYear.id == Period.year_id)
        .where(AcademicYear.school_id == actor.school_id, AcademicYear.is_current)
    )
    periods = [PeriodInfo(int(i), PeriodKind(k), int(n), s, e) for i, k, n, s, e in rows]
    return sorted(periods, key=lambda p: (p.kind == PeriodKind.YEAR, p.starts_on, p.number))


async def build_staff_report(
    session: AsyncSession,
    actor: Actor,
    kind: ReportKind,
    class_id: int,
    period_id: int,
    *,
    today: date,
) -> list[Report]:
    """The report(s) of `kind` for the class (every student's, for cards and progress) over
    the period `period_id` of the current year, after the access checks; a teacher's summary
    and coverage hold only their own subjects unless the class is theirs. An empty list: a
    card or progress of a class nobody is in."""
    await require_staff_report(session, actor, kind, class_id)
    if period_id not in {p.id for p in await year_periods(session, actor)}:
        raise denied(Action.READ_CLASS, period_id)
    when = When(period_id=period_id)
    if kind is ReportKind.SCHOOL:
        return [await build.build_school_summary(session, actor.school_id or 0, when, today=today)]
    if kind in STUDENT_KINDS:
        made: list[Report] = []
        for student_id in await class_students(session, class_id, today):
            await require_report(session, actor, kind, student_id)
            if kind is ReportKind.CARD:
                made.append(await build.build_report_card(session, student_id, when, today=today))
            else:
                made.append(await build.build_progress(session, student_id, when, today=today))
        return made
    if kind is ReportKind.ATTENDANCE:
        return [await build.build_attendance(session, class_id, when, today=today)]
    if kind is ReportKind.RISK:
        return [await build.build_risk(session, class_id, when, today=today)]
    mine = await own_assignments(session, actor, class_id)
    if kind is ReportKind.COVERAGE:
        coverage = await build.build_coverage(session, class_id, when, today=today)
        return [narrow_coverage(coverage, mine) if mine is not None else coverage]
    summary = await build.build_class_summary(session, class_id, when, today=today)
    return [narrow_summary(summary, mine) if mine is not None else summary]


async def own_assignments(
    session: AsyncSession, actor: Actor, class_id: int
) -> frozenset[int] | None:
    """The actor's teaching assignments in the class when a report is narrowed to them (a
    teacher who is neither its class teacher nor school-wide); None: the whole class."""
    if class_id in actor.class_teacher_of or school_wide(actor):
        return None
    rows = await session.scalars(
        select(TeachingAssignment.id).where(
            TeachingAssignment.class_id == class_id,
            TeachingAssignment.teacher_id == (actor.staff_id or -1),
        )
    )
    return frozenset(int(i) for i in rows)


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def narrow_summary(summary: ClassSummary, assignments: frozenset[int]) -> ClassSummary:
    """The summary with only the subjects of `assignments`; each student's успеваемость and
    качество знаний, and the class's, over those subjects (the rules of `build`)."""
    keep = [i for i, s in enumerate(summary.subjects) if s.assignment_id in assignments]
    subjects = tuple(summary.subjects[i] for i in keep)
    rows: list[SummaryRow] = []
    for row in summary.rows:
        cells = tuple(row.cells[i] for i in keep)
        results = [(s.scale, c.result) for s, c in zip(subjects, cells, strict=True)]
        graded = all(value is not None for _, value in results)
        rows.append(
            dataclasses.replace(
                row,
                cells=cells,
                successful=graded and all(is_passing(s, v) for s, v in results if v),
                good=graded and all(is_good(s, v) for s, v in results if v),
            )
        )
    figures: tuple[SubjectFigures, ...] = tuple(summary.figures[i] for i in keep)
    return dataclasses.replace(
        summary,
        subjects=subjects,
        rows=tuple(rows),
        figures=figures,
        success=_share([r.successful for r in rows]),
        quality=_share([r.good for r in rows]),
    )


def narrow_coverage(report: CoverageReport, assignments: frozenset[int]) -> CoverageReport:
    """The coverage with only the subjects of `assignments`."""
    keep = [i for i, s in enumerate(report.subjects) if s.assignment_id in assignments]
    return dataclasses.replace(
        report,
        subjects=tuple(report.subjects[i] for i in keep),
        rows=tuple(
            dataclasses.replace(row, counts=tuple(row.counts[i] for i in keep))
            for row in report.rows
        ),
        lessons=tuple(report.lessons[i] for i in keep),
        ungraded_lessons=tuple(report.ungraded_lessons[i] for i in keep),
    )


async def class_students(session: AsyncSession, class_id: int, today: date) -> list[int]:
    """The class's students today (the ones whose cards the class teacher prints)."""
    rows = await session.scalars(
        select(Student.id)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.class_id == class_id, enrolment.covers_day(today))
        .order_by(Student.full_name, Student.id)
    )
    return [int(sid) for sid in rows]
