"""An imported gradebook in the journal: the grades already there, and writing new ones.

A file's grades (`SchoolData.grades`, from a OneRoster ``results.csv``) are matched to the
journal by their source id (`Grade.source_id`, the result's ``sourcedId``; a grade made here
is ``#<id>``, as the export names it); the planner
(`services.roster.plan`) diffs them and checks each value against its scale, and the applier
calls `write` after the roster and the timetable are written, in the same transaction.

Lessons: a grade goes on the lesson of its teaching assignment named by its lesson key (one
made by an earlier import of the same file, or ``#<id>`` for a lesson made here), else on the
first lesson of that assignment on that day (one generated from the timetable), else on a new
lesson made for it (the next free lesson number of the class that day, times from the bells,
the file's topic).

What an imported grade is: given by the assignment's teacher, weighted by the default weight
of its kind, visible to families at once, and never announced (a push message per historic
grade would flood every family). A grade deleted in the journal stays deleted when the same
file is imported again; a grade the file no longer lists stays in the journal.

A fixed number of statements whatever the number of grades.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import GradeKind
from db.models import Bell, Grade, GradingScale, Lesson, Student, TeachingAssignment
from services.core.grading import ScaleSpec, default_weight, parse_grade
from services.roster.model import GradeRow
from services.roster.snapshot import LOCAL, local_id

#: when the school has no bell for a lesson number: lessons of 45 minutes every 55 from 8:00
FIRST_LESSON = time(8, 0)
LESSON = timedelta(minutes=45)
LESSON_STEP = timedelta(minutes=55)


@dataclass(frozen=True, slots=True)
class Stored:
    """A grade already in the journal under a source id, with its references as row ids."""

    id: int
    student_id: int
    assignment_id: int
    value: str
    kind: GradeKind
    day: date
    comment: str | None
    deleted: bool


async def load(
    session: AsyncSession, school_id: int | None, sids: Iterable[str] = ()
) -> dict[str, Stored]:
    """The school's grades that came from a file, by source id, and those named ``#<id>``
    in `sids` (grades made here, as an export names them) (one statement)."""
    if school_id is None:
        return {}
    local = sorted({int(s[1:]) for s in sids if s.startswith(LOCAL) and s[1:].isdigit()})
    named = Grade.source_id.is_not(None)
    rows = await session.execute(
        select(
            Grade.source_id,
            Grade.id,
            Grade.student_id,
            Grade.assignment_id,
            Grade.value,
            Grade.kind,
            Grade.date,
            Grade.comment,
            Grade.deleted_at,
        )
        .join(Student, Student.id == Grade.student_id)
        .where(Student.school_id == school_id, or_(named, Grade.id.in_(local)) if local else named)
    )
    return {
        local_id(sid, gid): Stored(
            gid, student, assignment, value, kind, day, comment, deleted is not None
        )
        for sid, gid, student, assignment, value, kind, day, comment, deleted in rows.all()
    }


async def graded_assignments(session: AsyncSession, assignment_ids: Collection[int]) -> set[int]:
    """Which of the teaching assignments have grades (deleted ones included: they are kept
    for the audit trail and must still read on their scale) (one statement)."""
    found = await session.scalars(
        select(Grade.assignment_id)
        .where(Grade.assignment_id.in_(sorted(assignment_ids)))
        .distinct()
    )
    return set(found.all())


def checked_value(spec: ScaleSpec, value: str) -> tuple[str, float]:
    """The grade in its stored form and its score; `InvalidGrade` when it does not fit."""
    parsed = parse_grade(spec, value)
    return parsed.value, parsed.score


async def write(
    session: AsyncSession,
    grades: Iterable[GradeRow],
    ids: Mapping[tuple[str, str], int],
    stored: Mapping[str, Stored],
    *,
    school_id: int,
    now: datetime,
) -> int:
    """Insert the new grades and update the changed ones (the planner's ``grades`` changes,
    given as rows); returns how many lessons were made for them."""
    rows = list(grades)
    if not rows:
        return 0
    writer = _GradeWriter(session, ids, school_id)
    await writer.prepare(rows)
    lesson_ids = await writer.lessons(rows)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        values = writer.values(row, lesson_ids[row.source_id])
        if row.source_id in stored:
            changed.append({"id": stored[row.source_id].id, **values, "updated_at": now})
        else:
            new.append({**values, "source_id": row.source_id, "created_at": now})
    if new:
        await session.execute(insert(Grade), new)
    if changed:
        await session.execute(update(Grade), changed)
    return writer.made


class _GradeWriter:
    """The rows `write` needs, read once: assignments, scales, lessons, bells."""

    def __init__(
        self, session: AsyncSession, ids: Mapping[tuple[str, str], int], school_id: int
    ) -> None:
        self.session = session
        self.ids = ids
        self.school_id = school_id
        self.assignments: dict[int, Any] = {}
        self.specs: dict[int, ScaleSpec] = {}
        self.by_key: dict[tuple[int, str], int] = {}
        self.by_day: dict[tuple[int, date], int] = {}
        self.taken: dict[tuple[int, date], set[int]] = defaultdict(set)
        self.bells: dict[int, tuple[time, time]] = {}
        self.made = 0

    def assignment_of(self, row: GradeRow) -> Any:
        return self.assignments[self.ids["assignments", row.assignment_id]]

    async def prepare(self, rows: list[GradeRow]) -> None:
        wanted = {self.ids["assignments", r.assignment_id] for r in rows}
        found = await self.session.execute(
            select(
                TeachingAssignment.id,
                TeachingAssignment.class_id,
                TeachingAssignment.subject_id,
                TeachingAssignment.teacher_id,
                TeachingAssignment.scale_id,
            ).where(TeachingAssignment.id.in_(sorted(wanted)))
        )
        self.assignments = {a.id: a for a in found.all()}
        scales = await self.session.scalars(
            select(GradingScale).where(GradingScale.school_id == self.school_id)
        )
        self.specs = {s.id: ScaleSpec.from_row(s) for s in scales.all()}
        days = [r.lesson_day for r in rows]
        await self._lessons_around(wanted, min(days), max(days))
        bells = await self.session.execute(
            select(Bell.lesson_number, Bell.starts_at, Bell.ends_at).where(
                Bell.school_id == self.school_id
            )
        )
        self.bells = {number: (start, end) for number, start, end in bells.all()}

    async def _lessons_around(self, assignments: Collection[int], first: date, last: date) -> None:
        classes = sorted({a.class_id for a in self.assignments.values()})
        found = await self.session.execute(
            select(
                Lesson.id, Lesson.assignment_id, Lesson.class_id, Lesson.date,
                Lesson.lesson_number, Lesson.source_id,
            )
            .where(Lesson.class_id.in_(classes), Lesson.date.between(first, last))
            .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
        )  # fmt: skip
        for lesson_id, assignment, class_id, day, number, key in found.all():
            self.taken[class_id, day].add(number)
            if assignment not in assignments:
                continue
            self.by_key.setdefault((assignment, local_id(key, lesson_id)), lesson_id)
            self.by_day.setdefault((assignment, day), lesson_id)

    def times(self, number: int) -> tuple[time, time]:
        if number in self.bells:
            return self.bells[number]
        start = datetime.combine(date.min, FIRST_LESSON) + (number - 1) * LESSON_STEP
        return start.time(), (start + LESSON).time()

    async def lessons(self, rows: list[GradeRow]) -> dict[str, int]:
        """grade source id → its lesson id, making the lessons missing (one insert)."""
        chosen: dict[str, int] = {}
        to_make: dict[tuple[int, str], list[GradeRow]] = {}
        for row in rows:
            assignment = self.ids["assignments", row.assignment_id]
            lesson = self.by_key.get((assignment, row.lesson_id))
            if lesson is None and (assignment, row.lesson_id) not in to_make:
                lesson = self.by_day.get((assignment, row.lesson_day))
            if lesson is None:
                to_make.setdefault((assignment, row.lesson_id), []).append(row)
            else:
                chosen[row.source_id] = lesson
        values = []
        for (assignment_id, key), waiting in to_make.items():
            first = waiting[0]
            assignment = self.assignments[assignment_id]
            used = self.taken[assignment.class_id, first.lesson_day]
            number = max(used, default=0) + 1
            used.add(number)
            starts_at, ends_at = self.times(number)
            values.append(
                {
                    "assignment_id": assignment_id,
                    "class_id": assignment.class_id,
                    "subject_id": assignment.subject_id,
                    "date": first.lesson_day,
                    "lesson_number": number,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "topic": first.topic,
                    "cancelled": False,
                    "source_id": key,
                }
            )
        if values:
            stmt = insert(Lesson).returning(Lesson.id, sort_by_parameter_order=True)
            made = (await self.session.scalars(stmt, values)).all()
            for waiting, lesson_id in zip(to_make.values(), made, strict=True):
                for row in waiting:
                    chosen[row.source_id] = lesson_id
            self.made = len(made)
        return chosen

    def values(self, row: GradeRow, lesson_id: int) -> dict[str, Any]:
        assignment = self.assignment_of(row)
        value, score = checked_value(self.specs[assignment.scale_id], row.value)
        return {
            "student_id": self.ids["students", row.student_id],
            "lesson_id": lesson_id,
            "assignment_id": assignment.id,
            "subject_id": assignment.subject_id,
            "date": row.day,
            "value": value,
            "score": score,
            "weight": default_weight(row.kind),
            "kind": row.kind,
            "comment": row.comment,
            "author_id": assignment.teacher_id,
        }
