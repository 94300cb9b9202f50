"""The transactional outbox: notifications are rows written with the change that causes them.

`enqueue` adds rows to the caller's transaction (nothing is sent if it rolls back); the
dispatcher claims due rows, renders them in the recipient's language and sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import NotificationKind, OutboxStatus
from db.models import Account, OutboxMessage

CLAIM_SECONDS = 60


@dataclass(frozen=True)
class Outgoing:
    """A claimed row with what the sender needs: where, in which language, what."""

    id: int
    chat_id: int
    locale: str | None
    template: str
    payload: dict[str, Any]
    attempts: int


def _language(code: str | None) -> str | None:
    """Telegram's language code as a locale we speak (`en-GB` → `en`), else None."""
    language = (code or "").split("-")[0].lower()
    return language if language in ("ru", "en") else None


async def enqueue(
    session: AsyncSession,
    *,
    account_ids: Iterable[int],
    kind: NotificationKind,
    template: str,
    payload: dict[str, Any],
    dedup_key: str,
    delay: timedelta = timedelta(0),
    now: datetime | None = None,
) -> int:
    """Add one row per recipient (dedup key `<dedup_key>:<account>`); duplicates are ignored."""
    now = now or utcnow()
    rows = [
        {
            "account_id": account_id,
            "kind": kind,
            "dedup_key": f"{dedup_key}:{account_id}",
            "template": template,
            "payload": payload,
            "status": OutboxStatus.PENDING,
            "not_before": now + delay,
            "attempts": 0,
            "created_at": now,
        }
        for account_id in dict.fromkeys(account_ids)
    ]
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["dedup_key"])
    await session.execute(stmt)
    return len(rows)


async def claim_due(
    session: AsyncSession, *, limit: int = 100, now: datetime | None = None
) -> list[Outgoing]:
    """Claim due rows for `CLAIM_SECONDS` (SKIP LOCKED on PostgreSQL) and commit the claim."""
    now = now or utcnow()
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(await session.scalars(due))
    if not ids:
        await session.commit()
        return []
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    rows = await session.execute(
        select(
            OutboxMessage,
            Account.telegram_id,
            Account.locale,
            Account.language_code,
            Account.is_active,
        )
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
    )
    claimed: list[Outgoing] = []
    inactive: list[int] = []
    for message, chat_id, locale, language_code, active in rows:
        if not active:
            inactive.append(message.id)
            continue
        claimed.append(
            Outgoing(
                message.id,
                chat_id,
                locale or _language(language_code),
                message.template,
                message.payload,
                message.attempts,
            )
        )
    if inactive:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(inactive))
            .values(claimed_until=None, not_before=now + timedelta(hours=1))
        )
    await session.commit()
    return claimed


async def mark_sent(
    session: AsyncSession, message_id: int, telegram_message_id: int | None, now: datetime
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            claimed_until=None,
            telegram_message_id=telegram_message_id,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    await session.commit()


async def mark_failed(
    session: AsyncSession,
    message_id: int,
    *,
    error: str,
    retry_at: datetime | None,
    dead: bool = False,
) -> None:
    """Record a failure: retry later, or dead-letter the row (kept and counted, never dropped)."""
    values: dict[str, Any] = {
        "last_error": error[:1000],
        "claimed_until": None,
        "attempts": OutboxMessage.attempts + 1,
    }
    if dead:
        values["status"] = OutboxStatus.DEAD
    elif retry_at is not None:
        values["not_before"] = retry_at
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )
    await session.commit()


async def deactivate_recipient(session: AsyncSession, chat_id: int) -> None:
    """The user blocked the bot: stop sending until they come back (see `reactivate`)."""
    await session.execute(
        update(Account).where(Account.telegram_id == chat_id).values(is_active=False)
    )
    await session.commit()


async def cancel_pending(session: AsyncSession, dedup_prefix: str) -> int:
    """Cancel rows not yet sent whose dedup key starts with the prefix (a grade undone)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            and_(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.dedup_key.startswith(dedup_prefix, autoescape=True),
            )
        )
        .values(status=OutboxStatus.CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)
