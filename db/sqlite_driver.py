"""SQLite through aiosqlite in one trip to its thread per statement.

aiosqlite runs SQLite in a thread of its own; every call to it is a trip there and back (a
queue, a wake-up of the thread, a wake-up of the event loop). SQLAlchemy's adapter makes four
for a query: open a cursor, execute, fetch the rows, close the cursor. On a `/today` that is
some twenty trips, about a fifth of the CPU the event loop spends on the screen (profiled on
`bench/throughput.py`). This adapter does the four in the thread in one trip and keeps what
the cursor said (its description, row count and last row id) for SQLAlchemy to read.

Everything else is SQLAlchemy's aiosqlite dialect as it is: transactions, errors (raised in the
thread, translated by the same code), server-side cursors (not used by Parta, left as they are).
`create_engine` hands it to the dialect with SQLAlchemy's documented `module` argument.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

#: what a statement leaves: the cursor's description, its rows (None: no result set), the row
#: count and the last row id
_Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """In aiosqlite's thread: the whole life of a cursor for one statement."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(
    connection: sqlite3.Connection, operation: str, seq_of_parameters: Sequence[Any]
) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return cursor.description, None, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that is only opened in the thread, for the one statement it runs."""

    __slots__ = ("_description", "_last_row_id", "_row_count")

    def __init__(self, adapt_connection: Any) -> None:
        super().__init__(adapt_connection)
        self._description: Any = None
        self._row_count = -1
        self._last_row_id: int | None = None

    def _make_new_cursor(self, connection: Any) -> Any:
        return connection  # no cursor to open here: `_run` opens one in the thread

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._row_count

    @property
    def lastrowid(self) -> Any:
        return self._last_row_id

    @property
    def arraysize(self) -> int:
        return 1  # sqlite3's default: what fetchmany() without a size takes

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        raise NotImplementedError("fetchmany() takes its size")

    def _keep(self, outcome: _Outcome) -> None:
        self._description, rows, self._row_count, self._last_row_id = outcome
        self._rows = deque(rows or ())

    async def _in_thread(self, function: Any, *args: Any) -> None:
        """`function(sqlite3 connection, *args)` in aiosqlite's thread, the way aiosqlite runs
        its own cursors' calls (`Connection._execute`, which aiosqlite leaves unannotated)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            run: Callable[..., Awaitable[_Outcome]] = connection._execute
            self._keep(await run(function, connection._conn, *args))

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._in_thread(_run, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._in_thread(_run_many, operation, seq_of_parameters)

    async def _async_soft_close(self) -> None:
        return None  # closed in the thread already

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3 ignores them too


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module adapter, handing out `OneTripConnection`s."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)  # the connection made as SQLAlchemy makes it
        return OneTripConnection(self, adapted._connection)  # (the adapter is only a wrapper)


def one_trip_module() -> OneTripDbapi:
    """The `module` for `create_async_engine` on an aiosqlite URL."""
    return OneTripDbapi(aiosqlite, sqlite3)
