"""The models and the migrations agree, and the migrations go down and up again."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import Base
from db.engine import create_engine, create_session_factory
from db.migrate import alembic_config, downgrade, downgrade_sync, revisions, upgrade, upgrade_sync
from db.models import Account

SCHOOL_DAY = date(2026, 11, 18)  # a Wednesday of a school term


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


# --- 007: outbox rows name their event instead of a template --------------------------------

#: (template, payload) before 007 → (event, payload) after it
_ROWS_007 = [
    (
        ("notify/grade.html.j2", {"event": "grade_changed", "student_id": 1, "old_value": "5"}),
        ("grade_changed", {"student_id": 1, "old_value": "5"}),
    ),
    (
        ("notify/weekly.html.j2", {"event": "weekly", "student_ids": [1], "week_start": "x"}),
        ("weekly", {"student_ids": [1], "week_start": "x"}),
    ),
    (
        ("linking/request_staff.html.j2", {"request_id": 3, "keyboard": "link_decision"}),
        ("link_request", {"request_id": 3, "keyboard": "link_decision"}),
    ),
    (("linking/code_wave.html.j2", {"limit": 5}), ("code_wave", {"limit": 5})),
    (("linking/gone.html.j2", {"name": "x"}), ("gone", {"name": "x"})),
]


async def _outbox_rows(engine: AsyncEngine, column: str) -> list[tuple[object, object]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(sa.column(column), sa.column("payload", sa.JSON()))
            .select_from(sa.table("notification_outbox"))
            .order_by(sa.column("id"))
        )
        return [tuple(row) for row in rows]


async def test_outbox_templates_become_events_and_back(db_url: str, engine: AsyncEngine) -> None:
    """007 gives each waiting row the event its template (and payload) names, and the
    downgrade the template and payload the code before it expects."""
    await engine.dispose()
    await asyncio.to_thread(downgrade_sync, db_url, "006")
    now = datetime.now(UTC)
    rows = [
        {
            "account_id": 1,
            "kind": "system",
            "dedup_key": f"k{i}",
            "template": template,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "not_before": now,
            "created_at": now,
        }
        for i, ((template, payload), _after) in enumerate(_ROWS_007)
    ]

    def insert(conn: Connection) -> None:
        outbox = sa.Table("notification_outbox", sa.MetaData(), autoload_with=conn)  # as 006
        account = {"id": 1, "telegram_id": 100, "full_name": "A", "is_active": True}
        conn.execute(Account.__table__.insert().values(created_at=now, **account))
        conn.execute(outbox.insert(), rows)

    async with engine.begin() as conn:
        await conn.run_sync(insert)
    await engine.dispose()
    await asyncio.to_thread(upgrade_sync, db_url, "007")
    assert await _outbox_rows(engine, "event") == [after for _before, after in _ROWS_007]

    await engine.dispose()
    await asyncio.to_thread(downgrade_sync, db_url, "006")
    back = await _outbox_rows(engine, "template")
    await engine.dispose()
    await asyncio.to_thread(upgrade_sync, db_url, "head")
    assert back[:4] == [before for before, _after in _ROWS_007[:4]]
    assert back[4] == ("notify/gone.html.j2", {"name": "x"})  # not known: not sendable either


async def test_sqlite_down_and_up_keeps_every_row_of_a_filled_school(tmp_path: Path) -> None:
    """Batch mode rebuilds SQLite tables (copy, drop, rename). With foreign keys on, dropping
    a parent table deleted its children through ON DELETE CASCADE: migration 008 emptied a
    school's codes, enrolments and grades. Down to the revision before head and up again,
    every table of a seeded school keeps its rows (but those of the tables the head revision
    creates, which going down drops: the demo's imported bell times)."""
    from services.demo import seed_demo

    url = f"sqlite+aiosqlite:///{tmp_path}/filled.sqlite3"
    await upgrade(url)
    engine = create_engine(url)
    try:
        # a fixed school day: the demo's content, not today's date, is what matters here
        await seed_demo(create_session_factory(engine), students=12, weeks=1, today=SCHOOL_DAY)
        before = await _row_counts(engine)
        assert before["grades"] > 0
        assert before["enrollments"] > 0
        assert before["guardianships"] > 0
        await downgrade(url, revisions()[-2])
        async with engine.connect() as conn:
            older = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await upgrade(url)
        after = await _row_counts(engine)
        assert {t: n for t, n in after.items() if t in older} == {
            t: n for t, n in before.items() if t in older
        }
    finally:
        await engine.dispose()


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: (
                await conn.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()
            for table in Base.metadata.sorted_tables
        }
