"""The teacher's journal end to end on both databases: a teacher runs a whole lesson in the bot
(attendance, grades one tap at a time and in a run-through, homework with files, topic), fixes
and deletes grades with reasons, holds a grade back, hands a lesson to a replacement, sets and
closes period grades; others' and families' forged buttons change nothing; the outbox rows of
every event exist with the right recipients and dedup keys."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks.journal import (
    AttendOp,
    Hold,
    JAttendCb,
    JGradeCb,
    JHoldCb,
    JLessonCb,
    JLessonOpCb,
    JMarkCb,
    JMarkValueCb,
    JPeriodCb,
    JReplaceSetCb,
    JRunCb,
    JUndoCb,
    LessonOp,
    MarkOp,
    PeriodOp,
    RunOp,
)
from db.base import utcnow
from db.enums import AttendanceStatus, GradeKind, SubmissionStatus
from db.models import (
    Account,
    Attendance,
    AuditEntry,
    Grade,
    GradingScale,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    OutboxMessage,
    Period,
    PeriodGrade,
    SchoolClass,
    Staff,
    SubmissionFile,
    TeachingAssignment,
)
from services.core.audit import AuditAction
from services.demo import DEMO_TELEGRAM_IDS, seed_demo
from tests import clock
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser, tiny_png
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot

MSK = ZoneInfo("Europe/Moscow")
REFUSAL = "Sorry, you don't have access to this."


def local_today() -> date:
    return clock.school_today()


async def _make_lesson(
    session_factory: async_sessionmaker[AsyncSession],
    class_id: int,
    day: date,
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
            starts_at=time(8 + number, 0),
            ends_at=time(8 + number, 45),
            room="<101>",
        )
        session.add(lesson)
        await session.commit()
        return lesson.id


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


@pytest.fixture
async def lesson_id(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> int:
    """Today's 7B mathematics lesson of the factory's teacher."""
    return await _make_lesson(session_factory, school.class_7b, local_today())


async def _count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def _account(app: App, telegram_id: int) -> int:
    async with app.session_factory() as session:
        account_id = await session.scalar(
            select(Account.id).where(Account.telegram_id == telegram_id)
        )
        assert account_id is not None
        return account_id


async def _outbox(app: App, prefix: str) -> list[OutboxMessage]:
    async with app.session_factory() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedup_key.startswith(prefix))
            .order_by(OutboxMessage.account_id)
        )
        return list(rows)


def _button_with(message: ChatMessage, fragment: str) -> str:
    for button in message.buttons:
        if fragment in str(button.get("text")):
            return str(button["text"])
    raise AssertionError(f"no button with {fragment!r}: {message.button_texts()}")


async def _open_lesson(user: FakeUser, fragment: str = "7B", day: date | None = None) -> None:
    await user.send(f"/journal {(day or local_today()).isoformat()}")
    assert user.last is not None
    await user.press(user.last, text=_button_with(user.last, fragment))


def _clean(app: App) -> None:
    assert app.fake.errors == [], app.fake.errors[:3]
    assert app.fake.unanswered_callbacks() == []


# --- the demo teacher: run-through taps -----------------------------------------------------


async def test_run_through_grades_25_students_in_under_1_2_taps_each(
    app: App, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(session_factory, weeks=2)
    async with session_factory() as session:
        teacher = await session.scalar(
            select(Staff.id)
            .join(Account, Account.id == Staff.account_id)
            .where(Account.telegram_id == DEMO_TELEGRAM_IDS["teacher"])
        )
        lesson = await session.scalar(
            select(Lesson)
            .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
            .join(SchoolClass, SchoolClass.id == Lesson.class_id)
            .where(
                TeachingAssignment.teacher_id == teacher,
                SchoolClass.name == "7B",
                Lesson.date < local_today(),
            )
            .order_by(Lesson.date.desc(), Lesson.lesson_number)
            .limit(1)
        )
        assert lesson is not None
        await session.execute(delete(Attendance).where(Attendance.lesson_id == lesson.id))
        await session.commit()
        lesson_id, day, number = lesson.id, lesson.date, lesson.lesson_number
        before = await session.scalar(
            select(func.count()).select_from(Grade).where(Grade.lesson_id == lesson_id)
        )
    user = app.user(DEMO_TELEGRAM_IDS["teacher"], language_code="en")
    await user.send(f"/journal {day.strftime('%d.%m.%Y')}")
    day_screen = user.last
    assert day_screen is not None
    taps = 0
    await user.press(day_screen, text=_button_with(day_screen, f"{number}. "))
    taps += 1
    await user.press(user.last, text="▶️ Run-through")
    taps += 1
    graded = 0
    values = ["5", "4", "4+", "3", "5", "4−", "2"]
    while "Run-through done" not in (user.last.text or ""):
        assert "Run-through" in (user.last.text or "")
        await user.press(user.last, text=values[graded % len(values)])
        taps += 1
        graded += 1
        assert graded <= 25
    assert graded == 25
    per_student = taps / graded
    assert per_student <= 1.2, per_student
    assert per_student == pytest.approx(27 / 25)
    async with session_factory() as session:
        after = await session.scalar(
            select(func.count()).select_from(Grade).where(Grade.lesson_id == lesson_id)
        )
        assert after == (before or 0) + 25
        kinds = set(
            await session.scalars(
                select(Grade.kind).where(
                    Grade.lesson_id == lesson_id, Grade.created_at > utcnow() - timedelta(minutes=5)
                )
            )
        )
        assert kinds == {GradeKind.CLASSWORK}
    _clean(app)


# --- the small school: one lesson, every flow ------------------------------------------------


async def test_grade_a_student_then_fix_it_inside_the_grace_window(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await _open_lesson(teacher)
    card = teacher.last
    assert "Пётр Иванов" in card.text
    assert "Мария &lt;Смирнова&gt;" in card.html
    await teacher.press(card, text="👥 Grades")
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Иванов"))
    assert "No grades in this lesson yet" in teacher.last.text
    await teacher.press(teacher.last, text="Test")  # the kind of the next grade
    await teacher.press(teacher.last, text="4+")
    assert "✅ Пётр Иванов: 4+" in teacher.last.text
    assert teacher.callback_answers[-1]["text"] == "✅ Пётр Иванов: 4+"
    async with app.session_factory() as session:
        grade = await session.scalar(select(Grade))
        assert grade is not None
        assert (grade.value, grade.score, grade.kind, grade.weight) == (
            "4+",
            4.3,
            GradeKind.TEST,
            2.0,
        )
    rows = await _outbox(app, f"grade:{grade.id}:new:")
    expected = sorted([await _account(app, t) for t in (f.PARENT, f.TRUSTED, f.STUDENT)])
    assert [r.account_id for r in rows] == expected
    assert all(r.payload == {"student_id": school.student_id, "grade_id": grade.id} for r in rows)
    assert all(r.event == "grade" for r in rows)
    delay = rows[0].not_before - rows[0].created_at
    assert delay == timedelta(seconds=app.settings.notify_grace_seconds)
    # fix it within the grace window: no reason asked, no new event
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 4+"))
    assert "The family will be told at" in teacher.last.text
    await teacher.press(teacher.last, text="5")
    assert "4+ → 5" in teacher.last.text
    assert await _count(app, OutboxMessage) == 3
    # and delete it, still inside the window: the pending announcement is cancelled
    await teacher.press(teacher.last, text="🗑 Delete")
    assert "Deleted" in teacher.last.text
    assert "No grades in this lesson yet" in teacher.last.text
    assert {r.status for r in await _outbox(app, f"grade:{grade.id}:new:")} == {"cancelled"}
    actions = await _audit_actions(app, grade.id)
    assert actions == [AuditAction.GRADE_CREATE, AuditAction.GRADE_UPDATE, AuditAction.GRADE_DELETE]
    _clean(app)


async def _audit_actions(app: App, grade_id: int) -> list[str]:
    async with app.session_factory() as session:
        return list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "grade", AuditEntry.entity_id == grade_id)
                .order_by(AuditEntry.id)
            )
        )


async def _age_grades(app: App, minutes: int = 10) -> None:
    async with app.session_factory() as session:
        await session.execute(
            update(Grade).values(created_at=utcnow() - timedelta(minutes=minutes))
        )
        await session.commit()


async def test_after_the_grace_window_a_change_asks_for_a_reason_the_family_sees(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.press(
        await _card_message(teacher),
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=3, kind=GradeKind.ORAL
        ).pack(),
    )
    async with app.session_factory() as session:
        grade_id = await session.scalar(select(Grade.id))
    await _age_grades(app)
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 4"))
    assert "The family has been told" in teacher.last.text
    await teacher.press(teacher.last, text="5")
    assert "Why change 4 → 5?" in teacher.last.text
    await teacher.send("Checked the test again <b>")
    assert "4 → 5" in teacher.last.text
    rows = await _outbox(app, f"grade:{grade_id}:chg:")
    assert len(rows) == 3
    assert rows[0].event == "grade_changed"
    assert rows[0].payload == {
        "student_id": school.student_id,
        "grade_id": grade_id,
        "old_value": "4",
        "new_value": "5",
        "reason": "Checked the test again <b>",
    }
    async with app.session_factory() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == AuditAction.GRADE_UPDATE)
        )
        assert entry is not None
        assert rows[0].dedup_key.startswith(f"grade:{grade_id}:chg:{entry.id}:")
        assert (entry.old["value"], entry.new["value"], entry.reason) == (
            "4", "5", "Checked the test again <b>"
        )  # fmt: skip
    # delete: a reason again, then "grade_deleted"
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 5"))
    await teacher.press(teacher.last, text="🗑 Delete")
    assert "Why delete the grade 5?" in teacher.last.text
    await teacher.send("Wrong student")
    rows = await _outbox(app, f"grade:{grade_id}:del:")
    assert [r.payload["reason"] for r in rows] == ["Wrong student"] * 3
    assert rows[0].event == "grade_deleted"
    assert rows[0].payload["old_value"] == "5"
    # undo is too late now
    await teacher.press(teacher.last, data=JLessonCb(lesson_id=lesson_id).pack())
    await teacher.press(teacher.last, text="↩️ Undo")
    assert "already been told" in teacher.callback_answers[-1]["text"]
    _clean(app)


async def _card_message(user: FakeUser) -> ChatMessage:
    await _open_lesson(user)
    assert user.last is not None
    return user.last


async def test_held_grade_is_announced_on_the_chosen_day(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(
        card,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=9, kind=GradeKind.TEST
        ).pack(),
    )
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 2"))
    await teacher.press(teacher.last, text="🙈 Hold 1 week")
    until = local_today() + timedelta(days=7)
    assert "Held back from the family until" in teacher.last.text
    async with app.session_factory() as session:
        grade = await session.scalar(select(Grade))
        assert grade is not None
        assert grade.hidden_until == until
    start = datetime.combine(until, time(0), tzinfo=MSK)
    rows = await _outbox(app, f"grade:{grade.id}:new:")
    assert rows
    assert all(r.not_before == start for r in rows)
    # a held grade can still be fixed silently until it is released
    await teacher.press(teacher.last, text="3")
    assert await _count(app, OutboxMessage, OutboxMessage.dedup_key.contains(":chg:")) == 0
    await teacher.press(teacher.last, text="🔓 Show to the family now")
    rows = await _outbox(app, f"grade:{grade.id}:new:")
    assert all(r.not_before <= utcnow() + timedelta(minutes=2) for r in rows)
    assert (await _audit_actions(app, grade.id))[1:] == [
        AuditAction.GRADE_HOLD,
        AuditAction.GRADE_UPDATE,
        AuditAction.GRADE_HOLD,
    ]
    _clean(app)


async def test_attendance_all_present_then_absent_late_and_excused(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(card, text="✅ All present")
    assert "2 students marked present" in teacher.last.text
    assert await _count(app, Attendance, Attendance.status == AttendanceStatus.PRESENT) == 2
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Иванов"))
    assert "Пётр Иванов: ❌ absent" in teacher.callback_answers[-1]["text"]
    async with app.session_factory() as session:
        att = await session.scalar(
            select(Attendance).where(Attendance.student_id == school.student_id)
        )
        assert att is not None
        assert att.status == AttendanceStatus.ABSENT
    rows = await _outbox(app, f"att:{att.id}:absent:")
    # the trusted person has no attendance scope
    assert [r.account_id for r in rows] == sorted(
        [await _account(app, f.PARENT), await _account(app, f.STUDENT)]
    )
    assert rows[0].event == "attendance"
    assert rows[0].payload == {
        "student_id": school.student_id,
        "attendance_id": att.id,
        "status": "absent",
    }
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Иванов"))  # → late
    assert {r.status for r in await _outbox(app, f"att:{att.id}:absent:")} == {"cancelled"}
    assert len(await _outbox(app, f"att:{att.id}:late:")) == 2
    await teacher.press(teacher.last, text="📄 Excused…")
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Смирнова"))
    assert "Why is Мария" in teacher.last.text
    await teacher.send("Olympiad <math>")
    assert "Мария &lt;Смирнова&gt;: 📄 excused" in teacher.last.html
    async with app.session_factory() as session:
        excused = await session.scalar(
            select(Attendance).where(Attendance.student_id == school.unlinked_student_id)
        )
        assert excused is not None
        assert (excused.status, excused.reason) == (AttendanceStatus.EXCUSED, "Olympiad <math>")
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "attendance")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        AuditAction.ATTENDANCE_BULK,
        AuditAction.ATTENDANCE_BULK,
        AuditAction.ATTENDANCE_UPDATE,
        AuditAction.ATTENDANCE_UPDATE,
        AuditAction.ATTENDANCE_UPDATE,
    ]
    # undo the excuse: Мария is present again
    await teacher.press(teacher.last, text="↩️ Undo")
    assert "Undone: Мария" in teacher.last.text
    async with app.session_factory() as session:
        status = await session.scalar(
            select(Attendance.status).where(Attendance.student_id == school.unlinked_student_id)
        )
        assert status == AttendanceStatus.PRESENT
    _clean(app)


async def test_homework_with_files_due_next_lesson_and_submission_review(
    app: App,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    lesson_id: int,
) -> None:
    next_lesson_day = local_today() + timedelta(days=3)
    await _make_lesson(session_factory, school.class_7b, next_lesson_day, 2)
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(card, text="📚 Homework")
    assert "No homework for this lesson yet" in teacher.last.text
    await teacher.press(teacher.last, text="✏️ Write")
    await teacher.send_document("task.pdf", b"%PDF-1.4 task", caption="Exercises 1-5 <all>")
    assert "Exercises 1-5 &lt;all&gt;" in teacher.last.html
    assert "task.pdf" in teacher.last.text
    async with session_factory() as session:
        homework = await session.scalar(select(Homework))
        assert homework is not None
        assert homework.due_date == next_lesson_day
    await teacher.press(teacher.last, text="📎 Add files")
    await teacher.send_photo(tiny_png(4, 4))
    assert "1 file attached" in teacher.last.text
    await teacher.send_document("extra.txt", b"more")
    await teacher.send_document("answers.txt", b"keys")
    assert "3 files attached" in teacher.last.text
    await teacher.press(teacher.last, text="✅ Done")
    assert await _count(app, HomeworkAttachment) == 4
    rows = await _outbox(app, f"hw:{homework.id}:new:")
    # both students' families: Пётр's parent, tutor (homework scope) and Пётр himself
    assert sorted(r.account_id for r in rows) == sorted(
        [await _account(app, t) for t in (f.PARENT, f.TRUSTED, f.STUDENT)]
    )
    assert rows[0].kind == "homework"
    assert rows[0].event == "homework"
    assert rows[0].payload == {
        "student_id": school.student_id,
        "homework_id": homework.id,
    }
    await teacher.press(teacher.last, text="📎 Show files")  # three per press, then the rest
    assert teacher.messages[-4].document is not None
    assert teacher.messages[-3].photo is not None
    assert teacher.messages[-2].document is not None
    await teacher.press(teacher.last, text="📎 More files")
    assert teacher.messages[-2].document["file_name"] == "answers.txt"
    assert "📎 More files" not in teacher.last.button_texts()
    # the student hands it in (as the diary would store it), the teacher returns it
    async with session_factory() as session:
        submission = HomeworkSubmission(homework_id=homework.id, student_id=school.student_id)
        session.add(submission)
        await session.flush()
        stored = app.fake.store_file("document", b"my answer", file_name="answer.txt")
        session.add(
            SubmissionFile(
                submission_id=submission.id,
                kind="document",
                file_id=stored.file_id,
                file_unique_id=stored.file_unique_id,
                file_name="answer.txt",
            )
        )
        await session.commit()
        submission_id = submission.id
    await teacher.press(teacher.last, text=_button_with(teacher.last, "📥 Submissions"))
    assert "Пётр Иванов" in teacher.last.text
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Иванов"))
    await teacher.press(teacher.last, text="📎 Files (1)")
    assert any(m.document and m.document.get("file_name") == "answer.txt"
               for m in teacher.messages)  # fmt: skip
    await teacher.press(teacher.last, text="↩️ Return with a comment")
    await teacher.send("Show the working")
    assert "returned for rework" in teacher.last.text
    await teacher.press(teacher.last, text="✅ Accept")
    assert "accepted" in teacher.last.text
    student_account = await _account(app, f.STUDENT)
    rows = await _outbox(app, f"sub:{submission_id}:rev:")
    assert [r.dedup_key for r in rows] == [
        f"sub:{submission_id}:rev:1:{student_account}",
        f"sub:{submission_id}:rev:2:{student_account}",
    ]
    assert rows[0].event == "submission_reviewed"
    assert rows[0].payload == {
        "submission_id": submission_id,
        "student_id": school.student_id,
    }
    async with session_factory() as session:
        reviewed = await session.get(HomeworkSubmission, submission_id)
        assert reviewed is not None
        assert reviewed.status == SubmissionStatus.ACCEPTED
    _clean(app)


async def test_topic_cancel_and_replacement_who_then_grades(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(card, text="⚙️ Topic, cancel, replacement")
    await teacher.press(teacher.last, text="📝 Topic")
    await teacher.send("Fractions <½>")
    assert "Fractions &lt;½&gt;" in teacher.last.html
    await teacher.press(teacher.last, text="⚙️ Topic, cancel, replacement")
    await teacher.press(teacher.last, text="⛔ Cancel")
    assert "The lesson is cancelled" in teacher.last.text
    await teacher.press(
        teacher.last,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=0, kind=GradeKind.ORAL
        ).pack(),
    )
    assert "cancelled" in teacher.callback_answers[-1]["text"]
    await teacher.press(teacher.last, text="♻️ Restore the lesson")
    await teacher.press(teacher.last, text="🔁 Replacement teacher")
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Классная"))
    assert "Replacement: Классная Руководительница" in teacher.last.text
    # the replacement (class teacher of 7B, who teaches 5A only) may now grade this lesson
    replacement = app.user(f.CLASS_TEACHER, language_code="en")
    await replacement.send("/journal")
    assert "you replace the teacher" in replacement.last.text
    await replacement.press(replacement.last, text=_button_with(replacement.last, "🔁"))
    await replacement.press(replacement.last, text="👥 Grades")
    await replacement.press(replacement.last, text=_button_with(replacement.last, "Иванов"))
    await replacement.press(replacement.last, text="5")
    async with app.session_factory() as session:
        lesson = await session.get(Lesson, lesson_id)
        assert lesson is not None
        assert (lesson.topic, lesson.cancelled) == ("Fractions <½>", False)
        author = await session.scalar(select(Grade.author_id))
        assert author == school.staff["class_teacher"]
    _clean(app)


async def test_period_grades_proposed_confirmed_overridden_and_closed(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    for value, kind in ((0, GradeKind.TEST), (6, GradeKind.ORAL)):  # 5 ×2 and 3 ×1 → 4.33
        await teacher.press(
            card,
            data=JGradeCb(
                lesson_id=lesson_id, student_id=school.student_id, value=value, kind=kind
            ).pack(),
        )
    await teacher.press(teacher.last, data=JLessonCb(lesson_id=lesson_id).pack())
    await teacher.press(teacher.last, text="📊 Period grades")
    assert "4.33 (2) → 4" in teacher.last.text
    await teacher.press(teacher.last, text="✅ Confirm the proposals (1)")
    async with app.session_factory() as session:
        period_grade = await session.scalar(select(PeriodGrade))
        assert period_grade is not None
        assert (period_grade.value, period_grade.proposed_value) == ("4", "4")
        period_id = period_grade.period_id
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Иванов"))
    await teacher.press(teacher.last, text="5")
    assert "5 ✍️" in teacher.last.text
    # the teacher cannot close the school's period; the head teacher can
    assert "🔒 Close the period for the school" not in teacher.last.button_texts()
    before = await db_snapshot(app.session_factory)
    await teacher.press(
        teacher.last,
        data=JPeriodCb(
            assignment_id=period_grade.assignment_id, period_id=period_id, op=PeriodOp.CLOSE
        ).pack(),
    )
    assert teacher.callback_answers[-1]["text"] == REFUSAL
    await assert_unchanged(app.session_factory, before)
    head = app.user(f.HEAD, language_code="en")
    await head.send("/journal")
    await head.press(head.last, text="7B")
    await head.press(head.last, text=_button_with(head.last, "Математика"))
    await head.press(head.last, text="📊 Period grades")
    await head.press(head.last, text="🔒 Close the period for the school")
    await head.press(head.last, text="🔒 Yes, close it")
    assert "The period is closed" in head.last.text
    # closed: the teacher may neither grade that lesson nor change its period grade
    before = await db_snapshot(app.session_factory)
    await teacher.press(
        teacher.last,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=0, kind=GradeKind.ORAL
        ).pack(),
    )
    assert "period is closed" in teacher.callback_answers[-1]["text"]
    async with app.session_factory() as session:
        grade_id = await session.scalar(select(Grade.id).limit(1))
    await teacher.press(teacher.last, data=JMarkCb(grade_id=grade_id, op=MarkOp.DELETE).pack())
    assert "period is closed" in teacher.callback_answers[-1]["text"]
    await assert_unchanged(app.session_factory, before)
    # the head teacher changes a grade of the closed period with a reason
    await head.press(head.last, text=_button_with(head.last, "Иванов"))
    await head.press(head.last, text="4 ✓")
    assert "The period is closed. Why change its grade?" in head.last.text
    await head.send("Appeal upheld")
    async with app.session_factory() as session:
        value = await session.scalar(select(PeriodGrade.value))
        reason = await session.scalar(
            select(AuditEntry.reason)
            .where(AuditEntry.action == AuditAction.PERIOD_GRADE_SET)
            .order_by(AuditEntry.id.desc())
        )
    assert (value, reason) == ("4", "Appeal upheld")
    _clean(app)


async def test_audit_screens_for_class_teacher_and_head_and_the_unseen_list(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(
        card,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=9, kind=GradeKind.TEST
        ).pack(),
    )
    await teacher.press(card, data=JAttendCb(lesson_id=lesson_id, student_id=0,
                                             op=AttendOp.ALL).pack())  # fmt: skip
    class_teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await class_teacher.send("/journal")
    await class_teacher.press(class_teacher.last, text="🏫 Class")
    await class_teacher.press(class_teacher.last, text="7B")
    await class_teacher.press(class_teacher.last, text="👀 Not seen by parents")
    unseen = class_teacher.last.text
    assert "Failing grades" in unseen
    assert "Пётр Иванов — Математика: 2" in unseen
    await class_teacher.press(class_teacher.last, text="« Back")
    await class_teacher.press(
        class_teacher.last, text=_button_with(class_teacher.last, "Математика")
    )
    lesson_card = class_teacher.last
    assert "You read this lesson" in lesson_card.text
    assert "▶️ Run-through" not in lesson_card.button_texts()
    await class_teacher.press(lesson_card, text="🧾 History")
    history = class_teacher.last.text
    assert "grade 2" in history
    assert "Учитель Математики" in history
    await class_teacher.press(class_teacher.last, text="« Lesson")
    await class_teacher.press(class_teacher.last, text="👥 Students")
    await class_teacher.press(class_teacher.last, text=_button_with(class_teacher.last, "Иванов"))
    await class_teacher.press(class_teacher.last, text="🧾 Student's history")
    assert "grade 2" in class_teacher.last.text
    head = app.user(f.HEAD, language_code="en")
    await head.press(await _head_lesson(head, lesson_id), text="🧾 History")
    assert "present" in head.last.text
    _clean(app)


async def _head_lesson(head: FakeUser, lesson_id: int) -> ChatMessage:
    await head.send("/journal")
    await head.press(head.last, data=JLessonCb(lesson_id=lesson_id).pack())
    assert head.last is not None
    return head.last


# --- security -------------------------------------------------------------------------------


async def test_forged_presses_from_another_teacher_or_a_family_change_nothing(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(
        card,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=0, kind=GradeKind.ORAL
        ).pack(),
    )
    async with app.session_factory() as session:
        grade_id = await session.scalar(select(Grade.id))
        period_id = await session.scalar(select(Period.id))
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
    assert grade_id is not None
    forged = [
        JGradeCb(lesson_id=lesson_id, student_id=school.student_id, value=1,
                 kind=GradeKind.ORAL),
        JGradeCb(lesson_id=lesson_id, student_id=school.other_student_id, value=1,
                 kind=GradeKind.ORAL),
        JMarkCb(grade_id=grade_id, op=MarkOp.DELETE),
        JMarkValueCb(grade_id=grade_id, value=9),
        JHoldCb(grade_id=grade_id, hold=Hold.WEEK),
        JAttendCb(lesson_id=lesson_id, student_id=0, op=AttendOp.ALL),
        JAttendCb(lesson_id=lesson_id, student_id=school.student_id, op=AttendOp.CYCLE),
        JRunCb(lesson_id=lesson_id, student_id=0, kind=GradeKind.ORAL, op=RunOp.START),
        JLessonOpCb(lesson_id=lesson_id, op=LessonOp.CANCEL),
        JReplaceSetCb(lesson_id=lesson_id, teacher_id=school.staff["class_teacher"]),
        JLessonOpCb(lesson_id=lesson_id, op=LessonOp.TOPIC),
        JPeriodCb(assignment_id=assignment_id, period_id=period_id, op=PeriodOp.CONFIRM),
        JPeriodCb(assignment_id=assignment_id, period_id=period_id, op=PeriodOp.CLOSE),
    ]  # fmt: skip
    # the class teacher teaches 5A only: 7B's mathematics is not hers to write, nor is
    # confirming its period grades (she may read them) or closing the period (the head's)
    intruders = (f.CLASS_TEACHER, f.PARENT, f.STUDENT, f.TRUSTED, f.OTHER_PARENT, 4242)
    for telegram_id in intruders:
        await app.user(telegram_id, language_code="en").send("/language")
    before = await db_snapshot(app.session_factory)
    for telegram_id in intruders:
        user = app.user(telegram_id)
        for data in forged:
            await user.press(user.last, data=data.pack())
            assert user.callback_answers[-1].get("show_alert"), (telegram_id, data)
            assert user.callback_answers[-1]["text"] == REFUSAL, (telegram_id, data)
    await assert_unchanged(app.session_factory, before)
    # families cannot even read the journal
    parent = app.user(f.PARENT, language_code="en")
    await parent.press(parent.last, data=JLessonCb(lesson_id=lesson_id).pack())
    assert parent.callback_answers[-1]["text"] == REFUSAL
    await parent.send("/journal")
    assert parent.last.text == REFUSAL
    _clean(app)


async def test_the_journal_is_gated_to_staff_before_any_service_runs(
    app: App, school: f.SmallSchool, lesson_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Families and strangers never reach the journal's services: the router refuses them
    (the services would refuse too; remove the gate and this test fails)."""
    reached: list[str] = []

    def tripwire(name: str) -> Any:
        async def called(*args: Any, **kwargs: Any) -> Any:
            reached.append(name)
            raise AssertionError(f"services.journal.{name} reached")

        return called

    for name in ("day_view", "lesson_card", "add_grade", "student_sheet", "undo_last"):
        monkeypatch.setattr(f"services.journal.{name}", tripwire(name))
    presses = [
        MenuCb(screen=MenuScreen.JOURNAL),
        JLessonCb(lesson_id=lesson_id),
        JGradeCb(lesson_id=lesson_id, student_id=school.student_id, value=0, kind=GradeKind.ORAL),
        JUndoCb(lesson_id=lesson_id),
    ]
    before = await db_snapshot(app.session_factory)
    for telegram_id in (f.PARENT, f.STUDENT, f.TRUSTED, 4242):
        user = app.user(telegram_id, language_code="en")
        await user.send("/journal")
        assert user.last.text == REFUSAL, telegram_id
        for data in presses:
            await user.press(user.last, data=data.pack())
            answer = user.callback_answers[-1]
            assert (answer["text"], answer.get("show_alert")) == (REFUSAL, True), data
    assert reached == []
    await assert_unchanged(app.session_factory, before)
    _clean(app)


async def test_two_teachers_on_the_same_lesson_lose_no_update(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    async with app.session_factory() as session:
        await session.execute(
            update(Lesson)
            .where(Lesson.id == lesson_id)
            .values(replacement_teacher_id=school.staff["class_teacher"])
        )
        await session.commit()
    teacher = app.user(f.TEACHER, language_code="en")
    other = app.user(f.CLASS_TEACHER, language_code="en")
    card_a = await _card_message(teacher)
    await other.send("/journal")
    card_b = other.last
    presses = []
    for n in range(3):
        for user, card, student in (
            (teacher, card_a, school.student_id),
            (other, card_b, school.unlinked_student_id),
        ):
            presses.append(
                user.press(
                    card,
                    data=JGradeCb(
                        lesson_id=lesson_id, student_id=student, value=n, kind=GradeKind.ORAL
                    ).pack(),
                )
            )
    presses.append(
        teacher.press(card_a, data=JAttendCb(lesson_id=lesson_id, student_id=school.student_id,
                                             op=AttendOp.CYCLE).pack())
    )  # fmt: skip
    presses.append(
        other.press(card_b, data=JAttendCb(lesson_id=lesson_id, student_id=school.student_id,
                                           op=AttendOp.CYCLE).pack())
    )  # fmt: skip
    await asyncio.gather(*presses)
    assert await _count(app, Grade, Grade.lesson_id == lesson_id) == 6
    assert await _count(app, AuditEntry, AuditEntry.action == AuditAction.GRADE_CREATE) == 6
    async with app.session_factory() as session:
        status = await session.scalar(
            select(Attendance.status).where(Attendance.student_id == school.student_id)
        )
    # two taps on one student: absent, then late — whichever came first, both were applied
    assert status == AttendanceStatus.LATE
    assert await _count(app, Attendance) == 1
    _clean(app)


async def test_home_button_and_menu_command(app: App, school: f.SmallSchool) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/start")
    await teacher.press(teacher.last, text="📘 Journal")
    assert "Journal" in teacher.last.text
    commands = {c["command"] for c in app.fake.commands(
        {"type": "chat", "chat_id": f.TEACHER}, "")}  # fmt: skip
    assert "journal" in commands
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/start")
    assert "📘 Journal" not in parent.last.button_texts()
    _clean(app)


async def test_subject_picker_lists_the_teachers_assignments(
    app: App, school: f.SmallSchool, lesson_id: int
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/journal")
    await teacher.press(teacher.last, text="📖 Subject")
    assert teacher.last.button_texts()[:1] == ["7B · Математика"]
    await teacher.press(teacher.last, text="7B · Математика")
    assert "7B · Математика" in teacher.last.text
    await teacher.press(teacher.last, text=_button_with(teacher.last, "7B"))
    assert "present 0 of 2" in teacher.last.text
    await teacher.press(teacher.last, text="« Day")
    await teacher.press(teacher.last, text="📅 Week")
    assert len(teacher.last.buttons) == 7 + 2 + 1
    _clean(app)


async def test_hundred_point_scale_takes_typed_values_in_a_run_through(
    app: App,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    lesson_id: int,
) -> None:
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment)
            .join(Lesson, Lesson.assignment_id == TeachingAssignment.id)
            .where(Lesson.id == lesson_id)
        )
        assert assignment is not None
        scale = GradingScale(school_id=school.school_id, code="hundred", kind="hundred",
                             min_score=0, max_score=100, pass_score=50)  # fmt: skip
        session.add(scale)
        await session.flush()
        assignment.scale_id = scale.id
        await session.commit()
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(card, text="▶️ Run-through")
    assert "1/2" in teacher.last.text
    assert "90" in teacher.last.button_texts()
    await teacher.send("87")
    assert "Мария &lt;Смирнова&gt;: 87" in teacher.last.html
    await teacher.send("101")
    assert "“101” is not a grade on this scale." in teacher.last.text
    run_screen = teacher.messages[-2]
    assert "2/2" in run_screen.text
    await teacher.press(run_screen, text="⏭ Skip")
    assert "Run-through done" in run_screen.text
    async with session_factory() as session:
        values = list(await session.scalars(select(Grade.value)))
    assert values == ["87"]
    _clean(app)


async def test_a_forgotten_run_through_does_not_take_later_text_as_a_grade(
    app: App, school: f.SmallSchool, lesson_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    card = await _card_message(teacher)
    await teacher.press(card, text="▶️ Run-through")
    monkeypatch.setattr("handlers.journal.prompts.INPUT_TTL", -1)
    await teacher.send("5")
    assert "That question has expired" in teacher.last.text
    await teacher.send("5")
    assert "expired" not in teacher.last.text  # the prompt is gone: an ordinary message now
    assert await _count(app, Grade) == 0
    _clean(app)
