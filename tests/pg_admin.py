"""A statement run outside a transaction (CREATE or DROP DATABASE on PostgreSQL): the tests'
fresh databases (`tests/conftest.py`) and the benchmarks' (`bench/bench_common.py`)."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import create_engine


async def execute_autocommit(url: str, sql: str) -> None:
    """Run `sql` on `url` in autocommit mode, then dispose of the engine."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()
