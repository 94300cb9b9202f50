"""The one clock of the test suite.

Every test that needs "now" or "today" asks this module (or the `clock` fixture, which is this
module), never `datetime.now()` or `date.today()` directly. By default it is the real time. Run
with `--now 2027-03-03` (or a full ISO time such as `2026-12-31T22:00+03:00`) and the whole
test process travels to that moment at start-up (time-machine patches `time.time` and
`datetime.now`, so the product's own clock moves too) and lets it tick from there: the same
suite then runs "on" a 3rd, a 30th, New Year's Eve or a July holiday. CI does that for the
tests marked `dates` (every test with a database or the bot under test).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import time_machine

#: The zone of the test schools (`tests.factories`) and of the demo school.
SCHOOL_ZONE = ZoneInfo("Europe/Moscow")
#: A bare date travels to this school-local time of that day.
DEFAULT_TIME = time(10, 0)

_travel: time_machine.travel | None = None


def parse_moment(spec: str) -> datetime:
    """`2027-03-03` (10:00 school time that day) or an ISO date-time (school time when naive)."""
    if "T" not in spec and " " not in spec:
        moment = datetime.combine(date.fromisoformat(spec), DEFAULT_TIME)
    else:
        moment = datetime.fromisoformat(spec)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SCHOOL_ZONE)
    return moment.astimezone(UTC)


def travel_to(spec: str) -> datetime:
    """Move this process's clock to `spec` for the rest of the run; returns the moment."""
    global _travel
    stop()
    moment = parse_moment(spec)
    _travel = time_machine.travel(moment, tick=True)
    _travel.start()
    return moment


def stop() -> None:
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def now() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


def school_today() -> date:
    """Today's date in the test schools' zone (what the bot calls "today")."""
    return now().astimezone(SCHOOL_ZONE).date()


def school_noon() -> datetime:
    """Noon of today, school time, in UTC: when lessons and grades happen in a test."""
    return datetime.combine(school_today(), time(12), tzinfo=SCHOOL_ZONE).astimezone(UTC)
