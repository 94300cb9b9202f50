"""Sample contexts for the journal templates: hostile names, topics, comments and reasons, a
class of 35 students with several marks each, every status and every action of the trail."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from db.enums import AttachmentKind, AttendanceStatus, GradeKind, PeriodKind, SubmissionStatus
from services.core.audit import AuditAction, Trail, TrailLine
from services.core.grading import ScaleSpec, keyboard_values
from services.journal import (
    Absence,
    AssignmentItem,
    AssignmentLessons,
    AttachmentView,
    Candidate,
    CommentView,
    DayView,
    GradeDetail,
    HomeworkBrief,
    HomeworkScreen,
    LessonCard,
    LessonContext,
    LessonItem,
    Mark,
    ReplacementPage,
    RosterLine,
    RunStep,
    SeenBy,
    StudentSheet,
    SubmissionDetail,
    SubmissionItem,
    SubmissionList,
    UnseenGrade,
    UnseenReport,
)
from services.journal.periods import PeriodLine, PeriodRef, PeriodSheet, period_choices
from tests.samples.base import HOSTILE, WHEN

DAY = date(2026, 12, 1)
FIVE = ScaleSpec.default("five")
HUNDRED = ScaleSpec.default("hundred")


def _lesson(**changes: Any) -> LessonContext:
    fields: dict[str, Any] = {
        "id": 1,
        "assignment_id": 2,
        "class_id": 3,
        "subject_id": 4,
        "year_id": 5,
        "school_id": 6,
        "date": DAY,
        "lesson_number": 2,
        "starts_at": time(9, 0),
        "ends_at": time(9, 45),
        "room": "<101>",
        "topic": HOSTILE,
        "cancelled": False,
        "cancel_reason": None,
        "teacher_id": 7,
        "replacement_teacher_id": 8,
        "class_name": "<7B>",
        "subject_name": HOSTILE,
        "teacher_name": HOSTILE,
        "replacement_name": HOSTILE,
        "timezone": "Europe/Moscow",
        "scale": FIVE,
    }
    fields.update(changes)
    return LessonContext(**fields)


LESSON = _lesson()
PLAIN = _lesson(topic=None, room=None, replacement_teacher_id=None, replacement_name=None)
CANCELLED = _lesson(cancelled=True, scale=HUNDRED)


def _marks(n: int) -> list[Mark]:
    values = ["5", "4-", "2", "pass", "fail", "87"]
    return [
        Mark(
            i,
            values[i % len(values)],
            list(GradeKind)[i % 5],
            [1.0, 2.0, 1.5][i % 3],
            HOSTILE if i % 2 else None,
            DAY + timedelta(days=7) if i % 3 == 0 else None,
            i % 2,
            i % 3,
            WHEN,
        )
        for i in range(n)
    ]


STATUSES = [None, *AttendanceStatus]
ROSTER = [
    RosterLine(
        n,
        n,
        HOSTILE,
        STATUSES[n % len(STATUSES)],
        7 if STATUSES[n % len(STATUSES)] == AttendanceStatus.LATE else None,
        HOSTILE if STATUSES[n % len(STATUSES)] == AttendanceStatus.EXCUSED else None,
        _marks(n % 4),
    )
    for n in range(1, 36)
]
HOMEWORK = HomeworkBrief(9, HOSTILE * 3, DAY + timedelta(days=2), 2, 5, 3)


def _card(**changes: Any) -> LessonCard:
    fields: dict[str, Any] = {
        "lesson": LESSON,
        "roster": ROSTER,
        "homework": [HOMEWORK],
        "values": keyboard_values(FIVE),
        "today": DAY,
        "can_write": True,
        "can_replace": True,
        "class_journal": True,
        "closed": False,
    }
    fields.update(changes)
    return LessonCard(**fields)


ITEMS = [
    LessonItem(
        i,
        DAY,
        i,
        time(8 + i, 0),
        3,
        "<7B>",
        HOSTILE,
        "<101>",
        HOSTILE if i % 2 else None,
        i == 2,
        i == 3,
        i == 4,
        True,
        i % 2 == 0,
        i,
    )
    for i in range(1, 8)
]
COMMENTS = [CommentView(1, HOSTILE, HOSTILE, WHEN), CommentView(2, HOSTILE, "ok", WHEN)]
SHEET = StudentSheet(LESSON, ROSTER[4], COMMENTS, keyboard_values(FIVE), DAY, True, True, False)
DETAIL = GradeDetail(
    lesson=LESSON,
    student_id=1,
    student_name=HOSTILE,
    mark=_marks(3)[1],
    author=HOSTILE,
    updated_at=WHEN,
    announce_at=WHEN,
    announced=False,
    seen_by=[SeenBy(HOSTILE, WHEN), SeenBy("Мама", WHEN)],
    comments=COMMENTS,
    values=keyboard_values(FIVE),
    hold_choices={1: DAY, 2: DAY, 3: DAY},
    can_write=True,
    closed=True,
)
FILES = [
    AttachmentView(AttachmentKind.DOCUMENT, "f1", HOSTILE, id=1),
    AttachmentView(AttachmentKind.PHOTO, "f2", None, id=2),
    AttachmentView(AttachmentKind.DOCUMENT, "f3", None, id=3),
]
SUBMISSIONS = [
    SubmissionItem(i, i, HOSTILE, status, WHEN, i, HOSTILE, HOSTILE if i % 2 else None)
    for i, status in enumerate(SubmissionStatus, 1)
]
PERIODS = [
    PeriodRef(1, PeriodKind.QUARTER, 1, date(2026, 9, 1), date(2026, 11, 1), WHEN),
    PeriodRef(2, PeriodKind.QUARTER, 2, date(2026, 11, 9), date(2026, 12, 29), None),
    PeriodRef(3, PeriodKind.TRIMESTER, 1, date(2026, 9, 1), date(2026, 11, 30), None),
    PeriodRef(4, PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 30), None),
    PeriodRef(5, PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31), None),
]
PERIOD_LINES = [
    PeriodLine(n, n, HOSTILE, 3.456 if n % 3 else None, n, "4" if n % 3 else None,
               ["5", None, "4"][n % 3])
    for n in range(1, 36)
]  # fmt: skip
ASSIGNMENT = AssignmentItem(2, 3, "<7B>", HOSTILE, True)


def _period(period: PeriodRef, **changes: Any) -> PeriodSheet:
    fields: dict[str, Any] = {
        "assignment": ASSIGNMENT,
        "period": period,
        "periods": PERIODS,
        "lines": PERIOD_LINES,
        "scale": FIVE,
        "choices": period_choices(FIVE),
        "can_write": True,
        "can_close": True,
    }
    fields.update(changes)
    return PeriodSheet(**fields)


GRADE_SNAP = {"value": "4-", "kind": "oral", "weight": 1.0, "hidden_until": None, "deleted": False}
ATT = {"status": "absent", "minutes_late": None, "reason": None}
TRAIL_ACTIONS: list[tuple[AuditAction, Any, Any]] = [
    (AuditAction.GRADE_CREATE, None, GRADE_SNAP),
    (AuditAction.GRADE_UPDATE, GRADE_SNAP, {**GRADE_SNAP, "value": "5", "kind": "test"}),
    (AuditAction.GRADE_DELETE, GRADE_SNAP, None),
    (AuditAction.GRADE_HOLD, GRADE_SNAP, {**GRADE_SNAP, "hidden_until": "2026-12-24"}),
    (AuditAction.GRADE_HOLD, GRADE_SNAP, GRADE_SNAP),
    (AuditAction.GRADE_UNDO, GRADE_SNAP, {**GRADE_SNAP, "deleted": True, "undo_of": 1}),
    (AuditAction.ATTENDANCE_CREATE, None, ATT),
    (AuditAction.ATTENDANCE_BULK, None, {**ATT, "status": "present"}),
    (AuditAction.ATTENDANCE_UPDATE, ATT, {**ATT, "status": "late"}),
    (AuditAction.ATTENDANCE_UNDO, ATT, {"status": None, "undo_of": 2}),
    (AuditAction.PERIOD_GRADE_SET, None, {"value": "4", "period_id": 1, "assignment_id": 2}),
    (AuditAction.PERIOD_GRADE_SET, {"value": "4"}, {"value": "pass"}),
    (AuditAction.LESSON_TOPIC, {"topic": None}, {"topic": HOSTILE}),
    (AuditAction.LESSON_CANCEL, None, None),
    (AuditAction.LESSON_RESTORE, None, None),
    (AuditAction.LESSON_REPLACEMENT, None, None),
    (AuditAction.HOMEWORK_CREATE, None, {"text": HOSTILE}),
    (AuditAction.HOMEWORK_UPDATE, {"text": HOSTILE}, {"text": HOSTILE}),
    (AuditAction.HOMEWORK_DUE, None, None),
    (AuditAction.SUBMISSION_REVIEW, None, {"status": "accepted"}),
    (AuditAction.SUBMISSION_REVIEW, None, {"status": "returned"}),
    (AuditAction.PERIOD_CLOSE, None, None),
]
TRAIL_LINES = [
    TrailLine(i, WHEN, HOSTILE, action, action.split(".")[0], HOSTILE, HOSTILE, DAY, old, new,
              HOSTILE if i % 2 else None)
    for i, (action, old, new) in enumerate(TRAIL_ACTIONS)
]  # fmt: skip
UNSEEN = [UnseenGrade(i, DAY, HOSTILE, HOSTILE, v, v == "2", i % 2 == 0)
          for i, v in enumerate(["2", "2-", "5", "pass"])]  # fmt: skip

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "journal/day.html.j2": [
        {"view": DayView(DAY, DAY, 0, None, ITEMS, True, False)},
        {"view": DayView(DAY, DAY - timedelta(days=1), 3, "<7B>", ITEMS, True, False)},
        {"view": DayView(DAY, DAY, 3, HOSTILE, [], False, True)},
        {"view": DayView(DAY, DAY, 0, None, [], True, False)},
        {"view": DayView(DAY, DAY, 0, None, [], False, False)},
    ],
    "journal/pick.html.j2": [
        {"what": what, "day": DAY, "empty": empty}
        for what in ("class", "subject", "week")
        for empty in (False, True)
    ],
    "journal/assignment.html.j2": [
        {"view": AssignmentLessons(ASSIGNMENT, ITEMS, 0, True)},
        {"view": AssignmentLessons(AssignmentItem(2, 3, HOSTILE, HOSTILE, False), [], 1, False)},
    ],
    "journal/lesson.html.j2": [
        {"card": _card(), "notice": HOSTILE},
        {"card": _card(lesson=PLAIN, homework=[], can_write=False, closed=True), "notice": ""},
        {"card": _card(lesson=CANCELLED, roster=[], today=DAY - timedelta(days=1)), "notice": ""},
        {"card": _card(homework=[HOMEWORK, HOMEWORK]), "notice": ""},
    ],
    "journal/roster.html.j2": [
        {"card": _card(), "mode": mode, "notice": notice}
        for mode in ("g", "a", "e")
        for notice in ("", HOSTILE)
    ],
    "journal/student.html.j2": [
        {"sheet": SHEET, "kind": GradeKind.TEST, "notice": HOSTILE},
        {
            "sheet": StudentSheet(PLAIN, ROSTER[0], [], [], DAY, False, False, True),
            "kind": GradeKind.ORAL,
            "notice": "",
        },
    ],
    "journal/run.html.j2": [
        {
            "step": RunStep(LESSON, line, line.number, 35, keyboard_values(FIVE), 4),
            "kind": kind,
            "weight": 1.5,
            "notice": HOSTILE,
        }
        for line, kind in zip(ROSTER[:5], GradeKind, strict=True)
    ],
    "journal/grade.html.j2": [
        {"detail": DETAIL, "notice": HOSTILE},
        {
            "detail": GradeDetail(
                **{
                    **DETAIL.__dict__,
                    "announced": True,
                    "seen_by": [],
                    "comments": [],
                    "closed": False,
                    "author": None,
                    "updated_at": None,
                    "mark": _marks(2)[0],
                }
            ),
            "notice": "",
        },
        {"detail": GradeDetail(**{**DETAIL.__dict__, "mark": _marks(1)[0]}), "notice": ""},
    ],
    "journal/homework.html.j2": [
        {"screen": HomeworkScreen(LESSON, HOMEWORK, FILES, [DAY], True), "notice": HOSTILE},
        {"screen": HomeworkScreen(PLAIN, None, [], [], True), "notice": ""},
        {"screen": HomeworkScreen(PLAIN, None, [], [], False), "notice": ""},
        {
            "screen": HomeworkScreen(LESSON, HomeworkBrief(1, "", DAY, 0, 0, 0), [], [DAY], False),
            "notice": "",
        },
    ],
    "journal/submissions.html.j2": [
        {"view": SubmissionList(LESSON, 9, SUBMISSIONS * 12, [HOSTILE] * 45)},
        {"view": SubmissionList(LESSON, 9, [], [])},
        {"view": SubmissionList(LESSON, None, [], [])},
    ],
    "journal/submission.html.j2": [
        {"detail": SubmissionDetail(LESSON, item, FILES, True), "notice": HOSTILE}
        for item in SUBMISSIONS
    ],
    "journal/settings.html.j2": [
        {"card": _card(), "notice": HOSTILE},
        {"card": _card(lesson=CANCELLED), "notice": ""},
        {"card": _card(lesson=PLAIN), "notice": ""},
    ],
    "journal/replacement.html.j2": [
        {
            "page": ReplacementPage(
                LESSON, [Candidate(i, HOSTILE, i % 2 == 0) for i in range(10)], 1, True
            )
        },
        {"page": ReplacementPage(PLAIN, [], 0, False)},
    ],
    "journal/period.html.j2": [{"sheet": _period(period), "notice": HOSTILE} for period in PERIODS]
    + [{"sheet": _period(PERIODS[1], lines=[], can_write=False), "notice": ""}],
    "journal/period_student.html.j2": [
        {"sheet": _period(PERIODS[1]), "line": line} for line in PERIOD_LINES[:3]
    ]
    + [{"sheet": _period(PERIODS[0], can_write=False), "line": PERIOD_LINES[0]}],
    "journal/period_close.html.j2": [{"sheet": _period(period)} for period in PERIODS]
    + [{"sheet": _period(PERIODS[1], lines=[])}],
    "journal/audit.html.j2": [
        {"trail": Trail(1, 0, HOSTILE, HOSTILE, DAY, None, TRAIL_LINES[:10], 0, True)},
        {"trail": Trail(0, 1, None, None, None, HOSTILE, TRAIL_LINES[10:], 2, False)},
        {"trail": Trail(1, 0, "<7B>", HOSTILE, DAY, None, [], 0, False)},
    ],
    "journal/unseen.html.j2": [
        {
            "report": UnseenReport(
                3,
                HOSTILE,
                DAY,
                (UNSEEN[:2] * 8)[:15],
                [Absence(DAY, 3, HOSTILE, HOSTILE, i % 2 == 0) for i in range(15)],
                UNSEEN[2:] * 5,
                100,
            )
        },
        {"report": UnseenReport(3, "<7B>", DAY, [], [], [], 0)},
    ],
    "journal/prompt.html.j2": [
        {"key": key, "details": {"old": "4-", "new": "pass", "name": HOSTILE, "example": "<4>"}}
        for key in (
            "reason_change",
            "reason_delete",
            "reason_closed",
            "value",
            "topic",
            "homework",
            "files",
            "excuse",
            "return_comment",
            "period_value",
        )
    ],
    "journal/error.html.j2": [
        {"key": key, "details": {"value": HOSTILE[:20], "limit": 500}}
        for key in (
            "invalid_value",
            "lesson_in_future",
            "lesson_cancelled",
            "period_closed",
            "grade_gone",
            "nothing_to_undo",
            "too_late_to_undo",
            "changed_since",
            "already_announced",
            "bad_date",
            "too_long",
            "empty_homework",
            "no_homework",
            "no_periods",
            "run_done",
            "need_text",
            "expired",
            "unknown",
        )
    ],
    "journal/toast.html.j2": [
        {
            "key": key,
            "details": {
                "name": HOSTILE,
                "value": "4-",
                "old": "pass",
                "day": DAY,
                "status": AttendanceStatus.LATE,
                "count": 3,
            },
        }
        for key in (
            "grade",
            "changed",
            "kind",
            "deleted",
            "held",
            "released",
            "attendance",
            "all_present",
            "undone",
            "saved",
            "files",
            "reviewed",
            "confirmed",
            "closed",
            "cancelled",
            "run_done",
            "skipped",
        )
    ],
}
