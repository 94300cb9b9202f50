"""Callback data of the diary: the student a screen is about, dates as ordinals, ids.

Every field is re-checked by the diary service against the current actor; a forged student,
period, subject or homework id gets a polite refusal."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Count, Day, Id


class DayCb(CallbackData, prefix="dd"):
    """The day view of `day` (a date ordinal; 0: today)."""

    student_id: Id
    day: Day = 0


class WeekCb(CallbackData, prefix="dw"):
    """The week holding `day` (a date ordinal; 0: this week)."""

    student_id: Id
    day: Day = 0


class ScheduleCb(CallbackData, prefix="dt"):
    """The timetable of the week holding `day` (a date ordinal; 0: this week)."""

    student_id: Id
    day: Day = 0


class GradesCb(CallbackData, prefix="dg"):
    """Grades: a period (0: the current one, or the chosen year's) and a subject (0: all).
    `entry`: opened from the menu (the "new since you last looked" mark moves)."""

    student_id: Id
    period_id: Id = 0
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


class HomeworkItemCb(CallbackData, prefix="dhi"):
    student_id: Id
    homework_id: Id


class HomeworkFilesCb(CallbackData, prefix="dhf"):
    """Re-send a homework's attachments from `offset`."""

    student_id: Id
    homework_id: Id
    offset: Count = 0


class SubmitOp(enum.StrEnum):
    START = "s"
    DONE = "d"
    CANCEL = "c"


class SubmitCb(CallbackData, prefix="dsb"):
    """A student hands in homework: start, finish, or cancel."""

    homework_id: Id
    op: SubmitOp


class AttendanceCb(CallbackData, prefix="da"):
    student_id: Id
    period_id: Id = 0


class ReportCb(CallbackData, prefix="dr"):
    student_id: Id
    period_id: Id = 0


class CalendarFileCb(CallbackData, prefix="dic"):
    """The student's lessons and homework due dates as an .ics file (sent as a document)."""

    student_id: Id


class ReportCardCb(CallbackData, prefix="drc"):
    """The report card as a PDF, of the period chosen on the report screen (0: the current
    one), or with `whole_year` of the school year holding it."""

    student_id: Id
    period_id: Id = 0
    whole_year: bool = False


class ProgressChartCb(CallbackData, prefix="drp"):
    """The progress chart (a picture) of the period chosen on the report screen (0: the
    current one)."""

    student_id: Id
    period_id: Id = 0
