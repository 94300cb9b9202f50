"""Linking services: request views in a bounded number of queries, phone normalization."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Account, LinkRequest
from services.core.actors import load_actor
from services.people.linking import normalize_phone, pending_requests
from tests import factories as f


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_pending_requests_cost_the_same_however_many(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    school = await f.make_small_school(session_factory)
    costs = []
    async with session_factory() as session:
        admin = await load_actor(session, f.ADMIN)
        for batch in (1, 6):
            for i in range(batch):
                account = Account(telegram_id=80_000 + batch * 10 + i, full_name=f"Родитель {i}")
                session.add(account)
                await session.flush()
                session.add(
                    LinkRequest(
                        student_id=school.unlinked_student_id,
                        account_id=account.id,
                        phone="+79000000000",
                    )
                )
            await session.commit()
            with counting(engine) as statements:
                views = await pending_requests(session, admin)
            costs.append(len(statements))
            assert all(v.class_name == "7B" for v in views)
            assert all(v.student_name == "Мария <Смирнова>" for v in views)
        assert len(views) == 7
        teacher = await load_actor(session, f.CLASS_TEACHER)
        assert len(await pending_requests(session, teacher)) == 7
        other = await load_actor(session, f.TEACHER)
        assert await pending_requests(session, other) == []
    assert costs[0] == costs[1] <= 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("79161234567", "+79161234567"),
        ("8 (916) 123-45-67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12", None),
        ("phone", None),
        ("+7 916 123 45 67 89 00 11", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected
