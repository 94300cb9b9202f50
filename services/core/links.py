"""Links between a Telegram account and a student: guardianship and trusted access.

Decisions, pinned by tests/test_core_rules.py:

* **A guardianship is active** from its confirmation (the row exists only once confirmed; a
  parent waiting for the class teacher has a link request, not a guardianship) until it is
  revoked. It has no end date.
* **A trusted grant is active** at an instant when it has *started* (its invitation was
  accepted, so it names the trusted person's account), is not revoked, and has not expired:
  ``expires_at`` is the first instant without access (at exactly that instant the grant has
  ended). An invitation nobody accepted gives no access, however fresh.
* **A grant is open** (`trust_open`) while not revoked and not expired, accepted or not: an
  invitation can still be accepted, a grant can still be changed.
* **A grant stands** (`trust_standing`) until revoked, expired or not: the parent may extend an
  expired grant, so it still ties the account to the school (privacy) and still stops that
  account from also becoming the student. Revoking is final.
* **A grant has ended** (`trust_ended`) when revoked or expired: what the diary explains to a
  trusted person who lost access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_

from db.models import Guardianship, TrustedAccess

# --- guardianship ------------------------------------------------------------------------------


def guardianship_active(link: Any = Guardianship) -> ColumnElement[bool]:
    """SQL: the guardianship is active (confirmed and not revoked)."""
    clause: ColumnElement[bool] = link.revoked_at.is_(None)
    return clause


def guardianship_ended(link: Any = Guardianship) -> ColumnElement[bool]:
    """SQL: the guardianship was revoked."""
    clause: ColumnElement[bool] = link.revoked_at.is_not(None)
    return clause


# --- trusted access ----------------------------------------------------------------------------


def trust_standing(grant: Any = TrustedAccess) -> ColumnElement[bool]:
    """SQL: the grant is not revoked (it may have expired: it can be extended)."""
    clause: ColumnElement[bool] = grant.revoked_at.is_(None)
    return clause


def trust_open(
    now: datetime | ColumnElement[datetime], grant: Any = TrustedAccess
) -> ColumnElement[bool]:
    """SQL: the grant is neither revoked nor expired at `now` (accepted or not; `now` may be a
    bound parameter)."""
    return and_(
        grant.revoked_at.is_(None),
        or_(grant.expires_at.is_(None), grant.expires_at > now),
    )


def trust_active(
    now: datetime | ColumnElement[datetime], grant: Any = TrustedAccess
) -> ColumnElement[bool]:
    """SQL: the grant gives its account access at `now` (accepted, open)."""
    return and_(grant.account_id.is_not(None), trust_open(now, grant))


def trust_ended(now: datetime, grant: Any = TrustedAccess) -> ColumnElement[bool]:
    """SQL: the grant was revoked or has expired by `now`."""
    return or_(grant.revoked_at.is_not(None), grant.expires_at <= now)


class GrantState(Protocol):
    """What the rules read of a grant (a `TrustedAccess` row)."""

    @property
    def account_id(self) -> int | None: ...

    @property
    def revoked_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime | None: ...


def grant_open(grant: GrantState, now: datetime) -> bool:
    """`trust_open` for a loaded grant."""
    return grant.revoked_at is None and not grant_expired(grant, now)


def grant_active(grant: GrantState, now: datetime) -> bool:
    """`trust_active` for a loaded grant."""
    return grant.account_id is not None and grant_open(grant, now)


def grant_expired(grant: GrantState, now: datetime) -> bool:
    """The grant's own end has come (revoked or not)."""
    return grant.expires_at is not None and grant.expires_at <= now
