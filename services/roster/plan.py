"""The dry run: what importing a `SchoolData` would change, and what is wrong with it.

`plan_import` reads the database once (`services.roster.snapshot.load`), diffs it with the
file in memory and writes nothing. Rows are matched by source id (`snapshot.local_id`: a row
made here is ``#<id>``). Per kind:

* a row in the file and not in the database is **added** (a person or slot the school had
  before, a leaver or an ended slot, comes back onto their old row);
* a row in both that differs is **changed**; a student whose class differs is **moved**
  (their old stay ends today, a new one starts today);
* a student, staff member or guardian in the database but not in a file that lists that kind
  **left** (history kept, links and unused codes ended); a timetable slot likewise ends
  (``valid_to`` = today, its future lessons go). Periods, holidays, bells, scales, subjects,
  classes and teaching assignments missing from a file are kept as they are: they carry
  grades, and a file that forgets one should not erase it. A kind the file does not list at
  all (an empty sheet) is left alone entirely: an empty students sheet is not "everyone left".

Problems only the database can show (a name taken by a row the file does not mention, a slot
with no bell, a clash, a scale with grades on it whose kind or range changes, an assignment
with grades moved to another scale: ``roster.scale_in_use``) are returned with the file's own
(`validate_references`); the applier refuses to write while there is any.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import SlotFrequency, StaffRole
from services.core.grading import InvalidGrade, ScaleSpec
from services.roster import grades, snapshot
from services.roster.model import (
    GradeRow,
    Problem,
    SchoolData,
    SlotRow,
    Where,
    validate_references,
)
from services.roster.problems import N_


class ChangeAction(enum.StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    MOVED = "moved"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Change:
    """One row's change: `kind` is a `SchoolData` field (``"students"``; ``"school"``,
    ``"year"``), `label` the row's human name, `details` (field, ``"old → new"``) pairs."""

    kind: str
    source_id: str
    action: ChangeAction
    label: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """The dry run's result: nothing is applied while `problems` is not empty."""

    problems: tuple[Problem, ...]
    changes: tuple[Change, ...]

    def counts(self) -> dict[tuple[str, ChangeAction], int]:
        """(kind, action) → how many rows."""
        return dict(Counter((c.kind, c.action) for c in self.changes))

    @property
    def is_noop(self) -> bool:
        """Applying would change nothing."""
        return not self.changes


#: the kinds of rows, in the order they are applied (references point backwards)
KINDS = (
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
)
#: people who leave when a file listing their kind no longer lists them
LEAVERS = frozenset({"students", "staff", "guardians"})
#: what a reference column points at (for labels in details)
REFERENCES = {
    "class_teacher_id": "staff",
    "class_id": "classes",
    "teacher_id": "staff",
    "subject_id": "subjects",
    "scale_id": "scales",
    "student_ids": "students",
}
#: a column as `Change.details` names it (English; `summary` translates it)
FIELDS = {
    "name": N_("name"),
    "full_name": N_("name"),
    "short_name": N_("short name"),
    "timezone": N_("time zone"),
    "phone_region": N_("phone region"),
    "starts_on": N_("first day"),
    "ends_on": N_("last day"),
    "starts_at": N_("starts at"),
    "ends_at": N_("ends at"),
    "kind": N_("kind"),
    "number": N_("number"),
    "min_score": N_("lowest mark"),
    "max_score": N_("highest mark"),
    "pass_score": N_("pass mark"),
    "allow_modifiers": N_("pluses and minuses"),
    "roles": N_("roles"),
    "phone": N_("phone"),
    "email": N_("e-mail"),
    "grade_level": N_("grade"),
    "class_teacher_id": N_("class teacher"),
    "class_id": N_("class"),
    "birth_date": N_("date of birth"),
    "student_ids": N_("children"),
    "relation": N_("relation"),
    "teacher_id": N_("teacher"),
    "subject_id": N_("subject"),
    "scale_id": N_("grading scale"),
    "weekday": N_("weekday"),
    "lesson_number": N_("lesson"),
    "room": N_("room"),
    "frequency": N_("weeks"),
    "value": N_("grade"),
    "day": N_("date"),
    "comment": N_("comment"),
    "student_id": N_("student"),
    "assignment_id": N_("teaching assignment"),
}
ARROW = " → "
NONE = "—"


def row_id(kind: str, row: Any) -> str:
    """A row's source id (bells are named by their lesson number)."""
    return str(row.lesson_number) if kind == "bells" else str(row.source_id)


def rows_of(data: SchoolData, kind: str) -> dict[str, Any]:
    rows: Sequence[Any] = getattr(data, kind)
    return {row_id(kind, r): snapshot.normalized(r) for r in rows}


# --- labels -------------------------------------------------------------------------------


class Names:
    """Human names of rows by (kind, source id), from the file first, then the database."""

    def __init__(self, *pictures: SchoolData) -> None:
        self.names: dict[tuple[str, str], str] = {}
        for data in reversed(pictures):
            for kind in KINDS:
                for sid, row in rows_of(data, kind).items():
                    self.names[kind, sid] = self._own(kind, row)
            for kind in KINDS:
                for sid, row in rows_of(data, kind).items():
                    self.names[kind, sid] = self.label(kind, row)

    def name(self, kind: str, sid: str | None) -> str:
        if sid is None:
            return NONE
        return self.names.get((kind, sid), sid)

    @staticmethod
    def _own(kind: str, row: Any) -> str:
        for attr in ("full_name", "name"):
            if hasattr(row, attr):
                return str(getattr(row, attr))
        if kind == "periods":
            return f"{row.kind} {row.number}"
        if kind == "bells":
            return str(row.lesson_number)
        return str(row.source_id)

    def label(self, kind: str, row: Any) -> str:
        if kind == "assignments":
            parts = [("staff", row.teacher_id), ("classes", row.class_id)]
            return " · ".join([*(self.name(k, s) for k, s in parts), self.subject(row)])
        if kind == "timetable":
            day = f"{row.weekday}/{row.lesson_number}"
            return " · ".join([self.name("classes", row.class_id), day, self.subject(row)])
        if kind == "students":
            return f"{row.full_name} ({self.name('classes', row.class_id)})"
        return self._own(kind, row)

    def subject(self, row: Any) -> str:
        return self.name("subjects", row.subject_id)

    def show(self, column: str, value: Any) -> str:
        """A value as the details show it (references by name)."""
        if value is None or value == ():
            return NONE
        target = REFERENCES.get(column)
        if isinstance(value, tuple):
            return ", ".join(self.show(column, v) for v in value)
        if target is not None:
            return self.name(target, str(value))
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return str(value.value)
        return str(value)


def differences(old: Any, new: Any, names: Names) -> tuple[tuple[str, str], ...]:
    """(column's name, ``"old → new"``) for each column that differs (`FIELDS`)."""
    out = []
    for f in fields(new):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            shown = names.show(f.name, before) + ARROW + names.show(f.name, after)
            out.append((FIELDS.get(f.name, f.name), shown))
    return tuple(out)


# --- the diff -----------------------------------------------------------------------------


def _diff_kind(
    kind: str, loaded: snapshot.Loaded, data: SchoolData, names: Names
) -> Iterator[Change]:
    old, new = rows_of(loaded.data, kind), rows_of(data, kind)
    if kind == "holidays":  # a file may list holidays outside the year too
        old = {h.source_id: h for h in loaded.all_holidays}
    for sid, row in new.items():
        label = names.label(kind, row)
        before = old.get(sid)
        if before is None:
            yield Change(kind, sid, ChangeAction.ADDED, label)
        elif before != row:
            details = differences(before, row, names)
            moved = kind == "students" and before.class_id != row.class_id
            yield Change(
                kind, sid, ChangeAction.MOVED if moved else ChangeAction.CHANGED, label, details
            )
    if new and (kind in LEAVERS or kind == "timetable"):
        for sid, row in old.items():
            if sid not in new:
                yield Change(kind, sid, ChangeAction.LEFT, names.label(kind, row))


def diff(loaded: snapshot.Loaded, data: SchoolData) -> tuple[Change, ...]:
    """Every change importing `data` makes to the `loaded` database (module docstring)."""
    names = Names(data, loaded.data)
    changes: list[Change] = []
    school, info = loaded.data.school, data.school
    if loaded.school_id is None:
        changes.append(Change("school", "", ChangeAction.ADDED, info.name))
    elif school != info:
        changes.append(
            Change("school", "", ChangeAction.CHANGED, info.name, differences(school, info, names))
        )
    if data.year is not None:
        before = loaded.years.get(data.year.source_id)
        if before is None:
            changes.append(Change("year", data.year.source_id, ChangeAction.ADDED, data.year.name))
        elif before != data.year:
            details = differences(before, data.year, names)
            changes.append(
                Change("year", data.year.source_id, ChangeAction.CHANGED, data.year.name, details)
            )
    for kind in KINDS:
        changes.extend(_diff_kind(kind, loaded, data, names))
    return tuple(changes)


# --- problems only the database shows -------------------------------------------------------


def _problem(
    data: SchoolData, kind: str, sid: str, key: str, column: str = "", **params: str
) -> Problem:
    where = data.where(kind, sid)
    return Problem(Where(where.sheet, where.line, column), key, tuple(params.items()))


#: kind → (column shown, natural key of a row) for the kinds with a unique natural key
NATURAL_KEYS: Mapping[str, tuple[str, Callable[[Any], tuple[Any, ...]]]] = {
    "periods": ("number", lambda r: (r.kind, r.number)),
    "subjects": ("name", lambda r: (r.name,)),
    "classes": ("name", lambda r: (r.name,)),
    "assignments": ("subject_id", lambda r: (r.class_id, r.subject_id, r.teacher_id)),
}


def _taken(loaded: snapshot.Loaded, data: SchoolData, names: Names) -> Iterator[Problem]:
    """A file row whose natural key (a subject's name…) is held by a row the file does not
    mention (``roster.taken``) or by another file row (``roster.duplicate``)."""
    for kind, (column, key_of) in NATURAL_KEYS.items():
        new = rows_of(data, kind)
        holders: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for sid, row in rows_of(loaded.data, kind).items():
            if sid not in new:
                holders[key_of(row)].append(sid)
        for sid, row in new.items():
            others = holders[key_of(row)]
            if others:
                kept = others[0]
                yield _problem(
                    data, kind, sid, "roster.taken", column, name=names.label(kind, row), id=kept
                )
            others.append(sid)
    if data.year is not None and data.year.source_id not in loaded.years:
        for sid, year in loaded.years.items():
            if year.name == data.year.name:
                yield _problem(
                    data,
                    "year",
                    data.year.source_id,
                    "roster.taken",
                    "name",
                    name=year.name,
                    id=sid,
                )


def _local_ids(loaded: snapshot.Loaded, data: SchoolData) -> Iterator[Problem]:
    """``#<n>`` names a row made here: a file may use it only for that row."""
    for kind in ("year", *KINDS):
        rows = [data.year] if kind == "year" and data.year else getattr(data, kind, ())
        if kind in ("bells", "scales"):
            continue
        for row in rows:
            sid = row_id(kind, row)
            if sid.startswith(snapshot.LOCAL) and (kind, sid) not in loaded.ids:
                yield _problem(data, kind, sid, "roster.unknown_local_id", "source_id", id=sid)


def _teachers(data: SchoolData) -> Iterator[Problem]:
    """Class teachers and teachers of assignments and slots must hold the teacher role."""
    teachers = {s.source_id for s in data.staff if StaffRole.TEACHER in s.roles}
    known = {s.source_id for s in data.staff}
    refs: list[tuple[str, str, str, str | None]] = [
        ("classes", c.source_id, "class_teacher_id", c.class_teacher_id) for c in data.classes
    ]
    refs += [("assignments", a.source_id, "teacher_id", a.teacher_id) for a in data.assignments]
    refs += [("timetable", t.source_id, "teacher_id", t.teacher_id) for t in data.timetable]
    for kind, sid, column, teacher in refs:
        if teacher is not None and teacher in known and teacher not in teachers:
            name = next(s.full_name for s in data.staff if s.source_id == teacher)
            yield _problem(data, kind, sid, "roster.not_teacher", column, name=name)


def _calendar(loaded: snapshot.Loaded, data: SchoolData) -> Iterator[Problem]:
    """Periods inside the year; a year to import into when the file has classes or periods."""
    year = data.year or loaded.data.year
    if year is None:
        if data.periods or data.classes:
            yield Problem(Where("year", 0), "roster.no_year")
        return
    for p in data.periods:
        if p.starts_on < year.starts_on or p.ends_on > year.ends_on:
            yield _problem(
                data,
                "periods",
                p.source_id,
                "roster.outside_year",
                "starts_on",
                start=year.starts_on.isoformat(),
                end=year.ends_on.isoformat(),
            )


def _overlap(a: SlotFrequency, b: SlotFrequency) -> bool:
    return SlotFrequency.WEEKLY in (a, b) or a == b


def _timetable(loaded: snapshot.Loaded, data: SchoolData) -> Iterator[Problem]:
    """Every slot has a bell and an assignment; no two slots of a class at once (two groups
    of one subject with different teachers at once is a split class, not a clash)."""
    bells = {b.lesson_number for b in (data.bells or loaded.data.bells)}
    taught = {(a.teacher_id, a.class_id, a.subject_id) for a in data.assignments}
    by_time: dict[tuple[str, int, int], list[SlotRow]] = defaultdict(list)
    for t in data.timetable:
        if t.lesson_number not in bells:
            yield _problem(
                data,
                "timetable",
                t.source_id,
                "roster.no_bell",
                "lesson_number",
                number=str(t.lesson_number),
            )
        if (t.teacher_id, t.class_id, t.subject_id) not in taught:
            yield _problem(data, "timetable", t.source_id, "roster.not_assigned", "subject_id")
        for other in by_time[t.class_id, t.weekday, t.lesson_number]:
            if _overlap(other.frequency, t.frequency) and other.subject_id != t.subject_id:
                yield _problem(
                    data,
                    "timetable",
                    t.source_id,
                    "roster.clash",
                    "lesson_number",
                    id=other.source_id,
                )
                break
        by_time[t.class_id, t.weekday, t.lesson_number].append(t)


class _Gradebook:
    """What checking and diffing a file's grades needs: assignments, scales and students'
    classes by source id (the file's rows over the database's)."""

    def __init__(self, loaded: snapshot.Loaded, data: SchoolData) -> None:
        self.assignments = {
            a.source_id: a for picture in (loaded.data, data) for a in picture.assignments
        }
        self.scales = {s.source_id: s for picture in (loaded.data, data) for s in picture.scales}
        self.class_of = {
            s.source_id: s.class_id for picture in (loaded.data, data) for s in picture.students
        }
        self.students = {s.source_id for s in data.students} | {
            sid for (kind, sid) in loaded.ids if kind == "students"
        }

    def spec(self, grade: GradeRow) -> ScaleSpec | None:
        assignment = self.assignments.get(grade.assignment_id)
        scale = self.scales.get(assignment.scale_id) if assignment else None
        if scale is None:
            return None
        return ScaleSpec(
            scale.kind, scale.min_score, scale.max_score, scale.pass_score, scale.allow_modifiers
        )

    def value(self, grade: GradeRow) -> str | None:
        """The grade in its stored form, None when it does not fit its scale."""
        spec = self.spec(grade)
        try:
            return grades.checked_value(spec, grade.value)[0] if spec else None
        except InvalidGrade:
            return None


def _grades(loaded: snapshot.Loaded, data: SchoolData) -> Iterator[Problem]:
    """A grade fits its assignment's scale, is given to a student of the class the subject
    is taught to, on a day of the academic year."""
    if not data.grades:
        return
    book = _Gradebook(loaded, data)
    year = data.year or loaded.data.year
    for grade in data.grades:
        assignment = book.assignments.get(grade.assignment_id)
        if assignment is None or grade.student_id not in book.students:
            continue  # a dangling reference, reported by validate_references
        if book.value(grade) is None:
            scale = assignment.scale_id
            yield _problem(
                data, "grades", grade.source_id, "roster.bad_grade_value", "textScore",
                value=grade.value, scale=scale,
            )  # fmt: skip
        if book.class_of.get(grade.student_id) != assignment.class_id:
            yield _problem(
                data, "grades", grade.source_id, "roster.grade_other_class", "studentSourcedId"
            )
        if year is None:
            yield _problem(data, "grades", grade.source_id, "roster.no_year")
        elif not year.starts_on <= grade.lesson_day <= year.ends_on:
            yield _problem(
                data, "grades", grade.source_id, "roster.outside_year", "lineItemSourcedId",
                start=f"{year.starts_on:%d.%m.%Y}", end=f"{year.ends_on:%d.%m.%Y}",
            )  # fmt: skip


def grade_changes(
    loaded: snapshot.Loaded, data: SchoolData, stored: Mapping[str, grades.Stored]
) -> Iterator[Change]:
    """A grade new to the journal is added; one whose value, kind, date, comment, student or
    assignment differs is changed; a grade deleted in the journal stays deleted."""
    names = Names(data, loaded.data)
    book = _Gradebook(loaded, data)
    sid_of = {(kind, row_id): sid for (kind, sid), row_id in loaded.ids.items()}
    for grade in data.grades:
        value = book.value(grade) or grade.value
        assignment = book.assignments.get(grade.assignment_id)
        subject = names.subject(assignment) if assignment else grade.assignment_id
        student = names.name("students", grade.student_id)
        label = f"{student} · {subject} · {grade.lesson_day:%d.%m.%Y}: {value}"
        before = stored.get(grade.source_id)
        if before is None:
            yield Change("grades", grade.source_id, ChangeAction.ADDED, label)
            continue
        if before.deleted:
            continue
        old_student = sid_of.get(("students", before.student_id), NONE)
        old_assignment = sid_of.get(("assignments", before.assignment_id), NONE)
        pairs = (
            ("value", before.value, value),
            ("kind", before.kind.value, grade.kind.value),
            ("day", f"{before.day:%d.%m.%Y}", f"{grade.day:%d.%m.%Y}"),
            ("comment", before.comment or NONE, grade.comment or NONE),
            ("student_id", names.name("students", old_student), student),
            (
                "assignment_id",
                names.name("assignments", old_assignment),
                names.name("assignments", grade.assignment_id),
            ),
        )
        details = tuple(
            (FIELDS[column], old + ARROW + new) for column, old, new in pairs if old != new
        )
        if details:
            yield Change("grades", grade.source_id, ChangeAction.CHANGED, label, details)


def problems_of(loaded: snapshot.Loaded, data: SchoolData) -> tuple[Problem, ...]:
    """The file's dangling references and what only the database shows (module docstring)."""
    names = Names(data, loaded.data)
    found: list[Problem] = list(validate_references(data))
    for check in (
        _taken(loaded, data, names),
        _local_ids(loaded, data),
        _teachers(data),
        _calendar(loaded, data),
        _timetable(loaded, data),
        _grades(loaded, data),
    ):
        found.extend(check)
    return tuple(found)


async def plan_import(
    session: AsyncSession, data: SchoolData, *, today: date, school_id: int | None = None
) -> ImportPlan:
    """What importing `data` into the school `school_id` (else the first school) would change
    (module docstring); reads, never writes.

    A fixed number of statements whatever the size of the school (each table read once).
    """
    plan, _loaded = await plan_with_state(session, data, today=today, school_id=school_id)
    return plan


async def plan_with_state(
    session: AsyncSession, data: SchoolData, *, today: date, school_id: int | None = None
) -> tuple[ImportPlan, snapshot.Loaded]:
    """`plan_import` and the database state it was made against (for the applier)."""
    year = data.year.source_id if data.year is not None else None
    loaded = await snapshot.load(session, today=today, year_source_id=year, school_id=school_id)
    problems = problems_of(loaded, data)
    changes = diff(loaded, data)
    problems += tuple(await _scales_in_use(session, loaded, data))
    if data.grades:
        sids = [g.source_id for g in data.grades]
        stored = await grades.load(session, loaded.school_id, sids)
        changes += tuple(grade_changes(loaded, data, stored))
        problems += tuple(
            _problem(data, "grades", sid, "roster.unknown_local_id", "sourcedId", id=sid)
            for sid in sids
            if sid.startswith(snapshot.LOCAL) and sid not in stored
        )
    return ImportPlan(problems, changes), loaded


#: what of a scale may not change once grades were given on it (their values would not fit)
SCALE_SHAPE = ("kind", "min_score", "max_score")


async def _scales_in_use(
    session: AsyncSession, loaded: snapshot.Loaded, data: SchoolData
) -> list[Problem]:
    """A teaching assignment with grades keeps its scale, and a scale with grades on it keeps
    its kind and range: the grades already given would no longer fit (``roster.scale_in_use``).
    One statement, and only when the file changes a scale or an assignment's scale."""
    old_scales = {s.source_id: s for s in loaded.data.scales}
    reshaped = {
        s.source_id
        for s in data.scales
        if s.source_id in old_scales
        and any(getattr(s, f) != getattr(old_scales[s.source_id], f) for f in SCALE_SHAPE)
    }
    old_assignments = {a.source_id: a for a in loaded.data.assignments}
    rescaled = [
        a
        for a in data.assignments
        if a.source_id in old_assignments and old_assignments[a.source_id].scale_id != a.scale_id
    ]
    by_scale: dict[str, list[int]] = defaultdict(list)
    for a in loaded.data.assignments:
        if a.scale_id in reshaped:
            by_scale[a.scale_id].append(loaded.ids["assignments", a.source_id])
    asked = {loaded.ids["assignments", a.source_id] for a in rescaled}
    asked.update(i for ids in by_scale.values() for i in ids)
    if not asked:
        return []
    graded = await grades.graded_assignments(session, asked)
    found = [
        _problem(data, "scales", sid, "roster.scale_in_use", "kind")
        for sid in sorted(reshaped)
        if graded.intersection(by_scale[sid])
    ]
    found += [
        _problem(data, "assignments", a.source_id, "roster.scale_in_use", "scale_id")
        for a in rescaled
        if loaded.ids["assignments", a.source_id] in graded
    ]
    return found


def only(changes: Iterable[Change], kind: str, *actions: ChangeAction) -> list[Change]:
    """The changes of one kind (and of the given actions, if any)."""
    return [c for c in changes if c.kind == kind and (not actions or c.action in actions)]
