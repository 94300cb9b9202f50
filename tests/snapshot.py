"""The whole database as data, to prove that a refused action changed nothing.

A forged button press must leave every row of every table as it was: not only the number of
rows, but every value (a tutor widening his own scopes changes no count). ``db_snapshot`` reads
every table of the schema in primary-key order; compare two snapshots with ``==``, or use
``assert_unchanged`` for a readable account of what changed::

    before = await db_snapshot(app.session_factory)
    await tutor.press(data=GrantCb(grant_id=grant, op=GrantOp.SCOPES, value=15).pack())
    await assert_unchanged(app.session_factory, before)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


def _plain(value: Any) -> Any:
    """A comparable, hashable form of a column value (JSON documents canonicalised, times in
    UTC, so the same row reads the same on SQLite and PostgreSQL)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time | Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return value


async def db_snapshot(
    session_factory: async_sessionmaker[AsyncSession], *, ignore: Iterable[str] = ()
) -> Snapshot:
    """Every row of every table (columns as ``(name, value)`` pairs), keyed by table name.

    ``ignore`` names columns (``"table.column"``) a legitimate side effect may touch; leave it
    empty unless the test says why.
    """
    skipped = set(ignore)
    result: Snapshot = {}
    async with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if f"{table.name}.{c.name}" not in skipped]
            order = list(table.primary_key.columns) or columns
            rows = await session.execute(select(*columns).order_by(*order))
            result[table.name] = [
                tuple((c.name, _plain(v)) for c, v in zip(columns, row, strict=True))
                for row in rows
            ]
    return result


def digest(snapshot: Snapshot) -> dict[str, str]:
    """A hash of every table's rows (short enough to print)."""
    return {
        table: hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        for table, rows in snapshot.items()
    }


def _key_names(table: str) -> set[str]:
    found = Base.metadata.tables.get(table)
    return {c.name for c in found.primary_key.columns} if found is not None else set()


def _key(row: tuple[Any, ...], names: set[str]) -> tuple[Any, ...]:
    return tuple(pair for pair in row if pair[0] in names) or row


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, one line per added, removed or changed row."""
    found: list[str] = []
    for table in sorted(set(before) | set(after)):
        keys = _key_names(table)
        old = {_key(row, keys): row for row in before.get(table, [])}
        new = {_key(row, keys): row for row in after.get(table, [])}
        for key in sorted(set(old) | set(new), key=repr):
            if key not in new:
                found.append(f"{table}: removed {old[key]}")
            elif key not in old:
                found.append(f"{table}: added {new[key]}")
            elif old[key] != new[key]:
                diff = [
                    f"{name}: {a!r} -> {b!r}"
                    for (name, a), (_, b) in zip(old[key], new[key], strict=True)
                    if a != b
                ]
                found.append(f"{table} {key}: " + ", ".join(diff))
    return found


async def assert_unchanged(
    session_factory: async_sessionmaker[AsyncSession],
    before: Snapshot,
    context: object = None,
    *,
    ignore: Iterable[str] = (),
) -> None:
    """Fail, listing every changed row, unless the database is exactly as in ``before``."""
    after = await db_snapshot(session_factory, ignore=ignore)
    if after != before:
        lines = changes(before, after)
        prefix = f"{context}: " if context is not None else ""
        raise AssertionError(prefix + "the database changed:\n" + "\n".join(lines[:40]))
