"""A closed period is closed for every journal write that feeds it, on both databases:
attendance (one mark, a tap, "all present", undo), the lesson's topic, cancellation, restoring
and replacement, its homework and due date, and period grades are refused with the domain error
and change no row. Also: every change of a lesson field leaves its exact audit row, and period
grades are never confirmed by an actor who may only read them.

Dates are fixed inside the factory's school year and passed as `now`: nothing here depends on
the day the suite runs."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base
from db.enums import AttachmentKind, AttendanceStatus, GradeKind
from db.models import Account, AuditEntry, Lesson, Period, PeriodGrade, TeachingAssignment
from services import journal
from services.core import audit
from services.core.actors import Actor, load_actor
from services.core.audit import AuditAction
from services.core.files import NewFile
from services.journal import periods
from tests import clock
from tests import factories as f
from tests.refusals import raises_key

MSK = ZoneInfo("Europe/Moscow")
GRACE = timedelta(seconds=60)


def _year_start() -> date:
    return f.current_year_bounds(clock.school_today())[0]


def _lesson_day() -> date:
    """Two weeks into the first quarter of the factory's year."""
    return _year_start() + timedelta(days=14)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=MSK)


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _make_lesson(
    session: AsyncSession, class_id: int, day: date, number: int = 1, **fields: Any
) -> int:
    assignment = await session.scalar(
        select(TeachingAssignment).where(TeachingAssignment.class_id == class_id)
    )
    assert assignment is not None
    lesson = Lesson(
        assignment_id=assignment.id,
        class_id=class_id,
        subject_id=assignment.subject_id,
        date=day,
        lesson_number=number,
        starts_at=time(9, 0),
        ends_at=time(9, 45),
        **fields,
    )
    session.add(lesson)
    await session.commit()
    return lesson.id


async def _actor(session: AsyncSession, telegram_id: int) -> Actor:
    return await load_actor(session, telegram_id)


async def _tables(session: AsyncSession) -> dict[str, str]:
    """A digest of every row of every table: what a refused write must leave as it was."""
    session.expire_all()
    digests: dict[str, str] = {}
    async with session.bind.connect() as conn:  # type: ignore[union-attr]
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            text = "\n".join(sorted(repr(tuple(row)) for row in rows))
            digests[table.name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


async def _close_first_quarter(session: AsyncSession) -> None:
    await session.execute(
        update(Period)
        .where(Period.kind == "quarter", Period.number == 1)
        .values(closed_at=_noon(_lesson_day() + timedelta(days=60)))
    )
    await session.commit()


@dataclass
class World:
    school: f.SmallSchool
    lesson_id: int  # the teacher's 7B lesson, marked, with homework
    cancelled_id: int  # another 7B lesson of the quarter, cancelled
    assignment_id: int
    quarter_id: int
    teacher: Actor
    head: Actor
    now: datetime


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool) -> World:
    """A lesson of the first quarter written in every way while the quarter was open."""
    day = _lesson_day()
    now = _noon(day)
    async with session_factory() as session:
        lesson_id = await _make_lesson(session, school.class_7b, day)
        cancelled_id = await _make_lesson(session, school.class_7b, day, 2, cancelled=True)
        teacher = await _actor(session, f.TEACHER)
        head = await _actor(session, f.HEAD)
        await journal.add_grade(
            session,
            teacher,
            lesson_id,
            school.student_id,
            "5",
            GradeKind.TEST,
            grace=GRACE,
            now=now,
        )
        await journal.set_attendance(
            session,
            teacher,
            lesson_id,
            school.student_id,
            AttendanceStatus.ABSENT,
            grace=GRACE,
            now=now,
        )  # the last undoable
        await journal.save_homework(session, teacher, lesson_id, text="§ 12", grace=GRACE, now=now)
        await journal.set_topic(session, teacher, lesson_id, "Fractions", now=now)
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
        quarter_id = await session.scalar(
            select(Period.id).where(Period.kind == "quarter", Period.number == 1)
        )
        assert assignment_id is not None
        assert quarter_id is not None
        await _close_first_quarter(session)
    return World(school, lesson_id, cancelled_id, assignment_id, quarter_id, teacher, head, now)


Write = Callable[[AsyncSession, World], Awaitable[Any]]

LATER = timedelta(hours=2)

LESSON_WRITES: dict[str, Write] = {
    "attendance tap": lambda s, w: journal.cycle_attendance(
        s, w.teacher, w.lesson_id, w.school.unlinked_student_id, grace=GRACE, now=w.now + LATER
    ),
    "attendance mark": lambda s, w: journal.set_attendance(
        s,
        w.teacher,
        w.lesson_id,
        w.school.student_id,
        AttendanceStatus.PRESENT,
        grace=GRACE,
        now=w.now + LATER,
    ),
    "attendance cleared": lambda s, w: journal.set_attendance(
        s, w.teacher, w.lesson_id, w.school.student_id, None, grace=GRACE, now=w.now + LATER
    ),
    "all present": lambda s, w: journal.mark_all_present(
        s, w.teacher, w.lesson_id, now=w.now + LATER
    ),
    "undo attendance": lambda s, w: journal.undo_last(
        s, w.teacher, w.lesson_id, grace=GRACE, now=w.now + LATER
    ),
    "topic": lambda s, w: journal.set_topic(s, w.teacher, w.lesson_id, "Decimals"),
    "cancel": lambda s, w: journal.set_cancelled(s, w.teacher, w.lesson_id, True),
    "restore": lambda s, w: journal.set_cancelled(s, w.teacher, w.cancelled_id, False),
    "replacement": lambda s, w: journal.set_replacement(
        s, w.teacher, w.lesson_id, w.school.staff["class_teacher"]
    ),
    "replacement by the head": lambda s, w: journal.set_replacement(
        s, w.head, w.lesson_id, w.school.staff["class_teacher"]
    ),
    "homework text": lambda s, w: journal.save_homework(
        s, w.teacher, w.lesson_id, text="§ 13", grace=GRACE
    ),
    "homework file": lambda s, w: journal.save_homework(
        s,
        w.teacher,
        w.lesson_id,
        grace=GRACE,
        attachments=[
            NewFile(
                kind=AttachmentKind.DOCUMENT,
                file_id="f",
                file_unique_id="u",
                file_name="a.pdf",
                mime_type="application/pdf",
                file_size=10,
            )
        ],
    ),
    "homework due date": lambda s, w: journal.set_due_date(
        s, w.teacher, w.lesson_id, w.now.date() + timedelta(days=3)
    ),
}


@pytest.mark.parametrize("write", list(LESSON_WRITES))
async def test_every_lesson_write_of_a_closed_period_is_refused(
    session_factory: async_sessionmaker[AsyncSession], world: World, write: str
) -> None:
    async with session_factory() as session:
        before = await _tables(session)
        with raises_key("journal.lesson_period_closed"):
            await LESSON_WRITES[write](session, world)
        await session.rollback()
        assert await _tables(session) == before


async def test_the_same_writes_go_through_once_the_period_is_open_again(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    """The refusals above are about the closed period, not about the writes themselves."""
    async with session_factory() as session:
        await session.execute(update(Period).values(closed_at=None))
        await session.commit()
        for name in ("attendance tap", "topic", "homework due date", "restore", "replacement"):
            await LESSON_WRITES[name](session, world)
        assert (
            await journal.mark_all_present(
                session, world.teacher, world.lesson_id, now=world.now + LATER
            )
            == 0
        )
        lesson = await session.get(Lesson, world.lesson_id, populate_existing=True)
        assert lesson is not None
        assert (lesson.topic, lesson.replacement_teacher_id) == (
            "Decimals",
            world.school.staff["class_teacher"],
        )


async def test_period_grades_of_a_closed_period_are_refused_to_the_teacher(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        before = await _tables(session)
        with raises_key("journal.period_closed"):
            await periods.confirm_proposed(
                session, world.teacher, world.assignment_id, world.quarter_id
            )
        with raises_key("access.denied"):
            await periods.set_period_grade(
                session,
                world.teacher,
                world.assignment_id,
                world.quarter_id,
                world.school.student_id,
                "5",
            )
        await session.rollback()
        assert await _tables(session) == before
        # the head teacher's override with a reason stays as designed
        line = await periods.set_period_grade(
            session,
            world.head,
            world.assignment_id,
            world.quarter_id,
            world.school.student_id,
            "4",
            reason="council",
        )
        assert line.value == "4"


# --- period grades are confirmed by their teacher only ---------------------------------------


async def test_period_grades_are_not_confirmed_by_those_who_only_read_them(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        await session.execute(update(Period).values(closed_at=None))
        await session.commit()
        class_teacher = await _actor(session, f.CLASS_TEACHER)  # 7B's, teaches 5A only
        admin = await _actor(session, f.ADMIN)
        readers = [class_teacher, world.head, admin]
        for reader in readers:  # they do read the sheet, with its proposal
            sheet = await periods.period_sheet(
                session, reader, world.assignment_id, world.quarter_id, today=world.now.date()
            )
            assert not sheet.can_write
            assert [line.proposed for line in sheet.lines if line.grades] == ["5"]
        before = await _tables(session)
        for reader in readers:
            with raises_key("access.denied"):
                await periods.confirm_proposed(
                    session, reader, world.assignment_id, world.quarter_id
                )
            await session.rollback()
        assert await _tables(session) == before
        assert await session.scalar(select(PeriodGrade.id)) is None
        assert (
            await periods.confirm_proposed(
                session, world.teacher, world.assignment_id, world.quarter_id
            )
            == 1
        )


# --- the audit row of every lesson-field change --------------------------------------------


async def test_every_lesson_field_change_leaves_its_audit_row(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    day = _lesson_day() + timedelta(days=100)  # a quarter nobody closed
    async with session_factory() as session:
        lesson_id = await _make_lesson(session, school.class_7b, day)
        teacher = await _actor(session, f.TEACHER)
        head = await _actor(session, f.HEAD)
        substitute = school.staff["class_teacher"]
        moments = [_noon(day) + timedelta(minutes=m) for m in range(6)]
        await journal.set_topic(session, teacher, lesson_id, "  Fractions <b>  ", now=moments[0])
        await journal.set_topic(session, teacher, lesson_id, "Fractions <b>", now=moments[1])
        await journal.set_cancelled(session, teacher, lesson_id, True, now=moments[1])
        await journal.set_cancelled(session, teacher, lesson_id, False, now=moments[2])
        await journal.set_replacement(session, teacher, lesson_id, substitute, now=moments[3])
        await journal.set_replacement(session, head, lesson_id, None, now=moments[4])
        rows = await session.execute(select(Account.telegram_id, Account.id))
        accounts = {tid: aid for tid, aid in rows}  # noqa: C416
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "lesson").order_by(AuditEntry.id)
            )
        )
        got = [
            (
                e.action,
                e.entity_id,
                e.lesson_id,
                e.student_id,
                e.actor_id,
                e.telegram_id,
                e.old,
                e.new,
                e.reason,
                e.at,
            )
            for e in entries
        ]
        t, h = accounts[f.TEACHER], accounts[f.HEAD]
        n = lesson_id
        assert got == [
            (
                AuditAction.LESSON_TOPIC,
                n,
                n,
                None,
                t,
                f.TEACHER,
                {"topic": None},
                {"topic": "Fractions <b>"},
                None,
                moments[0],
            ),
            (
                AuditAction.LESSON_CANCEL,
                n,
                n,
                None,
                t,
                f.TEACHER,
                {"cancelled": False},
                {"cancelled": True},
                None,
                moments[1],
            ),
            (
                AuditAction.LESSON_RESTORE,
                n,
                n,
                None,
                t,
                f.TEACHER,
                {"cancelled": True},
                {"cancelled": False},
                None,
                moments[2],
            ),
            (
                AuditAction.LESSON_REPLACEMENT,
                n,
                n,
                None,
                t,
                f.TEACHER,
                {"replacement_teacher_id": None},
                {"replacement_teacher_id": substitute},
                None,
                moments[3],
            ),
            (
                AuditAction.LESSON_REPLACEMENT,
                n,
                n,
                None,
                h,
                f.HEAD,
                {"replacement_teacher_id": substitute},
                {"replacement_teacher_id": None},
                None,
                moments[4],
            ),
        ]
        lesson = await session.get(Lesson, lesson_id, populate_existing=True)
        assert lesson is not None
        assert (lesson.topic, lesson.cancelled, lesson.replacement_teacher_id) == (
            "Fractions <b>",
            False,
            None,
        )
        # the lesson's trail shows them to the teacher
        trail = await audit.lesson_trail(session, teacher, lesson_id)
        assert sorted(line.action for line in trail.lines) == sorted(e[0] for e in got)
