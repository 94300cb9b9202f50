"""What ends when a roster import says someone left: links, trusted access, unused codes.

The same rules as one-by-one revocation in `services.people.linking` (`unlink_guardian`,
`revoke_grant`), in bulk: an active guardianship (`services.core.links.guardianship_active`)
is revoked, and with it the trusted persons that guardian invited for that child; every
standing grant (`links.trust_standing`) of a student who left is revoked; their unused access
codes are revoked and pending link requests cancelled. Everyone who lost access is told
(``access_revoked``), and accounts left with no tie to the school are stripped of their name
and phone (`services.people.privacy.forget_unlinked`). A fixed number of statements.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import RequestStatus
from db.models import AccessCode, Guardianship, LinkRequest, Student, TrustedAccess
from services.core import links
from services.notify import DedupKey, NotificationEvent
from services.notify.outbox import NewRow, enqueue_rows
from services.people import privacy


@dataclass
class Ending:
    """Who left and which guardian–student pairs the file no longer lists."""

    students: set[int] = field(default_factory=set)
    guardians: set[int] = field(default_factory=set)
    staff: set[int] = field(default_factory=set)
    #: (student id, guardian id) pairs removed from a guardian who stays
    pairs: set[tuple[int, int]] = field(default_factory=set)
    #: accounts of staff who left (their link to the account is cut by the caller)
    staff_accounts: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.students or self.guardians or self.staff or self.pairs)


async def end_links(
    session: AsyncSession, ending: Ending, *, now: datetime, actor_account_id: int | None
) -> None:
    """Revoke what `ending` ends (module docstring). Does not commit."""
    if not ending:
        return
    revoked = await _guardianships(session, ending, now, actor_account_id)
    grants = await _grants(session, ending, {(s, a) for _, s, a in revoked}, now, actor_account_id)
    await _codes_and_requests(session, ending, now)
    await _tell(session, revoked, grants, now)
    accounts = {a for _, _, a in revoked} | {a for _, _, a in grants if a is not None}
    await privacy.forget_unlinked(session, sorted(accounts | ending.staff_accounts))


async def _guardianships(
    session: AsyncSession, ending: Ending, now: datetime, actor: int | None
) -> list[tuple[int, int, int]]:
    """Revoke the guardianships that end; (id, student id, account id) of each."""
    pair_guardians = {g for _, g in ending.pairs}
    found = await session.execute(
        select(
            Guardianship.id,
            Guardianship.student_id,
            Guardianship.account_id,
            Guardianship.guardian_id,
        ).where(
            links.guardianship_active(),
            or_(
                Guardianship.student_id.in_(ending.students),
                Guardianship.guardian_id.in_(ending.guardians | pair_guardians),
            ),
        )
    )
    revoked = [
        (link_id, student, account)
        for link_id, student, account, guardian in found
        if student in ending.students
        or guardian in ending.guardians
        or (student, guardian) in ending.pairs
    ]
    if revoked:
        await session.execute(
            update(Guardianship)
            .where(Guardianship.id.in_([r[0] for r in revoked]))
            .values(revoked_at=now, revoked_by_id=actor)
        )
    return revoked


async def _grants(
    session: AsyncSession,
    ending: Ending,
    granted: Collection[tuple[int, int]],
    now: datetime,
    actor: int | None,
) -> list[tuple[int, int, int | None]]:
    """Revoke the standing grants of leaving students and those the revoked guardians gave;
    (id, student id, account id) of each."""
    students = ending.students | {s for s, _ in granted}
    found = await session.execute(
        select(
            TrustedAccess.id,
            TrustedAccess.student_id,
            TrustedAccess.account_id,
            TrustedAccess.granted_by_id,
        ).where(links.trust_standing(), TrustedAccess.student_id.in_(students))
    )
    grants = [
        (grant_id, student, account)
        for grant_id, student, account, by in found
        if student in ending.students or (student, by) in granted
    ]
    if grants:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id.in_([g[0] for g in grants]))
            .values(revoked_at=now, revoked_by_id=actor, invite_hash=None)
        )
    return grants


async def _codes_and_requests(session: AsyncSession, ending: Ending, now: datetime) -> None:
    await session.execute(
        update(AccessCode)
        .where(
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
            or_(
                AccessCode.student_id.in_(ending.students),
                AccessCode.guardian_id.in_(ending.guardians),
                AccessCode.staff_id.in_(ending.staff),
            ),
        )
        .values(revoked_at=now)
    )
    await session.execute(
        update(LinkRequest)
        .where(
            LinkRequest.status == RequestStatus.PENDING,
            or_(
                LinkRequest.student_id.in_(ending.students),
                LinkRequest.guardian_id.in_(ending.guardians),
            ),
        )
        .values(status=RequestStatus.CANCELLED, decided_at=now, phone=None)
    )


async def _tell(
    session: AsyncSession,
    revoked: list[tuple[int, int, int]],
    grants: list[tuple[int, int, int | None]],
    now: datetime,
) -> None:
    """One ``access_revoked`` message per ended link that had an account."""
    student_ids = {s for _, s, _ in revoked} | {s for _, s, a in grants if a is not None}
    if not student_ids:
        return
    found = await session.execute(
        select(Student.id, Student.full_name).where(Student.id.in_(student_ids))
    )
    names: dict[int, str] = dict(found.all())
    event = NotificationEvent.ACCESS_REVOKED
    rows = [
        NewRow(
            account,
            event,
            DedupKey.access_revoked(link_id, now),
            {"student_name": names.get(student, "")},
        )
        for link_id, student, account in revoked
    ]
    rows += [
        NewRow(
            account,
            event,
            DedupKey.trust_revoked(grant_id),
            {"student_name": names.get(student, "")},
        )
        for grant_id, student, account in grants
        if account is not None
    ]
    await enqueue_rows(session, rows, now=now)
