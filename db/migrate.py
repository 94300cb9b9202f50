"""Run Alembic migrations programmatically (migrations are found next to this file)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

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


def upgrade_sync(url: str | URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str | URL, revision: str) -> None:
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
