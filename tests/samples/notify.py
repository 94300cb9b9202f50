"""Sample contexts for the notification and settings templates (hostile data)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from db.enums import DeliveryMode, NotificationKind, SubmissionStatus
from services.notify.digests import (
    DigestChild,
    DueLine,
    LessonChange,
    PeriodInfo,
    SubjectAverage,
    SummaryChild,
)
from services.notify.model import (
    AttendanceLine,
    ChildBlock,
    CommentLine,
    GradeLine,
    HomeworkLine,
    SubmissionFacts,
)
from services.notify.outbox import DeadLetter
from services.notify.preferences import (
    KINDS,
    QUIET_OFF,
    Audience,
    Preferences,
    SettingsView,
)
from services.notify.reactions import GradeRef, ThreadView
from tests.samples.base import HOSTILE, WHEN

DAY = date(2026, 12, 31)
LONG = ("Решить № 1–25 <b>&</b> 😀 " * 40).strip()


def _grade(change: str, value: str = "4+", old: str | None = None) -> GradeLine:
    return GradeLine(1, change, HOSTILE, value, old, "test", 2.0, DAY, HOSTILE, HOSTILE, HOSTILE)


GRADES = [
    _grade("new", "5"),
    _grade("new", "pass"),
    _grade("changed", "5", "4-"),
    _grade("changed", "fail", None),
    _grade("deleted", "2"),
    GradeLine(2, "new", "Мат", "3", None, "oral", 1.0, DAY, None, None, None),
]
HOMEWORK = [
    HomeworkLine(HOSTILE, DAY, LONG, 3, HOSTILE),
    HomeworkLine("Мат", DAY, "<i>стр. 5</i>", 0, None),
]
ABSENCES = [
    AttendanceLine(HOSTILE, DAY, 3, "absent", None, HOSTILE),
    AttendanceLine(HOSTILE, DAY, 1, "late", 12, None),
    AttendanceLine("Мат", DAY, 2, "late", None, None),
]
THREAD = [
    CommentLine(HOSTILE, HOSTILE, WHEN, False),
    CommentLine(HOSTILE, "<b>ok</b> & 😀", WHEN, True),
    CommentLine("", HOSTILE, WHEN, False),  # the author deleted their data
]
REF = GradeRef(1, 1, HOSTILE, HOSTILE, "pass", "exam", DAY, HOSTILE)
AVERAGES = [
    SubjectAverage(HOSTILE, ["5", "4-", "pass"], "4.33", 0.8, "5"),
    SubjectAverage("Мат", ["fail"], "0%", 0.0, None),
]


def _prefs(
    modes: dict[NotificationKind, DeliveryMode], urgent: frozenset[NotificationKind]
) -> Preferences:
    return Preferences(1, Audience.FAMILY, modes, urgent, (time(21), time(8)), time(20))


SETTINGS = [
    SettingsView(
        _prefs(dict.fromkeys(KINDS, DeliveryMode.INSTANT), frozenset({NotificationKind.GRADE})),
        KINDS,
        0,
        3,
        dead_letters=7,
    ),
    SettingsView(
        Preferences(
            2,
            Audience.STUDENT,
            {**dict.fromkeys(KINDS, DeliveryMode.OFF), NotificationKind.HOMEWORK: "digest"},
            frozenset(),
            None,
            time(18, 30),
        ),
        KINDS,
        QUIET_OFF,
        -1,
    ),
    SettingsView(
        _prefs({NotificationKind.REPLY: DeliveryMode.INSTANT}, frozenset()),
        (NotificationKind.REPLY,),
        -1,
        0,
    ),
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "notify/grade.html.j2": [
        {"children": [ChildBlock(HOSTILE, "<7B>", GRADES), ChildBlock(HOSTILE, None, GRADES[:1])]},
        {"children": [ChildBlock(HOSTILE, None, GRADES * 10)]},
    ],
    "notify/homework.html.j2": [
        {"children": [ChildBlock(HOSTILE, "<7B>", HOMEWORK), ChildBlock(HOSTILE, None, HOMEWORK)]}
    ],
    "notify/attendance.html.j2": [
        {"children": [ChildBlock(HOSTILE, "<7B>", ABSENCES), ChildBlock(HOSTILE, None, ABSENCES)]}
    ],
    "notify/submission_reviewed.html.j2": [
        {
            "submission": SubmissionFacts(
                1, 1, SubmissionStatus.ACCEPTED, HOSTILE, DAY, LONG, HOSTILE, HOSTILE
            )
        },
        {
            "submission": SubmissionFacts(
                1, 1, SubmissionStatus.RETURNED, HOSTILE, DAY, "x", None, None
            )
        },
    ],
    "notify/comment.html.j2": [
        {
            "author": HOSTILE,
            "text": HOSTILE,
            "student_name": HOSTILE,
            "class_name": "<7B>",
            "grade": GRADES[0],
            "thread": THREAD,
        },
        {
            "author": HOSTILE,
            "text": "?",
            "student_name": HOSTILE,
            "class_name": None,
            "grade": GRADES[1],
            "thread": [],
        },
    ],
    "notify/reply.html.j2": [
        {
            "teacher": HOSTILE,
            "text": HOSTILE,
            "question": HOSTILE,
            "student_name": HOSTILE,
            "grade": GRADES[1],
        },
        {
            "teacher": HOSTILE,
            "text": "ok",
            "question": None,
            "student_name": HOSTILE,
            "grade": GRADES[0],
        },
    ],
    "notify/digest.html.j2": [
        {
            "date": DAY,
            "children": [
                DigestChild(HOSTILE, "<7B>", GRADES[:2], ABSENCES, HOMEWORK, DAY),
                DigestChild(HOSTILE, None, [], [], HOMEWORK[:1], DAY),
                DigestChild(HOSTILE, None, GRADES[:1]),
            ],
        }
    ],
    "notify/weekly.html.j2": [
        {
            "week_start": DAY,
            "week_end": DAY,
            "children": [
                SummaryChild(HOSTILE, "<7B>", AVERAGES),
                SummaryChild(HOSTILE, None, AVERAGES[:1]),
            ],
        }
    ],
    "notify/homework_due.html.j2": [
        {
            "date": DAY,
            "student_name": HOSTILE,
            "items": [DueLine(HOSTILE, LONG, 2, True), DueLine("Мат", "<i>x</i>", 0, False)],
        }
    ],
    "notify/timetable.html.j2": [
        {
            "date": DAY,
            "children": [
                ChildBlock(
                    HOSTILE,
                    "<7B>",
                    [
                        LessonChange(1, time(8, 30), HOSTILE, True, HOSTILE, None, None),
                        LessonChange(2, time(9, 25), HOSTILE, False, None, HOSTILE, "<12>"),
                        LessonChange(3, time(10, 20), "Мат", False, None, None, None),
                    ],
                ),
                ChildBlock(
                    HOSTILE, None, [LessonChange(4, time(11), "Мат", True, None, None, None)]
                ),
            ],
        }
    ],
    "notify/period_summary.html.j2": [
        {
            "period": PeriodInfo(1, kind, 2, DAY, DAY),
            "children": [SummaryChild(HOSTILE, "<7B>", AVERAGES)],
        }
        for kind in ("quarter", "trimester", "semester", "year")
    ],
    "notify/seen.html.j2": [{"first": True}, {"first": False}],
    "notify/prompt.html.j2": [
        {"view": ThreadView(REF, THREAD * 4, True, False), "to_teacher": True},
        {"view": ThreadView(REF, [], False, True), "to_teacher": False},
    ],
    "notify/thread.html.j2": [
        {"view": ThreadView(REF, THREAD * 3, True, True)},
        {"view": ThreadView(REF, [], False, False)},
    ],
    "notify/sent.html.j2": [
        {"to_teacher": True, "text": HOSTILE},
        {"to_teacher": False, "text": "ok"},
    ],
    "notify/cancelled.html.j2": [{"had": True}, {"had": False}],
    "notify/error.html.j2": [
        {"key": key}
        for key in (
            "grade_gone",
            "empty",
            "too_long",
            "too_many",
            "expired",
            "not_text",
            "bad_option",
        )
    ],
    "settings/main.html.j2": [{"view": view} for view in SETTINGS],
    "settings/dead_letters.html.j2": [
        {
            "letters": [
                DeadLetter(1, WHEN, HOSTILE, NotificationKind.GRADE, "Bad Request: <chat> & co")
            ]
            * 10,
            "count": 12,
        },
        {"letters": [], "count": 0},
    ],
    "settings/retried.html.j2": [{"count": 1}, {"count": 5}],
    "settings/erase_confirm.html.j2": [
        {"children": [HOSTILE] * 6, "student": False, "parent": True},
        {"children": [], "student": True, "parent": False},
    ],
    "settings/erased.html.j2": [{}],
    "settings/erase_error.html.j2": [{"key": "staff"}, {"key": "not_yours"}],
}
