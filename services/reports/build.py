"""Building the reports from the database: a fixed handful of statements per report, however
many students, subjects and grades it covers (tests/test_reports.py counts them).

Rules, each taken from `services.core` rather than restated:

* which grades count: every grade that is not deleted for staff reports (the journal's
  proposals count held grades too); a report card is what a family may see on `today`
  (`visibility.family_visible`: a held grade is left out until its day);
* who is in a class: a stay covering at least one day of the span (`enrolment.covers_period`);
  a student who moved mid-period is listed in both classes with the days of each stay, and
  each class counts only its own lessons and grades;
* averages, proposals, pass and "good" marks: `grading` (`period_value`, `is_passing`,
  `is_good`), per subject's scale, so a pass/fail or hundred-point subject counts by its own
  pass mark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.enums import AttendanceStatus, PeriodKind
from db.models import (
    AcademicYear,
    Attendance,
    Enrollment,
    Grade,
    GradingScale,
    Lesson,
    PeriodGrade,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core import enrolment, visibility
from services.core.grading import (
    PASS,
    ScaleSpec,
    is_good,
    is_passing,
    keyboard_values,
    parse_grade,
    period_value,
    threshold_for,
)
from services.core.periods import periods_of_year
from services.diary.periods import PeriodInfo, current_period
from services.reports.model import (
    AttendanceReport,
    AttendanceRow,
    AttendanceWeek,
    CardLine,
    Category,
    Cell,
    ClassSummary,
    CoverageReport,
    CoverageRow,
    Distribution,
    Header,
    ProgressReport,
    ProgressSeries,
    ReportCard,
    ReportKind,
    RiskItem,
    RiskReason,
    RiskReport,
    RiskThresholds,
    SchoolLine,
    SchoolSummary,
    Span,
    Stay,
    SubjectColumn,
    SubjectFigures,
    SummaryRow,
    When,
)

_EPS = 1e-9
_MISSED = (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)


class ReportNotFound(LookupError):
    """No such class, student or period: the message names what is missing."""


# --- the span ----------------------------------------------------------------------------------


async def _periods(session: AsyncSession, year_id: int) -> list[PeriodInfo]:
    rows = await session.execute(periods_of_year(year_id))
    return [PeriodInfo.of(row) for row in rows]


_FINE = (PeriodKind.QUARTER, PeriodKind.TRIMESTER, PeriodKind.SEMESTER)


def resolve_span(periods: Sequence[PeriodInfo], when: When, today: date) -> Span:
    """The span `when` means in a year with `periods` (one statement loaded them)."""
    year = next((p for p in periods if p.kind == PeriodKind.YEAR), None)
    year_id = year.id if year is not None else None
    if when.starts_on is not None or when.ends_on is not None:
        if when.starts_on is None or when.ends_on is None or when.starts_on > when.ends_on:
            raise ReportNotFound("a date range needs a start on or before its end")
        return Span(when.starts_on, when.ends_on, year_period_id=year_id)
    if when.period_id is not None:
        chosen = next((p for p in periods if p.id == when.period_id), None)
    elif when.number == 0:
        chosen = year
    elif when.number is not None:
        kinds = {p.kind for p in periods}
        kind = next((k for k in _FINE if k in kinds), PeriodKind.YEAR)
        chosen = next((p for p in periods if p.kind == kind and p.number == when.number), None)
    else:
        chosen = current_period(periods, today)
    if chosen is None:
        raise ReportNotFound("no such period in the school year")
    return Span(
        chosen.starts_on,
        chosen.ends_on,
        period_id=chosen.id,
        kind=chosen.kind,
        number=chosen.number,
        year_period_id=year_id,
    )


# --- one class's data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Class:
    id: int
    name: str
    school: str
    class_teacher: str | None


@dataclass(frozen=True)
class _Student:
    id: int
    name: str
    stay: Stay


@dataclass
class _ClassData:
    klass: _Class
    span: Span
    students: list[_Student]
    subjects: list[SubjectColumn]
    grades: dict[tuple[int, int], tuple[float, float, int]]  # (student, assignment) → sums
    period_values: dict[tuple[int, int], str | None]  # (student, assignment) → value
    attendance: dict[tuple[int, AttendanceStatus], tuple[int, int]]  # → (count, minutes)
    lessons_on: dict[date, int]  # the class's lessons on each day of the span


async def _load_class(
    session: AsyncSession, class_id: int, when: When, today: date, *, attendance: bool = True
) -> _ClassData:
    """One class's data (eight statements, six without attendance)."""
    found = await _load_classes(
        session, SchoolClass.id == class_id, when, today, attendance=attendance
    )
    if not found:
        raise ReportNotFound(f"no class with id {class_id}")
    return found[0]


async def _load_classes(
    session: AsyncSession,
    which: ColumnElement[bool],
    when: When | Span,
    today: date,
    *,
    attendance: bool = True,
) -> list[_ClassData]:
    """The data of every class `which` selects (in roster order), in the same statements
    whatever their number: the classes, the periods, the students, the subjects, the grades,
    the period grades, and with `attendance` the marks and the lessons."""
    teacher = aliased(Staff)
    heads = (
        await session.execute(
            select(
                SchoolClass.id,
                SchoolClass.name,
                SchoolClass.year_id,
                School.name,
                teacher.full_name,
            )
            .join(School, School.id == SchoolClass.school_id)
            .outerjoin(teacher, teacher.id == SchoolClass.class_teacher_id)
            .where(which)
            .order_by(SchoolClass.grade_level, SchoolClass.name)
        )
    ).all()
    if not heads:
        return []
    ids = [row[0] for row in heads]
    span = (
        when
        if isinstance(when, Span)
        else resolve_span(await _periods(session, heads[0][2]), when, today)
    )
    stays: dict[int, list[Any]] = defaultdict(list)
    for class_id, *stay in await session.execute(
        select(
            Enrollment.class_id,
            Student.id,
            Student.full_name,
            Enrollment.enrolled_on,
            Enrollment.left_on,
        )
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.class_id.in_(ids), enrolment.covers_period(span.starts_on, span.ends_on))
        .order_by(Student.full_name, Student.id)
    ):
        stays[class_id].append(stay)
    subjects: dict[int, list[SubjectColumn]] = defaultdict(list)
    for class_id, column in await _class_subjects(session, TeachingAssignment.class_id.in_(ids)):
        subjects[class_id].append(column)
    in_classes = Grade.assignment_id.in_(
        select(TeachingAssignment.id).where(TeachingAssignment.class_id.in_(ids))
    )
    grades = await _grade_sums(session, in_classes, span, family_today=None)
    period_values: dict[tuple[int, int], str | None] = {}
    if span.period_id is not None:
        period_values = {
            (sid, aid): value
            for sid, aid, value in await session.execute(
                select(PeriodGrade.student_id, PeriodGrade.assignment_id, PeriodGrade.value)
                .join(TeachingAssignment, TeachingAssignment.id == PeriodGrade.assignment_id)
                .where(
                    TeachingAssignment.class_id.in_(ids),
                    PeriodGrade.period_id == span.period_id,
                )
            )
        }
    marks: dict[int, dict[tuple[int, AttendanceStatus], tuple[int, int]]] = defaultdict(dict)
    lessons_on: dict[int, dict[date, int]] = defaultdict(dict)
    if attendance:
        for class_id, sid, status, count, minutes in await session.execute(
            _marks_query(Lesson.class_id.in_(ids), span, Lesson.class_id)
        ):
            marks[class_id][(sid, AttendanceStatus(status))] = (int(count), int(minutes or 0))
        for class_id, day, count in await session.execute(
            select(Lesson.class_id, Lesson.date, func.count(Lesson.id))
            .where(_lessons_in(span), Lesson.class_id.in_(ids))
            .group_by(Lesson.class_id, Lesson.date)
        ):
            lessons_on[class_id][day] = int(count)
    return [
        _ClassData(
            _Class(class_id, name, school, class_teacher),
            span,
            _fold_stays(stays[class_id], span),
            subjects[class_id],
            grades,
            period_values,
            marks[class_id],
            lessons_on[class_id],
        )
        for class_id, name, _year, school, class_teacher in heads
    ]


def _fold_stays(rows: Iterable[Any], span: Span) -> list[_Student]:
    """One line per student: the earliest start and latest end of their stays in the class,
    each shown only when it falls inside the span."""
    found: dict[int, tuple[str, list[date | None], list[date | None]]] = {}
    for sid, name, joined, left in rows:
        entry = found.setdefault(sid, (name, [], []))
        entry[1].append(joined)
        entry[2].append(left)
    result = []
    for sid, (name, starts, ends) in found.items():
        start = None if None in starts else min(d for d in starts if d is not None)
        end = None if None in ends else max(d for d in ends if d is not None)
        stay = Stay(
            start if start is not None and start > span.starts_on else None,
            end if end is not None and end <= span.ends_on else None,
        )
        result.append(_Student(sid, name, stay))
    return result


async def _class_subjects(
    session: AsyncSession, where: ColumnElement[bool]
) -> list[tuple[int, SubjectColumn]]:
    """The teaching assignments `where` selects, each with its class, as report columns (by
    subject name)."""
    rows = await session.execute(
        select(
            TeachingAssignment.class_id,
            TeachingAssignment.id,
            Subject.name,
            Subject.short_name,
            Staff.full_name,
            GradingScale,
        )
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .join(Staff, Staff.id == TeachingAssignment.teacher_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(where)
        .order_by(Subject.name, TeachingAssignment.id)
    )
    return [
        (cid, SubjectColumn(aid, subject, short or subject, teacher, ScaleSpec.from_row(scale)))
        for cid, aid, subject, short, teacher, scale in rows
    ]


async def _subjects(session: AsyncSession, where: ColumnElement[bool]) -> list[SubjectColumn]:
    return [column for _class_id, column in await _class_subjects(session, where)]


#: the parts of a weighted average, summed over a group of grades: Σ score·weight, Σ weight, count
_AVERAGE_PARTS = (
    func.sum(Grade.score * Grade.weight),
    func.sum(Grade.weight),
    func.count(Grade.id),
)


def _graded_in(span: Span) -> ColumnElement[bool]:
    return and_(Grade.date >= span.starts_on, Grade.date <= span.ends_on)


async def _grade_sums(
    session: AsyncSession, where: ColumnElement[bool], span: Span, *, family_today: date | None
) -> dict[tuple[int, int], tuple[float, float, int]]:
    """(student, assignment) → (Σ score·weight, Σ weight, count) of the grades that count."""
    counts = (
        visibility.family_visible(family_today)
        if family_today is not None
        else Grade.deleted_at.is_(None)
    )
    rows = await session.execute(
        select(Grade.student_id, Grade.assignment_id, *_AVERAGE_PARTS)
        .where(where, counts, _graded_in(span))
        .group_by(Grade.student_id, Grade.assignment_id)
    )
    return {
        (sid, aid): (float(total or 0), float(weights or 0), int(count))
        for sid, aid, total, weights, count in rows
    }


def _lessons_in(span: Span) -> ColumnElement[bool]:
    return and_(
        Lesson.date >= span.starts_on, Lesson.date <= span.ends_on, Lesson.cancelled.is_(False)
    )


def _marks_query(where: ColumnElement[bool], span: Span, *by: Any) -> Select[Any]:
    """The attendance marks `where` selects on the span's lessons held: per `by`, student and
    status, how many and the minutes late they add up to."""
    keys = (*by, Attendance.student_id, Attendance.status)
    return (
        select(
            *keys,
            func.count(Attendance.id),
            func.sum(func.coalesce(Attendance.minutes_late, 0)),
        )
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(where, _lessons_in(span))
        .group_by(*keys)
    )


async def _attendance(
    session: AsyncSession, where: ColumnElement[bool], span: Span
) -> dict[tuple[int, AttendanceStatus], tuple[int, int]]:
    rows = await session.execute(_marks_query(where, span))
    return {
        (sid, AttendanceStatus(status)): (int(count), int(minutes or 0))
        for sid, status, count, minutes in rows
    }


def _cell(scale: ScaleSpec, sums: tuple[float, float, int] | None, final: str | None) -> Cell:
    total, weights, count = sums or (0.0, 0.0, 0)
    average = total / weights if weights > 0 else None
    proposed = period_value(scale, average) if average is not None else None
    return Cell(average, count, proposed, final)


def _in_stay(day: date, stay: Stay) -> bool:
    return enrolment.stay_covers(stay.joined_on, stay.left_on, day)


def _attendance_row(
    student_id: int | None,
    name: str,
    lessons: int,
    marks: dict[tuple[int, AttendanceStatus], tuple[int, int]],
    ids: Iterable[int],
) -> AttendanceRow:
    def count(status: AttendanceStatus) -> int:
        return sum(marks.get((sid, status), (0, 0))[0] for sid in ids)

    ids = list(ids)
    minutes = sum(marks.get((sid, AttendanceStatus.LATE), (0, 0))[1] for sid in ids)
    return AttendanceRow(
        student_id,
        name,
        lessons,
        count(AttendanceStatus.ABSENT),
        count(AttendanceStatus.EXCUSED),
        count(AttendanceStatus.LATE),
        minutes,
    )


def _student_attendance(data: _ClassData, student: _Student) -> AttendanceRow:
    lessons = sum(n for day, n in data.lessons_on.items() if _in_stay(day, student.stay))
    return _attendance_row(student.id, student.name, lessons, data.attendance, [student.id])


def _header(kind: ReportKind, data: _ClassData, today: date) -> Header:
    return Header(
        kind,
        data.klass.school,
        data.span,
        today,
        class_name=data.klass.name,
        class_teacher=data.klass.class_teacher,
    )


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


# --- the reports -----------------------------------------------------------------------------


async def build_class_summary(
    session: AsyncSession, class_id: int, when: When, *, today: date
) -> ClassSummary:
    """Students × subjects with averages, counts, proposed and set period grades, absences,
    and the class's успеваемость and качество знаний (eight statements)."""
    return _summarize(await _load_class(session, class_id, when, today), today)


def _summarize(data: _ClassData, today: date) -> ClassSummary:
    rows: list[SummaryRow] = []
    per_subject: list[list[Cell]] = [[] for _ in data.subjects]
    for student in data.students:
        cells = tuple(
            _cell(
                subject.scale,
                data.grades.get((student.id, subject.assignment_id)),
                data.period_values.get((student.id, subject.assignment_id)),
            )
            for subject in data.subjects
        )
        for column, cell in zip(per_subject, cells, strict=True):
            column.append(cell)
        results = [
            (subject.scale, cell.result) for subject, cell in zip(data.subjects, cells, strict=True)
        ]
        graded = all(value is not None for _, value in results)
        rows.append(
            SummaryRow(
                student.id,
                student.name,
                student.stay,
                cells,
                _student_attendance(data, student).missed,
                successful=graded and all(is_passing(s, v) for s, v in results if v),
                good=graded and all(is_good(s, v) for s, v in results if v),
            )
        )
    figures = []
    for subject, cells_of in zip(data.subjects, per_subject, strict=True):
        given = [c.result for c in cells_of if c.result is not None]
        averages = [c.average for c in cells_of if c.average is not None]
        figures.append(
            SubjectFigures(
                sum(averages) / len(averages) if averages else None,
                _share([is_passing(subject.scale, v) for v in given]),
                _share([is_good(subject.scale, v) for v in given]),
            )
        )
    return ClassSummary(
        _header(ReportKind.CLASS, data, today),
        tuple(data.subjects),
        tuple(rows),
        tuple(figures),
        _share([row.successful for row in rows]),
        _share([row.good for row in rows]),
    )


def category(scale: ScaleSpec, value: str | None) -> Category:
    if value is None:
        return Category.NOT_GRADED
    if not is_passing(scale, value):
        return Category.FAILING
    return Category.GOOD if is_good(scale, value) else Category.PASSING


def _student_category(summary: ClassSummary, row: SummaryRow) -> Category:
    """A student over every subject: not graded in one, else failing one, else good in all."""
    found = {category(s.scale, c.result) for s, c in zip(summary.subjects, row.cells, strict=True)}
    for worst in (Category.NOT_GRADED, Category.FAILING, Category.PASSING):
        if worst in found:
            return worst
    return Category.GOOD


def _distribution(categories: Iterable[Category]) -> Distribution:
    counted = list(categories)
    return Distribution(*(counted.count(c) for c in Category))


async def build_school_summary(
    session: AsyncSession, school_id: int, when: When, *, today: date
) -> SchoolSummary:
    """Classes and classes × subjects of the school's current year: students, the average,
    успеваемость, качество знаний and how results spread (good, passing, failing, not
    graded), beside the previous period of the same kind (about fifteen statements, whatever
    the number of classes and students)."""
    year = (
        await session.execute(
            select(AcademicYear.id, School.name)
            .join(School, School.id == AcademicYear.school_id)
            .where(AcademicYear.school_id == school_id, AcademicYear.is_current)
            .order_by(AcademicYear.starts_on.desc())
            .limit(1)
        )
    ).one_or_none()
    if year is None:
        raise ReportNotFound(f"no current school year in school {school_id}")
    year_id, school = year
    periods = await _periods(session, year_id)
    span = resolve_span(periods, when, today)
    previous = next(
        (
            p
            for p in periods
            if span.kind not in (None, PeriodKind.YEAR)
            and p.kind == span.kind
            and p.number == (span.number or 0) - 1
        ),
        None,
    )
    which = SchoolClass.year_id == year_id
    now = [
        _summarize(d, today)
        for d in await _load_classes(session, which, span, today, attendance=False)
    ]
    before: dict[str, ClassSummary] = {}
    previous_span = None
    if previous is not None:
        previous_span = resolve_span(periods, When(period_id=previous.id), today)
        for data in await _load_classes(session, which, previous_span, today, attendance=False):
            before[data.klass.name] = _summarize(data, today)
    classes, lines = [], []
    for summary in now:
        name = summary.header.class_name or ""
        prior = before.get(name)
        classes.append(
            SchoolLine(
                name,
                None,
                len(summary.rows),
                None,
                summary.success,
                summary.quality,
                _distribution(_student_category(summary, row) for row in summary.rows),
                prior.success if prior else None,
                prior.quality if prior else None,
            )
        )
        for i, (subject, figures) in enumerate(zip(summary.subjects, summary.figures, strict=True)):
            lines.append(
                SchoolLine(
                    name,
                    subject.subject,
                    sum(1 for row in summary.rows if row.cells[i].result is not None),
                    figures.average,
                    figures.success,
                    figures.quality,
                    _distribution(
                        category(subject.scale, row.cells[i].result) for row in summary.rows
                    ),
                    None,
                    None,
                )
            )
    everyone = [row for summary in now for row in summary.rows]
    header = Header(ReportKind.SCHOOL, school, span, today)
    return SchoolSummary(
        header,
        tuple(classes),
        tuple(lines),
        _share([row.successful for row in everyone]),
        _share([row.good for row in everyone]),
        previous_span,
        _share([row.successful for s in before.values() for row in s.rows]) if before else None,
        _share([row.good for s in before.values() for row in s.rows]) if before else None,
    )


async def build_coverage(
    session: AsyncSession, class_id: int, when: When, *, today: date, min_grades: int = 3
) -> CoverageReport:
    """Накопляемость: grades per student per subject (fewer than `min_grades` stand out),
    and per subject the lessons held and those without any grade (seven statements)."""
    data = await _load_class(session, class_id, when, today, attendance=False)
    graded = (
        select(Grade.lesson_id)
        .where(Grade.lesson_id == Lesson.id, Grade.deleted_at.is_(None))
        .exists()
    )
    held: dict[int, tuple[int, int]] = {
        aid: (int(total), int(empty or 0))
        for aid, total, empty in await session.execute(
            select(
                Lesson.assignment_id,
                func.count(Lesson.id),
                func.sum(case((graded, 0), else_=1)),
            )
            .where(Lesson.class_id == class_id, _lessons_in(data.span))
            .group_by(Lesson.assignment_id)
        )
    }
    rows = tuple(
        CoverageRow(
            student.id,
            student.name,
            student.stay,
            tuple(
                data.grades.get((student.id, s.assignment_id), (0.0, 0.0, 0))[2]
                for s in data.subjects
            ),
        )
        for student in data.students
    )
    return CoverageReport(
        _header(ReportKind.COVERAGE, data, today),
        tuple(data.subjects),
        rows,
        tuple(held.get(s.assignment_id, (0, 0))[0] for s in data.subjects),
        tuple(held.get(s.assignment_id, (0, 0))[1] for s in data.subjects),
        min_grades,
    )


async def build_attendance(
    session: AsyncSession, class_id: int, when: When, *, today: date, busiest: int = 5
) -> AttendanceReport:
    """Lessons, unexcused and excused absences, lateness and the share attended, per student
    and for the class, and the days with the most absences (nine statements)."""
    data = await _load_class(session, class_id, when, today)
    rows = tuple(_student_attendance(data, student) for student in data.students)
    total = AttendanceRow(
        None,
        data.klass.name,
        sum(r.lessons for r in rows),
        sum(r.absent for r in rows),
        sum(r.excused for r in rows),
        sum(r.late for r in rows),
        sum(r.late_minutes for r in rows),
    )
    days = await session.execute(
        select(Lesson.date, func.count(Attendance.id))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Lesson.class_id == class_id, _lessons_in(data.span), Attendance.status.in_(_MISSED))
        .group_by(Lesson.date)
    )
    missed_on = {d: int(n) for d, n in days}
    ranked = sorted(missed_on.items(), key=lambda x: (-x[1], x[0]))
    weeks: dict[date, list[int]] = {}
    for day, count in sorted(data.lessons_on.items()):
        week = weeks.setdefault(_monday(day), [0, 0])
        week[0] += count * sum(1 for s in data.students if _in_stay(day, s.stay))
        week[1] += missed_on.get(day, 0)
    return AttendanceReport(
        _header(ReportKind.ATTENDANCE, data, today),
        rows,
        total,
        tuple(ranked[:busiest]),
        tuple(AttendanceWeek(monday, n, m) for monday, (n, m) in weeks.items()),
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _borderline(scale: ScaleSpec, average: float, margin: float) -> bool:
    """The average passes but lies within `margin` of the scale's width above the lowest
    passing average (five-point, 0.1: 2.5 ≤ average < 2.9)."""
    lowest = _lowest_passing_average(scale)
    return average + _EPS >= lowest and average < lowest + margin * (
        scale.max_score - scale.min_score
    )


def _lowest_passing_average(scale: ScaleSpec) -> float:
    passing = [
        v
        for v in keyboard_values(scale)
        if v[-1] not in "+-" and (v == PASS or is_passing(scale, v))
    ]
    lowest = min(passing, key=lambda v: parse_grade(scale, v).score)
    return threshold_for(scale, lowest)


def _risk_reason(scale: ScaleSpec, cell: Cell, limits: RiskThresholds) -> RiskReason | None:
    """Why a student's subject is at risk: too few grades and no set grade (не аттестован),
    a failing result, or a passing proposal whose average is borderline."""
    if cell.final is None and cell.count < limits.min_grades:
        return RiskReason.NOT_GRADED
    if cell.result is not None and not is_passing(scale, cell.result):
        return RiskReason.FAILING
    if (
        cell.final is None
        and cell.average is not None
        and _borderline(scale, cell.average, limits.borderline)
    ):
        return RiskReason.BORDERLINE
    return None


async def build_risk(
    session: AsyncSession,
    class_id: int,
    when: When,
    *,
    today: date,
    thresholds: RiskThresholds | None = None,
) -> RiskReport:
    """Students at risk: a failing or borderline period grade, too few grades (не аттестован)
    or absences above the threshold, with the subjects concerned (eight statements)."""
    limits = thresholds or RiskThresholds()
    data = await _load_class(session, class_id, when, today)
    items: list[RiskItem] = []
    for student in data.students:
        for subject in data.subjects:
            sums = data.grades.get((student.id, subject.assignment_id))
            cell = _cell(
                subject.scale, sums, data.period_values.get((student.id, subject.assignment_id))
            )

            reason = _risk_reason(subject.scale, cell, limits)
            if reason is not None:
                items.append(
                    RiskItem(
                        student.id,
                        student.name,
                        reason,
                        subject.subject,
                        cell.average,
                        cell.count,
                        cell.result,
                    )
                )
        presence = _student_attendance(data, student)
        share = presence.missed / presence.lessons if presence.lessons else None
        if share is not None and share > limits.absences + _EPS:
            items.append(
                RiskItem(
                    student.id,
                    student.name,
                    RiskReason.ABSENCES,
                    None,
                    None,
                    presence.lessons,
                    None,
                    share,
                )
            )
    return RiskReport(_header(ReportKind.RISK, data, today), limits, tuple(items))


async def _student_context(
    session: AsyncSession, student_id: int, when: When, today: date
) -> tuple[str, str, Span, list[Any], Any]:
    """The student's name, school, the span, their stays in the span and the last of them
    (two statements)."""
    teacher = aliased(Staff)
    stays = (
        await session.execute(
            select(
                Student.full_name,
                School.name,
                SchoolClass.id,
                SchoolClass.name,
                SchoolClass.year_id,
                teacher.full_name,
                Enrollment.enrolled_on,
                Enrollment.left_on,
                Enrollment.id,
            )
            .join(School, School.id == Student.school_id)
            .join(Enrollment, Enrollment.student_id == Student.id)
            .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
            .where(Student.id == student_id, enrolment.in_current_year())
            .outerjoin(teacher, teacher.id == SchoolClass.class_teacher_id)
        )
    ).all()
    if not stays:
        raise ReportNotFound(f"no student with id {student_id} in a class of the current year")
    span = resolve_span(await _periods(session, stays[0][4]), when, today)
    in_span: list[Any] = [
        s for s in stays if enrolment.stay_covers_period(s[6], s[7], span.starts_on, span.ends_on)
    ] or list(stays)
    last = max(in_span, key=lambda s: (s[6] or date.min, s[8]))
    name_of, school_of = str(last[0]), str(last[1])
    return name_of, school_of, span, in_span, last


async def build_report_card(
    session: AsyncSession,
    student_id: int,
    when: When,
    *,
    today: date,
    attendance: bool = True,
) -> ReportCard:
    """A student's report card: every subject they were graded in during the span with the
    period grade and the year grade, attendance and the class teacher (seven statements).
    Grades are what the family may see on `today`; the class is the last one of the span."""
    name, school, span, in_span, last = await _student_context(session, student_id, when, today)
    _, _, _, class_name, _, class_teacher = last[:6]
    subjects = await _subjects(
        session,
        TeachingAssignment.id.in_(select(Grade.assignment_id).where(Grade.student_id == student_id))
        | TeachingAssignment.id.in_(
            select(PeriodGrade.assignment_id).where(PeriodGrade.student_id == student_id)
        )
        | TeachingAssignment.class_id.in_([s[2] for s in in_span]),
    )
    grades = await _grade_sums(session, Grade.student_id == student_id, span, family_today=today)
    wanted = [p for p in (span.period_id, span.year_period_id) if p is not None]
    values: dict[tuple[int, int | None], str | None] = {
        (aid, pid): value
        for aid, pid, value in await session.execute(
            select(PeriodGrade.assignment_id, PeriodGrade.period_id, PeriodGrade.value).where(
                PeriodGrade.student_id == student_id, PeriodGrade.period_id.in_(wanted)
            )
        )
    }
    marks = await _attendance(session, Attendance.student_id == student_id, span)
    lesson_days = await session.execute(
        select(Lesson.class_id, Lesson.date, func.count(Lesson.id))
        .where(_lessons_in(span), Lesson.class_id.in_([s[2] for s in in_span]))
        .group_by(Lesson.class_id, Lesson.date)
    )
    stays_of: dict[int, list[Stay]] = defaultdict(list)
    for s in in_span:
        stays_of[s[2]].append(Stay(s[6], s[7]))
    lessons = sum(
        int(n) for cid, day, n in lesson_days if any(_in_stay(day, st) for st in stays_of[cid])
    )
    lines = []
    by_name: dict[str, list[SubjectColumn]] = {}
    for subject in subjects:  # a student who moved has the same subject in two classes
        by_name.setdefault(subject.subject, []).append(subject)
    for title, columns in by_name.items():
        total = weights = 0.0
        count = 0
        final = year_value = None
        for column in columns:
            t, w, c = grades.get((student_id, column.assignment_id), (0.0, 0.0, 0))
            total, weights, count = total + t, weights + w, count + c
            final = values.get((column.assignment_id, span.period_id)) or final
            year_value = values.get((column.assignment_id, span.year_period_id)) or year_value
        latest = columns[-1]
        cell = _cell(latest.scale, (total, weights, count) if count else None, final)
        lines.append(
            CardLine(
                title,
                latest.teacher,
                cell.average,
                cell.count,
                cell.result,
                cell.final is None and cell.proposed is not None,
                cell.result if span.period_id == span.year_period_id else year_value,
                latest.scale,
            )
        )
    header = Header(
        ReportKind.CARD,
        school,
        span,
        today,
        class_name=class_name,
        class_teacher=class_teacher,
        student=name,
    )
    presence = _attendance_row(student_id, name, lessons, marks, [student_id])
    return ReportCard(header, student_id, tuple(lines), presence if attendance else None)


async def build_progress(
    session: AsyncSession, student_id: int, when: When, *, today: date
) -> ProgressReport:
    """A student's weighted average per subject at the end of each week of the span (up to
    today), from the grades the family may see (four statements)."""
    name, school, span, _, last = await _student_context(session, student_id, when, today)
    subjects = {
        s.assignment_id: s
        for s in await _subjects(
            session,
            TeachingAssignment.id.in_(
                select(Grade.assignment_id).where(Grade.student_id == student_id)
            ),
        )
    }
    rows = await session.execute(
        select(Grade.assignment_id, Grade.date, *_AVERAGE_PARTS)
        .where(Grade.student_id == student_id, visibility.family_visible(today), _graded_in(span))
        .group_by(Grade.assignment_id, Grade.date)
    )
    end = min(span.ends_on, max(today, span.starts_on))
    weeks = []
    monday = _monday(span.starts_on)
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    by_subject: dict[str, list[tuple[date, float, float, int]]] = defaultdict(list)
    scales: dict[str, ScaleSpec] = {}
    for aid, day, total, weights, count in rows:
        subject = subjects[aid]
        by_subject[subject.subject].append((day, float(total), float(weights), int(count)))
        scales[subject.subject] = subject.scale
    series = []
    for title in sorted(by_subject):
        graded = sorted(by_subject[title])
        averages: list[float | None] = []
        for week in weeks:
            upto = [g for g in graded if g[0] < week + timedelta(days=7)]
            weight = sum(g[2] for g in upto)
            averages.append(sum(g[1] for g in upto) / weight if weight > 0 else None)
        series.append(
            ProgressSeries(title, scales[title], tuple(averages), sum(g[3] for g in graded))
        )
    header = Header(ReportKind.PROGRESS, school, span, today, class_name=last[3], student=name)
    return ProgressReport(header, student_id, tuple(weeks), tuple(series))
