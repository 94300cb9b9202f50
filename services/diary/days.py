"""The diary as families see it: a day, a week, the timetable, grades, homework, attendance.

Every screen is read for one student the actor follows (their own record, a child, or a
trusted grant) and checked against the access policy; a trusted person sees only the scopes
granted. Each screen costs a fixed handful of statements whatever the size of the school:

* the student's context (name, class, academic year, the school's time zone): one statement;
* then one statement per kind of data shown (lessons with the student's attendance, holidays,
  timetable slots for days without generated lessons, grades, homework with the student's
  submission, periods, period grades), never one per row.

Families never see deleted grades nor grades a teacher holds back (`hidden_until` in the
future). Dates are the school's calendar dates; "today" is today in the school's time zone.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.base import utcnow
from db.enums import (
    AttachmentKind,
    AttendanceStatus,
    GradeKind,
    PeriodKind,
    ScaleKind,
    SlotFrequency,
    SubmissionStatus,
)
from db.models import (
    AcademicYear,
    Attendance,
    Enrollment,
    Grade,
    GradesSeen,
    GradingScale,
    Guardianship,
    Holiday,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    SubmissionFile,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from db.upsert import upsert
from services.core import links
from services.core.access import Action, can, child_ref, denied, require
from services.core.actors import Actor, ChildRef, Role
from services.core.enrolment import stay_covers
from services.core.errors import DomainError, Shown
from services.core.files import NewFile as NewFile
from services.core.grading import (
    ScaleSpec,
    display_value,
    grades_needed,
    period_value,
    threshold_for,
    weighted_average,
)
from services.core.schooltime import local_date, zone_of
from services.core.timetable import slot_applies, week_parity
from services.core.visibility import family_visible
from services.people import linking

TABLE_NAME_WIDTH = 13
UPCOMING_HOMEWORK_LIMIT = 25
SUBJECT_HOMEWORK_LIMIT = 15
SUBJECT_HOMEWORK_DAYS = 28
INCIDENT_LIMIT = 25
MAX_SUBMISSION_FILES = 10
COMMENT_LIMIT = 2000
ATTACHMENTS_PER_PRESS = 3
_FINE_KINDS = (PeriodKind.QUARTER, PeriodKind.TRIMESTER, PeriodKind.SEMESTER)
_READ_ACTIONS = (
    Action.VIEW_GRADES,
    Action.VIEW_HOMEWORK,
    Action.VIEW_ATTENDANCE,
    Action.VIEW_SCHEDULE,
)


# --- who is looked at -------------------------------------------------------------------


@dataclass(frozen=True)
class Scopes:
    """What the actor may see of this student (all four for parents and the student)."""

    grades: bool = True
    homework: bool = True
    attendance: bool = True
    schedule: bool = True

    @property
    def any(self) -> bool:
        return self.grades or self.homework or self.attendance or self.schedule


@dataclass(frozen=True)
class YearInfo:
    id: int
    name: str
    starts_on: date
    ends_on: date
    is_current: bool


@dataclass(frozen=True)
class Child:
    """The student a screen is about, as the current actor sees them."""

    student_id: int
    name: str
    class_id: int | None
    class_name: str | None
    school_id: int
    zone: ZoneInfo
    today: date
    year: YearInfo | None
    via: Role
    scopes: Scopes
    spoiler_setting: bool
    expires_at: datetime | None = None

    @property
    def is_own(self) -> bool:
        """The actor is this student."""
        return self.via == Role.STUDENT

    @property
    def spoiler(self) -> bool:
        """Grade values go under a spoiler (the student's own choice, for their own eyes)."""
        return self.is_own and self.spoiler_setting


@dataclass(frozen=True)
class EndedAccess:
    """Why a person no longer sees a student: a trusted grant expired or was revoked, or a
    guardian link was revoked."""

    student_name: str
    ended_at: datetime | None
    revoked: bool
    trusted: bool


async def scopes_for(session: AsyncSession, actor: Actor, student_id: int) -> Scopes:
    """The four read permissions, asked of the policy (no query for the actor's children)."""
    allowed = [await can(session, actor, action, student_id) for action in _READ_ACTIONS]
    return Scopes(*allowed)


async def ended_access(
    session: AsyncSession, actor: Actor, student_id: int | None = None, *, now: datetime
) -> EndedAccess | None:
    """The most recent trusted grant or guardian link of the actor that has ended (for one
    student, or any); None when there is none. Two statements at most."""
    if actor.account_id is None:
        return None
    ended_at = func.coalesce(TrustedAccess.revoked_at, TrustedAccess.expires_at)
    trusted = (
        select(Student.full_name, TrustedAccess.revoked_at, TrustedAccess.expires_at)
        .join(Student, Student.id == TrustedAccess.student_id)
        .where(
            TrustedAccess.account_id == actor.account_id,
            links.trust_ended(now),
        )
        .order_by(ended_at.desc())
        .limit(1)
    )
    if student_id is not None:
        trusted = trusted.where(TrustedAccess.student_id == student_id)
    row = (await session.execute(trusted)).first()
    if row is not None:
        name, revoked_at, expires_at = row
        revoked = revoked_at is not None
        return EndedAccess(name, revoked_at if revoked else expires_at, revoked, True)
    guardian = (
        select(Student.full_name, Guardianship.revoked_at)
        .join(Student, Student.id == Guardianship.student_id)
        .where(
            Guardianship.account_id == actor.account_id,
            links.guardianship_ended(),
        )
        .order_by(Guardianship.revoked_at.desc())
        .limit(1)
    )
    if student_id is not None:
        guardian = guardian.where(Guardianship.student_id == student_id)
    revoked_guardianship = (await session.execute(guardian)).first()
    if revoked_guardianship is not None:
        return EndedAccess(revoked_guardianship[0], revoked_guardianship[1], True, False)
    return None


async def _follow(
    session: AsyncSession, actor: Actor, student_id: int, action: Action | None, now: datetime
) -> tuple[ChildRef, Scopes]:
    """The actor's link to this student and what it allows; refuses (or explains an ended
    grant) when there is none. The diary shows only the students the actor follows."""
    ref = child_ref(actor, student_id)
    refused = action or Action.VIEW_SCHEDULE
    if ref is None:
        ended = await ended_access(session, actor, student_id, now=now)
        if ended is not None:  # the actor followed this student once: explain, in place
            raise DomainError(
                "access.ended",
                shown=Shown.SCREEN,
                action=refused,
                target_id=student_id,
                ended=ended,
            )
        raise denied(refused, student_id)
    if action is not None:
        await require(session, actor, action, student_id)
    scopes = await scopes_for(session, actor, student_id)
    if not scopes.any:
        raise denied(refused, student_id)
    return ref, scopes


def _pick_stay(
    rows: Sequence[Any], *, now: datetime, day: date | None, year_id: int | None, by_period: bool
) -> tuple[Any, ...] | None:
    """Of a student's stays (`_context`'s rows), the one a diary screen is about: the wanted
    year's (the period's, or `year_id`), else the year holding `day`; then a current year; then
    the stay covering the day shown, else the school-local today (`services.core.enrolment`:
    the class before a mid-year move for days before it); then the latest year and enrolment.
    A student who left keeps their last class here, so the family still reads its history.
    Returns the row's first eleven columns (None without rows)."""
    if not rows:
        return None
    on = day or local_date(now, zone_of(rows[0][3]))
    wanted = rows[0][-1] if by_period else year_id
    holding = day if wanted is None and not by_period else None

    def rank(row: Any) -> tuple[int, ...]:
        y_id, _name, y_start, y_end, y_cur, e_id, enrolled_on, left_on = row[6:14]
        return (
            0 if wanted is not None and y_id == wanted else 1,
            0 if holding is not None and y_start is not None and y_start <= holding <= y_end else 1,
            0 if y_cur else 1,
            0 if e_id is not None and stay_covers(enrolled_on, left_on, on) else 1,
            -y_start.toordinal() if y_start is not None else 1,
            -(enrolled_on or date.min).toordinal(),
            -(e_id or 0),
        )

    return tuple(min(rows, key=rank))[:11]


async def _context(
    session: AsyncSession,
    ref: ChildRef,
    scopes: Scopes,
    *,
    now: datetime,
    day: date | None = None,
    year_id: int | None = None,
    period_id: int | None = None,
) -> Child:
    """One statement: the student, the school's zone and every stay of theirs, of which
    `_pick_stay` keeps the class of the wanted year (the period's, the given one, the one
    holding `day`, else the current one)."""
    period_year: Any = null()
    if period_id is not None:
        period_year = select(Period.year_id).where(Period.id == period_id).scalar_subquery()
    rows = (
        await session.execute(
            select(
                Student.full_name,
                Student.school_id,
                Student.grades_spoiler,
                School.timezone,
                SchoolClass.id,
                SchoolClass.name,
                AcademicYear.id,
                AcademicYear.name,
                AcademicYear.starts_on,
                AcademicYear.ends_on,
                AcademicYear.is_current,
                Enrollment.id,
                Enrollment.enrolled_on,
                Enrollment.left_on,
                period_year,
            )
            .join(School, School.id == Student.school_id)
            .outerjoin(Enrollment, Enrollment.student_id == Student.id)
            .outerjoin(SchoolClass, SchoolClass.id == Enrollment.class_id)
            .outerjoin(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(Student.id == ref.student_id)
        )
    ).all()
    row = _pick_stay(rows, now=now, day=day, year_id=year_id, by_period=period_id is not None)
    if row is None:
        raise denied(Action.VIEW_SCHEDULE, ref.student_id)
    (name, school_id, spoiler, tz, class_id, class_name, y_id, y_name, y_start, y_end, y_cur) = row
    zone = zone_of(tz)
    year = YearInfo(y_id, y_name, y_start, y_end, bool(y_cur)) if y_id is not None else None
    if (year_id is not None or period_id is not None) and year is None:
        raise denied(Action.VIEW_GRADES, ref.student_id)
    if year_id is not None and year is not None and year.id != year_id:
        raise denied(Action.VIEW_GRADES, ref.student_id)
    return Child(
        student_id=ref.student_id,
        name=name,
        class_id=class_id,
        class_name=class_name,
        school_id=school_id,
        zone=zone,
        today=local_date(now, zone),
        year=year,
        via=ref.via,
        scopes=scopes,
        spoiler_setting=bool(spoiler),
        expires_at=ref.expires_at,
    )


async def open_child(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    action: Action | None = None,
    *,
    now: datetime | None = None,
    day: date | None = None,
    year_id: int | None = None,
    period_id: int | None = None,
) -> Child:
    """Check the actor may see this student (and do `action`) and load the student's context."""
    now = now or utcnow()
    ref, scopes = await _follow(session, actor, student_id, action, now)
    return await _context(
        session, ref, scopes, now=now, day=day, year_id=year_id, period_id=period_id
    )


async def record_opened(session: AsyncSession, actor: Actor, student_id: int) -> None:
    """Stamp "last opened the diary" on a guardian's link or a trusted grant (students are
    not tracked). Called when a diary is entered, not on every navigation step."""
    ref = child_ref(actor, student_id)
    if ref is not None and ref.via in (Role.PARENT, Role.TRUSTED):
        await linking.touch_opened(session, actor, student_id)
        await session.commit()


# --- lessons, days and weeks --------------------------------------------------------------


class DayKind(enum.StrEnum):
    LESSONS = "lessons"  # lessons generated for the day
    PLANNED = "planned"  # no lessons generated yet: the timetable's slots
    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    FREE = "free"  # a weekday without lessons
    OUTSIDE = "outside"  # outside the school year, or no class


@dataclass(frozen=True)
class GradeItem:
    id: int
    subject_id: int
    subject: str
    lesson_id: int
    date: date
    value: str
    score: float
    kind: GradeKind
    weight: float
    comment: str | None
    is_new: bool = False
    edited: bool = False


@dataclass(frozen=True)
class AttendanceMark:
    status: AttendanceStatus
    minutes_late: int | None
    reason: str | None


@dataclass(frozen=True)
class HomeworkItem:
    id: int
    subject_id: int
    subject: str
    text: str
    due_date: date
    given_on: date
    lesson_id: int
    attachments: int
    status: SubmissionStatus | None
    teacher_comment: str | None


@dataclass
class LessonItem:
    id: int | None
    number: int
    starts_at: time
    ends_at: time
    subject_id: int
    subject: str
    room: str | None
    topic: str | None = None
    teacher: str | None = None
    replacement: str | None = None
    instead_of: str | None = None
    cancelled: bool = False
    cancel_reason: str | None = None
    planned: bool = False
    grades: list[GradeItem] = field(default_factory=list)
    given: list[HomeworkItem] = field(default_factory=list)
    due: list[HomeworkItem] = field(default_factory=list)
    attendance: AttendanceMark | None = None

    @property
    def has_news(self) -> bool:
        """Anything besides the timetable: grades, homework or an attendance mark."""
        return bool(self.grades or self.given or self.due or self.attendance)


@dataclass
class Day:
    date: date
    kind: DayKind
    holiday: str | None = None
    lessons: list[LessonItem] = field(default_factory=list)
    due: list[HomeworkItem] = field(default_factory=list)  # due, but no lesson of the subject
    grades: list[GradeItem] = field(default_factory=list)  # not tied to a lesson of the day

    @property
    def homework(self) -> list[HomeworkItem]:
        """Every homework given or due this day (for buttons)."""
        items = [h for lesson in self.lessons for h in (*lesson.due, *lesson.given)]
        return items + self.due


@dataclass(frozen=True)
class DayView:
    child: Child
    day: Day


@dataclass(frozen=True)
class WeekView:
    child: Child
    monday: date
    days: list[Day]
    parity: SlotFrequency | None


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def _lesson_rows(
    session: AsyncSession, child: Child, start: date, end: date
) -> Sequence[Any]:
    teacher = aliased(Staff)
    replacement = aliased(Staff)
    slot_assignment = aliased(TeachingAssignment)
    slot_subject = aliased(Subject)
    columns: list[Any] = [
        Lesson.id,
        Lesson.date,
        Lesson.lesson_number,
        Lesson.starts_at,
        Lesson.ends_at,
        Lesson.room,
        Lesson.topic,
        Lesson.cancelled,
        Lesson.cancel_reason,
        Lesson.subject_id,
        Subject.name.label("subject"),
        teacher.full_name.label("teacher"),
        replacement.full_name.label("replacement"),
        slot_subject.name.label("instead_of"),
    ]
    if child.scopes.attendance:
        columns += [Attendance.status, Attendance.minutes_late, Attendance.reason]
    query = (
        select(*columns)
        .join(Subject, Subject.id == Lesson.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .outerjoin(teacher, teacher.id == TeachingAssignment.teacher_id)
        .outerjoin(replacement, replacement.id == Lesson.replacement_teacher_id)
        .outerjoin(TimetableSlot, TimetableSlot.id == Lesson.slot_id)
        .outerjoin(slot_assignment, slot_assignment.id == TimetableSlot.assignment_id)
        .outerjoin(
            slot_subject,
            and_(
                slot_subject.id == slot_assignment.subject_id, slot_subject.id != Lesson.subject_id
            ),
        )
        .where(Lesson.class_id == child.class_id, Lesson.date >= start, Lesson.date <= end)
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.starts_at, Lesson.id)
    )
    if child.scopes.attendance:
        query = query.outerjoin(
            Attendance,
            and_(Attendance.lesson_id == Lesson.id, Attendance.student_id == child.student_id),
        )
    return (await session.execute(query)).all()


async def _slot_rows(session: AsyncSession, child: Child, start: date, end: date) -> Sequence[Any]:
    return (
        await session.execute(
            select(
                TimetableSlot.weekday,
                TimetableSlot.lesson_number,
                TimetableSlot.starts_at,
                TimetableSlot.ends_at,
                TimetableSlot.room,
                TimetableSlot.frequency,
                TimetableSlot.valid_from,
                TimetableSlot.valid_to,
                TeachingAssignment.subject_id,
                Subject.name,
                Staff.full_name,
            )
            .join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .outerjoin(Staff, Staff.id == TeachingAssignment.teacher_id)
            .where(
                TeachingAssignment.class_id == child.class_id,
                TimetableSlot.valid_from <= end,
                or_(TimetableSlot.valid_to.is_(None), TimetableSlot.valid_to >= start),
            )
            .order_by(TimetableSlot.lesson_number, TimetableSlot.starts_at, TimetableSlot.id)
        )
    ).all()


async def _holidays(
    session: AsyncSession, child: Child, start: date, end: date
) -> list[tuple[str, date, date]]:
    rows = await session.execute(
        select(Holiday.name, Holiday.starts_on, Holiday.ends_on)
        .where(
            Holiday.school_id == child.school_id,
            Holiday.starts_on <= end,
            Holiday.ends_on >= start,
        )
        .order_by(Holiday.starts_on)
    )
    return [(n, s, e) for n, s, e in rows]


async def _grade_rows(
    session: AsyncSession,
    child: Child,
    start: date,
    end: date,
    *,
    subject_id: int | None = None,
) -> Sequence[Any]:
    query = (
        select(
            Grade.id,
            Grade.subject_id,
            Subject.name.label("subject"),
            Grade.lesson_id,
            Grade.date,
            Grade.value,
            Grade.score,
            Grade.weight,
            Grade.kind,
            Grade.comment,
            Grade.created_at,
            Grade.updated_at,
            GradingScale.kind.label("scale_kind"),
            GradingScale.min_score,
            GradingScale.max_score,
            GradingScale.pass_score,
            GradingScale.allow_modifiers,
        )
        .join(Subject, Subject.id == Grade.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(
            Grade.student_id == child.student_id,
            Grade.date >= start,
            Grade.date <= end,
            family_visible(child.today),
        )
        .order_by(Grade.date, Grade.id)
    )
    if subject_id is not None:
        query = query.where(Grade.subject_id == subject_id)
    return (await session.execute(query)).all()


def _grade_item(row: Any, seen_at: datetime | None = None) -> GradeItem:
    changed = row.updated_at or row.created_at
    return GradeItem(
        id=row.id,
        subject_id=row.subject_id,
        subject=row.subject,
        lesson_id=row.lesson_id,
        date=row.date,
        value=display_value(row.value),
        score=float(row.score),
        kind=GradeKind(row.kind),
        weight=float(row.weight),
        comment=row.comment,
        is_new=seen_at is not None and changed is not None and changed > seen_at,
        edited=row.updated_at is not None,
    )


def _attachment_count() -> Any:
    return (
        select(func.count(HomeworkAttachment.id))
        .where(HomeworkAttachment.homework_id == Homework.id)
        .correlate(Homework)
        .scalar_subquery()
        .label("attachments")
    )


def _homework_query(child: Child) -> Any:
    return (
        select(
            Homework.id,
            Homework.subject_id,
            Subject.name.label("subject"),
            Subject.short_name,
            Homework.text,
            Homework.due_date,
            Lesson.date.label("given_on"),
            Homework.lesson_id,
            _attachment_count(),
            HomeworkSubmission.status,
            HomeworkSubmission.teacher_comment,
        )
        .join(Lesson, Lesson.id == Homework.lesson_id)
        .join(Subject, Subject.id == Homework.subject_id)
        .outerjoin(
            HomeworkSubmission,
            and_(
                HomeworkSubmission.homework_id == Homework.id,
                HomeworkSubmission.student_id == child.student_id,
            ),
        )
    )


def _homework_item(row: Any) -> HomeworkItem:
    return HomeworkItem(
        id=row.id,
        subject_id=row.subject_id,
        subject=row.subject,
        text=row.text,
        due_date=row.due_date,
        given_on=row.given_on,
        lesson_id=row.lesson_id,
        attachments=int(row.attachments or 0),
        status=SubmissionStatus(row.status) if row.status is not None else None,
        teacher_comment=row.teacher_comment,
    )


async def _homework_rows(
    session: AsyncSession, child: Child, start: date, end: date
) -> Sequence[Any]:
    """Homework given on a lesson in [start, end] or due in it."""
    return (
        await session.execute(
            _homework_query(child)
            .where(
                Homework.class_id == child.class_id,
                or_(
                    and_(Homework.due_date >= start, Homework.due_date <= end),
                    and_(Lesson.date >= start, Lesson.date <= end),
                ),
            )
            .order_by(Homework.due_date, Subject.name, Homework.id)
        )
    ).all()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _holiday_on(holidays: list[tuple[str, date, date]], day: date) -> str | None:
    return next((name for name, s, e in holidays if s <= day <= e), None)


async def _build_days(
    session: AsyncSession,
    child: Child,
    start: date,
    end: date,
    *,
    with_news: bool = True,
) -> list[Day]:
    """The days of [start, end]: generated lessons, else the timetable's slots (honouring
    odd/even weeks), holidays and weekends; grades, homework and attendance attached."""
    if child.class_id is None or child.year is None:
        return [Day(d, DayKind.OUTSIDE) for d in _days(start, end)]
    year = child.year
    lesson_rows = await _lesson_rows(session, child, start, end)
    holidays = await _holidays(session, child, start, end)
    lessons_by_day: dict[date, list[LessonItem]] = defaultdict(list)
    for row in lesson_rows:
        mark = None
        if child.scopes.attendance and row.status is not None:
            mark = AttendanceMark(AttendanceStatus(row.status), row.minutes_late, row.reason)
        lessons_by_day[row.date].append(
            LessonItem(
                id=row.id,
                number=row.lesson_number,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                subject_id=row.subject_id,
                subject=row.subject,
                room=row.room,
                topic=row.topic,
                teacher=row.teacher,
                replacement=row.replacement,
                instead_of=row.instead_of,
                cancelled=bool(row.cancelled),
                cancel_reason=row.cancel_reason,
                attendance=mark if mark and mark.status != AttendanceStatus.PRESENT else None,
            )
        )
    days: list[Day] = []
    need_slots: list[Day] = []
    for day in _days(start, end):
        holiday = _holiday_on(holidays, day)
        if lessons_by_day.get(day):
            days.append(Day(day, DayKind.LESSONS, holiday, lessons_by_day[day]))
        elif holiday is not None:
            days.append(Day(day, DayKind.HOLIDAY, holiday))
        elif not year.starts_on <= day <= year.ends_on:
            days.append(Day(day, DayKind.OUTSIDE))
        else:
            days.append(Day(day, DayKind.FREE))
            need_slots.append(days[-1])
    if need_slots:
        slots = await _slot_rows(session, child, start, end)
        for entry in need_slots:
            for slot in slots:
                if slot_applies(
                    slot.frequency,
                    slot.weekday,
                    slot.valid_from,
                    slot.valid_to,
                    entry.date,
                    year.starts_on,
                ):
                    entry.lessons.append(
                        LessonItem(
                            id=None,
                            number=slot.lesson_number,
                            starts_at=slot.starts_at,
                            ends_at=slot.ends_at,
                            subject_id=slot.subject_id,
                            subject=slot.name,
                            room=slot.room,
                            teacher=slot.full_name,
                            planned=True,
                        )
                    )
            if entry.lessons:
                entry.kind = DayKind.PLANNED
            elif entry.date.isoweekday() >= 6:
                entry.kind = DayKind.WEEKEND
    if with_news:
        await _attach_news(session, child, start, end, days)
    return days


async def _attach_news(
    session: AsyncSession, child: Child, start: date, end: date, days: list[Day]
) -> None:
    """Attach grades (where allowed) and homework (where allowed) to the days' lessons."""
    by_date = {d.date: d for d in days}
    lesson_of: dict[int, LessonItem] = {
        lesson.id: lesson for d in days for lesson in d.lessons if lesson.id is not None
    }
    if child.scopes.grades:
        for row in await _grade_rows(session, child, start, end):
            item = _grade_item(row)
            lesson = lesson_of.get(item.lesson_id)
            if lesson is not None:
                lesson.grades.append(item)
            elif item.date in by_date:
                by_date[item.date].grades.append(item)
    if child.scopes.homework:
        for row in await _homework_rows(session, child, start, end):
            task = _homework_item(row)
            given = lesson_of.get(task.lesson_id)
            if given is not None:
                given.given.append(task)
            due_day = by_date.get(task.due_date)
            if due_day is not None:
                same = [x for x in due_day.lessons if x.subject_id == task.subject_id]
                target = next((x for x in same if not x.cancelled), same[0] if same else None)
                if target is not None:
                    target.due.append(task)
                else:
                    due_day.due.append(task)
    if not child.scopes.schedule:  # a tutor without the timetable sees only what is theirs
        for day in days:
            day.lessons = [lesson for lesson in day.lessons if lesson.has_news]


async def day_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    offset: int = 0,
    now: datetime | None = None,
) -> DayView:
    """One day of the diary (`day` None: today in the school's zone), `offset` days on."""
    child = await open_child(session, actor, student_id, now=now, day=day)
    wanted = (day or child.today) + timedelta(days=offset)
    (built,) = await _build_days(session, child, wanted, wanted)
    return DayView(child, built)


async def week_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    now: datetime | None = None,
) -> WeekView:
    """The week (Monday to Sunday) holding `day`: lessons with grades and homework."""
    child = await open_child(session, actor, student_id, now=now, day=day)
    monday = monday_of(day or child.today)
    days = await _build_days(session, child, monday, monday + timedelta(days=6))
    return WeekView(child, monday, days, _parity(child, monday))


async def schedule_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    day: date | None = None,
    *,
    now: datetime | None = None,
) -> WeekView:
    """The timetable of the week holding `day`: odd/even-week slots, replacements and
    cancellations from the generated lessons."""
    child = await open_child(session, actor, student_id, Action.VIEW_SCHEDULE, now=now, day=day)
    monday = monday_of(day or child.today)
    days = await _build_days(session, child, monday, monday + timedelta(days=6), with_news=False)
    return WeekView(child, monday, days, _parity(child, monday))


def _parity(child: Child, monday: date) -> SlotFrequency | None:
    if child.year is None or not child.year.starts_on <= monday + timedelta(days=6):
        return None
    return week_parity(monday, child.year.starts_on)


# --- periods and grades -------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodInfo:
    id: int  # 0: the school year itself (the school defined no periods)
    kind: PeriodKind
    number: int
    starts_on: date
    ends_on: date
    closed: bool = False

    def is_over(self, today: date) -> bool:
        return self.closed or self.ends_on < today


async def period_list(session: AsyncSession, child: Child) -> list[PeriodInfo]:
    """The periods of the child's year, finer kinds first by date, the year period last (the
    year itself when the school defined none; today alone when the child has no class)."""
    year = child.year
    if year is None:
        return [PeriodInfo(0, PeriodKind.YEAR, 1, child.today, child.today)]
    rows = await session.execute(
        select(
            Period.id,
            Period.kind,
            Period.number,
            Period.starts_on,
            Period.ends_on,
            Period.closed_at,
        ).where(Period.year_id == year.id)
    )
    periods = [PeriodInfo(i, PeriodKind(k), n, s, e, c is not None) for i, k, n, s, e, c in rows]
    if not periods:
        return [PeriodInfo(0, PeriodKind.YEAR, 1, year.starts_on, year.ends_on)]
    order = {kind: i for i, kind in enumerate((*_FINE_KINDS, PeriodKind.YEAR))}
    return sorted(periods, key=lambda p: (p.kind == PeriodKind.YEAR, order[p.kind], p.starts_on))


def current_period(periods: Sequence[PeriodInfo], today: date) -> PeriodInfo | None:
    """The period a family means by "now": the finest kind the school uses holding today;
    between periods (holidays) the last one that started; after the year, the year itself."""
    if not periods:
        return None
    kinds = {p.kind for p in periods}
    if today > max(p.ends_on for p in periods) and PeriodKind.YEAR in kinds:
        return next(p for p in periods if p.kind == PeriodKind.YEAR)
    kind = next((k for k in _FINE_KINDS if k in kinds), PeriodKind.YEAR)
    same = sorted((p for p in periods if p.kind == kind), key=lambda p: p.starts_on)
    holding = next((p for p in same if p.starts_on <= today <= p.ends_on), None)
    if holding is not None:
        return holding
    started = [p for p in same if p.starts_on <= today]
    return started[-1] if started else same[0]


def pick_period(periods: list[PeriodInfo], period_id: int | None, today: date) -> PeriodInfo:
    if period_id:
        chosen = next((p for p in periods if p.id == period_id), None)
        if chosen is None:
            raise denied(Action.VIEW_GRADES, period_id)
        return chosen
    picked = current_period(periods, today)
    if picked is None:
        raise denied(Action.VIEW_GRADES, period_id)
    return picked


@dataclass(frozen=True)
class SubjectGrades:
    subject_id: int
    name: str
    label: str  # the name fitted to the summary table's column
    short_name: str
    scale: ScaleSpec
    grades: list[GradeItem]
    average: float | None
    predicted: str | None
    proposed: str | None = None
    final: str | None = None

    @property
    def new_count(self) -> int:
        return sum(1 for g in self.grades if g.is_new)

    @property
    def pass_fail(self) -> bool:
        return self.scale.kind == ScaleKind.PASS_FAIL


def fit_name(name: str, short_name: str, width: int = TABLE_NAME_WIDTH) -> str:
    """A subject name for a fixed-width column: the name, else the short name, else cut."""
    for candidate in (name.strip(), short_name.strip()):
        if candidate and len(candidate) <= width:
            return candidate
    base = (short_name.strip() or name.strip()) or "?"
    return base if len(base) <= width else base[: width - 1] + "…"


@dataclass(frozen=True)
class GradesView:
    child: Child
    periods: list[PeriodInfo]
    period: PeriodInfo
    subjects: list[SubjectGrades]
    subject: SubjectGrades | None  # the subject opened, None on the summary

    @property
    def period_over(self) -> bool:
        return self.period.is_over(self.child.today)

    @property
    def new_count(self) -> int:
        return sum(s.new_count for s in self.subjects)


async def _seen_threshold(
    session: AsyncSession, actor: Actor, child: Child, *, entry: bool, now: datetime
) -> datetime | None:
    """Grades changed after this are "new". Entering the grades moves the mark (one upsert);
    navigating inside them only reads it."""
    if actor.account_id is None:
        return None
    if not entry:
        return await session.scalar(
            select(GradesSeen.seen_at).where(
                GradesSeen.account_id == actor.account_id,
                GradesSeen.student_id == child.student_id,
            )
        )
    stmt = upsert(session, GradesSeen).values(
        account_id=actor.account_id, student_id=child.student_id, seen_at=None, opened_at=now
    )
    previous: datetime | None = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[GradesSeen.account_id, GradesSeen.student_id],
            set_={"seen_at": GradesSeen.opened_at, "opened_at": stmt.excluded.opened_at},
        ).returning(GradesSeen.seen_at)
    )
    return previous


async def subject_summaries(
    session: AsyncSession,
    child: Child,
    period: PeriodInfo,
    *,
    seen_at: datetime | None = None,
    subject_id: int | None = None,
) -> list[SubjectGrades]:
    """Every subject of the class in the period with its grades, weighted average, predicted
    and period grades. Three statements whatever the number of grades."""
    if child.class_id is None:
        return []
    assignments = await session.execute(
        select(
            TeachingAssignment.subject_id,
            Subject.name,
            Subject.short_name,
            GradingScale.kind,
            GradingScale.min_score,
            GradingScale.max_score,
            GradingScale.pass_score,
            GradingScale.allow_modifiers,
        )
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(TeachingAssignment.class_id == child.class_id)
        .order_by(Subject.name, TeachingAssignment.id)
    )
    subjects: dict[int, tuple[str, str, ScaleSpec]] = {}
    for sid, name, short, kind, lo, hi, pass_score, modifiers in assignments:
        if sid not in subjects:
            subjects[sid] = (name, short, ScaleSpec(ScaleKind(kind), lo, hi, pass_score, modifiers))
    rows = await _grade_rows(
        session, child, period.starts_on, period.ends_on, subject_id=subject_id
    )
    by_subject: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_subject[row.subject_id].append(row)
        if row.subject_id not in subjects:  # graded in a subject no longer assigned
            spec = ScaleSpec(
                ScaleKind(row.scale_kind),
                row.min_score,
                row.max_score,
                row.pass_score,
                row.allow_modifiers,
            )
            subjects[row.subject_id] = (row.subject, row.subject, spec)
    finals: dict[int, tuple[str | None, str | None]] = {}
    if period.id:
        period_rows = await session.execute(
            select(TeachingAssignment.subject_id, PeriodGrade.proposed_value, PeriodGrade.value)
            .join(TeachingAssignment, TeachingAssignment.id == PeriodGrade.assignment_id)
            .where(PeriodGrade.student_id == child.student_id, PeriodGrade.period_id == period.id)
        )
        for sid, proposed, value in period_rows:
            finals[sid] = (proposed, value)
    result = []
    for sid, (name, short, spec) in sorted(subjects.items(), key=lambda x: x[1][0].lower()):
        if subject_id is not None and sid != subject_id:
            continue
        graded = by_subject.get(sid, [])
        average = weighted_average((float(r.score), float(r.weight)) for r in graded)
        proposed, final = finals.get(sid, (None, None))
        result.append(
            SubjectGrades(
                subject_id=sid,
                name=name,
                label=fit_name(name, short),
                short_name=short or name,
                scale=spec,
                grades=[_grade_item(r, seen_at) for r in graded],
                average=average,
                predicted=period_value(spec, average) if average is not None else None,
                proposed=display_value(proposed) if proposed else None,
                final=display_value(final) if final else None,
            )
        )
    return result


async def grades_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    period_id: int | None = None,
    year_id: int | None = None,
    subject_id: int | None = None,
    entry: bool = False,
    now: datetime | None = None,
) -> GradesView:
    """The grades of a period (default: the current one; or the chosen year's), all subjects
    or one. `entry`: the family opens the grades now (moves the "new" mark)."""
    now = now or utcnow()
    child = await open_child(
        session,
        actor,
        student_id,
        Action.VIEW_GRADES,
        now=now,
        year_id=year_id or None,
        period_id=period_id or None,
    )
    periods = await period_list(session, child)
    period = pick_period(periods, period_id, child.today)
    seen_at = await _seen_threshold(session, actor, child, entry=entry, now=now)
    subjects = await subject_summaries(session, child, period, seen_at=seen_at)
    subject = None
    if subject_id:
        subject = next((s for s in subjects if s.subject_id == subject_id), None)
        if subject is None:
            raise denied(Action.VIEW_GRADES, subject_id)
    if entry:
        await session.commit()
    return GradesView(child, periods, period, subjects, subject)


@dataclass(frozen=True)
class Target:
    """A period grade to reach and the grades that would get the average there."""

    value: str
    threshold: float
    ordinary: list[tuple[str, int]] | None  # (value, how many) with weight-1 grades
    test: list[tuple[str, int]] | None  # … with tests (weight 2)


@dataclass(frozen=True)
class CalculatorView:
    child: Child
    period: PeriodInfo
    subject: SubjectGrades
    targets: list[Target]

    @property
    def period_over(self) -> bool:
        return self.period.is_over(self.child.today)


def _targets_for(spec: ScaleSpec, predicted: str | None) -> list[str]:
    """The period grades worth aiming at: the next marks above the predicted one (at most 3;
    tens on a hundred-point scale; "pass" on pass/fail). None without grades yet."""
    if predicted is None:
        return []
    if spec.kind == ScaleKind.PASS_FAIL:
        return [] if predicted == "pass" else ["pass"]
    current, high = int(predicted), int(spec.max_score)
    if spec.kind == ScaleKind.HUNDRED:
        marks = [m for m in range(10, high + 1, 10) if m > current]
    else:
        marks = list(range(current + 1, high + 1))
    return [str(m) for m in marks[:3]]


def plan_targets(
    spec: ScaleSpec, pairs: list[tuple[float, float]], predicted: str | None
) -> list[Target]:
    """For each target period grade: the cheapest ways there with ordinary grades (weight 1)
    and with a test (weight 2), through `services.core.grading.grades_needed`."""
    targets = []
    for value in _targets_for(spec, predicted):
        ordinary = grades_needed(spec, pairs, value, weight=1.0, limit=3)
        test = grades_needed(spec, pairs, value, weight=2.0, limit=2)
        targets.append(
            Target(
                value=value,
                threshold=threshold_for(spec, value),
                ordinary=[(display_value(v), n) for v, n in ordinary] if ordinary else ordinary,
                test=[(display_value(v), n) for v, n in test] if test else test,
            )
        )
    return targets


async def calculator_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    period_id: int,
    subject_id: int,
    *,
    now: datetime | None = None,
) -> CalculatorView:
    """ "What do I need": the grades that would reach the next period grades in a subject."""
    now = now or utcnow()
    child = await open_child(
        session, actor, student_id, Action.VIEW_GRADES, now=now, period_id=period_id or None
    )
    periods = await period_list(session, child)
    period = pick_period(periods, period_id, child.today)
    found = await subject_summaries(session, child, period, subject_id=subject_id)
    if not found:
        raise denied(Action.VIEW_GRADES, subject_id)
    subject = found[0]
    pairs = [(g.score, g.weight) for g in subject.grades]
    targets = (
        [] if period.is_over(child.today) else plan_targets(subject.scale, pairs, subject.predicted)
    )
    return CalculatorView(child, period, subject, targets)


@dataclass(frozen=True)
class YearsView:
    child: Child
    years: list[YearInfo]


async def years_view(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> YearsView:
    """The school years the student has grades for (their enrollments), newest first."""
    child = await open_child(session, actor, student_id, Action.VIEW_GRADES, now=now)
    rows = await session.execute(
        select(
            AcademicYear.id,
            AcademicYear.name,
            AcademicYear.starts_on,
            AcademicYear.ends_on,
            AcademicYear.is_current,
        )
        .join(SchoolClass, SchoolClass.year_id == AcademicYear.id)
        .join(Enrollment, Enrollment.class_id == SchoolClass.id)
        .where(Enrollment.student_id == student_id)
        .distinct()
        .order_by(AcademicYear.starts_on.desc())
    )
    return YearsView(child, [YearInfo(i, n, s, e, bool(c)) for i, n, s, e, c in rows])


async def set_grades_spoiler(session: AsyncSession, actor: Actor, on: bool) -> None:
    """A student chooses to see (and receive) their grades under a spoiler."""
    own = actor.current_child(Role.STUDENT)
    if own is None:
        raise denied(Action.VIEW_GRADES)
    await require(session, actor, Action.VIEW_GRADES, own.student_id)
    student = await session.get(Student, own.student_id)
    if student is None:
        raise denied(Action.VIEW_GRADES, own.student_id)
    student.grades_spoiler = on
    await session.commit()


# --- homework and submissions --------------------------------------------------------------


@dataclass(frozen=True)
class SubjectItem:
    id: int
    name: str
    short_name: str


@dataclass(frozen=True)
class HomeworkListView:
    child: Child
    items: list[HomeworkItem]
    subjects: list[SubjectItem]
    subject: SubjectItem | None  # the filter, None: everything upcoming


async def homework_list(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    subject_id: int | None = None,
    now: datetime | None = None,
) -> HomeworkListView:
    """Upcoming homework by due date, or one subject's recent and upcoming homework."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    if child.class_id is None:
        return HomeworkListView(child, [], [], None)
    subject_rows = await session.execute(
        select(Subject.id, Subject.name, Subject.short_name)
        .join(TeachingAssignment, TeachingAssignment.subject_id == Subject.id)
        .where(TeachingAssignment.class_id == child.class_id)
        .distinct()
        .order_by(Subject.name)
    )
    subjects = [SubjectItem(i, n, s or n) for i, n, s in subject_rows]
    query = _homework_query(child).where(Homework.class_id == child.class_id)
    chosen = None
    if subject_id:
        chosen = next((s for s in subjects if s.id == subject_id), None)
        if chosen is None:
            raise denied(Action.VIEW_HOMEWORK, subject_id)
        since = child.today - timedelta(days=SUBJECT_HOMEWORK_DAYS)
        query = (
            query.where(Homework.subject_id == subject_id, Homework.due_date >= since)
            .order_by(Homework.due_date.desc(), Homework.id.desc())
            .limit(SUBJECT_HOMEWORK_LIMIT)
        )
    else:
        query = (
            query.where(Homework.due_date >= child.today)
            .order_by(Homework.due_date, Subject.name, Homework.id)
            .limit(UPCOMING_HOMEWORK_LIMIT)
        )
    items = [_homework_item(row) for row in (await session.execute(query)).all()]
    return HomeworkListView(child, items, subjects, chosen)


@dataclass(frozen=True)
class FileInfo:
    kind: AttachmentKind
    file_name: str | None


@dataclass(frozen=True)
class SubmissionInfo:
    status: SubmissionStatus
    comment: str | None
    teacher_comment: str | None
    submitted_at: datetime
    reviewed_at: datetime | None
    files: list[FileInfo]


@dataclass(frozen=True)
class HomeworkDetail:
    child: Child
    item: HomeworkItem
    submission: SubmissionInfo | None
    may_submit: bool  # the student may hand it in (or again) now
    refusal: str | None  # why not, for the student: "past_due" / "accepted"


def _submit_refusal(due: date, status: SubmissionStatus | None, today: date) -> str | None:
    """Students hand in until the end of the due day; returned work may always be handed in
    again; accepted work is final."""
    if status == SubmissionStatus.ACCEPTED:
        return "accepted"
    if status == SubmissionStatus.RETURNED:
        return None
    if today > due:
        return "past_due"
    return None


async def _homework_row(session: AsyncSession, child: Child, homework_id: int) -> Any:
    """A homework of one of the student's classes (else a refusal), with their submission."""
    enrolled = select(Enrollment.class_id).where(Enrollment.student_id == child.student_id)
    row = (
        await session.execute(
            _homework_query(child)
            .add_columns(
                HomeworkSubmission.id.label("submission_id"),
                HomeworkSubmission.comment.label("submission_comment"),
                HomeworkSubmission.submitted_at,
                HomeworkSubmission.reviewed_at,
            )
            .where(Homework.id == homework_id, Homework.class_id.in_(enrolled))
        )
    ).first()
    if row is None:
        raise denied(Action.VIEW_HOMEWORK, homework_id)
    return row


async def homework_detail(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    homework_id: int,
    *,
    now: datetime | None = None,
) -> HomeworkDetail:
    """One homework: its text and attachments, and the student's submission."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    row = await _homework_row(session, child, homework_id)
    item = _homework_item(row)
    submission = None
    files = await session.execute(  # always asked: the cost does not depend on the data
        select(SubmissionFile.kind, SubmissionFile.file_name)
        .join(HomeworkSubmission, HomeworkSubmission.id == SubmissionFile.submission_id)
        .where(
            HomeworkSubmission.homework_id == homework_id,
            HomeworkSubmission.student_id == student_id,
        )
        .order_by(SubmissionFile.id)
    )
    if row.submission_id is not None:
        submission = SubmissionInfo(
            status=SubmissionStatus(row.status),
            comment=row.submission_comment,
            teacher_comment=row.teacher_comment,
            submitted_at=row.submitted_at,
            reviewed_at=row.reviewed_at,
            files=[FileInfo(AttachmentKind(k), n) for k, n in files],
        )
    refusal = None
    may_submit = False
    if child.is_own and await can(session, actor, Action.SUBMIT_HOMEWORK, student_id):
        refusal = _submit_refusal(item.due_date, item.status, child.today)
        may_submit = refusal is None
    return HomeworkDetail(child, item, submission, may_submit, refusal)


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    file_id: str
    file_name: str | None


async def homework_attachments(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    homework_id: int,
    *,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[HomeworkItem, list[Attachment], int]:
    """A homework's attachments to re-send by file_id: a page of `ATTACHMENTS_PER_PRESS`
    from `offset`, and how many there are in all."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    item = _homework_item(await _homework_row(session, child, homework_id))
    rows = await session.execute(
        select(HomeworkAttachment.kind, HomeworkAttachment.file_id, HomeworkAttachment.file_name)
        .where(HomeworkAttachment.homework_id == homework_id)
        .order_by(HomeworkAttachment.id)
    )
    files = [Attachment(AttachmentKind(k), f, n) for k, f, n in rows]
    start = max(0, offset)
    return item, files[start : start + ATTACHMENTS_PER_PRESS], len(files)


async def _own_homework(
    session: AsyncSession, actor: Actor, homework_id: int, now: datetime
) -> tuple[Child, HomeworkItem, int | None]:
    own = actor.current_child(Role.STUDENT)
    if own is None:
        raise denied(Action.SUBMIT_HOMEWORK, homework_id)
    child = await open_child(session, actor, own.student_id, Action.SUBMIT_HOMEWORK, now=now)
    row = await _homework_row(session, child, homework_id)
    item = _homework_item(row)
    refusal = _submit_refusal(item.due_date, item.status, child.today)
    if refusal is not None:
        raise DomainError(f"submission.{refusal}")
    return child, item, row.submission_id


async def start_submission(
    session: AsyncSession, actor: Actor, homework_id: int, *, now: datetime | None = None
) -> HomeworkItem:
    """The student may hand in this homework now (else a `DomainError`: submission.*,
    access.*)."""
    _child, item, _submission_id = await _own_homework(session, actor, homework_id, now or utcnow())
    return item


async def submit_homework(
    session: AsyncSession,
    actor: Actor,
    homework_id: int,
    files: Sequence[NewFile],
    comment: str | None,
    *,
    now: datetime | None = None,
) -> int:
    """Hand in (or replace) the student's work: files and an optional comment. Committed.
    Returns the submission id."""
    now = now or utcnow()
    if not files:
        raise DomainError("submission.no_files")
    if len(files) > MAX_SUBMISSION_FILES:
        raise DomainError("submission.too_many_files")
    child, _item, submission_id = await _own_homework(session, actor, homework_id, now)
    text = (comment or "").strip()[:COMMENT_LIMIT] or None
    if submission_id is None:
        submission = HomeworkSubmission(
            homework_id=homework_id,
            student_id=child.student_id,
            status=SubmissionStatus.SUBMITTED,
            comment=text,
            submitted_at=now,
        )
        session.add(submission)
        await session.flush()
        submission_id = submission.id
    else:
        found = await session.get(HomeworkSubmission, submission_id)
        assert found is not None
        found.status = SubmissionStatus.SUBMITTED
        found.comment = text
        found.teacher_comment = None
        found.submitted_at = now
        found.reviewed_at = None
        found.reviewed_by_id = None
        await session.execute(
            delete(SubmissionFile).where(SubmissionFile.submission_id == submission_id)
        )
    session.add_all(
        SubmissionFile(
            submission_id=submission_id,
            kind=f.kind,
            file_id=f.file_id[:255],
            file_unique_id=f.file_unique_id[:64],
            file_name=(f.file_name or None) and f.file_name[:255],
            mime_type=(f.mime_type or None) and f.mime_type[:128],
            file_size=f.file_size,
        )
        for f in files
    )
    await session.commit()
    return submission_id


# --- attendance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceTotals:
    lessons: int  # lessons held so far in the period (not cancelled)
    absent: int  # unexcused
    excused: int
    late: int
    minutes_late: int

    @property
    def missed(self) -> int:
        return self.absent + self.excused

    @property
    def attended_share(self) -> float | None:
        if self.lessons <= 0:
            return None
        return max(0.0, 1 - self.missed / self.lessons)


@dataclass(frozen=True)
class Incident:
    date: date
    lesson_number: int
    subject: str
    status: AttendanceStatus
    minutes_late: int | None
    reason: str | None


@dataclass(frozen=True)
class AttendanceView:
    child: Child
    periods: list[PeriodInfo]
    period: PeriodInfo
    totals: AttendanceTotals
    incidents: list[Incident]


async def attendance_totals(
    session: AsyncSession, child: Child, period: PeriodInfo
) -> AttendanceTotals:
    """Absences (excused or not) and lateness in the period so far: two statements."""
    end = min(period.ends_on, child.today)
    counts: dict[AttendanceStatus, tuple[int, int]] = {}
    if child.class_id is not None and period.starts_on <= end:
        rows = await session.execute(
            select(
                Attendance.status,
                func.count(Attendance.id),
                func.coalesce(func.sum(Attendance.minutes_late), 0),
            )
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .where(
                Attendance.student_id == child.student_id,
                Lesson.date >= period.starts_on,
                Lesson.date <= end,
            )
            .group_by(Attendance.status)
        )
        counts = {AttendanceStatus(s): (int(n), int(m or 0)) for s, n, m in rows}
        held = await session.scalar(
            select(func.count(Lesson.id)).where(
                Lesson.class_id == child.class_id,
                Lesson.date >= period.starts_on,
                Lesson.date <= end,
                Lesson.cancelled.is_(False),
            )
        )
    else:
        held = 0

    def count(status: AttendanceStatus) -> int:
        return counts.get(status, (0, 0))[0]

    return AttendanceTotals(
        lessons=int(held or 0),
        absent=count(AttendanceStatus.ABSENT),
        excused=count(AttendanceStatus.EXCUSED),
        late=count(AttendanceStatus.LATE),
        minutes_late=counts.get(AttendanceStatus.LATE, (0, 0))[1],
    )


async def attendance_view(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    period_id: int | None = None,
    now: datetime | None = None,
) -> AttendanceView:
    """Absences and lateness in a period: totals, and the latest incidents with reasons."""
    child = await open_child(
        session, actor, student_id, Action.VIEW_ATTENDANCE, now=now, period_id=period_id or None
    )
    periods = await period_list(session, child)
    period = pick_period(periods, period_id, child.today)
    totals = await attendance_totals(session, child, period)
    rows = await session.execute(
        select(
            Lesson.date,
            Lesson.lesson_number,
            Subject.name,
            Attendance.status,
            Attendance.minutes_late,
            Attendance.reason,
        )
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(
            Attendance.student_id == student_id,
            Attendance.status != AttendanceStatus.PRESENT,
            Lesson.date >= period.starts_on,
            Lesson.date <= period.ends_on,
        )
        .order_by(Lesson.date.desc(), Lesson.lesson_number.desc())
        .limit(INCIDENT_LIMIT)
    )
    incidents = [Incident(d, n, s, AttendanceStatus(st), m, r) for d, n, s, st, m, r in rows]
    return AttendanceView(child, periods, period, totals, incidents)


# --- the diary's entry screen --------------------------------------------------------------


@dataclass(frozen=True)
class DiaryMenu:
    child: Child
    several: bool  # the actor follows several students (show the switcher)


async def diary_menu(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> DiaryMenu:
    """The diary's entry screen for one student; stamps "opened" for guardians and trusted
    persons."""
    child = await open_child(session, actor, student_id, now=now)
    await record_opened(session, actor, student_id)
    return DiaryMenu(child, len(actor.children) > 1)


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def ordinal_day(value: int) -> date | None:
    """A date from callback data (an ordinal); 0 or anything outside 2000–2099 is None."""
    if not FIRST_DAY.toordinal() <= value <= LAST_DAY.toordinal():
        return None
    return date.fromordinal(value)
