"""Many linked parents at once, and the school's teachers at work: the crowd of a burst
(tests/test_burst.py, bench/throughput.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import LinkMethod
from db.models import Account, Enrollment, Guardianship, Lesson, Staff, TeachingAssignment

#: Telegram ids of the crowd: far from the demo accounts' and the factories'
FIRST_CROWD_ID = 880_000_001
#: ... and of the teachers
FIRST_TEACHER_ID = 890_000_001


async def link_crowd(
    session_factory: async_sessionmaker[AsyncSession],
    count: int,
    *,
    first_id: int = FIRST_CROWD_ID,
    locale: str | None = None,
    language_code: str | None = "en",
) -> list[int]:
    """`count` parent accounts, each confirmed for one enrolled student (round robin over the
    students); returns their Telegram ids. `language_code` is what their Telegram says (the
    bot records it when it changes)."""
    now = utcnow()
    async with session_factory() as session:
        students = list(
            await session.scalars(
                select(Enrollment.student_id).distinct().order_by(Enrollment.student_id)
            )
        )
        if not students:
            raise ValueError("no enrolled students to link the crowd to")
        ids = [first_id + i for i in range(count)]
        accounts = list(
            await session.scalars(
                insert(Account).returning(Account.id, sort_by_parameter_order=True),
                [
                    {
                        "telegram_id": telegram_id,
                        "full_name": f"Parent {telegram_id}",
                        "locale": locale,
                        "language_code": language_code,
                        "is_active": True,
                        "created_at": now,
                    }
                    for telegram_id in ids
                ],
            )
        )
        await session.execute(
            insert(Guardianship),
            [
                {
                    "student_id": students[i % len(students)],
                    "account_id": account_id,
                    "method": LinkMethod.DEMO,
                    "confirmed_at": now,
                }
                for i, account_id in enumerate(accounts)
            ],
        )
        await session.commit()
    return ids


@dataclass(frozen=True)
class TeacherAtWork:
    """A teacher of the crowd, the latest lesson they gave and the students of its class."""

    telegram_id: int
    lesson_id: int
    student_ids: tuple[int, ...]


async def link_teachers(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    first_id: int = FIRST_TEACHER_ID,
    before: date | None = None,
) -> list[TeacherAtWork]:
    """An account for every teacher of the school that has none (the demo's staff but its own
    demo teacher), each with the latest lesson they gave before `before` (default: today, UTC)
    that was not cancelled, and the students of that lesson's class: what a teacher entering
    grades presses (bench/throughput.py)."""
    before = before or utcnow().date()
    now = utcnow()
    async with session_factory() as session:
        staff = list(
            await session.scalars(
                select(Staff.id)
                .where(
                    Staff.account_id.is_(None),
                    select(TeachingAssignment.id)
                    .where(TeachingAssignment.teacher_id == Staff.id)
                    .exists(),
                )
                .order_by(Staff.id)
            )
        )
        found: list[TeacherAtWork] = []
        for index, staff_id in enumerate(staff):
            lesson = (
                await session.execute(
                    select(Lesson.id, Lesson.class_id)
                    .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
                    .where(
                        TeachingAssignment.teacher_id == staff_id,
                        Lesson.date < before,
                        Lesson.cancelled.is_(False),
                    )
                    .order_by(Lesson.date.desc(), Lesson.lesson_number.desc())
                    .limit(1)
                )
            ).first()
            if lesson is None:
                continue
            students = tuple(
                await session.scalars(
                    select(Enrollment.student_id)
                    .where(Enrollment.class_id == lesson.class_id, Enrollment.left_on.is_(None))
                    .order_by(Enrollment.student_id)
                )
            )
            telegram_id = first_id + index
            account_id = await session.scalar(
                insert(Account)
                .values(
                    telegram_id=telegram_id,
                    full_name=f"Teacher {telegram_id}",
                    language_code="en",
                    is_active=True,
                    created_at=now,
                )
                .returning(Account.id)
            )
            await session.execute(
                update(Staff).where(Staff.id == staff_id).values(account_id=account_id)
            )
            found.append(TeacherAtWork(telegram_id, lesson.id, students))
        await session.commit()
    return found
