"""The teacher's journal: a day's lessons, the lesson card and its roster, grades, attendance,
homework and submissions, topic / cancellation / replacement, Undo, the "unseen" list, and
period grades.

One module per responsibility; this package re-exports their public API, so callers write
`from services import journal` and `journal.add_grade(...)`:

- `context`: the lesson and its context, the access and closed-period checks every read and
  write starts with, the lesson lock and the small shared helpers;
- `views`: what the journal shows (roster, a day's lessons and pickers, the lesson card, a
  student's sheet, a grade's detail, the run-through);
- `grades`, `attendance`, `undo`: the writes of grades and marks and their undo;
- `homework`: homework and submissions; `lessons`: topic, cancellation, replacement;
- `unseen`: what families have not seen; `periods`: period grades and closing a period.

Every function takes the current `Actor` and asks `services.core.access` before it reads or
writes anything. A write commits its unit of work (the change, its audit entries and its outbox
rows) in one transaction before it returns.
"""

from services.journal import periods
from services.journal.attendance import (
    NEXT_STATUS,
    NOTIFIED_ATTENDANCE,
    AttendanceWrite,
    cycle_attendance,
    mark_all_present,
    set_attendance,
)
from services.journal.context import (
    REASON_LIMIT,
    LessonContext,
    NoReasonNeeded,
    ReasonRequired,
    clean_text,
)
from services.journal.grades import (
    DEFAULT_KIND,
    HOLD_PERIOD_END,
    HOLD_TWO_WEEKS,
    HOLD_WEEK,
    GradeWrite,
    add_grade,
    announce_at,
    change_grade,
    delete_grade,
    hold_grade,
    hold_until,
)
from services.journal.homework import (
    TEXT_LIMIT,
    HomeworkScreen,
    SubmissionDetail,
    SubmissionItem,
    SubmissionList,
    homework_screen,
    review_submission,
    save_homework,
    set_due_date,
    submission_detail,
    submissions,
)
from services.journal.lessons import (
    REPLACEMENT_PAGE,
    TOPIC_LIMIT,
    Candidate,
    ReplacementPage,
    replacement_candidates,
    set_cancelled,
    set_replacement,
    set_topic,
)
from services.journal.undo import (
    UNDO_ACTIONS,
    UNDO_LOOKBACK,
    UNDOABLE,
    UndoResult,
    undo_last,
)
from services.journal.unseen import (
    Absence,
    UnseenGrade,
    UnseenReport,
    unseen_report,
)
from services.journal.views import (
    AWAY,
    LESSONS_PAGE,
    AssignmentItem,
    AssignmentLessons,
    AttachmentView,
    Choice,
    CommentView,
    DayView,
    GradeDetail,
    HomeworkBrief,
    LessonCard,
    LessonItem,
    Mark,
    RosterLine,
    RunStep,
    SeenBy,
    StudentSheet,
    assignment_lessons,
    day_view,
    grade_detail,
    journal_classes,
    journal_subjects,
    lesson_card,
    run_step,
    student_sheet,
)

__all__ = [
    "AWAY",
    "DEFAULT_KIND",
    "HOLD_PERIOD_END",
    "HOLD_TWO_WEEKS",
    "HOLD_WEEK",
    "LESSONS_PAGE",
    "NEXT_STATUS",
    "NOTIFIED_ATTENDANCE",
    "REASON_LIMIT",
    "REPLACEMENT_PAGE",
    "TEXT_LIMIT",
    "TOPIC_LIMIT",
    "UNDOABLE",
    "UNDO_ACTIONS",
    "UNDO_LOOKBACK",
    "Absence",
    "AssignmentItem",
    "AssignmentLessons",
    "AttachmentView",
    "AttendanceWrite",
    "Candidate",
    "Choice",
    "CommentView",
    "DayView",
    "GradeDetail",
    "GradeWrite",
    "HomeworkBrief",
    "HomeworkScreen",
    "LessonCard",
    "LessonContext",
    "LessonItem",
    "Mark",
    "NoReasonNeeded",
    "ReasonRequired",
    "ReplacementPage",
    "RosterLine",
    "RunStep",
    "SeenBy",
    "StudentSheet",
    "SubmissionDetail",
    "SubmissionItem",
    "SubmissionList",
    "UndoResult",
    "UnseenGrade",
    "UnseenReport",
    "add_grade",
    "announce_at",
    "assignment_lessons",
    "change_grade",
    "clean_text",
    "cycle_attendance",
    "day_view",
    "delete_grade",
    "grade_detail",
    "hold_grade",
    "hold_until",
    "homework_screen",
    "journal_classes",
    "journal_subjects",
    "lesson_card",
    "mark_all_present",
    "periods",
    "replacement_candidates",
    "review_submission",
    "run_step",
    "save_homework",
    "set_attendance",
    "set_cancelled",
    "set_due_date",
    "set_replacement",
    "set_topic",
    "student_sheet",
    "submission_detail",
    "submissions",
    "undo_last",
    "unseen_report",
]
