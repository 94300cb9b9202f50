"""End to end, on both databases, what a run-through as a teacher and a parent met:

* a closed period refuses attendance, "all present", cancel and topic from the bot itself;
* after a correction with a reason is saved, its prompt keeps no "Cancel" (and a stale one
  says nothing was cancelled, while the change stands);
* the teacher's card does not show a corrected grade as seen when only the old value was;
* the push loses its "👀 Seen" once pressed;
* the /grades table keeps "(зачёт)" and "(незачёт)" whole;
* "1 grade", not "1 grades" (and the three Russian plural forms).

Days come from the one test clock (tests/clock.py): today, or a day of the factory's school
year, so the tests hold under any `--now`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.journal import (
    AttendOp,
    JAttendCb,
    JCancelCb,
    JGradeCb,
    JLessonCb,
    JLessonOpCb,
    JPeriodGradeCb,
    JReplaceSetCb,
    JStudentCb,
    LessonOp,
    LessonView,
)
from bot.callbacks.notify import ReactCb, ReactOp
from bot.i18n import LOCALES_DIR, create_i18n
from bot.rendering import Renderer
from db.enums import GradeKind, PeriodKind, ScaleKind
from db.models import (
    Account,
    Acknowledgement,
    Grade,
    GradingScale,
    Lesson,
    Period,
    Subject,
    TeachingAssignment,
)
from services import journal
from services.core.actors import load_actor
from tests import clock
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App
from tests.test_e2e_forged_ids import _tables
from tests.test_e2e_journal import _button_with, _clean, _make_lesson

MSK = ZoneInfo("Europe/Moscow")


def _q1_day() -> date:
    return f.current_year_bounds(clock.school_today())[0] + timedelta(days=14)


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _message(user: FakeUser) -> ChatMessage:
    await user.send("/journal")
    assert user.last is not None
    return user.last


def _by_id(user: FakeUser, message_id: int) -> ChatMessage:
    return next(m for m in user.messages if m.message_id == message_id)


# --- a closed period, from the bot ------------------------------------------------------------


async def test_a_closed_period_refuses_attendance_cancel_and_topic_in_the_bot(
    app: App, school: f.SmallSchool
) -> None:
    day = _q1_day()
    lesson_id = await _make_lesson(app.session_factory, school.class_7b, day)
    async with app.session_factory() as session:
        await session.execute(
            update(Period)
            .where(Period.kind == PeriodKind.QUARTER, Period.number == 1)
            .values(closed_at=datetime.combine(day + timedelta(days=70), time(9), tzinfo=UTC))
        )
        await session.commit()
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.press(await _message(teacher), data=JLessonCb(lesson_id=lesson_id).pack())
    card = teacher.last
    before = await _tables(app.session_factory)
    for data in (
        JAttendCb(lesson_id=lesson_id, student_id=0, op=AttendOp.ALL),
        JAttendCb(lesson_id=lesson_id, student_id=school.student_id, op=AttendOp.TOGGLE),
        JAttendCb(lesson_id=lesson_id, student_id=school.student_id, op=AttendOp.CYCLE),
        JLessonOpCb(lesson_id=lesson_id, op=LessonOp.CANCEL),
        JReplaceSetCb(lesson_id=lesson_id, teacher_id=school.staff["class_teacher"]),
    ):
        await teacher.press(card, data=data.pack())
        answer = teacher.callback_answers[-1]
        assert "period is closed" in answer["text"], data
        assert answer.get("show_alert") is True
    # the card offers none of it; the topic and homework prompts are not even asked
    assert card is not None
    for label in ("✅ All present", "⚙️ Topic, cancel, replacement"):
        assert label not in card.button_texts()
    assert "attendance, topic, replacement and homework stay as they are" in card.text
    for op in (LessonOp.TOPIC, LessonOp.HOMEWORK, LessonOp.FILES):
        await teacher.press(card, data=JLessonOpCb(lesson_id=lesson_id, op=op).pack())
        assert "period is closed" in teacher.callback_answers[-1]["text"]
    await teacher.press(card, data=JLessonCb(lesson_id=lesson_id, view=LessonView.HOMEWORK).pack())
    assert "✏️ Write" not in teacher.last.button_texts()
    assert await _tables(app.session_factory) == before
    _clean(app)


# --- a correction with a reason; seen; the push's buttons ---------------------------------


async def _todays_lesson(app: App, school: f.SmallSchool) -> int:
    return await _make_lesson(app.session_factory, school.class_7b, clock.school_today())


async def _student_card(teacher: FakeUser, lesson_id: int, student_id: int) -> str:
    await teacher.press(
        teacher.last, data=JStudentCb(lesson_id=lesson_id, student_id=student_id).pack()
    )
    assert teacher.last is not None
    return str(teacher.last.text)


def _grade_line(card: str) -> str:
    (line,) = [line for line in card.splitlines() if line.startswith("• ")]
    return line


async def test_correction_seen_and_the_buttons_that_must_go(
    app: App, school: f.SmallSchool
) -> None:
    lesson_id = await _todays_lesson(app, school)
    teacher = app.user(f.TEACHER, language_code="en")
    parent = app.user(f.PARENT, language_code="en")
    app.user(f.TRUSTED)  # they get the pushes too
    app.user(f.STUDENT)
    async with app.session_factory() as session:
        await session.execute(
            update(Account).where(Account.telegram_id == f.PARENT).values(locale="en")
        )
        await session.commit()
    await teacher.press(
        await _message(teacher),
        data=JGradeCb(
            lesson_id=lesson_id, student_id=school.student_id, value=3, kind=GradeKind.ORAL
        ).pack(),
    )
    async with app.session_factory() as session:
        grade = await session.scalar(select(Grade))
        assert grade is not None
        assert grade.value == "4"
        grade_id = grade.id
        grade.created_at = clock.now() - timedelta(minutes=10)  # the family has been told
        await session.commit()
    await app.deliver_notifications(clock.now() + timedelta(minutes=2))
    push = parent.last
    assert push is not None
    assert push.button_texts() == ["👀 Seen", "💬 Comment"]

    # the parent's "Seen": the push keeps only "Comment"; the teacher sees 👁
    await parent.press(push, text="👀 Seen")
    assert "teacher will see it" in parent.callback_answers[-1]["text"]
    assert _by_id(parent, push.message_id).button_texts() == ["💬 Comment"]
    card = await _student_card(teacher, lesson_id, school.student_id)
    assert _grade_line(card) == "• 4👁 oral — 👁 seen"

    # the teacher corrects 4 → 5 with a reason
    await teacher.press(teacher.last, text=_button_with(teacher.last, "✏️ 4"))
    await teacher.press(teacher.last, text="5")
    prompt = teacher.last
    assert "Why change 4 → 5?" in prompt.text
    assert prompt.button_texts() == ["✖️ Cancel"]
    await teacher.send("Checked the test again")
    assert "4 → 5" in teacher.last.text
    assert _by_id(teacher, prompt.message_id).button_texts() == []  # no Cancel left
    # a stale client still shows it: pressing it cancels nothing and says so
    await teacher.press(prompt, data=JCancelCb().pack())
    answer = teacher.callback_answers[-1]
    assert answer["text"] == "That question has already been answered: nothing was cancelled."
    # the corrected grade is not shown as seen: only the old value was
    card = await _student_card(teacher, lesson_id, school.student_id)
    assert _grade_line(card) == "• 5 oral"
    async with app.session_factory() as session:
        assert await session.scalar(select(Grade.value).where(Grade.id == grade_id)) == "5"
        seen = await session.scalar(
            select(Acknowledgement.id).where(Acknowledgement.grade_id == grade_id)
        )
        assert seen is None

    # the family hears of the change, says "Seen" again: seen again
    await app.deliver_notifications(clock.now() + timedelta(minutes=4))
    change = parent.last
    assert change is not None
    assert change.message_id != push.message_id
    assert "👀 Seen" in change.button_texts()
    await parent.press(change, text="👀 Seen")
    assert "👀 Seen" not in _by_id(parent, change.message_id).button_texts()
    # a second press from a stale client: answered, nothing to edit
    await parent.press(change, data=ReactCb(grade_id=grade_id, op=ReactOp.SEEN).pack())
    assert "already marked" in parent.callback_answers[-1]["text"]
    card = await _student_card(teacher, lesson_id, school.student_id)
    assert _grade_line(card) == "• 5👁 oral — 👁 seen"
    _clean(app)


async def test_cancel_on_an_open_prompt_still_cancels_it(app: App, school: f.SmallSchool) -> None:
    lesson_id = await _todays_lesson(app, school)
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.press(await _message(teacher), data=JLessonCb(lesson_id=lesson_id).pack())
    await teacher.press(
        teacher.last, data=JLessonOpCb(lesson_id=lesson_id, op=LessonOp.TOPIC).pack()
    )
    first = teacher.last
    # asked again: the first prompt is no longer the question
    await teacher.press(first, data=JLessonOpCb(lesson_id=lesson_id, op=LessonOp.TOPIC).pack())
    second = teacher.last
    assert second.message_id != first.message_id
    await teacher.press(first, text="✖️ Cancel")
    assert "nothing was cancelled" in teacher.callback_answers[-1]["text"]
    await teacher.press(second, text="✖️ Cancel")
    assert "Cancelled." in teacher.last.text
    await teacher.send("Not a topic any more")
    async with app.session_factory() as session:
        assert await session.scalar(select(Lesson.topic).where(Lesson.id == lesson_id)) is None
    _clean(app)


# --- the /grades table ------------------------------------------------------------------------


async def test_grades_table_keeps_pass_fail_cells_whole(app: App, school: f.SmallSchool) -> None:
    """A pass/fail subject's predicted mark in every period: "(зачёт)", "(незачёт)"."""
    async with app.session_factory() as session:
        scale = GradingScale(
            school_id=school.school_id,
            code="pf",
            kind=ScaleKind.PASS_FAIL,
            min_score=0,
            max_score=1,
            pass_score=1,
        )
        session.add(scale)
        teacher_id = school.staff["teacher"]
        rows: list[tuple[str, str]] = [("Физкультура", "pass"), ("Труд", "fail")]
        periods = list(await session.scalars(select(Period)))
        for name, value in rows:
            subject = Subject(school_id=school.school_id, name=name, short_name=name[:4])
            session.add(subject)
            await session.flush()
            assignment = TeachingAssignment(
                teacher_id=teacher_id,
                class_id=school.class_7b,
                subject_id=subject.id,
                scale_id=scale.id,
            )
            session.add(assignment)
            await session.flush()
            for number, period in enumerate(periods, start=1):
                lesson = Lesson(
                    assignment_id=assignment.id,
                    class_id=school.class_7b,
                    subject_id=subject.id,
                    date=period.starts_on,
                    lesson_number=number,
                    starts_at=time(9),
                    ends_at=time(9, 45),
                )
                session.add(lesson)
                await session.flush()
                session.add(
                    Grade(
                        student_id=school.student_id,
                        lesson_id=lesson.id,
                        assignment_id=assignment.id,
                        subject_id=subject.id,
                        date=period.starts_on,
                        value=value,
                        score=float(value == "pass"),
                        weight=1.0,
                        kind=GradeKind.CLASSWORK,
                        author_id=teacher_id,
                        created_at=clock.now() - timedelta(days=1),
                    )
                )
        await session.commit()
    parent = app.user(f.PARENT)  # Russian
    await parent.send("/grades")
    table = parent.last.text
    assert "Физкультура" in table
    assert "(зачёт)" in table
    assert "(незачёт)" in table
    for line in table.splitlines():
        assert line.count("(") == line.count(")"), line
    _clean(app)


def test_fit_cell_cuts_inside_the_parentheses() -> None:
    renderer = Renderer(create_i18n(), strict=True)
    module = renderer.env.get_template("diary/_macros.html.j2").module  # type: ignore[attr-defined]
    assert str(module.fit_cell("(зачёт)", 9)) == "(зачёт)"
    assert str(module.fit_cell("(незачёт-экзамен)", 9)) == "(незачё…)"
    assert str(module.fit_cell("незачёт-экзамен", 9)) == "незачёт-…"


# --- plural forms ---------------------------------------------------------------------------


async def test_period_screen_says_1_grade_and_2_grades(app: App, school: f.SmallSchool) -> None:
    day = _q1_day()
    lesson_id = await _make_lesson(app.session_factory, school.class_7b, day)
    noon = datetime.combine(day, time(12), tzinfo=MSK)
    async with app.session_factory() as session:
        teacher_actor = await load_actor(session, f.TEACHER)
        await journal.add_grade(
            session,
            teacher_actor,
            lesson_id,
            school.student_id,
            "5",
            GradeKind.TEST,
            grace=timedelta(seconds=60),
            now=noon,
        )
        for _ in range(2):
            await journal.add_grade(
                session,
                teacher_actor,
                lesson_id,
                school.unlinked_student_id,
                "4",
                GradeKind.ORAL,
                grace=timedelta(seconds=60),
                now=noon,
            )
        assignment_id = await session.scalar(
            select(Lesson.assignment_id).where(Lesson.id == lesson_id)
        )
        quarter_id = await session.scalar(
            select(Period.id).where(Period.kind == PeriodKind.QUARTER, Period.number == 1)
        )
        assert assignment_id is not None
        assert quarter_id is not None

    def data(student_id: int) -> str:
        return JPeriodGradeCb(
            assignment_id=assignment_id, period_id=quarter_id, student_id=student_id
        ).pack()

    teacher = app.user(f.TEACHER, language_code="en")
    message = await _message(teacher)
    await teacher.press(message, data=data(school.student_id))
    assert "Weighted average: 5.00 from 1 grade; proposed: 5." in teacher.last.text
    await teacher.press(message, data=data(school.unlinked_student_id))
    assert "Weighted average: 4.00 from 2 grades; proposed: 4." in teacher.last.text
    russian = app.user(f.TEACHER)
    russian.language_code = "ru"
    await russian.press(message, data=data(school.student_id))
    assert "(1 оценка)" in russian.last.text
    await russian.press(message, data=data(school.unlinked_student_id))
    assert "(2 оценки)" in russian.last.text
    _clean(app)


def test_russian_plurals_have_three_forms() -> None:
    with (LOCALES_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file)
    plural = [m for m in catalog if m.pluralizable and m.id]
    assert plural
    for message in plural:
        assert isinstance(message.string, tuple)
        assert len(message.string) == 3, message.id
        assert all(message.string), message.id
