"""A new school year (`services.people.newyear`, `parta year new`), on both databases: the dry
run writes nothing; applying it promotes classes, moves enrolments, graduates the last grade
(links ended, history kept) and carries guardians and trusted persons over untouched; it is
refused before the year is over and a second time; the diary of a promoted student works on
the first day of the new year and last year's grades stay readable.

The world has fixed dates (the 2025/2026 year, 1 Sep – 31 May) and the service is given
"today"; the bot's screens run on a clock travelled to the first day of the new year."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli_year import YearRefused, _n, describe, refusal_text, year_new
from db.enums import CodeKind, GradeKind, LinkMethod, PeriodKind, RequestStatus, ScaleKind
from db.models import (
    AcademicYear,
    AccessCode,
    Account,
    AuditEntry,
    Enrollment,
    Grade,
    GradingScale,
    Guardianship,
    Lesson,
    LinkRequest,
    Period,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    TrustedAccess,
)
from services.core import enrolment
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.people.newyear import (
    YearPlan,
    next_year_dates,
    plan_new_year,
    shift_year,
    start_new_year,
    successor_name,
)
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot

OLD_START, OLD_END = date(2025, 9, 1), date(2026, 5, 31)
QUARTERS = [
    (date(2025, 9, 1), date(2025, 10, 26)),
    (date(2025, 11, 5), date(2025, 12, 28)),
    (date(2026, 1, 12), date(2026, 3, 22)),
    (date(2026, 3, 30), date(2026, 5, 31)),
]
SUMMER = date(2026, 6, 15)  # the old year is over
GRADE_DAY = date(2026, 3, 10)
FIRST_DAY = date(2026, 9, 1)  # the new year's first day
FIRST_MORNING = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # 10:00 in Moscow

# Telegram ids
ADMIN, TEACHER, PETR, PARENT, TUTOR, GRAD, GRAD_PARENT, GRAD_TUTOR, APPLICANT = range(7101, 7110)


@dataclass
class World:
    school_id: int
    year_id: int
    teacher_id: int
    classes: dict[str, int]
    students: dict[str, int]
    accounts: dict[int, int]  # Telegram id → account id
    links: dict[str, int]  # "petr_parent", "petr_tutor", "grad_parent", "grad_tutor" → row id
    code_id: int
    used_code_id: int
    request_id: int
    grade_id: int


async def make_world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """A school in 2025/2026 (is_current): 7Б (Пётр, and Мария who left in March), 10A (Анна),
    11А (Гоша and Вера: they graduate), «Кружок» (a class without a number: Кира). Пётр has a
    parent, a tutor and a grade in March; Гоша a parent, a tutor, an unused parent code, a used
    student code and a pending link request."""
    async with session_factory() as session:
        school = School(name="Школа <№ 1>", timezone="Europe/Moscow")
        session.add(school)
        await session.flush()
        year = AcademicYear(
            school_id=school.id,
            name="2025/2026",
            starts_on=OLD_START,
            ends_on=OLD_END,
            is_current=True,
        )
        session.add(year)
        await session.flush()
        for number, (start, end) in enumerate(QUARTERS, 1):
            session.add(
                Period(
                    year_id=year.id,
                    kind=PeriodKind.QUARTER,
                    number=number,
                    starts_on=start,
                    ends_on=end,
                    closed_at=datetime.combine(end, time(12), tzinfo=UTC),
                )
            )
        session.add(
            Period(
                year_id=year.id,
                kind=PeriodKind.YEAR,
                number=1,
                starts_on=OLD_START,
                ends_on=OLD_END,
            )
        )
        accounts = {
            tid: Account(telegram_id=tid, full_name=name, phone="+79990000000")
            for tid, name in [
                (ADMIN, "Админ"),
                (TEACHER, "Классная Руководительница"),
                (PETR, "Пётр Иванов"),
                (PARENT, "Ирина Иванова"),
                (TUTOR, "Репетитор"),
                (GRAD, "Вера Выпускница"),
                (GRAD_PARENT, "Родитель Выпускника"),
                (GRAD_TUTOR, "Бабушка Выпускника"),
                (APPLICANT, "Заявитель"),
            ]
        }
        session.add_all(accounts.values())
        await session.flush()
        teacher = Staff(school_id=school.id, account_id=accounts[TEACHER].id, full_name="Классная")
        session.add(teacher)
        await session.flush()
        classes = {
            name: SchoolClass(
                school_id=school.id,
                year_id=year.id,
                name=name,
                grade_level=grade,
                class_teacher_id=teacher.id if name == "7Б" else None,
            )
            for name, grade in [("7Б", 7), ("10A", 10), ("11А", 11), ("Кружок", 5)]
        }
        session.add_all(classes.values())
        await session.flush()
        students = {
            key: Student(
                school_id=school.id,
                full_name=name,
                account_id=accounts[tid].id if tid else None,
            )
            for key, name, tid in [
                ("petr", "Пётр Иванов", PETR),
                ("maria", "Мария Ушедшая", None),
                ("anna", "Анна Десятая", None),
                ("gosha", "Гоша Выпускник", None),
                ("vera", "Вера Выпускница", GRAD),
                ("kira", "Кира Кружковая", None),
            ]
        }
        session.add_all(students.values())
        await session.flush()
        for key, cls, left_on in [
            ("petr", "7Б", None),
            ("maria", "7Б", date(2026, 3, 1)),
            ("anna", "10A", None),
            ("gosha", "11А", None),
            ("vera", "11А", None),
            ("kira", "Кружок", None),
        ]:
            session.add(
                Enrollment(
                    student_id=students[key].id,
                    class_id=classes[cls].id,
                    enrolled_on=OLD_START,
                    left_on=left_on,
                )
            )
        links = {
            "petr_parent": Guardianship(
                student_id=students["petr"].id,
                account_id=accounts[PARENT].id,
                method=LinkMethod.DEMO,
            ),
            "petr_tutor": TrustedAccess(
                student_id=students["petr"].id,
                granted_by_id=accounts[PARENT].id,
                account_id=accounts[TUTOR].id,
                label="Репетитор",
                scopes=15,
                accepted_at=datetime(2025, 10, 1, tzinfo=UTC),
            ),
            "grad_parent": Guardianship(
                student_id=students["gosha"].id,
                account_id=accounts[GRAD_PARENT].id,
                method=LinkMethod.DEMO,
            ),
            "grad_tutor": TrustedAccess(
                student_id=students["gosha"].id,
                granted_by_id=accounts[GRAD_PARENT].id,
                account_id=accounts[GRAD_TUTOR].id,
                label="Бабушка",
                scopes=15,
                accepted_at=datetime(2025, 10, 1, tzinfo=UTC),
            ),
        }
        session.add_all(links.values())
        accounts[PARENT].current_student_id = students["petr"].id
        accounts[GRAD_PARENT].current_student_id = students["gosha"].id
        far = datetime(2027, 1, 1, tzinfo=UTC)
        code = AccessCode(
            school_id=school.id,
            code_hash="a" * 64,
            key_id="k1",
            kind=CodeKind.PARENT,
            student_id=students["gosha"].id,
            expires_at=far,
        )
        used = AccessCode(
            school_id=school.id,
            code_hash="b" * 64,
            key_id="k1",
            kind=CodeKind.STUDENT,
            student_id=students["vera"].id,
            expires_at=far,
            used_at=datetime(2025, 9, 2, tzinfo=UTC),
            used_by_id=accounts[GRAD].id,
        )
        session.add_all([code, used])
        await session.flush()
        request = LinkRequest(
            student_id=students["gosha"].id, account_id=accounts[APPLICANT].id, code_id=code.id
        )
        session.add(request)
        scale = GradingScale(
            school_id=school.id,
            code="five",
            kind=ScaleKind.FIVE,
            min_score=1,
            max_score=5,
            pass_score=3,
        )
        math_ = Subject(school_id=school.id, name="Математика", short_name="Мат")
        session.add_all([scale, math_])
        await session.flush()
        assignment = TeachingAssignment(
            teacher_id=teacher.id, class_id=classes["7Б"].id, subject_id=math_.id, scale_id=scale.id
        )
        session.add(assignment)
        await session.flush()
        lesson = Lesson(
            assignment_id=assignment.id,
            class_id=classes["7Б"].id,
            subject_id=math_.id,
            date=GRADE_DAY,
            lesson_number=2,
            starts_at=time(9, 0),
            ends_at=time(9, 45),
        )
        session.add(lesson)
        await session.flush()
        grade = Grade(
            student_id=students["petr"].id,
            lesson_id=lesson.id,
            assignment_id=assignment.id,
            subject_id=math_.id,
            date=GRADE_DAY,
            value="5",
            score=5.0,
            kind=GradeKind.CLASSWORK,
            author_id=teacher.id,
        )
        session.add(grade)
        await session.flush()
        world = World(
            school_id=school.id,
            year_id=year.id,
            teacher_id=teacher.id,
            classes={k: v.id for k, v in classes.items()},
            students={k: v.id for k, v in students.items()},
            accounts={k: v.id for k, v in accounts.items()},
            links={k: v.id for k, v in links.items()},
            code_id=code.id,
            used_code_id=used.id,
            request_id=request.id,
            grade_id=grade.id,
        )
        await session.commit()
    return world


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory)


@contextmanager
def travelled(moment: datetime) -> Iterator[None]:
    """The whole process's clock (the bot's and the fake Bot API's) at `moment`, ticking."""
    with time_machine.travel(moment, tick=True):
        yield


async def _plan(session_factory: async_sessionmaker[AsyncSession], today: date) -> YearPlan:
    async with session_factory() as session:
        return await plan_new_year(session, today=today)


async def _start(
    session_factory: async_sessionmaker[AsyncSession], today: date, world: World
) -> YearPlan:
    async with session_factory() as session:
        return await start_new_year(session, today=today, actor_account_id=world.accounts[ADMIN])


# --- pure rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("7Б", "8Б"),
        ("10A", "11A"),
        ("9", "10"),
        ("5 «А»", "6 «А»"),
        ("07Б", "8Б"),
        ("Кружок", None),
        ("Б7", None),
        ("9" + "x" * 15, None),  # "10x…" would not fit the name column
    ],
)
def test_successor_name_bumps_the_leading_number(name: str, expected: str | None) -> None:
    assert successor_name(name) == expected


def test_the_next_year_has_the_shape_of_this_one_a_year_later() -> None:
    assert next_year_dates(OLD_START, OLD_END) == (date(2026, 9, 1), date(2027, 5, 31))
    assert shift_year(date(2028, 2, 29)) == date(2029, 2, 28)
    # a year that ran into the next September still starts after it ended
    assert next_year_dates(date(2025, 8, 1), date(2026, 9, 30)) == (
        date(2026, 10, 1),
        date(2027, 9, 30),
    )


# --- the dry run ----------------------------------------------------------------------------


async def test_the_dry_run_plans_everything_and_writes_nothing(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    before = await db_snapshot(session_factory)
    plan = await _plan(session_factory, date(2026, 4, 1))  # may be read before the year ends
    await assert_unchanged(session_factory, before, "plan_new_year")
    assert (plan.name, plan.starts_on, plan.ends_on) == ("2026/2027", FIRST_DAY, date(2027, 5, 31))
    assert (plan.current.name, plan.switch_on, plan.ready_on) == (
        "2025/2026",
        date(2026, 6, 1),
        date(2026, 6, 1),
    )
    assert not plan.ready(OLD_END)
    assert plan.ready(plan.ready_on)
    assert [(p.kind, p.number, p.starts_on, p.ends_on) for p in plan.periods] == [
        (PeriodKind.QUARTER, 1, date(2026, 9, 1), date(2026, 10, 26)),
        (PeriodKind.QUARTER, 2, date(2026, 11, 5), date(2026, 12, 28)),
        (PeriodKind.QUARTER, 3, date(2027, 1, 12), date(2027, 3, 22)),
        (PeriodKind.QUARTER, 4, date(2027, 3, 30), date(2027, 5, 31)),
        (PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31)),
    ]
    assert [(p.name, p.new_name, p.new_grade_level, p.students) for p in plan.promotions] == [
        ("Кружок", "Кружок", 6, 1),
        ("7Б", "8Б", 8, 1),  # Мария left in March: not carried
        ("10A", "11A", 11, 1),
    ]
    assert plan.promotions[1].class_teacher_id == world.teacher_id
    assert [(g.name, g.students) for g in plan.graduations] == [
        ("11А", ("Вера Выпускница", "Гоша Выпускник"))
    ]
    assert plan.graduates == ("Вера Выпускница", "Гоша Выпускник")
    assert (plan.promoted, plan.left) == (3, 1)
    assert (plan.ended.guardianships, plan.ended.trusted, plan.ended.codes) == (1, 1, 1)
    assert plan.ended.requests == 1
    assert [(w.key, w.subject) for w in plan.warnings] == [("unnumbered_name", "Кружок")]
    assert plan.new_year_id is None
    lines = list(describe(plan, today=SUMMER, applied=False))
    assert "  7Б → 8Б (1 student)" in lines
    assert any("Гоша Выпускник" in line for line in lines)
    assert lines[-1] == "dry run: nothing written"


async def test_the_last_grade_is_a_choice(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        plan = await plan_new_year(session, today=SUMMER, last_grade=10)
    assert [g.name for g in plan.graduations] == ["10A", "11А"]
    assert [p.name for p in plan.promotions] == ["Кружок", "7Б"]
    async with session_factory() as session:
        with pytest.raises(DomainError) as refused:
            await plan_new_year(session, today=SUMMER, last_grade=13)
    assert refused.value.key == "year.bad_last_grade"


# --- applying it ----------------------------------------------------------------------------


async def test_starting_the_year_promotes_graduates_and_keeps_history(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    before = await db_snapshot(session_factory)
    plan = await _start(session_factory, SUMMER, world)
    assert plan.new_year_id is not None
    async with session_factory() as session:
        years = (await session.scalars(select(AcademicYear).order_by(AcademicYear.id))).all()
        assert [(y.name, y.is_current) for y in years] == [
            ("2025/2026", False),
            ("2026/2027", True),
        ]
        new_year = years[1]
        assert (new_year.id, new_year.starts_on, new_year.ends_on) == (
            plan.new_year_id,
            FIRST_DAY,
            date(2027, 5, 31),
        )
        periods = (await session.scalars(select(Period).where(Period.year_id == new_year.id))).all()
        assert len(periods) == 5
        assert all(p.closed_at is None for p in periods)
        new_classes = {
            c.name: c
            for c in await session.scalars(
                select(SchoolClass).where(SchoolClass.year_id == new_year.id)
            )
        }
        assert {n: c.grade_level for n, c in new_classes.items()} == {
            "8Б": 8,
            "11A": 11,
            "Кружок": 6,
        }
        assert new_classes["8Б"].class_teacher_id == world.teacher_id
        stays = {
            (e.student_id, e.class_id): (e.enrolled_on, e.left_on)
            for e in await session.scalars(select(Enrollment))
        }
        s, c = world.students, world.classes
        switch = date(2026, 6, 1)
        assert stays == {
            (s["petr"], c["7Б"]): (OLD_START, switch),
            (s["petr"], new_classes["8Б"].id): (switch, None),
            (s["maria"], c["7Б"]): (OLD_START, date(2026, 3, 1)),  # left: untouched
            (s["anna"], c["10A"]): (OLD_START, switch),
            (s["anna"], new_classes["11A"].id): (switch, None),
            (s["gosha"], c["11А"]): (OLD_START, switch),
            (s["vera"], c["11А"]): (OLD_START, switch),
            (s["kira"], c["Кружок"]): (OLD_START, switch),
            (s["kira"], new_classes["Кружок"].id): (switch, None),
        }
        # the current class follows the year: 8Б through the summer and on the first day
        for day in (SUMMER, FIRST_DAY):
            moment = datetime.combine(day, time(9), tzinfo=UTC)
            stay = await enrolment.current_class(session, s["petr"], now=moment)
            assert stay is not None
            assert stay.class_name == "8Б"
            assert await enrolment.current_class(session, s["gosha"], now=moment) is None
        # teaching assignments and the timetable are not carried
        carried = await session.scalar(
            select(func.count())
            .select_from(TeachingAssignment)
            .where(TeachingAssignment.class_id.in_([c.id for c in new_classes.values()]))
        )
        assert carried == 0
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == AuditAction.YEAR_NEW)
        )
        assert entry is not None
        assert (entry.actor_id, entry.entity_id) == (world.accounts[ADMIN], new_year.id)
        assert entry.new is not None
        assert entry.new["graduated"] == 2
    await _check_links(session_factory, world, before)


async def _check_links(
    session_factory: async_sessionmaker[AsyncSession], world: World, before: object
) -> None:
    """The graduates' links ended (rows kept), the promoted student's untouched."""
    assert isinstance(before, dict)
    async with session_factory() as session:
        grad_link = await session.get(Guardianship, world.links["grad_parent"])
        grad_grant = await session.get(TrustedAccess, world.links["grad_tutor"])
        assert grad_link is not None
        assert grad_grant is not None
        assert grad_link.revoked_at is not None
        assert grad_link.revoked_by_id == world.accounts[ADMIN]
        assert grad_grant.revoked_at is not None
        code = await session.get(AccessCode, world.code_id)
        assert code is not None
        assert code.revoked_at is not None
        used = await session.get(AccessCode, world.used_code_id)
        assert used is not None
        assert used.revoked_at is None, "a used code is history"
        request = await session.get(LinkRequest, world.request_id)
        assert request is not None
        assert request.status == RequestStatus.CANCELLED
        grad_parent = await session.get(Account, world.accounts[GRAD_PARENT])
        assert grad_parent is not None
        assert grad_parent.current_student_id is None
        assert grad_parent.full_name == "", "no link left: personal data forgotten"
        vera = await session.get(Student, world.students["vera"])
        assert vera is not None
        assert vera.account_id == world.accounts[GRAD]
        grade = await session.get(Grade, world.grade_id)
        assert grade is not None
        assert grade.value == "5"
        assert grade.deleted_at is None
    # the promoted family's rows are exactly as they were
    after = await db_snapshot(session_factory)
    for table, key in [
        ("guardianships", world.links["petr_parent"]),
        ("trusted_access", world.links["petr_tutor"]),
        ("accounts", world.accounts[PARENT]),
        ("accounts", world.accounts[TUTOR]),
        ("grades", world.grade_id),
    ]:
        old = [r for r in before[table] if ("id", key) in r]
        new = [r for r in after[table] if ("id", key) in r]
        assert old, (table, key)
        assert old == new, (table, key)


async def test_it_is_refused_before_the_year_is_over_and_a_second_time(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    before = await db_snapshot(session_factory)
    async with session_factory() as session:
        with pytest.raises(DomainError) as early:
            await start_new_year(session, today=OLD_END, actor_account_id=None)
    assert early.value.key == "year.not_over"
    assert early.value.details["ready_on"] == date(2026, 6, 1)
    await assert_unchanged(session_factory, before, "refused early")

    await _start(session_factory, SUMMER, world)
    once = await db_snapshot(session_factory)
    for today in (SUMMER, FIRST_DAY):
        async with session_factory() as session:
            with pytest.raises(DomainError) as again:
                await start_new_year(session, today=today, actor_account_id=None)
        assert again.value.key == "year.not_over"
        assert again.value.details["name"] == "2026/2027"
    await assert_unchanged(session_factory, once, "second run")
    assert "2026/2027 runs until 31 May 2027" in refusal_text(again.value)


async def test_a_later_year_on_file_or_a_name_clash_is_refused(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        session.add(
            SchoolClass(school_id=world.school_id, year_id=world.year_id, name="07Б", grade_level=7)
        )
        await session.commit()
    before = await db_snapshot(session_factory)
    async with session_factory() as session:
        with pytest.raises(DomainError) as clash:
            await start_new_year(session, today=SUMMER, actor_account_id=None)
    assert (clash.value.key, clash.value.details["names"]) == ("year.name_clash", "8Б")
    async with session_factory() as session:
        session.add(
            AcademicYear(
                school_id=world.school_id,
                name="2026/2027",
                starts_on=FIRST_DAY,
                ends_on=date(2027, 5, 31),
                is_current=False,
            )
        )
        await session.commit()
    before = await db_snapshot(session_factory)
    async with session_factory() as session:
        with pytest.raises(DomainError) as later:
            await start_new_year(session, today=SUMMER, actor_account_id=None)
    assert (later.value.key, later.value.details["name"]) == ("year.next_exists", "2026/2027")
    await assert_unchanged(session_factory, before, "next year on file")


# --- the console command --------------------------------------------------------------------


def _args(*, dry_run: bool, last_grade: int = 11) -> argparse.Namespace:
    return argparse.Namespace(dry_run=dry_run, last_grade=last_grade, school=None)


async def test_the_console_command_plans_applies_and_refuses(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    before = await db_snapshot(session_factory)
    with travelled(datetime.combine(SUMMER, time(7), tzinfo=UTC)):
        dry = await year_new(db_url, "Europe/Moscow", _args(dry_run=True))
        await assert_unchanged(session_factory, before, "--dry-run")
        assert dry[0] == (
            "Школа <№ 1>: school year 2025/2026 → 2026/2027 (2026-09-01 – 2027-05-31); "
            "students move on 2026-06-01"
        )
        assert dry[-1] == "dry run: nothing written"
        with pytest.raises(YearRefused, match="between 1 and 12"):
            await year_new(db_url, "Europe/Moscow", _args(dry_run=False, last_grade=0))
        await assert_unchanged(session_factory, before, "bad --last-grade")
        done = await year_new(db_url, "Europe/Moscow", _args(dry_run=False))
        assert done[-1] == "school year 2026/2027 started and is now the current year"
        with pytest.raises(YearRefused) as again:
            await year_new(db_url, "Europe/Moscow", _args(dry_run=False))
    assert str(again.value) == (
        "The school year 2026/2027 runs until 31 May 2027: a new year can be started from "
        "1 June 2027."
    )


# --- the diary after the switch --------------------------------------------------------------


async def test_the_diary_works_on_the_first_day_and_last_year_stays_readable(
    app: App, world: World
) -> None:
    await _start(app.session_factory, SUMMER, world)
    with travelled(FIRST_MORNING):
        parent = app.user(PARENT, language_code="en")
        await parent.send("/today")
        assert parent.last.text.startswith(
            "📅 Tuesday, 1 September · today\n👤 Пётр Иванов, 8Б\n\nNo lessons this day."
        )
        await parent.send("/grades")
        summary = parent.last
        text = summary.text  # the screen is edited in place as buttons are pressed
        assert text.startswith("📊 Grades · Quarter 1 (1 Sep – 26 Oct)\n👤 Пётр Иванов, 8Б")
        assert "Математика" not in text, "nothing graded in the new year yet"
        await parent.press(summary, text="🗂 Earlier years")
        years = parent.last.text
        assert "2026/2027 — current" in years
        assert "2025/2026" in years
        await parent.press(summary, text="2025/2026")
        old = parent.last.text
        assert old.startswith(
            "📊 Grades · School year (1 Sep – 31 May) · 2025/2026\n👤 Пётр Иванов, 7Б"
        )
        assert "Математика     5.00    (5)" in old
        # the period picker lists last year's periods
        assert {"Q1", "Q2", "Q3", "Q4", "• Year"} <= set(parent.last.button_texts())
        await parent.press(summary, text="Q3")
        q3 = parent.last.text
        assert q3.startswith("📊 Grades · Quarter 3 (12 Jan – 22 Mar) · 2025/2026")
        assert "Математика     5.00    (5)" in q3
        await parent.press(summary, text="Мат")
        assert "10 Mar — 5 · classwork" in parent.last.text

        student = app.user(PETR, language_code="en")
        await student.send("/week")
        assert "Tuesday, 1 Sep · today\nno lessons" in student.last.text
        for command, opening in [
            ("/homework", "📝 Homework · upcoming\nNothing due"),
            ("/attendance", "🚸 Attendance · Quarter 1 (1 Sep – 26 Oct)\nLessons held so far: 0"),
            ("/schedule", "🕘 Timetable, week of 31 August"),
            ("/tomorrow", "📅 Wednesday, 2 September\nNo lessons this day."),
        ]:
            await student.send(command)
            lines = "\n".join(line for line in student.last.text.splitlines() if line)
            assert lines.startswith(opening), (command, student.last.text)

        # the class teacher follows her class into the new year
        teacher = app.user(TEACHER, language_code="en")
        await teacher.send("/classes")
        assert teacher.last.button_texts() == ["8Б", "« Back"]

        # a graduate's parent lost the link and is told so
        grad_parent = app.user(GRAD_PARENT, language_code="en")
        await grad_parent.send("/today")
        assert "Your link to Гоша Выпускник's diary was revoked" in grad_parent.last.text
        # a graduate keeps their own account and reads their last year
        graduate = app.user(GRAD, language_code="en")
        await graduate.send("/grades")
        assert graduate.last.text.startswith("📊 Grades · School year (1 Sep – 31 May) · 2025/2026")
        await graduate.send("/today")
        assert "outside the school year" in graduate.last.text
    assert app.fake.errors == []
    assert app.fake.unanswered_callbacks() == []


@pytest.mark.real_clock  # `parta` runs in another process, on the real clock
async def test_parta_year_new_exits_cleanly(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], world: World, tmp_path: Path
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow")).date()
    async with session_factory() as session:
        year = await session.get(AcademicYear, world.year_id)
        assert year is not None
        year.starts_on, year.ends_on = today - timedelta(days=300), today - timedelta(days=2)
        await session.commit()
    before = await db_snapshot(session_factory)
    dry = _parta(tmp_path, db_url, "year", "new", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "  7Б → 8Б (1 student)" in dry.stdout.splitlines()
    await assert_unchanged(session_factory, before, "parta year new --dry-run")
    done = _parta(tmp_path, db_url, "year", "new", "--last-grade", "11")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("started and is now the current year")
    once = await db_snapshot(session_factory)
    again = _parta(tmp_path, db_url, "year", "new")
    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    # besides the migration's log lines: the one line of the refusal
    said = [line for line in again.stderr.splitlines() if " INFO " not in line]
    assert len(said) == 1, again.stderr
    assert said[0].startswith("parta: The school year ")
    await assert_unchanged(session_factory, once, "refused runs")


def _parta(tmp_path: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(DATABASE_URL=db_url, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_console_words_counts() -> None:
    assert [_n(1, "class"), _n(2, "class"), _n(0, "student"), _n(1, "student")] == [
        "1 class",
        "2 classes",
        "0 students",
        "1 student",
    ]


async def test_another_school_on_the_server_is_left_alone(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        other = School(name="Другая школа", timezone="Asia/Yekaterinburg")
        session.add(other)
        await session.flush()
        year = AcademicYear(
            school_id=other.id,
            name="2025/2026",
            starts_on=OLD_START,
            ends_on=OLD_END,
            is_current=True,
        )
        session.add(year)
        await session.flush()
        cls = SchoolClass(school_id=other.id, year_id=year.id, name="7Б", grade_level=7)
        session.add(cls)
        await session.flush()
        student = Student(school_id=other.id, full_name="Чужой Ученик")
        session.add(student)
        await session.flush()
        session.add(Enrollment(student_id=student.id, class_id=cls.id, enrolled_on=OLD_START))
        await session.commit()
        other_id = other.id
    async with session_factory() as session:
        with pytest.raises(DomainError) as which:
            await plan_new_year(session, today=SUMMER)
    assert which.value.key == "year.choose_school"
    before = await db_snapshot(session_factory)
    async with session_factory() as session:
        plan = await start_new_year(
            session, today=SUMMER, actor_account_id=None, school_id=world.school_id
        )
    assert plan.promoted == 3
    after = await db_snapshot(session_factory)
    for table in ("academic_years", "classes"):
        theirs = [r for r in before[table] if ("school_id", other_id) in r]
        assert theirs == [r for r in after[table] if ("school_id", other_id) in r]
    assert [r for r in before["enrollments"] if ("student_id", student.id) in r] == [
        r for r in after["enrollments"] if ("student_id", student.id) in r
    ]
