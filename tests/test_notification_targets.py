"""Who hears about a student's event, and the outbox rows written for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import LinkMethod, TrustScope
from db.models import Account, Enrollment, Guardianship, OutboxMessage, Student
from services.core.actors import load_actor
from services.core.errors import DomainError
from services.notify import DedupKey, NotificationEvent, family_recipients, jobs, notify_family
from services.notify.facts import load_students
from services.notify.reactions import acknowledge
from tests import factories as f
from tests import notify_world as w


async def _ids(session: AsyncSession, *telegram_ids: int) -> list[int]:
    rows = await session.scalars(select(Account.id).where(Account.telegram_id.in_(telegram_ids)))
    return sorted(rows)


async def test_recipients_follow_scopes(session_factory: async_sessionmaker[AsyncSession]) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        grades = await family_recipients(session, school.student_id, TrustScope.GRADES)
        assert grades == await _ids(session, f.PARENT, f.TRUSTED, f.STUDENT)
        attendance = await family_recipients(session, school.student_id, TrustScope.ATTENDANCE)
        assert attendance == await _ids(session, f.PARENT, f.STUDENT)
        other = await family_recipients(session, school.other_student_id, TrustScope.GRADES)
        assert other == await _ids(session, f.OTHER_PARENT)  # the invitation is not accepted


async def test_expired_trust_hears_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        later = utcnow() + timedelta(days=400)
        grades = await family_recipients(session, school.student_id, TrustScope.GRADES, now=later)
        assert grades == await _ids(session, f.PARENT, f.STUDENT)


async def test_notify_family_writes_one_row_per_recipient_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        for _ in range(2):  # the same event twice is deduplicated
            await notify_family(
                session,
                student_id=school.student_id,
                event=NotificationEvent.GRADE,
                payload={"grade_id": 1},
                dedup_key=DedupKey.grade_new(1),
                delay=timedelta(seconds=60),
            )
        await session.commit()
        rows = list(await session.scalars(select(OutboxMessage)))
        assert len(rows) == 3
        assert {r.event for r in rows} == {"grade"}
        assert {r.kind for r in rows} == {"grade"}
        assert all(r.payload == {"student_id": school.student_id, "grade_id": 1} for r in rows)
        assert all(r.not_before > utcnow() + timedelta(seconds=50) for r in rows)


# --- the shared rules of services.core, as the notifications apply them -----------------------

TODAY = w.T0.date()
TOMORROW = TODAY + timedelta(days=1)
LEAVING_PARENT, JOINING_PARENT = 7_000_001, 7_000_002


def _moscow(day: date, hour: int) -> datetime:
    """`hour` o'clock of the school's (Moscow, UTC+3) `day`, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=UTC) - timedelta(hours=3)


async def _with_roster_ahead(session_factory: async_sessionmaker[AsyncSession]) -> w.World:
    """The small school plus Лиза, leaving 7B in five days, and Ян, joining 7B in three; each
    has an account of their own and a parent. Dates recorded ahead of time take effect on
    their day (`services.core.enrolment`)."""
    world = await w.make_world(session_factory)
    async with session_factory() as session:
        for name, telegram_id, enrolled_on, left_on in (
            ("Лиза Уходящая", LEAVING_PARENT, None, TODAY + timedelta(days=5)),
            ("Ян Новенький", JOINING_PARENT, TODAY + timedelta(days=3), None),
        ):
            own = Account(telegram_id=telegram_id + 100, full_name=name, locale="en")
            parent = Account(telegram_id=telegram_id, full_name=f"{name} (parent)", locale="en")
            session.add_all([own, parent])
            await session.flush()
            student = Student(school_id=world.school.school_id, full_name=name, account_id=own.id)
            session.add(student)
            await session.flush()
            session.add_all(
                [
                    Enrollment(
                        student_id=student.id,
                        class_id=world.school.class_7b,
                        enrolled_on=enrolled_on,
                        left_on=left_on,
                    ),
                    Guardianship(
                        student_id=student.id, account_id=parent.id, method=LinkMethod.DEMO
                    ),
                ]
            )
        await session.commit()
    return world


async def _told(session_factory: async_sessionmaker[AsyncSession], event: str) -> set[int]:
    """Telegram ids of the accounts with an outbox row of `event`."""
    async with session_factory() as session:
        rows = await session.scalars(
            select(Account.telegram_id)
            .join(OutboxMessage, OutboxMessage.account_id == Account.id)
            .where(OutboxMessage.event == event)
        )
        return set(rows)


async def test_tomorrows_changes_go_to_the_class_a_student_is_in_today(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A leaving date recorded ahead of time does not drop the student before the day (the
    jobs used to drop them as soon as any `left_on` was set); a joining date does not add
    them before the day (the jobs used to count them at once)."""
    world = await _with_roster_ahead(session_factory)
    await w.lesson(session_factory, world, TOMORROW, cancelled=True)
    assert await jobs.timetable_changes(session_factory, now=_moscow(TODAY, 18)) > 0
    told = await _told(session_factory, "timetable")
    assert {LEAVING_PARENT, LEAVING_PARENT + 100, f.PARENT} <= told
    assert not told & {JOINING_PARENT, JOINING_PARENT + 100}


async def test_homework_reminders_follow_the_current_class(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The evening reminder goes to a student still in the class (leaving later) and not to
    one who joins it later; the reminder's content names the same current class."""
    world = await _with_roster_ahead(session_factory)
    await w.homework(session_factory, world, "Параграф 5", due=TOMORROW)
    assert await jobs.homework_reminders(session_factory, now=_moscow(TODAY, 18)) > 0
    told = await _told(session_factory, "homework_due")
    assert {LEAVING_PARENT + 100, f.STUDENT} <= told
    assert JOINING_PARENT + 100 not in told
    async with session_factory() as session:
        leaving = await session.scalar(
            select(Student.id).where(Student.full_name == "Лиза Уходящая")
        )
        assert leaving is not None
        students = await load_students(session, [leaving], ZoneInfo("UTC"), now=w.T0)
    assert students[leaving].class_id == world.school.class_7b


async def test_a_held_grade_is_shown_from_the_first_instant_of_its_school_day(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The parent may react to a grade held until a day from that school-local day's first
    instant (01:00 in Moscow is still the previous day in UTC: reactions used the UTC date)."""
    world = await w.make_world(session_factory)
    grade_id = await w.grade(session_factory, world, hidden_until=TOMORROW)
    first_instant = datetime.combine(TOMORROW, time(1), tzinfo=UTC) - timedelta(hours=3)
    async with session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        with pytest.raises(DomainError):
            await acknowledge(session, parent, grade_id, now=first_instant - timedelta(hours=2))
        assert await acknowledge(session, parent, grade_id, now=first_instant)
