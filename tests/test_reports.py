"""The reports' figures against hand-computed expectations (tests/reports_world.py), on both
databases, and a fixed number of statements per report whatever the class's size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.enums import GradeKind
from db.models import Grade, Lesson, TeachingAssignment
from services import reports
from services.core.actors import load_actor
from services.core.errors import DomainError
from services.reports import RiskReason, RiskThresholds, When
from services.reports.access import card_attendance, may_have, require_report
from tests import clock
from tests import factories as f
from tests.reports_world import World, add_students, make_world

TODAY = clock.school_today()


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory)


def _by_name(summary: reports.ClassSummary) -> dict[str, reports.SummaryRow]:
    return {row.name: row for row in summary.rows}


async def test_class_summary_of_a_quarter(session: AsyncSession, world: World) -> None:
    summary = await reports.build_class_summary(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )
    assert summary.header.class_name == "7B"
    assert summary.header.class_teacher == "Классная Руководительница"
    assert summary.header.span.period_id == world.q1_id
    assert [s.subject for s in summary.subjects] == ["Информатика", "Математика", "Физкультура"]
    rows = _by_name(summary)
    assert set(rows) == {"Пётр Иванов", "Мария <Смирнова>"}
    inf, math, pe = rows["Пётр Иванов"].cells
    # the held 2 counts for staff: (5+4+3·2+2)/5
    assert math.average == pytest.approx(3.4)
    assert (math.count, math.proposed, math.final, math.result) == (4, "3", "4", "4")
    assert (pe.average, pe.count, pe.result) == (1.0, 2, "pass")
    assert (inf.average, inf.result) == (80.0, "80")
    assert rows["Пётр Иванов"].absences == 2
    assert rows["Пётр Иванов"].successful
    assert rows["Пётр Иванов"].good
    maria = rows["Мария <Смирнова>"]
    inf, math, pe = maria.cells
    assert (math.average, math.count, math.result) == (2.5, 2, "3")  # her 5 is in 5A
    assert (pe.result, inf.result, inf.count) == ("fail", None, 0)
    assert not maria.successful
    assert not maria.good
    assert maria.stay == reports.Stay(None, world.day(3))
    assert maria.absences == 2
    assert (summary.success, summary.quality) == (0.5, 0.5)
    inf_f, math_f, pe_f = summary.figures
    assert math_f.average == pytest.approx((3.4 + 2.5) / 2)
    assert (math_f.success, math_f.quality) == (1.0, 0.5)  # "4" and "3" pass; only "4" is good
    assert (pe_f.average, pe_f.success, pe_f.quality) == (0.5, 0.5, 0.5)
    assert (inf_f.average, inf_f.success, inf_f.quality) == (80.0, 1.0, 1.0)  # 80 ≥ 75 is good


async def test_a_student_who_moved_counts_in_each_class_for_its_own_days(
    session: AsyncSession, world: World
) -> None:
    summary = await reports.build_class_summary(
        session, world.school.class_5a, When.period(1), today=TODAY
    )
    rows = _by_name(summary)
    assert set(rows) == {"Олег Петров", "Мария <Смирнова>"}
    (math,) = rows["Мария <Смирнова>"].cells
    assert (math.average, math.count, math.result) == (5.0, 1, "5")
    assert rows["Мария <Смирнова>"].stay == reports.Stay(world.day(3), None)
    attendance = await reports.build_attendance(
        session, world.school.class_5a, When.period(1), today=TODAY
    )
    lessons = {row.name: row.lessons for row in attendance.rows}
    assert lessons == {"Олег Петров": 2, "Мария <Смирнова>": 2}


async def test_a_date_range_has_proposals_only(session: AsyncSession, world: World) -> None:
    summary = await reports.build_class_summary(
        session, world.school.class_7b, When.between(world.day(1), world.day(2)), today=TODAY
    )
    assert not summary.header.span.is_period
    math = _by_name(summary)["Пётр Иванов"].cells[1]
    assert (math.average, math.count, math.proposed, math.final) == (4.5, 2, "5", None)


async def test_attendance_of_a_class(session: AsyncSession, world: World) -> None:
    report = await reports.build_attendance(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )
    rows = {row.name: row for row in report.rows}
    petr, maria = rows["Пётр Иванов"], rows["Мария <Смирнова>"]
    # seven lessons (the cancelled one never counts); Мария left on d3: d1 and d2, four lessons
    assert (petr.lessons, petr.absent, petr.excused, petr.late, petr.late_minutes) == (
        7,
        1,
        1,
        1,
        10,
    )
    assert petr.present_share == pytest.approx(5 / 7)
    assert (maria.lessons, maria.absent, maria.excused, maria.late) == (4, 1, 1, 0)
    assert maria.present_share == 0.5
    total = report.total
    assert (total.lessons, total.absent, total.excused, total.late) == (11, 2, 2, 1)
    assert report.busiest_days == ((world.day(1), 2), (world.day(2), 2))


async def test_students_at_risk(session: AsyncSession, world: World) -> None:
    report = await reports.build_risk(
        session,
        world.school.class_7b,
        When(period_id=world.q1_id),
        today=TODAY,
        thresholds=RiskThresholds(min_grades=2),
    )
    found = {(i.name, i.reason, i.subject) for i in report.items}
    assert found == {
        ("Пётр Иванов", RiskReason.NOT_GRADED, "Информатика"),  # one grade of two needed
        ("Мария <Смирнова>", RiskReason.NOT_GRADED, "Информатика"),
        ("Мария <Смирнова>", RiskReason.BORDERLINE, "Математика"),  # 2.5 → "3", just
        ("Мария <Смирнова>", RiskReason.NOT_GRADED, "Физкультура"),  # a fail, but one grade
        ("Мария <Смирнова>", RiskReason.ABSENCES, None),  # 2 of 4 lessons > 30 %
    }
    assert report.students == 2
    strict = await reports.build_risk(
        session,
        world.school.class_7b,
        When(period_id=world.q1_id),
        today=TODAY,
        thresholds=RiskThresholds(min_grades=1, absences=0.6),
    )
    assert {(i.name, i.reason, i.subject) for i in strict.items} == {
        ("Мария <Смирнова>", RiskReason.NOT_GRADED, "Информатика"),
        ("Мария <Смирнова>", RiskReason.BORDERLINE, "Математика"),
        ("Мария <Смирнова>", RiskReason.FAILING, "Физкультура"),
    }


async def test_report_card_shows_what_the_family_may_see(
    session: AsyncSession, world: World
) -> None:
    card = await reports.build_report_card(
        session, world.petr, When(period_id=world.q1_id), today=TODAY
    )
    assert card.header.student == "Пётр Иванов"
    assert (card.header.class_name, card.header.class_teacher) == (
        "7B",
        "Классная Руководительница",
    )
    lines = {line.subject: line for line in card.lines}
    math = lines["Математика"]
    assert math.average == pytest.approx(3.75)  # the held 2 is not the family's yet
    assert (math.count, math.period_value, math.proposed_only, math.year_value) == (
        3,
        "4",
        False,
        "5",
    )
    assert (lines["Физкультура"].period_value, lines["Физкультура"].proposed_only) == (
        "pass",
        True,
    )
    assert lines["Информатика"].period_value == "80"
    a = card.attendance
    assert (a.lessons, a.absent, a.excused, a.late) == (7, 1, 1, 1)


async def test_report_card_of_a_student_who_moved(session: AsyncSession, world: World) -> None:
    card = await reports.build_report_card(session, world.maria, When.period(1), today=TODAY)
    assert card.header.class_name == "5A"
    lines = {line.subject: line for line in card.lines}
    math = lines["Математика"]  # both classes' grades: (2+3+5)/3
    assert math.average == pytest.approx(10 / 3)
    assert (math.count, math.period_value) == (3, "3")
    assert lines["Физкультура"].period_value == "fail"
    assert lines["Информатика"].count == 0
    assert lines["Информатика"].period_value is None
    a = card.attendance
    assert (a.lessons, a.absent, a.excused) == (6, 1, 1)


async def test_school_summary(session: AsyncSession, world: World) -> None:
    summary = await reports.build_school_summary(
        session, world.school.school_id, When.period(1), today=TODAY
    )
    spread = reports.Distribution
    assert [(c.class_name, c.students, c.success, c.quality) for c in summary.classes] == [
        ("5A", 2, 1.0, 1.0),
        ("7B", 2, 0.5, 0.5),
    ]
    assert [c.distribution for c in summary.classes] == [spread(2, 0, 0, 0), spread(1, 0, 0, 1)]
    lines = {(line.class_name, line.subject): line for line in summary.lines}
    assert lines[("5A", "Математика")].average == 4.5
    assert lines[("7B", "Математика")].distribution == spread(1, 1, 0, 0)  # "4" good, "3" passing
    assert lines[("7B", "Физкультура")].distribution == spread(1, 0, 1, 0)  # pass, fail
    assert lines[("7B", "Информатика")].distribution == spread(1, 0, 0, 1)
    assert lines[("7B", "Информатика")].students == 1
    # Мария counts in each class she was in: 3 of 4 succeed, 3 of 4 good
    assert (summary.success, summary.quality) == (0.75, 0.75)
    assert summary.previous is None
    later = await reports.build_school_summary(
        session, world.school.school_id, When.period(2), today=TODAY
    )
    assert later.previous is not None
    assert later.previous.period_id == world.q1_id
    assert (later.previous_success, later.previous_quality) == (0.75, 0.75)
    assert [(c.previous_success, c.previous_quality) for c in later.classes] == [
        (1.0, 1.0),
        (0.5, 0.5),
    ]


async def test_grade_coverage(session: AsyncSession, world: World) -> None:
    math = await session.scalar(
        select(TeachingAssignment).where(TeachingAssignment.class_id == world.school.class_7b)
    )
    assert math is not None
    lesson = Lesson(
        assignment_id=math.id,
        class_id=math.class_id,
        subject_id=math.subject_id,
        date=world.day(6),
        lesson_number=1,
        starts_at=time(8),
        ends_at=time(8, 45),
    )
    session.add(lesson)
    await session.flush()
    session.add(  # a deleted grade leaves the lesson without any
        Grade(
            student_id=world.petr,
            lesson_id=lesson.id,
            assignment_id=math.id,
            subject_id=math.subject_id,
            date=world.day(6),
            value="5",
            score=5.0,
            weight=1.0,
            kind=GradeKind.ORAL,
            deleted_at=clock.now(),
        )
    )
    await session.commit()
    report = await reports.build_coverage(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )
    assert [s.subject for s in report.subjects] == ["Информатика", "Математика", "Физкультура"]
    assert {row.name: row.counts for row in report.rows} == {
        "Пётр Иванов": (1, 4, 2),  # the held grade counts for staff
        "Мария <Смирнова>": (0, 2, 1),
    }
    assert report.lessons == (1, 5, 2)  # the cancelled lesson is not held
    assert report.ungraded_lessons == (0, 1, 0)


async def test_progress_of_a_student(session: AsyncSession, world: World) -> None:
    report = await reports.build_progress(session, world.petr, When.period(1), today=TODAY)
    assert report.weeks[0] == world.q1_start - timedelta(days=world.q1_start.weekday())
    assert all(
        b - a == timedelta(days=7) for a, b in zip(report.weeks, report.weeks[1:], strict=False)
    )
    series = {s.subject: s for s in report.series}
    assert list(series) == ["Информатика", "Математика", "Физкультура"]
    math = series["Математика"]
    assert math.count == 3  # the held grade is not the family's yet
    week = report.weeks.index(world.day(3) - timedelta(days=world.day(3).weekday()))
    assert math.averages[week] == pytest.approx(3.75)
    assert math.averages[-1] == pytest.approx(3.75)
    assert all(a is None for a in series["Информатика"].averages[:week])
    assert series["Информатика"].averages[week] == 80.0


async def test_attendance_by_week_adds_up(session: AsyncSession, world: World) -> None:
    report = await reports.build_attendance(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )
    assert sum(w.lessons for w in report.weeks) == report.total.lessons == 11
    assert sum(w.missed for w in report.weeks) == report.total.missed == 4


async def test_who_may_have_which_report(session: AsyncSession, world: World) -> None:
    school = world.school
    actors = {tid: await load_actor(session, tid) for tid in (f.TEACHER, f.HEAD, f.TRUSTED)}
    actors |= {tid: await load_actor(session, tid) for tid in (f.PARENT, f.OTHER_PARENT)}
    kinds = reports.ReportKind
    teacher, head, trusted = actors[f.TEACHER], actors[f.HEAD], actors[f.TRUSTED]
    assert await may_have(session, teacher, kinds.CLASS, school.class_7b)  # teaches 7B math
    assert not await may_have(session, teacher, kinds.CLASS, school.class_5a)
    assert not await may_have(session, teacher, kinds.SCHOOL, school.school_id)
    assert await may_have(session, head, kinds.SCHOOL, school.school_id)
    assert await may_have(session, head, kinds.RISK, school.class_5a)
    # a trusted person with the grades scope gets the card, without attendance (no scope)
    assert await may_have(session, trusted, kinds.CARD, world.petr)
    assert not await card_attendance(session, trusted, world.petr)
    assert await card_attendance(session, actors[f.PARENT], world.petr)
    assert not await may_have(session, actors[f.OTHER_PARENT], kinds.CARD, world.petr)
    with pytest.raises(DomainError):
        await require_report(session, teacher, kinds.ATTENDANCE, school.class_5a)
    card = await reports.build_report_card(
        session, world.petr, When.period(1), today=TODAY, attendance=False
    )
    assert card.attendance is None
    text = reports.render(card, "text", lambda m: m).decode()
    assert "Lessons" not in text
    assert "Математика" in text


async def test_unknown_class_or_period_is_refused(session: AsyncSession, world: World) -> None:
    with pytest.raises(reports.ReportNotFound):
        await reports.build_class_summary(session, 10**6, When(), today=TODAY)
    with pytest.raises(reports.ReportNotFound):
        await reports.build_class_summary(
            session, world.school.class_7b, When.period(9), today=TODAY
        )


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _count_all(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], world: World
) -> list[int]:
    counts = []
    when = When(period_id=world.q1_id)
    for build, target in [
        (reports.build_class_summary, world.school.class_7b),
        (reports.build_attendance, world.school.class_7b),
        (reports.build_risk, world.school.class_7b),
        (reports.build_report_card, world.petr),
        (reports.build_school_summary, world.school.school_id),
        (reports.build_coverage, world.school.class_7b),
        (reports.build_progress, world.petr),
    ]:
        async with session_factory() as session:
            with _statements(engine) as seen:
                await build(session, target, when, today=TODAY)  # type: ignore[operator]
            counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
    return counts


async def test_a_fixed_number_of_statements_whatever_the_size(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    small = await _count_all(engine, session_factory, world)
    await add_students(session_factory, world, 12)
    large = await _count_all(engine, session_factory, world)
    assert small == large
    assert max(large) <= 9
