"""Who hears about a student's events, and writing those events to the outbox.

`family_recipients` is who hears of one student's journal event; `family_links` is every
account linked to a school's students, for the scheduled summaries (`services.notify.jobs`).

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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, String, cast, false, literal, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import ALL_SCOPES, OutboxStatus, TrustScope
from db.models import Account, Guardianship, OutboxMessage, Student, TrustedAccess
from db.upsert import upsert
from services.core.links import guardianship_active, trust_active
from services.notify.events import DedupKey, NotificationEvent
from services.notify.outbox import NewRow

DEFAULT_GRACE = timedelta(seconds=60)


def _recipients(
    student_id: int, scope: TrustScope | None, now: datetime, *, include_student: bool
) -> CompoundSelect[int | None]:
    """The account ids that may hear of this student's event of this scope: the student's
    active guardians, trusted persons whose active grant covers `scope`, and (if asked) the
    student's own account. One UNION (it drops the repeats); an id may be NULL."""
    guardians = select(Guardianship.account_id).where(
        Guardianship.student_id == student_id, guardianship_active()
    )
    trusted = select(TrustedAccess.account_id).where(
        TrustedAccess.student_id == student_id,
        trust_active(now),
        TrustedAccess.scopes.op("&")(int(scope)) != 0 if scope is not None else false(),
    )
    parts = [guardians, trusted]
    if include_student:
        parts.append(
            select(Student.account_id).where(
                Student.id == student_id, Student.account_id.is_not(None)
            )
        )
    return union(*parts)


async def family_recipients(
    session: AsyncSession,
    student_id: int,
    scope: TrustScope | None,
    *,
    now: datetime | None = None,
    include_student: bool = True,
) -> list[int]:
    """Account ids that may hear about this student's event of this scope (one query)."""
    query = _recipients(student_id, scope, now or utcnow(), include_student=include_student)
    ids = await session.scalars(query)
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
    revive: bool = False,
) -> int:
    """Write one outbox row per recipient of a student's event, in one statement: the
    recipients (`family_recipients`) are selected inside the INSERT, in the order of their
    ids, each row keyed `dedup_key.for_account(id)`. A recipient whose row exists is skipped
    (as `enqueue` does), unless `revive` and that row was cancelled: it is made pending again,
    due after `delay` (a mark set back to what it was inside the grace window). Only current
    recipients are revived: an account that lost its link meanwhile is not. Returns how many
    rows were written or revived."""
    now = now or utcnow()
    recipients = _recipients(student_id, event.scope, now, include_student=True).subquery()
    account_id = recipients.c.account_id
    row = NewRow(0, event, dedup_key, {"student_id": student_id, **payload}, now + delay)
    columns = OutboxMessage.__table__.c
    values = {
        name: literal(value, columns[name].type)
        for name, value in row.values(now).items()
        if name not in ("account_id", "dedup_key")
    }
    per_recipient = (
        select(
            account_id,
            literal(dedup_key.prefix, String) + cast(account_id, String),
            *values.values(),
        )
        .where(account_id.is_not(None))  # also what SQLite's parser needs before ON CONFLICT
        .order_by(account_id)
    )
    stmt = upsert(session, OutboxMessage).from_select(
        ["account_id", "dedup_key", *values], per_recipient
    )
    if revive:
        stmt = stmt.on_conflict_do_update(
            index_elements=["dedup_key"],
            set_={"status": OutboxStatus.PENDING, "not_before": now + delay, "claimed_until": None},
            where=OutboxMessage.status == OutboxStatus.CANCELLED,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    return len((await session.execute(stmt.returning(OutboxMessage.id))).all())


@dataclass(frozen=True)
class Link:
    """An account linked to a student, with what it may see (`TrustScope` bits)."""

    account_id: int
    student_id: int
    scopes: int


async def family_links(
    session: AsyncSession,
    school_id: int,
    now: datetime,
    student_ids: Iterable[int] | None = None,
) -> list[Link]:
    """Every active account linked to the school's students (guardians, trusted persons with
    their scopes, the students themselves), in one query."""
    students: Any = select(Student.id).where(Student.school_id == school_id)
    if student_ids is not None:
        students = students.where(Student.id.in_(sorted(set(student_ids))))
    linked = union_all(
        select(
            Guardianship.account_id.label("account_id"),
            Guardianship.student_id.label("student_id"),
            literal(ALL_SCOPES).label("scopes"),
        ).where(Guardianship.student_id.in_(students), guardianship_active()),
        select(TrustedAccess.account_id, TrustedAccess.student_id, TrustedAccess.scopes).where(
            TrustedAccess.student_id.in_(students), trust_active(now)
        ),
        select(Student.account_id, Student.id, literal(ALL_SCOPES)).where(
            Student.id.in_(students), Student.account_id.is_not(None)
        ),
    ).subquery()
    rows = await session.execute(
        select(linked.c.account_id, linked.c.student_id, linked.c.scopes)
        .join(Account, Account.id == linked.c.account_id)
        .where(Account.is_active.is_(True))
    )
    return [Link(a, s, int(scopes)) for a, s, scopes in rows]


def by_account(links: Iterable[Link], scope: TrustScope | None = None) -> dict[int, list[int]]:
    """Each account's students (sorted), through links that cover `scope` (None: any)."""
    result: dict[int, list[int]] = defaultdict(list)
    for link in links:
        if (scope is None or link.scopes & scope) and link.student_id not in result[
            link.account_id
        ]:
            result[link.account_id].append(link.student_id)
    return {account: sorted(ids) for account, ids in result.items() if ids}
