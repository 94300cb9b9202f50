"""A OneRoster gradebook into the journal (both databases): grades and their lessons made,
re-importing changes nothing, an edited score is a change, a wrong value stops everything,
a grade deleted in the journal stays deleted, and Parta's own export re-imports unchanged."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import GradeKind
from db.models import (
    AcademicYear,
    Grade,
    Guardian,
    Lesson,
    OutboxMessage,
    Period,
    SchoolClass,
    Staff,
    Student,
    TeachingAssignment,
)
from services.core.errors import DomainError
from services.roster.apply import apply_import
from services.roster.model import Problem, SchoolData, Where
from services.roster.oneroster import read_oneroster, write_oneroster
from services.roster.oneroster_gradebook import load_gradebook
from services.roster.plan import ChangeAction, plan_import
from services.roster.snapshot import snapshot

VALID = Path(__file__).parent / "samples" / "oneroster" / "valid"


def sample() -> SchoolData:
    read = read_oneroster(VALID)
    assert read.problems == ()
    assert read.data is not None
    return read.data


def day_of(data: SchoolData):  # type: ignore[no-untyped-def]
    assert data.year is not None
    return data.year.starts_on  # the sample's own year, whatever today is


async def grades_by_source(session: AsyncSession) -> dict[Any, tuple[Any, ...]]:
    rows = await session.execute(
        select(Grade.source_id, Student.source_id, Grade.value, Grade.kind, Lesson.topic)
        .join(Student, Student.id == Grade.student_id)
        .join(Lesson, Lesson.id == Grade.lesson_id)
        .where(Grade.deleted_at.is_(None))
    )
    return {sid: (student, value, kind, topic) for sid, student, value, kind, topic in rows}


async def test_results_become_grades_on_lessons_made_for_them(session: AsyncSession) -> None:
    data = sample()
    plan = await apply_import(session, data, today=day_of(data), actor_account_id=None)
    assert plan.counts()["grades", ChangeAction.ADDED] == 3
    assert await grades_by_source(session) == {
        "res-1": ("s-1", "5", GradeKind.ORAL, "Дроби"),
        "res-2": ("s-1", "4", GradeKind.TEST, "Контрольная № 1"),
        "res-3": ("s-3", "3", GradeKind.TEST, "Контрольная № 1"),
    }
    # one lesson per line item (the sample has no timetable), keyed by the line item
    lessons = (await session.execute(select(Lesson.source_id, Lesson.date))).all()
    assert sorted((key, str(day)) for key, day in lessons) == [
        ("li-1", "2026-09-15"),
        ("li-2", "2026-10-20"),
    ]
    # history is not news: nothing is announced to families
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    again = await plan_import(session, data, today=day_of(data))
    assert again.is_noop


async def test_an_edited_score_is_a_change_and_a_deleted_grade_stays_deleted(
    session: AsyncSession,
) -> None:
    data = sample()
    await apply_import(session, data, today=day_of(data), actor_account_id=None)
    await session.execute(
        update(Grade).where(Grade.source_id == "res-1").values(deleted_at=utcnow())
    )
    await session.commit()
    edited = dataclasses.replace(
        data,
        grades=tuple(
            dataclasses.replace(g, value="5", comment="Исправлено") if g.source_id == "res-3" else g
            for g in data.grades
        ),
    )
    plan = await plan_import(session, edited, today=day_of(data))
    assert [(c.kind, c.source_id, c.action) for c in plan.changes] == [
        ("grades", "res-3", ChangeAction.CHANGED)
    ]
    assert dict(plan.changes[0].details) == {"grade": "3 → 5", "comment": "— → Исправлено"}
    await apply_import(session, edited, today=day_of(data), actor_account_id=None)
    found = await grades_by_source(session)
    assert found["res-3"][1] == "5"
    assert "res-1" not in found  # the teacher's deletion is kept
    assert await session.scalar(select(func.count()).select_from(Lesson)) == 2


async def test_a_grade_off_its_scale_stops_the_whole_import(
    session: AsyncSession, tmp_path: Path
) -> None:
    folder = tmp_path / "package"
    shutil.copytree(VALID, folder)
    results = folder / "results.csv"
    results.write_text(
        results.read_text(encoding="utf-8").replace(
            "res-3,active,2026-10-20T12:00:00.000Z,li-2,s-3,fully graded,3,3,",
            "res-3,active,2026-10-20T12:00:00.000Z,li-2,s-3,fully graded,7,7,",
        ),
        encoding="utf-8",
    )
    read = read_oneroster(folder)
    assert read.data is not None
    plan = await plan_import(session, read.data, today=day_of(read.data))
    assert plan.problems == (
        Problem(
            Where("results.csv", 4, "textScore"),
            "roster.bad_grade_value",
            (("value", "7"), ("scale", "five")),
        ),
    )
    with pytest.raises(DomainError) as raised:
        await apply_import(session, read.data, today=day_of(read.data), actor_account_id=None)
    assert raised.value.key == "roster.invalid"
    assert await session.scalar(select(func.count()).select_from(Grade)) == 0
    assert await session.scalar(select(func.count()).select_from(Student)) == 0


async def test_partas_own_export_reimports_unchanged(session: AsyncSession, tmp_path: Path) -> None:
    """Rows made here are ``#<id>``; in OneRoster's shared files (users, sessions, classes)
    they are tagged by kind, so a school's export is valid and finds every row and grade
    again. Without the tags staff member 1 and student 1 are both ``#1`` in users.csv."""
    data = sample()
    await apply_import(session, data, today=day_of(data), actor_account_id=None)
    # a grade given here has no source id: the export names it #<id>
    lesson = (await session.scalars(select(Lesson).order_by(Lesson.id))).first()
    assert lesson is not None
    student = await session.scalar(select(Student).where(Student.source_id == "s-3"))
    assert student is not None
    own = Grade(
        student_id=student.id, lesson_id=lesson.id, assignment_id=lesson.assignment_id,
        subject_id=lesson.subject_id, date=lesson.date, value="4", score=4.0,
        kind=GradeKind.ORAL,
    )  # fmt: skip
    session.add(own)
    # the roster as if made here (like the demo school): student 1 and staff member 1 are
    # both #1, the year and period 1 too, class 1 and teaching assignment 1 too
    for model in (Student, Staff, Guardian, SchoolClass, TeachingAssignment, Period, AcademicYear):
        await session.execute(update(model).values(source_id=None))
    await session.commit()
    out = tmp_path / "export.zip"
    write_oneroster(
        out,
        await snapshot(session, today=day_of(data)),
        await load_gradebook(session),
        modified=utcnow(),
    )
    read = read_oneroster(out)
    assert read.problems == ()
    assert read.data is not None
    assert f"#{own.id}" in {g.source_id for g in read.data.grades}
    plan = await plan_import(session, read.data, today=day_of(data))
    assert plan.problems == ()
    assert plan.is_noop, plan.changes


async def test_a_scale_with_grades_keeps_its_shape(session: AsyncSession) -> None:
    """Grades were given on the five-point scale of 7Б mathematics: the file may neither
    widen that scale nor move the assignment to another one; an assignment without grades
    may change scale."""
    data = sample()
    await apply_import(session, data, today=day_of(data), actor_account_id=None)
    wider = tuple(
        dataclasses.replace(s, max_score=10.0) if s.source_id == "five" else s for s in data.scales
    )
    moved = tuple(
        dataclasses.replace(a, scale_id="pass_fail") if a.source_id == "cls-7b-math" else a
        for a in data.assignments
    )
    free = tuple(
        dataclasses.replace(a, scale_id="five") if a.source_id == "cls-7b-rus" else a
        for a in data.assignments
    )
    day = day_of(data)
    plan = await plan_import(session, dataclasses.replace(data, scales=wider), today=day)
    assert [(p.where.sheet, p.key) for p in plan.problems] == [
        ("scoreScales.csv", "roster.scale_in_use")
    ]
    plan = await plan_import(session, dataclasses.replace(data, assignments=moved), today=day)
    in_use = [p for p in plan.problems if p.key == "roster.scale_in_use"]
    assert [(p.where.sheet, p.where.column) for p in in_use] == [("classes.csv", "scale_id")]
    # the file's own grades no longer fit either
    assert {p.key for p in plan.problems} == {"roster.scale_in_use", "roster.bad_grade_value"}
    plan = await plan_import(session, dataclasses.replace(data, assignments=free), today=day)
    assert plan.problems == ()
    assert [(c.kind, c.source_id) for c in plan.changes] == [("assignments", "cls-7b-rus")]
