"""Linking Telegram accounts to the school: codes, phone confirmation, link requests,
trusted persons, unlinking. Every step is audited; nothing of a child is shown before the
school confirms the link."""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.base import utcnow
from db.enums import CodeKind, LinkMethod, RequestStatus
from db.models import (
    AccessCode,
    Account,
    AuditEntry,
    Guardian,
    Guardianship,
    LinkRequest,
    OutboxMessage,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    TrustedAccess,
)
from services.core import audit, enrolment, links
from services.core.access import Action, can, denied, require
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.notify import DedupKey, NotificationEvent, enqueue, rows_of
from services.people import codes as codes_service
from services.people import privacy

INVITE_LENGTH = 12
#: how long an invitation can be accepted (INVITE_TTL_HOURS), whatever the grant's own end
INVITE_TTL = timedelta(hours=72)
#: invitations of one child that may wait to be accepted at once: each is a line and a button
#: of /access (one message), and a repeated "Create" must not pile them up
PENDING_INVITES_LIMIT = 10
#: How many pending link requests a decider sees at once (the oldest first).
PENDING_SHOWN = 20
_PHONE_JUNK = re.compile(r"[\s\-()./]")


class Outcome(enum.StrEnum):
    LINKED_STUDENT = "linked_student"
    LINKED_STAFF = "linked_staff"
    NEED_CONTACT = "need_contact"
    CONFIRMED = "confirmed"
    PENDING = "pending"
    TRUSTED = "trusted"


@dataclass(frozen=True)
class LinkResult:
    outcome: Outcome
    student_name: str | None = None
    class_name: str | None = None
    code_id: int | None = None
    request_id: int | None = None
    notify: list[int] = field(default_factory=list)


def normalize_phone(raw: str) -> str | None:
    """E.164 (`+79161234567`) from what Telegram or a roster gives; None if implausible."""
    text = _PHONE_JUNK.sub("", raw.strip())
    plus = text.startswith("+")
    digits = text.lstrip("+")
    if not digits.isdigit():
        return None
    if not plus and len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif not plus and len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    if not 8 <= len(digits) <= 15:
        return None
    return "+" + digits


#: What each linking step is about: the `entity` of its audit entry (a code redeemed names
#: the student or staff member it links instead).
_ENTITY: dict[AuditAction, str] = {
    AuditAction.CODE_FAILED: "access_code",
    AuditAction.CODE_ACCEPTED: "access_code",
    AuditAction.LINK_PHONE_MATCH: "guardianship",
    AuditAction.LINK_REQUEST: "link_request",
    AuditAction.LINK_APPROVE: "link_request",
    AuditAction.LINK_REJECT: "link_request",
    AuditAction.TRUSTED_INVITE: "trusted_access",
    AuditAction.TRUSTED_ACCEPT: "trusted_access",
    AuditAction.TRUSTED_UPDATE: "trusted_access",
    AuditAction.TRUSTED_REVOKE: "trusted_access",
    AuditAction.GUARDIAN_UNLINK_SELF: "guardianship",
    AuditAction.GUARDIAN_REVOKE: "guardianship",
}


@dataclass(frozen=True)
class _Visitor:
    """Who types a code or accepts an invitation (the account may not exist yet)."""

    telegram_id: int
    account_id: int | None = None


def _audit(
    session: AsyncSession,
    action: AuditAction,
    entity_id: int | None,
    by: audit.Author,
    *,
    entity: str | None = None,
    new: Mapping[str, object] | None = None,
    old: Mapping[str, object] | None = None,
) -> None:
    """Add the audit entry of a linking step taken by an `Actor`, or a `_Visitor` not yet
    known as one (`entity`: what it is about, when the step does not say; see `_ENTITY`)."""
    audit.record(
        session,
        by,
        action,
        audit.Target(entity or _ENTITY[action], entity_id),
        new=None if new is None else dict(new),
        old=None if old is None else dict(old),
    )


async def _account_for(
    session: AsyncSession,
    telegram_id: int,
    full_name: str,
    username: str | None,
    language_code: str | None = None,
) -> Account:
    account = await session.scalar(select(Account).where(Account.telegram_id == telegram_id))
    if account is None:
        account = Account(
            telegram_id=telegram_id,
            full_name=full_name[:200],
            username=username,
            language_code=(language_code or None) and language_code[:16],
        )
        session.add(account)
        await session.flush()
    elif not account.full_name:  # forgotten when it lost its last link (services.people.privacy)
        account.full_name = full_name[:200]
        account.username = username
    return account


async def _class_name(session: AsyncSession, student_id: int, now: datetime) -> str | None:
    """The name of the student's current class (`services.core.enrolment`)."""
    stay = await enrolment.current_class(session, student_id, now=now)
    return stay.class_name if stay is not None else None


async def deciders_for(
    session: AsyncSession, student_id: int, *, now: datetime | None = None
) -> list[int]:
    """Accounts that confirm a parent of this student: the class teacher of their current
    class (`services.core.enrolment`) and the school's admins."""
    found = await enrolment.school_and_class(session, student_id, now=now or utcnow())
    if found is None:
        return []
    school_id, stay = found
    admins = (
        select(Staff.id)
        .join(StaffRoleGrant, StaffRoleGrant.staff_id == Staff.id)
        .where(Staff.school_id == school_id, StaffRoleGrant.role == "admin")
    )
    class_teacher = stay.class_teacher_id if stay is not None else None
    ids = await session.scalars(
        select(Staff.account_id)
        .where(or_(Staff.id == class_teacher, Staff.id.in_(admins)))
        .order_by(Staff.id)
    )
    return [i for i in dict.fromkeys(ids) if i is not None]


async def _confirm_guardianship(
    session: AsyncSession,
    *,
    student_id: int,
    account_id: int,
    guardian_id: int | None,
    method: LinkMethod,
    now: datetime,
    confirmed_by_id: int | None = None,
) -> Guardianship:
    """Create the guardianship, or revive a revoked one, confirmed now by `method`. Never for
    the student's own account (`same_person`): nobody is their own parent."""
    if await is_student_account(session, account_id, student_id):
        raise DomainError("link.same_person")
    link = await session.scalar(
        select(Guardianship).where(
            Guardianship.student_id == student_id, Guardianship.account_id == account_id
        )
    )
    if link is None:
        link = Guardianship(student_id=student_id, account_id=account_id)
        session.add(link)
    link.guardian_id = guardian_id if guardian_id is not None else link.guardian_id
    link.method = method
    link.confirmed_at = now
    link.confirmed_by_id = confirmed_by_id
    link.revoked_at = None
    link.revoked_by_id = None
    await session.flush()
    return link


_Person = TypeVar("_Person", Student, Staff)


async def _bind_person(
    session: AsyncSession, model: type[_Person], person_id: int, account: Account
) -> tuple[int, str, int | None]:
    """Link a student's or staff member's record to this account (a code re-issued for a lost
    phone moves it: the previous account loses it). Returns (id, name, previous account)."""
    person = await session.get(model, person_id)
    assert person is not None
    previous = person.account_id
    await session.execute(
        update(model)
        .where(model.account_id == account.id, model.id != person.id)
        .values(account_id=None)
    )
    person.account_id = account.id
    account.full_name = person.full_name
    return person.id, person.full_name, previous


# --- one person, one place in a child's family ------------------------------------------


def student_account_clause(
    account_id: SQLColumnExpression[int] | int, student_id: SQLColumnExpression[int] | int
) -> ColumnElement[bool]:
    """SQL: is this account the student's own? True when the student record is linked to it
    now, or was linked to it before (a student code re-issued for a lost phone moves the
    student to a new account; the audit of the earlier link still names this one).

    A student's own account is never their parent: a parent letter travels home in the
    school bag, and a student who redeems it must not receive the parent's notifications."""
    own = aliased(Student)
    return or_(
        exists().where(own.id == student_id, own.account_id == account_id),
        exists().where(
            AuditEntry.action == AuditAction.LINK_CODE,
            AuditEntry.entity == "student",
            AuditEntry.entity_id == student_id,
            AuditEntry.actor_id == account_id,
        ),
    )


async def is_student_account(session: AsyncSession, account_id: int, student_id: int) -> bool:
    """Is this account the student's own (see `student_account_clause`)?"""
    return bool(await session.scalar(select(student_account_clause(account_id, student_id))))


async def holds_family_link(session: AsyncSession, account_id: int, student_id: int) -> bool:
    """Is this account a guardian or a trusted person of the student (not revoked)? Such an
    account may not also become the student by redeeming the student's own code."""
    guardian = exists().where(
        Guardianship.student_id == student_id,
        Guardianship.account_id == account_id,
        links.guardianship_active(),
    )
    trusted = exists().where(
        TrustedAccess.student_id == student_id,
        TrustedAccess.account_id == account_id,
        links.trust_standing(),  # an expired grant can be extended: it still counts
    )
    return bool(await session.scalar(select(or_(guardian, trusted))))


def same_name(first: str | None, second: str | None) -> bool:
    """Do two names name the same words, in any order and case ("Пётр Иванов" and
    "иванов пётр")? A hint for the class teacher, never a decision by itself."""

    def words(name: str | None) -> list[str]:
        return sorted(re.findall(r"\w+", (name or "").casefold().replace("ё", "е")))

    return bool(words(first)) and words(first) == words(second)


async def _account_id(session: AsyncSession, telegram_id: int) -> int | None:
    return await session.scalar(select(Account.id).where(Account.telegram_id == telegram_id))


async def _pending_request_id(
    session: AsyncSession, account_id: int, student_id: int
) -> int | None:
    return await session.scalar(
        select(LinkRequest.id).where(
            LinkRequest.student_id == student_id,
            LinkRequest.account_id == account_id,
            LinkRequest.status == RequestStatus.PENDING,
        )
    )


async def has_pending_request(session: AsyncSession, actor: Actor) -> bool:
    """Is this account waiting for the class teacher to decide on a link request?"""
    if actor.account_id is None:
        return False
    found = await session.scalar(
        select(LinkRequest.id)
        .where(
            LinkRequest.account_id == actor.account_id,
            LinkRequest.status == RequestStatus.PENDING,
        )
        .limit(1)
    )
    return found is not None


async def _used_parent_code(session: AsyncSession, telegram_id: int, code: AccessCode) -> None:
    """A parent code this very account already used: say where things stand (the request is
    with the class teacher, was declined, or the link is confirmed) instead of "already
    used". Changes nothing; returns only if the code was used by someone else."""
    account_id = await _account_id(session, telegram_id)
    if account_id is None or code.used_by_id != account_id or code.student_id is None:
        return
    if await _pending_request_id(session, account_id, code.student_id) is not None:
        raise DomainError("link.request_pending")
    linked = await session.scalar(
        select(Guardianship.id).where(
            Guardianship.student_id == code.student_id,
            Guardianship.account_id == account_id,
            links.guardianship_active(),
        )
    )
    if linked is not None:
        raise DomainError("link.already_linked")
    rejected = await session.scalar(
        select(LinkRequest.id).where(
            LinkRequest.student_id == code.student_id,
            LinkRequest.account_id == account_id,
            LinkRequest.status == RequestStatus.REJECTED,
        )
    )
    if rejected is not None:
        raise DomainError("link.request_rejected")


# --- codes ------------------------------------------------------------------------------


async def redeem(
    session: AsyncSession,
    *,
    telegram_id: int,
    full_name: str,
    username: str | None,
    code_text: str,
    keys: codes_service.CodeKeys,
    language_code: str | None = None,
    attempt_limit: int = codes_service.ATTEMPT_LIMIT,
    school_attempt_limit: int = codes_service.SCHOOL_ATTEMPT_LIMIT,
    now: datetime | None = None,
) -> LinkResult:
    """Redeem a school code (or a trusted-person invitation) typed or opened by deep link;
    at most `attempt_limit` failed attempts per Telegram account per hour, and at most
    `school_attempt_limit` across all accounts (reaching it alerts the admins once an hour;
    meanwhile every redemption is refused without looking at the code). Text that cannot be a
    code (a garbled link, a wrong length or letters codes never use) is refused without
    counting as an attempt: it tests no code."""
    now = now or utcnow()
    left, retry_at = await codes_service.attempts_left(
        session, telegram_id, now=now, limit=attempt_limit
    )
    if left <= 0:
        raise DomainError("link.too_many_attempts", retry_at=retry_at)
    paused_until = await codes_service.school_wide_retry_at(
        session, now=now, limit=school_attempt_limit
    )
    if paused_until is not None:
        await codes_service.alert_guessing_wave(session, now=now, limit=school_attempt_limit)
        await session.commit()
        raise DomainError("link.too_many_attempts_school", retry_at=paused_until)
    invitation = codes_service.normalize_code(code_text, INVITE_LENGTH)
    if invitation is not None:
        return await _accept_invitation(
            session,
            telegram_id,
            full_name,
            username,
            invitation,
            now,
            language_code,
            keys=keys,
            school_attempt_limit=school_attempt_limit,
        )
    status, code = await codes_service.check_code(session, code_text, now=now, keys=keys)
    if status == codes_service.CodeStatus.MALFORMED:  # no one's code: it tests none, costs none
        raise DomainError("link.code_malformed", attempts_left=left)
    if (
        code is not None
        and status == codes_service.CodeStatus.USED
        and code.kind == CodeKind.PARENT
    ):
        await _used_parent_code(session, telegram_id, code)
    if code is None or status != codes_service.CodeStatus.OK:
        await codes_service.record_failure(
            session, telegram_id, now=now, school_limit=school_attempt_limit
        )
        _audit(
            session,
            AuditAction.CODE_FAILED,
            code.id if code else None,
            _Visitor(telegram_id),
            new={"status": status},
        )
        await session.commit()
        raise DomainError(f"link.code_{status}", attempts_left=left - 1)
    await _refuse_same_person(session, telegram_id, code)
    await codes_service.record_attempt(session, telegram_id, success=True, now=now)
    if code.kind == CodeKind.PARENT:
        _audit(
            session,
            AuditAction.CODE_ACCEPTED,
            code.id,
            _Visitor(telegram_id),
            new={"kind": code.kind.value},
        )
        await session.commit()
        return LinkResult(Outcome.NEED_CONTACT, code_id=code.id)

    account = await _account_for(session, telegram_id, full_name, username, language_code)
    if not await codes_service.claim_code(session, code.id, account_id=account.id, now=now):
        await session.rollback()
        raise DomainError("link.code_used")
    if code.kind == CodeKind.STUDENT:
        assert code.student_id is not None
        entity = "student"
        entity_id, name, old = await _bind_person(session, Student, code.student_id, account)
        result = LinkResult(
            Outcome.LINKED_STUDENT, name, await _class_name(session, entity_id, now)
        )
    else:
        assert code.staff_id is not None
        entity = "staff"
        entity_id, name, old = await _bind_person(session, Staff, code.staff_id, account)
        result = LinkResult(Outcome.LINKED_STAFF, name)
    _audit(
        session,
        AuditAction.LINK_CODE,
        entity_id,
        _Visitor(telegram_id, account.id),
        entity=entity,
        old={"account_id": old},
        new={"account_id": account.id, "code_id": code.id},
    )
    await session.commit()
    return result


async def _refuse_same_person(session: AsyncSession, telegram_id: int, code: AccessCode) -> None:
    """A valid code that would make one person both the student and their parent: a parent
    code redeemed by the student's own account, or the student's code by one of the student's
    guardians or trusted persons. Refused before anything is written; the code stays valid
    for the person it was printed for."""
    if code.student_id is None:
        return
    account_id = await _account_id(session, telegram_id)
    if account_id is None:
        return
    if code.kind == CodeKind.PARENT and await is_student_account(
        session, account_id, code.student_id
    ):
        raise DomainError("link.own_parent_code")
    if code.kind == CodeKind.STUDENT and await holds_family_link(
        session, account_id, code.student_id
    ):
        raise DomainError("link.family_student_code")


async def submit_contact(
    session: AsyncSession,
    *,
    telegram_id: int,
    full_name: str,
    username: str | None,
    code_id: int,
    contact_user_id: int | None,
    phone: str,
    language_code: str | None = None,
    now: datetime | None = None,
) -> LinkResult:
    """The parent shared a contact after a valid parent code: confirm or ask the school."""
    now = now or utcnow()
    if contact_user_id != telegram_id:
        raise DomainError("link.not_own_contact")
    normalized = normalize_phone(phone)
    if normalized is None:
        raise DomainError("link.bad_phone")
    code = await session.get(AccessCode, code_id)
    if (
        code is None
        or code.kind != CodeKind.PARENT
        or code.used_at is not None
        or code.revoked_at is not None
        or code.expires_at <= now
    ):
        raise DomainError("link.code_expired")
    assert code.student_id is not None
    student = await session.get(Student, code.student_id)
    assert student is not None
    # checked again: the account may have become the student since the code was accepted
    known = await _account_id(session, telegram_id)
    if known is not None and await is_student_account(session, known, student.id):
        raise DomainError("link.own_parent_code")
    account = await _account_for(session, telegram_id, full_name, username, language_code)
    if not await codes_service.claim_code(session, code.id, account_id=account.id, now=now):
        await session.rollback()
        raise DomainError("link.code_expired")
    class_name = await _class_name(session, student.id, now)

    on_file = await session.execute(
        select(Guardian.id, Guardian.phone)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == student.id)
    )
    match = next(
        (gid for gid, gphone in on_file if gphone and normalize_phone(gphone) == normalized),
        None,
    )
    if match is not None:
        account.phone = normalized  # vouched by Telegram and equal to the school's record
        link = await _confirm_guardianship(
            session,
            student_id=student.id,
            account_id=account.id,
            guardian_id=match,
            method=LinkMethod.PHONE_MATCH,
            now=now,
        )
        _audit(
            session,
            AuditAction.LINK_PHONE_MATCH,
            link.id,
            _Visitor(telegram_id, account.id),
            new={"student_id": student.id, "guardian_id": match},
        )
        await session.commit()
        return LinkResult(Outcome.CONFIRMED, student.full_name, class_name)

    already = await session.scalar(
        select(Guardianship.id).where(
            Guardianship.student_id == student.id,
            Guardianship.account_id == account.id,
            links.guardianship_active(),
        )
    )
    if already is not None:  # already this child's confirmed parent: nothing to ask
        await session.commit()
        return LinkResult(Outcome.CONFIRMED, student.full_name, class_name)
    request = await session.scalar(
        select(LinkRequest).where(
            LinkRequest.student_id == student.id,
            LinkRequest.account_id == account.id,
            LinkRequest.status == RequestStatus.PENDING,
        )
    )
    if request is None:
        request = LinkRequest(
            student_id=student.id,
            account_id=account.id,
            code_id=code.id,
            guardian_id=code.guardian_id,
            phone=normalized,
            created_at=now,
        )
        session.add(request)
        await session.flush()
    deciders = await deciders_for(session, student.id, now=now)
    guardian_name = None
    if code.guardian_id is not None:
        guardian_name = await session.scalar(
            select(Guardian.full_name).where(Guardian.id == code.guardian_id)
        )
    await enqueue(
        session,
        account_ids=deciders,
        event=NotificationEvent.LINK_REQUEST,
        payload={
            "request_id": request.id,
            "parent_name": account.full_name,
            "username": account.username,
            "phone": normalized,
            "student_name": student.full_name,
            "class_name": class_name,
            "guardian_on_file": guardian_name,
            "same_name": same_name(account.full_name, student.full_name),
        },
        dedup_key=DedupKey.link_request(request.id),
        now=now,
    )
    _audit(
        session,
        AuditAction.LINK_REQUEST,
        request.id,
        _Visitor(telegram_id, account.id),
        new={"student_id": student.id},
    )
    await session.commit()
    return LinkResult(Outcome.PENDING, None, None, request_id=request.id, notify=deciders)


@dataclass(frozen=True)
class RequestView:
    id: int
    status: RequestStatus
    parent_name: str
    username: str | None
    phone: str | None
    student_name: str
    class_name: str | None
    guardian_on_file: str | None
    decided_by: str | None = None
    # the applicant's account is (or was) the student's own: the request cannot be approved
    own_account: bool = False
    # the applicant's name is the student's name: a hint for the class teacher
    same_name: bool = False


async def _request_views(
    session: AsyncSession, request_ids: list[int], now: datetime | None = None
) -> list[RequestView]:
    """Requests with everything a decider needs, in one query however many there are (the
    student's class: their current one, `services.core.enrolment`)."""
    if not request_ids:
        return []
    parent = aliased(Account)
    decider = aliased(Account)
    stint = enrolment.stints()
    rows = await session.execute(
        select(
            LinkRequest,
            parent.full_name,
            parent.username,
            Student.full_name,
            Guardian.full_name,
            decider.full_name,
            student_account_clause(LinkRequest.account_id, LinkRequest.student_id),
            *enrolment.stint_columns(stint),
        )
        .join(parent, parent.id == LinkRequest.account_id)
        .join(Student, Student.id == LinkRequest.student_id)
        .outerjoin(stint, stint.c.student_id == LinkRequest.student_id)
        .outerjoin(Guardian, Guardian.id == LinkRequest.guardian_id)
        .outerjoin(decider, decider.id == LinkRequest.decided_by_id)
        .where(LinkRequest.id.in_(request_ids))
        .order_by(LinkRequest.created_at, LinkRequest.id)
    )
    return [
        RequestView(
            request.id,
            request.status,
            parent_name,
            username,
            request.phone,
            student_name,
            stay.class_name if stay is not None else None,
            guardian,
            decided_by,
            own_account=bool(own),
            same_name=same_name(parent_name, student_name),
        )
        for (
            request,
            parent_name,
            username,
            student_name,
            guardian,
            decided_by,
            own,
        ), stay in enrolment.with_current(rows.all(), now or utcnow())
    ]


async def request_view(
    session: AsyncSession, request_id: int, *, now: datetime | None = None
) -> RequestView | None:
    views = await _request_views(session, [request_id], now)
    return views[0] if views else None


async def decide(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    *,
    approve: bool,
    now: datetime | None = None,
) -> RequestView:
    """The class teacher (or an admin) approves or rejects a parent's link request."""
    now = now or utcnow()
    await require(session, actor, Action.DECIDE_LINK, request_id)
    request = await session.get(LinkRequest, request_id)
    assert request is not None
    if request.status != RequestStatus.PENDING:
        raise DomainError("link.already_decided")
    if approve and await is_student_account(session, request.account_id, request.student_id):
        raise DomainError("link.same_person")
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.decided_at = now
    request.decided_by_id = actor.account_id
    if not approve:
        await _forget_request_phone(session, request)
    if approve:
        await _confirm_guardianship(
            session,
            student_id=request.student_id,
            account_id=request.account_id,
            guardian_id=request.guardian_id,
            method=LinkMethod.APPROVED,
            now=now,
            confirmed_by_id=actor.account_id,
        )
    student = await session.get(Student, request.student_id)
    assert student is not None
    await enqueue(
        session,
        account_ids=[request.account_id],
        event=NotificationEvent.LINK_DECISION,
        payload={
            "approved": approve,
            "student_name": student.full_name if approve else None,
        },
        dedup_key=DedupKey.link_decision(request.id),
        now=now,
    )
    _audit(
        session,
        AuditAction.LINK_APPROVE if approve else AuditAction.LINK_REJECT,
        request.id,
        actor,
        new={"status": request.status.value},
    )
    await session.commit()
    view = await request_view(session, request_id, now=now)
    assert view is not None
    return view


async def _forget_request_phone(session: AsyncSession, request: LinkRequest) -> None:
    """A rejected request keeps no phone: not on the request, not in the copies of the
    request message waiting in (or sent from) the outbox."""
    request.phone = None
    rows = await session.scalars(
        select(OutboxMessage).where(rows_of(DedupKey.link_request(request.id)))
    )
    for row in rows:
        if row.payload.get("phone") is not None:
            row.payload = {**row.payload, "phone": None}


async def pending_requests(
    session: AsyncSession, actor: Actor, *, now: datetime | None = None
) -> list[RequestView]:
    """The oldest pending requests this actor may decide: of the students whose current class
    (`services.core.enrolment`) the actor teaches as class teacher, or all for admins."""
    if not actor.is_staff:
        return []
    now = now or utcnow()
    query = (
        select(LinkRequest.id)
        .join(Student, Student.id == LinkRequest.student_id)
        .where(LinkRequest.status == RequestStatus.PENDING, Student.school_id == actor.school_id)
        .order_by(LinkRequest.created_at, LinkRequest.id)
    )
    if "admin" in actor.roles:
        ids = list(await session.scalars(query.limit(PENDING_SHOWN)))
    else:
        stint = enrolment.stints()
        rows = await session.execute(
            query.add_columns(*enrolment.stint_columns(stint)).join(
                stint, stint.c.student_id == Student.id
            )
        )
        mine = set(actor.class_teacher_of)
        ids = [
            request_id
            for (request_id,), stay in enrolment.with_current(rows.all(), now)
            if stay is not None and stay.class_id in mine
        ][:PENDING_SHOWN]
    return await _request_views(session, ids, now)


# --- trusted persons --------------------------------------------------------------------


def _hash_invite(code: str, keys: codes_service.CodeKeys) -> tuple[str, str]:
    """(key id, HMAC-SHA256) of an invitation under the current code key: what is stored."""
    return keys.sign(codes_service.Purpose.INVITE, code)


def new_invite_code() -> str:
    """12 characters of the code alphabet from `secrets` (60 bits)."""
    return "".join(secrets.choice(codes_service.ALPHABET) for _ in range(INVITE_LENGTH))


async def create_invitation(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    scopes: int,
    expires_at: datetime | None,
    label: str,
    keys: codes_service.CodeKeys,
    invite_ttl: timedelta = INVITE_TTL,
    now: datetime | None = None,
) -> tuple[TrustedAccess, str]:
    """A guardian invites a trusted person; returns the grant and the one-time invite code,
    which can be accepted until ``invite_expires_at`` (`invite_ttl` from now)."""
    now = now or utcnow()
    await require(session, actor, Action.MANAGE_TRUSTED, student_id)
    if not 1 <= scopes <= 15:
        raise DomainError("link.no_scopes")
    if expires_at is not None and expires_at <= now:
        raise DomainError("link.expiry_in_past")
    if await pending_invitations(session, student_id, now) >= PENDING_INVITES_LIMIT:
        raise DomainError("link.too_many_invitations")
    assert actor.account_id is not None
    code = new_invite_code()
    key_id, digest = _hash_invite(code, keys)
    grant = TrustedAccess(
        student_id=student_id,
        granted_by_id=actor.account_id,
        invite_hash=digest,
        invite_key_id=key_id,
        invite_expires_at=now + invite_ttl,
        label=label[:200],
        scopes=scopes,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(grant)
    await session.flush()
    _audit(
        session,
        AuditAction.TRUSTED_INVITE,
        grant.id,
        actor,
        new={"student_id": student_id, "scopes": scopes, "expires_at": _iso(expires_at)},
    )
    await session.commit()
    return grant, code


async def pending_invitations(session: AsyncSession, student_id: int, now: datetime) -> int:
    """How many invitations to see `student_id`'s diary can still be accepted."""
    waiting = await session.scalars(
        select(TrustedAccess).where(
            TrustedAccess.student_id == student_id,
            TrustedAccess.account_id.is_(None),
            links.trust_open(now),
        )
    )
    return sum(1 for grant in waiting if not invitation_expired(grant, now))


def invitation_expired(grant: TrustedAccess, now: datetime) -> bool:
    """An unaccepted invitation can no longer be accepted: its own short life
    (`invite_expires_at`) or the grant's end has passed. Rows without an invitation expiry
    (none are left after migration 006) only have the grant's end."""
    ends = [t for t in (grant.invite_expires_at, grant.expires_at) if t is not None]
    return any(t <= now for t in ends)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _claim_invitation(
    session: AsyncSession, grant_id: int, account_id: int, now: datetime
) -> bool:
    """Accept an open invitation for this account, atomically: one conditional UPDATE, so of
    two accounts redeeming it at once exactly one wins (the other's UPDATE matches no row once
    the winner commits; on PostgreSQL it waits for the winner's row lock, then re-checks).
    False if it was accepted, revoked or expired meanwhile. Does not commit."""
    return await codes_service.claims_one(
        session,
        update(TrustedAccess)
        .where(
            TrustedAccess.id == grant_id,
            TrustedAccess.accepted_at.is_(None),
            TrustedAccess.account_id.is_(None),
            links.trust_open(now),
            or_(TrustedAccess.invite_expires_at.is_(None), TrustedAccess.invite_expires_at > now),
        )
        .values(account_id=account_id, accepted_at=now),
    )


async def _accept_invitation(
    session: AsyncSession,
    telegram_id: int,
    full_name: str,
    username: str | None,
    code: str,
    now: datetime,
    language_code: str | None = None,
    *,
    keys: codes_service.CodeKeys,
    school_attempt_limit: int = codes_service.SCHOOL_ATTEMPT_LIMIT,
) -> LinkResult:
    """Redeem a trusted-person invitation. Its hash stays on the grant once accepted or
    revoked, so whoever comes later is told what became of it (taken, withdrawn, expired);
    `_claim_invitation` keeps it one-time."""
    candidates = keys.candidates(codes_service.Purpose.INVITE, code)
    rows = await session.scalars(
        select(TrustedAccess).where(TrustedAccess.invite_hash.in_(list(candidates)))
    )
    grant = next(
        (g for g in rows if g.invite_hash and candidates[g.invite_hash] == g.invite_key_id), None
    )
    status = "ok"
    if grant is None:
        status = "unknown"
    elif grant.revoked_at is not None:
        status = "revoked"
    elif grant.accepted_at is not None:
        status = "used"
    elif invitation_expired(grant, now):
        status = "expired"
    if grant is None or status != "ok":
        await codes_service.record_failure(
            session, telegram_id, now=now, school_limit=school_attempt_limit
        )
        await session.commit()
        raise DomainError("link.code_unknown" if grant is None else f"link.invite_{status}")
    await codes_service.record_attempt(session, telegram_id, success=True, now=now)
    account = await _account_for(session, telegram_id, full_name, username, language_code)
    if not await _claim_invitation(session, grant.id, account.id, now):
        # another account accepted it between our read and this write: it won, we change nothing
        await session.rollback()
        raise DomainError("link.invite_used")
    student = await session.get(Student, grant.student_id)
    assert student is not None
    await enqueue(
        session,
        account_ids=[grant.granted_by_id],
        event=NotificationEvent.TRUSTED_ACCEPTED,
        payload={"name": account.full_name, "student_name": student.full_name},
        dedup_key=DedupKey.trusted_accepted(grant.id),
        now=now,
    )
    _audit(session, AuditAction.TRUSTED_ACCEPT, grant.id, _Visitor(telegram_id, account.id))
    await session.commit()
    return LinkResult(
        Outcome.TRUSTED, student.full_name, await _class_name(session, student.id, now)
    )


@dataclass(frozen=True)
class AccessHolder:
    """One account that can see a child (for "who can see my child")."""

    kind: str  # "guardian" | "trusted" | "invited"
    id: int
    name: str
    scopes: int | None
    expires_at: datetime | None
    last_opened_at: datetime | None
    is_me: bool


async def who_can_see(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> list[AccessHolder]:
    now = now or utcnow()
    await require(session, actor, Action.VIEW_WHO_HAS_ACCESS, student_id)
    holders: list[AccessHolder] = []
    guardians = await session.execute(
        select(Guardianship, Account.full_name)
        .join(Account, Account.id == Guardianship.account_id)
        .where(Guardianship.student_id == student_id, links.guardianship_active())
        .order_by(Guardianship.confirmed_at)
    )
    for link, name in guardians:
        holders.append(
            AccessHolder(
                "guardian",
                link.id,
                name,
                None,
                None,
                link.last_opened_at,
                link.account_id == actor.account_id,
            )
        )
    grants = await session.execute(
        select(TrustedAccess, Account.full_name)
        .outerjoin(Account, Account.id == TrustedAccess.account_id)
        .where(TrustedAccess.student_id == student_id, links.trust_open(now))
        .order_by(TrustedAccess.created_at)
    )
    for grant, name in grants:
        if grant.account_id is None and invitation_expired(grant, now):
            continue  # an invitation nobody accepted in time gives no access
        holders.append(
            AccessHolder(
                "trusted" if grant.account_id else "invited",
                grant.id,
                name or grant.label,
                grant.scopes,
                grant.expires_at,
                grant.last_opened_at,
                grant.account_id == actor.account_id,
            )
        )
    return holders


async def _grant_for_manager(session: AsyncSession, actor: Actor, grant_id: int) -> TrustedAccess:
    grant = await session.get(TrustedAccess, grant_id)
    if grant is None:
        raise DomainError("link.not_found")
    await require(session, actor, Action.MANAGE_TRUSTED, grant.student_id)
    return grant


async def update_grant(
    session: AsyncSession,
    actor: Actor,
    grant_id: int,
    *,
    scopes: int | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> TrustedAccess:
    now = now or utcnow()
    grant = await _grant_for_manager(session, actor, grant_id)
    if grant.revoked_at is not None:
        raise DomainError("link.revoked")
    old = {"scopes": grant.scopes, "expires_at": _iso(grant.expires_at)}
    if scopes is not None:
        if not 1 <= scopes <= 15:
            raise DomainError("link.no_scopes")
        grant.scopes = scopes
    if expires_at is not None:
        if expires_at <= now:
            raise DomainError("link.expiry_in_past")
        grant.expires_at = expires_at
    _audit(
        session,
        AuditAction.TRUSTED_UPDATE,
        grant.id,
        actor,
        old=old,
        new={"scopes": grant.scopes, "expires_at": _iso(grant.expires_at)},
    )
    await session.commit()
    return grant


async def _grant_for_revoker(
    session: AsyncSession, actor: Actor, grant_id: int
) -> tuple[TrustedAccess, bool]:
    """The grant, if the actor may revoke it: a guardian of the child (its manager: True) or
    an admin of the school (False)."""
    grant = await session.get(TrustedAccess, grant_id)
    if grant is None:
        raise DomainError("link.not_found")
    if await can(session, actor, Action.MANAGE_TRUSTED, grant.student_id):
        return grant, True
    await require(session, actor, Action.REVOKE_ACCESS, grant.student_id)  # admins
    return grant, False


@dataclass(frozen=True)
class RevokeView:
    """What the "revoke this trusted person?" question shows."""

    grant_id: int
    student_id: int
    student_name: str
    name: str
    accepted: bool
    by_manager: bool


async def _grant_names(session: AsyncSession, grant: TrustedAccess) -> tuple[str, str | None]:
    """The child's name and the trusted person's (None while the invitation is unaccepted)."""
    name = None
    if grant.account_id is not None:
        name = await session.scalar(select(Account.full_name).where(Account.id == grant.account_id))
    student_name = await session.scalar(
        select(Student.full_name).where(Student.id == grant.student_id)
    )
    return student_name or "", name


async def revoke_preview(session: AsyncSession, actor: Actor, grant_id: int) -> RevokeView:
    """The confirmation before `revoke_grant`, checked against the same rule; nothing changes."""
    grant, manager = await _grant_for_revoker(session, actor, grant_id)
    if grant.revoked_at is not None:
        raise DomainError("link.revoked")
    student_name, name = await _grant_names(session, grant)
    return RevokeView(
        grant.id,
        grant.student_id,
        student_name,
        name or grant.label,
        grant.account_id is not None,
        manager,
    )


async def revoke_grant(
    session: AsyncSession, actor: Actor, grant_id: int, *, now: datetime | None = None
) -> TrustedAccess:
    """A guardian (or an admin) revokes a trusted person; effective on their next tap."""
    now = now or utcnow()
    grant, _manager = await _grant_for_revoker(session, actor, grant_id)
    if grant.revoked_at is None:
        grant.revoked_at = now
        grant.revoked_by_id = actor.account_id
        if grant.account_id is not None:
            await _tell_revoked(
                session, grant.account_id, grant.student_id, DedupKey.trust_revoked(grant.id), now
            )
        _audit(session, AuditAction.TRUSTED_REVOKE, grant.id, actor)
        if grant.account_id is not None:
            await privacy.forget_unlinked(session, [grant.account_id])
        await session.commit()
    return grant


async def _tell_revoked(
    session: AsyncSession, account_id: int, student_id: int, dedup_key: DedupKey, now: datetime
) -> None:
    """The outbox message telling someone their access to a child was revoked."""
    student_name = await session.scalar(select(Student.full_name).where(Student.id == student_id))
    await enqueue(
        session,
        account_ids=[account_id],
        event=NotificationEvent.ACCESS_REVOKED,
        payload={"student_name": student_name or ""},
        dedup_key=dedup_key,
        now=now,
    )


async def unlink_guardian(
    session: AsyncSession,
    actor: Actor,
    guardianship_id: int,
    *,
    now: datetime | None = None,
) -> Guardianship:
    """A parent unlinks themselves, or an admin revokes a guardian. Audited; they are told."""
    now = now or utcnow()
    link = await session.get(Guardianship, guardianship_id)
    if link is None or link.revoked_at is not None:
        raise DomainError("link.not_found")
    if link.account_id == actor.account_id:
        await require(session, actor, Action.UNLINK_SELF, link.student_id)
        action = AuditAction.GUARDIAN_UNLINK_SELF
    else:
        await require(session, actor, Action.REVOKE_ACCESS, link.student_id)
        action = AuditAction.GUARDIAN_REVOKE
    link.revoked_at = now
    link.revoked_by_id = actor.account_id
    # trusted persons this guardian invited lose access with them
    grants = await session.scalars(
        select(TrustedAccess).where(
            TrustedAccess.student_id == link.student_id,
            TrustedAccess.granted_by_id == link.account_id,
            links.trust_standing(),
        )
    )
    unlinked = [link.account_id]
    for grant in grants:
        grant.revoked_at = now
        grant.revoked_by_id = actor.account_id
        unlinked += [grant.account_id] if grant.account_id is not None else []
    if action == AuditAction.GUARDIAN_REVOKE:
        dedup_key = DedupKey.access_revoked(link.id, now)
        await _tell_revoked(session, link.account_id, link.student_id, dedup_key, now)
    _audit(session, action, link.id, actor)
    await privacy.forget_unlinked(session, unlinked)
    await session.commit()
    return link


async def choose_child(session: AsyncSession, actor: Actor, student_id: int) -> None:
    """Remember which child a parent is looking at (only one of their own)."""
    if not any(c.student_id == student_id for c in actor.children):
        raise denied(Action.VIEW_SCHEDULE, student_id)
    assert actor.account_id is not None
    account = await session.get(Account, actor.account_id)
    assert account is not None
    account.current_student_id = student_id
    await session.commit()


async def touch_opened(session: AsyncSession, actor: Actor, student_id: int) -> None:
    """Record that a guardian or trusted person opened the child's diary."""
    now = utcnow()
    for link in (Guardianship, TrustedAccess):
        await session.execute(
            update(link)
            .where(link.student_id == student_id, link.account_id == actor.account_id)
            .values(last_opened_at=now)
        )


@dataclass(frozen=True)
class GrantView:
    id: int
    student_id: int
    student_name: str
    name: str | None
    label: str
    scopes: int
    expires_at: datetime | None
    accepted: bool
    revoked: bool
    last_opened_at: datetime | None


async def grant_view(session: AsyncSession, actor: Actor, grant_id: int) -> GrantView:
    """A trusted grant as its manager (the child's guardian) sees it."""
    grant = await _grant_for_manager(session, actor, grant_id)
    student_name, name = await _grant_names(session, grant)
    return GrantView(
        grant.id,
        grant.student_id,
        student_name,
        name,
        grant.label,
        grant.scopes,
        grant.expires_at,
        grant.accepted_at is not None,
        grant.revoked_at is not None,
        grant.last_opened_at,
    )


async def describe_guardianship(
    session: AsyncSession, actor: Actor, guardianship_id: int
) -> tuple[bool, str]:
    """(is it the actor's own link, the guardian's name) — for the confirmation screen."""
    link = await session.get(Guardianship, guardianship_id)
    if link is None or link.revoked_at is not None:
        raise DomainError("link.not_found")
    is_self = link.account_id == actor.account_id
    action = Action.UNLINK_SELF if is_self else Action.REVOKE_ACCESS
    await require(session, actor, action, link.student_id)
    name = await session.scalar(select(Account.full_name).where(Account.id == link.account_id))
    return is_self, name or ""
