"""Week parity, slot rules and lesson generation (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.enums import ScaleKind, SlotFrequency
from db.models import (
    AcademicYear,
    GradingScale,
    Holiday,
    Lesson,
    School,
    SchoolClass,
    Staff,
    Subject,
    TeachingAssignment,
    TimetableSlot,
)
from services.core.timetable import generate_lessons, slot_applies, week_number, week_parity

YEAR_START = date(2026, 9, 1)  # a Tuesday: week 1 is Mon 31 Aug – Sun 6 Sep
YEAR_END = date(2027, 5, 31)


# --- pure rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 8, 31), 1),
        (date(2026, 9, 1), 1),
        (date(2026, 9, 6), 1),
        (date(2026, 9, 7), 2),
        (date(2026, 9, 13), 2),
        (date(2026, 9, 14), 3),
        (date(2026, 12, 31), 18),
        (date(2027, 1, 4), 19),
        (date(2026, 8, 30), 0),
    ],
)
def test_week_number(day: date, week: int) -> None:
    assert week_number(day, YEAR_START) == week


def test_week_parity() -> None:
    assert week_parity(date(2026, 9, 1), YEAR_START) is SlotFrequency.ODD
    assert week_parity(date(2026, 9, 7), YEAR_START) is SlotFrequency.EVEN
    assert week_parity(date(2026, 9, 18), YEAR_START) is SlotFrequency.ODD
    # a year starting on a Monday: the first week is that week
    assert week_parity(date(2025, 9, 1), date(2025, 9, 1)) is SlotFrequency.ODD
    assert week_parity(date(2025, 9, 8), date(2025, 9, 1)) is SlotFrequency.EVEN


def test_week_parity_crosses_the_new_year_without_resetting() -> None:
    # ISO week numbers restart in January; the school's count does not
    assert week_number(date(2027, 1, 11), YEAR_START) == 20
    assert week_parity(date(2027, 1, 11), YEAR_START) is SlotFrequency.EVEN


@pytest.mark.parametrize(
    ("frequency", "weekday", "valid_from", "valid_to", "day", "expected"),
    [
        (SlotFrequency.WEEKLY, 1, YEAR_START, None, date(2026, 9, 7), True),
        (SlotFrequency.WEEKLY, 2, YEAR_START, None, date(2026, 9, 7), False),  # a Monday
        (SlotFrequency.ODD, 2, YEAR_START, None, date(2026, 9, 1), True),
        (SlotFrequency.ODD, 2, YEAR_START, None, date(2026, 9, 8), False),
        (SlotFrequency.EVEN, 2, YEAR_START, None, date(2026, 9, 8), True),
        (SlotFrequency.EVEN, 2, YEAR_START, None, date(2026, 9, 15), False),
        ("odd", 2, YEAR_START, None, date(2026, 9, 15), True),
        (SlotFrequency.WEEKLY, 1, date(2026, 9, 10), None, date(2026, 9, 7), False),
        (SlotFrequency.WEEKLY, 1, YEAR_START, date(2026, 9, 13), date(2026, 9, 14), False),
        (SlotFrequency.WEEKLY, 1, YEAR_START, date(2026, 9, 14), date(2026, 9, 14), True),
        (SlotFrequency.WEEKLY, 7, YEAR_START, None, date(2026, 9, 6), True),
    ],
)
def test_slot_applies(
    frequency: SlotFrequency | str,
    weekday: int,
    valid_from: date,
    valid_to: date | None,
    day: date,
    expected: bool,
) -> None:
    assert slot_applies(frequency, weekday, valid_from, valid_to, day, YEAR_START) is expected


# --- generating lessons -----------------------------------------------------------------


@dataclass
class Setup:
    school_id: int
    class_id: int
    other_class_id: int
    maths: int  # assignment ids
    physics: int
    chemistry: int
    other_maths: int
    weekly_slot: int


async def _setup(session: AsyncSession) -> Setup:
    school = School(name="Тестовая школа")
    session.add(school)
    await session.flush()
    year = AcademicYear(
        school_id=school.id, name="2026/2027", starts_on=YEAR_START, ends_on=YEAR_END
    )
    scale = GradingScale(
        school_id=school.id, code="five", kind=ScaleKind.FIVE, min_score=1, max_score=5,
        pass_score=3, allow_modifiers=True,
    )  # fmt: skip
    teacher = Staff(school_id=school.id, full_name="Иванова Анна Петровна")
    subjects = [
        Subject(school_id=school.id, name=name, short_name=name[:4])
        for name in ("Математика", "Физика", "Химия")
    ]
    session.add_all([year, scale, teacher, *subjects])
    await session.flush()
    class_a = SchoolClass(school_id=school.id, year_id=year.id, name="7B", grade_level=7)
    class_b = SchoolClass(school_id=school.id, year_id=year.id, name="8A", grade_level=8)
    session.add_all([class_a, class_b])
    await session.flush()

    def assignment(cls: SchoolClass, subject: Subject) -> TeachingAssignment:
        return TeachingAssignment(
            teacher_id=teacher.id, class_id=cls.id, subject_id=subject.id, scale_id=scale.id
        )

    maths, physics, chemistry = (assignment(class_a, s) for s in subjects)
    other_maths = assignment(class_b, subjects[0])
    session.add_all([maths, physics, chemistry, other_maths])
    await session.flush()

    def slot(
        a: TeachingAssignment, weekday: int, number: int, frequency: SlotFrequency
    ) -> TimetableSlot:
        return TimetableSlot(
            assignment_id=a.id,
            weekday=weekday,
            lesson_number=number,
            starts_at=time(8, 30) if number == 1 else time(9, 25),
            ends_at=time(9, 15) if number == 1 else time(10, 10),
            room="204",
            frequency=frequency,
            valid_from=YEAR_START,
            valid_to=YEAR_END,
        )

    weekly = slot(maths, 1, 1, SlotFrequency.WEEKLY)
    session.add_all(
        [
            weekly,
            slot(physics, 2, 2, SlotFrequency.ODD),
            slot(chemistry, 2, 2, SlotFrequency.EVEN),
            slot(other_maths, 3, 1, SlotFrequency.WEEKLY),
        ]
    )
    await session.flush()
    return Setup(
        school.id, class_a.id, class_b.id, maths.id, physics.id, chemistry.id,
        other_maths.id, weekly.id,
    )  # fmt: skip


async def _lessons(session: AsyncSession, assignment_id: int) -> list[date]:
    rows = await session.scalars(
        select(Lesson.date).where(Lesson.assignment_id == assignment_id).order_by(Lesson.date)
    )
    return list(rows)


async def test_generates_weekly_odd_and_even_lessons(session: AsyncSession) -> None:
    s = await _setup(session)
    created = await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 30)
    )
    assert await _lessons(session, s.maths) == [date(2026, 9, d) for d in (7, 14, 21, 28)]
    assert await _lessons(session, s.physics) == [date(2026, 9, d) for d in (1, 15, 29)]
    assert await _lessons(session, s.chemistry) == [date(2026, 9, d) for d in (8, 22)]
    assert await _lessons(session, s.other_maths) == []  # another class
    assert created == 9


async def test_lesson_copies_the_slot(session: AsyncSession) -> None:
    s = await _setup(session)
    await generate_lessons(session, class_ids=None, start=date(2026, 9, 7), end=date(2026, 9, 7))
    lesson = await session.scalar(select(Lesson))
    assert lesson is not None
    assert (lesson.assignment_id, lesson.class_id, lesson.slot_id) == (
        s.maths, s.class_id, s.weekly_slot,
    )  # fmt: skip
    subject = await session.scalar(
        select(TeachingAssignment.subject_id).where(TeachingAssignment.id == s.maths)
    )
    assert lesson.subject_id == subject
    assert (lesson.date, lesson.lesson_number) == (date(2026, 9, 7), 1)
    assert (lesson.starts_at, lesson.ends_at, lesson.room) == (time(8, 30), time(9, 15), "204")
    assert lesson.cancelled is False
    assert lesson.topic is None


async def test_all_classes_when_class_ids_is_none(session: AsyncSession) -> None:
    s = await _setup(session)
    created = await generate_lessons(
        session, class_ids=None, start=date(2026, 9, 7), end=date(2026, 9, 13)
    )
    assert created == 3  # Mon maths, Tue chemistry (even week), Wed the other class
    assert await _lessons(session, s.other_maths) == [date(2026, 9, 9)]
    assert await generate_lessons(session, class_ids=[], start=YEAR_START, end=YEAR_END) == 0


async def test_holidays_are_skipped(session: AsyncSession) -> None:
    s = await _setup(session)
    session.add(
        Holiday(
            school_id=s.school_id,
            name="Каникулы",
            starts_on=date(2026, 9, 14),
            ends_on=date(2026, 9, 15),
        )
    )
    other = School(name="Другая школа")
    session.add(other)
    await session.flush()
    session.add(  # another school's holiday changes nothing here
        Holiday(school_id=other.id, name="Х", starts_on=YEAR_START, ends_on=YEAR_END)
    )
    await session.flush()
    await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 30)
    )
    assert await _lessons(session, s.maths) == [date(2026, 9, d) for d in (7, 21, 28)]
    assert await _lessons(session, s.physics) == [date(2026, 9, d) for d in (1, 29)]


async def test_dates_outside_the_academic_year_are_skipped(session: AsyncSession) -> None:
    s = await _setup(session)
    created = await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 8, 17), end=date(2026, 9, 8)
    )
    assert created == 3
    assert await _lessons(session, s.maths) == [date(2026, 9, 7)]  # not Mon 31 Aug
    late = await generate_lessons(
        session, class_ids=[s.class_id], start=date(2027, 5, 24), end=date(2027, 6, 30)
    )
    assert late == 3  # Mon 24 May, Tue 25 May, Mon 31 May; nothing in June
    dates = await _lessons(session, s.maths)
    assert dates[-2:] == [date(2027, 5, 24), date(2027, 5, 31)]


async def test_slot_validity_range(session: AsyncSession) -> None:
    s = await _setup(session)
    slot = await session.get(TimetableSlot, s.weekly_slot)
    assert slot is not None
    slot.valid_from = date(2026, 9, 10)
    slot.valid_to = date(2026, 9, 22)
    await session.flush()
    await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 30)
    )
    assert await _lessons(session, s.maths) == [date(2026, 9, 14), date(2026, 9, 21)]


async def test_generation_is_idempotent(session: AsyncSession) -> None:
    s = await _setup(session)
    first = await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 15)
    )
    await session.commit()
    again = await generate_lessons(
        session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 15)
    )
    wider = await generate_lessons(
        session, class_ids=None, start=date(2026, 9, 1), end=date(2026, 9, 30)
    )
    await session.commit()
    total = await session.scalar(select(func.count()).select_from(Lesson))
    assert (first, again) == (5, 0)
    assert wider == 4 + 5  # 7B from 16 to 30 Sep, and every Wednesday of September in 8A
    assert total == first + wider


async def test_end_before_start_creates_nothing(session: AsyncSession) -> None:
    await _setup(session)
    assert await generate_lessons(
        session, class_ids=None, start=date(2026, 9, 30), end=date(2026, 9, 1)
    ) == 0  # fmt: skip


@contextmanager
def _count_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def test_query_count_does_not_grow_with_the_range(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    s = await _setup(session)
    with _count_queries(engine) as week:
        small = await generate_lessons(
            session, class_ids=[s.class_id], start=date(2026, 9, 1), end=date(2026, 9, 6)
        )
    with _count_queries(engine) as year:
        large = await generate_lessons(session, class_ids=None, start=YEAR_START, end=YEAR_END)
    assert small == 1
    assert large > 60
    assert len(week) == len(year) == 2  # slots (with holidays, existing lessons), bulk insert
