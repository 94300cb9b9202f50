"""`backup`: the whole database and the stored files as one consistent archive.

Every table is read inside one transaction: on PostgreSQL ``REPEATABLE READ, READ ONLY`` (one
snapshot for all tables, no lock held against the bot's writes), on SQLite one explicit read
transaction (WAL keeps its snapshot while the bot writes). Rows are streamed (server-side
cursor, `yield_per`) straight into the zip, so a big school is never held in memory. The
archive is written beside `out` under a temporary name and renamed when complete: a crash or
a refusal never leaves a half-written file that looks like a backup. The archive is readable
by its owner only (0600): it holds every family's personal data.

The stored files are copied as they are on disk after the tables (they are not part of the
database transaction: a file stored meanwhile may be missing, or present without its row).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import secrets
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

import db.models  # noqa: F401 - registers every table on the metadata
from db.base import Base
from db.migrate import head_revision
from services.backup.archive import (
    FILES_PREFIX,
    MANIFEST,
    TABLES_PREFIX,
    ColumnInfo,
    FileEntry,
    Manifest,
    TableEntry,
    dump_row,
    encode,
    kind_of,
)
from services.backup.errors import BackupError

#: rows fetched from the server per round trip
YIELD_PER = 1000
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BackupSummary:
    """What a backup wrote: the archive, its schema revision and how much it holds."""

    path: Path
    revision: str
    tables: int
    rows: int
    files: int
    bytes: int


def engine_of(source: AsyncEngine | async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine behind a session factory (or the engine itself)."""
    if isinstance(source, AsyncEngine):
        return source
    bind = source.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return bind


async def backup(
    source: AsyncEngine | async_sessionmaker[AsyncSession],
    out: Path,
    *,
    files_dir: Path | None = None,
    now: datetime,
) -> BackupSummary:
    """Write the archive `out` (replaced if it exists) of every table and, when `files_dir`
    is given and exists, every file under it.

    The database must be at the code's head revision (`backup.not_migrated` otherwise); a
    file that cannot be written is `backup.cannot_write`. `now` is the manifest's created_at.
    """
    engine = engine_of(source)
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        with (
            _private_file(partial) as sink,
            zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive,
        ):
            async with snapshot(engine) as conn:
                revision = await _revision(conn)
                tables = [await _write_table(conn, archive, t) for t in Base.metadata.sorted_tables]
            files = _write_files(archive, files_dir) if files_dir is not None else []
            manifest = Manifest(
                revision=revision,
                created_at=now,
                dialect=engine.dialect.name,
                tables=tuple(tables),
                files=tuple(files),
                parta_version=_parta_version(),
            )
            archive.writestr(MANIFEST, _manifest_bytes(manifest))
        size = _publish(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError("backup.cannot_write", path=str(out), reason=_reason(exc)) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(
        path=out,
        revision=revision,
        tables=len(tables),
        rows=sum(t.rows for t in tables),
        files=len(files),
        bytes=size,
    )


def _private_file(path: Path) -> IO[bytes]:
    """A new file only its owner can read: an archive holds every family's personal data."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w+b")


def _publish(partial: Path, out: Path) -> int:
    """Give the complete archive its name; its size."""
    os.replace(partial, out)
    return out.stat().st_size


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside one read-only snapshot of the whole database."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            snap = await conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            async with snap.begin():
                yield snap
            return
        # pysqlite begins transactions only before writes: take the read transaction by hand
        snap = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await snap.exec_driver_sql("BEGIN")
        try:
            yield snap
        finally:
            await snap.exec_driver_sql("ROLLBACK")


async def _revision(conn: AsyncConnection) -> str:
    head = head_revision()
    found = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    if found != head:
        raise BackupError("backup.not_migrated", revision=str(found), head=head)
    return head


async def _write_table(conn: AsyncConnection, archive: zipfile.ZipFile, table: Table) -> TableEntry:
    columns = tuple(ColumnInfo(c.name, kind_of(c)) for c in table.columns)
    key = tuple(c.name for c in table.primary_key.columns)
    member = f"{TABLES_PREFIX}{table.name}.jsonl"
    query = select(table).order_by(*table.primary_key.columns)
    digest = hashlib.sha256()
    rows = size = 0
    with archive.open(member, "w", force_zip64=True) as sink:
        result = await conn.stream(query.execution_options(yield_per=YIELD_PER))
        async for partition in result.partitions():
            chunk = b"".join(
                dump_row({c.name: encode(c.kind, row[i]) for i, c in enumerate(columns)})
                for row in partition
            )
            sink.write(chunk)
            digest.update(chunk)
            rows += len(partition)
            size += len(chunk)
    return TableEntry(table.name, member, columns, key, rows, size, digest.hexdigest())


def _write_files(archive: zipfile.ZipFile, root: Path) -> list[FileEntry]:
    """Every regular file under `root` (symbolic links are not followed), in path order."""
    if not root.is_dir():
        return []
    return [_write_file(archive, root, path) for path in sorted(_regular_files(root))]


def _regular_files(root: Path) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                yield path


def _write_file(archive: zipfile.ZipFile, root: Path, path: Path) -> FileEntry:
    relative = path.relative_to(root).as_posix()
    digest = hashlib.sha256()
    size = 0
    with (
        path.open("rb") as source,
        archive.open(FILES_PREFIX + relative, "w", force_zip64=True) as sink,
    ):
        size = _copy(source, sink, digest)
    return FileEntry(relative, size, digest.hexdigest())


def _copy(source: IO[bytes], sink: IO[bytes], digest: hashlib._Hash) -> int:
    size = 0
    while chunk := source.read(CHUNK):
        sink.write(chunk)
        digest.update(chunk)
        size += len(chunk)
    return size


def _manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(manifest.as_json(), ensure_ascii=False, indent=1).encode("utf-8")


def _parta_version() -> str:
    try:
        return importlib.metadata.version("parta")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
