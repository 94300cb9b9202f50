"""INSERT … ON CONFLICT on either backend: the one place that picks the dialect's insert."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

#: Both dialects spell `on_conflict_do_nothing`/`on_conflict_do_update` and `excluded` alike.
Upsert = postgresql.Insert | sqlite.Insert


def upsert(session: AsyncSession, table: Any) -> Upsert:
    """An INSERT for `table` (a model or Table) in the session's dialect, ready for ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
