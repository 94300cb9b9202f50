"""Linking integrity: one winner for an invitation redeemed twice at once (a real race on
PostgreSQL), nobody linked as their own parent, no phone kept from a contact that did not
match. Database state is compared row by row, table by table."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import LinkMethod, RequestStatus
from db.models import (
    AccessCode,
    Account,
    AuditEntry,
    Guardianship,
    LinkRequest,
    OutboxMessage,
    Student,
    TrustedAccess,
)
from services.core.actors import Role, load_actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.people import linking
from tests import factories as f
from tests.harness import CODE_KEYS
from tests.snapshot import Snapshot, db_snapshot

ROUNDS = 15


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


# What any update changes about its sender: Telegram's language of the user (remembered by
# `load_actor`), not something a refused action did.
#: the account's Telegram language is remembered on every update: not a change of the family
BOOKKEEPING = ("accounts.language_code",)


async def table_contents(session_factory: async_sessionmaker[AsyncSession]) -> Snapshot:
    """Every row of every table but the bookkeeping columns (tests/snapshot.py)."""
    return await db_snapshot(session_factory, ignore=BOOKKEEPING)


async def _redeem(
    session_factory: async_sessionmaker[AsyncSession], telegram_id: int, name: str, code: str
) -> linking.LinkResult | DomainError:
    async with session_factory() as session:
        try:
            return await linking.redeem(
                session,
                telegram_id=telegram_id,
                full_name=name,
                username=None,
                code_text=code,
                keys=CODE_KEYS,
            )
        except DomainError as exc:
            return exc


# --- one winner -------------------------------------------------------------------------


async def test_invitation_raced_by_two_accounts_has_one_winner(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs concurrent writers: PostgreSQL")
    for round_ in range(ROUNDS):
        async with session_factory() as session:
            parent = await load_actor(session, f.PARENT)
            grant, code = await linking.create_invitation(
                session,
                parent,
                school.student_id,
                scopes=1,
                expires_at=utcnow() + timedelta(days=7),
                label="Invitation",
                keys=CODE_KEYS,
            )
            grant_id = grant.id
        first, second = 70_000 + 2 * round_, 70_001 + 2 * round_
        names = {first: f"Репетитор {round_}", second: f"Бабушка {round_}"}
        results = await asyncio.gather(
            _redeem(session_factory, first, names[first], code),
            _redeem(session_factory, second, names[second], code),
        )
        won = [r for r in results if isinstance(r, linking.LinkResult)]
        lost = [r for r in results if isinstance(r, DomainError)]
        assert len(won) == 1, f"round {round_}: {results}"
        assert won[0].outcome == linking.Outcome.TRUSTED
        assert [e.key for e in lost] == ["link.invite_used"], f"round {round_}"
        winner = first if results[0] is won[0] else second
        loser = second if winner == first else first
        async with session_factory() as session:
            grant = await session.get(TrustedAccess, grant_id)
            assert grant is not None
            holder = await session.get(Account, grant.account_id)
            assert holder is not None
            assert holder.telegram_id == winner
            assert grant.accepted_at is not None
            # the loser got nothing: no account, no grant
            assert (
                await session.scalar(select(Account.id).where(Account.telegram_id == loser))
            ) is None
            accepted = list(
                await session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == AuditAction.TRUSTED_ACCEPT,
                        AuditEntry.entity_id == grant_id,
                    )
                )
            )
            assert [a.actor_id for a in accepted] == [holder.id]
            # the parent is told the winner's name, once
            told = list(
                await session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.dedup_key.like(f"trustacc:{grant_id}:%")
                    )
                )
            )
            assert [m.payload["name"] for m in told] == [names[winner]]
            # the winner sees the child; the loser is still a stranger
            tutor = await load_actor(session, winner)
            assert [c.student_id for c in tutor.children] == [school.student_id]
            assert not (await load_actor(session, loser)).is_known


async def test_accepted_invitation_cannot_be_taken_over(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """The conditional update itself: a grant accepted meanwhile is not overwritten."""
    async with session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        grant, _code = await linking.create_invitation(
            session, parent, school.student_id, scopes=1, expires_at=None, label="x", keys=CODE_KEYS
        )
        grant_id = grant.id
    async with session_factory() as session:
        first = Account(telegram_id=71_001, full_name="Первый")
        second = Account(telegram_id=71_002, full_name="Второй")
        session.add_all([first, second])
        await session.flush()
        now = utcnow()
        assert await linking._claim_invitation(session, grant_id, first.id, now)
        assert not await linking._claim_invitation(session, grant_id, second.id, now)
        await session.commit()
        grant = await session.get(TrustedAccess, grant_id)
        assert grant is not None
        assert grant.account_id == first.id


# --- nobody is their own parent ---------------------------------------------------------


async def _parent_code_for_petr(session_factory: async_sessionmaker[AsyncSession]) -> str:
    async with session_factory() as session:
        student_id = await session.scalar(
            select(Student.id).join(Account, Account.id == Student.account_id)
        )
    assert student_id is not None
    return await f.parent_code(session_factory, student_id, None)


async def test_student_cannot_redeem_own_parent_code(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    code = await _parent_code_for_petr(session_factory)
    before = await table_contents(session_factory)
    result = await _redeem(session_factory, f.STUDENT, "Пётр Иванов", code)
    assert isinstance(result, DomainError)
    assert result.key == "link.own_parent_code"
    assert await table_contents(session_factory) == before
    # the code still works for the parent it was printed for
    mom = await _redeem(session_factory, 72_001, "Ирина", code)
    assert isinstance(mom, linking.LinkResult)
    assert mom.outcome == linking.Outcome.NEED_CONTACT


async def test_students_earlier_account_cannot_redeem_parent_code(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """A student code re-issued for a new phone moves the student; the old account is still
    the student's own."""
    issued_code = await f.student_code(session_factory, school.student_id)
    old = await _redeem(session_factory, f.STUDENT, "Пётр Иванов", issued_code)
    assert isinstance(old, linking.LinkResult)
    issued_code = await f.student_code(session_factory, school.student_id)
    new = await _redeem(session_factory, 72_002, "Пётр (новый телефон)", issued_code)
    assert isinstance(new, linking.LinkResult)
    code = await _parent_code_for_petr(session_factory)
    before = await table_contents(session_factory)
    result = await _redeem(session_factory, f.STUDENT, "Пётр Иванов", code)
    assert isinstance(result, DomainError)
    assert result.key == "link.own_parent_code"
    assert await table_contents(session_factory) == before


async def test_guardian_cannot_redeem_the_students_own_code(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    issued_code = await f.student_code(session_factory, school.student_id)
    before = await table_contents(session_factory)
    for telegram_id in (f.PARENT, f.TRUSTED):
        result = await _redeem(session_factory, telegram_id, "x", issued_code)
        assert isinstance(result, DomainError)
        assert result.key == "link.family_student_code"
    assert await table_contents(session_factory) == before


async def test_contact_after_becoming_the_student_is_refused(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """Parent code accepted by a fresh account, which then redeems the student's own code,
    then shares its phone: refused, nothing changes."""
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    accepted = await _redeem(session_factory, 72_003, "Мария", code)
    assert isinstance(accepted, linking.LinkResult)
    assert accepted.code_id is not None
    issued_code = await f.student_code(session_factory, school.unlinked_student_id)
    assert isinstance(
        await _redeem(session_factory, 72_003, "Мария", issued_code), linking.LinkResult
    )
    before = await table_contents(session_factory)
    for phone in (f.MOM_PHONE, "+79005550000"):  # matching or not
        async with session_factory() as session:
            with pytest.raises(DomainError) as refused:
                await linking.submit_contact(
                    session,
                    telegram_id=72_003,
                    full_name="Мария",
                    username=None,
                    code_id=accepted.code_id,
                    contact_user_id=72_003,
                    phone=phone,
                )
            await session.rollback()
        assert refused.value.key == "link.own_parent_code"
    assert await table_contents(session_factory) == before


async def _request_from_the_student(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> int:
    """A pending request whose applicant is the student's own account (made before the account
    became the student, as happened before the fix)."""
    async with session_factory() as session:
        student = await session.get(Student, school.student_id)
        assert student is not None
        request = LinkRequest(
            student_id=student.id, account_id=student.account_id, phone="+79005550001"
        )
        session.add(request)
        await session.commit()
        return request.id


async def test_request_from_the_student_is_flagged_and_cannot_be_approved(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    request_id = await _request_from_the_student(session_factory, school)
    async with session_factory() as session:
        teacher = await load_actor(session, f.CLASS_TEACHER)
        (view,) = await linking.pending_requests(session, teacher)
        assert view.own_account
        assert view.same_name  # "Пётр Иванов" asks to be the parent of "Пётр Иванов"
    before = await table_contents(session_factory)
    async with session_factory() as session:
        teacher = await load_actor(session, f.CLASS_TEACHER)
        with pytest.raises(DomainError) as refused:
            await linking.decide(session, teacher, request_id, approve=True)
        assert refused.value.key == "link.same_person"
        await session.rollback()
        still = await linking.request_view(session, request_id)
        assert still is not None
        assert still.own_account
        assert still.status == RequestStatus.PENDING
    assert await table_contents(session_factory) == before
    async with session_factory() as session:
        teacher = await load_actor(session, f.CLASS_TEACHER)
        view = await linking.decide(session, teacher, request_id, approve=False)
        assert view.status == RequestStatus.REJECTED


async def test_an_ordinary_request_is_not_flagged(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    accepted = await _redeem(session_factory, 72_004, "Анна Смирнова", code)
    assert isinstance(accepted, linking.LinkResult)
    assert accepted.code_id is not None
    async with session_factory() as session:
        await linking.submit_contact(
            session,
            telegram_id=72_004,
            full_name="Анна Смирнова",
            username=None,
            code_id=accepted.code_id,
            contact_user_id=72_004,
            phone="+79005550002",
        )
        teacher = await load_actor(session, f.CLASS_TEACHER)
        (view,) = await linking.pending_requests(session, teacher)
        assert not view.own_account
        assert not view.same_name


async def test_self_guardianship_lists_the_child_once(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """Data left by the old bug (the student approved as their own parent): the child is
    listed once, as the student, and the account is no parent."""
    async with session_factory() as session:
        student = await session.get(Student, school.student_id)
        assert student is not None
        assert student.account_id is not None
        session.add(
            Guardianship(
                student_id=student.id, account_id=student.account_id, method=LinkMethod.APPROVED
            )
        )
        await session.commit()
        actor = await load_actor(session, f.STUDENT)
    assert [(c.student_id, c.via) for c in actor.children] == [(school.student_id, Role.STUDENT)]
    assert Role.PARENT not in actor.roles


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Пётр Иванов", "Иванов Пётр", True),
        ("пётр иванов", "Петр Иванов", True),
        ("Пётр Иванов", "Пётр Иванович Иванов", False),
        ("", "", False),
        ("Ирина Иванова", "Пётр Иванов", False),
    ],
)
def test_same_name(first: str, second: str, same: bool) -> None:
    assert linking.same_name(first, second) is same


# --- no phone kept from a contact that did not match ------------------------------------


async def _pending_request(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool, telegram_id: int
) -> int:
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    accepted = await _redeem(session_factory, telegram_id, "Незнакомец", code)
    assert isinstance(accepted, linking.LinkResult)
    assert accepted.code_id is not None
    async with session_factory() as session:
        result = await linking.submit_contact(
            session,
            telegram_id=telegram_id,
            full_name="Незнакомец",
            username=None,
            code_id=accepted.code_id,
            contact_user_id=telegram_id,
            phone="8 (900) 555-00-03",
        )
    assert result.outcome == linking.Outcome.PENDING
    assert result.request_id is not None
    return result.request_id


def _mentions(contents: dict[str, list[tuple[Any, ...]]], needle: str) -> list[str]:
    return [name for name, rows in contents.items() if needle in repr(rows)]


async def test_non_matching_phone_is_kept_only_for_the_request(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    request_id = await _pending_request(session_factory, school, 73_001)
    async with session_factory() as session:
        account = await session.scalar(select(Account).where(Account.telegram_id == 73_001))
        assert account is not None
        assert account.phone is None
    # while the class teacher decides: on the request and in the message to the teacher only
    contents = await table_contents(session_factory)
    assert sorted(_mentions(contents, "+79005550003")) == ["link_requests", "notification_outbox"]
    async with session_factory() as session:
        teacher = await load_actor(session, f.CLASS_TEACHER)
        view = await linking.decide(session, teacher, request_id, approve=False)
    assert view.phone is None
    assert _mentions(await table_contents(session_factory), "+79005550003") == []
    assert _mentions(await table_contents(session_factory), "9005550003") == []


async def test_matching_phone_is_stored_on_the_account(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    accepted = await _redeem(session_factory, 73_002, "Анна", code)
    assert isinstance(accepted, linking.LinkResult)
    assert accepted.code_id is not None
    async with session_factory() as session:
        result = await linking.submit_contact(
            session,
            telegram_id=73_002,
            full_name="Анна",
            username=None,
            code_id=accepted.code_id,
            contact_user_id=73_002,
            phone=f.MOM_PHONE,
        )
        assert result.outcome == linking.Outcome.CONFIRMED
        account = await session.scalar(select(Account).where(Account.telegram_id == 73_002))
        assert account is not None
        assert account.phone == f.MOM_PHONE


async def test_reused_code_while_pending_says_pending(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    accepted = await _redeem(session_factory, 73_003, "Незнакомец", code)
    assert isinstance(accepted, linking.LinkResult)
    async with session_factory() as session:
        await linking.submit_contact(
            session,
            telegram_id=73_003,
            full_name="Незнакомец",
            username=None,
            code_id=accepted.code_id or 0,
            contact_user_id=73_003,
            phone="+79005550004",
        )
    before = await table_contents(session_factory)
    again = await _redeem(session_factory, 73_003, "Незнакомец", code)
    assert isinstance(again, DomainError)
    assert again.key == "link.request_pending"
    assert await table_contents(session_factory) == before
    # someone else with the same (used) code still hears "already used"
    other = await _redeem(session_factory, 73_004, "Другой", code)
    assert isinstance(other, DomainError)
    assert other.key == "link.code_used"
    async with session_factory() as session:
        assert (await session.get(AccessCode, accepted.code_id)) is not None
        teacher = await load_actor(session, f.CLASS_TEACHER)
        (view,) = await linking.pending_requests(session, teacher)
        await linking.decide(session, teacher, view.id, approve=False)
        await session.commit()
    declined = await _redeem(session_factory, 73_003, "Незнакомец", code)
    assert isinstance(declined, DomainError)
    assert declined.key == "link.request_rejected"
