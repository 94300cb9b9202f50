"""`parta backup` / `parta restore`: a seeded school round-trips SQLite → PostgreSQL and back
(every table compared row by row), and a broken, foreign, tampered, newer or misplaced archive
is refused with nothing written.

The databases here are this module's own (fresh files and fresh PostgreSQL databases, not the
shared `engine` fixture), and the demo school is seeded for a fixed day, so nothing depends on
today's date.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.scheduler import BACKUP_JOB, backup_schedule, create_scheduler, run_backup
from db.base import Base
from db.engine import create_engine, create_session_factory
from db.migrate import head_revision, revisions, upgrade
from db.models import Account, AuditEntry, Comment, Grade, School
from services.backup import BackupError, BackupSchedule, backup, restore
from services.backup.archive import MANIFEST
from services.backup.restore import _late_columns
from services.backup.schedule import LOCK as BACKUP_LOCK
from services.backup.writer import snapshot
from services.demo import seed_demo
from services.notify.jobs import JobConfig
from tests.conftest import PG_ADMIN_URL, _pg_admin

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
STUDENTS = 12  # small: the round trips run in the normal suite

MakeDb = Callable[..., Awaitable[AsyncEngine]]


# --- fresh databases --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once, copied for each test that needs one."""
    path = tmp_path_factory.mktemp("template") / "head.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
async def fresh(tmp_path: Path, sqlite_at_head: Path) -> AsyncIterator[MakeDb]:
    """`await fresh("sqlite" | "postgresql", migrated=False)`: an engine on a new, empty
    database (unmigrated, or at head), disposed (and dropped) after the test."""
    engines: list[AsyncEngine] = []
    databases: list[str] = []

    async def make(kind: str, *, migrated: bool = False) -> AsyncEngine:
        if kind == "sqlite":
            path = tmp_path / f"db-{len(engines)}.sqlite3"
            if migrated:
                shutil.copyfile(sqlite_at_head, path)
            url = f"sqlite+aiosqlite:///{path}"
        else:
            name = f"parta_backup_{secrets.token_hex(4)}"
            try:
                await _pg_admin(f'CREATE DATABASE "{name}"')
            except Exception as exc:  # as conftest's pg_url: skipped, except on CI
                message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc})"
                if os.environ.get("CI"):
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            databases.append(name)
            url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            if migrated:
                await upgrade(url)
        engine = create_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.dispose()
    for name in databases:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seeded(engine: AsyncEngine) -> AsyncEngine:
    """The demo school, plus rows the demo doesn't write: a reply whose parent comes later in
    key order (a forward self-reference), awkward floats, JSON and times."""
    factory = create_session_factory(engine)
    await seed_demo(factory, students=STUDENTS, weeks=1, today=TODAY)
    async with factory() as session, session.begin():
        grade = await session.scalar(select(Grade).order_by(Grade.id).limit(1))
        account = await session.scalar(select(Account).order_by(Account.id).limit(1))
        assert grade is not None
        assert account is not None
        grade.score, grade.weight = 0.1 + 0.2, 1e-300
        account.quiet_start, account.quiet_end = time(21, 30), time(7, 5, 9)
        top = int(await session.scalar(select(func.max(Comment.id))) or 0)
        # the parent (id top+2) comes after its reply (id top+1) in primary-key order
        await session.execute(
            insert(Comment),
            [{"id": top + 2, "grade_id": grade.id, "author_id": account.id, "text": "parent",
              "created_at": NOW}],
        )  # fmt: skip
        await session.execute(
            insert(Comment),
            [{"id": top + 1, "grade_id": grade.id, "author_id": account.id, "text": "reply ✓",
              "reply_to_id": top + 2, "created_at": NOW}],
        )  # fmt: skip
        session.add(
            AuditEntry(
                action="backup.test",
                entity="grade",
                entity_id=grade.id,
                old=None,
                new={"nested": [1, 2.5, None, True, "Ё <&>"], "empty": {}},
            )
        )
    return engine


async def contents(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, read through the code's column types."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


async def table_names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))


async def row_total(engine: AsyncEngine) -> int:
    total = 0
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            total += int(await conn.scalar(select(func.count()).select_from(table)) or 0)
    return total


# --- the round trips --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source_kind", "target_kind"),
    [("sqlite", "postgresql"), ("postgresql", "sqlite")],
    ids=["sqlite-to-postgresql", "postgresql-to-sqlite"],
)
async def test_a_school_round_trips_between_the_backends(
    fresh: MakeDb, tmp_path: Path, source_kind: str, target_kind: str
) -> None:
    source = await seeded(await fresh(source_kind, migrated=True))
    files = tmp_path / "files"
    (files / "homework" / "2026").mkdir(parents=True)
    (files / "homework" / "2026" / "essay.pdf").write_bytes(b"%PDF-1.4 " + bytes(range(256)))
    (files / "top.txt").write_text("Привет", encoding="utf-8")
    out = tmp_path / "school.zip"

    written = await backup(source, out, files_dir=files, now=NOW)

    expected = await contents(source)
    assert written.revision == head_revision()
    assert written.tables == len(Base.metadata.sorted_tables)
    assert written.rows == sum(len(rows) for rows in expected.values())
    assert written.files == 2
    assert written.bytes == out.stat().st_size > 0
    target = await fresh(target_kind)
    restored_files = tmp_path / "restored-files"

    summary = await restore(target, out, files_dir=restored_files)

    assert (summary.tables, summary.rows, summary.files) == (
        written.tables,
        written.rows,
        2,
    )
    actual = await contents(target)
    for table, rows in expected.items():
        assert actual[table] == rows, table
    assert (restored_files / "homework" / "2026" / "essay.pdf").read_bytes() == (
        files / "homework" / "2026" / "essay.pdf"
    ).read_bytes()
    assert (restored_files / "top.txt").read_text(encoding="utf-8") == "Привет"
    # new rows get fresh ids (PostgreSQL's sequences were moved past the restored ids)
    async with create_session_factory(target)() as session, session.begin():
        school = School(name="Another school", timezone="Europe/Minsk")
        session.add(school)
        await session.flush()
        assert school.id > max(row[0] for row in expected["schools"])


async def test_the_manifest_describes_the_archive(fresh: MakeDb, tmp_path: Path) -> None:
    source = await fresh("sqlite", migrated=True)
    async with create_session_factory(source)() as session, session.begin():
        session.add(School(name="One", timezone="Europe/Moscow"))
    out = tmp_path / "b.zip"
    await backup(source, out, files_dir=tmp_path / "no-such-folder", now=NOW)
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        names = set(archive.namelist())
        schools = archive.read("tables/schools.jsonl").decode()
    assert manifest["format"] == "parta-backup"
    assert manifest["version"] == 1
    assert manifest["revision"] == head_revision()
    assert manifest["dialect"] == "sqlite"
    assert datetime.fromisoformat(manifest["created_at"]) == NOW
    assert [t["name"] for t in manifest["tables"]] == [t.name for t in Base.metadata.sorted_tables]
    assert names == {MANIFEST} | {t["member"] for t in manifest["tables"]}
    by_name = {t["name"]: t for t in manifest["tables"]}
    assert by_name["schools"]["rows"] == 1
    assert by_name["grades"]["rows"] == 0
    assert by_name["schools"]["sha256"] == hashlib.sha256(schools.encode()).hexdigest()
    row = json.loads(schools)
    assert (row["id"], row["name"], row["timezone"]) == (1, "One", "Europe/Moscow")
    assert datetime.fromisoformat(row["created_at"]).utcoffset() == timedelta(0)
    assert manifest["files"] == []
    assert out.stat().st_mode & 0o077 == 0  # personal data: the owner's only


async def test_the_code_secret_is_not_in_the_backup(fresh: MakeDb, tmp_path: Path) -> None:
    """CODE_SECRET lives in the environment (or a file beside the SQLite database), never in a
    table: an archive holds hashes only."""
    source = await seeded(await fresh("sqlite", migrated=True))
    out = tmp_path / "b.zip"
    await backup(source, out, now=NOW)
    with zipfile.ZipFile(out) as archive:
        blob = b"".join(archive.read(name) for name in archive.namelist())
    assert b"code-secret" not in blob
    assert b"CODE_SECRET" not in blob


def test_every_reference_to_a_later_row_can_wait() -> None:
    """Forward references (self-references, cycles) are inserted as NULL and set afterwards:
    each must be nullable, and today that is exactly `comments.reply_to_id`."""
    order = Base.metadata.sorted_tables
    late = {
        f"{table.name}.{name}"
        for index, table in enumerate(order)
        for name in _late_columns(table, order[index:])
    }
    assert late == {"comments.reply_to_id"}


# --- refusals: nothing written ----------------------------------------------------------


@pytest.fixture
async def archive(fresh: MakeDb, tmp_path: Path) -> Path:
    """A small valid archive: one school with a comment thread."""
    source = await fresh("sqlite", migrated=True)
    async with create_session_factory(source)() as session, session.begin():
        session.add(School(name="Small", timezone="Europe/Minsk"))
    out = tmp_path / "small.zip"
    await backup(source, out, now=NOW)
    return out


def rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of the archive with its members changed by `change` (a valid zip again)."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    change(members)
    out = path.with_name("changed-" + path.name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    return out


def edit_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    def apply(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[MANIFEST])
        change(manifest)
        members[MANIFEST] = json.dumps(manifest).encode()

    return rewrite(path, apply)


async def refused(target: AsyncEngine, path: Path, key: str, **kwargs: Any) -> BackupError:
    with pytest.raises(BackupError) as caught:
        await restore(target, path, **kwargs)
    assert caught.value.key == key, str(caught.value)
    return caught.value


async def test_a_tampered_member_is_refused_and_nothing_is_written(
    fresh: MakeDb, archive: Path
) -> None:
    def tamper(members: dict[str, bytes]) -> None:
        members["tables/schools.jsonl"] = members["tables/schools.jsonl"].replace(
            b"Small", b"Evil!"
        )

    target = await fresh("sqlite")
    error = await refused(target, rewrite(archive, tamper), "backup.checksum")
    assert "tables/schools.jsonl" in str(error)
    assert await table_names(target) == []  # not even migrated


async def test_a_row_count_that_disagrees_is_refused(fresh: MakeDb, archive: Path) -> None:
    def lie(manifest: dict[str, Any]) -> None:
        next(t for t in manifest["tables"] if t["name"] == "schools")["rows"] = 2

    target = await fresh("sqlite")
    await refused(target, edit_manifest(archive, lie), "backup.row_count")
    assert await table_names(target) == []


async def test_a_malformed_row_with_a_matching_checksum_is_refused(
    fresh: MakeDb, archive: Path
) -> None:
    bad = b'{"id":"one","name":"x","timezone":"Europe/Minsk"}\n'
    target = await fresh("sqlite")
    error = await refused(target, rewrite(archive, _forge_schools(bad)), "backup.bad_row")
    assert error.params["line"] == 1
    assert await table_names(target) == []


def _forge_schools(bad: bytes) -> Callable[[dict[str, bytes]], None]:
    """Replace the schools member by `bad`, with the manifest's size and checksum to match."""

    def forge(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[MANIFEST])
        entry = next(t for t in manifest["tables"] if t["name"] == "schools")
        entry.update(sha256=hashlib.sha256(bad).hexdigest(), size=len(bad))
        members["tables/schools.jsonl"] = bad
        members[MANIFEST] = json.dumps(manifest).encode()

    return forge


@pytest.mark.parametrize(
    "bad",
    [
        b"[" * 100_000 + b"]" * 100_000 + b"\n",
        b'{"id": 1, "name": ' + b"[" * 100_000 + b"]" * 100_000 + b', "timezone": "UTC"}\n',
    ],
    ids=["row", "value"],
)
async def test_json_nested_too_deep_is_a_bad_row_not_a_crash(
    fresh: MakeDb, archive: Path, bad: bytes
) -> None:
    """A row nested deeper than Python's JSON parser goes (a RecursionError, not a ValueError)
    is refused like any malformed row, not raised as a traceback."""
    target = await fresh("sqlite")
    error = await refused(target, rewrite(archive, _forge_schools(bad)), "backup.bad_row")
    assert error.params["line"] == 1
    assert await table_names(target) == []


async def test_a_manifest_nested_too_deep_is_refused(fresh: MakeDb, archive: Path) -> None:
    def nest(members: dict[str, bytes]) -> None:
        members[MANIFEST] = b'{"format": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    target = await fresh("sqlite")
    await refused(target, rewrite(archive, nest), "backup.bad_manifest")
    assert await table_names(target) == []


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
async def test_a_truncated_archive_is_refused(
    fresh: MakeDb, archive: Path, tmp_path: Path, keep: float
) -> None:
    data = archive.read_bytes()  # noqa: ASYNC240 - a small file in a test
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: int(len(data) * keep)])
    target = await fresh("sqlite")
    with pytest.raises(BackupError) as caught:
        await restore(target, cut)
    assert caught.value.key in ("backup.not_zip", "backup.damaged_member")
    assert await table_names(target) == []


async def test_foreign_files_are_refused(fresh: MakeDb, archive: Path, tmp_path: Path) -> None:
    target = await fresh("sqlite")
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    await refused(target, not_zip, "backup.not_zip")
    await refused(target, tmp_path / "missing.zip", "backup.cannot_read")
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as other:
        other.writestr("readme.txt", "not a backup")
    await refused(target, plain, "backup.no_manifest")
    await refused(
        target,
        edit_manifest(archive, lambda m: m.update(format="other-backup")),
        "backup.foreign_format",
    )
    await refused(
        target, edit_manifest(archive, lambda m: m.update(version=2)), "backup.newer_format"
    )
    await refused(
        target,
        rewrite(archive, lambda members: members.update({"extra.txt": b"x"})),
        "backup.unexpected_member",
    )
    await refused(
        target,
        rewrite(archive, lambda members: members.pop("tables/grades.jsonl")),
        "backup.missing_member",
    )
    await refused(target, edit_manifest(archive, lambda m: m.pop("tables")), "backup.bad_manifest")
    assert await table_names(target) == []


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../b", "a\\..\\b", "c:x"])
async def test_a_file_path_leaving_the_files_folder_is_refused(
    fresh: MakeDb, archive: Path, tmp_path: Path, path: str
) -> None:
    def plant(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[MANIFEST])
        manifest["files"] = [{"path": path, "size": 1, "sha256": hashlib.sha256(b"x").hexdigest()}]
        members[MANIFEST] = json.dumps(manifest).encode()
        members["files/" + path] = b"x"

    target = await fresh("sqlite")
    await refused(
        target, rewrite(archive, plant), "backup.unsafe_path", files_dir=tmp_path / "files"
    )
    assert not (tmp_path / "outside.txt").exists()
    assert not (tmp_path / "files").exists()
    assert await table_names(target) == []


def _plant_files(entries: list[tuple[str, bytes]]) -> Callable[[dict[str, bytes]], None]:
    """List these files in the manifest (with their true sizes and checksums) and add them."""

    def plant(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[MANIFEST])
        manifest["files"] = [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in entries
        ]
        members[MANIFEST] = json.dumps(manifest).encode()
        for path, data in entries:
            members["files/" + path] = data

    return plant


@pytest.mark.parametrize(
    "entries",
    [
        [("a.txt", b"x"), ("a.txt", b"x")],  # one member listed twice
        [("a", b"x"), ("a/b.txt", b"y")],  # a file where a folder must be
        [("ok.txt", b"x"), ("n" * 300, b"y")],  # a name no file system takes
    ],
    ids=["twice", "file-and-folder", "too-long"],
)
async def test_files_the_file_system_refuses_leave_the_database_and_the_folder_alone(
    fresh: MakeDb, archive: Path, tmp_path: Path, entries: list[tuple[str, bytes]]
) -> None:
    """Every listed file checks out, but the file system cannot hold them all: the restore is
    refused before the database is touched, and the files it wrote are removed (the files used
    to come last, after the rows were committed: a refused restore left a full database)."""
    target = await fresh("sqlite")
    files = tmp_path / "files"
    files.mkdir()
    (files / "empty-folder").mkdir()  # allowed in the target folder, and kept
    await refused(
        target, rewrite(archive, _plant_files(entries)), "backup.cannot_write", files_dir=files
    )
    assert await table_names(target) == []
    assert [p.name for p in files.rglob("*")] == ["empty-folder"]


async def test_rows_the_database_refuses_leave_no_files_behind(
    fresh: MakeDb, archive: Path, tmp_path: Path
) -> None:
    def duplicate_school_with_a_file(members: dict[str, bytes]) -> None:
        _forge_schools(members["tables/schools.jsonl"] * 2)(members)
        manifest = json.loads(members[MANIFEST])
        next(t for t in manifest["tables"] if t["name"] == "schools")["rows"] = 2
        members[MANIFEST] = json.dumps(manifest).encode()
        _plant_files([("hw/1/a.txt", b"x")])(members)

    target = await fresh("sqlite")
    files = tmp_path / "files"
    error = await refused(
        target,
        rewrite(archive, duplicate_school_with_a_file),
        "backup.rows_rejected",
        files_dir=files,
    )
    assert error.params["table"] == "schools"
    assert await table_names(target) == []
    assert not files.exists()


async def test_an_archive_from_a_newer_schema_is_refused(fresh: MakeDb, archive: Path) -> None:
    target = await fresh("sqlite")
    error = await refused(
        target, edit_manifest(archive, lambda m: m.update(revision="999")), "backup.newer_schema"
    )
    assert error.params["head"] == head_revision()
    assert await table_names(target) == []


async def test_a_target_of_an_unknown_revision_is_refused(fresh: MakeDb, archive: Path) -> None:
    target = await fresh("sqlite", migrated=True)
    async with target.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '999'"))
    error = await refused(target, archive, "backup.target_unknown_revision")
    assert error.params["revision"] == "999"
    assert await row_total(target) == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_restoring_into_a_database_with_rows_is_refused(
    fresh: MakeDb, archive: Path, kind: str
) -> None:
    target = await fresh(kind, migrated=True)
    async with create_session_factory(target)() as session, session.begin():
        session.add(School(name="Already here", timezone="Europe/Moscow"))
    before = await contents(target)
    error = await refused(target, archive, "backup.target_not_empty")
    assert error.params["table"] == "schools"
    assert await contents(target) == before


async def test_restoring_files_into_a_folder_with_files_is_refused(
    fresh: MakeDb, tmp_path: Path
) -> None:
    source = await fresh("sqlite", migrated=True)
    files = tmp_path / "files"
    files.mkdir()
    (files / "a.txt").write_text("a")
    out = tmp_path / "b.zip"
    await backup(source, out, files_dir=files, now=NOW)
    target = await fresh("sqlite")
    await refused(target, out, "backup.files_not_empty", files_dir=files)
    assert await table_names(target) == []
    assert [p.name for p in files.iterdir()] == ["a.txt"]


async def _schema_state(engine: AsyncEngine) -> tuple[list[str], str | None]:
    names = sorted(await table_names(engine))
    if "alembic_version" not in names:
        return names, None
    async with engine.connect() as conn:
        return names, await conn.scalar(text("SELECT version_num FROM alembic_version"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("migrated", [False, True], ids=["new-database", "empty-at-head"])
async def test_a_schema_mismatch_leaves_the_target_as_it_was(
    fresh: MakeDb, archive: Path, migrated: bool, kind: str
) -> None:
    """An archive that claims an older revision but lacks one of its tables passes every
    member check; the mismatch shows only once the target was migrated to that revision. The
    refusal used to leave the target there (a new database with the old schema, an empty one
    at head taken down to the old revision); now its schema goes back to what it was."""

    def drop_a_table(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[MANIFEST])
        entry = next(t for t in manifest["tables"] if t["name"] == "holidays")
        manifest["tables"].remove(entry)
        manifest["revision"] = revisions()[-2]
        members.pop(entry["member"])
        members[MANIFEST] = json.dumps(manifest).encode()

    target = await fresh(kind, migrated=migrated)
    before = await _schema_state(target)
    error = await refused(target, rewrite(archive, drop_a_table), "backup.schema_mismatch")
    assert error.params["table"] == "holidays"
    assert await _schema_state(target) == before


async def test_rows_the_database_refuses_roll_back_the_whole_restore(
    fresh: MakeDb, archive: Path
) -> None:
    """Two schools with one id pass the archive checks but not the primary key: the restore
    is one transaction, so the first school is not left behind either."""

    def duplicate(members: dict[str, bytes]) -> None:
        data = members["tables/schools.jsonl"] * 2
        manifest = json.loads(members[MANIFEST])
        entry = next(t for t in manifest["tables"] if t["name"] == "schools")
        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data), rows=2)
        members["tables/schools.jsonl"] = data
        members[MANIFEST] = json.dumps(manifest).encode()

    target = await fresh("sqlite")
    error = await refused(target, rewrite(archive, duplicate), "backup.rows_rejected")
    assert error.params["table"] == "schools"
    assert await table_names(target) == []  # and the schema it was given is taken back


async def test_the_database_must_be_migrated_before_a_backup(fresh: MakeDb, tmp_path: Path) -> None:
    source = await fresh("sqlite")
    await upgrade(source.url, revisions()[0])
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(BackupError) as caught:
        await backup(source, folder / "b.zip", now=NOW)
    assert caught.value.key == "backup.not_migrated"
    assert os.listdir(folder) == []  # no archive, no partial file


# --- an archive of an older schema ------------------------------------------------------


@pytest.mark.parametrize("target_at", ["nothing", "head"])
async def test_an_older_archive_is_restored_at_its_revision_then_upgraded(
    fresh: MakeDb, tmp_path: Path, target_at: str
) -> None:
    """An archive of the revision before head (made here by describing the tables as that
    revision had them) is restored at that revision, then upgraded to head: into a new
    database (migrated up to the archive's revision only) or an empty one already at head
    (taken down to the archive's revision: it has no rows to lose)."""
    older = revisions()[-2]
    source = await fresh("sqlite", migrated=True)
    async with create_session_factory(source)() as session, session.begin():
        session.add(School(name="Old times", timezone="Europe/Moscow"))
    out = tmp_path / "head.zip"
    await backup(source, out, now=NOW)
    shape = await fresh("sqlite")
    await upgrade(shape.url, older)
    old_tables = MetaData()
    async with shape.connect() as conn:
        await conn.run_sync(lambda sync: old_tables.reflect(sync))

    def describe_older(members: dict[str, bytes]) -> None:
        """Tables and rows as that revision had them: tables and columns it lacked are
        dropped (the school's row included), checksums recomputed."""
        manifest = json.loads(members[MANIFEST])
        manifest["revision"] = older
        for entry in [e for e in manifest["tables"] if e["name"] not in old_tables.tables]:
            assert entry["rows"] == 0, "a table that revision lacks must be empty here"
            manifest["tables"].remove(entry)
            del members[f"tables/{entry['name']}.jsonl"]
        for entry in manifest["tables"]:
            columns = [c.name for c in old_tables.tables[entry["name"]].columns]
            if [c["name"] for c in entry["columns"]] == columns:
                continue
            kinds = {c["name"]: c for c in entry["columns"]}
            entry["columns"] = [kinds.get(c, {"name": c, "kind": "str"}) for c in columns]
            member = f"tables/{entry['name']}.jsonl"
            rows = [json.loads(line) for line in members[member].splitlines() if line]
            members[member] = b"".join(
                json.dumps({c: row[c] for c in columns if c in row}, separators=(",", ":")).encode()
                + b"\n"
                for row in rows
            )
            entry["sha256"] = hashlib.sha256(members[member]).hexdigest()
            entry["size"] = len(members[member])
        members[MANIFEST] = json.dumps(manifest).encode()

    target = await fresh("sqlite", migrated=target_at == "head")
    summary = await restore(target, rewrite(out, describe_older))
    assert (summary.revision, summary.upgraded_to) == (older, head_revision())
    async with target.connect() as conn:
        assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert await conn.scalar(select(School.name)) == "Old times"


# --- the CLI ----------------------------------------------------------------------------


async def test_the_cli_backs_up_and_restores(
    fresh: MakeDb,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot import cli

    source = await seeded(await fresh("sqlite", migrated=True))
    target = await fresh("sqlite")
    out = tmp_path / "cli.zip"
    monkeypatch.setenv("DATABASE_URL", source.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CODE_SECRET", "x" * 40)
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    assert await asyncio.to_thread(cli.main, ["backup", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out.count("\n") == 1
    assert "tables" in said.out
    assert "rows" in said.out
    monkeypatch.setenv("DATABASE_URL", target.url.render_as_string(hide_password=False))
    assert await asyncio.to_thread(cli.main, ["restore", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out.count("\n") == 1
    assert "rows" in said.out
    assert await contents(target) == await contents(source)
    # again: the target is no longer empty
    assert await asyncio.to_thread(cli.main, ["restore", str(out)]) == 1
    said = capsys.readouterr()
    assert said.err.count("\n") == 1
    assert "Traceback" not in said.err
    assert "accounts" in said.err  # the first table with rows
    assert "не пуста" in said.err  # in DEFAULT_LOCALE (Russian unless set)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(out.read_bytes()[:100])
    assert await asyncio.to_thread(cli.main, ["restore", str(broken)]) == 1
    said = capsys.readouterr()
    assert said.err.count("\n") == 1
    assert "Traceback" not in said.err


# --- consistency ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_backup_reads_one_snapshot(fresh: MakeDb, kind: str) -> None:
    """A row committed by the bot while the backup reads is not half in it: the backup's
    transaction keeps seeing the database as it was when it began."""
    engine = await fresh(kind, migrated=True)
    async with create_session_factory(engine)() as session, session.begin():
        session.add(School(name="First", timezone="Europe/Moscow"))
    count = select(func.count()).select_from(School)
    async with snapshot(engine) as conn:
        assert await conn.scalar(count) == 1
        async with create_session_factory(engine)() as session, session.begin():
            session.add(School(name="Meanwhile", timezone="Europe/Moscow"))
        assert await conn.scalar(count) == 1
        if kind == "postgresql":
            assert await conn.scalar(text("SHOW transaction_isolation")) == "repeatable read"
            assert await conn.scalar(text("SHOW transaction_read_only")) == "on"
    async with engine.connect() as conn:
        assert await conn.scalar(count) == 2


# --- the scheduled backup ---------------------------------------------------------------


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"old")


async def test_the_nightly_backup_writes_an_archive_and_keeps_the_newest(
    fresh: MakeDb, tmp_path: Path
) -> None:
    engine = await fresh("sqlite", migrated=True)
    async with create_session_factory(engine)() as session, session.begin():
        session.add(School(name="Nightly", timezone="Europe/Moscow"))
    folder = tmp_path / "backups"
    old = [f"parta-202611{day:02d}-0300.zip" for day in range(20, 28)]
    _touch(folder, *old, "notes.txt", "parta-latest.zip", "parta-20261101-0300.zip.bak")
    schedule = BackupSchedule(directory=folder, keep=3, timezone="Europe/Moscow")
    night = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 03:00 in Moscow

    done = await run_backup(create_session_factory(engine), schedule=schedule, now=night)

    assert done is not None
    assert done.summary.path == folder / "parta-20261128-0300.zip"
    assert sorted(p.name for p in done.removed) == old[:-2]
    assert sorted(os.listdir(folder)) == [
        "notes.txt",
        "parta-20261101-0300.zip.bak",
        "parta-20261126-0300.zip",
        "parta-20261127-0300.zip",
        "parta-20261128-0300.zip",
        "parta-latest.zip",
    ]
    target = await fresh("sqlite")
    assert (await restore(target, done.summary.path)).rows == 1
    assert await contents(target) == await contents(engine)


async def test_a_failed_nightly_backup_is_one_error_line_and_removes_nothing(
    fresh: MakeDb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = await fresh("sqlite", migrated=True)
    blocked = tmp_path / "backups"
    blocked.write_text("a file where the folder should be")
    schedule = BackupSchedule(directory=blocked, keep=1)
    with caplog.at_level(logging.ERROR, logger="parta.scheduler"):
        assert await run_backup(create_session_factory(engine), schedule=schedule) is None
    [record] = [r for r in caplog.records if r.name == "parta.scheduler"]
    assert record.getMessage().startswith("scheduled backup failed: cannot write")
    assert record.exc_info is None
    assert blocked.read_text() == "a file where the folder should be"


async def test_one_bot_process_takes_the_nightly_backup(fresh: MakeDb, tmp_path: Path) -> None:
    """On PostgreSQL the others find the backup's advisory lock taken and skip it."""
    engine = await fresh("postgresql", migrated=True)
    schedule = BackupSchedule(directory=tmp_path / "backups", keep=2)
    async with engine.connect() as other:
        assert await other.scalar(select(func.pg_try_advisory_lock(BACKUP_LOCK)))
        assert await run_backup(create_session_factory(engine), schedule=schedule) is None
        await other.scalar(select(func.pg_advisory_unlock(BACKUP_LOCK)))
        await other.commit()
    assert not (tmp_path / "backups").exists()
    done = await run_backup(create_session_factory(engine), schedule=schedule)
    assert done is not None
    assert done.summary.path.parent == tmp_path / "backups"


def test_backup_settings_and_the_job_wiring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUP_DIR", "")
    assert backup_schedule(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("BACKUP_TIME", "02:30")
    monkeypatch.setenv("BACKUP_KEEP", "14")
    monkeypatch.setenv("TIMEZONE", "Asia/Yekaterinburg")
    monkeypatch.setenv("FILES_DIR", str(tmp_path / "files"))
    schedule = backup_schedule(Settings(_env_file=None))  # type: ignore[call-arg]
    assert schedule == BackupSchedule(
        directory=tmp_path,
        at=time(2, 30),
        keep=14,
        timezone="Asia/Yekaterinburg",
        files_dir=tmp_path / "files",  # the stored files go into every nightly backup
    )
    monkeypatch.delenv("BACKUP_TIME")
    monkeypatch.delenv("BACKUP_KEEP")
    defaults = backup_schedule(Settings(_env_file=None))  # type: ignore[call-arg]
    assert defaults is not None
    assert (defaults.at, defaults.keep) == (time(3), 7)

    factory = create_session_factory(create_engine("sqlite+aiosqlite://"))
    plain = create_scheduler(factory, JobConfig())
    assert plain.get_job(BACKUP_JOB) is None
    scheduler = create_scheduler(factory, JobConfig(), backup=schedule)
    job = scheduler.get_job(BACKUP_JOB)
    assert job is not None
    assert job.func is run_backup
    assert job.kwargs == {"schedule": schedule}
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("2", "30")
    assert str(job.trigger.timezone) == "Asia/Yekaterinburg"
