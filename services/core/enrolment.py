"""Enrolment: which class a student is in on a day, and their current class.

An `Enrollment` row is one stay of a student in a class (a class belongs to one academic
year). Decisions, pinned by tests/test_core_rules.py:

* **A stay covers a day** when it had begun (``enrolled_on`` is empty or on or before the day)
  and not ended: ``left_on`` is the first day the student is *no longer* in the class (empty:
  still there). A student who moves on the 10th is in the old class on the 9th and in the new
  one from the 10th, never in both. A leaving or joining date recorded ahead of time takes
  effect on that day, not when it is typed in (the access policy, linking and the class lists
  used to drop a student as soon as any ``left_on`` was set, while the journal kept them
  until that day; the journal was right: the teacher still marks them until they go).
* **The current class** is the class of a *current* academic year (``is_current``: the one the
  school runs now, through the summer until it starts the next) whose stay covers the
  school-local today. A previous year's class is never current, even with no ``left_on`` (the
  access policy used to fall back to it); a student who left the school has none; a stay
  starting next week is not current yet. Should two stays cover the same day (a roster
  mistake), the latest enrolment wins, so every screen names the same one class.

SQL clauses (`covers_day`, `covers_period`, `current`) compose into queries when "today" is
known; where the school's zone only arrives with the rows, `stints` brings every current-year
stay with its school's zone in the same statement and `current_of`/`with_current` pick the
current one in Python by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AcademicYear, Enrollment, School, SchoolClass, Student
from services.core.schooltime import local_date, zone_of

# --- in SQL ----------------------------------------------------------------------------------


def covers_day(day: date, enrollment: Any = Enrollment) -> ColumnElement[bool]:
    """The stay covers the local date `day` (begun on or before it, not left by it)."""
    return and_(
        or_(enrollment.enrolled_on.is_(None), enrollment.enrolled_on <= day),
        or_(enrollment.left_on.is_(None), enrollment.left_on > day),
    )


def covers_period(
    starts_on: date, ends_on: date, enrollment: Any = Enrollment
) -> ColumnElement[bool]:
    """The stay covers at least one day of ``[starts_on, ends_on]`` (a reporting period)."""
    return and_(
        or_(enrollment.enrolled_on.is_(None), enrollment.enrolled_on <= ends_on),
        or_(enrollment.left_on.is_(None), enrollment.left_on > starts_on),
    )


def in_current_year(enrollment: Any = Enrollment) -> ColumnElement[bool]:
    """The stay is in a class of a current academic year."""
    clause: ColumnElement[bool] = enrollment.class_id.in_(
        select(SchoolClass.id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_current)
    )
    return clause


def school_classes(school_id: int | None) -> Select[int, str]:
    """(id, name) of the school's classes in its current academic year, in roster order
    (grade level, then name); callers narrow it to the classes an actor may open."""
    return (
        select(SchoolClass.id, SchoolClass.name)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_current, SchoolClass.school_id == school_id)
        .order_by(SchoolClass.grade_level, SchoolClass.name)
    )


def current(today: date, enrollment: Any = Enrollment) -> ColumnElement[bool]:
    """The stay is the student's current class on the school-local `today` (module docstring).
    Two overlapping stays both match here; `current_of` picks one where that matters."""
    return and_(in_current_year(enrollment), covers_day(today, enrollment))


# --- in Python, when the zone arrives with the rows --------------------------------------------


def stay_covers(enrolled_on: date | None, left_on: date | None, day: date) -> bool:
    """`covers_day` for values already loaded."""
    return (enrolled_on is None or enrolled_on <= day) and (left_on is None or left_on > day)


def stay_covers_period(
    enrolled_on: date | None, left_on: date | None, starts_on: date, ends_on: date
) -> bool:
    """`covers_period` for values already loaded."""
    return (enrolled_on is None or enrolled_on <= ends_on) and (
        left_on is None or left_on > starts_on
    )


@dataclass(frozen=True)
class Stint:
    """One stay in a class of a current year, with what screens show of the class."""

    enrollment_id: int
    class_id: int
    class_name: str
    class_teacher_id: int | None
    school_id: int
    enrolled_on: date | None
    left_on: date | None
    timezone: str | None

    def is_current(self, now: datetime) -> bool:
        """Covers the school-local today at the instant `now`."""
        return stay_covers(self.enrolled_on, self.left_on, local_date(now, zone_of(self.timezone)))


def stints() -> Subquery:
    """Every stay in a class of a current year with its class and its school's zone. Outer-join
    it on ``student_id`` and select `stint_columns`; `with_current` keeps the current one."""
    return (
        select(
            Enrollment.student_id,
            Enrollment.id.label("enrollment_id"),
            Enrollment.class_id,
            SchoolClass.name.label("class_name"),
            SchoolClass.class_teacher_id,
            SchoolClass.school_id,
            Enrollment.enrolled_on,
            Enrollment.left_on,
            School.timezone,
        )
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(AcademicYear.is_current)
        .subquery("stint")
    )


_STINT_FIELDS = (
    "enrollment_id",
    "class_id",
    "class_name",
    "class_teacher_id",
    "school_id",
    "enrolled_on",
    "left_on",
    "timezone",
)
#: How many columns `stint_columns` adds at the end of a row.
STINT_WIDTH = len(_STINT_FIELDS)


def stint_columns(stint: Subquery) -> list[Any]:
    """The columns of `stints` a query selects last, for `with_current` to read back."""
    return [stint.c[name] for name in _STINT_FIELDS]


def _stint(values: Sequence[Any]) -> Stint | None:
    if values[0] is None:  # the outer join found no stay
        return None
    return Stint(*values)


def current_of(candidates: Iterable[Stint | None], now: datetime) -> Stint | None:
    """The current class among a student's stays (module docstring): the one covering the
    school-local today; the latest enrolment if several do; None if none does."""
    live = [s for s in candidates if s is not None and s.is_current(now)]
    return max(live, key=lambda s: (s.enrolled_on or date.min, s.enrollment_id), default=None)


def with_current(rows: Iterable[Sequence[Any]], now: datetime) -> list[tuple[Any, Stint | None]]:
    """Rows ending with `stint_columns`, one per stay, folded into one per leading part (in
    first-seen order) with the current stay. The leading part is a tuple of the other
    columns (hashable: ORM objects, ids, names)."""
    groups: dict[tuple[Any, ...], list[Stint | None]] = {}
    for row in rows:
        lead = tuple(row[:-STINT_WIDTH])
        groups.setdefault(lead, []).append(_stint(tuple(row[-STINT_WIDTH:])))
    return [(lead, current_of(found, now)) for lead, found in groups.items()]


async def school_and_class(
    session: AsyncSession, student_id: int, *, now: datetime
) -> tuple[int, Stint | None] | None:
    """The student's school and current class (None: no such student); one statement."""
    stint = stints()
    rows = await session.execute(
        select(Student.school_id, *stint_columns(stint))
        .outerjoin(stint, stint.c.student_id == Student.id)
        .where(Student.id == student_id)
    )
    found = with_current(rows.all(), now)
    if not found:
        return None
    (school_id,), stay = found[0]
    return school_id, stay


async def current_class(session: AsyncSession, student_id: int, *, now: datetime) -> Stint | None:
    """The student's current class (None: in none, or no such student); one statement."""
    found = await school_and_class(session, student_id, now=now)
    return found[1] if found is not None else None
