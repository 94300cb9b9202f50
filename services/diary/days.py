"""The diary's days and weeks: generated lessons, else the timetable's slots (odd/even weeks),
holidays and weekends, with the grades, homework and attendance of each lesson."""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.enums import (
    AttendanceStatus,
    SlotFrequency,
)
from db.models import (
    Attendance,
    Holiday,
    Lesson,
    Staff,
    Subject,
    TeachingAssignment,
    TimetableSlot,
)
from services.core.access import Action
from services.core.actors import Actor
from services.core.timetable import (
    SLOT_COLUMNS,
    slot_in_force,
    slot_row_applies,
    week_parity,
)
from services.diary.attendance import AttendanceMark
from services.diary.child import Child, open_child
from services.diary.grades import GradeItem, _grade_item, _grade_rows
from services.diary.homework import HomeworkItem, _homework_item, _homework_rows


class DayKind(enum.StrEnum):
    LESSONS = "lessons"  # lessons generated for the day
    PLANNED = "planned"  # no lessons generated yet: the timetable's slots
    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    FREE = "free"  # a weekday without lessons
    OUTSIDE = "outside"  # outside the school year, or no class


@dataclass
class LessonItem:
    id: int | None
    number: int
    starts_at: time
    ends_at: time
    subject_id: int
    subject: str
    room: str | None
    topic: str | None = None
    teacher: str | None = None
    replacement: str | None = None
    instead_of: str | None = None
    cancelled: bool = False
    cancel_reason: str | None = None
    planned: bool = False
    grades: list[GradeItem] = field(default_factory=list)
    given: list[HomeworkItem] = field(default_factory=list)
    due: list[HomeworkItem] = field(default_factory=list)
    attendance: AttendanceMark | None = None

    @property
    def has_news(self) -> bool:
        """Anything besides the timetable: grades, homework or an attendance mark."""
        return bool(self.grades or self.given or self.due or self.attendance)


@dataclass
class Day:
    date: date
    kind: DayKind
    holiday: str | None = None
    lessons: list[LessonItem] = field(default_factory=list)
    due: list[HomeworkItem] = field(default_factory=list)  # due, but no lesson of the subject
    grades: list[GradeItem] = field(default_factory=list)  # not tied to a lesson of the day

    @property
    def homework(self) -> list[HomeworkItem]:
        """Every homework given or due this day (for buttons)."""
        items = [h for lesson in self.lessons for h in (*lesson.due, *lesson.given)]
        return items + self.due


@dataclass(frozen=True)
class DayView:
    child: Child
    day: Day


@dataclass(frozen=True)
class WeekView:
    child: Child
    monday: date
    days: list[Day]
    parity: SlotFrequency | None


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@functools.cache
def _lesson_statement(attendance: bool) -> Select[Any]:
    """A class's lessons from ``start`` to ``end`` with subject, teachers and the subject a
    replacement stands in for; with `attendance`, the student's marks (``student_id``).

    Built once per variant with bound parameters: building it (four aliases, seven joins)
    cost 1.4 ms a call, more than running it, on every day and week screen."""
    teacher = aliased(Staff)
    replacement = aliased(Staff)
    slot_assignment = aliased(TeachingAssignment)
    slot_subject = aliased(Subject)
    columns: list[Any] = [
        Lesson.id,
        Lesson.date,
        Lesson.lesson_number,
        Lesson.starts_at,
        Lesson.ends_at,
        Lesson.room,
        Lesson.topic,
        Lesson.cancelled,
        Lesson.cancel_reason,
        Lesson.subject_id,
        Subject.name.label("subject"),
        teacher.full_name.label("teacher"),
        replacement.full_name.label("replacement"),
        slot_subject.name.label("instead_of"),
    ]
    if attendance:
        columns += [Attendance.status, Attendance.minutes_late, Attendance.reason]
    query = (
        select(*columns)
        .join(Subject, Subject.id == Lesson.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .outerjoin(teacher, teacher.id == TeachingAssignment.teacher_id)
        .outerjoin(replacement, replacement.id == Lesson.replacement_teacher_id)
        .outerjoin(TimetableSlot, TimetableSlot.id == Lesson.slot_id)
        .outerjoin(slot_assignment, slot_assignment.id == TimetableSlot.assignment_id)
        .outerjoin(
            slot_subject,
            and_(
                slot_subject.id == slot_assignment.subject_id, slot_subject.id != Lesson.subject_id
            ),
        )
        .where(
            Lesson.class_id == bindparam("class_id"),
            Lesson.date >= bindparam("start"),
            Lesson.date <= bindparam("end"),
        )
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.starts_at, Lesson.id)
    )
    if attendance:
        query = query.outerjoin(
            Attendance,
            and_(
                Attendance.lesson_id == Lesson.id,
                Attendance.student_id == bindparam("student_id"),
            ),
        )
    return query


async def _lesson_rows(
    session: AsyncSession, child: Child, start: date, end: date
) -> Sequence[Any]:
    attendance = child.scopes.attendance
    params: dict[str, Any] = {"class_id": child.class_id, "start": start, "end": end}
    if attendance:
        params["student_id"] = child.student_id
    result = await session.execute(_lesson_statement(attendance), params)
    rows: Sequence[Any] = result.all()
    return rows


async def _slot_rows(session: AsyncSession, child: Child, start: date, end: date) -> Sequence[Any]:
    return (
        await session.execute(
            select(
                *SLOT_COLUMNS,
                TeachingAssignment.subject_id,
                Subject.name,
                Staff.full_name,
            )
            .join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .outerjoin(Staff, Staff.id == TeachingAssignment.teacher_id)
            .where(
                TeachingAssignment.class_id == child.class_id,
                slot_in_force(start, end),
            )
            .order_by(TimetableSlot.lesson_number, TimetableSlot.starts_at, TimetableSlot.id)
        )
    ).all()


def _covered(child: Child, start: date, end: date) -> bool:
    """`open_child` brought the holidays and slots of [start, end] along (`around`)."""
    window = child.preloaded.window
    return window is not None and window[0] <= start and end <= window[1]


def _slot(values: list[Any]) -> SimpleNamespace:
    """A preloaded slot (`SLOT_JSON`) with the names and types `_slot_rows` gives."""
    weekday, number, starts_at, ends_at, room, frequency, valid_from, valid_to = values[:8]
    subject_id, name, teacher, slot_id = values[8:]
    return SimpleNamespace(
        weekday=weekday,
        lesson_number=number,
        starts_at=time.fromisoformat(starts_at),
        ends_at=time.fromisoformat(ends_at),
        room=room,
        frequency=frequency,
        valid_from=date.fromisoformat(valid_from),
        valid_to=date.fromisoformat(valid_to) if valid_to else None,
        subject_id=subject_id,
        name=name,
        full_name=teacher,
        id=slot_id,
    )


async def _slots(session: AsyncSession, child: Child, start: date, end: date) -> Sequence[Any]:
    """The class's slots in force in [start, end], by lesson number and start."""
    if child.preloaded.slots is not None and _covered(child, start, end):
        slots = [_slot(values) for values in child.preloaded.slots]
        slots = [s for s in slots if s.valid_from <= end and (s.valid_to or end) >= start]
        return sorted(slots, key=lambda s: (s.lesson_number, s.starts_at, s.id))
    return await _slot_rows(session, child, start, end)


async def _holidays(
    session: AsyncSession, child: Child, start: date, end: date
) -> list[tuple[str, date, date]]:
    if child.preloaded.holidays is not None and _covered(child, start, end):
        found = [
            (name, date.fromisoformat(first), date.fromisoformat(last))
            for name, first, last in child.preloaded.holidays
        ]
        return sorted(
            ((n, f, last) for n, f, last in found if f <= end and last >= start),
            key=lambda h: h[1],
        )
    rows = await session.execute(
        select(Holiday.name, Holiday.starts_on, Holiday.ends_on)
        .where(
            Holiday.school_id == child.school_id,
            Holiday.starts_on <= end,
            Holiday.ends_on >= start,
        )
        .order_by(Holiday.starts_on)
    )
    return [(n, s, e) for n, s, e in rows]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _holiday_on(holidays: list[tuple[str, date, date]], day: date) -> str | None:
    return next((name for name, s, e in holidays if s <= day <= e), None)


async def _build_days(
    session: AsyncSession,
    child: Child,
    start: date,
    end: date,
    *,
    with_news: bool = True,
) -> list[Day]:
    """The days of [start, end]: generated lessons, else the timetable's slots (honouring
    odd/even weeks), holidays and weekends; grades, homework and attendance attached."""
    if child.class_id is None or child.year is None:
        return [Day(d, DayKind.OUTSIDE) for d in _days(start, end)]
    year = child.year
    lesson_rows = await _lesson_rows(session, child, start, end)
    holidays = await _holidays(session, child, start, end)
    lessons_by_day: dict[date, list[LessonItem]] = defaultdict(list)
    for row in lesson_rows:
        mark = None
        if child.scopes.attendance and row.status is not None:
            mark = AttendanceMark(AttendanceStatus(row.status), row.minutes_late, row.reason)
        lessons_by_day[row.date].append(
            LessonItem(
                id=row.id,
                number=row.lesson_number,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                subject_id=row.subject_id,
                subject=row.subject,
                room=row.room,
                topic=row.topic,
                teacher=row.teacher,
                replacement=row.replacement,
                instead_of=row.instead_of,
                cancelled=bool(row.cancelled),
                cancel_reason=row.cancel_reason,
                attendance=mark if mark and mark.status != AttendanceStatus.PRESENT else None,
            )
        )
    days: list[Day] = []
    need_slots: list[Day] = []
    for day in _days(start, end):
        holiday = _holiday_on(holidays, day)
        if lessons_by_day.get(day):
            days.append(Day(day, DayKind.LESSONS, holiday, lessons_by_day[day]))
        elif holiday is not None:
            days.append(Day(day, DayKind.HOLIDAY, holiday))
        elif not year.starts_on <= day <= year.ends_on:
            days.append(Day(day, DayKind.OUTSIDE))
        else:
            days.append(Day(day, DayKind.FREE))
            need_slots.append(days[-1])
    if need_slots:
        slots = await _slots(session, child, start, end)
        for entry in need_slots:
            for slot in slots:
                if slot_row_applies(slot, entry.date, year.starts_on):
                    entry.lessons.append(
                        LessonItem(
                            id=None,
                            number=slot.lesson_number,
                            starts_at=slot.starts_at,
                            ends_at=slot.ends_at,
                            subject_id=slot.subject_id,
                            subject=slot.name,
                            room=slot.room,
                            teacher=slot.full_name,
                            planned=True,
                        )
                    )
            if entry.lessons:
                entry.kind = DayKind.PLANNED
            elif entry.date.isoweekday() >= 6:
                entry.kind = DayKind.WEEKEND
    if with_news:
        await _attach_news(session, child, start, end, days)
    return days


async def _attach_news(
    session: AsyncSession, child: Child, start: date, end: date, days: list[Day]
) -> None:
    """Attach grades (where allowed) and homework (where allowed) to the days' lessons."""
    by_date = {d.date: d for d in days}
    lesson_of: dict[int, LessonItem] = {
        lesson.id: lesson for d in days for lesson in d.lessons if lesson.id is not None
    }
    if child.scopes.grades:
        for row in await _grade_rows(session, child, start, end):
            item = _grade_item(row)
            lesson = lesson_of.get(item.lesson_id)
            if lesson is not None:
                lesson.grades.append(item)
            elif item.date in by_date:
                by_date[item.date].grades.append(item)
    if child.scopes.homework:
        for row in await _homework_rows(session, child, start, end):
            task = _homework_item(row)
            given = lesson_of.get(task.lesson_id)
            if given is not None:
                given.given.append(task)
            due_day = by_date.get(task.due_date)
            if due_day is not None:
                same = [x for x in due_day.lessons if x.subject_id == task.subject_id]
                target = next((x for x in same if not x.cancelled), same[0] if same else None)
                if target is not None:
                    target.due.append(task)
                else:
                    due_day.due.append(task)
    if not child.scopes.schedule:  # a tutor without the timetable sees only what is theirs
        for day in days:
            day.lessons = [lesson for lesson in day.lessons if lesson.has_news]


async def day_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    offset: int = 0,
    now: datetime | None = None,
) -> DayView:
    """One day of the diary (`day` None: today in the school's zone), `offset` days on."""
    child = await open_child(session, actor, student_id, now=now, day=day, around=True)
    wanted = (day or child.today) + timedelta(days=offset)
    (built,) = await _build_days(session, child, wanted, wanted)
    return DayView(child, built)


async def week_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    now: datetime | None = None,
) -> WeekView:
    """The week (Monday to Sunday) holding `day`: lessons with grades and homework."""
    child = await open_child(session, actor, student_id, now=now, day=day, around=True)
    return await _week(session, child, day or child.today, with_news=True)


async def schedule_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    now: datetime | None = None,
) -> WeekView:
    """The timetable of the week holding `day`: odd/even-week slots, replacements and
    cancellations from the generated lessons."""
    child = await open_child(
        session, actor, student_id, Action.VIEW_SCHEDULE, now=now, day=day, around=True
    )
    return await _week(session, child, day or child.today, with_news=False)


async def _week(session: AsyncSession, child: Child, day: date, *, with_news: bool) -> WeekView:
    """The week (Monday to Sunday) holding `day`, with its odd/even parity once the school
    year has begun."""
    monday = monday_of(day)
    sunday = monday + timedelta(days=6)
    days = await _build_days(session, child, monday, sunday, with_news=with_news)
    parity = None
    if child.year is not None and child.year.starts_on <= sunday:
        parity = week_parity(monday, child.year.starts_on)
    return WeekView(child, monday, days, parity)


FIRST_DAY = date(2000, 1, 1)


LAST_DAY = date(2099, 12, 31)


def ordinal_day(value: int) -> date | None:
    """A date from callback data (an ordinal); 0 or anything outside 2000–2099 is None."""
    if not FIRST_DAY.toordinal() <= value <= LAST_DAY.toordinal():
        return None
    return date.fromordinal(value)
