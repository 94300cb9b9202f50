"""The diary service on its own: period selection, odd/even weeks, holidays and weekends, hidden
and deleted grades, the "what do I need" calculator's wiring, handing in, ended grants, and
the pure helpers. The school of `tests.test_e2e_diary` (frozen on 11 November 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import AttachmentKind, PeriodKind, ScaleKind, SlotFrequency, SubmissionStatus
from db.models import (
    AcademicYear,
    Enrollment,
    Guardianship,
    HomeworkSubmission,
    Period,
    School,
    SubmissionFile,
    TrustedAccess,
)
from services import diary
from services.core.actors import Actor, load_actor
from services.core.errors import Shown
from services.core.grading import ScaleSpec, grades_needed
from services.diary import DayKind, PeriodInfo, family_report
from services.diary.attendance import AttendanceTotals, attended_share
from services.reports import AttendanceRow, AttendanceWeek
from tests import factories as f
from tests.refusals import raises_key
from tests.test_e2e_diary import DAY_OFF, NOW, TODAY, World, ended_before_now, make_diary_world


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_diary_world(session_factory)


async def _actor(session: AsyncSession, telegram_id: int) -> Actor:
    return await load_actor(session, telegram_id)


# --- pure helpers ----------------------------------------------------------------------------


def _p(pid: int, kind: PeriodKind, number: int, start: date, end: date) -> PeriodInfo:
    return PeriodInfo(pid, kind, number, start, end)


QUARTERS = [
    _p(1, PeriodKind.QUARTER, 1, date(2026, 9, 1), date(2026, 10, 25)),
    _p(2, PeriodKind.QUARTER, 2, date(2026, 11, 5), date(2026, 12, 28)),
    _p(3, PeriodKind.QUARTER, 3, date(2027, 1, 12), date(2027, 3, 22)),
    _p(4, PeriodKind.QUARTER, 4, date(2027, 3, 30), date(2027, 5, 31)),
    _p(5, PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31)),
]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 9, 1), 1),
        (date(2026, 10, 30), 1),  # autumn holidays: the quarter that just ended
        (date(2026, 11, 5), 2),
        (date(2027, 1, 3), 2),  # winter holidays
        (date(2027, 5, 31), 4),
        (date(2026, 8, 20), 1),  # before the year: the first quarter
        (date(2027, 6, 15), 5),  # after the year: the year itself
    ],
)
def test_current_period_is_the_finest_kind_holding_today(today: date, expected: int) -> None:
    chosen = diary.current_period(QUARTERS, today)
    assert chosen is not None
    assert chosen.id == expected


def test_current_period_with_semesters_trimesters_or_only_the_year() -> None:
    semesters = [
        _p(1, PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 28)),
        _p(2, PeriodKind.SEMESTER, 2, date(2027, 1, 12), date(2027, 5, 31)),
        _p(3, PeriodKind.TRIMESTER, 2, date(2026, 12, 1), date(2027, 2, 28)),
    ]
    assert diary.current_period(semesters, date(2027, 2, 1)).id == 3  # type: ignore[union-attr]
    assert diary.current_period(semesters[:2], date(2027, 2, 1)).id == 2  # type: ignore[union-attr]
    year_only = [QUARTERS[-1]]
    assert diary.current_period(year_only, date(2026, 12, 1)).id == 5  # type: ignore[union-attr]
    assert diary.current_period([], date(2026, 12, 1)) is None


def test_attended_share_is_one_rule_for_the_diary_and_the_reports() -> None:
    assert attended_share(0, 0) is None
    assert attended_share(4, 1) == 0.75
    assert attended_share(3, 5) == 0.0  # never below 0
    # 1 of 5 lessons reads as 20% once floored (1 - 4/5 is 0.19999…: the diary said 19%)
    share = attended_share(5, 4)
    assert share is not None
    assert int(share * 100) == 20
    totals = AttendanceTotals(lessons=100, absent=5, excused=2, late=1, minutes_late=3)
    row = AttendanceRow(None, "", lessons=100, absent=5, excused=2, late=1, late_minutes=3)
    week = AttendanceWeek(date(2026, 9, 7), lessons=100, missed=7)
    assert totals.attended_share == row.present_share == week.present_share == 0.93


def test_fit_name_keeps_cyrillic_columns_fixed() -> None:
    assert diary.fit_name("Математика", "Матем.") == "Математика"
    assert diary.fit_name("Английский язык", "Англ. яз.") == "Англ. яз."
    cut = diary.fit_name("Основы безопасности жизнедеятельности", "Основы безопасности")
    assert cut == "Основы безоп…"
    assert len(cut) == diary.TABLE_NAME_WIDTH


def test_targets_are_the_next_marks_of_the_scale() -> None:
    five = ScaleSpec.default("five")
    pairs = [(3.0, 1.0), (4.0, 1.0)]  # 3.5 → predicted "4"
    targets = diary.plan_targets(five, pairs, "4")
    assert [t.value for t in targets] == ["5"]
    assert targets[0].threshold == 4.5
    assert targets[0].ordinary == [
        (v.replace("-", "−"), n)
        for v, n in grades_needed(five, pairs, "5", weight=1.0, limit=3) or []
    ]
    assert targets[0].test == [
        (v.replace("-", "−"), n)
        for v, n in grades_needed(five, pairs, "5", weight=2.0, limit=2) or []
    ]
    assert [t.value for t in diary.plan_targets(five, [(2.0, 1.0)], "2")] == ["3", "4", "5"]
    assert diary.plan_targets(five, [(5.0, 1.0)], "5") == []
    hundred = ScaleSpec.default("hundred")
    assert [t.value for t in diary.plan_targets(hundred, [(62.0, 1.0)], "62")] == [
        "70",
        "80",
        "90",
    ]
    pass_fail = ScaleSpec.default("pass_fail")
    failing = diary.plan_targets(pass_fail, [(0.0, 1.0)], "fail")
    assert [t.value for t in failing] == ["pass"]
    assert failing[0].ordinary == [("pass", 1)]
    assert diary.plan_targets(pass_fail, [(1.0, 1.0)], "pass") == []
    assert diary.plan_targets(five, [], None) == []  # no grades yet: nothing to plan


def test_ordinal_days_outside_the_range_mean_today() -> None:
    assert diary.ordinal_day(0) is None
    assert diary.ordinal_day(1) is None
    assert diary.ordinal_day(2**31 - 1) is None
    assert diary.ordinal_day(TODAY.toordinal()) == TODAY


# --- days, weeks and the timetable -----------------------------------------------------------


async def test_day_kinds_holidays_weekends_planned_and_outside(
    session: AsyncSession, world: World
) -> None:
    parent = await _actor(session, f.PARENT)
    sid = world.student

    async def kind(day: date) -> DayKind:
        view = await diary.day_view(session, parent, sid, day, now=NOW)
        return view.day.kind

    assert await kind(TODAY) == DayKind.LESSONS
    assert await kind(DAY_OFF) == DayKind.HOLIDAY
    assert await kind(date(2026, 10, 28)) == DayKind.HOLIDAY
    assert await kind(date(2026, 11, 14)) == DayKind.WEEKEND
    assert await kind(date(2026, 11, 18)) == DayKind.PLANNED
    assert await kind(date(2026, 7, 1)) == DayKind.OUTSIDE
    assert await kind(date(2027, 6, 2)) == DayKind.OUTSIDE
    holiday = await diary.day_view(session, parent, sid, DAY_OFF, now=NOW)
    assert holiday.day.holiday == "Day off <for> staff & kids"
    today = await diary.day_view(session, parent, sid, now=NOW)
    assert today.day.date == TODAY
    tomorrow = await diary.day_view(session, parent, sid, offset=1, now=NOW)
    assert tomorrow.day.date == TODAY + timedelta(days=1)
    russian = next(x for x in tomorrow.day.lessons if x.subject == "Русский язык")
    assert russian.cancelled
    assert russian.cancel_reason == "Учитель заболел"
    math = next(x for x in tomorrow.day.lessons if x.subject == "Математика")
    assert math.replacement == "Новый Учитель"


async def test_odd_and_even_weeks_use_their_slots(session: AsyncSession, world: World) -> None:
    student = await _actor(session, f.STUDENT)
    odd = await diary.schedule_view(session, student, world.student, TODAY, now=NOW)
    even = await diary.schedule_view(
        session, student, world.student, TODAY + timedelta(days=7), now=NOW
    )
    assert odd.parity == SlotFrequency.ODD
    assert even.parity == SlotFrequency.EVEN
    odd_wed = next(d for d in odd.days if d.date == TODAY)
    even_wed = next(d for d in even.days if d.date == TODAY + timedelta(days=7))
    assert odd_wed.kind == DayKind.LESSONS
    assert even_wed.kind == DayKind.PLANNED
    assert [x.subject for x in odd_wed.lessons][-1] == "Физическая культура"
    assert [(x.number, x.subject) for x in even_wed.lessons] == [
        (1, "Математика"),
        (2, "Русский язык"),
        (3, "Русский язык"),
    ]
    after_holidays = await diary.schedule_view(
        session, student, world.student, TODAY + timedelta(days=14), now=NOW
    )
    assert after_holidays.parity == SlotFrequency.ODD
    wed = next(d for d in after_holidays.days if d.date.isoweekday() == 3)
    assert wed.lessons[-1].subject == "Физическая культура"
    assert all(lesson.planned for lesson in wed.lessons)


async def test_hidden_and_deleted_grades_never_reach_families(
    session: AsyncSession, world: World
) -> None:
    parent = await _actor(session, f.PARENT)
    values = {
        g.value
        for lesson in (
            await diary.day_view(session, parent, world.student, TODAY, now=NOW)
        ).day.lessons
        for g in lesson.grades
    }
    assert values == {"5", "4−", "pass"}
    later = NOW + timedelta(days=3)  # the held-back grade is released on 14 November
    view = await diary.grades_view(
        session, parent, world.student, subject_id=world.subjects["math"], now=later
    )
    assert view.subject is not None
    assert sorted(g.value for g in view.subject.grades) == ["1", "3", "4−", "5"]


async def test_grades_view_periods_and_forged_ids(session: AsyncSession, world: World) -> None:
    parent = await _actor(session, f.PARENT)
    sid = world.student
    current = await diary.grades_view(session, parent, sid, now=NOW)
    assert current.period.id == world.periods["q2"]
    math = next(s for s in current.subjects if s.subject_id == world.subjects["math"])
    assert math.average == pytest.approx((3 + 5 + 3.7 * 2) / 4)
    assert math.predicted == "4"
    q1 = await diary.grades_view(session, parent, sid, period_id=world.periods["q1"], now=NOW)
    q1_math = next(s for s in q1.subjects if s.subject_id == world.subjects["math"])
    assert (q1_math.proposed, q1_math.final, q1_math.average) == ("4", "4", 4.0)
    assert q1.period_over
    by_year = await diary.grades_view(session, parent, sid, year_id=current.child.year.id, now=NOW)  # type: ignore[union-attr]
    assert by_year.period.id == world.periods["q2"]
    with raises_key("access.denied"):
        await diary.grades_view(session, parent, sid, year_id=world.old_year_id, now=NOW)
    # a period of another school
    other_school = School(name="Другая школа")
    session.add(other_school)
    await session.flush()
    other_year = AcademicYear(
        school_id=other_school.id,
        name="x",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 5, 31),
        is_current=True,
    )
    session.add(other_year)
    await session.flush()
    foreign = Period(
        year_id=other_year.id,
        kind=PeriodKind.QUARTER,
        number=1,
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 10, 25),
    )
    session.add(foreign)
    await session.commit()
    with raises_key("access.denied"):
        await diary.grades_view(session, parent, sid, period_id=foreign.id, now=NOW)
    with raises_key("access.denied"):
        await diary.grades_view(session, parent, sid, subject_id=999_999, now=NOW)
    with raises_key("access.denied"):
        await diary.grades_view(session, parent, world.school.other_student_id, now=NOW)


async def test_calculator_is_wired_to_grades_needed(session: AsyncSession, world: World) -> None:
    student = await _actor(session, f.STUDENT)
    view = await diary.calculator_view(
        session, student, world.student, world.periods["q2"], world.subjects["math"], now=NOW
    )
    pairs = [(3.0, 1.0), (5.0, 1.0), (3.7, 2.0)]
    five = ScaleSpec(ScaleKind.FIVE, 1, 5, 3, True)
    assert [t.value for t in view.targets] == ["5"]
    assert view.targets[0].ordinary == [
        (v.replace("-", "−"), n) for v, n in grades_needed(five, pairs, "5", limit=3) or []
    ]
    assert view.targets[0].test == [
        (v.replace("-", "−"), n)
        for v, n in grades_needed(five, pairs, "5", weight=2.0, limit=2) or []
    ]
    over = await diary.calculator_view(
        session, student, world.student, world.periods["q1"], world.subjects["math"], now=NOW
    )
    assert over.period_over
    assert over.targets == []


async def test_report_and_attendance_totals(session: AsyncSession, world: World) -> None:
    parent = await _actor(session, f.PARENT)
    report = await family_report(session, parent, world.student, now=NOW)
    assert report.attendance is not None
    assert (report.attendance.absent, report.attendance.excused, report.attendance.late) == (
        1,
        2,
        1,
    )
    assert report.overall == pytest.approx(((3 + 5 + 7.4) / 4 + 5) / 2)
    tutor = await _actor(session, f.TRUSTED)
    limited = await family_report(session, tutor, world.student, now=NOW)
    assert limited.attendance is None
    assert limited.subjects is not None
    with raises_key("access.denied"):
        await diary.attendance_view(session, tutor, world.student, now=NOW)


# --- homework and handing in -----------------------------------------------------------------


def _file(name: str) -> diary.NewFile:
    return diary.NewFile(AttachmentKind.DOCUMENT, f"id-{name}", f"u-{name}", name, "text/plain", 5)


async def test_submission_is_replaced_and_refused_after_the_due_date(
    session: AsyncSession, world: World
) -> None:
    student = await _actor(session, f.STUDENT)
    hid = world.homework["rus_today"]
    first = await diary.submit_homework(
        session, student, hid, [_file("a"), _file("b")], " Готово ", now=NOW
    )
    again = await diary.submit_homework(session, student, hid, [_file("c")], None, now=NOW)
    assert again == first
    rows = list(await session.scalars(select(SubmissionFile.file_name)))
    assert rows == ["c"]
    submission = await session.get(HomeworkSubmission, first)
    assert submission is not None
    await session.refresh(submission)
    assert submission.comment is None
    with raises_key("submission.past_due"):
        await diary.submit_homework(
            session, student, hid, [_file("d")], None, now=NOW + timedelta(days=1, hours=21)
        )
    with raises_key("submission.no_files"):
        await diary.submit_homework(session, student, hid, [], None, now=NOW)
    with raises_key("submission.too_many_files"):
        await diary.submit_homework(
            session, student, hid, [_file(str(i)) for i in range(11)], None, now=NOW
        )
    # returned work may be handed in again even after the due date
    await session.execute(
        update(HomeworkSubmission)
        .where(HomeworkSubmission.id == first)
        .values(status=SubmissionStatus.RETURNED)
    )
    await session.commit()
    late = NOW + timedelta(days=3)
    await diary.submit_homework(session, student, hid, [_file("e")], "fixed", now=late)
    detail = await diary.homework_detail(session, student, world.student, hid, now=late)
    assert detail.submission is not None
    assert detail.submission.status == SubmissionStatus.SUBMITTED
    assert [x.file_name for x in detail.submission.files] == ["e"]
    assert not detail.may_submit
    assert detail.refusal == "past_due"


async def test_only_the_student_hands_in_and_only_their_class_homework(
    session: AsyncSession, world: World
) -> None:
    parent = await _actor(session, f.PARENT)
    student = await _actor(session, f.STUDENT)
    with raises_key("access.denied"):
        await diary.submit_homework(
            session, parent, world.homework["rus_today"], [_file("a")], None, now=NOW
        )
    with raises_key("access.denied"):
        await diary.submit_homework(
            session, student, world.homework["other"], [_file("a")], None, now=NOW
        )
    with raises_key("access.denied"):
        await diary.homework_detail(
            session, parent, world.student, world.homework["other"], now=NOW
        )
    parent_view = await diary.homework_detail(
        session, parent, world.student, world.homework["rus_today"], now=NOW
    )
    assert not parent_view.may_submit
    assert parent_view.refusal is None
    assert await session.scalar(select(HomeworkSubmission.id)) is None


async def test_homework_lists_are_bounded_and_filtered(session: AsyncSession, world: World) -> None:
    tutor = await _actor(session, f.TRUSTED)
    upcoming = await diary.homework_list(session, tutor, world.student, now=NOW)
    assert [h.due_date for h in upcoming.items] == sorted(h.due_date for h in upcoming.items)
    assert all(h.due_date >= TODAY for h in upcoming.items)
    assert {h.id for h in upcoming.items} == {
        world.homework["rus_today"],
        world.homework["math_due_today"],
        world.homework["math_today"],
    }
    math = await diary.homework_list(
        session, tutor, world.student, subject_id=world.subjects["math"], now=NOW
    )
    assert world.homework["math_past"] in {h.id for h in math.items}
    item, files, total = await diary.homework_attachments(
        session, tutor, world.student, world.homework["rus_today"], now=NOW
    )
    assert item.attachments == total == len(files) == 0  # no fake Telegram: no files stored


# --- who may look ---------------------------------------------------------------------------


async def test_ended_grants_explain_themselves(session: AsyncSession, world: World) -> None:
    ended_at = ended_before_now(timedelta(days=1))
    await session.execute(
        update(TrustedAccess)
        .where(TrustedAccess.id == world.school.trusted_grant_id)
        .values(expires_at=ended_at)
    )
    await session.commit()
    tutor = await _actor(session, f.TRUSTED)
    assert tutor.children == ()
    ended = await diary.ended_access(session, tutor, now=NOW)
    assert ended is not None
    assert (ended.student_name, ended.revoked, ended.trusted) == ("Пётр Иванов", False, True)
    with raises_key("access.ended") as raised:
        await diary.day_view(session, tutor, world.student, now=NOW)
    assert raised.value.details["ended"].ended_at == ended_at
    assert raised.value.shown == Shown.SCREEN
    stranger = await _actor(session, 777)
    assert await diary.ended_access(session, stranger, now=NOW) is None
    with raises_key("access.denied") as plain:
        await diary.day_view(session, stranger, world.student, now=NOW)
    assert plain.value.shown == Shown.ALERT


async def test_revoked_guardian_link_explains_itself(session: AsyncSession, world: World) -> None:
    await session.execute(
        update(Guardianship)
        .where(Guardianship.id == world.school.parent_guardianship_id)
        .values(revoked_at=datetime(2026, 11, 1, tzinfo=UTC))
    )
    await session.commit()
    parent = await _actor(session, f.PARENT)
    ended = await diary.ended_access(session, parent, world.student, now=NOW)
    assert ended is not None
    assert (ended.revoked, ended.trusted) == (True, False)


async def test_opening_the_diary_is_recorded_for_guardians_not_students(
    session: AsyncSession, world: World
) -> None:
    parent = await _actor(session, f.PARENT)
    student = await _actor(session, f.STUDENT)
    await diary.diary_menu(session, student, world.student, now=NOW)
    link = await session.get(Guardianship, world.school.parent_guardianship_id)
    assert link is not None
    assert link.last_opened_at is None
    await diary.diary_menu(session, parent, world.student, now=NOW)
    await session.refresh(link)
    assert link.last_opened_at is not None


async def test_spoiler_is_the_students_own_choice(session: AsyncSession, world: World) -> None:
    student = await _actor(session, f.STUDENT)
    parent = await _actor(session, f.PARENT)
    await diary.set_grades_spoiler(session, student, True)
    own = await diary.grades_view(session, student, world.student, now=NOW)
    seen_by_parent = await diary.grades_view(session, parent, world.student, now=NOW)
    assert own.child.spoiler
    assert not seen_by_parent.child.spoiler
    with raises_key("access.denied"):
        await diary.set_grades_spoiler(session, parent, True)


async def test_a_student_without_a_class_gets_empty_screens(
    session: AsyncSession, world: World
) -> None:
    await session.execute(delete(Enrollment).where(Enrollment.student_id == world.student))
    await session.commit()
    parent = await _actor(session, f.PARENT)
    day = await diary.day_view(session, parent, world.student, now=NOW)
    assert day.day.kind == DayKind.OUTSIDE
    grades = await diary.grades_view(session, parent, world.student, entry=True, now=NOW)
    assert grades.subjects == []
    attendance = await diary.attendance_view(session, parent, world.student, now=NOW)
    assert attendance.totals.lessons == 0
    homework = await diary.homework_list(session, parent, world.student, now=NOW)
    assert homework.items == []
