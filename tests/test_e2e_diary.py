"""The diary end to end, for a parent, the student and a trusted tutor: the menu, the day view
and its navigation, the week, the timetable (odd/even weeks), grades (periods, years, the
calculator, "new" marks, spoilers), homework (attachments, handing in), attendance, the report,
trusted scopes, ended grants and forged buttons. The clock is frozen on Wednesday 11 November
2026, 10:00 in Moscow, in a school year built around it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.diary import (
    AttendanceCb,
    CalcCb,
    DayCb,
    GradesCb,
    HomeworkCb,
    HomeworkFilesCb,
    HomeworkItemCb,
    ReportCb,
    ScheduleCb,
    SpoilerCb,
    SubmitCb,
    SubmitOp,
    WeekCb,
)
from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    GradeKind,
    LinkMethod,
    PeriodKind,
    ScaleKind,
    SlotFrequency,
    SubmissionStatus,
)
from db.models import (
    AcademicYear,
    Attendance,
    Grade,
    GradesSeen,
    GradingScale,
    Guardianship,
    Holiday,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    Student,
    Subject,
    SubmissionFile,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from services.core.timetable import generate_lessons
from tests import clock as the_clock
from tests import factories as f
from tests.fakes.telegram_api import FakeTelegram, FakeUser, tiny_png
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot

TODAY = date(2026, 11, 11)  # a Wednesday of an odd week
NOW = datetime(2026, 11, 11, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


def ended_before_now(ago: timedelta) -> datetime:
    """A moment `ago` before both NOW (the world's fixed day) and the real clock: an ending
    that services see as past whether they are given NOW or take the time themselves."""
    return min(NOW, the_clock.now()) - ago


YEAR_START, YEAR_END = date(2026, 9, 1), date(2027, 5, 31)
QUARTERS = [
    (date(2026, 9, 1), date(2026, 10, 25)),
    (date(2026, 11, 5), date(2026, 12, 28)),
    (date(2027, 1, 12), date(2027, 3, 22)),
    (date(2027, 3, 30), date(2027, 5, 31)),
]
AUTUMN = (date(2026, 10, 26), date(2026, 11, 4))
DAY_OFF = date(2026, 11, 13)


class Clock:
    """The diary's clock, frozen and moved by the tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# every module of the diary that reads the clock itself
DIARY_CLOCKS = (
    "services.diary.child",
    "services.diary.grades",
    "services.diary.homework",
    "services.diary.reports",
    "handlers.diary",
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    frozen = Clock(NOW)
    for module in DIARY_CLOCKS:
        monkeypatch.setattr(f"{module}.utcnow", frozen)
    return frozen


@dataclass
class World:
    school: f.SmallSchool
    subjects: dict[str, int]
    periods: dict[str, int]
    lessons: dict[tuple[date, str], int]
    homework: dict[str, int]
    files: dict[str, str] = field(default_factory=dict)  # attachment name → file_id
    old_year_id: int = 0

    @property
    def student(self) -> int:
        return self.school.student_id


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def make_diary_world(
    session_factory: async_sessionmaker[AsyncSession], fake: FakeTelegram | None = None
) -> World:
    """The small school with a term of journal around `TODAY` for Пётр (7B)."""
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        year = await session.scalar(
            select(AcademicYear).where(AcademicYear.school_id == school.school_id)
        )
        assert year is not None
        year.starts_on, year.ends_on, year.name = YEAR_START, YEAR_END, "2026/2027"
        await session.execute(Period.__table__.delete().where(Period.year_id == year.id))
        periods: dict[str, int] = {}
        for number, (start, end) in enumerate(QUARTERS, 1):
            period = Period(
                year_id=year.id,
                kind=PeriodKind.QUARTER,
                number=number,
                starts_on=start,
                ends_on=end,
                closed_at=_at(end + timedelta(days=2)) if end < TODAY else None,
            )
            session.add(period)
            await session.flush()
            periods[f"q{number}"] = period.id
        year_period = Period(
            year_id=year.id, kind=PeriodKind.YEAR, number=1, starts_on=YEAR_START, ends_on=YEAR_END
        )
        session.add(year_period)
        old_year = AcademicYear(
            school_id=school.school_id,
            name="2025/2026",
            starts_on=date(2025, 9, 1),
            ends_on=date(2026, 5, 31),
            is_current=False,
        )
        session.add(old_year)
        await session.flush()
        periods["year"] = year_period.id
        session.add_all(
            [
                Holiday(
                    school_id=school.school_id,
                    name="Осенние каникулы",
                    starts_on=AUTUMN[0],
                    ends_on=AUTUMN[1],
                ),
                Holiday(
                    school_id=school.school_id,
                    name="Day off <for> staff & kids",
                    starts_on=DAY_OFF,
                    ends_on=DAY_OFF,
                ),
            ]
        )
        five = await session.scalar(
            select(GradingScale).where(GradingScale.school_id == school.school_id)
        )
        assert five is not None
        pass_fail = GradingScale(
            school_id=school.school_id,
            code="pass_fail",
            kind=ScaleKind.PASS_FAIL,
            min_score=0,
            max_score=1,
            pass_score=0.5,
        )
        russian = Subject(school_id=school.school_id, name="Русский язык", short_name="Рус. яз.")
        pe = Subject(school_id=school.school_id, name="Физическая культура", short_name="Физ-ра")
        session.add_all([pass_fail, russian, pe])
        await session.flush()
        math_assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_7b)
        )
        assert math_assignment is not None
        rus_assignment = TeachingAssignment(
            teacher_id=school.staff["class_teacher"],
            class_id=school.class_7b,
            subject_id=russian.id,
            scale_id=five.id,
        )
        pe_assignment = TeachingAssignment(
            teacher_id=school.staff["unlinked"],
            class_id=school.class_7b,
            subject_id=pe.id,
            scale_id=pass_fail.id,
        )
        session.add_all([rus_assignment, pe_assignment])
        await session.flush()
        slots = []
        for weekday in range(1, 6):
            slots.append((math_assignment.id, weekday, 1, time(8, 30), time(9, 15), "101"))
            slots.append((rus_assignment.id, weekday, 2, time(9, 25), time(10, 10), "202"))
        session.add_all(
            TimetableSlot(
                assignment_id=a,
                weekday=w,
                lesson_number=n,
                starts_at=s,
                ends_at=e,
                room=r,
                frequency=SlotFrequency.WEEKLY,
                valid_from=YEAR_START,
                valid_to=YEAR_END,
            )
            for a, w, n, s, e, r in slots
        )
        session.add_all(
            [
                TimetableSlot(
                    assignment_id=pe_assignment.id,
                    weekday=3,
                    lesson_number=3,
                    starts_at=time(10, 30),
                    ends_at=time(11, 15),
                    room="Спортзал",
                    frequency=SlotFrequency.ODD,
                    valid_from=YEAR_START,
                    valid_to=YEAR_END,
                ),
                TimetableSlot(
                    assignment_id=rus_assignment.id,
                    weekday=3,
                    lesson_number=3,
                    starts_at=time(10, 30),
                    ends_at=time(11, 15),
                    room="202",
                    frequency=SlotFrequency.EVEN,
                    valid_from=YEAR_START,
                    valid_to=YEAR_END,
                ),
            ]
        )
        await session.flush()
        await generate_lessons(
            session, class_ids=[school.class_7b], start=date(2026, 10, 26), end=date(2026, 11, 12)
        )
        # an old lesson of the first quarter, with its grade and the quarter grade
        q1_lesson = Lesson(
            assignment_id=math_assignment.id,
            class_id=school.class_7b,
            subject_id=math_assignment.subject_id,
            date=date(2026, 10, 1),
            lesson_number=1,
            starts_at=time(8, 30),
            ends_at=time(9, 15),
        )
        session.add(q1_lesson)
        await session.flush()
        rows = await session.execute(
            select(Lesson.id, Lesson.date, Lesson.subject_id, Lesson.lesson_number).where(
                Lesson.class_id == school.class_7b
            )
        )
        names = {math_assignment.subject_id: "math", russian.id: "rus", pe.id: "pe"}
        lessons: dict[tuple[date, str], int] = {}
        for lesson_id, day, subject_id, number in rows:
            key = names[subject_id] + ("3" if number == 3 and subject_id == russian.id else "")
            lessons[day, key] = lesson_id
        math_id = math_assignment.subject_id

        today_math = lessons[TODAY, "math"]
        today_rus = lessons[TODAY, "rus"]
        tomorrow = TODAY + timedelta(days=1)
        await session.execute(
            update(Lesson).where(Lesson.id == today_math).values(topic="Дроби & <проценты>")
        )
        await session.execute(
            update(Lesson)
            .where(Lesson.id == lessons[tomorrow, "rus"])
            .values(cancelled=True, cancel_reason="Учитель заболел")
        )
        await session.execute(
            update(Lesson)
            .where(Lesson.id == lessons[tomorrow, "math"])
            .values(replacement_teacher_id=school.staff["unlinked"])
        )

        def grade(lesson: int, day: date, value: str, score: float, **kw: Any) -> Grade:
            student = kw.pop("student", school.student_id)
            assignment = kw.pop("assignment", math_assignment.id)
            subject = kw.pop("subject", math_id)
            kw.setdefault("kind", GradeKind.ORAL)
            kw.setdefault("weight", 1.0)
            kw.setdefault("created_at", _at(day, 6))  # 09:00 in Moscow, before NOW
            return Grade(
                student_id=student,
                lesson_id=lesson,
                assignment_id=assignment,
                subject_id=subject,
                date=day,
                value=value,
                score=score,
                **kw,
            )

        session.add_all(
            [
                grade(today_math, TODAY, "5", 5.0),
                grade(
                    today_math,
                    TODAY,
                    "4-",
                    3.7,
                    kind=GradeKind.TEST,
                    weight=2.0,
                    comment="Ошибки <в> вычислениях",
                ),
                grade(today_math, TODAY, "1", 1.0, hidden_until=TODAY + timedelta(days=3)),
                grade(today_math, TODAY, "2", 2.0, deleted_at=_at(TODAY, 8)),
                grade(today_math, TODAY, "3", 3.0, student=school.unlinked_student_id),
                grade(
                    lessons[date(2026, 11, 9), "math"],
                    date(2026, 11, 9),
                    "3",
                    3.0,
                    kind=GradeKind.CLASSWORK,
                ),
                grade(
                    lessons[TODAY, "rus"],
                    TODAY,
                    "5",
                    5.0,
                    assignment=rus_assignment.id,
                    subject=russian.id,
                ),
                grade(
                    lessons[TODAY, "pe"],
                    TODAY,
                    "pass",
                    1.0,
                    assignment=pe_assignment.id,
                    subject=pe.id,
                ),
                grade(q1_lesson.id, date(2026, 10, 1), "4", 4.0),
                PeriodGrade(
                    student_id=school.student_id,
                    assignment_id=math_assignment.id,
                    period_id=periods["q1"],
                    proposed_value="4",
                    value="4",
                ),
            ]
        )
        session.add_all(
            [
                Attendance(
                    lesson_id=today_rus,
                    student_id=school.student_id,
                    status=AttendanceStatus.LATE,
                    minutes_late=5,
                ),
                Attendance(
                    lesson_id=lessons[date(2026, 11, 10), "rus"],
                    student_id=school.student_id,
                    status=AttendanceStatus.ABSENT,
                ),
                Attendance(
                    lesson_id=lessons[date(2026, 11, 9), "math"],
                    student_id=school.student_id,
                    status=AttendanceStatus.EXCUSED,
                    reason="Болезнь",
                ),
                Attendance(
                    lesson_id=lessons[date(2026, 11, 9), "rus"],
                    student_id=school.student_id,
                    status=AttendanceStatus.EXCUSED,
                    reason="Болезнь",
                ),
            ]
        )

        def homework(lesson: int, subject: int, due: date, text: str, class_id: int) -> Homework:
            return Homework(
                lesson_id=lesson, class_id=class_id, subject_id=subject, due_date=due, text=text
            )

        hw = {
            "rus_today": homework(
                today_rus, russian.id, tomorrow, "Упр. 5 <b>с разбором</b>", school.class_7b
            ),
            "math_due_today": homework(
                lessons[date(2026, 11, 10), "math"], math_id, TODAY, "№ 1–5", school.class_7b
            ),
            "math_past": homework(
                lessons[date(2026, 11, 9), "math"],
                math_id,
                date(2026, 11, 10),
                "Повторить § 3",
                school.class_7b,
            ),
            "math_today": homework(today_math, math_id, tomorrow, "№ 6–9, § 4", school.class_7b),
        }
        session.add_all(hw.values())
        await session.flush()
        # homework of another class (5A) on its own lesson
        other_assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_5a)
        )
        assert other_assignment is not None
        other_lesson = Lesson(
            assignment_id=other_assignment.id,
            class_id=school.class_5a,
            subject_id=other_assignment.subject_id,
            date=TODAY,
            lesson_number=1,
            starts_at=time(8, 30),
            ends_at=time(9, 15),
        )
        session.add(other_lesson)
        await session.flush()
        other_hw = homework(
            other_lesson.id, other_assignment.subject_id, tomorrow, "Чужое задание", school.class_5a
        )
        session.add(other_hw)
        await session.flush()
        homework_ids = {name: item.id for name, item in hw.items()} | {"other": other_hw.id}
        files: dict[str, str] = {}
        if fake is not None:
            doc = fake.store_file(
                "document",
                b"%PDF-1.4 task",
                file_name="упражнение.pdf",
                mime_type="application/pdf",
            )
            photo_sizes = fake.store_photo(tiny_png(4, 3), 4, 3)
            files = {"doc": doc.file_id, "photo": photo_sizes[-1]["file_id"]}
            session.add_all(
                [
                    HomeworkAttachment(
                        homework_id=homework_ids["rus_today"],
                        kind=AttachmentKind.DOCUMENT,
                        file_id=doc.file_id,
                        file_unique_id=doc.file_unique_id,
                        file_name="упражнение.pdf",
                        mime_type="application/pdf",
                        file_size=doc.size,
                    ),
                    HomeworkAttachment(
                        homework_id=homework_ids["rus_today"],
                        kind=AttachmentKind.PHOTO,
                        file_id=files["photo"],
                        file_unique_id=photo_sizes[-1]["file_unique_id"],
                    ),
                ]
            )
        await session.commit()
        return World(
            school=school,
            subjects={"math": math_id, "rus": russian.id, "pe": pe.id},
            periods=periods,
            lessons=lessons,
            homework=homework_ids,
            files=files,
            old_year_id=old_year.id,
        )


@pytest.fixture
async def world(app: App, clock: Clock) -> World:
    return await make_diary_world(app.session_factory, app.fake)


def _user(app: App, telegram_id: int) -> FakeUser:
    return app.user(telegram_id, language_code="en")


async def _count(app: App, model: Any, *where: Any) -> int:
    async with app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


def _ok(app: App) -> None:
    assert app.fake.errors == [], app.fake.errors[:3]
    assert app.fake.unanswered_callbacks() == []


# --- menu and day view ------------------------------------------------------------------------


async def test_parent_opens_the_diary_menu_and_navigates_the_days(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/start")
    await parent.press(text="📖 Diary")
    menu = parent.last
    assert "Diary" in menu.text
    assert "Пётр Иванов" in menu.text
    assert "Wednesday, 11 November" in menu.text
    labels = menu.button_texts()
    for label in ("📅 Today", "➡️ Tomorrow", "🗓 Week", "📊 Grades", "📝 Homework"):
        assert label in labels
    for label in ("🕘 Schedule", "🚸 Attendance", "📄 Report", "⚙️ Settings"):
        assert label in labels
    assert "🔄 Switch child" not in labels  # one child only

    await parent.press(menu, text="📅 Today")
    day = parent.last
    assert day.message_id == menu.message_id, "navigation edits the screen in place"
    text = day.text
    assert "Wednesday, 11 November · today" in text
    assert "1. 08:30–09:15 Математика · room 101" in text
    assert "Topic: Дроби & <проценты>" in text
    assert "5 · oral answer" in text
    assert "4− · test ×2 — «Ошибки <в> вычислениях»" in text
    assert " 1 · " not in text, "a held-back grade stays hidden"
    assert " 2 · " not in text, "a deleted grade stays hidden"
    assert "⏰ late by 5 min" in text
    assert "📌 Due today: № 1–5" in text
    assert "📝 Homework: Упр. 5 <b>с разбором</b> 📎 · due Thu, 12 Nov" in text
    assert "3. 10:30–11:15 Физическая культура · room Спортзал" in text
    assert "pass · oral answer" in text
    assert "&lt;проценты&gt;" in day.html, "user data is escaped"

    await parent.press(day, text="▶")
    text = parent.last.text
    assert "Thursday, 12 November" in text
    assert "⛔ Русский язык" in text
    assert "Cancelled: Учитель заболел" in text
    assert "🔄 Replacement teacher: Новый Учитель" in text
    assert "📌 Due today: Упр. 5" in text

    await parent.press(day, text="▶")
    assert "🎉 Holiday: Day off <for> staff & kids" in parent.last.text
    await parent.press(day, text="▶")
    assert "Weekend — no lessons." in parent.last.text
    await parent.press(day, text="▶▶")
    text = parent.last.text
    assert "Saturday, 21 November" in text
    await parent.press(day, text="◀")
    text = parent.last.text
    assert "Friday, 20 November" in text
    assert "Planned timetable" in text
    assert "1. 08:30–09:15 Математика" in text
    await parent.press(day, text="◀◀")
    assert "Friday, 13 November" in parent.last.text
    await parent.press(day, text="Today")
    assert "Wednesday, 11 November · today" in parent.last.text
    await parent.press(day, text="◀◀")
    assert "Wednesday, 4 November" in parent.last.text
    assert "Holiday: Осенние каникулы" in parent.last.text

    assert [m.message_id for m in parent.messages if not m.deleted][-1] == day.message_id
    assert parent.message(day.message_id).edits >= 9
    _ok(app)


async def test_day_buttons_open_homework_and_back(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/today")
    day = parent.last
    assert "Wednesday, 11 November · today" in day.text
    assert "📝 Русский язык 📎" in day.button_texts()
    await parent.press(day, text="📝 Русский язык 📎")
    assert "Упр. 5 <b>с разбором</b>" in parent.last.text
    assert "2 attachments" in parent.last.text
    await parent.press(parent.last, text="« Back")
    assert "Пётр Иванов" in parent.last.text
    assert "What would you like to see?" in parent.last.text
    _ok(app)


async def test_tomorrow_and_the_week_with_its_navigation(app: App, world: World) -> None:
    student = _user(app, f.STUDENT)
    await student.send("/tomorrow")
    assert "Thursday, 12 November" in student.last.text
    assert "Пётр Иванов" not in student.last.text, "a student's own diary needs no name"

    await student.send("/week")
    week = student.last
    text = week.text
    assert "Week of 9 November · odd week" in text
    assert "Monday, 9 Nov" in text
    assert "Friday, 13 Nov" in text
    assert "Wednesday, 11 Nov · today" in text
    assert "❌" in text
    assert "⏰" in text
    assert "🎉 Day off <for> staff & kids" in text
    assert "Saturday" not in text
    await student.press(week, text="◀")
    assert "Week of 2 November" in student.last.text
    assert "Осенние каникулы" in student.last.text
    await student.press(week, text="▶")
    await student.press(week, text="▶")
    text = student.last.text
    assert "Week of 16 November · even week" in text
    assert "3. Русский язык" in text, "the even-week slot replaces PE"
    assert "Физическая культура" not in text
    await student.press(week, text="This week")
    assert "Week of 9 November" in student.last.text
    await student.press(week, text="Thu 12")
    assert "Thursday, 12 November" in student.last.text
    await student.press(week, text="🗓 Week")
    assert "Week of 9 November" in student.last.text
    _ok(app)


async def test_schedule_honours_odd_and_even_weeks(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/schedule")
    schedule = parent.last
    text = schedule.text
    assert "Timetable, week of 9 November · odd week" in text
    assert "3. 10:30 Физическая культура · Спортзал" in text
    assert "2. 09:25 ⛔ Русский язык · 202" in text
    assert "1. 08:30 Математика · 101 · 🔄 Новый Учитель" in text
    await parent.press(schedule, text="▶")
    text = parent.last.text
    assert "week of 16 November · even week" in text
    assert "3. 10:30 Русский язык · 202" in text
    assert "Физическая культура" not in text
    await parent.press(schedule, text="◀")
    await parent.press(schedule, text="◀")
    assert "Осенние каникулы" in parent.last.text
    await parent.press(schedule, text="This week")
    assert "odd week" in parent.last.text
    _ok(app)


# --- grades ---------------------------------------------------------------------------------


async def test_grades_summary_subject_calculator_periods_and_years(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/grades")
    summary = parent.last
    assert "Grades · Quarter 2 (5 Nov – 28 Dec)" in summary.text
    assert "<pre>" in summary.html
    rows = summary.text.splitlines()
    math_row = next(r for r in rows if r.startswith("Математика"))
    # 3 (w1) + 5 (w1) + 3.7 (w2) → 15.4 / 4 = 3.85 → predicted 4
    assert math_row.split() == ["Математика", "3.85", "(4)"]
    pe_row = next(r for r in rows if r.startswith("Физ-ра"))
    assert pe_row.split()[-2:] == ["100%", "(pass)"]
    header = next(r for r in rows if r.startswith("Subject"))
    assert len(header) == len(math_row.rstrip("*"))
    labels = summary.button_texts()
    assert {"• Q2", "Q1", "Q3", "Q4", "Year", "🗂 Earlier years"} <= set(labels)
    assert not any("spoiler" in label for label in labels), "the spoiler is the student's"

    await parent.press(summary, text="Мат")
    detail = parent.last.text
    assert "Математика · Quarter 2" in detail
    assert "9 Nov — 3 · classwork" in detail
    assert "11 Nov — 4− · test ×2 — «Ошибки <в> вычислениях»" in detail
    assert "Weighted average: 3.85" in detail
    assert "Predicted period grade: 4" in detail
    assert " 1 · " not in detail
    assert " 2 · " not in detail

    await parent.press(summary, text="🎯 What do I need?")
    calc = parent.last.text
    assert "Now: average 3.85, predicted grade 4." in calc
    # to 4.5: (15.4 + 5n) / (4 + n) ≥ 4.5 → n ≥ 6 fives; tests: (15.4 + 10n) / (4 + 2n) → n ≥ 3
    assert "For 5: (an average of 4.50 or more)" in calc
    assert "ordinary grades: 5 × 6 or 5− × 13" in calc
    assert "with tests (weight 2): 5 × 3 or 5− × 7" in calc
    await parent.press(summary, text="« Back to Мат")
    assert "Weighted average: 3.85" in parent.last.text
    await parent.press(summary, text="« All subjects")

    await parent.press(summary, text="Q1")
    q1 = parent.last.text
    assert "Quarter 1 (1 Sep – 25 Oct)" in q1
    assert next(r for r in q1.splitlines() if r.startswith("Математика")).split() == [
        "Математика",
        "4.00",
        "4",
    ]
    await parent.press(summary, text="Мат")
    assert "Final grade: 4" in parent.last.text
    assert "Proposed by the teacher: 4" in parent.last.text
    assert "🎯 What do I need?" not in parent.last.button_texts(), "Q1 is over"
    await parent.press(summary, text="« All subjects")
    await parent.press(summary, text="Year")
    assert "School year (1 Sep – 31 May)" in parent.last.text

    await parent.press(summary, text="🗂 Earlier years")
    years = parent.last
    assert "2026/2027 — current" in years.text
    assert "2025/2026" not in years.text, "Пётр was not enrolled then"
    await parent.press(years, text="2026/2027")
    assert "Grades · Quarter 2" in parent.last.text
    _ok(app)


async def test_new_grades_are_marked_until_the_next_visit(
    app: App, world: World, clock: Clock
) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/grades")  # the first visit marks nothing
    assert "🆕" not in parent.last.text
    clock.now = NOW + timedelta(minutes=5)
    async with app.session_factory() as session:
        lesson = world.lessons[TODAY, "rus"]
        assignment = await session.scalar(select(Lesson.assignment_id).where(Lesson.id == lesson))
        session.add(
            Grade(
                student_id=world.student,
                lesson_id=lesson,
                assignment_id=assignment,
                subject_id=world.subjects["rus"],
                date=TODAY,
                value="4",
                score=4.0,
                kind=GradeKind.CLASSWORK,
                created_at=NOW + timedelta(minutes=2),
            )
        )
        await session.commit()
    await parent.send("/grades")
    summary = parent.last
    assert "🆕 1 new grade since you last looked." in summary.text
    rus_row = next(r for r in summary.text.splitlines() if r.startswith("Русский"))
    assert rus_row.endswith("*")
    assert "🆕 Рус. яз." in summary.button_texts()
    await parent.press(summary, text="🆕 Рус. яз.")
    assert "🆕 11 Nov — 4 · classwork" in parent.last.text, "the mark lasts the whole visit"
    clock.now = NOW + timedelta(minutes=10)
    await parent.send("/grades")
    assert "🆕" not in parent.last.text
    async with app.session_factory() as session:
        seen = await session.scalar(select(GradesSeen.seen_at))
        assert seen == NOW + timedelta(minutes=5)
    _ok(app)


async def test_student_puts_grades_under_a_spoiler(app: App, world: World) -> None:
    student = _user(app, f.STUDENT)
    await student.send("/grades")
    summary = student.last
    await student.press(summary, text="🙈 Grades under a spoiler: off")
    assert "hidden under a spoiler" in student.callback_answers[-1]["text"]
    assert "<pre>" not in student.last.html
    assert "<tg-spoiler>3.85 → (4)</tg-spoiler>" in student.last.html
    assert "🙈 Grades under a spoiler: on" in student.last.button_texts()
    async with app.session_factory() as session:
        assert await session.scalar(
            select(Student.grades_spoiler).where(Student.id == world.student)
        )
    await student.send("/today")
    assert "<b><tg-spoiler>5</tg-spoiler></b> · oral answer" in student.last.html
    parent = _user(app, f.PARENT)
    await parent.send("/today")
    assert "<tg-spoiler>" not in parent.last.html, "the parent sees grades openly"
    await parent.press(parent.last, data=SpoilerCb(on=False).pack())
    assert parent.callback_answers[-1]["show_alert"] is True
    await student.press(summary, text="🙈 Grades under a spoiler: on")
    assert "<pre>" in summary.html
    _ok(app)


# --- homework -------------------------------------------------------------------------------


async def test_homework_list_subject_filter_and_attachments(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/homework")
    listing = parent.last
    text = listing.text
    assert "Homework · upcoming" in text
    assert "Due Wednesday, 11 November · today" in text
    assert "Математика: № 1–5" in text
    assert "Due Thursday, 12 November" in text
    assert "Русский язык: Упр. 5 <b>с разбором</b> 📎2" in text
    assert "Повторить § 3" not in text, "past homework is not upcoming"
    assert "Чужое задание" not in text
    await parent.press(listing, text="Мат")
    text = parent.last.text
    assert "Homework · Математика" in text
    assert "Повторить § 3" in text
    assert "Упр. 5" not in text
    await parent.press(listing, text="All upcoming")
    await parent.press(listing, text="12 Nov · Русский язык 📎")
    item = parent.last
    assert "Given: Wed, 11 Nov · due Thu, 12 Nov" in item.text
    assert "📤 Hand in" not in item.button_texts(), "parents do not hand in"
    await parent.press(item, text="📎 Attachments (2)")
    documents = app.fake.calls_to("sendDocument")
    photos = app.fake.calls_to("sendPhoto")
    assert [d["document"] for d in documents] == [world.files["doc"]]
    assert [p["photo"] for p in photos] == [world.files["photo"]]
    assert "упражнение.pdf (1/2)" in parent.messages[-2].content
    assert parent.last.photo is not None
    await parent.press(item, text="« Homework")
    assert "Homework · upcoming" in item.text
    _ok(app)


async def _open_homework(user: FakeUser, world: World, name: str) -> None:
    await user.send("/homework")
    await user.press(
        user.last,
        data=HomeworkItemCb(student_id=world.student, homework_id=world.homework[name]).pack(),
    )


async def _submission(app: App, world: World, name: str) -> tuple[Any, list[Any]]:
    async with app.session_factory() as session:
        submission = await session.scalar(
            select(HomeworkSubmission).where(
                HomeworkSubmission.homework_id == world.homework[name],
                HomeworkSubmission.student_id == world.student,
            )
        )
        files = []
        if submission is not None:
            files = list(
                await session.scalars(
                    select(SubmissionFile)
                    .where(SubmissionFile.submission_id == submission.id)
                    .order_by(SubmissionFile.id)
                )
            )
        return submission, files


async def test_student_hands_in_a_file_and_a_photo_then_again(app: App, world: World) -> None:
    student = _user(app, f.STUDENT)
    await _open_homework(student, world, "rus_today")
    item = student.last
    assert "Not handed in yet." in item.text
    await student.press(item, text="📤 Hand in")
    assert "Handing in: Русский язык" in student.last.text
    await student.send_document("работа.pdf", b"%PDF-1.4 my work", mime_type="application/pdf")
    assert "работа.pdf" in student.last.text
    await student.send_photo(tiny_png(8, 6), caption="Сделал всё, кроме <последней>")
    prompt = student.last
    assert "📷 photo" in prompt.text
    assert "Comment: Сделал всё, кроме <последней>" in prompt.text
    await student.press(prompt, text="✅ Done")
    assert "Handed in." in student.callback_answers[-1]["text"]
    assert "Handed in. The teacher will see it in the journal." in student.last.text
    assert "Status: 📤 handed in" in student.last.text
    submission, files = await _submission(app, world, "rus_today")
    assert submission is not None
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.comment == "Сделал всё, кроме <последней>"
    assert [(x.kind, x.file_name, x.mime_type) for x in files] == [
        (AttachmentKind.DOCUMENT, "работа.pdf", "application/pdf"),
        (AttachmentKind.PHOTO, None, "image/jpeg"),
    ]
    assert all(x.file_id and x.file_unique_id and x.file_size for x in files)
    photo_call = student.sent[-1].photo
    assert photo_call is not None
    assert files[1].file_id == photo_call[-1]["file_id"]

    # the teacher returns it; the student sees the comment and hands in again
    async with app.session_factory() as session:
        await session.execute(
            update(HomeworkSubmission)
            .where(HomeworkSubmission.id == submission.id)
            .values(status=SubmissionStatus.RETURNED, teacher_comment="Исправь <упр. 3>")
        )
        await session.commit()
    await _open_homework(student, world, "rus_today")
    item = student.last
    assert "Status: ↩️ returned for corrections" in item.text
    assert "💬 Teacher: Исправь <упр. 3>" in item.text
    await student.press(item, text="📤 Hand in again")
    assert "This replaces the work you handed in before." in student.last.text
    await student.send("Исправил")
    await student.press(student.last, text="✅ Done")
    assert "Send at least one file" in student.callback_answers[-1]["text"]
    await student.send_document("исправлено.docx", b"fixed")
    await student.press(student.last, text="✅ Done")
    again, files = await _submission(app, world, "rus_today")
    assert again is not None
    assert again.id == submission.id
    assert again.status == SubmissionStatus.SUBMITTED
    assert again.teacher_comment is None
    assert again.comment == "Исправил"
    assert [x.file_name for x in files] == ["исправлено.docx"]
    assert await _count(app, HomeworkSubmission) == 1
    _ok(app)


async def test_handing_in_can_be_cancelled_and_stale_buttons_refuse(app: App, world: World) -> None:
    student = _user(app, f.STUDENT)
    await _open_homework(student, world, "math_today")
    await student.press(student.last, text="📤 Hand in")
    prompt = student.last
    await student.send_document("draft.txt", b"draft")
    await student.press(prompt, text="✖️ Cancel")
    assert "Handing in cancelled; nothing was changed." in prompt.text
    await student.press(student.last, text="✅ Done")  # the reply to the file
    assert "no longer active" in student.callback_answers[-1]["text"]
    await student.send_document("late.txt", b"late")  # no handing-in under way
    assert "Handing in" not in student.last.text
    assert await _count(app, HomeworkSubmission) == 0
    _ok(app)


async def test_handing_in_after_the_due_date_is_refused_politely(app: App, world: World) -> None:
    student = _user(app, f.STUDENT)
    await _open_homework(student, world, "math_past")
    item = student.last
    assert "The due date has passed" in item.text
    assert "📤 Hand in" not in item.button_texts()
    await student.press(
        item, data=SubmitCb(homework_id=world.homework["math_past"], op=SubmitOp.START).pack()
    )
    answer = student.callback_answers[-1]
    assert answer["show_alert"] is True
    assert "due date has passed" in answer["text"]
    assert await _count(app, HomeworkSubmission) == 0
    _ok(app)


async def test_submission_after_midnight_of_the_due_day_is_refused(
    app: App, world: World, clock: Clock
) -> None:
    student = _user(app, f.STUDENT)
    await _open_homework(student, world, "math_due_today")
    await student.press(student.last, text="📤 Hand in")
    await student.send_document("work.txt", b"work")
    clock.now = NOW + timedelta(hours=15)  # Thursday, 01:00 in Moscow
    await student.press(student.last, text="✅ Done")
    assert "due date has passed" in student.callback_answers[-1]["text"]
    assert await _count(app, HomeworkSubmission) == 0
    _ok(app)


async def test_accepted_work_is_final(app: App, world: World) -> None:
    async with app.session_factory() as session:
        session.add(
            HomeworkSubmission(
                homework_id=world.homework["rus_today"],
                student_id=world.student,
                status=SubmissionStatus.ACCEPTED,
                teacher_comment="Хорошо",
            )
        )
        await session.commit()
    student = _user(app, f.STUDENT)
    await _open_homework(student, world, "rus_today")
    assert "Status: ✅ accepted" in student.last.text
    assert "The teacher has accepted this work." in student.last.text
    assert not any("Hand in" in label for label in student.last.button_texts())
    await student.press(
        student.last,
        data=SubmitCb(homework_id=world.homework["rus_today"], op=SubmitOp.START).pack(),
    )
    assert "already accepted" in student.callback_answers[-1]["text"]
    _ok(app)


# --- attendance and report -----------------------------------------------------------------


async def test_attendance_totals_and_periods(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/attendance")
    screen = parent.last
    text = screen.text
    assert "Attendance · Quarter 2" in text
    # lessons 5–6 Nov (2 + 2), 9–11 Nov (2 + 2 + 3), 12 Nov not yet: 11
    assert "Lessons held so far: 11" in text
    assert "Missed: 3 (excused: 2, unexcused: 1)" in text
    assert "Late: 1 time, 5 min in all" in text
    assert "Attended: 72%" in text
    assert "10 Nov, 2. Русский язык — ❌ absent" in text
    assert "9 Nov, 1. Математика — 📄 absent, excused (Болезнь)" in text
    await parent.press(screen, text="Q1")
    assert "No absences and no lateness in this period." in parent.last.text
    _ok(app)


async def test_report_has_averages_and_attendance(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    await parent.send("/start")
    await parent.press(text="📖 Diary")
    await parent.press(text="📄 Report")
    report = parent.last.text
    assert "Report · Quarter 2" in report
    assert "Математика" in report
    assert "3.85" in report
    assert "Mean of the five-point averages: 4.42" in report  # (3.85 + 5) / 2
    assert "Missed: 3 (excused: 2, unexcused: 1)" in report
    await parent.press(parent.last, text="Q1")
    assert "Report · Quarter 1" in parent.last.text
    _ok(app)


# --- trusted persons, ended grants and forged buttons --------------------------------------


async def test_tutor_sees_only_the_granted_scopes(app: App, world: World) -> None:
    tutor = _user(app, f.TRUSTED)
    await tutor.send("/start")
    [chat_menu] = [
        c for c in app.fake.calls_to("setMyCommands") if c.get("scope", {}).get("type") == "chat"
    ]
    commands = {c["command"] for c in chat_menu["commands"]}
    assert {"today", "week", "grades", "homework"} <= commands
    assert not {"attendance", "schedule"} & commands, "only what the grant allows"
    await tutor.press(text="📖 Diary")
    menu = tutor.last
    assert "Read-only access: grades, homework" in menu.text
    labels = menu.button_texts()
    assert "📊 Grades" in labels
    assert "📝 Homework" in labels
    assert "📄 Report" in labels
    assert "🚸 Attendance" not in labels
    assert "🕘 Schedule" not in labels

    await tutor.send("/attendance")
    assert "does not include attendance" in tutor.last.text
    await tutor.send("/schedule")
    assert "does not include the timetable" in tutor.last.text
    database = await db_snapshot(app.session_factory)
    await tutor.press(menu, data=AttendanceCb(student_id=world.student).pack())
    assert tutor.callback_answers[-1]["show_alert"] is True
    assert "don't have access" in tutor.callback_answers[-1]["text"]
    await tutor.press(menu, data=ScheduleCb(student_id=world.student).pack())
    assert tutor.callback_answers[-1]["show_alert"] is True
    await assert_unchanged(app.session_factory, database)

    await tutor.send("/today")
    text = tutor.last.text
    assert "Математика" in text
    assert "4− · test ×2" in text
    assert "08:30" not in text, "no timetable without its scope"
    assert "room" not in text
    assert "late" not in text, "no attendance without its scope"
    await tutor.send("/grades")
    assert "3.85" in tutor.last.text
    await tutor.press(tutor.last, text="Q1")
    await tutor.press(tutor.last, data=ReportCb(student_id=world.student).pack())
    assert "Report" in tutor.last.text
    assert "Attendance" not in tutor.last.text
    async with app.session_factory() as session:
        grant = await session.get(TrustedAccess, world.school.trusted_grant_id)
        assert grant is not None
        assert grant.last_opened_at is None, "stamps are written in batches, not by the screen"
    assert await app.flush_opened() == 1
    async with app.session_factory() as session:
        grant = await session.get(TrustedAccess, world.school.trusted_grant_id)
        assert grant is not None
        assert grant.last_opened_at is not None
    _ok(app)


async def test_revoked_or_expired_grant_explains_itself(app: App, world: World) -> None:
    tutor = _user(app, f.TRUSTED)
    await tutor.send("/today")
    day = tutor.last
    async with app.session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == world.school.trusted_grant_id)
            .values(revoked_at=ended_before_now(timedelta(hours=1)))
        )
        await session.commit()
    await tutor.press(day, text="▶")
    assert tutor.last.message_id == day.message_id, "the screen explains itself in place"
    assert "The parent revoked your access to Пётр Иванов's diary." in tutor.last.text
    await tutor.send("/grades")
    assert "revoked your access" in tutor.last.text
    async with app.session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == world.school.trusted_grant_id)
            .values(revoked_at=None, expires_at=ended_before_now(timedelta(days=1)))
        )
        await session.commit()
    await tutor.send("/week")
    assert "Your access to Пётр Иванов's diary ended on" in tutor.last.text
    assert "ask the parent for a new invitation" in tutor.last.text
    stranger = _user(app, 424242)
    await stranger.send("/today")
    assert "not connected to a student" in stranger.last.text
    _ok(app)


async def test_forged_buttons_for_another_family_change_nothing(app: App, world: World) -> None:
    parent = _user(app, f.PARENT)
    student = _user(app, f.STUDENT)
    await parent.send("/today")
    await student.send("/today")
    other = world.school.other_student_id
    forged = [
        DayCb(student_id=other).pack(),
        WeekCb(student_id=other).pack(),
        GradesCb(student_id=other, entry=True).pack(),
        GradesCb(student_id=world.student, period_id=999_999).pack(),
        GradesCb(student_id=world.student, subject_id=999_999).pack(),
        CalcCb(student_id=other, period_id=world.periods["q2"], subject_id=1).pack(),
        HomeworkCb(student_id=other).pack(),
        HomeworkItemCb(student_id=world.student, homework_id=world.homework["other"]).pack(),
        HomeworkItemCb(student_id=other, homework_id=world.homework["other"]).pack(),
        HomeworkFilesCb(student_id=world.student, homework_id=world.homework["other"]).pack(),
        AttendanceCb(student_id=other).pack(),
        ReportCb(student_id=other).pack(),
        ScheduleCb(student_id=world.school.unlinked_student_id).pack(),
        SubmitCb(homework_id=world.homework["rus_today"], op=SubmitOp.START).pack(),
        f"dd:{world.student}:{2**31 - 1}",  # not a date: refused when unpacked
    ]
    before = parent.last.text
    database = await db_snapshot(app.session_factory)
    for data in forged[:-1]:
        await parent.press(parent.last, data=data)
        assert parent.callback_answers[-1].get("show_alert") is True, data
        assert "don't have access" in parent.callback_answers[-1]["text"], data
    assert parent.last.text == before
    await assert_unchanged(app.session_factory, database)
    await parent.press(parent.last, data=forged[-1])
    assert parent.callback_answers[-1]["text"].startswith("This button is out of date")
    assert parent.last.text == before
    for data in (
        SubmitCb(homework_id=world.homework["other"], op=SubmitOp.START).pack(),
        HomeworkItemCb(student_id=world.student, homework_id=world.homework["other"]).pack(),
        DayCb(student_id=other).pack(),
    ):
        await student.press(student.last, data=data)
        assert student.callback_answers[-1].get("show_alert") is True, data
    await assert_unchanged(app.session_factory, database)
    assert await _count(app, HomeworkSubmission) == 0
    assert await _count(app, GradesSeen) == 0
    _ok(app)


async def test_parent_of_two_children_switches_and_opening_is_recorded(
    app: App, world: World
) -> None:
    async with app.session_factory() as session:
        account_id = await session.scalar(
            select(Guardianship.account_id).where(
                Guardianship.id == world.school.parent_guardianship_id
            )
        )
        session.add(
            Guardianship(
                student_id=world.school.unlinked_student_id,
                account_id=account_id,
                method=LinkMethod.DEMO,
            )
        )
        await session.commit()
    parent = _user(app, f.PARENT)
    await parent.send("/start")
    await parent.press(text="📖 Diary")
    menu = parent.last
    assert "🔄 Switch child" in menu.button_texts()
    first = "Мария <Смирнова>" if "Мария" in menu.text else "Пётр Иванов"
    await parent.press(menu, text="🔄 Switch child")
    other_name = "Пётр Иванов" if first.startswith("Мария") else "Мария <Смирнова>"
    await parent.press(
        parent.last, text=next(t for t in parent.last.button_texts() if other_name in t)
    )
    await parent.press(parent.last, text="📖 Diary")
    assert other_name in parent.last.text
    await parent.send("/today")
    assert other_name in parent.last.text
    await app.flush_opened()
    async with app.session_factory() as session:
        opened = await session.scalar(
            select(Guardianship.last_opened_at).where(
                Guardianship.id == world.school.parent_guardianship_id
            )
        )
        assert opened is not None
    _ok(app)


async def test_diary_in_russian_renders_for_every_role(app: App, world: World) -> None:
    for telegram_id in (f.PARENT, f.STUDENT, f.TRUSTED):
        user = app.user(telegram_id, language_code="ru")
        for command in ("/today", "/tomorrow", "/week", "/grades", "/homework"):
            await user.send(command)
            assert user.last.text
        await user.send("/start")
        await user.press(text=user.last.button_texts()[0])  # the diary comes first
    _ok(app)
