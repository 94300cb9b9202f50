"""SQLite in one trip to aiosqlite's thread per statement (`db/sqlite_driver.py`): the same
results, row counts, errors and transactions as SQLAlchemy's own adapter, for a quarter of the
trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.sqlite_driver import OneTripDbapi

pytestmark = pytest.mark.undated

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False, unique=True),
)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.sqlite3'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls made in aiosqlite's thread, by name."""
    made: list[str] = []
    original = aiosqlite.Connection._execute

    def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_an_sqlite_engine_uses_the_one_trip_adapter(sqlite: AsyncEngine) -> None:
    assert isinstance(sqlite.dialect.dbapi, OneTripDbapi)


async def test_a_query_is_one_trip_to_the_thread(sqlite: AsyncEngine, trips: list[str]) -> None:
    async with sqlite.connect() as connection:
        await connection.execute(insert(things), [{"name": "a"}, {"name": "b"}])
        trips.clear()
        rows = (await connection.execute(select(things.c.name).order_by(things.c.id))).all()
        assert [r.name for r in rows] == ["a", "b"]
        assert trips == ["_run"]  # SQLAlchemy's adapter: cursor, execute, fetchall, close


async def test_results_counts_and_ids_are_those_of_sqlite(sqlite: AsyncEngine) -> None:
    async with sqlite.begin() as connection:
        first = await connection.execute(insert(things).values(name="a"))
        assert first.inserted_primary_key == (1,)
        returned = await connection.execute(
            insert(things).returning(things.c.id), [{"name": "b"}, {"name": "c"}]
        )
        assert sorted(returned.scalars()) == [2, 3]
    async with sqlite.begin() as connection:
        renamed = await connection.execute(
            update(things).where(things.c.id >= 2).values(name=things.c.name + "!")
        )
        assert renamed.rowcount == 2
        rows = await connection.execute(select(things.c.id, things.c.name).order_by(things.c.id))
        assert rows.fetchmany(2) == [(1, "a"), (2, "b!")]
        assert rows.fetchall() == [(3, "c!")]
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_an_error_is_sqlalchemys_and_rolls_back(sqlite: AsyncEngine) -> None:
    async with sqlite.begin() as connection:
        await connection.execute(insert(things).values(name="a"))
    async with sqlite.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(insert(things).values(name="b"))
        with pytest.raises(IntegrityError):
            await connection.execute(insert(things).values(name="a"))
        await transaction.rollback()
    async with sqlite.connect() as connection:
        names = (await connection.execute(select(things.c.name))).scalars().all()
    assert names == ["a"]  # "b" went with the failed transaction
