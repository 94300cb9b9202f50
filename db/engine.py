"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from db.sqlite_driver import one_trip_module

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def normalize_url(url: str | URL) -> URL:
    """Accept plain `sqlite:///…` / `postgresql://…` and pick the async driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    driver = parsed.get_driver_name()
    if driver in ("aiosqlite", "asyncpg"):
        return parsed
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass(frozen=True)
class PoolLimits:
    """Connections kept open (`size`), opened beyond them under load (`overflow`), and how long
    a session waits for one before it fails (`timeout`, seconds)."""

    size: int
    overflow: int
    timeout: float = 30.0

    @property
    def capacity(self) -> int:
        return self.size + self.overflow


#: per database: PostgreSQL serves many connections; SQLite has one writer and a thread per
#: connection (aiosqlite), so a few are enough
DEFAULT_POOLS = {"postgresql": PoolLimits(10, 10), "sqlite": PoolLimits(5, 10)}


def default_pool(url: str | URL) -> PoolLimits:
    return DEFAULT_POOLS[normalize_url(url).get_backend_name()]


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(
    url: str | URL, *, echo: bool = False, pool: PoolLimits | None = None
) -> AsyncEngine:
    """The engine for `url`, its pool sized by `pool` (default: `default_pool(url)`). SQL
    parameters (phones, names, hashes) never appear in its log lines or in the text of its
    errors (`hide_parameters`)."""
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    limits = pool or default_pool(parsed)
    if not _in_memory(parsed):  # an in-memory SQLite database has one static connection
        kwargs.update(
            pool_size=limits.size, max_overflow=limits.overflow, pool_timeout=limits.timeout
        )
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True)
    else:  # one trip to aiosqlite's thread per statement instead of four
        kwargs.update(module=one_trip_module())
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
