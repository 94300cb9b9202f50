"""A small school ready for notification tests: lessons, grades and their outbox events, written
directly (as the journal would) so these tests depend on the outbox contract only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import AttendanceStatus, GradeKind, LinkMethod
from db.models import (
    Account,
    Attendance,
    Grade,
    Guardianship,
    Homework,
    Lesson,
    OutboxMessage,
    TeachingAssignment,
)
from services.notify import DedupKey, NotificationEvent, cancel_pending, notify_family
from tests import clock
from tests import factories as f

GRACE = timedelta(seconds=60)
#: Noon in Moscow (the small school's zone) today: lessons and grades happen then.
T0 = clock.school_noon()


@dataclass
class World:
    school: f.SmallSchool
    assignment_id: int
    subject_id: int
    accounts: dict[int, int]  # telegram id → account id

    @property
    def student(self) -> int:
        return self.school.student_id


async def make_world(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    english: tuple[int, ...] = (f.PARENT, f.TRUSTED, f.STUDENT, f.TEACHER, f.OTHER_PARENT),
    second_child: bool = False,
) -> World:
    """The small school; listed accounts read English; optionally the parent also guards
    Олег (5A) — a family with two children."""
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_7b)
        )
        assert assignment is not None
        await session.execute(
            update(Account).where(Account.telegram_id.in_(english)).values(locale="en")
        )
        found = await session.execute(select(Account.telegram_id, Account.id))
        accounts = dict(found.all())
        if second_child:
            session.add(
                Guardianship(
                    student_id=school.other_student_id,
                    account_id=accounts[f.PARENT],
                    method=LinkMethod.DEMO,
                )
            )
        await session.commit()
        return World(school, assignment.id, assignment.subject_id, accounts)


async def lesson(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    day: date,
    number: int | None = None,
    *,
    class_id: int | None = None,
    **fields: Any,
) -> int:
    """A lesson of the class's mathematics (the next free lesson number of that day)."""
    async with session_factory() as session:
        class_id = class_id or world.school.class_7b
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == class_id)
        )
        assert assignment is not None
        if number is None:
            taken = await session.scalar(
                select(func.max(Lesson.lesson_number)).where(
                    Lesson.assignment_id == assignment.id, Lesson.date == day
                )
            )
            number = (taken or 0) + 1
        row = Lesson(
            assignment_id=assignment.id,
            class_id=class_id,
            subject_id=assignment.subject_id,
            date=day,
            lesson_number=number,
            starts_at=time(7 + number),
            ends_at=time(7 + number, 45),
            **fields,
        )
        session.add(row)
        await session.commit()
        return row.id


async def grade(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    *,
    at: datetime = T0,
    value: str = "5",
    student_id: int | None = None,
    kind: GradeKind = GradeKind.TEST,
    hidden_until: date | None = None,
    comment: str | None = None,
) -> int:
    """A grade given at `at`, with its "grade" event after the grace window."""
    student_id = student_id or world.student
    class_id = world.school.class_5a if student_id == world.school.other_student_id else None
    lesson_id = await lesson(session_factory, world, at.date(), class_id=class_id)
    async with session_factory() as session:
        row_lesson = await session.get(Lesson, lesson_id)
        assert row_lesson is not None
        row = Grade(
            student_id=student_id,
            lesson_id=lesson_id,
            assignment_id=row_lesson.assignment_id,
            subject_id=row_lesson.subject_id,
            date=at.date(),
            value=value,
            score=float(value.rstrip("+-")) if value[0].isdigit() else 1.0,
            weight=2.0 if kind == GradeKind.TEST else 1.0,
            kind=kind,
            comment=comment,
            author_id=world.school.staff["teacher"],
            created_at=at,
            hidden_until=hidden_until,
        )
        session.add(row)
        await session.flush()
        await notify_family(
            session,
            student_id=student_id,
            event=NotificationEvent.GRADE,
            payload={"grade_id": row.id},
            dedup_key=DedupKey.grade_new(row.id),
            delay=GRACE,
            now=at,
        )
        await session.commit()
        return row.id


async def change_grade(
    session_factory: async_sessionmaker[AsyncSession],
    grade_id: int,
    value: str,
    *,
    at: datetime,
    reason: str | None = None,
    event: bool = True,
) -> None:
    """The teacher corrects a grade; with `event`, a "grade_changed" row (sent at once)."""
    async with session_factory() as session:
        row = await session.get(Grade, grade_id)
        assert row is not None
        old = row.value
        row.value = value
        row.score = float(value.rstrip("+-"))
        row.updated_at = at
        if event:
            await notify_family(
                session,
                student_id=row.student_id,
                event=NotificationEvent.GRADE_CHANGED,
                payload={
                    "grade_id": grade_id,
                    "old_value": old,
                    "new_value": value,
                    "reason": reason,
                },
                dedup_key=DedupKey.grade_changed(grade_id, int(at.timestamp())),
                now=at,
            )
        await session.commit()


async def delete_grade(
    session_factory: async_sessionmaker[AsyncSession],
    grade_id: int,
    *,
    at: datetime,
    reason: str | None = None,
    announced: bool = True,
) -> None:
    """Delete a grade: announced → a "grade_deleted" row; inside the grace window the journal
    cancels the pending announcement instead."""
    async with session_factory() as session:
        row = await session.get(Grade, grade_id)
        assert row is not None
        row.deleted_at = at
        if announced:
            await notify_family(
                session,
                student_id=row.student_id,
                event=NotificationEvent.GRADE_DELETED,
                payload={"grade_id": grade_id, "old_value": row.value, "reason": reason},
                dedup_key=DedupKey.grade_deleted(grade_id),
                now=at,
            )
        else:
            await cancel_pending(session, DedupKey.grade_new(grade_id))
        await session.commit()


async def attendance(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    status: AttendanceStatus,
    *,
    at: datetime = T0,
    minutes_late: int | None = None,
) -> int:
    lesson_id = await lesson(session_factory, world, at.date())
    async with session_factory() as session:
        mark = Attendance(
            lesson_id=lesson_id,
            student_id=world.student,
            status=status,
            minutes_late=minutes_late,
            marked_at=at,
        )
        session.add(mark)
        await session.flush()
        await notify_family(
            session,
            student_id=world.student,
            event=NotificationEvent.ATTENDANCE,
            payload={"attendance_id": mark.id, "status": status.value},
            dedup_key=DedupKey.attendance(mark.id, status),
            delay=GRACE,
            now=at,
        )
        await session.commit()
        return mark.id


async def homework(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    text: str,
    *,
    at: datetime = T0,
    due: date | None = None,
    notify: bool = True,
) -> int:
    lesson_id = await lesson(session_factory, world, at.date())
    async with session_factory() as session:
        row = Homework(
            lesson_id=lesson_id,
            class_id=world.school.class_7b,
            subject_id=world.subject_id,
            due_date=due or at.date() + timedelta(days=1),
            text=text,
            created_by_id=world.school.staff["teacher"],
            created_at=at,
        )
        session.add(row)
        await session.flush()
        if notify:
            await notify_family(
                session,
                student_id=world.student,
                event=NotificationEvent.HOMEWORK,
                payload={"homework_id": row.id},
                dedup_key=DedupKey.homework(row.id, world.student),
                delay=GRACE,
                now=at,
            )
        await session.commit()
        return row.id


async def outbox_rows(
    session_factory: async_sessionmaker[AsyncSession], *where: Any
) -> list[OutboxMessage]:
    async with session_factory() as session:
        return list(
            await session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id))
        )
