"""Timetable logic: week parity and generating dated lessons from the weekly slots."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import SlotFrequency
from db.jsonrows import json_rows
from db.models import (
    AcademicYear,
    Holiday,
    Lesson,
    SchoolClass,
    TeachingAssignment,
    TimetableSlot,
)


def week_number(day: date, year_start: date) -> int:
    """Week of the academic year: 1 is the ISO week (Mon–Sun) holding `year_start`."""
    monday = day - timedelta(days=day.weekday())
    first_monday = year_start - timedelta(days=year_start.weekday())
    return (monday - first_monday).days // 7 + 1


def week_parity(day: date, year_start: date) -> SlotFrequency:
    """`SlotFrequency.ODD` or `SlotFrequency.EVEN` for the week holding `day`."""
    return SlotFrequency.ODD if week_number(day, year_start) % 2 else SlotFrequency.EVEN


def slot_applies(
    frequency: SlotFrequency | str,
    weekday: int,
    valid_from: date,
    valid_to: date | None,
    day: date,
    year_start: date,
) -> bool:
    """Whether a slot (ISO `weekday` 1–7, every/odd/even week) holds a lesson on `day`."""
    if day.isoweekday() != weekday or day < valid_from:
        return False
    if valid_to is not None and day > valid_to:
        return False
    freq = SlotFrequency(frequency)
    return freq is SlotFrequency.WEEKLY or week_parity(day, year_start) is freq


SLOT_COLUMNS = (
    TimetableSlot.weekday,
    TimetableSlot.lesson_number,
    TimetableSlot.starts_at,
    TimetableSlot.ends_at,
    TimetableSlot.room,
    TimetableSlot.frequency,
    TimetableSlot.valid_from,
    TimetableSlot.valid_to,
)
"""A slot's columns that `slot_row_applies` and a lesson built from the slot read."""


def slot_in_force(start: date, end: date) -> ColumnElement[bool]:
    """A timetable slot valid on some day of [start, end] (`valid_to` NULL: open-ended)."""
    return and_(
        TimetableSlot.valid_from <= end,
        or_(TimetableSlot.valid_to.is_(None), TimetableSlot.valid_to >= start),
    )


def slot_row_applies(slot: Any, day: date, year_start: date) -> bool:
    """`slot_applies` for a row selected with `SLOT_COLUMNS`."""
    return slot_applies(
        slot.frequency, slot.weekday, slot.valid_from, slot.valid_to, day, year_start
    )


def _holiday_days(ranges: list[tuple[date, date]], start: date, end: date) -> set[date]:
    days: set[date] = set()
    for first, last in ranges:
        day = max(first, start)
        while day <= min(last, end):
            days.add(day)
            day += timedelta(days=1)
    return days


async def generate_lessons(
    session: AsyncSession,
    *,
    class_ids: list[int] | None,
    start: date,
    end: date,
) -> int:
    """Create the lessons of every applicable slot on the dates in [start, end].

    All classes when `class_ids` is None. Skips the school's holidays, dates outside the class's
    academic year and lessons that already exist (same assignment, date and lesson number), so
    it can be run again over the same range. One statement to read whatever the range (the
    slots, with their holidays and existing lessons), one to insert; no commit.
    Returns the number of lessons created.
    """
    if end < start or (class_ids is not None and not class_ids):
        return 0
    # with each slot, as JSON lists: its school's holidays in the range and the days its
    # assignment already has a lesson at its number (see `db.jsonrows`)
    holidays_of_school = (
        select(json_rows(Holiday.starts_on, Holiday.ends_on))
        .where(
            Holiday.school_id == SchoolClass.school_id,
            Holiday.starts_on <= end,
            Holiday.ends_on >= start,
        )
        .scalar_subquery()
    )
    lessons_of_slot = (
        select(json_rows(Lesson.date))
        .where(
            Lesson.assignment_id == TimetableSlot.assignment_id,
            Lesson.lesson_number == TimetableSlot.lesson_number,
            Lesson.date >= start,
            Lesson.date <= end,
        )
        .scalar_subquery()
    )
    slot_query = (
        select(
            TimetableSlot.id,
            TimetableSlot.assignment_id,
            *SLOT_COLUMNS,
            TeachingAssignment.class_id,
            TeachingAssignment.subject_id,
            SchoolClass.school_id,
            AcademicYear.starts_on,
            AcademicYear.ends_on,
            holidays_of_school.label("holidays"),
            lessons_of_slot.label("taken"),
        )
        .join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(
            slot_in_force(start, end),
            AcademicYear.starts_on <= end,
            AcademicYear.ends_on >= start,
        )
    )
    if class_ids is not None:
        slot_query = slot_query.where(TeachingAssignment.class_id.in_(class_ids))
    slots = (await session.execute(slot_query)).all()
    if not slots:
        return 0

    holidays: dict[int, set[date]] = {}
    taken: set[tuple[int, date, int]] = set()
    for slot in slots:
        if slot.school_id not in holidays:
            ranges = [(date.fromisoformat(f), date.fromisoformat(t)) for f, t in slot.holidays]
            holidays[slot.school_id] = _holiday_days(ranges, start, end)
        for (day_taken,) in slot.taken:
            taken.add((slot.assignment_id, date.fromisoformat(day_taken), slot.lesson_number))

    by_weekday: dict[int, list[Any]] = defaultdict(list)
    for slot in slots:
        by_weekday[slot.weekday].append(slot)
    rows: list[dict[str, Any]] = []
    day = start
    while day <= end:
        for slot in by_weekday.get(day.isoweekday(), ()):
            if not slot.starts_on <= day <= slot.ends_on:
                continue
            if day in holidays.get(slot.school_id, ()):
                continue
            if not slot_row_applies(slot, day, slot.starts_on):
                continue
            key = (slot.assignment_id, day, slot.lesson_number)
            if key in taken:
                continue
            taken.add(key)
            rows.append(
                {
                    "assignment_id": slot.assignment_id,
                    "class_id": slot.class_id,
                    "subject_id": slot.subject_id,
                    "slot_id": slot.id,
                    "date": day,
                    "lesson_number": slot.lesson_number,
                    "starts_at": slot.starts_at,
                    "ends_at": slot.ends_at,
                    "room": slot.room,
                    "cancelled": False,
                }
            )
        day += timedelta(days=1)
    if rows:
        await session.execute(insert(Lesson), rows)
    return len(rows)
