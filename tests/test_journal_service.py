"""The journal services on both databases: the outbox rows of every event (recipients, dedup
keys, timing, nothing on rollback), the grace window and reasons, held grades, attendance,
homework and submissions, undo, closed periods, period grades, access, concurrency, audit,
and a fixed number of statements per screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from bot.rendering import Renderer
from bot.telegram import MESSAGE_LIMIT, visible_length
from db.enums import AttendanceStatus, GradeKind, LinkMethod, OutboxStatus, SubmissionStatus
from db.models import (
    Account,
    Acknowledgement,
    Attendance,
    AuditEntry,
    Comment,
    Grade,
    Guardianship,
    Homework,
    HomeworkSubmission,
    Lesson,
    OutboxMessage,
    PeriodGrade,
    TeachingAssignment,
    TimetableSlot,
)
from services import journal
from services.core import audit
from services.core.actors import Actor, load_actor
from services.core.audit import AuditAction
from services.core.files import NewFile
from services.journal import periods
from tests import clock
from tests import factories as f
from tests.refusals import raises_key
from tests.samples.journal import SAMPLES, TRAIL_ACTIONS

MSK = ZoneInfo("Europe/Moscow")
GRACE = timedelta(seconds=60)
NOW = clock.now()
TODAY = clock.school_today()


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _lesson(
    session_factory: async_sessionmaker[AsyncSession],
    class_id: int,
    day: date = TODAY,
    number: int = 1,
) -> int:
    async with session_factory() as session:
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
        )
        session.add(lesson)
        await session.commit()
        return lesson.id


@pytest.fixture
async def lesson_id(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> int:
    return await _lesson(session_factory, school.class_7b)


async def _actor(session: AsyncSession, telegram_id: int) -> Actor:
    return await load_actor(session, telegram_id)


async def _accounts(session: AsyncSession, *telegram_ids: int) -> list[int]:
    return sorted(
        await session.scalars(select(Account.id).where(Account.telegram_id.in_(telegram_ids)))
    )


async def _rows(session: AsyncSession, prefix: str) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedup_key.startswith(prefix))
            .order_by(OutboxMessage.account_id)
            .execution_options(populate_existing=True)
        )
    )


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- the outbox contract --------------------------------------------------------------------


async def test_a_new_grade_is_announced_to_the_family_after_the_grace_window(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "4-", GradeKind.TEST,
            grace=GRACE, now=NOW,
        )  # fmt: skip
        rows = await _rows(session, f"grade:{saved.grade_id}:new:")
        family = await _accounts(session, f.PARENT, f.TRUSTED, f.STUDENT)
        assert [r.account_id for r in rows] == family
        assert [r.dedup_key for r in rows] == [f"grade:{saved.grade_id}:new:{a}" for a in family]
        for row in rows:
            assert row.kind == "grade"
            assert row.event == "grade"
            assert row.payload == {
                "student_id": school.student_id,
                "grade_id": saved.grade_id,
            }
            assert row.not_before == NOW + GRACE
            assert row.status == OutboxStatus.PENDING
        grade = await session.get(Grade, saved.grade_id)
        assert grade is not None
        assert (grade.value, grade.score, grade.weight, grade.author_id) == (
            "4-", 3.7, 2.0, school.staff["teacher"],
        )  # fmt: skip
        # Мария has no family in the bot: a grade, no rows
        other = await journal.add_grade(
            session, teacher, lesson_id, school.unlinked_student_id, 0, grace=GRACE, now=NOW
        )
        assert await _rows(session, f"grade:{other.grade_id}:") == []


async def test_nothing_is_written_when_the_transaction_rolls_back(
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    lesson_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)

        async def broken_commit() -> None:
            raise RuntimeError("the connection dropped")

        monkeypatch.setattr(session, "commit", broken_commit)
        with pytest.raises(RuntimeError):
            await journal.add_grade(
                session, teacher, lesson_id, school.student_id, "5", grace=GRACE, now=NOW
            )
        with pytest.raises(RuntimeError):
            await journal.set_attendance(
                session, teacher, lesson_id, school.student_id, AttendanceStatus.ABSENT,
                grace=GRACE, now=NOW,
            )  # fmt: skip
        with pytest.raises(RuntimeError):
            await journal.save_homework(session, teacher, lesson_id, text="x", grace=GRACE)
        await session.rollback()
    async with session_factory() as session:
        for model in (Grade, Attendance, Homework, OutboxMessage, AuditEntry):
            assert await _count(session, model) == 0, model


async def test_held_grade_is_announced_at_the_start_of_the_day_in_the_school_zone(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "2", grace=GRACE, now=NOW
        )
        until = TODAY + timedelta(days=10)
        await journal.hold_grade(session, teacher, saved.grade_id, until, grace=GRACE, now=NOW)
        rows = await _rows(session, f"grade:{saved.grade_id}:new:")
        midnight = datetime.combine(until, time(0), tzinfo=MSK)
        assert {r.not_before for r in rows} == {midnight}
        # until that day changes are silent; holding again after the family heard is refused
        later = NOW + timedelta(days=2)
        await journal.change_grade(session, teacher, saved.grade_id, value="3", grace=GRACE,
                                   now=later)  # fmt: skip
        assert await _rows(session, f"grade:{saved.grade_id}:chg:") == []
        await journal.hold_grade(session, teacher, saved.grade_id, None, grace=GRACE, now=later)
        rows = await _rows(session, f"grade:{saved.grade_id}:new:")
        assert {r.not_before for r in rows} == {later}
        with raises_key("journal.already_announced"):
            await journal.hold_grade(
                session, teacher, saved.grade_id, until, grace=GRACE, now=later + GRACE
            )
        with raises_key("journal.bad_date"):
            await journal.hold_grade(session, teacher, saved.grade_id, TODAY, grace=GRACE,
                                     now=NOW)  # fmt: skip
        # a grade created held back is enqueued for that day straight away
        held = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "5", grace=GRACE, now=NOW,
            hold_until=until,
        )  # fmt: skip
        rows = await _rows(session, f"grade:{held.grade_id}:new:")
        assert len(rows) == 3
        assert {r.not_before for r in rows} == {midnight}
        with raises_key("journal.bad_date"):
            await journal.add_grade(session, teacher, lesson_id, school.student_id, "5",
                                    grace=GRACE, now=NOW, hold_until=TODAY)  # fmt: skip


async def test_changes_inside_the_window_are_silent_after_it_need_a_reason(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "3", grace=GRACE, now=NOW
        )
        gid = saved.grade_id
        await journal.change_grade(session, teacher, gid, value="4", grace=GRACE,
                                   now=NOW + timedelta(seconds=30))  # fmt: skip
        assert await _count(session, OutboxMessage) == 3
        late = NOW + timedelta(minutes=5)
        with pytest.raises(journal.ReasonRequired) as asked:
            await journal.change_grade(session, teacher, gid, value="5", grace=GRACE, now=late)
        assert asked.value.details == {"old": "4", "new": "5"}
        await session.rollback()
        changed = await journal.change_grade(
            session, teacher, gid, value="5", reason="recounted", grace=GRACE, now=late
        )
        assert (changed.old_value, changed.value) == ("4", "5")
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.reason == "recounted"))
        assert entry is not None
        rows = await _rows(session, f"grade:{gid}:chg:{entry.id}:")
        assert len(rows) == 3
        assert rows[0].event == "grade_changed"
        assert rows[0].payload == {
            "student_id": school.student_id,
            "grade_id": gid,
            "old_value": "4",
            "new_value": "5",
            "reason": "recounted",
        }
        assert rows[0].not_before == late
        # a kind-only change after the window: a reason, an audit entry, no family event
        with pytest.raises(journal.ReasonRequired):
            await journal.change_grade(session, teacher, gid, kind=GradeKind.EXAM, grace=GRACE,
                                       now=late)  # fmt: skip
        await session.rollback()
        await journal.change_grade(session, teacher, gid, kind=GradeKind.EXAM, reason="exam",
                                   grace=GRACE, now=late)  # fmt: skip
        assert await _count(session, OutboxMessage, OutboxMessage.dedup_key.contains(":chg:")) == 3
        grade = await session.get(Grade, gid, populate_existing=True)
        assert grade is not None
        assert (grade.kind, grade.weight) == (GradeKind.EXAM, 3.0)
        # delete after the window: a reason, "grade_deleted"
        with pytest.raises(journal.ReasonRequired):
            await journal.delete_grade(session, teacher, gid, grace=GRACE, now=late)
        await session.rollback()
        await journal.delete_grade(session, teacher, gid, reason="twice", grace=GRACE, now=late)
        rows = await _rows(session, f"grade:{gid}:del:")
        assert [r.event for r in rows] == ["grade_deleted"] * 3
        assert [r.payload for r in rows] == [
            {
                "student_id": school.student_id,
                "grade_id": gid,
                "old_value": "5",
                "reason": "twice",
            }
        ] * 3
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity_id == gid)
                .order_by(AuditEntry.id)
            )
        )  # fmt: skip
        assert actions == [
            AuditAction.GRADE_CREATE,
            *[AuditAction.GRADE_UPDATE] * 3,
            AuditAction.GRADE_DELETE,
        ]


async def test_delete_inside_the_window_cancels_the_announcement_and_undo_revives_it(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "2", grace=GRACE, now=NOW
        )
        await journal.delete_grade(session, teacher, saved.grade_id, grace=GRACE, now=NOW)
        rows = await _rows(session, f"grade:{saved.grade_id}:")
        assert {r.status for r in rows} == {OutboxStatus.CANCELLED}
        assert len(rows) == 3
        undone = await journal.undo_last(session, teacher, lesson_id, grace=GRACE, now=NOW)
        assert undone.action == AuditAction.GRADE_DELETE
        rows = await _rows(session, f"grade:{saved.grade_id}:")
        assert {r.status for r in rows} == {OutboxStatus.PENDING}
        undone = await journal.undo_last(session, teacher, lesson_id, grace=GRACE, now=NOW)
        assert undone.action == AuditAction.GRADE_CREATE
        grade = await session.get(Grade, saved.grade_id, populate_existing=True)
        assert grade is not None
        assert grade.deleted_at is not None
        assert {r.status for r in await _rows(session, "grade:")} == {OutboxStatus.CANCELLED}
        with raises_key("journal.nothing_to_undo"):
            await journal.undo_last(session, teacher, lesson_id, grace=GRACE, now=NOW)


async def test_undo_never_overwrites_a_colleagues_later_change(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        await session.execute(
            update(Lesson)
            .where(Lesson.id == lesson_id)
            .values(replacement_teacher_id=school.staff["class_teacher"])
        )
        await session.commit()
        teacher = await _actor(session, f.TEACHER)
        colleague = await _actor(session, f.CLASS_TEACHER)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "3", grace=GRACE, now=NOW
        )
        await journal.change_grade(session, colleague, saved.grade_id, value="4", grace=GRACE,
                                   now=NOW)  # fmt: skip
        with raises_key("journal.changed_since"):
            await journal.undo_last(session, teacher, lesson_id, grace=GRACE, now=NOW)
        await session.rollback()
        undone = await journal.undo_last(session, colleague, lesson_id, grace=GRACE, now=NOW)
        assert (undone.old, undone.new) == (
            {"value": "4", "kind": "classwork", "weight": 1.0, "hidden_until": None,
             "deleted": False},
            {"value": "3", "kind": "classwork", "weight": 1.0, "hidden_until": None,
             "deleted": False},
        )  # fmt: skip


async def test_attendance_marks_announce_absences_and_lateness_only(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        assert await journal.mark_all_present(session, teacher, lesson_id, now=NOW) == 2
        assert await journal.mark_all_present(session, teacher, lesson_id, now=NOW) == 0
        assert await _count(session, OutboxMessage) == 0
        saved = await journal.cycle_attendance(
            session, teacher, lesson_id, school.student_id, grace=GRACE, now=NOW
        )
        assert (saved.old_status, saved.status) == (
            AttendanceStatus.PRESENT, AttendanceStatus.ABSENT,
        )  # fmt: skip
        att_id = await session.scalar(
            select(Attendance.id).where(Attendance.student_id == school.student_id)
        )
        rows = await _rows(session, f"att:{att_id}:absent:")
        assert [r.account_id for r in rows] == await _accounts(session, f.PARENT, f.STUDENT)
        assert rows[0].kind == "attendance"
        assert rows[0].event == "attendance"
        assert rows[0].not_before == NOW + GRACE
        # back to present inside the window: cancelled; absent again: revived, no duplicate
        await journal.set_attendance(session, teacher, lesson_id, school.student_id,
                                     AttendanceStatus.PRESENT, grace=GRACE, now=NOW)  # fmt: skip
        assert {r.status for r in await _rows(session, f"att:{att_id}:")} == {"cancelled"}
        await journal.set_attendance(session, teacher, lesson_id, school.student_id,
                                     AttendanceStatus.ABSENT, grace=GRACE, now=NOW)  # fmt: skip
        rows = await _rows(session, f"att:{att_id}:")
        assert {r.status for r in rows} == {"pending"}
        assert len(rows) == 2
        late = await journal.set_attendance(
            session, teacher, lesson_id, school.student_id, AttendanceStatus.LATE,
            minutes_late=7, grace=GRACE, now=NOW,
        )  # fmt: skip
        assert late.status == AttendanceStatus.LATE
        assert len(await _rows(session, f"att:{att_id}:late:")) == 2
        with pytest.raises(journal.ReasonRequired):
            await journal.set_attendance(
                session, teacher, lesson_id, school.student_id, AttendanceStatus.EXCUSED,
                grace=GRACE, now=NOW,
            )  # fmt: skip
        await session.rollback()
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "attendance")
                .order_by(AuditEntry.id)
            )
        )  # fmt: skip
        assert [(e.old or {}).get("status") for e in entries] == [
            None, None, "present", "absent", "present", "absent",
        ]  # fmt: skip
        assert entries[-1].new == {"status": "late", "minutes_late": 7, "reason": None}
        assert all(e.actor_id is not None and e.at is not None for e in entries)


async def test_an_absence_marked_again_is_announced_anew_to_who_may_still_hear_it(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    """absent → present (its announcement cancelled) → absent again a minute later: the
    announcement is pending again, due a grace window after the second mark, and not for a
    parent whose link was revoked in between."""
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        mark = journal.set_attendance
        await mark(session, teacher, lesson_id, school.student_id, AttendanceStatus.ABSENT,
                   grace=GRACE, now=NOW)  # fmt: skip
        await mark(session, teacher, lesson_id, school.student_id, AttendanceStatus.PRESENT,
                   grace=GRACE, now=NOW)  # fmt: skip
        (parent,) = await _accounts(session, f.PARENT)
        await session.execute(
            update(Guardianship).where(Guardianship.account_id == parent).values(revoked_at=NOW)
        )
        later = NOW + timedelta(minutes=1)
        await mark(session, teacher, lesson_id, school.student_id, AttendanceStatus.ABSENT,
                   grace=GRACE, now=later)  # fmt: skip
        att_id = await session.scalar(
            select(Attendance.id).where(Attendance.student_id == school.student_id)
        )
        rows = {r.account_id: r for r in await _rows(session, f"att:{att_id}:absent:")}
        (student,) = await _accounts(session, f.STUDENT)
        assert rows.keys() == {parent, student}  # one row each: revived, not duplicated
        assert rows[student].status == OutboxStatus.PENDING
        assert rows[student].not_before == later + GRACE
        assert rows[student].claimed_until is None
        assert rows[parent].status == OutboxStatus.CANCELLED


async def test_future_and_cancelled_lessons_take_no_grades(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    future = await _lesson(session_factory, school.class_7b, TODAY + timedelta(days=2))
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        for call in (
            journal.add_grade(session, teacher, future, school.student_id, "5", grace=GRACE),
            journal.mark_all_present(session, teacher, future),
        ):
            with raises_key("journal.lesson_in_future"):
                await call
        await journal.set_topic(session, teacher, future, "Planned <topic>")
        await journal.set_cancelled(session, teacher, future, True)
        lesson = await session.get(Lesson, future, populate_existing=True)
        assert lesson is not None
        assert (lesson.topic, lesson.cancelled) == ("Planned <topic>", True)


async def test_homework_is_due_on_the_next_lesson_and_reaches_every_family(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
        session.add(
            TimetableSlot(
                assignment_id=assignment_id,
                weekday=(TODAY + timedelta(days=2)).isoweekday(),
                lesson_number=3,
                starts_at=time(10),
                ends_at=time(10, 45),
                valid_from=TODAY - timedelta(days=30),
            )
        )
        await session.commit()
        parent = await session.scalar(select(Account.id).where(Account.telegram_id == f.PARENT))
        session.add(
            Guardianship(
                student_id=school.unlinked_student_id,
                account_id=parent,
                method=LinkMethod.DEMO,
            )
        )
        await session.commit()
        teacher = await _actor(session, f.TEACHER)
        screen = await journal.homework_screen(session, teacher, lesson_id)
        assert screen.homework is None
        assert screen.due_choices[0] == TODAY + timedelta(days=2)
        homework_id = await journal.save_homework(
            session,
            teacher,
            lesson_id,
            text="p. 12 <ex. 3>",
            attachments=[NewFile("document", "FILE", "U1", "a.pdf")],
            grace=GRACE,
            now=NOW,
        )
        homework = await session.get(Homework, homework_id)
        assert homework is not None
        assert homework.due_date == TODAY + timedelta(days=2)
        rows = await _rows(session, f"hw:{homework_id}:new:s{school.student_id}:")
        assert [r.account_id for r in rows] == await _accounts(
            session, f.PARENT, f.TRUSTED, f.STUDENT
        )
        assert rows[0].event == "homework"
        assert rows[0].payload == {
            "student_id": school.student_id,
            "homework_id": homework_id,
        }
        assert rows[0].not_before == NOW + GRACE
        # the parent of two children in the class hears about each of them
        sister = await _rows(session, f"hw:{homework_id}:new:s{school.unlinked_student_id}:")
        assert [r.account_id for r in sister] == await _accounts(session, f.PARENT)
        # editing posts no second announcement
        await journal.save_homework(session, teacher, lesson_id, text="p. 13", grace=GRACE)
        assert len(await _rows(session, "hw:")) == 4
        await journal.set_due_date(session, teacher, lesson_id, TODAY + timedelta(days=9))
        with raises_key("journal.bad_date"):
            await journal.set_due_date(session, teacher, lesson_id, TODAY)


async def test_a_reviewed_submission_is_told_to_the_student_only(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        homework_id = await journal.save_homework(
            session, teacher, lesson_id, text="essay", grace=GRACE
        )
        submission = HomeworkSubmission(homework_id=homework_id, student_id=school.student_id)
        session.add(submission)
        await session.commit()
        submission_id = submission.id
        with pytest.raises(journal.ReasonRequired):
            await journal.review_submission(session, teacher, submission_id, accept=False)
        await session.rollback()
        item = await journal.review_submission(
            session, teacher, submission_id, accept=False, comment="more <detail>"
        )
        assert (item.status, item.teacher_comment) == (SubmissionStatus.RETURNED,
                                                       "more <detail>")  # fmt: skip
        await journal.review_submission(session, teacher, submission_id, accept=True)
        student = await _accounts(session, f.STUDENT)
        rows = await _rows(session, f"sub:{submission_id}:")
        assert [r.dedup_key for r in rows] == [
            f"sub:{submission_id}:rev:1:{student[0]}",
            f"sub:{submission_id}:rev:2:{student[0]}",
        ]
        assert rows[0].event == "submission_reviewed"
        assert rows[0].payload == {
            "submission_id": submission_id,
            "student_id": school.student_id,
        }
        listing = await journal.submissions(session, teacher, lesson_id)
        assert [i.student_name for i in listing.items] == ["Пётр Иванов"]
        assert listing.missing == ["Мария <Смирнова>"]


# --- rights ---------------------------------------------------------------------------------


async def test_rights_follow_assignments_replacements_and_roles(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    lesson_5a = await _lesson(session_factory, school.class_5a)
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        class_teacher = await _actor(session, f.CLASS_TEACHER)
        head = await _actor(session, f.HEAD)
        family = [await _actor(session, t) for t in (f.PARENT, f.STUDENT, f.TRUSTED)]
        # the subject teacher: only their lessons
        with raises_key("access.denied"):
            await journal.lesson_card(session, teacher, lesson_5a)
        with raises_key("access.denied"):
            await journal.add_grade(session, teacher, lesson_5a, school.other_student_id, "5",
                                    grace=GRACE)  # fmt: skip
        # a student of another class, forged into this lesson
        with raises_key("access.denied"):
            await journal.add_grade(session, teacher, lesson_id, school.other_student_id, "5",
                                    grace=GRACE)  # fmt: skip
        # the class teacher reads every subject of 7B but writes none of it
        card = await journal.lesson_card(session, class_teacher, lesson_id)
        assert card.class_journal
        assert not card.can_write
        with raises_key("access.denied"):
            await journal.add_grade(session, class_teacher, lesson_id, school.student_id, "5",
                                    grace=GRACE)  # fmt: skip
        # the head teacher reads the school, writes nothing in an open period
        assert (await journal.lesson_card(session, head, lesson_5a)).roster
        with raises_key("access.denied"):
            await journal.mark_all_present(session, head, lesson_5a)
        # families: nothing at all
        for actor in family:
            for call in (
                journal.lesson_card(session, actor, lesson_id),
                journal.add_grade(session, actor, lesson_id, school.student_id, "5",
                                  grace=GRACE),
                journal.day_view(session, actor, TODAY, today=TODAY),
                journal.unseen_report(session, actor, school.class_7b, today=TODAY),
                audit.lesson_trail(session, actor, lesson_id),
                audit.student_trail(session, actor, school.student_id),
            ):  # fmt: skip
                with raises_key("access.denied"):
                    await call
        # a replacement may then grade the lesson
        await journal.set_replacement(session, teacher, lesson_id, school.staff["class_teacher"])
        saved = await journal.add_grade(
            session, class_teacher, lesson_id, school.student_id, "5", grace=GRACE
        )
        assert saved.value == "5"
        # only a teacher of the school can be the replacement
        with raises_key("access.denied"):
            await journal.set_replacement(session, teacher, lesson_id, school.staff["admin"])
        await session.rollback()
        candidates = await journal.replacement_candidates(session, teacher, lesson_id)
        assert {c.id for c in candidates.candidates} == {
            school.staff["class_teacher"], school.staff["unlinked"],
        }  # fmt: skip
        # the subject teacher does not see the class's whole history; the class teacher does
        with raises_key("access.denied"):
            await audit.student_trail(session, teacher, school.student_id)
        trail = await audit.student_trail(session, class_teacher, school.student_id)
        assert [line.action for line in trail.lines] == [AuditAction.GRADE_CREATE]
        assert trail.lines[0].who == "Классная Руководительница"


def test_audit_actions_keep_the_strings_the_log_stores() -> None:
    """`audit_log.action` holds these strings: renaming a value would change the meaning of the
    rows already written, so every value is pinned here (add members, never rename)."""
    assert {a.name: a.value for a in AuditAction} == {
        "GRADE_CREATE": "grade.create", "GRADE_UPDATE": "grade.update",
        "GRADE_DELETE": "grade.delete", "GRADE_HOLD": "grade.hold", "GRADE_UNDO": "grade.undo",
        "ATTENDANCE_CREATE": "attendance.create", "ATTENDANCE_UPDATE": "attendance.update",
        "ATTENDANCE_BULK": "attendance.bulk", "ATTENDANCE_UNDO": "attendance.undo",
        "PERIOD_GRADE_SET": "period_grade.set", "PERIOD_CLOSE": "period.close",
        "LESSON_TOPIC": "lesson.topic", "LESSON_CANCEL": "lesson.cancel",
        "LESSON_RESTORE": "lesson.restore", "LESSON_REPLACEMENT": "lesson.replacement",
        "HOMEWORK_CREATE": "homework.create", "HOMEWORK_UPDATE": "homework.update",
        "HOMEWORK_DUE": "homework.due", "SUBMISSION_REVIEW": "submission.review",
        "CODES_ISSUE": "codes.issue", "CODE_FAILED": "code.failed",
        "CODE_ACCEPTED": "code.accepted", "LINK_CODE": "link.code",
        "LINK_PHONE_MATCH": "link.phone_match", "LINK_REQUEST": "link.request",
        "LINK_APPROVE": "link.approve", "LINK_REJECT": "link.reject",
        "GUARDIAN_UNLINK_SELF": "guardian.unlink_self", "GUARDIAN_REVOKE": "guardian.revoke",
        "TRUSTED_INVITE": "trusted.invite", "TRUSTED_ACCEPT": "trusted.accept",
        "TRUSTED_UPDATE": "trusted.update", "TRUSTED_REVOKE": "trusted.revoke",
        "PRIVACY_ERASE": "privacy.erase", "YEAR_NEW": "year.new",
        "ROSTER_IMPORT": "roster.import",
    }  # fmt: skip


def test_the_trail_screen_words_every_action_a_trail_can_hold() -> None:
    """Every action written with a lesson or a student (the ones a trail shows) has its own
    line on the audit screen, never the raw value of the fallback."""
    in_trails = {"grade", "attendance", "period_grade", "lesson", "homework", "submission"}
    actions = [a for a in AuditAction if a.split(".")[0] in in_trails]
    samples = {action: (old, new) for action, old, new in TRAIL_ACTIONS}
    assert set(actions) <= set(samples), "add the new action to tests/samples/journal.py"
    lines = [
        audit.TrailLine(i, NOW, "Учитель", a, a.split(".")[0], "Ученик", "Математика", TODAY,
                        *samples[a], None)
        for i, a in enumerate(actions)
    ]  # fmt: skip
    trail = audit.Trail(1, 0, "7Б", "Математика", TODAY, None, lines, 0, False)
    text = Renderer(create_i18n("ru"), strict=True).render("journal/audit.html.j2", trail=trail)
    assert not [a for a in actions if a.value in text]


async def test_a_closed_period_is_changed_only_by_the_head_with_a_reason(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        head = await _actor(session, f.HEAD)
        admin = await _actor(session, f.ADMIN)
        saved = await journal.add_grade(
            session, teacher, lesson_id, school.student_id, "4", grace=GRACE, now=NOW
        )
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
        assert assignment_id is not None
        sheet = await periods.period_sheet(session, teacher, assignment_id, today=TODAY)
        with raises_key("access.denied"):
            await periods.close_period(session, teacher, sheet.period.id)
        closed = await periods.close_period(session, head, sheet.period.id)
        assert closed.closed
        late = NOW + timedelta(minutes=5)
        for call in (
            journal.add_grade(session, teacher, lesson_id, school.student_id, "5", grace=GRACE),
            journal.change_grade(session, teacher, saved.grade_id, value="5", reason="x",
                                 grace=GRACE, now=late),
            journal.delete_grade(session, teacher, saved.grade_id, reason="x", grace=GRACE,
                                 now=late),
            periods.confirm_proposed(session, teacher, assignment_id, sheet.period.id),
        ):  # fmt: skip
            with raises_key("journal.period_closed"):
                await call
        with raises_key("access.denied"):
            await periods.set_period_grade(
                session, teacher, assignment_id, sheet.period.id, school.student_id, "5"
            )
        with pytest.raises(journal.ReasonRequired):
            await journal.change_grade(session, head, saved.grade_id, value="5", grace=GRACE,
                                       now=late)  # fmt: skip
        await session.rollback()
        await journal.change_grade(session, head, saved.grade_id, value="5",
                                   reason="appeal", grace=GRACE, now=late)  # fmt: skip
        with pytest.raises(journal.ReasonRequired):
            await periods.set_period_grade(
                session, admin, assignment_id, sheet.period.id, school.student_id, "5"
            )
        await session.rollback()
        line = await periods.set_period_grade(
            session, admin, assignment_id, sheet.period.id, school.student_id, "5",
            reason="council",
        )  # fmt: skip
        assert line.value == "5"
        reasons = list(
            await session.scalars(
                select(AuditEntry.reason)
                .where(AuditEntry.reason.is_not(None))
                .order_by(AuditEntry.id)
            )
        )
        assert reasons == ["appeal", "council"]
        changed = await _rows(session, f"grade:{saved.grade_id}:chg:")
        assert {r.payload["reason"] for r in changed} == {"appeal"}


async def test_period_grades_are_proposed_from_the_weighted_average(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        for value, kind in (("5", GradeKind.TEST), ("3", GradeKind.ORAL), ("2", GradeKind.ORAL)):
            await journal.add_grade(session, teacher, lesson_id, school.student_id, value, kind,
                                    grace=GRACE, now=NOW)  # fmt: skip
        deleted = await journal.add_grade(session, teacher, lesson_id, school.student_id, "2",
                                          grace=GRACE, now=NOW)  # fmt: skip
        await journal.delete_grade(session, teacher, deleted.grade_id, grace=GRACE, now=NOW)
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
        assert assignment_id is not None
        sheet = await periods.period_sheet(session, teacher, assignment_id, today=TODAY)
        lines = {line.student_id: line for line in sheet.lines}
        petr = lines[school.student_id]
        assert petr.average == pytest.approx((5 * 2 + 3 + 2) / 4)
        assert (petr.grades, petr.proposed, petr.value) == (3, "4", None)
        assert lines[school.unlinked_student_id].proposed is None
        assert sheet.choices == ["5", "4", "3", "2", "1"]
        assert await periods.confirm_proposed(session, teacher, assignment_id,
                                              sheet.period.id) == 1  # fmt: skip
        line = await periods.set_period_grade(
            session, teacher, assignment_id, sheet.period.id, school.student_id, 0
        )
        assert line.value == "5"
        with raises_key("journal.invalid_value"):
            await periods.set_period_grade(
                session, teacher, assignment_id, sheet.period.id, school.student_id, "4+"
            )
        stored = await session.scalar(select(PeriodGrade))
        assert stored is not None
        assert (stored.value, stored.proposed_value) == ("5", "4")


async def test_unseen_list_puts_failing_grades_and_absences_first(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        teacher = await _actor(session, f.TEACHER)
        class_teacher = await _actor(session, f.CLASS_TEACHER)
        ids = []
        for value in ("5", "2", "4"):
            saved = await journal.add_grade(session, teacher, lesson_id, school.student_id, value,
                                            grace=GRACE, now=NOW)  # fmt: skip
            ids.append(saved.grade_id)
        held = await journal.add_grade(session, teacher, lesson_id, school.unlinked_student_id,
                                       "2", grace=GRACE, now=NOW)  # fmt: skip
        await journal.hold_grade(session, teacher, held.grade_id, TODAY + timedelta(days=3),
                                 grace=GRACE, now=NOW)  # fmt: skip
        await journal.set_attendance(session, teacher, lesson_id, school.unlinked_student_id,
                                     AttendanceStatus.ABSENT, grace=GRACE, now=NOW)  # fmt: skip
        parent = await _accounts(session, f.PARENT)
        session.add(Acknowledgement(grade_id=ids[2], account_id=parent[0]))
        await session.commit()
        report = await journal.unseen_report(session, class_teacher, school.class_7b,
                                             today=TODAY)  # fmt: skip
        assert [g.grade_id for g in report.failing] == [ids[1]]
        assert [g.grade_id for g in report.other] == [ids[0]]
        assert [(a.student_name, a.linked) for a in report.absences] == [
            ("Мария <Смирнова>", False)
        ]
        with raises_key("access.denied"):
            await journal.unseen_report(session, teacher, school.class_7b, today=TODAY)


# --- concurrency ----------------------------------------------------------------------------


async def test_two_sessions_interleaving_lose_no_update(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, lesson_id: int
) -> None:
    async with session_factory() as session:
        await session.execute(
            update(Lesson)
            .where(Lesson.id == lesson_id)
            .values(replacement_teacher_id=school.staff["class_teacher"])
        )
        await session.commit()

    async def work(telegram_id: int, student_id: int, values: list[str]) -> None:
        async with session_factory() as session:
            actor = await _actor(session, telegram_id)
            for value in values:
                await journal.add_grade(session, actor, lesson_id, student_id, value, grace=GRACE)
                await journal.cycle_attendance(
                    session, actor, lesson_id, school.student_id, grace=GRACE
                )
                await asyncio.sleep(0)

    await asyncio.gather(
        work(f.TEACHER, school.student_id, ["5", "4", "3"]),
        work(f.CLASS_TEACHER, school.unlinked_student_id, ["2", "3", "4"]),
    )
    async with session_factory() as session:
        assert await _count(session, Grade) == 6
        assert await _count(session, Attendance) == 1
        # six taps on one student, each applied after the one before: absent → late →
        # present → absent → late → present
        status = await session.scalar(select(Attendance.status))
        assert status == AttendanceStatus.PRESENT
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "attendance")
                .order_by(AuditEntry.id)
            )
        )  # fmt: skip
        chain = [((e.old or {}).get("status"), e.new["status"]) for e in entries]
        assert chain == [
            (None, "absent"), ("absent", "late"), ("late", "present"),
            ("present", "absent"), ("absent", "late"), ("late", "present"),
        ]  # fmt: skip


# --- screens: bounded queries, one message -------------------------------------------------


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_screen_costs_the_same_few_statements_however_much_is_in_it(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    lesson_id: int,
) -> None:
    async def costs() -> list[int]:
        async with session_factory() as session:
            teacher = await _actor(session, f.TEACHER)
            class_teacher = await _actor(session, f.CLASS_TEACHER)
            result = []
            for call in (
                lambda: journal.lesson_card(session, teacher, lesson_id),
                lambda: journal.student_sheet(session, teacher, lesson_id, school.student_id),
                lambda: journal.day_view(session, teacher, TODAY, today=TODAY),
                lambda: journal.unseen_report(session, class_teacher, school.class_7b,
                                              today=TODAY),
                lambda: audit.lesson_trail(session, teacher, lesson_id),
            ):  # fmt: skip
                with _statements(engine) as seen:
                    await call()
                result.append(len(seen))
            return result

    async def fill(grades: int) -> None:
        async with session_factory() as session:
            teacher = await _actor(session, f.TEACHER)
            parent = await _accounts(session, f.PARENT)
            await journal.mark_all_present(session, teacher, lesson_id)
            await journal.save_homework(session, teacher, lesson_id, text="x", grace=GRACE)
            for n in range(grades):
                saved = await journal.add_grade(
                    session, teacher, lesson_id, school.student_id, str(n % 5 + 1), grace=GRACE
                )
                session.add(Acknowledgement(grade_id=saved.grade_id, account_id=parent[0]))
                session.add(Comment(grade_id=saved.grade_id, author_id=parent[0], text="?"))
            await session.commit()

    await fill(1)
    few = await costs()
    await fill(30)
    assert await costs() == few
    assert max(few) <= 12, few


async def test_day_view_generates_the_days_lessons_from_the_timetable(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_7b)
        )
        assert assignment is not None
        session.add(
            TimetableSlot(
                assignment_id=assignment.id,
                weekday=TODAY.isoweekday(),
                lesson_number=4,
                starts_at=time(11, 30),
                ends_at=time(12, 15),
                valid_from=TODAY - timedelta(days=7),
            )
        )
        await session.commit()
        teacher = await _actor(session, f.TEACHER)
        view = await journal.day_view(session, teacher, TODAY, today=TODAY)
        assert [(i.class_name, i.lesson_number) for i in view.lessons] == [("7B", 4)]
        again = await journal.day_view(session, teacher, TODAY, today=TODAY)
        assert [i.id for i in again.lessons] == [view.lessons[0].id]
        assert await _count(session, Lesson) == 1
        head = await _actor(session, f.HEAD)
        classes = await journal.journal_classes(session, head)
        assert [c.name for c in classes] == ["5A", "7B"]
        mine = await journal.journal_subjects(session, teacher)
        assert [(a.class_name, a.mine) for a in mine] == [("7B", True)]


EDITED_IN_PLACE = [
    "journal/day.html.j2",
    "journal/lesson.html.j2",
    "journal/roster.html.j2",
    "journal/student.html.j2",
    "journal/run.html.j2",
    "journal/grade.html.j2",
    "journal/homework.html.j2",
    "journal/submissions.html.j2",
    "journal/period.html.j2",
    "journal/audit.html.j2",
    "journal/unseen.html.j2",
]


@pytest.mark.parametrize("name", EDITED_IN_PLACE)
def test_screens_edited_in_place_fit_one_message(name: str) -> None:
    """A screen is edited in place, so even hostile data must fit one message."""
    renderer = Renderer(create_i18n("ru"), strict=True)
    for locale in ("ru", "en"):
        for context in SAMPLES[name]:
            with renderer.i18n.context(), renderer.i18n.use_locale(locale):
                assert visible_length(renderer.render(name, **context)) <= MESSAGE_LIMIT
