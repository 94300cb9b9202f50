"""The report objects: frozen dataclasses every format (text, Excel, PDF) is rendered from.

They hold figures and names only, never a label: the renderers translate. A report's
`Header` says what it covers (school, class or student, the period or date range, the day it
was made); the figures follow the rules in `services.core` (grading, visibility, enrolment).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from db.enums import PeriodKind
from services.core.grading import ScaleSpec
from services.diary.attendance import attended_share

__all__ = [
    "BUILT_KINDS",
    "AttendanceReport",
    "AttendanceRow",
    "AttendanceWeek",
    "CardLine",
    "Category",
    "Cell",
    "ClassSummary",
    "CoverageReport",
    "CoverageRow",
    "Distribution",
    "Header",
    "ProgressReport",
    "ProgressSeries",
    "Report",
    "ReportCard",
    "ReportKind",
    "RiskItem",
    "RiskReason",
    "RiskReport",
    "RiskThresholds",
    "SchoolLine",
    "SchoolSummary",
    "Span",
    "Stay",
    "SubjectColumn",
    "SubjectFigures",
    "SummaryRow",
    "When",
]


class ReportKind(enum.StrEnum):
    CLASS = "class"
    SCHOOL = "school"
    ATTENDANCE = "attendance"
    RISK = "risk"
    COVERAGE = "coverage"
    CARD = "card"
    PROGRESS = "progress"


#: the kinds this package builds (the others are planned: docs/reports.md)
BUILT_KINDS = (
    ReportKind.CLASS,
    ReportKind.SCHOOL,
    ReportKind.ATTENDANCE,
    ReportKind.RISK,
    ReportKind.CARD,
    ReportKind.COVERAGE,
    ReportKind.PROGRESS,
)


@dataclass(frozen=True)
class When:
    """Which time a report covers: a period of the school's year by id or by number (of the
    finest kind the school uses; 0 is the year itself), a date range, or (all empty) the
    current period as a family means it (`services.diary.periods.current_period`)."""

    period_id: int | None = None
    number: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None

    @classmethod
    def period(cls, number: int) -> When:
        return cls(number=number)

    @classmethod
    def between(cls, starts_on: date, ends_on: date) -> When:
        return cls(starts_on=starts_on, ends_on=ends_on)


@dataclass(frozen=True)
class Span:
    """The time a report covers, resolved: a period (with its id, for period grades) or a
    custom range (no period grades, only proposals)."""

    starts_on: date
    ends_on: date
    period_id: int | None = None
    kind: PeriodKind | None = None
    number: int | None = None
    year_period_id: int | None = None  # the year's own period, for the year grade

    @property
    def is_period(self) -> bool:
        return self.period_id is not None


@dataclass(frozen=True)
class Header:
    kind: ReportKind
    school: str
    span: Span
    made_on: date
    class_name: str | None = None
    class_teacher: str | None = None
    student: str | None = None


@dataclass(frozen=True)
class SubjectColumn:
    assignment_id: int
    subject: str
    short: str
    teacher: str
    scale: ScaleSpec


@dataclass(frozen=True)
class Cell:
    """One student in one subject: the weighted average of the grades that count, how many,
    the grade it proposes and the period grade the teacher set (None: not set)."""

    average: float | None
    count: int
    proposed: str | None
    final: str | None

    @property
    def result(self) -> str | None:
        """The period grade that counts: the set one, else the proposal."""
        return self.final if self.final is not None else self.proposed


@dataclass(frozen=True)
class Stay:
    """A student's days in the class within the span (None: from the start / to the end)."""

    joined_on: date | None
    left_on: date | None  # the first day no longer in the class


@dataclass(frozen=True)
class SummaryRow:
    student_id: int
    name: str
    stay: Stay
    cells: tuple[Cell, ...]
    absences: int
    successful: bool  # every subject has a passing result
    good: bool  # every subject has a good or excellent result


@dataclass(frozen=True)
class SubjectFigures:
    """A subject's column: the class average and the two shares (None: nobody graded)."""

    average: float | None
    success: float | None
    quality: float | None


@dataclass(frozen=True)
class ClassSummary:
    header: Header
    subjects: tuple[SubjectColumn, ...]
    rows: tuple[SummaryRow, ...]
    figures: tuple[SubjectFigures, ...]  # one per subject
    success: float | None  # успеваемость: share of students without a failing or missing result
    quality: float | None  # качество знаний: share with only good and excellent results


class Category(enum.StrEnum):
    """How a result (or a student over every subject) stands, whatever the scale."""

    GOOD = "good"  # good or excellent (`grading.is_good`)
    PASSING = "passing"  # passes, not good ("на 3")
    FAILING = "failing"
    NOT_GRADED = "not_graded"


@dataclass(frozen=True)
class Distribution:
    good: int
    passing: int
    failing: int
    not_graded: int


@dataclass(frozen=True)
class SchoolLine:
    """A class over every subject (`subject` None) or in one subject."""

    class_name: str
    subject: str | None
    students: int
    average: float | None  # a subject's class average (None for a whole class: scales differ)
    success: float | None
    quality: float | None
    distribution: Distribution
    previous_success: float | None  # the previous period of the same kind
    previous_quality: float | None


@dataclass(frozen=True)
class SchoolSummary:
    header: Header
    classes: tuple[SchoolLine, ...]
    lines: tuple[SchoolLine, ...]  # classes × subjects
    success: float | None
    quality: float | None
    previous: Span | None
    previous_success: float | None
    previous_quality: float | None


@dataclass(frozen=True)
class AttendanceRow:
    student_id: int | None  # None: the class total
    name: str
    lessons: int
    absent: int  # unexcused
    excused: int
    late: int
    late_minutes: int

    @property
    def missed(self) -> int:
        return self.absent + self.excused

    @property
    def present_share(self) -> float | None:
        """The share of lessons attended (late counts as attended); None without lessons."""
        return attended_share(self.lessons, self.missed)


@dataclass(frozen=True)
class AttendanceWeek:
    monday: date
    lessons: int  # student-lessons: each student's lessons of the week, added up
    missed: int

    @property
    def present_share(self) -> float | None:
        return attended_share(self.lessons, self.missed)


@dataclass(frozen=True)
class AttendanceReport:
    header: Header
    rows: tuple[AttendanceRow, ...]
    total: AttendanceRow
    busiest_days: tuple[tuple[date, int], ...]  # days with the most absences, most first
    weeks: tuple[AttendanceWeek, ...] = ()


class RiskReason(enum.StrEnum):
    FAILING = "failing"  # the period grade (set or proposed) does not pass
    BORDERLINE = "borderline"  # passes, but the average is just above the pass threshold
    NOT_GRADED = "not_graded"  # too few grades to be graded: не аттестован
    ABSENCES = "absences"  # missed more than the threshold share of lessons


@dataclass(frozen=True)
class RiskItem:
    student_id: int
    name: str
    reason: RiskReason
    subject: str | None  # None for absences (the whole timetable)
    average: float | None
    count: int
    value: str | None  # the period grade (set or proposed)
    missed_share: float | None = None


@dataclass(frozen=True)
class RiskThresholds:
    min_grades: int = 3
    borderline: float = 0.1  # share of the scale's width above the pass threshold
    absences: float = 0.3  # share of lessons missed


@dataclass(frozen=True)
class RiskReport:
    header: Header
    thresholds: RiskThresholds
    items: tuple[RiskItem, ...]  # by student, then reason

    @property
    def students(self) -> int:
        return len({item.student_id for item in self.items})


@dataclass(frozen=True)
class CoverageRow:
    student_id: int
    name: str
    stay: Stay
    counts: tuple[int, ...]  # grades per subject


@dataclass(frozen=True)
class CoverageReport:
    """Накопляемость: grades per student per subject, and per subject the lessons held and
    those in which nobody got a grade, so gaps are seen before the period closes."""

    header: Header
    subjects: tuple[SubjectColumn, ...]
    rows: tuple[CoverageRow, ...]
    lessons: tuple[int, ...]  # per subject
    ungraded_lessons: tuple[int, ...]  # per subject
    min_grades: int


@dataclass(frozen=True)
class ProgressSeries:
    """A subject's weighted average at the end of each week (None before its first grade)."""

    subject: str
    scale: ScaleSpec
    averages: tuple[float | None, ...]  # one per week of `ProgressReport.weeks`
    count: int


@dataclass(frozen=True)
class ProgressReport:
    header: Header
    student_id: int
    weeks: tuple[date, ...]  # Mondays
    series: tuple[ProgressSeries, ...]


@dataclass(frozen=True)
class CardLine:
    subject: str
    teacher: str
    average: float | None
    count: int
    period_value: str | None  # set, else proposed
    proposed_only: bool  # the value is a proposal, not set by the teacher yet
    year_value: str | None
    scale: ScaleSpec


@dataclass(frozen=True)
class ReportCard:
    header: Header
    student_id: int
    lines: tuple[CardLine, ...]
    attendance: AttendanceRow | None  # None: the reader may not see attendance


Report = (
    ClassSummary
    | SchoolSummary
    | AttendanceReport
    | RiskReport
    | ReportCard
    | CoverageReport
    | ProgressReport
)
