"""The year's lessons from an imported timetable, and regenerating them when it changes.

One rule makes lessons from slots: `services.core.timetable.generate_lessons` (school days of
the year, holidays skipped, odd and even weeks counted from the ISO week holding the year's
first day, as the demo school does). What this module decides is *which dates* to (re)make:

* **A class with no lessons yet** (a first import, a new class) gets the lessons of the whole
  year, from its first day: nothing there can be lost.
* **Otherwise only the future is remade**: lessons dated after `today` (tomorrow on) whose
  class's timetable changed are deleted and generated again from the slots now in force.
  Today's lessons are left alone even when nothing was entered yet: a teacher may be in the
  middle of one. A future lesson that already holds teachers' work (grades, attendance,
  homework, a topic, a cancellation or a replacement teacher) is kept as it is; the generator
  does not add a second lesson at the same assignment, date and lesson number.
* Past lessons and their grades are never touched.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, delete, exists
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Attendance, Grade, Homework, Lesson
from services.core.timetable import generate_lessons


@dataclass(frozen=True)
class Regenerated:
    deleted: int
    created: int


def first_future_day(today: date, year_start: date) -> date:
    """The first date a timetable change remakes lessons from: tomorrow, or the year's
    first day if it has not begun."""
    return max(today + timedelta(days=1), year_start)


def untouched() -> list[ColumnElement[bool]]:
    """SQL: the lesson holds no teacher's work (module docstring)."""
    return [
        ~exists().where(Grade.lesson_id == Lesson.id),
        ~exists().where(Attendance.lesson_id == Lesson.id),
        ~exists().where(Homework.lesson_id == Lesson.id),
        Lesson.topic.is_(None),
        Lesson.cancelled.is_(False),
        Lesson.replacement_teacher_id.is_(None),
    ]


async def regenerate(
    session: AsyncSession,
    *,
    class_ids: Collection[int],
    fresh: Collection[int],
    year_start: date,
    year_end: date,
    today: date,
) -> Regenerated:
    """Remake the lessons of `class_ids` (module docstring); `fresh` are those that had no
    lessons before this import. A fixed number of statements; does not commit."""
    old = sorted(set(class_ids) - set(fresh))
    start = first_future_day(today, year_start)
    deleted = 0
    if old:
        result = await session.execute(
            delete(Lesson)
            .where(Lesson.class_id.in_(old), Lesson.date >= start, *untouched())
            .execution_options(synchronize_session=False)
        )
        deleted = int(getattr(result, "rowcount", 0) or 0)
    created = 0
    if fresh:
        created += await generate_lessons(
            session, class_ids=sorted(fresh), start=year_start, end=year_end
        )
    if old:
        created += await generate_lessons(session, class_ids=old, start=start, end=year_end)
    return Regenerated(deleted, created)
