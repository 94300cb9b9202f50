"""`parta import template|school|oneroster` and `parta export school|oneroster`, run in-process
(`bot.cli.main`) against the test database on both backends: a dry run writes nothing, an
import applies, a second one has nothing to change, a broken file exits 1 with located
problems and writes nothing, an export reads back as "no change", and OneRoster goes
database → zip → a fresh database → zip unchanged.

The workbook is `tests.roster_factory.school_data` around today (tests/clock.py), so the tests
hold on any date.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import secrets
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot import cli
from bot.i18n import create_i18n
from db.base import Base
from db.engine import create_engine
from db.models import Student
from services.roster.model import StudentRow
from services.roster.workbook import read_school, write_workbook
from tests import clock
from tests.conftest import _pg_admin
from tests.roster_factory import school_data

ROOT = Path(__file__).resolve().parent.parent
ONEROSTER_SAMPLE = ROOT / "tests" / "samples" / "oneroster" / "valid"
TRANSLATE = create_i18n("ru").gettext

Parta = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
async def empty_db(db_url: str) -> str:
    """`db_url` with every table emptied (the schema is migrated by `db_url`)."""
    from tests.conftest import clear_tables

    engine = create_engine(db_url)
    try:
        await clear_tables(engine)
    finally:
        await engine.dispose()
    return db_url


@pytest.fixture
def parta(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[str], Parta]:
    """`await parta(url)("import", "school", path)`: (exit code, stdout) of `parta …`."""
    monkeypatch.setenv("CODE_SECRET", "x" * 40)
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    monkeypatch.delenv("BOT_TOKEN", raising=False)

    def on(url: str) -> Parta:
        async def run(*args: str | Path) -> tuple[int, str]:
            monkeypatch.setenv("DATABASE_URL", url)
            capsys.readouterr()
            code = await asyncio.to_thread(cli.main, [str(a) for a in args])
            said = capsys.readouterr()
            assert "Traceback" not in said.out + said.err
            return code, said.out

        return run

    return on


@pytest.fixture
async def fresh_url(db_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty (unmigrated) database of `db_url`'s backend; the CLI migrates it."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'second.sqlite3'}"
        return
    name = f"parta_roster_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def row_counts(url: str) -> dict[str, int]:
    """Rows per table (every table of the schema)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def students(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(Student)) or 0)
    finally:
        await engine.dispose()


def workbook(tmp_path: Path, name: str = "school.xlsx", **sizes: int) -> Path:
    path = tmp_path / name
    write_workbook(path, school_data(clock.school_today(), **sizes), TRANSLATE)
    return path


# --- the template -------------------------------------------------------------------------


async def test_template_is_written_and_reads_as_an_empty_school(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    path = tmp_path / "template.xlsx"
    code, out = await parta(empty_db)("import", "template", path)
    assert code == 0
    assert str(path) in out
    result = read_school(path)
    # the example rows are commented out: only the school's own row is asked for
    assert result.data is None
    assert [(p.key, p.where.sheet, p.where.line) for p in result.problems] == [
        ("roster.no_rows", "Школа", 2)
    ]
    assert sum((await row_counts(empty_db)).values()) == 0


# --- import school ------------------------------------------------------------------------


async def test_dry_run_then_import_then_nothing_to_change(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    run = parta(empty_db)
    path = workbook(tmp_path)
    data = school_data(clock.school_today())
    before = await row_counts(empty_db)
    assert sum(before.values()) == 0

    code, out = await run("import", "school", path, "--dry-run")
    assert code == 0
    assert "dry run: nothing written" in out
    assert await row_counts(empty_db) == before

    code, out = await run("import", "school", path)
    assert code == 0
    assert out.rstrip().endswith("applied")
    assert await students(empty_db) == len(data.students)
    after = await row_counts(empty_db)

    code, out = await run("import", "school", path)
    assert code == 0
    assert out.rstrip().endswith("nothing to change")
    assert await row_counts(empty_db) == after
    code, out = await run("import", "school", path, "--dry-run")
    assert code == 0
    assert await row_counts(empty_db) == after


async def test_a_broken_file_exits_1_with_located_problems_and_writes_nothing(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    run = parta(empty_db)
    data = school_data(clock.school_today())
    lost = StudentRow("s-lost", "Потерянный Ученик", "c-99Я", None)
    broken = dataclasses.replace(data, students=(*data.students, lost), origins={})
    path = tmp_path / "broken.xlsx"
    write_workbook(path, broken, TRANSLATE)

    code, out = await run("import", "school", path)
    assert code == 1
    line = len(data.students) + 2  # the header, then the rows in order
    assert f"Ученики, строка {line}" in out, out
    assert "c-99Я" in out
    assert sum((await row_counts(empty_db)).values()) == 0

    for args in (("import", "school", path, "--dry-run"), ("import", "school", tmp_path / "no")):
        code, out = await run(*args)
        assert code == 1
        assert out.strip()
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a workbook")
    code, out = await run("import", "school", junk)
    assert code == 1
    assert "junk.xlsx" in out
    assert sum((await row_counts(empty_db)).values()) == 0


async def test_export_school_reads_back_as_no_change(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    run = parta(empty_db)
    assert (await run("import", "school", workbook(tmp_path)))[0] == 0
    before = await row_counts(empty_db)
    exported = tmp_path / "export.xlsx"
    code, out = await run("export", "school", exported)
    assert code == 0
    assert str(exported) in out
    assert read_school(exported).problems == ()
    code, out = await run("import", "school", exported, "--dry-run")
    assert code == 0
    assert "dry run: nothing written" in out
    code, out = await run("import", "school", exported)
    assert code == 0
    assert out.rstrip().endswith("nothing to change")
    assert await row_counts(empty_db) == before


# --- OneRoster ----------------------------------------------------------------------------


def csv_tables(path: Path) -> dict[str, list[dict[str, str]]]:
    """Every CSV of the zip as rows, without the `dateLastModified` column (the moment of
    the export)."""
    tables: dict[str, list[dict[str, str]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if not name.endswith(".csv"):
                continue
            reader = csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig")))
            tables[name] = [
                {k: v for k, v in row.items() if k != "dateLastModified"} for row in reader
            ]
    return tables


async def test_oneroster_round_trips_through_a_fresh_database(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str, fresh_url: str
) -> None:
    first, second = parta(empty_db), parta(fresh_url)
    code, out = await first("import", "oneroster", ONEROSTER_SAMPLE, "--dry-run")
    assert code == 0, out
    assert sum((await row_counts(empty_db)).values()) == 0
    code, out = await first("import", "oneroster", ONEROSTER_SAMPLE)
    assert code == 0, out
    assert out.rstrip().endswith("applied")
    assert await students(empty_db) > 0

    a_zip, b_zip = tmp_path / "A.zip", tmp_path / "B.zip"
    assert (await first("export", "oneroster", a_zip))[0] == 0
    code, out = await second("import", "oneroster", a_zip)
    assert code == 0, out
    assert out.rstrip().endswith("applied")
    assert (await second("export", "oneroster", b_zip))[0] == 0

    a, b = csv_tables(a_zip), csv_tables(b_zip)
    assert "manifest.csv" in a
    assert len(a["users.csv"]) > len(a["orgs.csv"]) > 0
    assert a["enrollments.csv"]
    assert len(a["results.csv"]) == 3, "the sample's gradebook went in and came out again"
    assert {r["lineItemSourcedId"] for r in a["results.csv"]} <= {
        i["sourcedId"] for i in a["lineItems.csv"]
    }
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    assert await students(fresh_url) == await students(empty_db)
    # and the first database already matches what it exported
    code, out = await first("import", "oneroster", a_zip)
    assert code == 0, out
    assert out.rstrip().endswith("nothing to change")


async def test_oneroster_broken_package_exits_1_and_writes_nothing(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    folder = tmp_path / "package"
    folder.mkdir()
    for source in ONEROSTER_SAMPLE.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "users.csv").unlink()
    code, out = await parta(empty_db)("import", "oneroster", folder)
    assert code == 1
    assert "users.csv" in out
    assert sum((await row_counts(empty_db)).values()) == 0


async def test_a_problem_only_the_database_shows_exits_1_and_writes_nothing(
    tmp_path: Path, parta: Callable[[str], Parta], empty_db: str
) -> None:
    """The file reads fine, but its year's name is held by another year of the school."""
    run = parta(empty_db)
    assert (await run("import", "school", workbook(tmp_path)))[0] == 0
    before = await row_counts(empty_db)
    data = school_data(clock.school_today())
    assert data.year is not None
    other = dataclasses.replace(data, year=dataclasses.replace(data.year, source_id="y-other"))
    path = tmp_path / "other-year.xlsx"
    write_workbook(path, dataclasses.replace(other, origins={}), TRANSLATE)
    assert read_school(path).problems == ()
    for dry in ((), ("--dry-run",)):
        code, out = await run("import", "school", path, *dry)
        assert code == 1, out
        assert data.year.name in out
        assert "y1" in out
    assert await row_counts(empty_db) == before
