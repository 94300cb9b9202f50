"""End to end, on both databases: a button tapped twice (or three times) at once. All the
presses carry the message as it was before any was handled. The second must not edit it
again (400 "message is not modified"), nor take the keyboard off the screen the first press
put there, nor make a second grade or a second attendance step."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.journal import JGradeCb, JLessonCb, JLessonOpCb, JStudentCb, LessonOp
from bot.callbacks.notify import ReactCb, ReactOp
from db.enums import AttendanceStatus, GradeKind
from db.models import Account, Attendance, Grade
from tests import clock
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App
from tests.test_e2e_journal import _button_with, _clean, _make_lesson


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _lesson_card(app: App, school: f.SmallSchool, teacher: FakeUser) -> int:
    lesson_id = await _make_lesson(app.session_factory, school.class_7b, clock.school_today())
    await teacher.send("/journal")
    await teacher.press(teacher.last, data=JLessonCb(lesson_id=lesson_id).pack())
    return lesson_id


async def _tap_twice(user: FakeUser, message: ChatMessage, text: str) -> None:
    button = message.find_button(text)
    assert button is not None, message.button_texts()
    data = str(button["callback_data"])
    await asyncio.gather(user.press(message, data=data), user.press(message, data=data))


async def test_cancel_tapped_twice_leaves_the_lesson_card_with_its_buttons(
    app: App, school: f.SmallSchool
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    lesson_id = await _lesson_card(app, school, teacher)
    await teacher.press(
        teacher.last, data=JLessonOpCb(lesson_id=lesson_id, op=LessonOp.TOPIC).pack()
    )
    prompt = teacher.last
    assert prompt.button_texts() == ["✖️ Cancel"]
    await _tap_twice(teacher, prompt, "✖️ Cancel")
    assert "Cancelled." in str(prompt.text)
    assert prompt.buttons, "the lesson card shown by the first press lost its keyboard"
    assert len(teacher.callback_answers) >= 2
    _clean(app)


async def test_cancel_of_a_reason_tapped_twice_edits_nothing_twice(
    app: App, school: f.SmallSchool
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    lesson_id = await _lesson_card(app, school, teacher)
    await teacher.press(
        teacher.last,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=3, kind=GradeKind.ORAL
        ).pack(),
    )
    async with app.session_factory() as session:
        await session.execute(update(Grade).values(created_at=clock.now() - timedelta(minutes=10)))
        await session.commit()
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 4"))
    await teacher.press(teacher.last, text="5")
    prompt = teacher.last
    assert "Why change 4 → 5?" in str(prompt.text)
    await _tap_twice(teacher, prompt, "✖️ Cancel")
    assert prompt.buttons == []
    _clean(app)


async def test_seen_tapped_twice_takes_its_button_off_once(app: App, school: f.SmallSchool) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    parent = app.user(f.PARENT, language_code="en")
    app.user(f.TRUSTED)
    app.user(f.STUDENT)
    async with app.session_factory() as session:
        await session.execute(
            update(Account).where(Account.telegram_id == f.PARENT).values(locale="en")
        )
        await session.commit()
    lesson_id = await _lesson_card(app, school, teacher)
    await teacher.press(
        teacher.last,
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=3, kind=GradeKind.ORAL
        ).pack(),
    )
    async with app.session_factory() as session:
        grade = await session.scalar(select(Grade))
        assert grade is not None
        grade.created_at = clock.now() - timedelta(minutes=10)
        grade_id = grade.id
        await session.commit()
    await app.deliver_notifications(clock.now() + timedelta(minutes=2))
    push = parent.last
    assert push is not None
    assert push.button_texts() == ["👀 Seen", "💬 Comment"]
    seen = ReactCb(grade_id=grade_id, op=ReactOp.SEEN).pack()
    await asyncio.gather(parent.press(push, data=seen), parent.press(push, data=seen))
    assert push.button_texts() == ["💬 Comment"]
    assert push.edits == 1
    _clean(app)


async def test_a_grade_tapped_three_times_at_once_is_one_grade(
    app: App, school: f.SmallSchool
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    lesson_id = await _lesson_card(app, school, teacher)
    await teacher.press(
        teacher.last, data=JStudentCb(lesson_id=lesson_id, student_id=school.student_id).pack()
    )
    card = teacher.last
    five = card.find_button("5")
    assert five is not None
    answered = len(teacher.callback_answers)
    await asyncio.gather(*(teacher.press(card, data=five["callback_data"]) for _ in range(3)))
    assert await _grades(app) == ["5"]
    assert len(teacher.callback_answers) == answered + 3
    # a deliberate second tap (on the card as the first tap left it) is a second grade
    await teacher.press(card, text="5")
    assert await _grades(app) == ["5", "5"]
    _clean(app)


async def test_attendance_tapped_twice_at_once_moves_one_step(
    app: App, school: f.SmallSchool
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    lesson_id = await _lesson_card(app, school, teacher)
    await teacher.press(
        teacher.last, data=JStudentCb(lesson_id=lesson_id, student_id=school.student_id).pack()
    )
    await _tap_twice(teacher, teacher.last, "▫️ Attendance")
    async with app.session_factory() as session:
        marks = list(await session.scalars(select(Attendance.status)))
    assert marks == [AttendanceStatus.ABSENT]
    _clean(app)


async def _grades(app: App) -> list[str]:
    async with app.session_factory() as session:
        return list(await session.scalars(select(Grade.value).order_by(Grade.id)))
