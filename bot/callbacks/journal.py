"""Callback data of the teacher's journal (prefixes start with "j"). Ids, small ints and enums
only; dates travel as ordinals (`date.toordinal()`); grade values as indexes into the scale's
keyboard (`services.core.grading.keyboard_values`). The services check every id against the actor.

A field means one thing: where a button does something different (set a value, change the
kind, hold a grade back), it has a factory of its own rather than a shared `arg`."""

from __future__ import annotations

import enum
from types import MappingProxyType

from aiogram.filters.callback_data import CallbackData
from pydantic import BaseModel

from bot.callbacks import Count, Day, Id
from db.enums import GradeKind
from services.journal import HOLD_PERIOD_END, HOLD_TWO_WEEKS, HOLD_WEEK


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
    DELETE = "d"
    RELEASE = "r"


class Hold(enum.StrEnum):
    """How long a grade is held back from the family."""

    WEEK = "w"
    TWO_WEEKS = "t"
    PERIOD_END = "p"


#: the service's hold choice (`services.journal.hold_until`) of each button
HOLD_CHOICES = MappingProxyType(
    {Hold.WEEK: HOLD_WEEK, Hold.TWO_WEEKS: HOLD_TWO_WEEKS, Hold.PERIOD_END: HOLD_PERIOD_END}
)


class AttendOp(enum.StrEnum):
    ALL = "a"
    CYCLE = "c"  # in the attendance roster
    TOGGLE = "t"  # on a student's screen
    EXCUSE = "e"


class LessonOp(enum.StrEnum):
    TOPIC = "t"  # ask for the topic
    CANCEL = "c"
    RESTORE = "r"
    CLEAR_REPLACEMENT = "x"
    HOMEWORK = "h"  # ask for the homework text
    FILES = "f"  # ask for homework files


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


class PeriodGradeOp(enum.StrEnum):
    OPEN = "o"  # the student's keyboard of period grades
    TYPE = "t"  # ask for a typed period grade


# --- groups of fields several factories begin with (packed first, in this order) ------------


class LessonStudentFields(BaseModel):
    """A student in a lesson (`student_id` 0 where an op is for the whole class: starting a
    run-through, marking everyone present)."""

    lesson_id: Id
    student_id: Id


class PeriodStudentFields(BaseModel):
    """A student's period grade in a teaching assignment."""

    assignment_id: Id
    period_id: Id
    student_id: Id


# --- factories ------------------------------------------------------------------------------


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
    """A view of a lesson."""

    lesson_id: Id
    view: LessonView = LessonView.CARD


class JHomeworkFilesCb(CallbackData, prefix="jhf"):
    """Re-send a page of the lesson's homework files (1: the first), then its screen."""

    lesson_id: Id
    page: Count


class JLessonOpCb(CallbackData, prefix="jlo"):
    lesson_id: Id
    op: LessonOp


class JDueCb(CallbackData, prefix="jdu"):
    """Set the due date of the lesson's homework."""

    lesson_id: Id
    day: Day


class JReplaceCb(CallbackData, prefix="jrp"):
    """A page of the teachers who could replace the lesson's teacher."""

    lesson_id: Id
    page: Count = 0


class JReplaceSetCb(CallbackData, prefix="jrs"):
    """Give the lesson to a replacement teacher."""

    lesson_id: Id
    teacher_id: Id


class JRosterCb(CallbackData, prefix="jro"):
    lesson_id: Id
    mode: RosterMode
    page: Count = 0


class JStudentCb(CallbackData, LessonStudentFields, prefix="jst"):
    """A student in a lesson, with the kind the next grade will have."""

    kind: GradeKind = GradeKind.CLASSWORK


class JGradeCb(CallbackData, LessonStudentFields, prefix="jg"):
    """One tap = one grade: `value` indexes the scale's keyboard; `run` continues a run-through."""

    value: Count
    kind: GradeKind
    run: bool = False


class JTypeCb(CallbackData, LessonStudentFields, prefix="jty"):
    """Type a value (any value of the scale, e.g. 87 on a hundred-point scale)."""

    kind: GradeKind


class JRunCb(CallbackData, LessonStudentFields, prefix="jr"):
    """A step of a run-through: grade the students of the lesson one after another."""

    kind: GradeKind
    op: RunOp


class JMarkCb(CallbackData, prefix="jm"):
    """An existing grade: open it, delete it, or show it to the family now."""

    grade_id: Id
    op: MarkOp = MarkOp.OPEN


class JMarkValueCb(CallbackData, prefix="jmv"):
    """Change a grade's value: `value` indexes the scale's keyboard."""

    grade_id: Id
    value: Count


class JMarkKindCb(CallbackData, prefix="jmk"):
    grade_id: Id
    kind: GradeKind


class JHoldCb(CallbackData, prefix="jmh"):
    """Hold a grade back from the family for a while."""

    grade_id: Id
    hold: Hold


class JAttendCb(CallbackData, LessonStudentFields, prefix="jat"):
    """A student's attendance in the lesson."""

    op: AttendOp


class JUndoCb(CallbackData, prefix="ju"):
    """Undo the last change in the lesson. From a run-through, `kind` is its kind and
    `student_id` the student it shows (the run resumes there); elsewhere both are unset."""

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


class JPeriodGradeCb(CallbackData, PeriodStudentFields, prefix="jpg"):
    """A student's period grade: open its keyboard, or ask for a typed value."""

    op: PeriodGradeOp = PeriodGradeOp.OPEN


class JPeriodValueCb(CallbackData, PeriodStudentFields, prefix="jpv"):
    """Set a student's period grade: `value` indexes the period's choices."""

    value: Count


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
