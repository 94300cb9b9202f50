"""End to end, on both databases: the journal's screens stay one message however long what
teachers type and attach (the longest homework text, many files with long names)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.journal import JLessonCb, JLessonOpCb, LessonOp, LessonView
from services.journal import TEXT_LIMIT
from tests import clock
from tests import factories as f
from tests.harness import App
from tests.test_e2e_journal import _clean, _make_lesson


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def test_homework_of_the_longest_text_with_many_long_named_files_fits_one_message(
    app: App, school: f.SmallSchool
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    lesson_id = await _make_lesson(app.session_factory, school.class_7b, clock.school_today())
    await teacher.send("/journal")
    await teacher.press(teacher.last, data=JLessonCb(lesson_id=lesson_id).pack())
    await teacher.press(
        teacher.last, data=JLessonOpCb(lesson_id=lesson_id, op=LessonOp.HOMEWORK).pack()
    )
    await teacher.send(("Задача <1> & " * 300)[:TEXT_LIMIT])
    await teacher.press(
        teacher.last, data=JLessonOpCb(lesson_id=lesson_id, op=LessonOp.FILES).pack()
    )
    for number in range(12):
        await teacher.send_document(f"{number} " + "Вариант & <ответы> " * 12 + ".pdf", b"%PDF")
    assert "12 files attached" in str(teacher.last.text)
    await teacher.press(
        teacher.last, data=JLessonCb(lesson_id=lesson_id, view=LessonView.HOMEWORK).pack()
    )
    screen = str(teacher.last.text)
    assert "Homework, due" in screen
    assert "Задача <1> &" in screen
    assert "📎 0 Вариант & <ответы>" in screen
    assert "(12)" in screen
    _clean(app)
