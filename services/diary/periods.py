"""The periods of a school year as families choose them: which exist, which is "now"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import PeriodKind
from services.core.access import Action, denied
from services.core.actors import Actor
from services.core.periods import periods_of_year
from services.diary.child import Child, open_child

_FINE_KINDS = (PeriodKind.QUARTER, PeriodKind.TRIMESTER, PeriodKind.SEMESTER)


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

    @classmethod
    def of(cls, row: Sequence[Any]) -> PeriodInfo:
        """A period from a row of `PERIOD_COLUMNS` (`services.core.periods`)."""
        period_id, kind, number, starts_on, ends_on, closed_at = row
        return cls(period_id, PeriodKind(kind), number, starts_on, ends_on, closed_at is not None)


async def period_list(session: AsyncSession, child: Child) -> list[PeriodInfo]:
    """The periods of the child's year, finer kinds first by date, the year period last (the
    year itself when the school defined none; today alone when the child has no class)."""
    year = child.year
    if year is None:
        return [PeriodInfo(0, PeriodKind.YEAR, 1, child.today, child.today)]
    if child.preloaded.periods is not None:  # brought along by `open_child(periods=True)`
        periods = [
            PeriodInfo(i, PeriodKind(k), n, date.fromisoformat(s), date.fromisoformat(e), bool(c))
            for i, k, n, s, e, c in child.preloaded.periods
        ]
    else:
        rows = await session.execute(periods_of_year(year.id))
        periods = [PeriodInfo.of(row) for row in rows]
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


async def open_period(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    action: Action | None,
    *,
    period_id: int | None,
    now: datetime | None,
    year_id: int | None = None,
    seen: bool = False,
) -> tuple[Child, list[PeriodInfo], PeriodInfo]:
    """`open_child` for a screen about one period: the child (in the period's year, else
    `year_id`'s, else the current one), the year's periods to choose from, and the period
    (`period_id`, default: the current one). One statement; `seen` as for `open_child`."""
    child = await open_child(
        session,
        actor,
        student_id,
        action,
        now=now,
        year_id=year_id or None,
        period_id=period_id or None,
        periods=True,
        seen=seen,
    )
    periods = await period_list(session, child)
    return child, periods, pick_period(periods, period_id, child.today)
