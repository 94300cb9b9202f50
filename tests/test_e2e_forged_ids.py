"""Forged integers in callback data end to end, on both databases: every int field of every
callback-data factory, set to 2**31, 2**63 or a negative number and pressed by a teacher, a
parent and an admin, is answered with the "out of date" alert; nothing is written, no apology
is sent, no ERROR is logged and the fake Telegram saw no API error."""

from __future__ import annotations

import enum
import hashlib
import logging
import typing
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base
from tests import factories as f
from tests.harness import App
from tests.test_callbacks import _factories, _int_fields

STALE = "This button is out of date. Send /start to get a fresh screen."


def _small(annotation: Any) -> Any:
    """A legitimate small value of a field (the day 0 is "today")."""
    args = typing.get_args(annotation)
    if args:
        return _small(next(a for a in args if a is not type(None)))
    if annotation is bool:
        return False
    if annotation is int:
        return 0
    assert isinstance(annotation, type)
    assert issubclass(annotation, enum.Enum)
    return next(iter(annotation))


def forged_presses() -> list[tuple[str, str]]:
    presses = []
    for factory in sorted(_factories(), key=lambda c: c.__prefix__):
        hints = typing.get_type_hints(factory)
        names = list(factory.model_fields)
        for name in _int_fields(factory):
            for value in (2**31, 2**63, -5):
                values = {n: _small(hints[n]) for n in names}
                parts = factory(**values).pack().split(factory.__separator__)
                parts[1 + names.index(name)] = str(value)
                presses.append((f"{factory.__name__}.{name}={value}", ":".join(parts)))
    return presses


async def _tables(session_factory: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    digests: dict[str, str] = {}
    async with session_factory() as session, session.bind.connect() as conn:  # type: ignore[union-attr]
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            text = "\n".join(sorted(repr(tuple(row)) for row in rows))
            digests[table.name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


async def test_forged_integers_in_every_factory_are_stale_buttons(
    app: App,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await f.make_small_school(session_factory)
    presses = forged_presses()
    assert len(presses) > 150
    users = [app.user(tid, language_code="en") for tid in (f.TEACHER, f.PARENT, f.ADMIN)]
    for user in users:
        await user.send("/start")
    before = await _tables(session_factory)
    sent_before = {user.id: len(user.messages) for user in users}
    caplog.set_level(logging.INFO)
    for user in users:
        for label, data in presses:
            await user.press(user.last, data=data)
            answer = user.callback_answers[-1]
            assert (answer.get("text"), answer.get("show_alert")) == (STALE, True), label
    assert {user.id: len(user.messages) for user in users} == sent_before  # no apology
    assert await _tables(session_factory) == before
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert app.fake.errors == []
    assert app.fake.unanswered_callbacks() == []
