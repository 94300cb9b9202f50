"""The family's printable reports: the student's report card (PDF) and progress chart (PNG) of
a period, from the diary's report screen. The school's reports (`services.reports`) built
for the family's view: what the actor's scopes allow, grades the family may see today.

Not re-exported by `services.diary`: `services.reports` builds on the diary's periods, so the
package must not import the reports while it is itself being imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import PeriodKind
from services.core.actors import Actor
from services.diary.child import Child
from services.diary.periods import PeriodInfo, open_period
from services.diary.reports import files_possible
from services.reports import (
    ProgressReport,
    ReportCard,
    ReportKind,
    ReportNotFound,
    When,
    build_progress,
    build_report_card,
)
from services.reports.access import STUDENT_KINDS, card_attendance, require_report


@dataclass(frozen=True)
class FamilyReportFile:
    """A report card or progress report of the child, ready to be rendered (in the bot's
    worker process) as a PDF or a chart; the child and period name the file."""

    child: Child
    period: PeriodInfo  # what the report covers: the chosen period, or the school year
    report: ReportCard | ProgressReport

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: a progress report without a single grade in the period."""
        return isinstance(self.report, ProgressReport) and not self.report.series

    @property
    def has_attendance(self) -> bool:
        """A report card with the attendance section (not for a trusted person without the
        attendance scope)."""
        return isinstance(self.report, ReportCard) and self.report.attendance is not None


def _year_of(child: Child, periods: list[PeriodInfo]) -> PeriodInfo:
    """The school year as a period: its own period, else its dates (id 0)."""
    year = next((p for p in periods if p.kind == PeriodKind.YEAR), None)
    if year is not None:
        return year
    assert child.year is not None  # `files_possible`
    return PeriodInfo(0, PeriodKind.YEAR, 1, child.year.starts_on, child.year.ends_on)


async def family_report_file(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    kind: ReportKind,
    *,
    period_id: int | None = None,
    whole_year: bool = False,
    now: datetime | None = None,
) -> FamilyReportFile | None:
    """The child's report card or progress (`kind`) of a period of the current school year
    (`period_id`, default: the current one; `whole_year`: the year holding it), as the actor
    may see them: the reports' access rule (`require_report`: the grades scope), the card's
    attendance only with the attendance scope (`card_attendance`), the grades a family may see
    today.

    Refused (`access.denied`) for a student the actor does not follow (an ended grant
    explains itself, as on every diary screen), a period not of the child's year, and a
    trusted person without the grades scope. None when there is nothing to report: the
    period's year is not the current one, or the child has no class in it."""
    if kind not in STUDENT_KINDS:
        raise ValueError(f"not a student's report: {kind}")
    child, periods, period = await open_period(  # a foreign period: refused
        session, actor, student_id, None, period_id=period_id, now=now or utcnow()
    )
    await require_report(session, actor, kind, student_id)
    if not files_possible(child):
        return None
    if whole_year:
        period = _year_of(child, periods)
    when = (
        When(period_id=period.id) if period.id else When.between(period.starts_on, period.ends_on)
    )
    report: ReportCard | ProgressReport
    try:
        if kind is ReportKind.CARD:
            attendance = await card_attendance(session, actor, student_id)
            report = await build_report_card(
                session, student_id, when, today=child.today, attendance=attendance
            )
        else:
            report = await build_progress(session, student_id, when, today=child.today)
    except ReportNotFound:  # no stay in a class of the current year
        return None
    return FamilyReportFile(child, period, report)
