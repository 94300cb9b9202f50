"""`restore`: an archive into an empty database of either kind, then up to the code's head.

In order, and nothing is written before step 4:

1. the archive is opened and verified whole (`reader.verify`): manifest, checksums, rows;
2. its schema revision must be one this code knows (an archive from a newer Parta is refused);
3. the target must be empty: every table without rows (and the files folder, when files are
   restored, without files);
4. the files are written into the (empty) files folder first: what the file system refuses
   (two files of one name, a file where a folder must be, a name too long, a full disk) is
   refused before the database is touched; if anything after this step fails, the files and
   folders written are removed again;
5. the target is migrated to the archive's revision (up from nothing or an older revision;
   down, when it is empty and newer), its schema reflected and matched against the manifest;
   a restore refused from here on (a mismatch, rows the database refuses) migrates the still
   empty target back to the revision it had (or to no tables at all);
6. all rows are inserted in one transaction, tables in foreign-key order, in batches. A
   foreign key to a row not inserted yet (a self-reference such as ``comments.reply_to_id``,
   or a cycle between tables) is inserted as NULL and set by an UPDATE once every table is
   in — within the same transaction, so no deferrable constraints are needed; PostgreSQL's
   sequences are then set past the restored ids;
7. the database is migrated to head (an older archive is upgraded like any database).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, bindparam, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import db.models  # noqa: F401 - registers every table on the metadata
from db.base import Base
from db.migrate import downgrade, head_revision, revisions, upgrade
from services.backup.archive import Kind, Manifest, TableEntry, kind_of
from services.backup.errors import BackupError
from services.backup.reader import Archive, extract_file, open_archive, table_rows, verify

BATCH = 500
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore wrote, and the revision the archive came from and the database is at."""

    archive: Path
    revision: str
    upgraded_to: str
    tables: int
    rows: int
    files: int
    bytes: int


async def restore(
    engine: AsyncEngine, archive_path: Path, *, files_dir: Path | None = None
) -> RestoreSummary:
    """Rebuild the archive's school into the empty database of `engine` (and its files into
    the empty `files_dir`; without `files_dir` the files are not restored).

    Every refusal is a `BackupError` raised before any row or file is written; a restore the
    database itself refuses (a constraint) is rolled back whole (`backup.rows_rejected`).
    """
    archive = await asyncio.to_thread(_open_verified, archive_path)
    try:
        manifest = archive.manifest
        known = revisions()
        if manifest.revision not in known:
            raise BackupError(
                "backup.newer_schema",
                archive=archive.name,
                revision=manifest.revision,
                head=known[-1],
            )
        restore_files = files_dir is not None and bool(manifest.files)
        if restore_files and files_dir is not None:
            _check_empty_folder(files_dir)
        current = await _current_revision(engine)
        await _check_empty(engine, await _reflect(engine))
        if current is not None and current not in known:
            raise BackupError("backup.target_unknown_revision", revision=current)
        written: list[Path] = []
        migrated = False
        try:
            if restore_files and files_dir is not None:
                await asyncio.to_thread(_extract_files, archive, files_dir, written)
            migrated = current != manifest.revision
            await _migrate_to(engine, current, manifest.revision, known)
            schema = await _reflect(engine)
            _match(archive, schema, manifest)
            rows = await _insert_all(engine, archive, schema)
        except BaseException as exc:
            await asyncio.to_thread(_remove, written)
            if migrated and isinstance(exc, BackupError):
                await _migrate_back(engine, manifest.revision, current, known)
            raise
        head = head_revision()
        if manifest.revision != head:
            await upgrade(engine.url, head)
    finally:
        archive.close()
    return RestoreSummary(
        archive=archive_path,
        revision=manifest.revision,
        upgraded_to=head,
        tables=len(manifest.tables),
        rows=rows,
        files=len(manifest.files) if restore_files else 0,
        bytes=archive.size,
    )


def _open_verified(path: Path) -> Archive:
    archive = open_archive(path)
    try:
        verify(archive)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_empty_folder(folder: Path) -> None:
    if folder.exists() and any(p.is_file() for p in folder.rglob("*")):
        raise BackupError("backup.files_not_empty", path=str(folder))


async def _current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))
        if VERSION_TABLE not in names:
            return None
        found = await conn.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return None if found is None else str(found)


async def _reflect(engine: AsyncEngine) -> MetaData:
    metadata = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: metadata.reflect(sync))
    if VERSION_TABLE in metadata.tables:
        metadata.remove(metadata.tables[VERSION_TABLE])
    return metadata


async def _check_empty(engine: AsyncEngine, schema: MetaData) -> None:
    async with engine.connect() as conn:
        await _refuse_rows(conn, schema.sorted_tables)


async def _refuse_rows(conn: AsyncConnection, tables: Sequence[Table]) -> None:
    for table in tables:
        if await conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
            raise BackupError("backup.target_not_empty", table=table.name)


async def _migrate_to(
    engine: AsyncEngine, current: str | None, target: str, known: list[str]
) -> None:
    """Bring the (empty) database to `target`: up from nothing or an older revision, down from
    a newer one (an empty database loses nothing)."""
    if current == target:
        return
    if current is not None and current in known and known.index(current) > known.index(target):
        await downgrade(engine.url, target)
    else:
        await upgrade(engine.url, target)


async def _migrate_back(engine: AsyncEngine, at: str, before: str | None, known: list[str]) -> None:
    """A restore refused after the (empty) target was migrated to the archive's revision: its
    schema goes back to `before` (none: no tables at all), so the refusal changes nothing."""
    if before is not None:
        await _migrate_to(engine, at, before, known)
        return
    await downgrade(engine.url, "base")
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


def _match(archive: Archive, schema: MetaData, manifest: Manifest) -> None:
    """The archive's tables and columns are exactly the database's at its revision; each
    column takes the code's type where the code knows it with the same kind (UTC timestamps,
    enums, JSON), else the reflected one."""
    listed = {t.name: t for t in manifest.tables}
    for table in schema.sorted_tables:
        entry = listed.pop(table.name, None)
        if entry is None or {c.name for c in entry.columns} != {c.name for c in table.columns}:
            raise _mismatch(archive, table.name)
        known = Base.metadata.tables.get(table.name)
        for info in entry.columns:
            column = table.columns[info.name]
            code = None if known is None else known.columns.get(info.name)
            if code is not None and kind_of(code) is info.kind:
                column.type = code.type
    if listed:
        raise _mismatch(archive, next(iter(listed)))


def _mismatch(archive: Archive, table: str) -> BackupError:
    return BackupError(
        "backup.schema_mismatch",
        archive=archive.name,
        table=table,
        revision=archive.manifest.revision,
    )


async def _insert_all(engine: AsyncEngine, archive: Archive, schema: MetaData) -> int:
    entries = {t.name: t for t in archive.manifest.tables}
    order = schema.sorted_tables
    total = 0
    current = "?"  # the table being written, named when the database refuses its rows
    try:
        async with engine.begin() as conn:
            await _refuse_rows(conn, order)
            deferred: list[tuple[Table, list[str], list[dict[str, Any]]]] = []
            for index, table in enumerate(order):
                current = table.name
                late = _late_columns(table, order[index:])
                held: list[dict[str, Any]] = []
                total += await _insert_table(conn, archive, table, entries[table.name], late, held)
                deferred.append((table, late, held))
            for table, late, held in deferred:
                current = table.name
                await _apply_deferred(conn, table, entries[table.name], late, held)
            if conn.dialect.name == "postgresql":
                await _reset_sequences(conn, order)
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise BackupError("backup.rows_rejected", table=current, reason=reason) from None
    return total


def _late_columns(table: Table, not_yet_in: Sequence[Table]) -> list[str]:
    """The columns of `table` that point at a table not inserted before it (itself, or a table
    later in a cycle): inserted as NULL, set afterwards."""
    pending = {t.name for t in not_yet_in}
    late = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name in pending})
    for name in late:
        if not table.columns[name].nullable:
            raise TypeError(f"{table.name}.{name} points forward and cannot be NULL")
    return late


async def _insert_table(
    conn: AsyncConnection,
    archive: Archive,
    table: Table,
    entry: TableEntry,
    late: list[str],
    held: list[dict[str, Any]],
) -> int:
    key = list(entry.primary_key)
    count = 0
    rows = table_rows(archive, entry)
    for batch in _batches(rows):
        if late:
            for row in batch:
                values = {c: row[c] for c in late if row[c] is not None}
                if values:
                    held.append({**{f"k_{k}": row[k] for k in key}, **values})
                    row.update(dict.fromkeys(values))
        await conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(rows, BATCH)):
        yield batch


async def _apply_deferred(
    conn: AsyncConnection,
    table: Table,
    entry: TableEntry,
    late: list[str],
    held: list[dict[str, Any]],
) -> None:
    """One UPDATE per late column, over the rows that had a value in it."""
    for name in late:
        rows = [
            {"k_" + k: r["k_" + k] for k in entry.primary_key} | {"v": r[name]}
            for r in held
            if name in r
        ]
        if not rows:
            continue
        where = [table.columns[k] == bindparam("k_" + k) for k in entry.primary_key]
        statement = update(table).where(*where).values({name: bindparam("v")})
        for start in range(0, len(rows), BATCH):
            await conn.execute(statement, rows[start : start + BATCH])


async def _reset_sequences(conn: AsyncConnection, tables: Sequence[Table]) -> None:
    """Each serial/identity column continues after the largest restored id."""
    for table in tables:
        for column in table.primary_key.columns:
            if not _is_integer(column):
                continue
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f'coalesce(max("{column.name}"), 1), max("{column.name}") IS NOT NULL) '
                    f'FROM "{table.name}"'
                ),
                {"table": table.name, "column": column.name},
            )


def _is_integer(column: Column[Any]) -> bool:
    try:
        return kind_of(column) is Kind.INT
    except TypeError:
        return False


def _extract_files(archive: Archive, root: Path, written: list[Path]) -> None:
    """Every file into `root`, each folder and file created noted in `written`; what the file
    system refuses is `backup.cannot_write`."""
    try:
        if not root.is_dir():
            root.mkdir(parents=True)
            written.append(root)
        for file in archive.manifest.files:
            extract_file(archive, file, root, written)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BackupError(
            "backup.cannot_write", path=str(exc.filename or root), reason=reason
        ) from None


def _remove(written: list[Path]) -> None:
    """Undo `_extract_files`: the files and folders it created, newest first."""
    for path in reversed(written):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink()
