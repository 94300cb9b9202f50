"""`parta calendar --student NAME_OR_ID --out FILE`: a student's timetable and homework due
dates as an iCalendar file (`services.diary.calendar`), for the school's office: every scope,
no account needed. The texts inside the file are in DEFAULT_LOCALE (or ``--lang``)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from db.engine import create_engine, create_session_factory


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``calendar`` command."""
    calendar = commands.add_parser(
        "calendar", help="a student's lessons and homework due dates as an .ics file"
    )
    calendar.add_argument(
        "--student", required=True, help="the student's id (12 or #12) or name (or part of it)"
    )
    calendar.add_argument("--out", type=Path, required=True, help="the .ics file to write")
    calendar.add_argument(
        "--lang", choices=["ru", "en"], help="language of the texts (default: DEFAULT_LOCALE)"
    )


async def write_calendar(database_url: str, locale: str, wanted: str, out: Path) -> str:
    """Write the file; the line to print. `LookupError` for an unknown or ambiguous student."""
    from bot.i18n import create_i18n
    from services.diary import calendar
    from services.people.school import find_student

    i18n = create_i18n(locale)

    def gettext(message: str) -> str:
        return i18n.gettext(message, locale=locale)

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            student_id, name = await find_student(session, wanted)
            events = await calendar.office_events(session, student_id)
            await session.rollback()
    finally:
        await engine.dispose()
    data = calendar.calendar_ics([events], gettext, name=calendar.calendar_name([events], gettext))
    await asyncio.to_thread(out.write_bytes, data)
    lessons = sum(len(day.lessons) for day in events.days)
    window = events.window
    return (
        f"calendar of #{student_id} {name} written: {out}: {lessons} lessons and "
        f"{len(events.homework)} homework due dates, {window.start} to {window.end}"
    )
