"""The transactional outbox: notifications are rows written with the change that causes them.

`enqueue` adds rows to the caller's transaction (nothing is sent if it rolls back): one per
recipient, naming its event (`services.notify.events`), never a template, with a payload of
ids and of the facts that cannot be re-read later, and a dedup key (`DedupKey`) that makes it
unique. The dispatcher (`services.notify.dispatcher`) claims due rows, turns them into
messages and records what became of each row here, every record in its own short transaction:

* `claim_due` marks a batch as claimed until `claimed_until` (on PostgreSQL with
  `FOR UPDATE SKIP LOCKED`, so several processes share the work without overlapping); a claim
  of a process that died simply expires and the rows are claimed again;
* `mark_sent` right after Telegram accepted the message — the only window in which a crash can
  cause a duplicate is between those two moments (see docs/architecture.md);
* `mark_failed` (retry later or dead-letter), `release`, `cancel`, `reschedule`.

The journal changes what is waiting by dedup key: `cancel_pending` (a grade undone inside the
grace window), `retime_pending` (a grade held back), `revive_cancelled` (an undo undone).

Rows of accounts that blocked the bot (`is_active` false) are not claimed until they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import NotificationKind, OutboxStatus
from db.models import (
    Account,
    Guardianship,
    OutboxMessage,
    Staff,
    Student,
    TrustedAccess,
)
from db.upsert import upsert
from services.notify.events import DedupKey, NotificationEvent, parse_event
from services.notify.model import Outgoing

CLAIM_SECONDS = 60
MAX_AGE = timedelta(days=7)


def _language(code: str | None) -> str | None:
    """Telegram's language code as a locale we speak (`en-GB` → `en`), else None."""
    language = (code or "").split("-")[0].lower()
    return language if language in ("ru", "en") else None


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@dataclass(frozen=True)
class NewRow:
    """One recipient's outbox row, about to be written."""

    account_id: int
    event: NotificationEvent
    dedup_key: DedupKey
    payload: dict[str, Any]
    not_before: datetime | None = None  # None: due at once

    def values(self, now: datetime) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "kind": self.event.kind,
            "event": self.event,
            "dedup_key": self.dedup_key.for_account(self.account_id),
            "payload": self.payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "not_before": self.not_before or now,
        }


async def enqueue(
    session: AsyncSession,
    *,
    account_ids: Iterable[int],
    event: NotificationEvent,
    payload: dict[str, Any],
    dedup_key: DedupKey,
    delay: timedelta = timedelta(0),
    now: datetime | None = None,
) -> int:
    """Add one row of `event` per recipient; a recipient's row whose key exists is skipped.
    Returns how many were new."""
    now = now or utcnow()
    rows = [
        NewRow(account_id, event, dedup_key, payload, now + delay)
        for account_id in dict.fromkeys(account_ids)
    ]
    return await enqueue_rows(session, rows, now=now)


async def enqueue_rows(
    session: AsyncSession, rows: list[NewRow], *, now: datetime | None = None
) -> int:
    """Insert rows, a thousand per statement; rows whose dedup key exists are skipped.
    Returns how many were new."""
    now = now or utcnow()
    added = 0
    for start in range(0, len(rows), 1000):
        stmt = (
            upsert(session, OutboxMessage)
            .values([row.values(now) for row in rows[start : start + 1000]])
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(OutboxMessage.id)
        )
        added += len((await session.execute(stmt)).all())
    return added


async def claim_due(
    session: AsyncSession,
    *,
    limit: int = 100,
    now: datetime | None = None,
    claim_seconds: float = CLAIM_SECONDS,
    max_age: timedelta = MAX_AGE,
) -> list[Outgoing]:
    """Claim due rows of active recipients for `claim_seconds` and commit the claim.

    Three statements whatever the batch size. Rows older than `max_age` (a recipient who was
    away for long) are cancelled instead of being sent late.
    """
    now = now or utcnow()
    due = (
        select(OutboxMessage.id)
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            Account.is_active.is_(True),
        )
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True, of=OutboxMessage)
    ids = list(await session.scalars(due))
    if not ids:
        await session.commit()
        return []
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(claimed_until=now + timedelta(seconds=claim_seconds))
    )
    rows = await session.execute(
        select(OutboxMessage, Account.telegram_id, Account.locale, Account.language_code)
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
    )
    claimed: list[Outgoing] = []
    void: dict[int, str] = {}
    for message, chat_id, locale, language_code in rows:
        event = parse_event(message.event)
        if message.created_at < now - max_age:
            void[message.id] = "expired"
            continue
        if event is None:  # written by a newer version, then rolled back: nothing to say it
            void[message.id] = f"unknown event {message.event!r}"
            continue
        claimed.append(
            Outgoing(
                id=message.id,
                chat_id=chat_id,
                locale=locale or _language(language_code),
                event=event,
                payload=dict(message.payload or {}),
                attempts=message.attempts,
                account_id=message.account_id,
                kind=message.kind,
                dedup_key=message.dedup_key,
                created_at=message.created_at,
                not_before=message.not_before,
            )
        )
    await cancel(session, void)
    await session.commit()
    return claimed


async def mark_sent(
    session: AsyncSession,
    message_ids: int | Iterable[int],
    telegram_message_id: int | None,
    now: datetime,
) -> None:
    """The message went out: its rows are done (one tiny transaction, right after the send)."""
    ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
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
    message_ids: int | Iterable[int],
    *,
    error: str,
    retry_at: datetime | None,
    dead: bool = False,
    count_attempt: bool = True,
) -> None:
    """Record a failure: retry later, or dead-letter the rows (kept and counted, never dropped)."""
    ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
    values: dict[str, Any] = {"last_error": error[:1000], "claimed_until": None}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    if dead:
        values["status"] = OutboxStatus.DEAD
    elif retry_at is not None:
        values["not_before"] = retry_at
    await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values))
    await session.commit()


async def release(session: AsyncSession, message_ids: Iterable[int]) -> None:
    """Give claimed rows back untouched (another round or process takes them)."""
    ids = list(message_ids)
    if ids:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_until=None)
        )


async def cancel(session: AsyncSession, reasons: Mapping[int, str]) -> None:
    """Cancel rows with a reason each (one executemany; the caller commits)."""
    if reasons:
        await session.execute(
            update(OutboxMessage),
            [
                {
                    "id": row_id,
                    "status": OutboxStatus.CANCELLED,
                    "last_error": reason[:1000],
                    "claimed_until": None,
                }
                for row_id, reason in reasons.items()
            ],
        )


async def reschedule(session: AsyncSession, times: Mapping[int, datetime]) -> None:
    """Move rows to a later moment (quiet hours, a held grade; the caller commits)."""
    if times:
        await session.execute(
            update(OutboxMessage),
            [
                {"id": row_id, "not_before": at, "claimed_until": None}
                for row_id, at in times.items()
            ],
        )


async def deactivate_recipient(session: AsyncSession, chat_id: int) -> None:
    """The user blocked the bot: stop sending until they come back (`load_actor` reactivates)."""
    await session.execute(
        update(Account).where(Account.telegram_id == chat_id).values(is_active=False)
    )
    await session.commit()


def rows_of(key: DedupKey) -> Any:
    """The rows of every recipient of `key`, as a condition."""
    return OutboxMessage.dedup_key.startswith(key.prefix, autoescape=True)


async def cancel_pending(session: AsyncSession, key: DedupKey) -> int:
    """Cancel the rows of `key` not yet sent (a grade undone); returns how many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, rows_of(key))
        .values(status=OutboxStatus.CANCELLED, last_error="cancelled")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def retime_pending(session: AsyncSession, key: DedupKey, not_before: datetime) -> None:
    """Move the rows of `key` not yet sent to a new time (a grade held back or released)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, rows_of(key))
        .values(not_before=not_before)
    )


async def revive_cancelled(session: AsyncSession, key: DedupKey, not_before: datetime) -> None:
    """Make the cancelled rows of `key` pending again (a change that was undone)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.CANCELLED, rows_of(key))
        .values(status=OutboxStatus.PENDING, not_before=not_before, claimed_until=None)
    )


async def prune(
    session: AsyncSession,
    now: datetime,
    *,
    keep: timedelta = timedelta(days=30),
    keep_dead: timedelta = timedelta(days=90),
) -> int:
    """Delete rows that are done (sent, cancelled) after `keep`, dead letters after
    `keep_dead`: the outbox stays small, and no dedup key that still matters is lost (keys
    of scheduled messages name their day; a grade's older than a month is not resent)."""
    result = await session.execute(
        delete(OutboxMessage).where(
            or_(
                and_(
                    OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.CANCELLED]),
                    OutboxMessage.created_at < now - keep,
                ),
                and_(
                    OutboxMessage.status == OutboxStatus.DEAD,
                    OutboxMessage.created_at < now - keep_dead,
                ),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def due_count(session: AsyncSession, now: datetime) -> int:
    """Pending rows of active recipients that are due (claimed or not)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Account, Account.id == OutboxMessage.account_id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.not_before <= now,
                Account.is_active.is_(True),
            )
        )
        or 0
    )


# --- dead letters: counted and shown to the school's admins --------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: int
    at: datetime
    recipient: str
    kind: NotificationKind
    error: str


def _school_accounts(school_id: int) -> Any:
    """Every account that belongs to a school: staff, students, guardians, trusted persons."""
    students = select(Student.id).where(Student.school_id == school_id)
    return union(
        select(Staff.account_id).where(Staff.school_id == school_id),
        select(Student.account_id).where(Student.school_id == school_id),
        select(Guardianship.account_id).where(Guardianship.student_id.in_(students)),
        select(TrustedAccess.account_id).where(TrustedAccess.student_id.in_(students)),
    )


async def dead_letter_count(session: AsyncSession, school_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.DEAD,
                OutboxMessage.account_id.in_(_school_accounts(school_id)),
            )
        )
        or 0
    )


async def dead_letters(session: AsyncSession, school_id: int, limit: int = 10) -> list[DeadLetter]:
    """The latest dead letters of a school's accounts, newest first."""
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.created_at,
            Account.full_name,
            OutboxMessage.kind,
            OutboxMessage.last_error,
        )
        .join(Account, Account.id == OutboxMessage.account_id)
        .where(
            OutboxMessage.status == OutboxStatus.DEAD,
            OutboxMessage.account_id.in_(_school_accounts(school_id)),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [DeadLetter(i, at, name, kind, error or "") for i, at, name, kind, error in rows]


async def retry_dead_letters(session: AsyncSession, school_id: int, now: datetime) -> int:
    """Give a school's dead letters another chance (after the cause was fixed)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.DEAD,
            OutboxMessage.account_id.in_(_school_accounts(school_id)),
        )
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            not_before=now,
            claimed_until=None,
            created_at=now,
        )
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
