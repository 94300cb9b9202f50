"""School time: the school's zone, its local "today" and local days as UTC instants.

Every timestamp in the database is UTC; every date (lessons, grades, enrolments, holds) is the
school's local calendar date. The conversion between the two lives here, once.

Decisions:

* A school's zone is its IANA name (`School.timezone`); an empty or unknown name falls back to
  the deployment's default zone instead of failing, so a misconfigured school still gets its
  diary, its journal and its notifications (the diary used to fail, the notifications fell back).
* A local day starts at its first instant: local midnight, or the first instant after it where
  a daylight-saving jump skips midnight (zoneinfo's ``fold=0`` gives exactly that). It ends
  where the next day starts (half-open ``[start, end)``), never at 23:59:59.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow as utcnow  # the one clock: handlers read the time from here
from db.models import School

#: The zone of a school without one (and of the demo school); `Settings.timezone` overrides it.
DEFAULT_TIMEZONE = "Europe/Moscow"


def zone_of(name: str | None, default: str | tzinfo = DEFAULT_TIMEZONE) -> ZoneInfo:
    """The zone named `name`; `default` (a name or a zone) when `name` is empty or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if isinstance(default, ZoneInfo):
        return default
    return ZoneInfo(str(default))


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The school's calendar date at the (aware) instant `moment`."""
    return moment.astimezone(zone).date()


def local_today(zone: tzinfo, now: datetime | None = None) -> date:
    """Today in the school's zone (`now`: the current instant, default the clock)."""
    return local_date(now or datetime.now(UTC), zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of the local date `day`, in UTC (local midnight)."""
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The local date `day` as the UTC half-open interval ``[start, end)``."""
    return day_start(day, zone), day_start(day + timedelta(days=1), zone)


async def school_zone(session: AsyncSession, school_id: int | None, default: str) -> ZoneInfo:
    """The zone of a school (one statement), or `default` without a school (see `zone_of`)."""
    name = None
    if school_id is not None:
        name = await session.scalar(select(School.timezone).where(School.id == school_id))
    return zone_of(name, default)
