"""Each journal screen costs a fixed number of SQL statements, whatever the size of the school:
the teacher's /journal, a day, the lesson card and its rosters, a student's sheet, the lesson's
homework, an assignment's lessons and its period grades, counted through the whole update
(middlewares included) on a small demo school and a bigger one, on SQLite and PostgreSQL;
none takes more than five. A press that writes (a grade, an attendance mark) is the write, its
audit and its notification plus the screen; it is counted too, to stay the same size."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.journal import (
    AttendOp,
    JAssignCb,
    JAttendCb,
    JDayCb,
    JGradeCb,
    JLessonCb,
    JPeriodCb,
    JRosterCb,
    JStudentCb,
    LessonView,
    RosterMode,
)
from db.enums import GradeKind
from db.models import Account, Enrollment, Lesson, SchoolClass, Staff, TeachingAssignment
from services.demo import DEMO_CLASS, DEMO_TELEGRAM_IDS, seed_demo
from tests import clock
from tests.conftest import clear_tables
from tests.harness import App
from tests.test_diary_queries import counting

#: the same figures on any day: run once, not on each date CI travels to
pytestmark = pytest.mark.undated

# Statements per screen, middlewares included (the actor takes one).
BOUND = 5
#: screens that write: not bounded by `BOUND`, only required not to grow with the school
WRITES = ("grade", "attend")
#: what a write costs at most, whatever the size of the school (9 for a grade, 12–13 for a mark:
#: the recipients are selected inside the outbox INSERT, a re-marked absence revived by it)
WRITE_BOUND = 13


async def _targets(app: App) -> tuple[Any, int]:
    """The demo teacher's latest lesson in the demo class up to today, and the class's first
    student (the demo student: whose family's accounts a grade notifies, in either size)."""
    async with app.session_factory() as session:
        staff_id = await session.scalar(
            select(Staff.id)
            .join(Account, Account.id == Staff.account_id)
            .where(Account.telegram_id == DEMO_TELEGRAM_IDS["teacher"])
        )
        lesson = (
            await session.execute(
                select(Lesson.id, Lesson.class_id, Lesson.date, Lesson.assignment_id)
                .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
                .join(SchoolClass, SchoolClass.id == Lesson.class_id)
                .where(
                    TeachingAssignment.teacher_id == staff_id,
                    SchoolClass.name == DEMO_CLASS,
                    Lesson.date <= clock.school_today(),
                )
                .order_by(Lesson.date.desc(), Lesson.lesson_number)
            )
        ).first()
        assert lesson is not None
        student_id = await session.scalar(
            select(Enrollment.student_id)
            .where(Enrollment.class_id == lesson.class_id)
            .order_by(Enrollment.student_id)
        )
    assert student_id
    return lesson, student_id


async def _measure(app: App, engine: AsyncEngine) -> dict[str, int]:
    lesson, student_id = await _targets(app)
    lesson_id = lesson.id
    presses = {
        "day": JDayCb(day=lesson.date.toordinal()),
        "lesson": JLessonCb(lesson_id=lesson_id),
        "grades_roster": JRosterCb(lesson_id=lesson_id, mode=RosterMode.GRADES),
        "attendance_roster": JRosterCb(lesson_id=lesson_id, mode=RosterMode.ATTENDANCE),
        "student": JStudentCb(lesson_id=lesson_id, student_id=student_id),
        "grade": JGradeCb(
            lesson_id=lesson_id, student_id=student_id, value=5, kind=GradeKind.CLASSWORK
        ),
        "attend": JAttendCb(lesson_id=lesson_id, student_id=student_id, op=AttendOp.CYCLE),
        "homework": JLessonCb(lesson_id=lesson_id, view=LessonView.HOMEWORK),
        "assignment": JAssignCb(assignment_id=lesson.assignment_id),
        "period_grades": JPeriodCb(assignment_id=lesson.assignment_id),
    }
    counts: dict[str, int] = {}
    user = app.user(DEMO_TELEGRAM_IDS["teacher"], language_code="en")
    await user.send("/start")
    await user.send("/journal")  # today's lessons are generated once, here
    with counting(engine) as statements:
        await user.send("/journal")
    counts["/journal"] = len(statements)
    target = user.last
    # the lessons ahead are generated on the first view of an assignment and of a lesson's
    # homework (its due dates): counted from the second view on
    await user.press(target, data=presses["assignment"].pack())
    await user.press(target, data=presses["homework"].pack())
    for name, data in presses.items():
        with counting(engine) as statements:
            await user.press(target, data=data.pack())
        assert user.callback_answers[-1].get("show_alert") is not True, name
        counts[name] = len(statements)
    assert app.fake.errors == []
    return counts


async def test_journal_screens_cost_the_same_on_a_small_and_a_bigger_school(
    app: App, engine: AsyncEngine
) -> None:
    await seed_demo(app.session_factory, students=30, weeks=4)  # a holiday fits in four
    small = await _measure(app, engine)
    await clear_tables(engine)
    await seed_demo(app.session_factory, students=120, weeks=4)
    big = await _measure(app, engine)
    assert small.keys() == big.keys()
    for name in small:
        if name in WRITES:  # the write, its audit and its notification (whether the mark
            # notifies depends on the mark before): under one ceiling at both sizes
            assert max(small[name], big[name]) <= WRITE_BOUND, (name, small, big)
        else:  # a read screen keeps to the bound at both sizes; what the lesson holds may
            # spare one (a student with no grades yet in a holiday week), never add one
            assert max(small[name], big[name]) <= BOUND, (name, small, big)
