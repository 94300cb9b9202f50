"""The shared domain rules of `services.core`, one test per edge case each settles, on both
databases: enrolment (a student who moved class mid-year, a previous year's class, a student who
left, dates recorded ahead of time), the grades a family may see (held, deleted), guardianship
and trusted access (revoked, expired, not yet accepted) and school time (zones far from UTC).
Every SQL rule is checked against its Python twin on the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import GradeKind, LinkMethod
from db.models import (
    AcademicYear,
    Account,
    Enrollment,
    Grade,
    Guardianship,
    Lesson,
    School,
    SchoolClass,
    Student,
    TeachingAssignment,
    TrustedAccess,
)
from services import diary
from services.core import enrolment, links, schooltime, visibility
from services.core.access import Action, can
from services.core.actors import load_actor
from services.people import linking, school
from tests import clock
from tests import factories as f


@dataclass
class World:
    school: f.SmallSchool
    today: date
    now: datetime
    move_day: date
    old_year_id: int
    old_class: int  # 6B of the previous year
    mover: int  # Мира: 7B until `move_day`, 5A from it; OTHER_PARENT is her parent
    leaver: int  # Лев: left 7B three days ago
    leaving: int  # Лиза: leaves 7B in five days
    joining: int  # Ян: joins 7B in three days
    alumnus: int  # Глеб: only in last year's 6B


async def _student(
    session: AsyncSession,
    data: f.SmallSchool,
    name: str,
    *stays: tuple[int, date | None, date | None],
) -> int:
    student = Student(school_id=data.school_id, full_name=name)
    session.add(student)
    await session.flush()
    for class_id, enrolled_on, left_on in stays:
        session.add(
            Enrollment(
                student_id=student.id, class_id=class_id, enrolled_on=enrolled_on, left_on=left_on
            )
        )
    return student.id


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    data = await f.make_small_school(session_factory)
    today = clock.school_today()
    move_day = today - timedelta(days=7)
    async with session_factory() as session:
        year = await session.scalar(select(AcademicYear).where(AcademicYear.is_current))
        assert year is not None
        old_year = AcademicYear(
            school_id=data.school_id,
            name="old",
            starts_on=year.starts_on - timedelta(days=365),
            ends_on=year.starts_on - timedelta(days=1),
            is_current=False,
        )
        session.add(old_year)
        await session.flush()
        old_class = SchoolClass(
            school_id=data.school_id,
            year_id=old_year.id,
            name="6B",
            grade_level=6,
            class_teacher_id=data.staff["class_teacher"],
        )
        session.add(old_class)
        await session.flush()
        math_id = await session.scalar(select(TeachingAssignment.subject_id).limit(1))
        scale_id = await session.scalar(select(TeachingAssignment.scale_id).limit(1))
        assert math_id is not None
        assert scale_id is not None
        # the 7B math teacher also taught last year's 6B
        session.add(
            TeachingAssignment(
                teacher_id=data.staff["teacher"],
                class_id=old_class.id,
                subject_id=math_id,
                scale_id=scale_id,
            )
        )
        # Пётр (7B) was in 6B last year and nobody closed that stay
        session.add(Enrollment(student_id=data.student_id, class_id=old_class.id))
        mover = await _student(
            session,
            data,
            "Мира Переходова",
            (data.class_7b, None, move_day),
            (data.class_5a, move_day, None),
        )
        other_parent = await session.scalar(
            select(Account.id).where(Account.telegram_id == f.OTHER_PARENT)
        )
        assert other_parent is not None
        session.add(Guardianship(student_id=mover, account_id=other_parent, method=LinkMethod.DEMO))
        leaver = await _student(
            session, data, "Лев Ушедший", (data.class_7b, None, today - timedelta(days=3))
        )
        leaving = await _student(
            session, data, "Лиза Уходящая", (data.class_7b, None, today + timedelta(days=5))
        )
        joining = await _student(
            session, data, "Ян Новенький", (data.class_7b, today + timedelta(days=3), None)
        )
        alumnus = await _student(session, data, "Глеб Выпускник", (old_class.id, None, None))
        await session.commit()
        return World(
            data,
            today,
            clock.now(),
            move_day,
            old_year.id,
            old_class.id,
            mover,
            leaver,
            leaving,
            joining,
            alumnus,
        )


async def _classes_on(session: AsyncSession, student_id: int, day: date) -> set[int]:
    """The classes whose stay covers `day` (SQL rule)."""
    found = await session.scalars(
        select(Enrollment.class_id).where(
            Enrollment.student_id == student_id, enrolment.covers_day(day)
        )
    )
    return set(found)


async def _current_in_sql(session: AsyncSession, student_id: int, today: date) -> set[int]:
    found = await session.scalars(
        select(Enrollment.class_id).where(
            Enrollment.student_id == student_id, enrolment.current(today)
        )
    )
    return set(found)


async def _current(session: AsyncSession, student_id: int, now: datetime) -> int | None:
    stay = await enrolment.current_class(session, student_id, now=now)
    return stay.class_id if stay is not None else None


# --- enrolment ---------------------------------------------------------------------------------


async def test_a_student_who_moved_is_in_each_class_on_its_own_days(
    session: AsyncSession, world: World
) -> None:
    a5, b7 = world.school.class_5a, world.school.class_7b
    the_day_before = world.move_day - timedelta(days=1)
    assert await _classes_on(session, world.mover, the_day_before) == {b7}
    assert await _classes_on(session, world.mover, world.move_day) == {a5}
    assert await _classes_on(session, world.mover, world.today) == {a5}
    assert await _current_in_sql(session, world.mover, world.today) == {a5}
    assert await _current(session, world.mover, world.now) == a5
    # the parent sees the new class; the diary shows each day's own class
    parent = await load_actor(session, f.OTHER_PARENT)
    assert {c.student_id: c.class_name for c in parent.children}[world.mover] == "5A"
    before = await diary.open_child(session, parent, world.mover, now=world.now, day=the_day_before)
    after = await diary.open_child(session, parent, world.mover, now=world.now, day=world.move_day)
    now = await diary.open_child(session, parent, world.mover, now=world.now)
    assert (before.class_id, after.class_id, now.class_id) == (b7, a5, a5)
    # 7B's math teacher no longer reads her; 5A's (also 7B's class teacher) does
    teacher = await load_actor(session, f.TEACHER)
    assert not await can(session, teacher, Action.VIEW_GRADES, world.mover)
    class_teacher = await load_actor(session, f.CLASS_TEACHER)
    assert await can(session, class_teacher, Action.VIEW_GRADES, world.mover)


async def test_a_previous_years_class_is_never_current(session: AsyncSession, world: World) -> None:
    petr = world.school.student_id
    assert await _classes_on(session, petr, world.today) == {world.school.class_7b, world.old_class}
    assert await _current_in_sql(session, petr, world.today) == {world.school.class_7b}
    assert await _current(session, petr, world.now) == world.school.class_7b
    assert await _current(session, world.alumnus, world.now) is None
    # last year's teacher of 6B reads nobody through it
    teacher = await load_actor(session, f.TEACHER)
    assert not await can(session, teacher, Action.VIEW_GRADES, world.alumnus)
    # the diary still opens last year on its own year
    parent = await load_actor(session, f.PARENT)
    old = await diary.open_child(
        session, parent, petr, Action.VIEW_GRADES, now=world.now, year_id=world.old_year_id
    )
    assert old.class_id == world.old_class
    current = await diary.open_child(session, parent, petr, now=world.now)
    assert current.class_id == world.school.class_7b


async def test_a_student_who_left_has_no_current_class(session: AsyncSession, world: World) -> None:
    b7 = world.school.class_7b
    assert await _classes_on(session, world.leaver, world.today - timedelta(days=4)) == {b7}
    assert await _classes_on(session, world.leaver, world.today - timedelta(days=3)) == set()
    assert await _current(session, world.leaver, world.now) is None
    teacher = await load_actor(session, f.TEACHER)
    assert not await can(session, teacher, Action.VIEW_GRADES, world.leaver)
    admin = await load_actor(session, f.ADMIN)
    _name, rows = await school.class_access(session, admin, b7, now=world.now)
    names = {r.name for r in rows}
    assert "Лев Ушедший" not in names
    assert "Пётр Иванов" in names


async def test_dates_recorded_ahead_take_effect_on_their_day(
    session: AsyncSession, world: World
) -> None:
    b7 = world.school.class_7b
    # leaving in five days: still in the class, for the journal and for the access policy
    assert await _current(session, world.leaving, world.now) == b7
    assert await _classes_on(session, world.leaving, world.today + timedelta(days=4)) == {b7}
    assert await _classes_on(session, world.leaving, world.today + timedelta(days=5)) == set()
    teacher = await load_actor(session, f.TEACHER)
    assert await can(session, teacher, Action.VIEW_GRADES, world.leaving)
    # joining in three days: not yet
    assert await _current(session, world.joining, world.now) is None
    assert await _classes_on(session, world.joining, world.today + timedelta(days=3)) == {b7}
    assert not await can(session, teacher, Action.VIEW_GRADES, world.joining)
    admin = await load_actor(session, f.ADMIN)
    _name, rows = await school.class_access(session, admin, b7, now=world.now)
    names = {r.name for r in rows}
    assert "Лиза Уходящая" in names
    assert "Ян Новенький" not in names


async def test_two_overlapping_stays_name_the_latest_class(
    session: AsyncSession, world: World
) -> None:
    twice = await _student(
        session,
        world.school,
        "Двойная Запись",
        (world.school.class_5a, world.today - timedelta(days=20), None),
        (world.school.class_7b, world.today - timedelta(days=2), None),
    )
    await session.commit()
    assert await _current(session, twice, world.now) == world.school.class_7b
    view = await linking.deciders_for(session, twice, now=world.now)
    class_teacher = await session.scalar(
        select(Account.id).where(Account.telegram_id == f.CLASS_TEACHER)
    )
    assert class_teacher in view  # 7B's class teacher decides


async def test_sql_and_python_agree_on_a_stay(session: AsyncSession, world: World) -> None:
    day = world.today

    def shift(offset: int | None) -> date | None:
        return None if offset is None else day + timedelta(days=offset)

    offsets = [None, -1, 0, 1]
    stays = {}
    for enrolled, left in product(offsets, offsets):
        stays[(enrolled, left)] = await _student(
            session, world.school, "Проба", (world.school.class_7b, shift(enrolled), shift(left))
        )
    await session.commit()
    for (enrolled, left), sid in stays.items():
        in_sql = bool(await _classes_on(session, sid, day))
        assert in_sql == enrolment.stay_covers(shift(enrolled), shift(left), day), (enrolled, left)
        assert (await _current(session, sid, world.now) is not None) == in_sql, (enrolled, left)
        assert in_sql == ((enrolled is None or enrolled <= 0) and (left is None or left > 0))


def test_a_stay_covers_a_period_when_it_covers_one_of_its_days() -> None:
    first = date(2026, 11, 2)
    days = [first + timedelta(days=n) for n in range(3)]
    ends = [None, *(first + timedelta(days=n) for n in range(-1, 5))]
    for enrolled, left in product(ends, ends):
        if enrolled is not None and left is not None and left <= enrolled:
            continue  # an empty stay (left by its first day): `covers_period` counts it too
        covers = enrolment.stay_covers_period(enrolled, left, days[0], days[-1])
        assert covers == any(enrolment.stay_covers(enrolled, left, d) for d in days), (
            enrolled,
            left,
        )


async def test_the_current_class_follows_the_schools_own_day(session: AsyncSession) -> None:
    """At 11:00 UTC it is already tomorrow on Kiritimati (UTC+14): a student whose last day
    in class was the UTC date has left there."""
    now = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    local = date(2026, 3, 2)
    assert schooltime.local_date(now, ZoneInfo("Pacific/Kiritimati")) == local
    far = School(name="Kiritimati", timezone="Pacific/Kiritimati")
    session.add(far)
    await session.flush()
    year = AcademicYear(
        school_id=far.id,
        name="far",
        starts_on=date(2025, 9, 1),
        ends_on=date(2026, 6, 30),
        is_current=True,
    )
    session.add(year)
    await session.flush()
    cls = SchoolClass(school_id=far.id, year_id=year.id, name="1A", grade_level=1)
    session.add(cls)
    await session.flush()
    gone, staying = (
        Student(school_id=far.id, full_name="A"),
        Student(school_id=far.id, full_name="B"),
    )
    session.add_all([gone, staying])
    await session.flush()
    session.add_all(
        [
            Enrollment(student_id=gone.id, class_id=cls.id, left_on=local),
            Enrollment(student_id=staying.id, class_id=cls.id, left_on=local + timedelta(days=1)),
        ]
    )
    await session.commit()
    assert await _current(session, gone.id, now) is None
    assert await _current(session, staying.id, now) == cls.id


# --- the grades a family may see ---------------------------------------------------------------


async def test_held_and_deleted_grades_are_hidden_from_the_family(
    session: AsyncSession, world: World
) -> None:
    today = world.today
    assignment = await session.scalar(
        select(TeachingAssignment).where(TeachingAssignment.class_id == world.school.class_7b)
    )
    assert assignment is not None
    lesson = Lesson(
        assignment_id=assignment.id,
        class_id=assignment.class_id,
        subject_id=assignment.subject_id,
        date=today,
        lesson_number=1,
        starts_at=time(9),
        ends_at=time(9, 45),
    )
    session.add(lesson)
    await session.flush()
    cases = {
        "plain": (None, False, True),
        "held_until_tomorrow": (today + timedelta(days=1), False, False),
        "held_until_today": (today, False, True),
        "held_until_yesterday": (today - timedelta(days=1), False, True),
        "deleted": (None, True, False),
        "deleted_and_held": (today + timedelta(days=1), True, False),
    }
    ids = {}
    for value, (held, deleted, _shown) in cases.items():
        grade = Grade(
            student_id=world.school.student_id,
            lesson_id=lesson.id,
            assignment_id=lesson.assignment_id,
            subject_id=lesson.subject_id,
            date=today,
            value=value[:8],
            score=4,
            kind=GradeKind.ORAL,
            hidden_until=held,
            deleted_at=world.now if deleted else None,
        )
        session.add(grade)
        await session.flush()
        ids[grade.id] = value
    await session.commit()
    shown = set(
        await session.scalars(
            select(Grade.id).where(Grade.id.in_(ids), visibility.family_visible(today))
        )
    )
    expected = {gid for gid, value in ids.items() if cases[value][2]}
    assert shown == expected
    for grade in await session.scalars(select(Grade).where(Grade.id.in_(ids))):
        assert visibility.family_sees(grade, today) == (grade.id in expected), ids[grade.id]


def test_a_held_grade_is_released_at_the_first_instant_of_its_day() -> None:
    zone = ZoneInfo("Europe/Moscow")
    assert visibility.released_at(date(2026, 12, 1), zone) == datetime(2026, 11, 30, 21, tzinfo=UTC)
    assert visibility.is_held(date(2026, 12, 1), date(2026, 11, 30))
    assert not visibility.is_held(date(2026, 12, 1), date(2026, 12, 1))


# --- guardianship and trusted access -----------------------------------------------------------


async def _grant(
    session: AsyncSession,
    world: World,
    *,
    account: int | None,
    expires_at: datetime | None = None,
    revoked: bool = False,
) -> TrustedAccess:
    parent = await session.scalar(select(Account.id).where(Account.telegram_id == f.PARENT))
    assert parent is not None
    grant = TrustedAccess(
        student_id=world.school.student_id,
        granted_by_id=parent,
        account_id=account,
        label="Проба",
        scopes=15,
        expires_at=expires_at,
        accepted_at=world.now if account is not None else None,
        revoked_at=world.now - timedelta(hours=1) if revoked else None,
    )
    session.add(grant)
    await session.flush()
    return grant


async def _account(session: AsyncSession, telegram_id: int) -> int:
    account = Account(telegram_id=telegram_id, full_name=f"Гость {telegram_id}")
    session.add(account)
    await session.flush()
    return account.id


async def test_revoked_expired_and_unaccepted_grants_give_no_access(
    session: AsyncSession, world: World
) -> None:
    now = world.now
    grants = {
        "active": await _grant(
            session, world, account=await _account(session, 7001), expires_at=now + timedelta(1)
        ),
        "no_end": await _grant(session, world, account=await _account(session, 7002)),
        "revoked": await _grant(
            session, world, account=await _account(session, 7003), revoked=True
        ),
        "expired": await _grant(
            session, world, account=await _account(session, 7004), expires_at=now - timedelta(1)
        ),
        "ends_now": await _grant(
            session, world, account=await _account(session, 7005), expires_at=now
        ),
        "not_accepted": await _grant(session, world, account=None, expires_at=now + timedelta(1)),
    }
    await session.commit()
    by_id = {g.id: name for name, g in grants.items()}

    async def matching(clause: ColumnElement[bool]) -> set[str]:
        rows = await session.scalars(
            select(TrustedAccess.id).where(TrustedAccess.id.in_(by_id), clause)
        )
        return {by_id[i] for i in rows}

    assert await matching(links.trust_active(now)) == {"active", "no_end"}
    assert await matching(links.trust_open(now)) == {"active", "no_end", "not_accepted"}
    assert await matching(links.trust_ended(now)) == {"revoked", "expired", "ends_now"}
    assert await matching(links.trust_standing()) == set(grants) - {"revoked"}
    for name, grant in grants.items():
        await session.refresh(grant)
        assert links.grant_active(grant, now) == (name in {"active", "no_end"}), name
        assert links.grant_open(grant, now) == (name in {"active", "no_end", "not_accepted"})
    # the trusted persons themselves
    for telegram_id, sees in [(7001, True), (7002, True), (7003, False), (7004, False)]:
        actor = await load_actor(session, telegram_id)
        assert bool(actor.children) == sees, telegram_id
        assert await can(session, actor, Action.VIEW_GRADES, world.school.student_id) == sees
    # an expired grant can be extended: it still stops the holder from becoming the student
    expired_holder = grants["expired"].account_id
    assert expired_holder is not None
    assert await linking.holds_family_link(session, expired_holder, world.school.student_id)
    revoked_holder = grants["revoked"].account_id
    assert revoked_holder is not None
    assert not await linking.holds_family_link(session, revoked_holder, world.school.student_id)


async def test_a_revoked_guardianship_gives_no_access(session: AsyncSession, world: World) -> None:
    link = await session.get(Guardianship, world.school.parent_guardianship_id)
    assert link is not None
    active = await session.scalars(
        select(Guardianship.id).where(links.guardianship_active(), Guardianship.id == link.id)
    )
    assert list(active) == [link.id]
    link.revoked_at = world.now
    await session.commit()
    assert (
        list(
            await session.scalars(
                select(Guardianship.id).where(
                    links.guardianship_active(), Guardianship.id == link.id
                )
            )
        )
        == []
    )
    parent = await load_actor(session, f.PARENT)
    assert parent.children == ()
    ended = await diary.ended_access(session, parent, world.school.student_id, now=world.now)
    assert ended is not None
    assert ended.revoked
    assert not ended.trusted


# --- school time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "start", "hours"),
    [
        # far east of UTC: the local day starts the UTC day before
        ("Pacific/Kiritimati", date(2026, 3, 2), datetime(2026, 3, 1, 10, tzinfo=UTC), 24),
        # far west of UTC
        ("Pacific/Pago_Pago", date(2026, 3, 2), datetime(2026, 3, 2, 11, tzinfo=UTC), 24),
        # daylight saving skips midnight: the day starts at 01:00 local and lasts 23 hours
        ("America/Santiago", date(2026, 9, 6), datetime(2026, 9, 6, 4, tzinfo=UTC), 23),
        ("Europe/Moscow", date(2026, 12, 31), datetime(2026, 12, 30, 21, tzinfo=UTC), 24),
    ],
)
def test_a_local_day_as_utc_instants(zone: str, day: date, start: datetime, hours: int) -> None:
    tz = ZoneInfo(zone)
    begins, ends = schooltime.day_bounds(day, tz)
    assert begins == schooltime.day_start(day, tz) == start
    assert ends - begins == timedelta(hours=hours)
    assert schooltime.local_date(begins, tz) == day
    assert schooltime.local_date(begins - timedelta(microseconds=1), tz) == day - timedelta(1)
    assert schooltime.local_date(ends, tz) == day + timedelta(1)


def test_an_unknown_zone_falls_back_to_the_default() -> None:
    assert schooltime.zone_of("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert schooltime.zone_of(None) == ZoneInfo(schooltime.DEFAULT_TIMEZONE)
    assert schooltime.zone_of("") == ZoneInfo(schooltime.DEFAULT_TIMEZONE)
    assert schooltime.zone_of("Nowhere/Atlantis", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    assert schooltime.zone_of("../etc", tokyo) is tokyo


def test_local_today_is_the_schools_date() -> None:
    moment = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    assert schooltime.local_today(ZoneInfo("Europe/Moscow"), moment) == date(2027, 1, 1)
    assert schooltime.local_today(ZoneInfo("America/New_York"), moment) == date(2026, 12, 31)
