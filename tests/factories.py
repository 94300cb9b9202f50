"""A small school for end-to-end tests: one of every role, two families, current year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import CodeKind, LinkMethod, PeriodKind, ScaleKind, StaffRole
from db.models import (
    AcademicYear,
    Account,
    Enrollment,
    GradingScale,
    Guardian,
    Guardianship,
    Lesson,
    LinkRequest,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TrustedAccess,
)
from services.people.codes import issue_code_for
from tests import clock
from tests.harness import CODE_KEYS

# Telegram ids of the accounts the factory links
ADMIN, HEAD, CLASS_TEACHER, TEACHER, STUDENT, PARENT, TRUSTED, OTHER_PARENT = (
    9001,
    9002,
    9003,
    9004,
    9005,
    9006,
    9007,
    9008,
)
MOM_PHONE = "+79161234567"
# Telegram ids of the second school's accounts (make_second_school)
B_ADMIN, B_HEAD, B_CLASS_TEACHER, B_TEACHER, B_STUDENT, B_PARENT = (
    9101,
    9102,
    9103,
    9104,
    9105,
    9106,
)


@dataclass
class SmallSchool:
    school_id: int
    class_7b: int
    class_5a: int
    student_id: int  # Пётр, 7B, linked to STUDENT, parent PARENT, trusted TRUSTED
    unlinked_student_id: int  # Мария, 7B, guardian on file with MOM_PHONE, nobody linked
    other_student_id: int  # Олег, 5A, another family (OTHER_PARENT)
    unlinked_guardian_id: int
    parent_guardianship_id: int
    other_guardianship_id: int
    trusted_grant_id: int
    other_grant_id: int
    staff: dict[str, int]


#: Tests look this far back and ahead of today (last week's grades, next week's lessons).
YEAR_MARGIN = timedelta(days=30)


def current_year_bounds(today: date) -> tuple[date, date]:
    """The academic year holding `today`: 1 September to 31 August (the legal school year in
    Russia), stretched so that it always reaches `YEAR_MARGIN` before and after today. The
    small school splits all of it into four quarters, so a test run "on" a July day, on
    1 September or on 31 August (tests/clock.py) still has a term, lessons and an open period
    around today."""
    start_year = today.year if today.month >= 9 else today.year - 1
    starts, ends = date(start_year, 9, 1), date(start_year + 1, 8, 31)
    return min(starts, today - YEAR_MARGIN), max(ends, today + YEAR_MARGIN)


async def make_small_school(session_factory: async_sessionmaker[AsyncSession]) -> SmallSchool:
    today = clock.school_today()
    starts, ends = current_year_bounds(today)
    async with session_factory() as session:
        school = School(name="Школа <№ 7> & Co", timezone="Europe/Moscow")
        session.add(school)
        await session.flush()
        year = AcademicYear(
            school_id=school.id,
            name=f"{starts.year}/{ends.year}",
            starts_on=starts,
            ends_on=ends,
            is_current=True,
        )
        session.add(year)
        await session.flush()
        quarter_len = (ends - starts) // 4
        for number in range(1, 5):
            q_start = starts + quarter_len * (number - 1)
            q_end = ends if number == 4 else q_start + quarter_len - timedelta(days=1)
            session.add(
                Period(
                    year_id=year.id,
                    kind=PeriodKind.QUARTER,
                    number=number,
                    starts_on=q_start,
                    ends_on=q_end,
                )
            )
        session.add(
            Period(year_id=year.id, kind=PeriodKind.YEAR, number=1, starts_on=starts, ends_on=ends)
        )
        accounts = {}
        for tid, name in [
            (ADMIN, "Админ Админович"),
            (HEAD, "Завуч Завучевна"),
            (CLASS_TEACHER, "Классная Руководительница"),
            (TEACHER, "Учитель Математики"),
            (STUDENT, "Пётр Иванов"),
            (PARENT, "Ирина Иванова"),
            (TRUSTED, "Репетитор Репетиторович"),
            (OTHER_PARENT, "Чужой Родитель"),
        ]:
            account = Account(telegram_id=tid, full_name=name)
            session.add(account)
            accounts[tid] = account
        await session.flush()
        staff: dict[str, Staff] = {}
        for key, tid, roles in [
            ("admin", ADMIN, [StaffRole.ADMIN]),
            ("head", HEAD, [StaffRole.HEAD_TEACHER]),
            ("class_teacher", CLASS_TEACHER, [StaffRole.TEACHER]),
            ("teacher", TEACHER, [StaffRole.TEACHER]),
            ("unlinked", None, [StaffRole.TEACHER]),
        ]:
            member = Staff(
                school_id=school.id,
                account_id=accounts[tid].id if tid else None,
                full_name=accounts[tid].full_name if tid else "Новый Учитель",
            )
            session.add(member)
            await session.flush()
            for role in roles:
                session.add(StaffRoleGrant(staff_id=member.id, role=role))
            staff[key] = member
        class_7b = SchoolClass(
            school_id=school.id,
            year_id=year.id,
            name="7B",
            grade_level=7,
            class_teacher_id=staff["class_teacher"].id,
        )
        class_5a = SchoolClass(school_id=school.id, year_id=year.id, name="5A", grade_level=5)
        session.add_all([class_7b, class_5a])
        await session.flush()
        scale = GradingScale(
            school_id=school.id,
            code="five",
            kind=ScaleKind.FIVE,
            min_score=1,
            max_score=5,
            pass_score=3,
            allow_modifiers=True,
        )
        math_ = Subject(school_id=school.id, name="Математика", short_name="Мат")
        session.add_all([scale, math_])
        await session.flush()
        session.add_all(
            [
                TeachingAssignment(
                    teacher_id=staff["teacher"].id,
                    class_id=class_7b.id,
                    subject_id=math_.id,
                    scale_id=scale.id,
                ),
                TeachingAssignment(
                    teacher_id=staff["class_teacher"].id,
                    class_id=class_5a.id,
                    subject_id=math_.id,
                    scale_id=scale.id,
                ),
            ]
        )
        petr = Student(
            school_id=school.id, account_id=accounts[STUDENT].id, full_name="Пётр Иванов"
        )
        maria = Student(school_id=school.id, full_name="Мария <Смирнова>")
        oleg = Student(school_id=school.id, full_name="Олег Петров")
        session.add_all([petr, maria, oleg])
        await session.flush()
        session.add_all(
            [
                Enrollment(student_id=petr.id, class_id=class_7b.id),
                Enrollment(student_id=maria.id, class_id=class_7b.id),
                Enrollment(student_id=oleg.id, class_id=class_5a.id),
            ]
        )
        mom = Guardian(school_id=school.id, full_name="Анна Смирнова", phone=MOM_PHONE)
        irina = Guardian(school_id=school.id, full_name="Ирина Иванова", phone="+79990000001")
        session.add_all([mom, irina])
        await session.flush()
        session.add_all(
            [
                StudentGuardian(student_id=maria.id, guardian_id=mom.id, relation="мама"),
                StudentGuardian(student_id=petr.id, guardian_id=irina.id, relation="мама"),
            ]
        )
        parent_link = Guardianship(
            student_id=petr.id,
            account_id=accounts[PARENT].id,
            guardian_id=irina.id,
            method=LinkMethod.DEMO,
        )
        other_link = Guardianship(
            student_id=oleg.id, account_id=accounts[OTHER_PARENT].id, method=LinkMethod.DEMO
        )
        session.add_all([parent_link, other_link])
        expires = datetime.combine(ends, time(23, 0)).astimezone()
        grant = TrustedAccess(
            student_id=petr.id,
            granted_by_id=accounts[PARENT].id,
            account_id=accounts[TRUSTED].id,
            label="Репетитор",
            scopes=1 | 2,
            expires_at=expires,
            accepted_at=utcnow(),
        )
        other_grant = TrustedAccess(
            student_id=oleg.id,
            granted_by_id=accounts[OTHER_PARENT].id,
            label="Бабушка",
            scopes=15,
            invite_hash="x" * 64,
        )
        session.add_all([grant, other_grant])
        await session.flush()
        result = SmallSchool(
            school_id=school.id,
            class_7b=class_7b.id,
            class_5a=class_5a.id,
            student_id=petr.id,
            unlinked_student_id=maria.id,
            other_student_id=oleg.id,
            unlinked_guardian_id=mom.id,
            parent_guardianship_id=parent_link.id,
            other_guardianship_id=other_link.id,
            trusted_grant_id=grant.id,
            other_grant_id=other_grant.id,
            staff={k: v.id for k, v in staff.items()},
        )
        await session.commit()
    return result


async def parent_code(
    session_factory: async_sessionmaker[AsyncSession],
    student_id: int,
    guardian_id: int | None,
) -> str:
    async with session_factory() as session:
        issued = await issue_code_for(
            session,
            kind=CodeKind.PARENT,
            student_id=student_id,
            guardian_id=guardian_id,
            created_by_id=None,
            keys=CODE_KEYS,
        )
        await session.commit()
    return issued.code


async def student_code(session_factory: async_sessionmaker[AsyncSession], student_id: int) -> str:
    """A fresh student code (re-issuing replaces the student's earlier unused one)."""
    async with session_factory() as session:
        issued = await issue_code_for(
            session,
            kind=CodeKind.STUDENT,
            student_id=student_id,
            created_by_id=None,
            keys=CODE_KEYS,
        )
        await session.commit()
    return issued.code


@dataclass
class SecondSchool:
    """Another school on the same server: one of every staff role and a linked family."""

    school_id: int
    class_6c: int
    student_id: int  # Вера, 6C, linked to B_STUDENT, parent B_PARENT
    unlinked_student_id: int  # Глеб, 6C, nobody linked
    assignment_id: int  # B_TEACHER teaches 6C history
    lesson_id: int  # today's history lesson of 6C
    request_id: int  # a pending link request for Глеб
    staff: dict[str, int]


async def make_second_school(
    session_factory: async_sessionmaker[AsyncSession], *, today: date | None = None
) -> SecondSchool:
    """School B next to the small school (call after it): staff of one school must get nothing
    of the other."""
    today = today or clock.school_today()
    starts, ends = current_year_bounds(today)
    async with session_factory() as session:
        school = School(name="Гимназия № 2", timezone="Asia/Yekaterinburg")
        session.add(school)
        await session.flush()
        year = AcademicYear(
            school_id=school.id,
            name=f"{starts.year}/{ends.year}",
            starts_on=starts,
            ends_on=ends,
            is_current=True,
        )
        session.add(year)
        await session.flush()
        session.add(
            Period(year_id=year.id, kind=PeriodKind.YEAR, number=1, starts_on=starts, ends_on=ends)
        )
        accounts = {}
        for tid, name in [
            (B_ADMIN, "Админ Второй"),
            (B_HEAD, "Завуч Второй"),
            (B_CLASS_TEACHER, "Классный Второй"),
            (B_TEACHER, "Историк Второй"),
            (B_STUDENT, "Вера Соколова"),
            (B_PARENT, "Ольга Соколова"),
        ]:
            account = Account(telegram_id=tid, full_name=name)
            session.add(account)
            accounts[tid] = account
        await session.flush()
        staff: dict[str, Staff] = {}
        for key, tid, role in [
            ("admin", B_ADMIN, StaffRole.ADMIN),
            ("head", B_HEAD, StaffRole.HEAD_TEACHER),
            ("class_teacher", B_CLASS_TEACHER, StaffRole.TEACHER),
            ("teacher", B_TEACHER, StaffRole.TEACHER),
        ]:
            member = Staff(
                school_id=school.id, account_id=accounts[tid].id, full_name=accounts[tid].full_name
            )
            session.add(member)
            await session.flush()
            session.add(StaffRoleGrant(staff_id=member.id, role=role))
            staff[key] = member
        class_6c = SchoolClass(
            school_id=school.id,
            year_id=year.id,
            name="6C",
            grade_level=6,
            class_teacher_id=staff["class_teacher"].id,
        )
        scale = GradingScale(
            school_id=school.id,
            code="five",
            kind=ScaleKind.FIVE,
            min_score=1,
            max_score=5,
            pass_score=3,
            allow_modifiers=False,
        )
        history = Subject(school_id=school.id, name="История", short_name="Ист")
        session.add_all([class_6c, scale, history])
        await session.flush()
        assignment = TeachingAssignment(
            teacher_id=staff["teacher"].id,
            class_id=class_6c.id,
            subject_id=history.id,
            scale_id=scale.id,
        )
        vera = Student(
            school_id=school.id, account_id=accounts[B_STUDENT].id, full_name="Вера Соколова"
        )
        gleb = Student(school_id=school.id, full_name="Глеб Орлов")
        session.add_all([assignment, vera, gleb])
        await session.flush()
        session.add_all(
            [
                Enrollment(student_id=vera.id, class_id=class_6c.id),
                Enrollment(student_id=gleb.id, class_id=class_6c.id),
                Guardianship(
                    student_id=vera.id, account_id=accounts[B_PARENT].id, method=LinkMethod.DEMO
                ),
            ]
        )
        lesson = Lesson(
            assignment_id=assignment.id,
            class_id=class_6c.id,
            subject_id=history.id,
            date=today,
            lesson_number=2,
            starts_at=time(9, 30),
            ends_at=time(10, 15),
        )
        request = LinkRequest(student_id=gleb.id, account_id=accounts[B_PARENT].id)
        session.add_all([lesson, request])
        await session.flush()
        result = SecondSchool(
            school_id=school.id,
            class_6c=class_6c.id,
            student_id=vera.id,
            unlinked_student_id=gleb.id,
            assignment_id=assignment.id,
            lesson_id=lesson.id,
            request_id=request.id,
            staff={k: v.id for k, v in staff.items()},
        )
        await session.commit()
    return result
