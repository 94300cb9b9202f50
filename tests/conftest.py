"""Shared fixtures: a fresh migrated database per backend (SQLite and PostgreSQL) per run."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot  # noqa: F401  (first: aiogram's models built on first use, as in production)
from db.base import Base
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from tests import clock as the_clock
from tests.fakes.telegram_api import STARTED, FakeTelegram
from tests.harness import BOT_TOKEN, App
from tests.pg_admin import execute_autocommit

PG_ADMIN_URL = os.environ.get(
    "PARTA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


# --- the one clock (tests/clock.py) --------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--now",
        default=os.environ.get("PARTA_TEST_NOW"),
        help="run the suite as if it were this moment: 2027-03-03 or 2026-12-31T22:00+03:00",
    )


def pytest_configure(config: pytest.Config) -> None:
    _register_telegram_marker(config)  # defined below, with the checks after each test
    config.addinivalue_line(
        "markers", "dates: depends on today's date; CI reruns these under several fixed dates"
    )
    config.addinivalue_line(
        "markers", "real_clock: runs other processes, which cannot share a travelled clock"
    )
    spec = config.getoption("--now")
    if spec:
        # before collection, so module-level moments (T0, NOW) are taken on the travelled clock
        moment = the_clock.travel_to(spec)
        config.stash[_TRAVELLED] = moment


def pytest_unconfigure(config: pytest.Config) -> None:
    the_clock.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.stash.get(_TRAVELLED, None)
    return None if moment is None else f"clock travelled to {moment.isoformat()} (--now)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test on a database or the bot under test depends on "today": mark it `dates`,
    unless it says it does not (`undated`: statement counts and bursts, the same on any day).
    With a travelled clock, tests that start other processes (which keep the real clock)
    are skipped: they would compare two different "todays"."""
    travelled = config.stash.get(_TRAVELLED, None) is not None
    skip = pytest.mark.skip(reason="starts other processes, which keep the real clock")
    for item in items:
        if item.get_closest_marker("real_clock"):
            if travelled:
                item.add_marker(skip)
            continue
        if item.get_closest_marker("undated"):
            continue
        names = getattr(item, "fixturenames", ())
        if "db_url" in names or "clock" in names:
            item.add_marker(pytest.mark.dates)


_TRAVELLED = pytest.StashKey[datetime]()


@pytest.fixture
def clock() -> ModuleType:
    """The one clock (tests/clock.py): `clock.now()`, `clock.school_today()`."""
    return the_clock


async def _pg_admin(sql: str) -> None:
    await execute_autocommit(PG_ADMIN_URL, sql)


def _pg_available() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not available"
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    problem = _pg_available()
    if problem is not None:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({problem})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    name = f"parta_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "parta-test.sqlite3"
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database; every test using it runs on both backends."""
    url: str = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    asyncio.run(upgrade(url))
    return url


@pytest.fixture(scope="session")
async def engine_cache() -> AsyncIterator[dict[str, AsyncEngine]]:
    engines: dict[str, AsyncEngine] = {}
    yield engines
    for engine in engines.values():
        await engine.dispose()


@pytest.fixture
async def engine(db_url: str, engine_cache: dict[str, AsyncEngine]) -> AsyncIterator[AsyncEngine]:
    """The backend's engine with every table emptied before the test."""
    if db_url not in engine_cache:
        engine_cache[db_url] = create_engine(db_url)
    eng = engine_cache[db_url]
    await clear_tables(eng)
    return eng


async def clear_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


# --- the bot under test, talking to the strict fake Bot API ---------------------------------


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=BOT_TOKEN, bot_username="parta_test_bot") as fake:
        yield fake


@pytest.fixture
async def app(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[App]:
    """The production Bot + Dispatcher, wired to the fake Telegram and the test database."""
    application = await App.start(fake_telegram, db_url, session_factory)
    yield application
    await application.stop()


# --- after every test that talked to the fake Bot API: no API error, no unanswered button,
# --- no ERROR log line (opt out explicitly with @pytest.mark.allow_telegram_errors) ----------

TELEGRAM_CHECKS = ("api", "callbacks", "log")


def _register_telegram_marker(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_telegram_errors(*checks): the test provokes Bot API errors, unanswered callback "
        f"queries or ERROR log lines on purpose; checks among {TELEGRAM_CHECKS} (default: all) "
        "are not made after it",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def telegram_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before and torn down after every other fixture of the test (the app's shutdown
    included): fails the test if a fake Bot API it started answered an error (those injected
    with ``fail_next`` are the test's own and not counted), saw a callback query never
    answered, or if anything logged at ERROR while a fake was running."""
    STARTED.clear()
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    fakes = list(STARTED)
    STARTED.clear()
    if not fakes or request.node.stash.get(_CALL_FAILED, True):
        return
    marker = request.node.get_closest_marker("allow_telegram_errors")
    allowed = set() if marker is None else set(marker.args or TELEGRAM_CHECKS)
    unknown = allowed - set(TELEGRAM_CHECKS)
    assert not unknown, f"allow_telegram_errors: unknown checks {unknown}"
    problems: list[str] = []
    for fake in fakes:
        if "api" not in allowed:
            problems += [f"Bot API answered {e.error_code} to {e.method}: {e.description}"
                         for e in fake.error_log]  # fmt: skip
        if "callbacks" not in allowed:
            problems += [f"callback query {q} never answered" for q in fake.unanswered_callbacks()]
    if "log" not in allowed:
        problems += [f"ERROR log from {r.name}: {r.getMessage()}" for r in handler.records]
    if problems:
        pytest.fail(
            "after the test (mark it allow_telegram_errors only if it provokes these on "
            "purpose):\n" + "\n".join(problems[:20]),
            pytrace=False,
        )
