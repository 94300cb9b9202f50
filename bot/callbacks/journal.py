"""Callback data of the teacher's journal (prefixes start with "j"). Ids, small ints and enums
only; dates travel as ordinals (`date.toordinal()`); grade values as indexes into the scale's
keyboard (`services.grading.keyboard_values`). The services check every id against the actor."""

from __future__ import annotations

import enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.callbacks import COUNT_MAX, Count, Day, Id
from db.enums import GradeKind


class Pick(enum.StrEnum):
    CLASS = "c"
    SUBJECT = "s"
    WEEK = "w"


class LessonView(enum.StrEnum):
    CARD = "c"
    SETTINGS = "s"
    HOMEWORK = "h"
    SUBMISSIONS = "u"
    AUDIT = "a"


class RosterMode(enum.StrEnum):
    GRADES = "g"
    ATTENDANCE = "a"
    EXCUSE = "e"


class RunOp(enum.StrEnum):
    START = "s"
    SHOW = "v"
    SKIP = "k"
    ABSENT = "a"
    KIND = "t"
    STOP = "x"


class MarkOp(enum.StrEnum):
    OPEN = "o"
    VALUE = "v"
    KIND = "k"
    DELETE = "d"
    HOLD = "h"
    RELEASE = "r"


class AttendOp(enum.StrEnum):
    ALL = "a"
    CYCLE = "c"  # in the attendance roster
    TOGGLE = "t"  # on a student's screen
    EXCUSE = "e"


class LessonOp(enum.StrEnum):
    TOPIC = "t"
    CANCEL = "c"
    RESTORE = "r"
    REPLACE = "p"
    SET_REPLACEMENT = "s"
    CLEAR_REPLACEMENT = "x"
    HOMEWORK = "h"
    FILES = "f"
    DUE = "d"


class SubOp(enum.StrEnum):
    OPEN = "o"
    FILES = "f"
    ACCEPT = "a"
    RETURN = "r"


class PeriodOp(enum.StrEnum):
    OPEN = "o"
    CONFIRM = "c"
    CLOSE_ASK = "q"
    CLOSE = "x"


class JDayCb(CallbackData, prefix="jd"):
    """The lessons of a day: the actor's own (class_id 0) or a class's."""

    day: Day
    class_id: Id = 0


class JPickCb(CallbackData, prefix="jpk"):
    """Pick a class, a subject (of a class, or the actor's own) or a day of a week."""

    what: Pick
    day: Day
    class_id: Id = 0


class JAssignCb(CallbackData, prefix="jas"):
    """The lessons of one teaching assignment, newest first."""

    assignment_id: Id
    page: Count = 0


class JLessonCb(CallbackData, prefix="jl"):
    """A view of a lesson; `page` ≥ 1 on the homework view re-sends that page of its files."""

    lesson_id: Id
    view: LessonView = LessonView.CARD
    page: Count = 0


class JLessonOpCb(CallbackData, prefix="jlo"):
    lesson_id: Id
    op: LessonOp
    arg: Id = 0


class JRosterCb(CallbackData, prefix="jro"):
    lesson_id: Id
    mode: RosterMode
    page: Count = 0


class JStudentCb(CallbackData, prefix="jst"):
    """A student in a lesson, with the kind the next grade will have."""

    lesson_id: Id
    student_id: Id
    kind: GradeKind = GradeKind.CLASSWORK


class JGradeCb(CallbackData, prefix="jg"):
    """One tap = one grade: `value` indexes the scale's keyboard; `run` continues a run-through."""

    lesson_id: Id
    student_id: Id
    value: Count
    kind: GradeKind
    run: bool = False


class JTypeCb(CallbackData, prefix="jty"):
    """Type a value (any value of the scale, e.g. 87 on a hundred-point scale)."""

    lesson_id: Id
    student_id: Id
    kind: GradeKind


class JRunCb(CallbackData, prefix="jr"):
    lesson_id: Id
    student_id: Id
    kind: GradeKind
    op: RunOp


class JMarkCb(CallbackData, prefix="jm"):
    """An existing grade: open it, change its value or kind, hold it back, delete it."""

    grade_id: Id
    op: MarkOp = MarkOp.OPEN
    arg: Id = 0


class JAttendCb(CallbackData, prefix="jat"):
    lesson_id: Id
    student_id: Id
    op: AttendOp


class JUndoCb(CallbackData, prefix="ju"):
    """Undo the last change in the lesson; `student_id`/`kind` resume a run-through."""

    lesson_id: Id
    student_id: Id = 0
    kind: GradeKind | None = None


class JSubmissionCb(CallbackData, prefix="jsb"):
    submission_id: Id
    op: SubOp = SubOp.OPEN
    page: Count = 0


class JPeriodCb(CallbackData, prefix="jpe"):
    assignment_id: Id
    period_id: Id = 0
    op: PeriodOp = PeriodOp.OPEN


PeriodValue = Annotated[int, Field(ge=-2, le=COUNT_MAX)]


class JPeriodGradeCb(CallbackData, prefix="jpg"):
    """A student's period grade: `value` ≥ 0 sets a keyboard value, -1 opens the keyboard,
    -2 asks for a typed value."""

    assignment_id: Id
    period_id: Id
    student_id: Id
    value: PeriodValue = -1


class JAuditCb(CallbackData, prefix="jau"):
    """The trail of a lesson (`lesson_id`) or of a student (`student_id`)."""

    lesson_id: Id = 0
    student_id: Id = 0
    page: Count = 0


class JUnseenCb(CallbackData, prefix="jun"):
    class_id: Id


class JCancelCb(CallbackData, prefix="jx"):
    """Leave a typed-input prompt; back to the lesson when there is one."""

    lesson_id: Id = 0
