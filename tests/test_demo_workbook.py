"""The demo school comes through the roster importer from the workbook shipped with the package:
the file reads cleanly and is what the generator makes, the seeded school is that roster
(its export gives it back, importing the workbook again changes nothing), and a demo seeded in
another school year moves the workbook's calendar there."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEntry, School, Staff, Student
from services.demo import DEMO_SCHOOL_NAME, OtherSchool, seed_demo
from services.demo.content import Calendar
from services.demo.roster import (
    DEFAULT_SEED,
    REFERENCE_YEAR,
    STAFF_IDS,
    STUDENT_IDS,
    WORKBOOK,
    calendar_rows,
    demo_roster,
    load_roster,
)
from services.roster import plan_import, snapshot
from services.roster.model import SchoolData
from services.roster.workbook import read_school

TODAY = date(2026, 11, 27)  # in the workbook's own school year
KINDS = [f.name for f in dataclasses.fields(SchoolData) if f.name != "origins"]


def _same(left: SchoolData, right: SchoolData) -> None:
    for kind in KINDS:
        assert getattr(left, kind) == getattr(right, kind), kind


def test_the_shipped_workbook_is_what_the_generator_writes() -> None:
    """`python -m bot.demo_workbook` rewrites it after a change of the demo's content."""
    result = read_school(WORKBOOK)
    assert result.problems == ()
    assert result.notes == ()
    assert result.data is not None
    _same(result.data, demo_roster())
    data = result.data
    assert data.year is not None
    assert data.year.starts_on == date(REFERENCE_YEAR, 9, 1)
    assert len(data.students) == 75
    assert {c.name for c in data.classes} == {"5A", "7B", "9C"}
    sids = {s.source_id for s in data.staff}
    assert set(STAFF_IDS.values()) <= sids
    assert set(STUDENT_IDS.values()) <= {s.source_id for s in data.students}


def test_another_school_year_gets_its_own_calendar_and_the_same_children() -> None:
    shipped = load_roster(75, DEFAULT_SEED, REFERENCE_YEAR)
    later = load_roster(75, DEFAULT_SEED, REFERENCE_YEAR + 1)
    year, periods, holidays = calendar_rows(Calendar(REFERENCE_YEAR + 1))
    assert (later.year, later.periods, later.holidays) == (year, periods, holidays)
    assert later.year is not None
    assert later.year.name == f"{REFERENCE_YEAR + 1}/{REFERENCE_YEAR + 2}"
    for before, after in zip(shipped.students, later.students, strict=True):
        assert before.birth_date is not None
        assert after.birth_date is not None
        assert (after.birth_date - before.birth_date).days in (365, 366)
        assert dataclasses.replace(after, birth_date=None) == dataclasses.replace(
            before, birth_date=None
        )
    _same(
        dataclasses.replace(later, year=None, periods=(), holidays=(), students=()),
        dataclasses.replace(shipped, year=None, periods=(), holidays=(), students=()),
    )


def test_other_sizes_are_generated_in_memory() -> None:
    small = load_roster(30, DEFAULT_SEED, REFERENCE_YEAR)
    assert len(small.students) == 30
    assert small.year == demo_roster().year


async def test_the_seeded_school_is_the_imported_workbook(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    result = await seed_demo(session_factory, today=TODAY)
    assert result.created
    async with session_factory() as session:
        # the school as exported is exactly the workbook: every row kept its source id
        _same(await snapshot(session, today=TODAY), demo_roster())
        # importing the workbook again changes nothing, as for any school
        plan = await plan_import(session, demo_roster(), today=TODAY)
        assert plan.problems == ()
        assert plan.is_noop
        # the import is audited like any other; the demo's people are linked to their accounts
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        linked = await session.execute(select(Staff.source_id).where(Staff.account_id.is_not(None)))
        assert set(linked.scalars()) == set(STAFF_IDS.values())
        student = await session.scalar(
            select(Student.source_id).where(Student.account_id.is_not(None))
        )
        assert student == STUDENT_IDS["student"]


async def test_a_database_with_another_school_is_left_alone(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        session.add(School(name="Гимназия № 1", timezone="Europe/Moscow"))
    with pytest.raises(OtherSchool, match="Гимназия № 1"):
        await seed_demo(session_factory, today=TODAY)
    async with session_factory() as session:
        names = list(await session.scalars(select(School.name)))
        assert names == ["Гимназия № 1"]
        assert DEMO_SCHOOL_NAME not in names
        assert not await session.scalar(select(func.count()).select_from(Student))
