"""`parta import template|school|oneroster` and `parta export school|oneroster`: the school's
roster in and out from the console (`services.roster`).

Reports are in the default locale (the admin's language): every problem with its sheet or
file, line and column, or what would change. An invalid file exits 1 with its report and
writes nothing; a valid dry run exits 0 and writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the readers and writers (openpyxl…) load only when a command runs
    from aiogram.utils.i18n import I18n

    from services.roster.formats import Format
    from services.roster.model import ReadResult

#: how many problems and lines of each kind of change the console prints
SHOWN = 50


class InvalidInput(Exception):
    """The file cannot be imported: `lines` say why (exit code 1)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``import`` and ``export`` commands."""
    imports = commands.add_parser("import", help="load the school's roster and timetable")
    what = imports.add_subparsers(dest="import_command", required=True)
    template = what.add_parser("template", help="write the empty school workbook (.xlsx)")
    template.add_argument("file", type=Path, help="the .xlsx file to write")
    school = what.add_parser(
        "school", help="import the school workbook (.xlsx) or its sheets as CSV (folder or zip)"
    )
    school.add_argument("file", type=Path, help=".xlsx, a folder or a .zip of CSV files")
    school.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    oneroster = what.add_parser("oneroster", help="import a OneRoster 1.2 (or 1.1) CSV export")
    oneroster.add_argument("path", type=Path, help="a .zip or a folder with manifest.csv")
    oneroster.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    exports = commands.add_parser("export", help="write the school's data out")
    out = exports.add_subparsers(dest="export_command", required=True)
    school_out = out.add_parser("school", help="the school as the workbook (.xlsx)")
    school_out.add_argument("file", type=Path, help="the .xlsx file to write")
    roster_out = out.add_parser("oneroster", help="the school as OneRoster 1.2 CSV, with grades")
    roster_out.add_argument("file", type=Path, help="the .zip file to write")


def _gettext(i18n: I18n) -> Callable[[str], str]:
    return partial(i18n.gettext, locale=i18n.default_locale)


def problem_lines(result: ReadResult, gettext: Callable[[str], str]) -> list[str]:
    """Every problem (the first `SHOWN`), then the notes."""
    from services.roster.problems import describe

    lines = [describe(problem, gettext) for problem in result.problems[:SHOWN]]
    if len(result.problems) > SHOWN:
        lines.append(f"… +{len(result.problems) - SHOWN}")
    return lines + note_lines(result, gettext)


def note_lines(result: ReadResult, gettext: Callable[[str], str]) -> list[str]:
    from services.roster.problems import describe_note

    return [describe_note(note, gettext) for note in result.notes]


async def import_file(
    database_url: str, i18n: I18n, path: Path, kind: Format, *, dry_run: bool
) -> list[str]:
    """Read, check against the database, and apply unless `dry_run`: the report's lines."""
    from db.engine import create_engine, create_session_factory
    from services.core.schooltime import local_today, zone_of
    from services.roster import apply_import, plan_import
    from services.roster.formats import Format
    from services.roster.oneroster import read_oneroster
    from services.roster.summary import summarize
    from services.roster.workbook import read_school

    gettext = _gettext(i18n)
    reader = read_oneroster if kind is Format.ONEROSTER else read_school
    result = await asyncio.to_thread(reader, path)
    if not result.ok or result.data is None:
        raise InvalidInput(problem_lines(result, gettext))
    data = result.data
    today = local_today(zone_of(data.school.timezone))
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            plan = await plan_import(session, data, today=today)
            if plan.problems:
                raise InvalidInput([summarize(plan, gettext, first=SHOWN)])
            lines = [*note_lines(result, gettext), summarize(plan, gettext, first=SHOWN)]
            if dry_run or plan.is_noop:
                return [*lines, "dry run: nothing written" if dry_run else "nothing to change"]
            await apply_import(session, data, today=today, actor_account_id=None)
    finally:
        await engine.dispose()
    return [*lines, "applied"]


async def write_template_file(i18n: I18n, path: Path) -> list[str]:
    from services.roster.workbook import write_template

    await asyncio.to_thread(write_template, path, i18n.gettext)
    return [f"school workbook template written: {path}"]


async def export_file(database_url: str, i18n: I18n, path: Path, kind: Format) -> list[str]:
    """The school as it is now, as the workbook or as OneRoster 1.2 CSV with its grades."""
    from db.engine import create_engine, create_session_factory
    from services.core.schooltime import utcnow
    from services.roster import snapshot
    from services.roster.formats import Format
    from services.roster.oneroster import write_oneroster
    from services.roster.oneroster_gradebook import load_gradebook
    from services.roster.workbook import write_workbook

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            data = await snapshot(session)
            gradebook = await load_gradebook(session) if kind is Format.ONEROSTER else None
    finally:
        await engine.dispose()
    if kind is Format.ONEROSTER:
        await asyncio.to_thread(write_oneroster, path, data, gradebook, modified=utcnow())
    else:
        await asyncio.to_thread(write_workbook, path, data, i18n.gettext)
    counts = f"{len(data.classes)} classes, {len(data.students)} students, {len(data.staff)} staff"
    return [f"{kind.value} export written: {path} ({counts})"]
