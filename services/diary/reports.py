"""Short period reports for families: averages per subject and attendance totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import ScaleKind
from services.core.access import Action, denied
from services.core.actors import Actor
from services.diary.attendance import AttendanceTotals, attendance_totals
from services.diary.child import Child
from services.diary.grades import SubjectGrades, subject_summaries
from services.diary.periods import PeriodInfo, open_period


@dataclass(frozen=True)
class FamilyReport:
    child: Child
    periods: list[PeriodInfo]
    period: PeriodInfo
    subjects: list[SubjectGrades] | None  # None: the actor may not see grades
    attendance: AttendanceTotals | None  # None: the actor may not see attendance

    @property
    def overall(self) -> float | None:
        """The mean of the five-point subjects' averages (None when there are none)."""
        if not self.subjects:
            return None
        values = [
            s.average
            for s in self.subjects
            if s.average is not None and s.scale.kind == ScaleKind.FIVE
        ]
        return sum(values) / len(values) if values else None

    @property
    def has_files(self) -> bool:
        """Whether the report card and progress chart of the period can be had (buttons)."""
        return self.subjects is not None and files_possible(self.child)


def files_possible(child: Child) -> bool:
    """Whether a report card or progress chart can be built for the child as a diary screen
    shows them (`services.diary.report_files`): the school's reports cover the current school
    year, for a student in a class of it."""
    return child.year is not None and child.year.is_current and child.class_id is not None


async def family_report(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    period_id: int | None = None,
    now: datetime | None = None,
) -> FamilyReport:
    """The report of a period (default: the current one); each part only where the actor's
    scopes allow it. A fixed handful of statements."""
    child, periods, period = await open_period(
        session, actor, student_id, None, period_id=period_id, now=now or utcnow()
    )
    if not (child.scopes.grades or child.scopes.attendance):
        raise denied(Action.VIEW_GRADES, student_id)
    subjects = await subject_summaries(session, child, period) if child.scopes.grades else None
    attendance = (
        await attendance_totals(session, child, period) if child.scopes.attendance else None
    )
    return FamilyReport(child, periods, period, subjects, attendance)
