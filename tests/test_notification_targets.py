"""Who hears about a student's event, and the outbox rows written for it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import TrustScope
from db.models import Account, OutboxMessage
from services.notify import DedupKey, NotificationEvent, family_recipients, notify_family
from tests import factories as f


async def _ids(session: AsyncSession, *telegram_ids: int) -> list[int]:
    rows = await session.scalars(select(Account.id).where(Account.telegram_id.in_(telegram_ids)))
    return sorted(rows)


async def test_recipients_follow_scopes(session_factory: async_sessionmaker[AsyncSession]) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        grades = await family_recipients(session, school.student_id, TrustScope.GRADES)
        assert grades == await _ids(session, f.PARENT, f.TRUSTED, f.STUDENT)
        attendance = await family_recipients(session, school.student_id, TrustScope.ATTENDANCE)
        assert attendance == await _ids(session, f.PARENT, f.STUDENT)
        other = await family_recipients(session, school.other_student_id, TrustScope.GRADES)
        assert other == await _ids(session, f.OTHER_PARENT)  # the invitation is not accepted


async def test_expired_trust_hears_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        later = utcnow() + timedelta(days=400)
        grades = await family_recipients(session, school.student_id, TrustScope.GRADES, now=later)
        assert grades == await _ids(session, f.PARENT, f.STUDENT)


async def test_notify_family_writes_one_row_per_recipient_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        for _ in range(2):  # the same event twice is deduplicated
            await notify_family(
                session,
                student_id=school.student_id,
                event=NotificationEvent.GRADE,
                payload={"grade_id": 1},
                dedup_key=DedupKey.grade_new(1),
                delay=timedelta(seconds=60),
            )
        await session.commit()
        rows = list(await session.scalars(select(OutboxMessage)))
        assert len(rows) == 3
        assert {r.event for r in rows} == {"grade"}
        assert {r.kind for r in rows} == {"grade"}
        assert all(r.payload == {"student_id": school.student_id, "grade_id": 1} for r in rows)
        assert all(r.not_before > utcnow() + timedelta(seconds=50) for r in rows)
