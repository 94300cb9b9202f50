"""Applying an import: the planned diff written in one transaction, or nothing at all.

`apply_import` plans again against the database as it is now (the dry run may be stale), and
refuses with ``roster.invalid`` while there is any problem. Otherwise it writes, kind by kind
in the order references point (`plan.KINDS`): new rows in bulk inserts, changed rows in bulk
updates by id, then the consequences (`services.roster.leavers` for who left,
`services.roster.lessons` for the timetable), one audit entry with the counts, one commit.

Dates it decides:

* a student joining a class that has no lessons yet (a first import, a new class) is enrolled
  from the year's first day; joining or moving later takes effect today (`enrolment`: the
  old stay's ``left_on`` is today, the new one's ``enrolled_on`` today); a leaver's stay ends
  today. A staff member or guardian who left gets ``left_on`` = today.
* a new slot is in force from the year's first day in a class without lessons, from tomorrow
  otherwise; a slot the file dropped ends today (``valid_to``); a changed slot is updated in
  place (lessons already held keep their own date, times and room).
* the imported year becomes the current one when it is new.

A gradebook's grades (`services.roster.grades`) are written last, on the lessons the
timetable made or on lessons made for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import Base, utcnow
from db.models import (
    AcademicYear,
    Bell,
    Enrollment,
    GradingScale,
    Guardian,
    Holiday,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TimetableSlot,
)
from services.core import audit
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.roster import grades, leavers, lessons, snapshot
from services.roster.model import BellRow, SchoolData
from services.roster.plan import KINDS, ChangeAction, ImportPlan, plan_with_state, rows_of

ADDED, CHANGED, MOVED, LEFT = (
    ChangeAction.ADDED,
    ChangeAction.CHANGED,
    ChangeAction.MOVED,
    ChangeAction.LEFT,
)
#: audit_log.entity of the import's entry
ROSTER = "roster"


async def apply_import(
    session: AsyncSession,
    data: SchoolData,
    *,
    today: date,
    actor_account_id: int | None,
    commit: bool = True,
    school_id: int | None = None,
) -> ImportPlan:
    """Plan `data` against the database and write it (module docstring); returns the plan
    applied. Raises ``DomainError("roster.invalid", problems=n)`` and writes nothing when the
    plan has problems; an unchanged file writes nothing (not even an audit entry).

    `commit=False` leaves the transaction to the caller (the demo school adds its journal in
    the same one): nothing is committed or rolled back here, the rows are only flushed.
    `school_id` names the school written (an admin's own); None: the first school, or a new
    one in an empty database (the console, the demo)."""
    plan, loaded = await plan_with_state(session, data, today=today, school_id=school_id)
    if plan.problems:
        raise DomainError("roster.invalid", problems=len(plan.problems))
    if plan.is_noop:
        return plan
    writer = _Writer(session, loaded, data, plan, today)
    try:
        await writer.run(actor_account_id)
        audit.record(
            session,
            audit.By(actor_account_id),
            AuditAction.ROSTER_IMPORT,
            audit.Target(ROSTER, writer.school_id),
            new=audit_counts(plan, writer.lessons),
        )
        if commit:
            await session.commit()
        else:
            await session.flush()
    except BaseException:
        if commit:
            await session.rollback()
        raise
    return plan


def audit_counts(plan: ImportPlan, regenerated: lessons.Regenerated) -> dict[str, int]:
    """``{"students.added": 3, …, "lessons.created": n, "lessons.deleted": m}``."""
    counts = {f"{kind}.{action}": n for (kind, action), n in sorted(plan.counts().items())}
    counts["lessons.created"] = regenerated.created
    counts["lessons.deleted"] = regenerated.deleted
    return counts


def _columns(row: Any, *, drop: tuple[str, ...] = (), **values: Any) -> dict[str, Any]:
    """A `model` row's fields as the values of the table's columns of the same name (the row
    types name their fields after the columns), but those in `drop`; `values` add columns the
    row lacks and replace the fields it stores otherwise (an id for a source id)."""
    own = {f.name: getattr(row, f.name) for f in fields(row) if f.name not in drop}
    return own | values


@dataclass
class _Split:
    """One kind's planned changes, by what the writer does with them."""

    insert: list[str] = field(default_factory=list)  # new rows
    update: list[str] = field(default_factory=list)  # changed, moved, or back on an old row
    back: list[str] = field(default_factory=list)  # added onto an old row (a returning leaver)
    left: list[str] = field(default_factory=list)


class _Writer:
    """Writes one plan; each step reads the ids earlier steps left in `ids`."""

    def __init__(
        self,
        session: AsyncSession,
        loaded: snapshot.Loaded,
        data: SchoolData,
        plan: ImportPlan,
        today: date,
    ) -> None:
        self.session = session
        self.loaded = loaded
        self.data = data
        self.today = today
        self.now: datetime = utcnow()
        self.ids = dict(loaded.ids)
        self.school_id = loaded.school_id or 0
        self.year_id = loaded.year_id or 0
        self.year = data.year or loaded.data.year
        self.fresh_classes: set[int] = set()
        self.touched_classes: set[int] = set()
        self.all_classes = False
        self.ending = leavers.Ending()
        self.lessons = lessons.Regenerated(0, 0)
        self.splits: dict[str, _Split] = {}
        for change in plan.changes:
            split = self.splits.setdefault(change.kind, _Split())
            if change.action is LEFT:
                split.left.append(change.source_id)
            elif change.action is ADDED and (change.kind, change.source_id) not in self.ids:
                split.insert.append(change.source_id)
            else:
                split.update.append(change.source_id)
                if change.action is ADDED:
                    split.back.append(change.source_id)
        self.rows = {kind: rows_of(data, kind) for kind in KINDS}

    def split(self, kind: str) -> _Split:
        return self.splits.get(kind, _Split())

    def id(self, kind: str, sid: str) -> int:
        return self.ids[kind, sid]

    def ref(self, kind: str, sid: str | None) -> int | None:
        return None if sid is None else self.ids[kind, sid]

    async def _insert(
        self, model: type[Base], kind: str, sids: list[str], values: list[dict[str, Any]]
    ) -> None:
        """Insert new rows and remember their ids. The ids are matched back by the rows' own
        key (`source_id`, a scale's `code`: unique in their scope), not by the order of
        RETURNING, so SQLite inserts them in one batch too (ordered RETURNING costs it one
        statement per row)."""
        if not values:
            return
        columns = model.__table__.c
        key = columns.source_id if "source_id" in columns else columns.code
        stmt = insert(model).returning(columns.id, key)
        new_ids = {k: i for i, k in (await self.session.execute(stmt, values)).all()}
        for sid, value in zip(sids, values, strict=True):
            self.ids[kind, sid] = new_ids[value[key.name]]

    async def _update(self, model: type[Base], values: list[dict[str, Any]]) -> None:
        if values:
            await self.session.execute(update(model), values)

    async def _write(
        self, model: type[Base], kind: str, values: Callable[[Any], dict[str, Any]]
    ) -> _Split:
        """Insert the kind's new rows and update its changed ones; `values(row)` gives the
        columns of a row."""
        split = self.split(kind)
        rows = self.rows[kind]
        await self._insert(model, kind, split.insert, [values(rows[s]) for s in split.insert])
        await self._update(
            model, [{"id": self.id(kind, s), **values(rows[s])} for s in split.update]
        )
        return split

    # -- the steps ------------------------------------------------------------------------

    async def run(self, actor: int | None) -> None:
        await self._school()
        await self._year()
        await self._calendar()
        await self._bells()
        await self._write(GradingScale, "scales", self._scale)
        await self._write(Subject, "subjects", self._subject)
        await self._staff()
        await self._classes()
        await self._students()
        await self._guardians()
        await self._write(TeachingAssignment, "assignments", self._assignment)
        await self._timetable()
        await leavers.end_links(self.session, self.ending, now=self.now, actor_account_id=actor)
        await self._lessons()
        await self._grades()

    async def _school(self) -> None:
        info = self.data.school
        values = {"name": info.name, "timezone": info.timezone, "phone_region": info.phone_region}
        if self.loaded.school_id is None:
            self.school_id = (
                await self.session.scalar(
                    insert(School).values(**values, created_at=self.now).returning(School.id)
                )
                or 0
            )
        elif info != self.loaded.data.school:
            await self.session.execute(
                update(School).where(School.id == self.school_id).values(**values)
            )

    async def _year(self) -> None:
        year = self.data.year
        if year is None:
            return
        values = {"name": year.name, "starts_on": year.starts_on, "ends_on": year.ends_on}
        if year.source_id not in self.loaded.years:
            await self.session.execute(
                update(AcademicYear)
                .where(AcademicYear.school_id == self.school_id)
                .values(is_current=False)
            )
            self.year_id = (
                await self.session.scalar(
                    insert(AcademicYear)
                    .values(
                        **values,
                        school_id=self.school_id,
                        is_current=True,
                        source_id=year.source_id,
                    )
                    .returning(AcademicYear.id)
                )
                or 0
            )
            self.all_classes = True
        elif year != self.loaded.years[year.source_id]:
            await self.session.execute(
                update(AcademicYear).where(AcademicYear.id == self.year_id).values(**values)
            )
            self.all_classes = True

    async def _calendar(self) -> None:
        await self._write(Period, "periods", lambda p: _columns(p, year_id=self.year_id))
        split = await self._write(
            Holiday, "holidays", lambda h: _columns(h, school_id=self.school_id)
        )
        if split.insert or split.update:
            self.all_classes = True

    def bells(self) -> dict[int, BellRow]:
        return {b.lesson_number: b for b in (self.data.bells or self.loaded.data.bells)}

    async def _bells(self) -> None:
        split = self.split("bells")
        rows = self.rows["bells"]
        if split.insert:
            await self.session.execute(
                insert(Bell),
                [_columns(rows[s], school_id=self.school_id) for s in split.insert],
            )
        for sid in split.update:
            bell = rows[sid]
            await self.session.execute(
                update(Bell)
                .where(Bell.school_id == self.school_id, Bell.lesson_number == bell.lesson_number)
                .values(starts_at=bell.starts_at, ends_at=bell.ends_at)
            )
            if self.loaded.year_id is not None:  # slots keep a copy of the times
                year_slots = (
                    select(TeachingAssignment.id)
                    .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
                    .where(SchoolClass.year_id == self.loaded.year_id)
                )
                await self.session.execute(
                    update(TimetableSlot)
                    .where(
                        TimetableSlot.lesson_number == bell.lesson_number,
                        TimetableSlot.assignment_id.in_(year_slots),
                    )
                    .values(starts_at=bell.starts_at, ends_at=bell.ends_at)
                    .execution_options(synchronize_session=False)
                )
            self.all_classes = True

    def _scale(self, s: Any) -> dict[str, Any]:
        """A scale is named by its code."""
        return _columns(s, drop=("source_id",), school_id=self.school_id, code=s.source_id)

    def _subject(self, s: Any) -> dict[str, Any]:
        return _columns(s, school_id=self.school_id)

    def _person(self, row: Any) -> dict[str, Any]:
        """A staff member's or a guardian's columns (they share them), back in the school; the
        roles, the students and the relation live in tables of their own."""
        drop = ("roles", "student_ids", "relation")
        return _columns(row, drop=drop, school_id=self.school_id, left_on=None)

    async def _staff(self) -> None:
        split = await self._write(Staff, "staff", self._person)
        rows = self.rows["staff"]
        grants: list[dict[str, Any]] = []
        for sid in split.insert + split.update:
            staff_id = self.id("staff", sid)
            had = self.loaded.roles.get(staff_id, set())
            want = {str(r) for r in rows[sid].roles}
            grants += [{"staff_id": staff_id, "role": r} for r in sorted(want - had)]
            if had - want:
                await self.session.execute(
                    delete(StaffRoleGrant).where(
                        StaffRoleGrant.staff_id == staff_id, StaffRoleGrant.role.in_(had - want)
                    )
                )
        if grants:
            await self.session.execute(insert(StaffRoleGrant), grants)
        if split.left:
            gone = [self.id("staff", s) for s in split.left]
            accounts = await self.session.scalars(
                select(Staff.account_id).where(Staff.id.in_(gone), Staff.account_id.is_not(None))
            )
            self.ending.staff_accounts.update(a for a in accounts if a is not None)
            self.ending.staff.update(gone)
            await self.session.execute(
                update(Staff).where(Staff.id.in_(gone)).values(left_on=self.today, account_id=None)
            )

    async def _classes(self) -> None:
        def school_class(c: Any) -> dict[str, Any]:
            teacher = self.ref("staff", c.class_teacher_id)
            return _columns(
                c, school_id=self.school_id, year_id=self.year_id, class_teacher_id=teacher
            )

        split = await self._write(SchoolClass, "classes", school_class)
        self.fresh_classes = {self.id("classes", s) for s in split.insert}
        year_classes = {self.id("classes", c) for c in self.rows["classes"]}
        self.fresh_classes |= year_classes - self.loaded.classes_with_lessons

    def join_day(self, class_id: int) -> date:
        """When a student joining `class_id` now is enrolled from (module docstring)."""
        assert self.year is not None
        if class_id in self.fresh_classes:
            return self.year.starts_on
        return max(self.today, self.year.starts_on)

    async def _students(self) -> None:
        def student(s: Any) -> dict[str, Any]:  # the class is an enrolment
            return _columns(s, drop=("class_id",), school_id=self.school_id)

        split = await self._write(Student, "students", student)
        old = snapshot.rows_by_id(self.loaded.data.students)
        rows = self.rows["students"]
        closing: list[dict[str, Any]] = []
        opening: list[dict[str, Any]] = []
        reopening: list[dict[str, Any]] = []
        for sid in split.insert + split.update + split.left:
            student_id = self.id("students", sid)
            before = old.get(sid)
            after = rows.get(sid) if sid not in split.left else None
            if before is not None and after is not None and before.class_id == after.class_id:
                continue  # renamed, same class
            stays = self.loaded.stays.get(student_id, [])
            stay = snapshot.current_stay(stays, self.today)
            if stay is not None:
                closing.append(
                    {"id": stay.id, "left_on": max(self.today, stay.enrolled_on or self.today)}
                )
            if after is None:
                self.ending.students.add(student_id)
                continue
            class_id = self.id("classes", after.class_id)
            day = self.join_day(class_id)
            earlier = next((s for s in stays if s.class_id == class_id), None)
            if earlier is not None:  # back into a class they were in: one row per class
                reopening.append(
                    {
                        "id": earlier.id,
                        "left_on": None,
                        "enrolled_on": min(day, earlier.enrolled_on or day),
                    }
                )
            else:
                opening.append({"student_id": student_id, "class_id": class_id, "enrolled_on": day})
        await self._update(Enrollment, closing)
        await self._update(Enrollment, reopening)
        if opening:
            await self.session.execute(insert(Enrollment), opening)

    async def _guardians(self) -> None:
        split = await self._write(Guardian, "guardians", self._person)
        rows = self.rows["guardians"]
        old = snapshot.rows_by_id(self.loaded.data.guardians)
        current = {self.id("students", s.source_id) for s in self.loaded.data.students}
        new_links: list[dict[str, Any]] = []
        for sid in split.insert + split.update:
            row, guardian_id = rows[sid], self.id("guardians", sid)
            had = self.loaded.links.get(guardian_id, {})
            want = {self.id("students", s) for s in row.student_ids}
            new_links += [
                {"student_id": s, "guardian_id": guardian_id, "relation": row.relation}
                for s in sorted(want - set(had))
            ]
            # a link to a student who left stays (history); one the file dropped goes
            dropped = {s for s in had if s in current} - want
            if dropped:
                await self.session.execute(
                    delete(StudentGuardian).where(StudentGuardian.id.in_([had[s] for s in dropped]))
                )
                self.ending.pairs.update((s, guardian_id) for s in dropped)
            before = old.get(sid)
            if had and before is not None and before.relation != row.relation:
                await self.session.execute(
                    update(StudentGuardian)
                    .where(StudentGuardian.guardian_id == guardian_id)
                    .values(relation=row.relation)
                )
        if new_links:
            await self.session.execute(insert(StudentGuardian), new_links)
        if split.left:
            gone_ids = [self.id("guardians", s) for s in split.left]
            self.ending.guardians.update(gone_ids)
            await self.session.execute(
                update(Guardian).where(Guardian.id.in_(gone_ids)).values(left_on=self.today)
            )

    def _assignment(self, a: Any) -> dict[str, Any]:
        return {
            "teacher_id": self.id("staff", a.teacher_id),
            "class_id": self.id("classes", a.class_id),
            "subject_id": self.id("subjects", a.subject_id),
            "scale_id": self.id("scales", a.scale_id),
            "source_id": a.source_id,
        }

    async def _timetable(self) -> None:
        split = self.split("timetable")
        if not (split.insert or split.update or split.left):
            return
        assert self.year is not None
        bells = self.bells()
        by_triple = {
            (a.teacher_id, a.class_id, a.subject_id): a.source_id
            for a in self.rows["assignments"].values()
        }
        rows = self.rows["timetable"]
        later = lessons.first_future_day(self.today, self.year.starts_on)

        def slot(t: Any) -> dict[str, Any]:
            bell = bells[t.lesson_number]
            assignment = by_triple[t.teacher_id, t.class_id, t.subject_id]
            return _columns(
                t,
                drop=("class_id", "subject_id", "teacher_id"),  # the assignment stands for them
                assignment_id=self.id("assignments", assignment),
                starts_at=bell.starts_at,
                ends_at=bell.ends_at,
            )

        inserted = []
        for sid in split.insert:
            class_id = self.id("classes", rows[sid].class_id)
            self.touched_classes.add(class_id)
            start = self.year.starts_on if class_id in self.fresh_classes else later
            inserted.append({**slot(rows[sid]), "valid_from": start, "valid_to": None})
        await self._insert(TimetableSlot, "timetable", split.insert, inserted)
        updated = []
        for sid in split.update:
            slot_id = self.id("timetable", sid)
            self.touched_classes.add(self.id("classes", rows[sid].class_id))
            self.touched_classes.add(self.loaded.slot_class.get(slot_id, 0))
            back = {"valid_to": None} if sid in split.back else {}
            updated.append({"id": slot_id, **slot(rows[sid]), **back})
        await self._update(TimetableSlot, updated)
        ended = [self.id("timetable", s) for s in split.left]
        self.touched_classes.update(self.loaded.slot_class[s] for s in ended)
        if ended:
            await self.session.execute(
                update(TimetableSlot).where(TimetableSlot.id.in_(ended)).values(valid_to=self.today)
            )

    async def _grades(self) -> None:
        """The gradebook's new and changed grades, after the lessons they may go on."""
        split = self.split("grades")
        wanted = set(split.insert) | set(split.update)
        if not wanted:
            return
        rows = [g for g in self.data.grades if g.source_id in wanted]
        stored = await grades.load(self.session, self.school_id, wanted)
        made = await grades.write(
            self.session, rows, self.ids, stored, school_id=self.school_id, now=self.now
        )
        self.lessons = lessons.Regenerated(self.lessons.deleted, self.lessons.created + made)

    async def _lessons(self) -> None:
        if self.year is None or self.year_id == 0:
            return
        year_classes = {self.id("classes", c) for c in self.rows["classes"]}
        assignments = self.rows["assignments"]
        for sid in self.split("assignments").update:  # a lesson keeps its subject's id
            self.touched_classes.add(self.id("classes", assignments[sid].class_id))
        if self.all_classes:
            classes = year_classes | set(self.loaded.slot_class.values())
        else:
            classes = self.touched_classes
        classes.discard(0)
        if not classes:
            return
        self.lessons = await lessons.regenerate(
            self.session,
            class_ids=classes,
            fresh=self.fresh_classes & classes,
            year_start=self.year.starts_on,
            year_end=self.year.ends_on,
            today=self.today,
        )
