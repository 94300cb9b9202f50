"""Absences and lateness: the marks shown on a lesson, a period's totals and incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import cast, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AttendanceStatus
from db.models import (
    Attendance,
    Lesson,
    Subject,
)
from services.core.access import Action
from services.core.actors import Actor
from services.diary.child import Child
from services.diary.periods import PeriodInfo, open_period

INCIDENT_LIMIT = 25


@dataclass(frozen=True)
class AttendanceMark:
    status: AttendanceStatus
    minutes_late: int | None
    reason: str | None


def attended_share(lessons: int, missed: int) -> float | None:
    """The share of `lessons` attended, a late arrival counting as attended (the diary's
    totals and the school's attendance report): None without lessons, never below 0."""
    if lessons <= 0:
        return None
    return max(0.0, (lessons - missed) / lessons)


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
        return attended_share(self.lessons, self.missed)


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
    """Absences (excused or not) and lateness in the period so far: one statement, the
    counts per status and (the row without a status) the lessons held."""
    end = min(period.ends_on, child.today)
    counts: dict[AttendanceStatus, tuple[int, int]] = {}
    held = 0
    if child.class_id is not None and period.starts_on <= end:
        marks = (
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
        lessons = select(
            cast(null(), Attendance.status.type), func.count(Lesson.id), literal(0)
        ).where(
            Lesson.class_id == child.class_id,
            Lesson.date >= period.starts_on,
            Lesson.date <= end,
            Lesson.cancelled.is_(False),
        )
        for status, number, minutes in await session.execute(union_all(marks, lessons)):
            if status is None:
                held = int(number or 0)
            else:
                counts[AttendanceStatus(status)] = (int(number), int(minutes or 0))

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
    child, periods, period = await open_period(
        session, actor, student_id, Action.VIEW_ATTENDANCE, period_id=period_id, now=now
    )
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
