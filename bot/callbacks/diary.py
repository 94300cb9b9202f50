"""Callback data of the diary: the student a screen is about, dates as ordinals, ids.

Every field is re-checked by the diary service against the current actor; a forged student,
period, subject or homework id gets a polite refusal."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData
from pydantic import BaseModel

from bot.callbacks import Count, Day, Id

# --- groups of fields several factories begin with (packed first, in this order) ------------


class StudentDayFields(BaseModel):
    """A student's screen around a day: `day` is a date ordinal, 0 for today."""

    student_id: Id
    day: Day = 0


class StudentPeriodFields(BaseModel):
    """A student's screen of a period: `period_id` 0 is the current one."""

    student_id: Id
    period_id: Id = 0


class StudentHomeworkFields(BaseModel):
    """One homework of a student."""

    student_id: Id
    homework_id: Id


# --- factories ------------------------------------------------------------------------------


class DayCb(CallbackData, StudentDayFields, prefix="dd"):
    """The day view of `day` (0: today)."""


class WeekCb(CallbackData, StudentDayFields, prefix="dw"):
    """The week holding `day` (0: this week)."""


class ScheduleCb(CallbackData, StudentDayFields, prefix="dt"):
    """The timetable of the week holding `day` (0: this week)."""


class GradesCb(CallbackData, StudentPeriodFields, prefix="dg"):
    """Grades: a period (0: the current one, or the chosen year's) and a subject (0: all).
    `entry`: opened from the menu (the "new since you last looked" mark moves)."""

    subject_id: Id = 0
    year_id: Id = 0
    entry: bool = False


class CalcCb(CallbackData, prefix="dc"):
    """The "what do I need" calculator of a subject in a period."""

    student_id: Id
    period_id: Id
    subject_id: Id


class YearsCb(CallbackData, prefix="dy"):
    """Earlier school years."""

    student_id: Id


class SpoilerCb(CallbackData, prefix="dsp"):
    """A student switches grades under a spoiler on or off; the grades view to come back to."""

    on: bool
    period_id: Id = 0


class HomeworkCb(CallbackData, prefix="dh"):
    """Homework: upcoming (subject 0) or one subject's."""

    student_id: Id
    subject_id: Id = 0


class HomeworkItemCb(CallbackData, StudentHomeworkFields, prefix="dhi"):
    """A homework's screen."""


class HomeworkFilesCb(CallbackData, StudentHomeworkFields, prefix="dhf"):
    """Re-send a homework's attachments from `offset`."""

    offset: Count = 0


class SubmitOp(enum.StrEnum):
    START = "s"
    DONE = "d"
    CANCEL = "c"


class SubmitCb(CallbackData, prefix="dsb"):
    """A student hands in homework: start, finish, or cancel."""

    homework_id: Id
    op: SubmitOp


class AttendanceCb(CallbackData, StudentPeriodFields, prefix="da"):
    """Attendance in a period."""


class ReportCb(CallbackData, StudentPeriodFields, prefix="dr"):
    """The report screen of a period."""


class CalendarFileCb(CallbackData, prefix="dic"):
    """The student's lessons and homework due dates as an .ics file (sent as a document)."""

    student_id: Id


class ReportCardCb(CallbackData, StudentPeriodFields, prefix="drc"):
    """The report card as a PDF, of the period chosen on the report screen, or with
    `whole_year` of the school year holding it."""

    whole_year: bool = False


class ProgressChartCb(CallbackData, StudentPeriodFields, prefix="drp"):
    """The progress chart (a picture) of the period chosen on the report screen."""
