"""Reporting periods as the screens read them: the columns, in one order."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, select

from db.enums import PeriodKind
from db.models import Period

#: a period as the screens read it: id, kind, number, first and last day, when it was closed
PERIOD_COLUMNS = (
    Period.id,
    Period.kind,
    Period.number,
    Period.starts_on,
    Period.ends_on,
    Period.closed_at,
)


def periods_of_year(year_id: int) -> Select[int, PeriodKind, int, date, date, datetime | None]:
    """The periods of a school year (`PERIOD_COLUMNS`, unordered)."""
    return select(*PERIOD_COLUMNS).where(Period.year_id == year_id)
