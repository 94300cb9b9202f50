"""Who hears about a student's journal events, and writing those events to the outbox.

The contract between the journal (which writes events) and the dispatcher (which sends them):

* one outbox row per recipient account, written in the same transaction as the change;
* the row names its `NotificationEvent`; its `payload` carries ids and the event facts that
  cannot be re-read later (old value, reason), never rendered text — the dispatcher loads the
  current state at send time, so a grade corrected inside the grace window is sent once,
  correct;
* recipients are the student's confirmed guardians, trusted persons whose scopes cover the
  event (`NotificationEvent.scope`), and the student's own account; preferences (instant /
  digest / off, quiet hours, the student's opt-in) are applied by the dispatcher, not here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import TrustScope
from db.models import Guardianship, Student, TrustedAccess
from services.notify.events import DedupKey, NotificationEvent
from services.notify.outbox import enqueue

DEFAULT_GRACE = timedelta(seconds=60)


async def family_recipients(
    session: AsyncSession,
    student_id: int,
    scope: TrustScope | None,
    *,
    now: datetime | None = None,
    include_student: bool = True,
) -> list[int]:
    """Account ids that may hear about this student's event of this scope (one query)."""
    now = now or utcnow()
    guardians = select(Guardianship.account_id).where(
        Guardianship.student_id == student_id, Guardianship.revoked_at.is_(None)
    )
    trusted = select(TrustedAccess.account_id).where(
        TrustedAccess.student_id == student_id,
        TrustedAccess.account_id.is_not(None),
        TrustedAccess.revoked_at.is_(None),
        or_(TrustedAccess.expires_at.is_(None), TrustedAccess.expires_at > now),
        TrustedAccess.scopes.op("&")(int(scope)) != 0 if scope is not None else false(),
    )
    parts = [guardians, trusted]
    if include_student:
        parts.append(
            select(Student.account_id).where(
                Student.id == student_id, Student.account_id.is_not(None)
            )
        )
    ids = await session.scalars(union(*parts))
    return sorted(i for i in ids if i is not None)


async def notify_family(
    session: AsyncSession,
    *,
    student_id: int,
    event: NotificationEvent,
    payload: dict[str, Any],
    dedup_key: DedupKey,
    delay: timedelta = timedelta(0),
    now: datetime | None = None,
) -> int:
    """Write one outbox row per recipient of a student's event; returns how many."""
    now = now or utcnow()
    recipients = await family_recipients(session, student_id, event.scope, now=now)
    return await enqueue(
        session,
        account_ids=recipients,
        event=event,
        payload={"student_id": student_id, **payload},
        dedup_key=dedup_key,
        delay=delay,
        now=now,
    )
