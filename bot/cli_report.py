"""`parta report KIND …`: a report of `services.reports` for the school's office, written to a
file (xlsx, pdf or text) or, as text without ``--out``, printed.

Labels are in the default locale (DEFAULT_LOCALE). A card or report for a class takes
``--class``; a card takes ``--student`` (a name or an id) or, with only ``--class``, covers every
student of the class. The time is ``--period N`` (the N-th quarter, trimester or semester the
school uses; 0 the year), ``--from DATE --to DATE``, or by default the current period.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.reports import Report, ReportKind, When

KINDS = ("class", "school", "attendance", "risk", "coverage", "card", "progress")
FORMATS = ("xlsx", "pdf", "png", "text")


class ReportRefused(Exception):
    """The report cannot be made (unknown class, a kind not built yet…): one line, exit 1."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="write a report (class summary, attendance…)")
    report.add_argument("kind", choices=KINDS, help="which report")
    report.add_argument("--class", dest="class_name", help="the class, e.g. 7B")
    report.add_argument("--student", help="the student's full name or id (card)")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--period", type=int, help="the N-th period of the year (0: the year)")
    when.add_argument("--from", dest="date_from", type=date.fromisoformat, help="YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", type=date.fromisoformat, help="YYYY-MM-DD")
    report.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    report.add_argument("--out", type=Path, help="the file to write (text: printed if absent)")
    report.add_argument("--school", help="school name (when the database holds several)")


async def make_report(
    database_url: str, locale: str, args: argparse.Namespace
) -> tuple[bytes, str]:
    """The report's bytes and a one-line description of it."""
    from bot.i18n import create_i18n
    from db.engine import create_engine, create_session_factory
    from services.core.schooltime import local_today, zone_of
    from services.people.school import find_school
    from services.reports import BUILT_KINDS, ReportKind, ReportNotFound, When, render_many

    kind = ReportKind(args.kind)
    if kind not in BUILT_KINDS:
        raise ReportRefused(
            f"the {kind.value} report is not available yet; available: "
            + ", ".join(k.value for k in BUILT_KINDS)
        )
    if args.format == "png" and kind in (ReportKind.RISK, ReportKind.COVERAGE, ReportKind.CARD):
        raise ReportRefused(
            f"the {kind.value} report has no chart; charts: class, school, attendance, progress"
        )
    if (args.date_from is None) != (args.date_to is None):
        raise ReportRefused("--from and --to go together")
    when = (
        When.between(args.date_from, args.date_to)
        if args.date_from is not None
        else When(number=args.period)
    )
    i18n = create_i18n(locale)
    gettext: Callable[[str], str] = partial(i18n.gettext, locale=locale)
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            try:
                school = await find_school(session, args.school)
                today = local_today(zone_of(school.timezone))
                reports = await _build(session, school.id, kind, args, when, today)
            except (LookupError, ReportNotFound) as exc:
                raise ReportRefused(str(exc).strip("'\"")) from None
    finally:
        await engine.dispose()
    if args.format == "png" and len(reports) > 1:
        raise ReportRefused("one chart per file: give --student")
    data = render_many(reports, args.format, gettext)
    return data, f"{kind.value} report ({args.format}, {len(reports)} document(s))"


async def _build(
    session: AsyncSession,
    school_id: int,
    kind: ReportKind,
    args: argparse.Namespace,
    when: When,
    today: date,
) -> list[Report]:
    from services import reports
    from services.reports import ReportKind
    from services.reports.staff import class_students

    if kind == ReportKind.SCHOOL:
        return [await reports.build_school_summary(session, school_id, when, today=today)]
    class_id = await _class_id(session, school_id, args.class_name) if args.class_name else None
    if kind in (ReportKind.CARD, ReportKind.PROGRESS):
        # one student's, or (a class without --student) every student's of the class
        build = reports.build_report_card if kind == ReportKind.CARD else reports.build_progress
        if args.student:
            student_id = await _student_id(session, school_id, args.student)
            return [await build(session, student_id, when, today=today)]
        if class_id is None:
            raise ReportRefused(f"a {kind.value} report needs --student or --class")
        ids = await class_students(session, class_id, today)
        if not ids:
            raise ReportRefused(f"nobody is in {args.class_name}")
        return [await build(session, sid, when, today=today) for sid in ids]
    if class_id is None:
        raise ReportRefused(f"the {args.kind} report needs --class")
    if kind == ReportKind.CLASS:
        return [await reports.build_class_summary(session, class_id, when, today=today)]
    if kind == ReportKind.COVERAGE:
        return [await reports.build_coverage(session, class_id, when, today=today)]
    if kind == ReportKind.ATTENDANCE:
        return [await reports.build_attendance(session, class_id, when, today=today)]
    return [await reports.build_risk(session, class_id, when, today=today)]


async def _class_id(session: AsyncSession, school_id: int, name: str) -> int:
    from services.core import enrolment

    for class_id, class_name in await session.execute(enrolment.school_classes(school_id)):
        if class_name.casefold() == name.strip().casefold():
            return int(class_id)
    raise ReportRefused(f"no class {name} in the current school year")


async def _student_id(session: AsyncSession, school_id: int, key: str) -> int:
    from db.models import Student

    rows = await session.execute(
        select(Student.id, Student.full_name).where(Student.school_id == school_id)
    )
    wanted = key.strip()
    found = [
        sid
        for sid, name in rows
        if (wanted.isdigit() and sid == int(wanted)) or name.casefold() == wanted.casefold()
    ]
    if not found:
        raise ReportRefused(f"no student {key}")
    if len(found) > 1:
        raise ReportRefused(f"several students are called {key}: give the id")
    return int(found[0])
