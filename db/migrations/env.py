"""Alembic environment: async engine, batch mode on SQLite, our naming convention."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import db.models  # noqa: F401  (registers every table on the metadata)
from db.base import Base
from db.engine import create_engine

target_metadata = Base.metadata

#: The advisory-lock key of schema changes on PostgreSQL (any fixed 64-bit number; the
#: scheduled jobs' keys in services/notify/jobs.py are different ones).
MIGRATION_LOCK = 0x5041_5254_0000  # "PART" 0


def _lock(connection: Connection) -> None:
    """Serialise schema changes: any number of processes may upgrade at once. On PostgreSQL a
    transaction-level advisory lock, taken before Alembic reads the current revision and held
    until the migrations commit (or roll back); whoever waited then finds the schema at head
    and does nothing. SQLite is serialised by a file lock in db/migrate.py."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table (copy, drop, rename). With foreign keys on, dropping a
        # parent table deletes every child row through ON DELETE CASCADE: an upgrade would
        # empty a school. SQLite ignores this pragma inside a transaction; none is open yet
        # (the driver starts one only before a data change).
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    _lock(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows with dangling references: {broken[:5]}")
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


async def _run_async() -> None:
    engine = create_engine(context.config.attributes["database_url"])
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(
        url=str(context.config.attributes["database_url"]),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
