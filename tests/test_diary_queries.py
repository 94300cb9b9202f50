"""Each diary screen costs a fixed number of SQL statements, whatever the size of the school:
the same presses and commands are counted on a small demo school and on a bigger one (more
students, more weeks of lessons, grades and homework), on SQLite and PostgreSQL, through the
whole update path (the middlewares' actor and locale included; BEGIN and COMMIT are not
statements), and none takes more than five.

The "last opened" stamp a command writes for a parent (`services.diary.record_opened`) is
counted apart: it is bookkeeping, not the screen, and leaves the request path with the
in-memory batch of issue 12."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import MenuCb, Screen
from bot.callbacks.diary import (
    AttendanceCb,
    DayCb,
    GradesCb,
    HomeworkCb,
    HomeworkItemCb,
    ReportCb,
    ScheduleCb,
    WeekCb,
)
from db.models import Account, Enrollment, Homework, Student, Subject
from services.demo import DEMO_TELEGRAM_IDS, seed_demo
from tests.conftest import clear_tables
from tests.harness import App

#: the same figures on any day: run once, not on each date CI travels to
pytestmark = pytest.mark.undated

# Statements per screen, middlewares included (the actor takes one).
BOUND = 5
#: the "last opened" stamp's UPDATEs (see the module docstring)
STAMP = "last_opened_at"


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _screen_statements(statements: list[str]) -> int:
    """How many of the statements belong to the screen (the stamp left out)."""
    return len([s for s in statements if STAMP not in s])


async def _ids(app: App) -> tuple[int, int, int]:
    """The demo student, one of their subjects and one of their class's homework."""
    async with app.session_factory() as session:
        student_id = await session.scalar(
            select(Student.id)
            .join(Account, Account.id == Student.account_id)
            .where(Account.telegram_id == DEMO_TELEGRAM_IDS["student"])
        )
        subject_id = await session.scalar(select(Subject.id).where(Subject.name == "Математика"))
        homework_id = await session.scalar(
            select(Homework.id)
            .join(Enrollment, Enrollment.class_id == Homework.class_id)
            .where(Enrollment.student_id == student_id)
            .order_by(Homework.id.desc())
        )
    assert student_id
    assert subject_id
    assert homework_id
    return student_id, subject_id, homework_id


async def _measure(app: App, engine: AsyncEngine) -> dict[str, int]:
    student_id, subject_id, homework_id = await _ids(app)
    presses = {
        "menu": MenuCb(screen=Screen.DIARY),
        "day": DayCb(student_id=student_id),
        "day_long_ago": DayCb(student_id=student_id, day=date(2001, 9, 3).toordinal()),
        "week": WeekCb(student_id=student_id),
        "grades_entry": GradesCb(student_id=student_id, entry=True),
        "grades": GradesCb(student_id=student_id),
        "grades_subject": GradesCb(student_id=student_id, subject_id=subject_id),
        "homework": HomeworkCb(student_id=student_id),
        "homework_subject": HomeworkCb(student_id=student_id, subject_id=subject_id),
        "homework_item": HomeworkItemCb(student_id=student_id, homework_id=homework_id),
        "schedule": ScheduleCb(student_id=student_id),
        "attendance": AttendanceCb(student_id=student_id),
        "report": ReportCb(student_id=student_id),
    }
    commands = ["/today", "/tomorrow", "/week", "/grades", "/homework", "/attendance"]
    counts: dict[str, int] = {}
    for role in ("parent", "student"):
        user = app.user(DEMO_TELEGRAM_IDS[role], language_code="en")
        await user.send("/start")
        target = user.last
        for name, data in presses.items():
            with counting(engine) as statements:
                await user.press(target, data=data.pack())
            assert user.callback_answers[-1].get("show_alert") is not True, (role, name)
            counts[f"{role}:{name}"] = _screen_statements(statements)
        for command in commands:
            with counting(engine) as statements:
                await user.send(command)
            assert user.last is not None, (role, command)
            assert user.last.text, (role, command)
            counts[f"{role}:{command}"] = _screen_statements(statements)
    assert app.fake.errors == []
    return counts


async def test_diary_screens_cost_the_same_on_a_small_and_a_bigger_school(
    app: App, engine: AsyncEngine
) -> None:
    await seed_demo(app.session_factory, students=30, weeks=4)  # a holiday fits in four
    small = await _measure(app, engine)
    await clear_tables(engine)
    await seed_demo(app.session_factory, students=250, weeks=10)
    big = await _measure(app, engine)
    assert small == big
    assert max(small.values()) <= BOUND, small
