"""Personal data of families: deleting an account's data on request, forgetting the name and
phone of an account left without links, and retention of what the school no longer needs.

What is whose (the decisions the README's "Personal data" section explains to schools):

* The school's roster (`students`, `guardians`, `student_guardians`, `staff`) is the school's
  own record, imported by the school and corrected by the school. A family deleting its data
  in the bot never changes it; nothing in Parta copies what a user typed or shared into it
  (a parent's shared phone is compared with the roster, never written there).
* An account (`accounts`) holds what came from Telegram and the user: the Telegram id, name,
  username, shared phone, language and notification settings. That is what a family deletes.
* Facts stay, without personal data: a revoked guardianship or trusted grant, a cancelled link
  request, audit entries, comments and "seen" marks on grades (the school's correspondence).
  They keep pointing at the account row, which becomes an anonymous tombstone: every personal
  field cleared, `is_active` false, and its Telegram id replaced by `-account.id` (no Telegram
  user has a negative id), so the Telegram user is a stranger again and a new code creates a
  fresh account.
* Staff accounts belong to the school's staff records; the school manages them (a staff member
  who is also a parent unlinks from the child in /access).

Retention (`apply_retention`, run nightly by `services.notify.jobs.personal_data_retention`):
link requests decided (or left pending) more than `RETENTION_DAYS` ago are deleted, audit
entries older than that lose their Telegram id and the personal fields of their details,
outbox rows that waited that long are dropped, and accounts left without any link (a rejected
request, say) lose their name and phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, cast, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import OutboxStatus, RequestStatus
from db.models import (
    Account,
    AuditEntry,
    CalendarFeed,
    GradesSeen,
    Guardianship,
    LinkRequest,
    NotificationPreference,
    OutboxMessage,
    Staff,
    Student,
    TrustedAccess,
)
from services.core import audit
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.links import guardianship_active, trust_standing
from services.notify import DedupKey, rows_of
from services.people import opened

DEFAULT_RETENTION_DAYS = 180
#: Keys of audit details (and notification payloads) that carry personal data; removed by
#: erasure and retention wherever they occur (nested too).
PERSONAL_KEYS = frozenset(
    {
        "phone",
        "name",
        "full_name",
        "first_name",
        "last_name",
        "parent_name",
        "username",
        "email",
        "label",
        "contact",
    }
)
_BATCH = 500


def strip_personal(details: Any) -> Any:
    """`details` without the keys of `PERSONAL_KEYS`, at any depth (a new object)."""
    if isinstance(details, dict):
        return {k: strip_personal(v) for k, v in details.items() if k not in PERSONAL_KEYS}
    if isinstance(details, list):
        return [strip_personal(v) for v in details]
    return details


def may_erase(actor: Actor) -> bool:
    """Family accounts delete their own data in the bot; staff accounts are the school's."""
    return actor.account_id is not None and not actor.is_staff and actor.staff_id is None


def require_own(actor: Actor, account_id: int) -> None:
    """The one check of every "Delete my data" step: the account named by the pressed button
    is the actor's own, and a family account. Raises `DomainError` ("privacy.*") otherwise."""
    if actor.account_id is None or account_id != actor.account_id:
        raise DomainError("privacy.not_yours")
    if not may_erase(actor):
        raise DomainError("privacy.staff")


# --- links --------------------------------------------------------------------------------


def _ties(account_id: Any) -> list[Any]:
    """What ties an account to the school: an unrevoked guardianship or trusted grant (expired
    grants included: the parent may extend them), its own student or staff record, or a link
    request still waiting for the class teacher. `account_id` is a value or a column."""
    return [
        exists().where(Guardianship.account_id == account_id, guardianship_active()),
        exists().where(TrustedAccess.account_id == account_id, trust_standing()),
        exists().where(Student.account_id == account_id),
        exists().where(Staff.account_id == account_id),
        exists().where(
            LinkRequest.account_id == account_id, LinkRequest.status == RequestStatus.PENDING
        ),
    ]


async def has_links(session: AsyncSession, account_id: int) -> bool:
    """Is anything still tying this account to the school (see `_ties`)?"""
    return bool(await session.scalar(select(or_(*_ties(account_id)))))


async def forget_unlinked(session: AsyncSession, account_ids: Iterable[int]) -> list[int]:
    """Accounts left without any link (see `has_links`) lose their name, username and phone
    (they keep their Telegram id and language, so a notice about the unlinking still reaches
    them). Returns the accounts stripped; does not commit."""
    await session.flush()  # the links just ended count
    stripped = []
    for account_id in dict.fromkeys(account_ids):
        if await has_links(session, account_id):
            continue
        account = await session.get(Account, account_id)
        if account is None:
            continue
        _forget_person(account)
        stripped.append(account_id)
    return stripped


def _forget_person(account: Account) -> None:
    """Clear who the account's user is: name, username, shared phone, and the child and role
    last chosen (what an account without links loses; a deleted account loses more)."""
    account.full_name = ""
    account.username = None
    account.phone = None
    account.current_student_id = None
    account.current_role = None


# --- erasure ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What deleting an account's data ended (for the confirmation and the audit)."""

    guardianships: int
    grants_given: int
    grants_held: int
    requests: int


async def erase_account(
    session: AsyncSession, actor: Actor, account_id: int, *, now: datetime | None = None
) -> Erasure:
    """Delete the data of the actor's own family account (`account_id` comes from the pressed
    button and must be the actor's): links ended, pending requests cancelled, name, phone,
    Telegram id and settings erased, outbox rows about it dropped, audit facts kept without
    personal data. Afterwards the Telegram user is a stranger to the bot. Commits."""
    now = now or utcnow()
    require_own(actor, account_id)
    account = await session.get(Account, account_id)
    if account is None or await session.scalar(
        select(exists(select(Staff.id).where(Staff.account_id == account_id)))
    ):
        raise DomainError("privacy.staff" if account is not None else "privacy.not_yours")
    telegram_id = account.telegram_id
    stamps = opened.stamps_of(session)
    if stamps is not None:
        stamps.forget(account_id)  # noted "last opened" stamps are not written afterwards

    links = list(
        await session.scalars(
            select(Guardianship).where(Guardianship.account_id == account_id, guardianship_active())
        )
    )
    for link in links:
        link.revoked_at = now
        link.revoked_by_id = account_id
    await session.execute(
        update(Guardianship)
        .where(Guardianship.account_id == account_id)
        .values(last_opened_at=None)
    )
    given = list(
        await session.scalars(
            select(TrustedAccess).where(TrustedAccess.granted_by_id == account_id, trust_standing())
        )
    )
    held = list(
        await session.scalars(
            select(TrustedAccess).where(TrustedAccess.account_id == account_id, trust_standing())
        )
    )
    for grant in {g.id: g for g in given + held}.values():
        grant.revoked_at = now
        grant.revoked_by_id = account_id
        grant.invite_hash = None
        grant.label = ""  # the parent's words about the trusted person
    held_ids = list(
        await session.scalars(
            select(TrustedAccess.id).where(TrustedAccess.account_id == account_id)
        )
    )
    await session.execute(
        update(TrustedAccess)
        .where(TrustedAccess.account_id == account_id)
        .values(last_opened_at=None)
    )

    pending = await session.execute(
        update(LinkRequest)
        .where(LinkRequest.account_id == account_id, LinkRequest.status == RequestStatus.PENDING)
        .values(status=RequestStatus.CANCELLED, decided_at=now)
        .returning(LinkRequest.id)
    )
    cancelled = len(pending.all())
    request_ids = list(
        await session.scalars(select(LinkRequest.id).where(LinkRequest.account_id == account_id))
    )
    await session.execute(
        update(LinkRequest).where(LinkRequest.account_id == account_id).values(phone=None)
    )

    await session.execute(
        update(Student).where(Student.account_id == account_id).values(account_id=None)
    )
    await session.execute(
        delete(NotificationPreference).where(NotificationPreference.account_id == account_id)
    )
    await session.execute(delete(GradesSeen).where(GradesSeen.account_id == account_id))
    await session.execute(delete(CalendarFeed).where(CalendarFeed.account_id == account_id))
    # its own notifications, and those telling others its name or phone (link requests to
    # the class teacher, "your trusted person accepted" to the parent)
    about_it = [rows_of(DedupKey.link_request(i)) for i in request_ids]
    about_it += [rows_of(DedupKey.trusted_accepted(i)) for i in held_ids]
    await session.execute(
        delete(OutboxMessage).where(or_(OutboxMessage.account_id == account_id, *about_it))
    )

    await _strip_audit(
        session,
        or_(
            AuditEntry.actor_id == account_id,
            AuditEntry.telegram_id == telegram_id,
            and_(AuditEntry.entity == "link_request", AuditEntry.entity_id.in_(request_ids)),
            and_(AuditEntry.entity == "account", AuditEntry.entity_id == account_id),
        ),
    )

    account.telegram_id = -account_id
    _forget_person(account)
    account.locale = None
    account.language_code = None
    account.is_active = False
    account.quiet_start = None
    account.quiet_end = None
    account.digest_time = None
    account.last_seen_at = None

    # the trusted persons this parent invited may now have no link left
    await forget_unlinked(session, [g.account_id for g in given if g.account_id is not None])

    result = Erasure(len(links), len(given), len(held), cancelled)
    audit.record(
        session,
        audit.By(account_id),  # the Telegram id is what was just erased
        AuditAction.PRIVACY_ERASE,
        audit.Target("account", account_id),
        at=now,
        new={
            "guardianships": result.guardianships,
            "grants_given": result.grants_given,
            "grants_held": result.grants_held,
            "requests_cancelled": result.requests,
        },
    )
    await session.commit()
    return result


# --- retention ----------------------------------------------------------------------------


def _mentions_personal(column: Any) -> Any:
    """A cheap pre-filter on the JSON text (both dialects); Python decides exactly."""
    text = cast(column, Text)
    return or_(*[text.like(f'%"{key}"%') for key in sorted(PERSONAL_KEYS)])


async def _strip_audit(session: AsyncSession, where: Any) -> int:
    """Clear the Telegram id and the personal details of the matching audit entries, in
    batches (keyset by id). Returns how many entries changed."""
    changed = 0
    after = 0
    candidates = and_(
        where,
        or_(
            AuditEntry.telegram_id.is_not(None),
            _mentions_personal(AuditEntry.old),
            _mentions_personal(AuditEntry.new),
        ),
    )
    while True:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(candidates, AuditEntry.id > after)
                .order_by(AuditEntry.id)
                .limit(_BATCH)
            )
        )
        if not entries:
            return changed
        for entry in entries:
            old, new = strip_personal(entry.old), strip_personal(entry.new)
            if entry.telegram_id is None and old == entry.old and new == entry.new:
                continue
            entry.telegram_id = None
            entry.old = old
            entry.new = new
            changed += 1
        after = entries[-1].id
        await session.flush()


@dataclass(frozen=True)
class Retention:
    """What one retention run removed."""

    requests: int
    audit_entries: int
    outbox: int
    accounts: int = 0

    @property
    def total(self) -> int:
        return self.requests + self.audit_entries + self.outbox + self.accounts


async def apply_retention(
    session: AsyncSession, *, now: datetime, days: int = DEFAULT_RETENTION_DAYS
) -> Retention:
    """Forget what is older than `days`: link requests decided (or still pending, i.e.
    expired) before then are deleted, audit entries from before then keep their facts but
    lose the Telegram id and personal details, outbox rows still waiting since then are
    dropped; accounts without any link lose their name and phone (`forget_unlinked`).
    Idempotent; flushes, the caller commits."""
    cutoff = now - timedelta(days=days)
    requests = await session.execute(
        delete(LinkRequest)
        .where(
            or_(
                and_(
                    LinkRequest.status != RequestStatus.PENDING,
                    or_(LinkRequest.decided_at < cutoff, LinkRequest.decided_at.is_(None)),
                    LinkRequest.created_at < cutoff,
                ),
                and_(LinkRequest.status == RequestStatus.PENDING, LinkRequest.created_at < cutoff),
            )
        )
        .returning(LinkRequest.id)
    )
    removed = len(requests.all())
    stale = await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]),
            OutboxMessage.created_at < cutoff,
        )
        .returning(OutboxMessage.id)
    )
    outbox = len(stale.all())
    stripped = await _strip_audit(session, AuditEntry.at < cutoff)
    # accounts left without links some other way (a rejected or cancelled request, an expired
    # code flow) keep no name either; those still tied to the school are never touched
    unlinked = await session.scalars(
        select(Account.id).where(
            or_(Account.full_name != "", Account.phone.is_not(None), Account.username.is_not(None)),
            ~or_(*_ties(Account.id)),
        )
    )
    accounts = await forget_unlinked(session, list(unlinked))
    return Retention(removed, stripped, outbox, len(accounts))
