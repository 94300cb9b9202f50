"""The outbox's depth for monitoring (`bot.metrics`): one grouped count, read at scrape time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import OutboxStatus
from db.models import OutboxMessage


async def outbox_depth(session: AsyncSession, now: datetime | None = None) -> dict[str, int]:
    """Rows waiting (``pending``), of them due at `now` (``due``), and given up on (``dead``):
    one statement over the (status, not_before) index."""
    now = now or utcnow()
    due = case((OutboxMessage.not_before <= now, 1), else_=0)
    rows = await session.execute(
        select(OutboxMessage.status, func.count(), func.coalesce(func.sum(due), 0))
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]))
        .group_by(OutboxMessage.status)
    )
    depth = {"pending": 0, "due": 0, "dead": 0}
    for status, count, due_count in rows:
        if status == OutboxStatus.PENDING:
            depth["pending"], depth["due"] = int(count), int(due_count)
        else:
            depth["dead"] = int(count)
    return depth
