"""What families have not seen: grades no guardian marked "Seen" and unexcused absences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import (
    AttendanceStatus,
)
from db.models import (
    Acknowledgement,
    Attendance,
    Enrollment,
    Grade,
    GradingScale,
    Guardianship,
    Lesson,
    SchoolClass,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core import enrolment, links
from services.core.access import Action, require
from services.core.actors import Actor
from services.core.grading import (
    InvalidGrade,
    ScaleSpec,
    is_passing,
)
from services.core.visibility import family_visible

# --- what families have not seen ------------------------------------------------------------


@dataclass(frozen=True)
class UnseenGrade:
    grade_id: int
    date: date
    student_name: str
    subject_name: str
    value: str
    failing: bool
    linked: bool


@dataclass(frozen=True)
class Absence:
    date: date
    lesson_number: int
    student_name: str
    subject_name: str
    linked: bool


@dataclass
class UnseenReport:
    class_id: int
    class_name: str
    since: date
    failing: list[UnseenGrade]
    absences: list[Absence]
    other: list[UnseenGrade]
    other_total: int


async def unseen_report(
    session: AsyncSession,
    actor: Actor,
    class_id: int,
    *,
    today: date,
    days: int = 30,
    limit: int = 15,
) -> UnseenReport:
    """Grades of the class no guardian has marked "Seen" (failing ones first) and the
    unexcused absences of the last `days` days: who the class teacher should call."""
    await require(session, actor, Action.VIEW_CLASS_JOURNAL, class_id)
    class_name = await session.scalar(select(SchoolClass.name).where(SchoolClass.id == class_id))
    since = today - timedelta(days=days)
    linked = (
        exists()
        .where(Guardianship.student_id == Student.id, links.guardianship_active())
        .correlate(Student)
    )
    seen = exists().where(Acknowledgement.grade_id == Grade.id).correlate(Grade)
    rows = await session.execute(
        select(Grade, Student.full_name, Subject.name, GradingScale, linked)
        .join(Student, Student.id == Grade.student_id)
        .join(
            Enrollment, and_(Enrollment.student_id == Student.id, Enrollment.class_id == class_id)
        )
        .join(Subject, Subject.id == Grade.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .where(
            enrolment.covers_day(today),
            Grade.date >= since,
            family_visible(today),
            ~seen,
        )
        .order_by(Grade.date.desc(), Grade.id.desc())
        .limit(500)
    )
    failing: list[UnseenGrade] = []
    other: list[UnseenGrade] = []
    specs: dict[int, ScaleSpec] = {}
    for grade, name, subject, scale, has_guardian in rows:
        spec = specs.setdefault(scale.id, ScaleSpec.from_row(scale))
        try:
            bad = not is_passing(spec, grade.value)
        except InvalidGrade:
            bad = False
        item = UnseenGrade(
            grade.id, grade.date, name, subject, grade.value, bad, bool(has_guardian)
        )
        (failing if bad else other).append(item)
    absences = await session.execute(
        select(Lesson.date, Lesson.lesson_number, Student.full_name, Subject.name, linked)
        .join(Attendance, Attendance.lesson_id == Lesson.id)
        .join(Student, Student.id == Attendance.student_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(
            Lesson.class_id == class_id,
            Lesson.date >= since,
            Attendance.status == AttendanceStatus.ABSENT,
        )
        .order_by(Lesson.date.desc(), Lesson.lesson_number)
        .limit(limit)
    )
    return UnseenReport(
        class_id,
        class_name or "",
        since,
        failing[:limit],
        [Absence(d, n, s, subj, bool(ln)) for d, n, s, subj, ln in absences],
        other[: limit // 3 * 2],
        len(other),
    )
