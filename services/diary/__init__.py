"""The diary as families see it: a day, a week, the timetable, grades, homework, attendance,
and the family report.

Every screen is read for one student the actor follows (their own record, a child, or a
trusted grant) and checked against the access policy; a trusted person sees only the scopes
granted. Each screen costs a fixed handful of statements whatever the size of the school:

* the student's context (name, class, academic year, the school's time zone): one statement;
* then one statement per kind of data shown (lessons with the student's attendance, holidays,
  timetable slots for days without generated lessons, grades, homework with the student's
  submission, periods, period grades), never one per row.

Families never see deleted grades nor grades a teacher holds back (`hidden_until` in the
future). Dates are the school's calendar dates; "today" is today in the school's time zone.

Inside, by responsibility: `child` (who is looked at, scopes, ended access), `days` (lessons,
days, weeks, the timetable), `periods`, `grades` (with the calculator), `homework` (and
submissions), `attendance`, `reports` (the family report) and `menu` (the entry screen).
Callers use this package's names; the submodules are free to move.
"""

from services.core.files import Attachment, NewFile
from services.diary.attendance import (
    INCIDENT_LIMIT,
    AttendanceMark,
    AttendanceTotals,
    AttendanceView,
    Incident,
    attendance_totals,
    attendance_view,
)
from services.diary.child import (
    Child,
    EndedAccess,
    Scopes,
    YearInfo,
    ended_access,
    open_child,
    record_opened,
    scopes_for,
)
from services.diary.days import (
    FIRST_DAY,
    LAST_DAY,
    Day,
    DayKind,
    DayView,
    LessonItem,
    WeekView,
    day_view,
    monday_of,
    ordinal_day,
    schedule_view,
    week_view,
)
from services.diary.grades import (
    TABLE_NAME_WIDTH,
    CalculatorView,
    GradeItem,
    GradesView,
    SubjectGrades,
    Target,
    YearsView,
    calculator_view,
    fit_name,
    grades_view,
    plan_targets,
    set_grades_spoiler,
    subject_summaries,
    years_view,
)
from services.diary.homework import (
    ATTACHMENTS_PER_PRESS,
    COMMENT_LIMIT,
    MAX_SUBMISSION_FILES,
    SUBJECT_HOMEWORK_DAYS,
    SUBJECT_HOMEWORK_LIMIT,
    UPCOMING_HOMEWORK_LIMIT,
    FileInfo,
    HomeworkDetail,
    HomeworkItem,
    HomeworkListView,
    SubjectItem,
    SubmissionInfo,
    homework_attachments,
    homework_detail,
    homework_list,
    start_submission,
    submit_homework,
)
from services.diary.menu import DiaryMenu, diary_menu
from services.diary.periods import PeriodInfo, current_period, period_list, pick_period
from services.diary.reports import FamilyReport, family_report

__all__ = [
    "ATTACHMENTS_PER_PRESS",
    "COMMENT_LIMIT",
    "FIRST_DAY",
    "INCIDENT_LIMIT",
    "LAST_DAY",
    "MAX_SUBMISSION_FILES",
    "SUBJECT_HOMEWORK_DAYS",
    "SUBJECT_HOMEWORK_LIMIT",
    "TABLE_NAME_WIDTH",
    "UPCOMING_HOMEWORK_LIMIT",
    "Attachment",
    "AttendanceMark",
    "AttendanceTotals",
    "AttendanceView",
    "CalculatorView",
    "Child",
    "Day",
    "DayKind",
    "DayView",
    "DiaryMenu",
    "EndedAccess",
    "FamilyReport",
    "FileInfo",
    "GradeItem",
    "GradesView",
    "HomeworkDetail",
    "HomeworkItem",
    "HomeworkListView",
    "Incident",
    "LessonItem",
    "NewFile",
    "PeriodInfo",
    "Scopes",
    "SubjectGrades",
    "SubjectItem",
    "SubmissionInfo",
    "Target",
    "WeekView",
    "YearInfo",
    "YearsView",
    "attendance_totals",
    "attendance_view",
    "calculator_view",
    "current_period",
    "day_view",
    "diary_menu",
    "ended_access",
    "family_report",
    "fit_name",
    "grades_view",
    "homework_attachments",
    "homework_detail",
    "homework_list",
    "monday_of",
    "open_child",
    "ordinal_day",
    "period_list",
    "pick_period",
    "plan_targets",
    "record_opened",
    "schedule_view",
    "scopes_for",
    "set_grades_spoiler",
    "start_submission",
    "subject_summaries",
    "submit_homework",
    "week_view",
    "years_view",
]
