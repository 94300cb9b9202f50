"""Roster import against the database: plan, apply, re-apply, edit, leavers, lessons, refusals.

Every test runs on SQLite and PostgreSQL (the `session` fixture) and takes "today" from the one
clock, so it holds on any date (tests/clock.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.base import Base, utcnow
from db.enums import (
    AttendanceStatus,
    CodeKind,
    GradeKind,
    LinkMethod,
    SlotFrequency,
)
from db.migrate import downgrade_sync, upgrade_sync
from db.models import (
    AccessCode,
    Account,
    Attendance,
    AuditEntry,
    Enrollment,
    Grade,
    Guardian,
    Guardianship,
    Lesson,
    OutboxMessage,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TimetableSlot,
    TrustedAccess,
)
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.timetable import slot_applies
from services.roster import Change, ChangeAction, apply_import, plan_import, snapshot
from services.roster.model import HolidayRow, Problem, SchoolData, SlotRow
from services.roster.summary import summarize
from tests import clock
from tests.conftest import clear_tables
from tests.roster_factory import school_data, without_origins

ROOT = Path(__file__).resolve().parent.parent
ADDED, CHANGED, MOVED, LEFT = (
    ChangeAction.ADDED,
    ChangeAction.CHANGED,
    ChangeAction.MOVED,
    ChangeAction.LEFT,
)


def today() -> date:
    return clock.school_today()


async def _apply(session: AsyncSession, data: SchoolData, day: date | None = None) -> Any:
    return await apply_import(session, data, today=day or today(), actor_account_id=None)


async def _table_contents(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the comparison that shows nothing was written)."""
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = await session.execute(select(table).order_by(*table.primary_key.columns))
        out[table.name] = [tuple(r) for r in rows]
    return out


def _replace(rows: tuple[Any, ...], source_id: str, **changes: Any) -> tuple[Any, ...]:
    return tuple(dataclasses.replace(r, **changes) if r.source_id == source_id else r for r in rows)


# --- an empty database ------------------------------------------------------------------------


async def test_first_import_creates_the_school(session: AsyncSession) -> None:
    data = school_data(today())
    plan = await _apply(session, data)
    assert plan.problems == ()
    counts = plan.counts()
    assert counts[("school", ADDED)] == 1
    assert counts[("year", ADDED)] == 1
    for kind in (
        "periods",
        "holidays",
        "bells",
        "scales",
        "subjects",
        "staff",
        "classes",
        "students",
        "guardians",
        "assignments",
        "timetable",
    ):
        assert counts[(kind, ADDED)] == len(getattr(data, kind)), kind
    assert {action for _kind, action in counts} == {ADDED}

    enrolled = (await session.execute(select(Enrollment.enrolled_on, Enrollment.left_on))).all()
    assert enrolled == [(data.year.starts_on, None)] * len(data.students)  # type: ignore[union-attr]
    links = await session.scalar(select(func.count()).select_from(sa.table("student_guardians")))
    assert links == sum(len(g.student_ids) for g in data.guardians)
    roles = await session.scalar(select(func.count()).select_from(sa.table("staff_roles")))
    assert roles == sum(len(s.roles) for s in data.staff)

    entry = (await session.scalars(select(AuditEntry))).one()
    assert entry.action == AuditAction.ROSTER_IMPORT
    assert entry.new is not None
    assert entry.new["students.added"] == len(data.students)
    assert entry.new["lessons.created"] == await session.scalar(select(func.count(Lesson.id)))


async def test_lessons_follow_the_one_timetable_rule(session: AsyncSession) -> None:
    """Lessons on every school day of the year, holidays skipped, odd/even by the core rule."""
    data = school_data(today())
    await _apply(session, data)
    assert data.year is not None
    holiday = data.holidays[0]
    expected: set[tuple[str, date, int]] = set()
    day = data.year.starts_on
    while day <= data.year.ends_on:
        if not holiday.starts_on <= day <= holiday.ends_on:
            for t in data.timetable:
                if slot_applies(
                    t.frequency, t.weekday, data.year.starts_on, None, day, data.year.starts_on
                ):
                    expected.add((t.source_id, day, t.lesson_number))
        day += timedelta(days=1)
    rows = await session.execute(
        select(TimetableSlot.source_id, Lesson.date, Lesson.lesson_number).join(
            TimetableSlot, TimetableSlot.id == Lesson.slot_id
        )
    )
    assert {tuple(r) for r in rows} == expected
    odd_even = [t for t in data.timetable if t.frequency is not SlotFrequency.WEEKLY]
    assert len(odd_even) == 4  # the pair exists in each class, and the rule split them


async def test_reapplying_the_same_file_changes_nothing(session: AsyncSession) -> None:
    data = school_data(today())
    assert data.year is not None
    summer = data.year.ends_on + timedelta(days=1)
    outside = HolidayRow("summer", "Лето", summer, summer + timedelta(days=60))
    data.holidays = (*data.holidays, outside)  # outside the year: matched all the same
    await _apply(session, data)
    before = await _table_contents(session)
    plan = await plan_import(session, data, today=today())
    assert plan.is_noop
    assert plan.changes == ()
    assert plan.problems == ()
    assert (await _apply(session, data)).is_noop
    assert await _table_contents(session) == before


async def test_snapshot_round_trip(session: AsyncSession) -> None:
    data = school_data(today())
    await _apply(session, data)
    assert without_origins(await snapshot(session, today=today())) == without_origins(data)


async def test_rows_made_here_are_named_by_their_id(session: AsyncSession) -> None:
    """A row without a source id (the demo school) exports as ``#<id>`` and re-imports onto
    itself; a file naming it by a new id is told to use that one."""
    data = school_data(today())
    await _apply(session, data)
    await session.execute(update(Subject).values(source_id=None))
    await session.commit()
    exported = await snapshot(session, today=today())
    assert all(s.source_id.startswith("#") for s in exported.subjects)
    assert (await plan_import(session, exported, today=today())).is_noop

    plan = await plan_import(session, data, today=today())  # the old ids are unknown now
    assert {p.key for p in plan.problems} == {"roster.taken"}
    assert len(plan.problems) == len(data.subjects)
    forged = dataclasses.replace(
        exported,
        subjects=(
            *exported.subjects[:-1],
            dataclasses.replace(exported.subjects[-1], source_id="#999999"),
        ),
    )
    keys = {p.key for p in (await plan_import(session, forged, today=today())).problems}
    assert "roster.unknown_local_id" in keys


# --- an edited file ----------------------------------------------------------------------------


async def _past_and_future(session: AsyncSession, slot_sid: str) -> tuple[Lesson, Lesson]:
    """The last lesson of the slot before today and its first after today."""
    day = today()
    lessons = (
        await session.scalars(
            select(Lesson)
            .join(TimetableSlot, TimetableSlot.id == Lesson.slot_id)
            .where(TimetableSlot.source_id == slot_sid)
            .order_by(Lesson.date)
        )
    ).all()
    past = [lesson for lesson in lessons if lesson.date < day][-1]
    future = next(lesson for lesson in lessons if lesson.date > day)
    return past, future


async def _plant_links(session: AsyncSession, student_sid: str) -> dict[str, int]:
    """A linked guardian with a trusted person, and an unused code, for one student."""
    student = (await session.scalars(select(Student).where(Student.source_id == student_sid))).one()
    guardian_id = await session.scalar(
        select(sa.column("guardian_id"))
        .select_from(
            sa.table("student_guardians", sa.column("guardian_id"), sa.column("student_id"))
        )
        .where(sa.column("student_id") == student.id)
        .limit(1)
    )
    parent = Account(telegram_id=70001, full_name="Родитель")
    trusted = Account(telegram_id=70002, full_name="Бабушка")
    session.add_all([parent, trusted])
    await session.flush()
    link = Guardianship(
        student_id=student.id,
        account_id=parent.id,
        guardian_id=guardian_id,
        method=LinkMethod.ADMIN,
    )
    grant = TrustedAccess(
        student_id=student.id,
        granted_by_id=parent.id,
        account_id=trusted.id,
        label="Бабушка",
        scopes=15,
        accepted_at=utcnow(),
    )
    code = AccessCode(
        school_id=student.school_id,
        code_hash="h" * 64,
        key_id="k",
        kind=CodeKind.STUDENT,
        student_id=student.id,
        expires_at=utcnow() + timedelta(days=30),
    )
    session.add_all([link, grant, code])
    await session.commit()
    return {
        "link": link.id,
        "grant": grant.id,
        "code": code.id,
        "student": student.id,
        "parent": parent.id,
        "trusted": trusted.id,
    }


def _edited(data: SchoolData) -> tuple[SchoolData, dict[str, str]]:
    """Rename one student, move another, drop a third, change a guardian's phone and move one
    slot to another lesson number."""
    s = data.students
    renamed, moved, gone = s[0].source_id, s[1].source_id, s[2].source_id
    other_class = data.classes[1].source_id
    slot = next(
        t
        for t in data.timetable
        if t.frequency is SlotFrequency.WEEKLY and t.class_id == data.classes[0].source_id
    )
    students = _replace(s, renamed, full_name="Ученик0 Новиков")
    students = _replace(students, moved, class_id=other_class)
    students = tuple(x for x in students if x.source_id != gone)
    guardians = tuple(
        dataclasses.replace(g, student_ids=tuple(i for i in g.student_ids if i != gone))
        for g in data.guardians
        if g.student_ids != (gone,)
    )
    guardian = next(g for g in guardians if g.source_id == "g00001" or renamed in g.student_ids)
    guardians = _replace(guardians, guardian.source_id, phone="+79990001122")
    timetable = _replace(data.timetable, slot.source_id, lesson_number=4)
    edited = dataclasses.replace(data, students=students, guardians=guardians, timetable=timetable)
    ids = {
        "renamed": renamed,
        "moved": moved,
        "gone": gone,
        "slot": slot.source_id,
        "guardian": guardian.source_id,
        "gone_guardian": f"g{gone[1:]}",
    }
    return edited, ids


async def test_an_edited_file_yields_the_exact_diff_and_applies(session: AsyncSession) -> None:
    day = today()
    data = school_data(day)
    await _apply(session, data)
    edited, ids = _edited(data)
    slot_before = next(t for t in data.timetable if t.source_id == ids["slot"])
    past, future = await _past_and_future(session, ids["slot"])
    planted = await _plant_links(session, ids["gone"])
    # a past lesson with a grade and attendance, and a future one with homework-free grades
    author = await session.scalar(select(Staff.id).limit(1))
    assignment = past.assignment_id
    student_id = planted["student"]
    grade = Grade(
        student_id=student_id,
        lesson_id=past.id,
        assignment_id=assignment,
        subject_id=past.subject_id,
        date=past.date,
        value="5",
        score=5,
        kind=GradeKind.ORAL,
        author_id=author,
    )
    mark = Attendance(lesson_id=future.id, student_id=student_id, status=AttendanceStatus.ABSENT)
    session.add_all([grade, mark])
    await session.commit()
    past_row = (past.id, past.date, past.lesson_number)
    lessons_before = await session.scalar(select(func.count(Lesson.id)))

    plan = await plan_import(session, edited, today=day)
    assert plan.problems == ()
    got = {(c.kind, c.source_id, c.action): c.details for c in plan.changes}
    class_a, class_b = data.classes[0].name, data.classes[1].name
    assert got == {
        ("students", ids["renamed"], CHANGED): (("name", "Ученик0 Тестов → Ученик0 Новиков"),),
        ("students", ids["moved"], MOVED): (("class", f"{class_a} → {class_b}"),),
        ("students", ids["gone"], LEFT): (),
        ("guardians", ids["gone_guardian"], LEFT): (),
        ("guardians", ids["guardian"], CHANGED): _guardian_details(data, edited, ids["guardian"]),
        ("timetable", ids["slot"], CHANGED): (("lesson", f"{slot_before.lesson_number} → 4"),),
    }
    text = summarize(plan, lambda m: m)
    assert "Students: changed: 1, moved to another class: 1, left: 1" in text

    await _apply(session, edited)
    session.expunge_all()  # read what the database holds, not the objects loaded above
    # the move: old stay ends today, the new one starts today
    moved_id = await session.scalar(select(Student.id).where(Student.source_id == ids["moved"]))
    stays = (
        await session.execute(
            select(SchoolClass.name, Enrollment.enrolled_on, Enrollment.left_on)
            .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
            .where(Enrollment.student_id == moved_id)
            .order_by(Enrollment.id)
        )
    ).all()
    assert [tuple(s) for s in stays] == [
        (class_a, data.year.starts_on, day),  # type: ignore[union-attr]
        (class_b, day, None),
    ]
    # the leaver: stay closed, links revoked, unused code revoked, history kept
    left = (
        await session.scalars(select(Enrollment).where(Enrollment.student_id == student_id))
    ).one()
    assert left.left_on == day
    assert (await session.get(Guardianship, planted["link"])).revoked_at is not None  # type: ignore[union-attr]
    assert (await session.get(TrustedAccess, planted["grant"])).revoked_at is not None  # type: ignore[union-attr]
    assert (await session.get(AccessCode, planted["code"])).revoked_at is not None  # type: ignore[union-attr]
    assert await session.get(Student, student_id) is not None
    told = (await session.execute(select(OutboxMessage.account_id, OutboxMessage.event))).all()
    assert sorted(tuple(t) for t in told) == [
        (planted["parent"], "access_revoked"),
        (planted["trusted"], "access_revoked"),
    ]
    gone_guardian = (
        await session.scalars(select(Guardian).where(Guardian.source_id == ids["gone_guardian"]))
    ).one()
    assert gone_guardian.left_on == day
    phone = await session.scalar(
        select(Guardian.phone).where(Guardian.source_id == ids["guardian"])
    )
    assert phone == "+79990001122"
    # lessons: the past one and its grade untouched; the future one with attendance kept;
    # future lessons of the slot regenerated at lesson 4
    kept = await session.get(Lesson, past.id)
    assert kept is not None
    assert (kept.id, kept.date, kept.lesson_number) == past_row
    assert (await session.get(Grade, grade.id)) is not None
    assert (await session.get(Lesson, future.id)) is not None
    slot_lessons = (
        await session.execute(
            select(Lesson.date, Lesson.lesson_number)
            .join(TimetableSlot, TimetableSlot.id == Lesson.slot_id)
            .where(TimetableSlot.source_id == ids["slot"])
        )
    ).all()
    numbers_after = {n for d, n in slot_lessons if d > day and d != future.date}
    numbers_before = {n for d, n in slot_lessons if d < day}
    assert numbers_after == {4}
    assert numbers_before == {slot_before.lesson_number}
    assert await session.scalar(select(func.count(Lesson.id))) >= lessons_before - 1
    # and the database now matches the file
    assert without_origins(await snapshot(session, today=day)) == without_origins(edited)
    assert (await plan_import(session, edited, today=day)).is_noop


def _guardian_details(
    data: SchoolData, edited: SchoolData, sid: str
) -> tuple[tuple[str, str], ...]:
    before = next(g for g in data.guardians if g.source_id == sid)
    after = next(g for g in edited.guardians if g.source_id == sid)
    out = []
    if before.student_ids != after.student_ids:
        names = {s.source_id: s.full_name for s in (*data.students, *edited.students)}
        show = lambda ids: ", ".join(names[i] for i in ids) or "—"  # noqa: E731
        out.append(("children", f"{show(before.student_ids)} → {show(after.student_ids)}"))
    out.append(("phone", f"{before.phone} → {after.phone}"))
    return tuple(out)


async def test_a_returning_student_and_a_dropped_slot(session: AsyncSession) -> None:
    day = today()
    data = school_data(day)
    await _apply(session, data)
    gone = data.students[-1]
    slot = data.timetable[-1]
    without = dataclasses.replace(
        data,
        students=data.students[:-1],
        guardians=tuple(g for g in data.guardians if gone.source_id not in g.student_ids),
        timetable=data.timetable[:-1],
    )
    plan = await _apply(session, without)
    assert ("timetable", slot.source_id, LEFT) in {
        (c.kind, c.source_id, c.action) for c in plan.changes
    }
    valid_to = await session.scalar(
        select(TimetableSlot.valid_to).where(TimetableSlot.source_id == slot.source_id)
    )
    assert valid_to == day
    future = await session.scalar(
        select(func.count(Lesson.id))
        .join(TimetableSlot, TimetableSlot.id == Lesson.slot_id)
        .where(TimetableSlot.source_id == slot.source_id, Lesson.date > day)
    )
    assert future == 0
    back = await _apply(session, data)  # the same student and slot again, on their old rows
    assert {(c.kind, c.source_id, c.action) for c in back.changes} == {
        ("students", gone.source_id, ADDED),
        ("timetable", slot.source_id, ADDED),
        *(
            ("guardians", g.source_id, ADDED)
            for g in data.guardians
            if g.student_ids == (gone.source_id,)
        ),
        *(
            ("guardians", g.source_id, CHANGED)
            for g in data.guardians
            if gone.source_id in g.student_ids and len(g.student_ids) > 1
        ),
    }
    assert await session.scalar(select(func.count(Student.id))) == len(data.students)
    assert await session.scalar(select(func.count(TimetableSlot.id))) == len(data.timetable)
    assert without_origins(await snapshot(session, today=day)) == without_origins(data)


async def test_staff_who_leave_lose_their_account_link(session: AsyncSession) -> None:
    data = school_data(today())
    await _apply(session, data)
    account = Account(telegram_id=80001, full_name="Админ")
    session.add(account)
    await session.flush()
    await session.execute(
        update(Staff).where(Staff.source_id == "admin").values(account_id=account.id)
    )
    await session.commit()
    edited = dataclasses.replace(data, staff=tuple(s for s in data.staff if s.source_id != "admin"))
    plan = await _apply(session, edited)
    assert [(c.kind, c.source_id, c.action) for c in plan.changes] == [("staff", "admin", LEFT)]
    admin = (await session.scalars(select(Staff).where(Staff.source_id == "admin"))).one()
    assert admin.left_on == today()
    assert admin.account_id is None


# --- refusals ---------------------------------------------------------------------------------


def _broken(data: SchoolData) -> dict[str, SchoolData]:
    t = data.timetable[0]
    clash = dataclasses.replace(
        t,
        source_id="clash",
        subject_id=data.subjects[2].source_id,
        teacher_id=f"t-{data.subjects[2].source_id[5:]}",
        frequency=SlotFrequency.WEEKLY,
    )
    admin_teaches = dataclasses.replace(data.classes[0], class_teacher_id="admin")
    assert data.year is not None
    return {
        "roster.no_bell": dataclasses.replace(
            data,
            timetable=(*data.timetable, dataclasses.replace(t, source_id="x", lesson_number=9)),
        ),
        "roster.clash": dataclasses.replace(data, timetable=(*data.timetable, clash)),
        "roster.not_teacher": dataclasses.replace(data, classes=(admin_teaches, *data.classes[1:])),
        "roster.outside_year": dataclasses.replace(
            data,
            periods=(
                dataclasses.replace(
                    data.periods[0], starts_on=data.year.starts_on - timedelta(days=1)
                ),
                data.periods[1],
            ),
        ),
        "roster.unknown_ref": dataclasses.replace(
            data,
            students=(
                dataclasses.replace(data.students[0], class_id="nowhere"),
                *data.students[1:],
            ),
        ),
        "roster.not_assigned": dataclasses.replace(
            data,
            timetable=(
                *data.timetable,
                SlotRow("y", 6, 1, data.classes[0].source_id, data.subjects[0].source_id, "head"),
            ),
        ),
        "roster.taken": dataclasses.replace(
            data, subjects=(*data.subjects, dataclasses.replace(data.subjects[0], source_id="dup"))
        ),
    }


@pytest.mark.parametrize(
    "key",
    [
        "roster.no_bell",
        "roster.clash",
        "roster.not_teacher",
        "roster.outside_year",
        "roster.unknown_ref",
        "roster.not_assigned",
        "roster.taken",
    ],
)
async def test_invalid_data_writes_nothing(session: AsyncSession, key: str) -> None:
    day = today()
    data = school_data(day)
    broken = _broken(data)[key]
    for state in ("empty", "applied"):
        if state == "applied":
            await _apply(session, data)
        before = await _table_contents(session)
        plan = await plan_import(session, broken, today=day)
        assert key in {p.key for p in plan.problems}, (state, plan.problems)
        with pytest.raises(DomainError) as refused:
            await _apply(session, broken)
        assert refused.value.key == "roster.invalid"
        assert await _table_contents(session) == before


async def test_a_split_class_is_not_a_clash(session: AsyncSession) -> None:
    """Two groups of one subject with two teachers at once (English in halves)."""
    data = school_data(today())
    t = next(x for x in data.timetable if x.frequency is SlotFrequency.WEEKLY)
    a = next(
        x for x in data.assignments if x.class_id == t.class_id and x.subject_id == t.subject_id
    )
    second = dataclasses.replace(a, source_id="a-group2", teacher_id="head")
    group = dataclasses.replace(t, source_id="group2", teacher_id="head")
    split = dataclasses.replace(
        data, assignments=(*data.assignments, second), timetable=(*data.timetable, group)
    )
    assert (await plan_import(session, split, today=today())).problems == ()


def test_summary_lists_problems_and_changes() -> None:
    from services.roster.model import Where
    from services.roster.plan import ImportPlan

    problem = Problem(Where("timetable", 7, "lesson_number"), "roster.no_bell", (("number", "9"),))
    text = summarize(ImportPlan((problem,), ()), lambda m: m)
    assert "timetable, line 7, column lesson_number: no bell times for lesson 9" in text
    changes = tuple(Change("students", f"s{i}", ADDED, f"S{i}") for i in range(7))
    text = summarize(ImportPlan((), changes), lambda m: m, first=5)
    assert "Students: added: 7" in text
    assert "+ S4" in text
    assert "+ S5" not in text
    assert "… and 2 more" in text
    assert summarize(ImportPlan((), ()), lambda m: m).startswith("Nothing to change")


# --- the migration ----------------------------------------------------------------------------


async def test_migration_008_down_and_up(db_url: str, engine: AsyncEngine) -> None:
    await engine.dispose()
    await asyncio.to_thread(downgrade_sync, db_url, "007")
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("students")}
        )
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert "source_id" not in columns
    assert "bells" not in tables
    await engine.dispose()
    await asyncio.to_thread(upgrade_sync, db_url, "head")
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("students")}
        )
    assert "source_id" in columns


def test_summary_in_russian() -> None:
    from bot.i18n import create_i18n
    from services.roster.model import Where
    from services.roster.plan import ImportPlan

    i18n = create_i18n("ru")
    moved = Change("students", "s1", MOVED, "Маша (7Б)", (("class", "7А → 7Б"),))
    problem = Problem(Where("Расписание", 7, "урок"), "roster.no_bell", (("number", "9"),))
    with i18n.context(), i18n.use_locale("ru"):
        changes = summarize(ImportPlan((), (moved,)), i18n.gettext)
        problems = summarize(ImportPlan((problem,), ()), i18n.gettext)
    assert "переведены в другой класс: 1" in changes
    assert "→ Маша (7Б) (класс: 7А → 7Б)" in changes
    assert "Расписание, строка 7, столбец урок: нет времени звонков для урока 9" in problems


async def test_the_dry_run_reads_a_fixed_number_of_statements(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    """Each table is read once whatever the size of the school (no query per row)."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    counts = []
    for classes in (2, 5):
        data = school_data(today(), classes=classes, students_per_class=4)
        await _apply(session, data)
        edited, _ids = _edited(data)
        sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            statements.clear()
            plan = await plan_import(session, edited, today=today())
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert plan.changes
        assert all(s.lstrip().upper().startswith("SELECT") for s in statements)
        counts.append(len(statements))
        await session.rollback()
        await clear_tables(engine)
    assert counts[0] == counts[1]


async def test_the_workbook_round_trip(session: AsyncSession, tmp_path: Path) -> None:
    """The sample workbook (Russian Excel, CSV in a zip) imports; the export of the school
    reads back into the same picture: re-importing it changes nothing."""
    from services.roster.workbook import read_school, write_workbook

    read = read_school(ROOT / "tests" / "samples" / "roster" / "school_ru_excel.zip")
    assert read.problems == ()
    assert read.data.year is not None
    day = read.data.year.starts_on  # the sample's own year, whatever today is
    await apply_import(session, read.data, today=day, actor_account_id=None)
    assert (await plan_import(session, read.data, today=day)).is_noop
    exported = tmp_path / "school.xlsx"
    write_workbook(exported, await snapshot(session, today=day), lambda m, locale=None: m)
    again = read_school(exported)
    assert again.problems == ()
    assert (await plan_import(session, again.data, today=day)).is_noop
