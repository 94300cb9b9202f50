"""Sample contexts for the diary templates: hostile names and texts, every kind of day,
spoilers on and off, every scale, trusted scopes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    GradeKind,
    PeriodKind,
    SlotFrequency,
    SubmissionStatus,
)
from services.core.actors import Role
from services.core.grading import ScaleSpec
from services.diary import (
    AttendanceMark,
    AttendanceTotals,
    AttendanceView,
    CalculatorView,
    Child,
    Day,
    DayKind,
    DayView,
    DiaryMenu,
    EndedAccess,
    FamilyReport,
    FileInfo,
    GradeItem,
    GradesView,
    HomeworkDetail,
    HomeworkItem,
    HomeworkListView,
    Incident,
    LessonItem,
    PeriodInfo,
    Scopes,
    SubjectGrades,
    SubjectItem,
    SubmissionInfo,
    Target,
    WeekView,
    YearInfo,
    YearsView,
    plan_targets,
)
from tests.samples.base import HOSTILE, WHEN

TODAY = date(2026, 11, 10)
YEAR = YearInfo(1, "2026/2027", date(2026, 9, 1), date(2027, 5, 31), True)
OLD_YEAR = YearInfo(2, "<2025/2026>", date(2025, 9, 1), date(2026, 5, 31), False)
CHILD = Child(
    student_id=1,
    name=HOSTILE,
    class_id=1,
    class_name="<7B>",
    school_id=1,
    zone=ZoneInfo("Europe/Moscow"),
    today=TODAY,
    year=YEAR,
    via=Role.PARENT,
    scopes=Scopes(),
    spoiler_setting=False,
)
OWN_SPOILER = replace(CHILD, via=Role.STUDENT, spoiler_setting=True)
TUTOR = replace(CHILD, via=Role.TRUSTED, scopes=Scopes(True, True, False, False), expires_at=WHEN)
CHILDREN = [CHILD, OWN_SPOILER, TUTOR]

FIVE = ScaleSpec.default("five")
HUNDRED = ScaleSpec.default("hundred")
PASS_FAIL = ScaleSpec.default("pass_fail")


def _grade(value: str, kind: GradeKind, weight: float = 1.0, *, new: bool = False) -> GradeItem:
    return GradeItem(
        id=1,
        subject_id=1,
        subject=HOSTILE,
        lesson_id=1,
        date=TODAY,
        value=value,
        score=4.0,
        kind=kind,
        weight=weight,
        comment=HOSTILE,
        is_new=new,
        edited=new,
    )


GRADES = [_grade(v, k, w, new=n) for v, k, w, n in [
    ("5", GradeKind.ORAL, 1.0, True),
    ("4−", GradeKind.TEST, 2.0, False),
    ("pass", GradeKind.CLASSWORK, 1.5, False),
    ("100", GradeKind.EXAM, 3.0, True),
    ("3", GradeKind.HOMEWORK, 1.0, False),
]]  # fmt: skip

HOMEWORK = [
    HomeworkItem(1, 1, HOSTILE, HOSTILE * 3, TODAY, TODAY - timedelta(days=2), 1, 2, status,
                 HOSTILE)
    for status in [None, *SubmissionStatus]
]  # fmt: skip


def _lesson(**changes: Any) -> LessonItem:
    base = LessonItem(
        id=1,
        number=1,
        starts_at=time(8, 30),
        ends_at=time(9, 15),
        subject_id=1,
        subject=HOSTILE,
        room="<101>",
        topic=HOSTILE,
        teacher=HOSTILE,
        grades=list(GRADES),
        given=HOMEWORK[:2],
        due=HOMEWORK[2:],
        attendance=AttendanceMark(AttendanceStatus.LATE, 7, HOSTILE),
    )
    return replace(base, **changes)


LESSONS = [
    _lesson(),
    _lesson(number=2, cancelled=True, cancel_reason=HOSTILE, attendance=None),
    _lesson(number=3, replacement=HOSTILE, instead_of=HOSTILE,
            attendance=AttendanceMark(AttendanceStatus.EXCUSED, None, HOSTILE)),
    _lesson(number=4, id=None, planned=True, grades=[], given=[], due=[],
            attendance=AttendanceMark(AttendanceStatus.ABSENT, None, None)),
]  # fmt: skip

DAYS = [
    Day(TODAY, DayKind.LESSONS, HOSTILE, LESSONS, HOMEWORK[:1], GRADES[:1]),
    Day(TODAY + timedelta(days=1), DayKind.PLANNED, None, LESSONS[3:]),
    Day(TODAY + timedelta(days=2), DayKind.HOLIDAY, HOSTILE),
    Day(TODAY + timedelta(days=3), DayKind.FREE),
    Day(TODAY + timedelta(days=4), DayKind.OUTSIDE),
    Day(TODAY + timedelta(days=5), DayKind.WEEKEND),
    Day(TODAY + timedelta(days=6), DayKind.LESSONS, None, []),
]
MONDAY = TODAY - timedelta(days=TODAY.weekday())
WEEK_DAYS = [replace(day, date=MONDAY + timedelta(days=i)) for i, day in enumerate(DAYS)]

PERIODS = [
    PeriodInfo(1, PeriodKind.QUARTER, 1, date(2026, 9, 1), date(2026, 10, 25), closed=True),
    PeriodInfo(2, PeriodKind.QUARTER, 2, date(2026, 11, 5), date(2026, 12, 28)),
    PeriodInfo(3, PeriodKind.TRIMESTER, 1, date(2026, 9, 1), date(2026, 11, 30)),
    PeriodInfo(4, PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 28)),
    PeriodInfo(5, PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31)),
]


def _subject(
    spec: ScaleSpec, average: float | None, predicted: str | None, **kw: Any
) -> SubjectGrades:
    return SubjectGrades(
        subject_id=1,
        name=HOSTILE,
        label="Ёжик & <Co>"[:13],
        short_name=HOSTILE[:20],
        scale=spec,
        grades=list(GRADES),
        average=average,
        predicted=predicted,
        **kw,
    )


SUBJECTS = [
    _subject(FIVE, 4.2345, "4", proposed="4", final="5"),
    _subject(FIVE, 3.5, "4"),
    _subject(HUNDRED, 78.25, "78"),
    _subject(PASS_FAIL, 0.75, "pass", final="fail"),
    replace(_subject(FIVE, None, None), grades=[]),
]
MANY = replace(SUBJECTS[0], grades=GRADES * 12)

TARGETS = [
    *plan_targets(FIVE, [(3.0, 1.0), (4.0, 2.0)], "4"),
    Target("5", 4.5, None, None),
    Target("pass", 0.5, [("pass", 2)], [("pass", 1)]),
]

TOTALS = AttendanceTotals(lessons=120, absent=3, excused=5, late=4, minutes_late=31)
INCIDENTS = [
    Incident(TODAY, n, HOSTILE, status, 5 if status == AttendanceStatus.LATE else None, HOSTILE)
    for n, status in enumerate(AttendanceStatus, 1)
]
SUBMISSION = SubmissionInfo(
    status=SubmissionStatus.RETURNED,
    comment=HOSTILE,
    teacher_comment=HOSTILE,
    submitted_at=WHEN,
    reviewed_at=WHEN,
    files=[FileInfo(AttachmentKind.DOCUMENT, HOSTILE), FileInfo(AttachmentKind.PHOTO, None)],
)

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "diary/menu.html.j2": [
        {"menu": DiaryMenu(child, several)} for child in CHILDREN for several in (False, True)
    ],
    "diary/no_child.html.j2": [
        {"ended": None},
        {"ended": EndedAccess(HOSTILE, WHEN, revoked=True, trusted=True)},
        {"ended": EndedAccess(HOSTILE, WHEN, revoked=False, trusted=True)},
        {"ended": EndedAccess(HOSTILE, WHEN, revoked=True, trusted=False)},
    ],
    "errors/access.html.j2": [
        {"key": "denied", "details": {"action": "view_grades", "target_id": 7}},
        {"key": "ended", "details": {"ended": EndedAccess(HOSTILE, WHEN, False, True)}},
        {"key": "ended", "details": {"ended": EndedAccess(HOSTILE, WHEN, True, False)}},
    ],
    "diary/no_scope.html.j2": [
        {"child_name": HOSTILE, "scope": scope}
        for scope in ("grades", "homework", "attendance", "schedule")
    ],
    "diary/day.html.j2": [{"view": DayView(child, day)} for child in CHILDREN for day in DAYS],
    "diary/week.html.j2": [
        {"view": WeekView(child, MONDAY, WEEK_DAYS, parity)}
        for child, parity in zip(
            CHILDREN, (SlotFrequency.ODD, SlotFrequency.EVEN, None), strict=True
        )
    ],
    "diary/schedule.html.j2": [
        {"view": WeekView(CHILD, MONDAY, WEEK_DAYS, parity)}
        for parity in (SlotFrequency.ODD, SlotFrequency.EVEN, None)
    ],
    "diary/grades.html.j2": [
        {"view": GradesView(child, PERIODS, period, subjects, None)}
        for child in CHILDREN
        for period in PERIODS[:2]
        for subjects in (SUBJECTS, [])
    ]
    + [{"view": GradesView(replace(CHILD, year=OLD_YEAR), PERIODS, PERIODS[4], SUBJECTS, None)}],
    "diary/subject.html.j2": [
        {"view": GradesView(child, PERIODS, period, SUBJECTS, subject)}
        for child in CHILDREN
        for period in PERIODS[:2]
        for subject in [*SUBJECTS, MANY]
    ],
    "diary/calculator.html.j2": [
        {"view": CalculatorView(child, period, subject, targets)}
        for child in CHILDREN
        for period in PERIODS[:2]
        for subject in SUBJECTS
        for targets in (TARGETS, [])
    ],
    "diary/years.html.j2": [
        {"view": YearsView(CHILD, [YEAR, OLD_YEAR])},
        {"view": YearsView(OWN_SPOILER, [])},
    ],
    "diary/homework.html.j2": [
        {"view": HomeworkListView(child, HOMEWORK * 4, [SubjectItem(1, HOSTILE, "<x>")], subject)}
        for child in CHILDREN
        for subject in (None, SubjectItem(1, HOSTILE, "<x>"))
    ]
    + [
        {"view": HomeworkListView(CHILD, [], [], subject)}
        for subject in (None, SubjectItem(1, HOSTILE, "<x>"))
    ],
    "diary/homework_item.html.j2": [
        {
            "detail": HomeworkDetail(child, item, submission, may_submit, refusal),
            "notice": notice,
        }
        for child in CHILDREN
        for item, submission in ((HOMEWORK[0], None), (HOMEWORK[3], SUBMISSION))
        for may_submit, refusal in ((True, None), (False, "past_due"), (False, "accepted"))
        for notice in (None, "submitted", "cancelled")
    ],
    "diary/submit.html.j2": [
        {
            "item": HOMEWORK[0],
            "files": files,
            "comment": comment,
            "replacing": replacing,
            "max_files": 10,
        }
        for files, comment, replacing in (
            ([], None, False),
            ([HOSTILE, None] * 5, HOSTILE, True),
        )
    ],
    "diary/submit_refused.html.j2": [
        {"key": key} for key in ("past_due", "accepted", "no_files", "too_many_files", "stale")
    ],
    "diary/attachment.html.j2": [
        {"item": HOMEWORK[0], "name": name, "number": 2, "total": 3} for name in (HOSTILE, None)
    ],
    "diary/attendance.html.j2": [
        {"view": AttendanceView(child, PERIODS, PERIODS[1], totals, incidents)}
        for child in CHILDREN
        for totals, incidents in (
            (TOTALS, INCIDENTS * 6),
            (AttendanceTotals(0, 0, 0, 0, 0), []),
        )
    ],
    "diary/report.html.j2": [
        {"report": FamilyReport(child, PERIODS, PERIODS[1], subjects, attendance)}
        for child in CHILDREN
        for subjects, attendance in (
            (SUBJECTS, TOTALS),
            ([], None),
            (None, AttendanceTotals(0, 0, 0, 0, 0)),
        )
    ],
}
