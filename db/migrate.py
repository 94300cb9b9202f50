"""Run Alembic migrations programmatically (migrations are found next to this file)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from db.engine import normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _scripts_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def alembic_config(url: str | URL) -> Config:
    config = _scripts_config()
    config.attributes["database_url"] = normalize_url(url)
    return config


@contextlib.contextmanager
def schema_lock(url: str | URL) -> Iterator[None]:
    """Hold the schema lock of a SQLite file: an exclusive `flock` on `<file>.migrate-lock`
    next to it, so processes started together upgrade one after the other (the later ones
    find the schema at head). PostgreSQL takes an advisory lock in migrations/env.py
    instead; an in-memory database has no one to race."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    database = Path(parsed.database)
    lock = database.with_name(database.name + ".migrate-lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade_sync(url: str | URL, revision: str = "head") -> None:
    with schema_lock(url):
        command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str | URL, revision: str) -> None:
    with schema_lock(url):
        command.downgrade(alembic_config(url), revision)


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Apply migrations from async code (Alembic's async env runs its own loop in a thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def downgrade(url: str | URL, revision: str) -> None:
    """Undo migrations down to `revision` from async code."""
    await asyncio.to_thread(downgrade_sync, url, revision)


def revisions() -> list[str]:
    """Every revision the code knows, oldest first (the history is linear)."""
    script = ScriptDirectory.from_config(_scripts_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    """The newest revision the code knows (what `upgrade` brings a database to)."""
    return revisions()[-1]
