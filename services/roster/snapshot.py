"""The school as it is now, as a `SchoolData`: what the exporters write and the planner diffs.

`load` reads every roster table once (a fixed number of statements, whatever the size of the
school) and keeps, next to the picture, the database ids the applier needs. `snapshot` is the
picture alone.

Decisions:

* **Effective source ids.** A row imported from a file keeps its id (``source_id``); a row made
  here (the demo school, rows added before migration 008) has none and is named ``#<id>``
  (`local_id`), so an exported school re-imports onto the same rows. Grading scales are named
  by their ``code``; bells by their lesson number.
* **What "now" holds.** The current academic year (or the one a file names) with its periods,
  classes, assignments and the timetable slots still in force after `today`; the school's
  holidays within the year; staff and guardians not marked as left; students with a stay in a
  class of the year that covers `today` or starts later. Everything else (leavers, ended
  slots) is kept in `Loaded.ids` so the same person or slot coming back is recognised.
* Lists (a staff member's roles, a guardian's students) are sorted (`normalized`), so two
  pictures of the same school compare equal whatever order a file lists them in.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AcademicYear,
    Bell,
    Enrollment,
    GradingScale,
    Guardian,
    Holiday,
    Lesson,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TimetableSlot,
)
from services.core import enrolment
from services.core.schooltime import local_today, zone_of
from services.roster.model import (
    AssignmentRow,
    BellRow,
    ClassRow,
    GuardianRow,
    HolidayRow,
    PeriodRow,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    SlotRow,
    StaffRow,
    StudentRow,
    SubjectRow,
    YearRow,
)

Row = TypeVar("Row")

#: the prefix of the id of a row that came with no source id (`local_id`)
LOCAL = "#"


def local_id(source_id: str | None, row_id: int) -> str:
    """The row's source id, or ``#<id>`` for a row made here."""
    return source_id if source_id else f"{LOCAL}{row_id}"


def normalized(row: Row) -> Row:
    """The row with its lists sorted and deduplicated (roles, a guardian's students)."""
    if isinstance(row, StaffRow):
        return dataclasses.replace(row, roles=tuple(sorted(set(row.roles))))
    if isinstance(row, GuardianRow):
        return dataclasses.replace(row, student_ids=tuple(sorted(set(row.student_ids))))
    return row


def rows_by_id(rows: Iterable[Row]) -> dict[str, Row]:
    """Rows by their source id."""
    return {str(getattr(r, "source_id")): r for r in rows}  # noqa: B009


@dataclass
class Stay:
    """A student's enrolment in a class of the loaded year (its fields are the columns of
    `Enrollment` of the same name)."""

    id: int
    student_id: int
    class_id: int
    enrolled_on: date | None
    left_on: date | None


@dataclass
class Loaded:
    """The database's roster: the picture (`data`) and the ids behind it.

    `ids` maps (kind, effective source id) to the row's id for every row of the school and
    year, shown in `data` or not (leavers, ended slots); `stays` lists the loaded year's
    enrolments by student id; `years` every year of the school by source id.
    """

    data: SchoolData
    today: date
    school_id: int | None = None
    year_id: int | None = None
    years: dict[str, YearRow] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    stays: dict[int, list[Stay]] = field(default_factory=lambda: defaultdict(list))
    #: guardian id → {student id: student_guardians row id}
    links: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    #: staff id → roles granted
    roles: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: timetable slot id → its class id (slots of the loaded year)
    slot_class: dict[int, int] = field(default_factory=dict)
    #: classes of the loaded year that have lessons
    classes_with_lessons: set[int] = field(default_factory=set)
    #: every holiday of the school (`data` holds those within the year)
    all_holidays: tuple[HolidayRow, ...] = ()

    def id_of(self, kind: str, source_id: str) -> int | None:
        return self.ids.get((kind, source_id))


async def snapshot(
    session: AsyncSession, *, today: date | None = None, school_id: int | None = None
) -> SchoolData:
    """The school as it is on `today` (default: the school's today), current year; the school
    `school_id` (an admin's own, with several schools on the server), else the first one.

    An empty database gives a `SchoolData` with an empty school name and nothing else.
    """
    return (await load(session, today=today, school_id=school_id)).data


async def load(
    session: AsyncSession,
    *,
    today: date | None = None,
    year_source_id: str | None = None,
    school_id: int | None = None,
) -> Loaded:
    """Read the roster (module docstring) of the school `school_id`, else of the first school
    (the console's; a server with several schools must name one: an admin's roster is their
    own school's, never the first one's). The year is the one whose effective source id is
    `year_source_id` (none if the school has no such year: a new year starts empty), or
    the current one when it is None."""
    query = select(School).order_by(School.id).limit(1)
    if school_id is not None:
        query = select(School).where(School.id == school_id)
    school = await session.scalar(query)
    if school is None and school_id is not None:
        raise LookupError(f"no school {school_id}")
    if school is None:
        return Loaded(SchoolData(SchoolInfo("")), today or local_today(zone_of(None)))
    today = today or local_today(zone_of(school.timezone))
    info = SchoolInfo(school.name, school.timezone, school.phone_region)
    loaded = Loaded(SchoolData(info), today, school.id)
    year = await _years(session, loaded, year_source_id)
    data = loaded.data
    data.bells = await _bells(session, school.id)
    data.scales = await _scales(session, loaded)
    data.subjects = await _subjects(session, loaded)
    data.staff = await _staff(session, loaded)
    data.guardians = await _guardians(session, loaded)  # students' ids filled below
    holidays = loaded.all_holidays = await _holidays(session, loaded)
    if year is not None:
        data.year = year
        data.periods = await _periods(session, loaded)
        data.holidays = tuple(
            h for h in holidays if h.starts_on <= year.ends_on and h.ends_on >= year.starts_on
        )
        data.classes = await _classes(session, loaded)
    data.students = await _students(session, loaded)
    if year is not None:
        data.assignments = await _assignments(session, loaded)
        data.timetable = await _slots(session, loaded)
    students = {row.source_id for row in data.students}
    data.guardians = tuple(
        dataclasses.replace(g, student_ids=tuple(s for s in g.student_ids if s in students))
        for g in data.guardians
    )
    return loaded


def _remember(loaded: Loaded, kind: str, source_id: str | None, row_id: int) -> str:
    sid = local_id(source_id, row_id)
    loaded.ids[kind, sid] = row_id
    return sid


#: a table of the school's rows that `_remembered` reads
Kept = TypeVar("Kept", Subject, Holiday, Staff, Guardian, Student)


async def _remembered(
    session: AsyncSession, loaded: Loaded, model: type[Kept], kind: str
) -> list[tuple[str, Kept]]:
    """Every row of `model` in the school (leavers too) by id, with its effective source id,
    each remembered under `kind`."""
    rows = await session.scalars(
        select(model).where(model.school_id == loaded.school_id).order_by(model.id)
    )
    return [(_remember(loaded, kind, r.source_id, r.id), r) for r in rows]


async def _years(session: AsyncSession, loaded: Loaded, wanted: str | None) -> YearRow | None:
    rows = await session.scalars(
        select(AcademicYear).where(AcademicYear.school_id == loaded.school_id)
    )
    chosen: tuple[YearRow, int] | None = None
    for y in rows:
        sid = _remember(loaded, "year", y.source_id, y.id)
        row = YearRow(sid, y.name, y.starts_on, y.ends_on)
        loaded.years[sid] = row
        if sid == wanted or (wanted is None and y.is_current):
            chosen = (row, y.id)
    if chosen is None:
        return None
    loaded.year_id = chosen[1]
    return chosen[0]


async def _bells(session: AsyncSession, school_id: int) -> tuple[BellRow, ...]:
    rows = await session.scalars(
        select(Bell).where(Bell.school_id == school_id).order_by(Bell.lesson_number)
    )
    return tuple(BellRow(b.lesson_number, b.starts_at, b.ends_at) for b in rows)


async def _scales(session: AsyncSession, loaded: Loaded) -> tuple[ScaleRow, ...]:
    rows = await session.scalars(
        select(GradingScale)
        .where(GradingScale.school_id == loaded.school_id)
        .order_by(GradingScale.id)
    )
    out = []
    for s in rows:
        loaded.ids["scales", s.code] = s.id
        out.append(scale_row(s))
    return tuple(out)


def scale_row(s: GradingScale) -> ScaleRow:
    """A scale as a row (named by its code); the gradebook export lists the same rows."""
    low, high, passing = float(s.min_score), float(s.max_score), float(s.pass_score)
    return ScaleRow(s.code, s.kind, low, high, passing, bool(s.allow_modifiers))


async def _subjects(session: AsyncSession, loaded: Loaded) -> tuple[SubjectRow, ...]:
    rows = await _remembered(session, loaded, Subject, "subjects")
    return tuple(SubjectRow(sid, s.name, s.short_name) for sid, s in rows)


async def _staff(session: AsyncSession, loaded: Loaded) -> tuple[StaffRow, ...]:
    grants = await session.execute(
        select(StaffRoleGrant.staff_id, StaffRoleGrant.role)
        .join(Staff, Staff.id == StaffRoleGrant.staff_id)
        .where(Staff.school_id == loaded.school_id)
    )
    for staff_id, role in grants:
        loaded.roles[staff_id].add(role)
    out = []
    for sid, s in await _remembered(session, loaded, Staff, "staff"):
        if s.left_on is None:
            roles = tuple(sorted(loaded.roles[s.id]))
            out.append(StaffRow(sid, s.full_name, roles, s.phone, s.email))  # type: ignore[arg-type]
    return tuple(out)


async def _guardians(session: AsyncSession, loaded: Loaded) -> tuple[GuardianRow, ...]:
    links = await session.execute(
        select(
            StudentGuardian.id,
            StudentGuardian.guardian_id,
            StudentGuardian.student_id,
            StudentGuardian.relation,
            Student.source_id,
        )
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Guardian.school_id == loaded.school_id)
        .order_by(StudentGuardian.id)
    )
    students: dict[int, list[str]] = defaultdict(list)
    relation: dict[int, str] = {}
    for link_id, guardian_id, student_id, rel, student_sid in links:
        loaded.links[guardian_id][student_id] = link_id
        students[guardian_id].append(local_id(student_sid, student_id))
        if rel and guardian_id not in relation:
            relation[guardian_id] = rel
    out = []
    for sid, g in await _remembered(session, loaded, Guardian, "guardians"):
        if g.left_on is None:
            ids = tuple(sorted(set(students[g.id])))
            out.append(GuardianRow(sid, g.full_name, ids, g.phone, g.email, relation.get(g.id)))
    return tuple(out)


async def _periods(session: AsyncSession, loaded: Loaded) -> tuple[PeriodRow, ...]:
    rows = await session.scalars(
        select(Period).where(Period.year_id == loaded.year_id).order_by(Period.id)
    )
    return tuple(
        PeriodRow(
            _remember(loaded, "periods", p.source_id, p.id),
            p.kind,
            p.number,
            p.starts_on,
            p.ends_on,
        )
        for p in rows
    )


async def _holidays(session: AsyncSession, loaded: Loaded) -> tuple[HolidayRow, ...]:
    rows = await _remembered(session, loaded, Holiday, "holidays")
    return tuple(HolidayRow(sid, h.name, h.starts_on, h.ends_on) for sid, h in rows)


async def _classes(session: AsyncSession, loaded: Loaded) -> tuple[ClassRow, ...]:
    rows = (
        await session.execute(
            select(SchoolClass, Staff.source_id)
            .outerjoin(Staff, Staff.id == SchoolClass.class_teacher_id)
            .where(SchoolClass.year_id == loaded.year_id)
            .order_by(SchoolClass.id)
        )
    ).all()
    out = []
    for c, teacher_sid in rows:
        sid = _remember(loaded, "classes", c.source_id, c.id)
        teacher = None
        if c.class_teacher_id is not None:
            teacher = local_id(teacher_sid, c.class_teacher_id)
        out.append(ClassRow(sid, c.name, c.grade_level, teacher))
    return tuple(out)


def _class_sids(loaded: Loaded) -> dict[int, str]:
    return {loaded.ids["classes", c.source_id]: c.source_id for c in loaded.data.classes}


def current_stay(stays: list[Stay], today: date) -> Stay | None:
    """The stay that covers `today` or starts later (the latest enrolment wins), else None:
    the student is not in a class of the year (left, or never enrolled)."""
    live = [s for s in stays if s.left_on is None or s.left_on > today]
    covering = [s for s in live if enrolment.stay_covers(s.enrolled_on, s.left_on, today)]
    pool = covering or live
    return max(pool, key=lambda s: (s.enrolled_on or date.min, s.id), default=None)


async def _students(session: AsyncSession, loaded: Loaded) -> tuple[StudentRow, ...]:
    columns = [getattr(Enrollment, f.name) for f in dataclasses.fields(Stay)]  # for Stay(*row)
    stays = await session.execute(
        select(*columns)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(SchoolClass.year_id == loaded.year_id)
    )
    if loaded.year_id is not None:
        for row in stays:
            loaded.stays[row.student_id].append(Stay(*row))
    class_sids = _class_sids(loaded)
    out = []
    for sid, s in await _remembered(session, loaded, Student, "students"):
        stay = current_stay(loaded.stays.get(s.id, []), loaded.today)
        if stay is not None:
            out.append(StudentRow(sid, s.full_name, class_sids[stay.class_id], s.birth_date))
    return tuple(out)


#: a query of any columns
AnySelect = Select[*tuple[Any, ...]]


def _of_year(query: AnySelect, loaded: Loaded) -> AnySelect:
    """`query`, which reaches `TeachingAssignment`, kept to the classes of the loaded year,
    with the source ids of each assignment's teacher and subject as its last two columns."""
    return (
        query.add_columns(Staff.source_id, Subject.source_id)
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .join(Staff, Staff.id == TeachingAssignment.teacher_id)
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .where(SchoolClass.year_id == loaded.year_id)
    )


async def _assignments(session: AsyncSession, loaded: Loaded) -> tuple[AssignmentRow, ...]:
    scales = select(TeachingAssignment, GradingScale.code).join(
        GradingScale, GradingScale.id == TeachingAssignment.scale_id
    )
    query = _of_year(scales, loaded).order_by(TeachingAssignment.id)
    rows = (await session.execute(query)).all()
    class_sids = _class_sids(loaded)
    out = []
    for a, scale, teacher_sid, subject_sid in rows:
        out.append(
            AssignmentRow(
                _remember(loaded, "assignments", a.source_id, a.id),
                local_id(teacher_sid, a.teacher_id),
                class_sids[a.class_id],
                local_id(subject_sid, a.subject_id),
                scale,
            )
        )
    return tuple(out)


async def _slots(session: AsyncSession, loaded: Loaded) -> tuple[SlotRow, ...]:
    slots = select(
        TimetableSlot,
        TeachingAssignment.class_id,
        TeachingAssignment.teacher_id,
        TeachingAssignment.subject_id,
    ).join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
    query = _of_year(slots, loaded).order_by(TimetableSlot.id)
    rows = (await session.execute(query)).all()
    class_sids = _class_sids(loaded)
    out = []
    for slot, class_id, teacher_id, subject_id, teacher_sid, subject_sid in rows:
        sid = local_id(slot.source_id, slot.id)
        loaded.slot_class[slot.id] = class_id
        if slot.valid_to is not None and slot.valid_to <= loaded.today:
            loaded.ids.setdefault(("timetable", sid), slot.id)  # ended; a live one wins
            continue
        loaded.ids["timetable", sid] = slot.id
        out.append(
            SlotRow(
                sid,
                slot.weekday,
                slot.lesson_number,
                class_sids[class_id],
                local_id(subject_sid, subject_id),
                local_id(teacher_sid, teacher_id),
                slot.room,
                slot.frequency,
            )
        )
    with_lessons = await session.scalars(
        select(Lesson.class_id)
        .distinct()
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(SchoolClass.year_id == loaded.year_id)
    )
    loaded.classes_with_lessons = set(with_lessons)
    return tuple(out)
