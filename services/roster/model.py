"""`SchoolData`: a school's setup as plain values, the meeting point of every format.

Readers (the school workbook, CSV folders, OneRoster 1.2) produce it; writers and the export
produce files from it; the planner diffs it against the database. Nothing here does I/O.

Every row carries the `source_id` it came with (the workbook's id column, OneRoster's
`sourcedId`); references between rows are source ids too (a student's `class_id` is the
source id of a `ClassRow`), so a file is meaningful without the database. Readers resolve
nothing: a dangling reference is reported by `validate_references` as a `Problem`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time

from db.enums import GradeKind, PeriodKind, ScaleKind, SlotFrequency, StaffRole


@dataclass(frozen=True, slots=True)
class Where:
    """Where a value came from: a sheet or file, its 1-based line, a column (may be empty)."""

    sheet: str
    line: int
    column: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding; `key` is a message id of `services.roster.problems`
    (``"roster.bad_date"``), `params` fill it. Nothing is written while any problem exists."""

    where: Where
    key: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Note:
    """A count worth telling the admin that is not a problem (records skipped, files only
    checked): `key` is a message of `services.roster.problems` with ``{count}`` and ``{file}``
    placeholders."""

    file: str
    key: str
    count: int


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    name: str
    timezone: str = "Europe/Moscow"
    #: ISO 3166 region phones are read in when they lack a country code ("RU", "BY")
    phone_region: str = "RU"


@dataclass(frozen=True, slots=True)
class YearRow:
    source_id: str
    name: str  # "2026/2027"
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class PeriodRow:
    source_id: str
    kind: PeriodKind
    number: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class HolidayRow:
    source_id: str
    name: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class BellRow:
    """When lesson `lesson_number` starts and ends (one bell schedule per school)."""

    lesson_number: int
    starts_at: time
    ends_at: time


@dataclass(frozen=True, slots=True)
class ScaleRow:
    source_id: str  # the scale's code ("five", "pass_fail"), unique in the school
    kind: ScaleKind
    min_score: float
    max_score: float
    pass_score: float
    allow_modifiers: bool = False


@dataclass(frozen=True, slots=True)
class SubjectRow:
    source_id: str
    name: str
    short_name: str


@dataclass(frozen=True, slots=True)
class StaffRow:
    source_id: str
    full_name: str
    roles: tuple[StaffRole, ...]
    phone: str | None = None  # E.164 once read ("+79161234567")
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ClassRow:
    source_id: str
    name: str  # "7Б"
    grade_level: int
    class_teacher_id: str | None = None  # a StaffRow.source_id


@dataclass(frozen=True, slots=True)
class StudentRow:
    source_id: str
    full_name: str
    class_id: str  # a ClassRow.source_id
    birth_date: date | None = None


@dataclass(frozen=True, slots=True)
class GuardianRow:
    source_id: str
    full_name: str
    student_ids: tuple[str, ...]  # StudentRow.source_ids
    phone: str | None = None
    email: str | None = None
    relation: str | None = None  # "мать", "father", free text


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    """Teacher × class × subject, graded on `scale_id`."""

    source_id: str
    teacher_id: str
    class_id: str
    subject_id: str
    scale_id: str


@dataclass(frozen=True, slots=True)
class SlotRow:
    """One line of the weekly timetable; its lesson times come from the bells."""

    source_id: str
    weekday: int  # 1 = Monday … 7
    lesson_number: int
    class_id: str
    subject_id: str
    teacher_id: str
    room: str | None = None
    frequency: SlotFrequency = SlotFrequency.WEEKLY


@dataclass(frozen=True, slots=True)
class GradeRow:
    """One grade of an imported gradebook (a OneRoster result): `value` as written, checked
    against the scale of `assignment_id` by the planner. Grades with the same `lesson_id`
    (the lesson key) and `lesson_day` share one lesson of that assignment."""

    source_id: str
    assignment_id: str
    student_id: str
    lesson_id: str
    lesson_day: date
    day: date  # the day the grade was given
    value: str
    kind: GradeKind
    topic: str | None = None  # the lesson's topic, when the file names one
    comment: str | None = None


@dataclass(slots=True)
class SchoolData:
    """Everything a school is set up with; what is absent from a file is an empty tuple."""

    school: SchoolInfo
    year: YearRow | None = None
    periods: tuple[PeriodRow, ...] = ()
    holidays: tuple[HolidayRow, ...] = ()
    bells: tuple[BellRow, ...] = ()
    scales: tuple[ScaleRow, ...] = ()
    subjects: tuple[SubjectRow, ...] = ()
    staff: tuple[StaffRow, ...] = ()
    classes: tuple[ClassRow, ...] = ()
    students: tuple[StudentRow, ...] = ()
    guardians: tuple[GuardianRow, ...] = ()
    assignments: tuple[AssignmentRow, ...] = ()
    timetable: tuple[SlotRow, ...] = ()
    grades: tuple[GradeRow, ...] = ()
    #: where each row came from, by (kind, source_id), for problems found after reading
    origins: dict[tuple[str, str], Where] = field(default_factory=dict)

    def where(self, kind: str, source_id: str) -> Where:
        return self.origins.get((kind, source_id), Where(kind, 0))


def _refs(data: SchoolData) -> Iterator[tuple[str, str, str, str, str]]:
    """(kind, row source id, column, referenced kind, referenced source id) for every reference."""
    for c in data.classes:
        if c.class_teacher_id:
            yield "classes", c.source_id, "class_teacher_id", "staff", c.class_teacher_id
    for s in data.students:
        yield "students", s.source_id, "class_id", "classes", s.class_id
    for g in data.guardians:
        for student in g.student_ids:
            yield "guardians", g.source_id, "student_ids", "students", student
    for a in data.assignments:
        yield "assignments", a.source_id, "teacher_id", "staff", a.teacher_id
        yield "assignments", a.source_id, "class_id", "classes", a.class_id
        yield "assignments", a.source_id, "subject_id", "subjects", a.subject_id
        yield "assignments", a.source_id, "scale_id", "scales", a.scale_id
    for t in data.timetable:
        yield "timetable", t.source_id, "class_id", "classes", t.class_id
        yield "timetable", t.source_id, "subject_id", "subjects", t.subject_id
        yield "timetable", t.source_id, "teacher_id", "staff", t.teacher_id
    for grade in data.grades:
        yield "grades", grade.source_id, "assignment_id", "assignments", grade.assignment_id
        yield "grades", grade.source_id, "student_id", "students", grade.student_id


def source_ids(data: SchoolData, kind: str) -> set[str]:
    rows: tuple[object, ...] = getattr(data, kind)
    return {getattr(row, "source_id") for row in rows}  # noqa: B009


def validate_references(data: SchoolData) -> list[Problem]:
    """Problems for references to rows that are not in `data` (``roster.unknown_ref``)."""
    known = {
        kind: source_ids(data, kind)
        for kind in ("staff", "classes", "students", "subjects", "scales", "assignments")
    }
    problems = []
    for kind, row_id, column, target, target_id in _refs(data):
        if target_id not in known[target]:
            where = data.where(kind, row_id)
            problems.append(
                Problem(
                    Where(where.sheet, where.line, column),
                    "roster.unknown_ref",
                    (("target", target), ("id", target_id)),
                )
            )
    return problems


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a reader made of a file: `data` is to be used only when `ok` (no problem); a
    reader may still return what it could read next to its problems."""

    data: SchoolData | None
    problems: tuple[Problem, ...]
    notes: tuple[Note, ...] = ()

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.problems
