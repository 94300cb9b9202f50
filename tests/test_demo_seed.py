"""`parta demo seed`: the demo school, its accounts for every role, idempotency and size."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.base import Base
from db.enums import AttendanceStatus, LinkMethod, PeriodKind, StaffRole, TrustScope
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    Comment,
    Enrollment,
    Grade,
    GradingScale,
    Guardian,
    Guardianship,
    Holiday,
    Homework,
    HomeworkSubmission,
    Lesson,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from services.core.grading import ScaleSpec, parse_grade
from services.demo import DEMO_SCHOOL_NAME, DEMO_TELEGRAM_IDS, DemoAccount, SeedResult, seed_demo
from tests.conftest import clear_tables

TODAY = date(2026, 11, 27)  # a Friday in the second quarter
Factory = async_sessionmaker[AsyncSession]


async def _seed(factory: Factory, **kwargs: object) -> SeedResult:
    return await seed_demo(factory, today=TODAY, **kwargs)  # type: ignore[arg-type]


async def _count(session: AsyncSession, model: type[Base], *where: object) -> int:
    stmt = select(func.count()).select_from(model)
    for clause in where:
        stmt = stmt.where(clause)  # type: ignore[arg-type]
    return int(await session.scalar(stmt) or 0)


async def _table_counts(session: AsyncSession) -> dict[str, int]:
    return {
        table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


async def _account(session: AsyncSession, role: str) -> Account:
    account = await session.scalar(
        select(Account).where(Account.telegram_id == DEMO_TELEGRAM_IDS[role])
    )
    assert account is not None
    return account


async def _staff_of(session: AsyncSession, role: str) -> tuple[Staff, set[StaffRole]]:
    account = await _account(session, role)
    staff = await session.scalar(select(Staff).where(Staff.account_id == account.id))
    assert staff is not None
    grants = set(
        await session.scalars(
            select(StaffRoleGrant.role).where(StaffRoleGrant.staff_id == staff.id)
        )
    )
    return staff, grants


async def _class_of(session: AsyncSession, student_id: int) -> str:
    name = await session.scalar(
        select(SchoolClass.name)
        .join(Enrollment, Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.student_id == student_id)
    )
    assert name is not None
    return name


# --- idempotency and the accounts -------------------------------------------------------


async def test_seed_twice_adds_nothing_and_returns_the_same_accounts(
    session_factory: Factory,
) -> None:
    first = await _seed(session_factory)
    async with session_factory() as session:
        before = await _table_counts(session)
    second = await _seed(session_factory, students=500, weeks=10)
    async with session_factory() as session:
        after = await _table_counts(session)

    assert first.created is True
    assert second.created is False
    assert second.counts == {}
    assert second.accounts == first.accounts
    assert after == before
    assert before["schools"] == 1
    # the counts the first run reports are the rows it wrote
    for table, count in first.counts.items():
        assert before[table] == count, table
    assert first.counts["grades"] > 0


async def test_every_role_has_its_fixed_account(session_factory: Factory) -> None:
    result = await _seed(session_factory)
    by_role = {a.role: a for a in result.accounts}
    assert {role: a.telegram_id for role, a in by_role.items()} == DEMO_TELEGRAM_IDS
    assert [a.telegram_id for a in result.accounts] == sorted(DEMO_TELEGRAM_IDS.values())
    for role in ("student", "parent", "trusted", "class_teacher"):
        assert by_role[role].class_name == "7B"
    for role in ("admin", "head_teacher", "teacher"):
        assert by_role[role].class_name is None
        assert by_role[role].student is None
    child = by_role["student"].name
    assert by_role["parent"].student == child
    assert by_role["trusted"].student == child
    assert by_role["student"].student == child

    async with session_factory() as session:
        accounts = list(
            await session.scalars(
                select(Account).where(Account.telegram_id.in_(DEMO_TELEGRAM_IDS.values()))
            )
        )
    assert len(accounts) == 7
    for account in accounts:
        assert account.locale is None
        assert account.full_name == next(
            a.name for a in result.accounts if a.telegram_id == account.telegram_id
        )
        assert len(account.full_name.split()) == 3  # Фамилия Имя Отчество


def test_as_json_has_exactly_the_documented_keys() -> None:
    row = DemoAccount("parent", 700000006, "Петрова Наталья", "7B", "Петров Артём").as_json()
    assert row == {
        "role": "parent",
        "telegram_id": 700000006,
        "name": "Петрова Наталья",
        "class": "7B",
        "student": "Петров Артём",
    }
    staff = DemoAccount("admin", 700000001, "Кузнецов Андрей", None).as_json()
    assert set(staff) == {"role", "telegram_id", "name", "class", "student"}
    assert staff["class"] is None
    assert staff["student"] is None


async def test_seeded_json_rows(session_factory: Factory) -> None:
    result = await _seed(session_factory)
    for account in result.accounts:
        row = account.as_json()
        assert list(row) == ["role", "telegram_id", "name", "class", "student"]
        assert isinstance(row["telegram_id"], int)


async def test_staff_accounts_are_linked_with_their_roles(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        _, admin = await _staff_of(session, "admin")
        _, head = await _staff_of(session, "head_teacher")
        homeroom, homeroom_roles = await _staff_of(session, "class_teacher")
        teacher, teacher_roles = await _staff_of(session, "teacher")
        assert StaffRole.ADMIN in admin
        assert StaffRole.HEAD_TEACHER in head
        assert homeroom_roles == {StaffRole.TEACHER}
        assert teacher_roles == {StaffRole.TEACHER}

        class_7b = await session.scalar(select(SchoolClass).where(SchoolClass.name == "7B"))
        assert class_7b is not None
        assert class_7b.class_teacher_id == homeroom.id
        assert await _count(
            session,
            TeachingAssignment,
            TeachingAssignment.teacher_id == homeroom.id,
            TeachingAssignment.class_id == class_7b.id,
        )

        maths = await session.execute(
            select(SchoolClass.name, Subject.name)
            .join(TeachingAssignment, TeachingAssignment.class_id == SchoolClass.id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.teacher_id == teacher.id)
        )
        taught = maths.all()
        assert {subject for _, subject in taught} == {"Математика"}
        assert "7B" in {name for name, _ in taught}
        assert len(taught) >= 2
        assert not await _count(session, SchoolClass, SchoolClass.class_teacher_id == teacher.id)
        for staff in (homeroom, teacher):
            assert staff.phone is not None
            assert re.fullmatch(r"\+7\d{10}", staff.phone)


async def test_family_accounts_are_linked(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        student_account = await _account(session, "student")
        parent = await _account(session, "parent")
        trusted = await _account(session, "trusted")
        student = await session.scalar(
            select(Student).where(Student.account_id == student_account.id)
        )
        assert student is not None
        assert student.full_name == student_account.full_name
        assert await _class_of(session, student.id) == "7B"

        links = list(
            await session.scalars(select(Guardianship).where(Guardianship.account_id == parent.id))
        )
        assert len(links) == 2
        assert {link.method for link in links} == {LinkMethod.DEMO}
        assert all(link.revoked_at is None for link in links)
        classes = {await _class_of(session, link.student_id) for link in links}
        assert classes == {"7B", "5A"}
        assert student.id in {link.student_id for link in links}
        for link in links:  # the guardian on file matches the account's phone and the child
            assert link.guardian_id is not None
            guardian = await session.get(Guardian, link.guardian_id)
            assert guardian is not None
            assert guardian.phone == parent.phone
            assert await _count(
                session,
                StudentGuardian,
                StudentGuardian.student_id == link.student_id,
                StudentGuardian.guardian_id == guardian.id,
            )

        grant = await session.scalar(
            select(TrustedAccess).where(TrustedAccess.account_id == trusted.id)
        )
        assert grant is not None
        assert grant.student_id == student.id
        assert grant.granted_by_id == parent.id
        assert grant.scopes == int(TrustScope.GRADES | TrustScope.HOMEWORK)
        assert grant.accepted_at is not None
        assert grant.revoked_at is None
        year = await session.scalar(select(AcademicYear))
        assert year is not None
        assert grant.expires_at is not None
        assert grant.expires_at.astimezone(UTC).date() == year.ends_on
        assert grant.expires_at > datetime(2027, 5, 31, 12, tzinfo=UTC)
        # the trusted person is nobody's guardian
        assert not await _count(session, Guardianship, Guardianship.account_id == trusted.id)


# --- content ----------------------------------------------------------------------------


async def test_school_structure(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        school = await session.scalar(select(School))
        assert school is not None
        assert (school.name, school.timezone) == (DEMO_SCHOOL_NAME, "Europe/Moscow")
        year = await session.scalar(select(AcademicYear))
        assert year is not None
        assert (year.starts_on, year.ends_on, year.is_current) == (
            date(2026, 9, 1),
            date(2027, 5, 31),
            True,
        )
        periods = Counter(await session.scalars(select(Period.kind)))
        assert periods == {PeriodKind.QUARTER: 4, PeriodKind.YEAR: 1}
        holidays = {(h.starts_on, h.ends_on) for h in await session.scalars(select(Holiday))}
        assert (date(2026, 12, 30), date(2027, 1, 8)) in holidays
        assert any(s.month == 11 and s.day <= 7 for s, _ in holidays)  # autumn break

        names = set(await session.scalars(select(SchoolClass.name)))
        assert {"5A", "7B", "9C"} <= names
        assert not await _count(session, SchoolClass, SchoolClass.class_teacher_id.is_(None))
        subjects = set(await session.scalars(select(Subject.name)))
        assert len(subjects) >= 6
        assert {"Математика", "Русский язык", "Физика", "Физическая культура"} <= subjects
        scales_in_use = set(
            await session.scalars(
                select(GradingScale.kind)
                .join(TeachingAssignment, TeachingAssignment.scale_id == GradingScale.id)
                .distinct()
            )
        )
        assert len(scales_in_use) >= 2
        physics_levels = set(
            await session.scalars(
                select(SchoolClass.grade_level)
                .join(TeachingAssignment, TeachingAssignment.class_id == SchoolClass.id)
                .join(Subject, Subject.id == TeachingAssignment.subject_id)
                .where(Subject.name == "Физика")
            )
        )
        assert physics_levels
        assert min(physics_levels) >= 7

        students = await _count(session, Student)
        assert 70 <= students <= 80
        phones = list(await session.scalars(select(Guardian.phone)))
        assert phones
        assert all(p is not None and re.fullmatch(r"\+7\d{10}", p) for p in phones)
        no_guardian = await _count(
            session,
            Student,
            ~Student.id.in_(select(StudentGuardian.student_id)),
        )
        assert no_guardian == 0


async def test_timetable_has_odd_and_even_weeks_and_full_days(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        frequencies = Counter(await session.scalars(select(TimetableSlot.frequency)))
        assert frequencies["odd"] >= 1
        assert frequencies["even"] >= 1
        rows = await session.execute(
            select(
                SchoolClass.name,
                TimetableSlot.weekday,
                TimetableSlot.lesson_number,
                TimetableSlot.starts_at,
                TimetableSlot.room,
            )
            .join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
            .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        )
        numbers: dict[tuple[str, int], set[int]] = defaultdict(set)
        for name, weekday, number, starts_at, room in rows:
            numbers[name, weekday].add(number)
            assert room
            if number == 1:
                assert starts_at.isoformat() == "08:30:00"
        days = {weekday for _, weekday in numbers}
        assert days == {1, 2, 3, 4, 5}
        for lessons in numbers.values():
            assert 5 <= len(lessons) <= 6
            assert lessons == set(range(1, len(lessons) + 1))


async def test_lessons_and_journal_of_the_past_month(session_factory: Factory) -> None:
    result = await _seed(session_factory)
    month_ago = TODAY - timedelta(days=30)
    async with session_factory() as session:
        first, last = (
            await session.execute(select(func.min(Lesson.date), func.max(Lesson.date)))
        ).one()
        assert first >= TODAY - timedelta(weeks=4)
        assert first <= TODAY - timedelta(weeks=4) + timedelta(days=3)
        assert last >= TODAY + timedelta(days=10)
        on_break = await _count(
            session, Lesson, Lesson.date >= date(2026, 11, 2), Lesson.date <= date(2026, 11, 8)
        )
        assert on_break == 0
        assert result.counts["lessons"] == await _count(session, Lesson)

        recent = (Grade.date >= month_ago, Grade.date < TODAY)
        grades = await _count(session, Grade, *recent)
        past_lessons = await _count(session, Lesson, Lesson.date < TODAY)
        assert grades >= 3 * past_lessons
        assert not await _count(session, Grade, Grade.date >= TODAY)
        assert await _count(session, Grade, Grade.comment.is_not(None))
        kinds = set(await session.scalars(select(Grade.kind).distinct()))
        assert len(kinds) >= 3
        weights = set(await session.scalars(select(Grade.weight).distinct()))
        assert len(weights) >= 2
        assert not await _count(session, Lesson, Lesson.date < TODAY, Lesson.topic.is_(None))
        assert not await _count(session, Lesson, Lesson.date >= TODAY, Lesson.topic.is_not(None))

        homework = await _count(session, Homework)
        assert 0.3 * past_lessons <= homework <= 0.6 * past_lessons
        statuses = Counter(await session.scalars(select(Attendance.status)))
        assert AttendanceStatus.PRESENT not in statuses
        assert len(statuses) >= 2
        students = await _count(session, Student)
        share = sum(statuses.values()) / (past_lessons * students / 3)
        assert 0.01 <= share <= 0.08  # about 4% of student-lessons


@pytest.mark.parametrize("today", [date(2027, 7, 15), date(2027, 9, 1), date(2027, 9, 20)])
async def test_a_demo_seeded_in_the_summer_shows_the_end_of_the_school_year(
    session_factory: Factory, today: date
) -> None:
    await seed_demo(session_factory, today=today)
    async with session_factory() as session:
        first, last = (
            await session.execute(select(func.min(Lesson.date), func.max(Lesson.date)))
        ).one()
        assert first is not None, "a demo seeded in July must still have lessons"
        assert date(2027, 4, 26) <= first <= date(2027, 5, 10)
        assert last <= date(2027, 5, 31)
        assert await _count(session, Grade, Grade.date >= date(2027, 5, 1)) > 100


async def test_grades_fit_their_scales_and_absent_students_get_none(
    session_factory: Factory,
) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        rows = await session.execute(
            select(Grade, GradingScale)
            .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
            .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        )
        kinds = set()
        for grade, scale in rows:
            parsed = parse_grade(ScaleSpec.from_row(scale), grade.value)
            assert (parsed.value, parsed.score) == (grade.value, grade.score)
            kinds.add(scale.kind)
        assert len(kinds) >= 2
        away = await session.execute(
            select(func.count())
            .select_from(Grade)
            .join(
                Attendance,
                (Attendance.lesson_id == Grade.lesson_id)
                & (Attendance.student_id == Grade.student_id),
            )
            .where(Attendance.status.in_([AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED]))
        )
        assert away.scalar_one() == 0


async def test_homework_is_due_at_the_next_lesson(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        rows = (
            await session.execute(
                select(Homework.due_date, Lesson.date, Lesson.assignment_id).join(
                    Lesson, Lesson.id == Homework.lesson_id
                )
            )
        ).all()
        dates: dict[int, list[date]] = defaultdict(list)
        for assignment_id, day in await session.execute(
            select(Lesson.assignment_id, Lesson.date).order_by(Lesson.date)
        ):
            dates[assignment_id].append(day)
    assert rows
    for due, day, assignment_id in rows:
        later = [d for d in dates[assignment_id] if d > day]
        assert due == (later[0] if later else day + timedelta(days=7))


async def test_family_activity(session_factory: Factory) -> None:
    await _seed(session_factory)
    async with session_factory() as session:
        parent = await _account(session, "parent")
        teacher = await _account(session, "teacher")
        student_account = await _account(session, "student")
        acks = await _count(session, Acknowledgement, Acknowledgement.account_id == parent.id)
        assert acks > 0
        comments = list(await session.scalars(select(Comment).order_by(Comment.id)))
        assert [c.author_id for c in comments] == [parent.id, teacher.id, parent.id]
        assert comments[0].reply_to_id is None
        assert comments[1].reply_to_id == comments[0].id
        assert comments[2].reply_to_id == comments[1].id
        grade = await session.get(Grade, comments[0].grade_id)
        student = await session.scalar(
            select(Student).where(Student.account_id == student_account.id)
        )
        assert grade is not None
        assert student is not None
        assert grade.student_id == student.id
        submissions = list(await session.scalars(select(HomeworkSubmission)))
        assert any(s.student_id == student.id for s in submissions)
        assert len({s.status for s in submissions}) >= 2


async def test_small_school_size_options(session_factory: Factory) -> None:
    result = await _seed(session_factory, students=60, weeks=2)
    async with session_factory() as session:
        assert await _count(session, Student) == 60
        assert await _count(session, SchoolClass) == 3
        first = await session.scalar(select(func.min(Lesson.date)))
    assert first is not None
    assert first >= TODAY - timedelta(weeks=2)
    assert result.counts["students"] == 60
    assert {a.role for a in result.accounts} == set(DEMO_TELEGRAM_IDS)


async def test_larger_school_gets_more_classes(session_factory: Factory) -> None:
    result = await _seed(session_factory, students=130, weeks=1)
    async with session_factory() as session:
        names = set(await session.scalars(select(SchoolClass.name)))
    assert result.counts["students"] == 130
    assert len(names) == 6  # ceil(130 / 25)
    assert {"5A", "7B", "9C"} <= names
    assert all(re.fullmatch(r"\d{1,2}[A-Z]", n) for n in names)


async def test_same_seed_same_school(session_factory: Factory, engine: AsyncEngine) -> None:
    first = await _seed(session_factory, students=30, weeks=1)
    async with session_factory() as session:
        names = list(await session.scalars(select(Student.full_name).order_by(Student.id)))
        grades = list(await session.scalars(select(Grade.value).order_by(Grade.id)))
    await clear_tables(engine)
    second = await _seed(session_factory, students=30, weeks=1)
    async with session_factory() as session:
        assert list(await session.scalars(select(Student.full_name).order_by(Student.id))) == names
        assert list(await session.scalars(select(Grade.value).order_by(Grade.id))) == grades
    assert second.counts == first.counts
    assert len(set(names)) > 20  # realistic, varied names
