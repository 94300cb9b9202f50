"""The models and the migrations agree, and the migrations go down and up again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import Base
from db.migrate import alembic_config, downgrade_sync, upgrade_sync


async def _diff(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as conn:

        def compare(sync_conn: object) -> list[object]:
            context = MigrationContext.configure(
                sync_conn,  # type: ignore[arg-type]
                opts={"compare_type": True, "compare_server_default": True},
            )
            return list(compare_metadata(context, Base.metadata))

        return await conn.run_sync(compare)


async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    assert await _diff(engine) == []


async def test_every_table_is_created(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= names


async def test_stairway_down_and_up(db_url: str, engine: AsyncEngine) -> None:
    """Each revision downgrades and upgrades cleanly, one step at a time."""
    script = ScriptDirectory.from_config(alembic_config(db_url))
    revisions = list(reversed(list(script.walk_revisions())))
    await engine.dispose()
    for revision in revisions:
        await asyncio.to_thread(upgrade_sync, db_url, revision.revision)
        await asyncio.to_thread(downgrade_sync, db_url, revision.down_revision or "base")
        await asyncio.to_thread(upgrade_sync, db_url, revision.revision)
    assert await _diff(engine) == []
