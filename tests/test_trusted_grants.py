"""Editing a trusted person's grant: the parent may (audited), the trusted person may not, even
with a crafted button; on both databases, end to end and at the service."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import GrantCb, GrantOp
from db.enums import TrustScope
from db.models import Account, AuditEntry, TrustedAccess
from services.core.actors import load_actor
from services.core.audit import AuditAction
from services.people import linking
from services.people.school import EXPIRY_MONTH, EXPIRY_WEEK
from tests import factories as f
from tests.harness import App
from tests.refusals import raises_key
from tests.snapshot import assert_unchanged, changes, db_snapshot

TUTOR_BUTTON = "⚙️ Репетитор"


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _grant(app: App, grant_id: int) -> TrustedAccess:
    async with app.session_factory() as session:
        grant = await session.get(TrustedAccess, grant_id)
        assert grant is not None
        return grant


def _button(message: object, prefix: str) -> str:
    texts = message.button_texts()  # type: ignore[attr-defined]
    found = [t for t in texts if t.startswith(prefix)]
    assert found, texts
    return str(found[0])


async def test_parent_widens_a_grant_and_it_is_audited(app: App, school: f.SmallSchool) -> None:
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/access")
    await parent.press(text=_button(parent.last, TUTOR_BUTTON))
    assert "▫️ Attendance" in parent.last.button_texts()
    before = await db_snapshot(app.session_factory)
    await parent.press(text="▫️ Attendance")
    assert "✅ Attendance" in parent.last.button_texts()
    grant = await _grant(app, school.trusted_grant_id)
    assert grant.scopes == TrustScope.GRADES | TrustScope.HOMEWORK | TrustScope.ATTENDANCE
    after = await db_snapshot(app.session_factory)
    changed = changes(before, after)
    # exactly the grant's scopes and one audit entry, nothing else
    assert len(changed) == 2, changed
    assert changed[0].startswith("audit_log: added"), changed
    assert changed[1] == f"trusted_access (('id', {grant.id}),): scopes: 3 -> 7", changed
    async with app.session_factory() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == AuditAction.TRUSTED_UPDATE)
        )
        parent_id = await session.scalar(select(Account.id).where(Account.telegram_id == f.PARENT))
    assert entry is not None
    assert entry.actor_id == parent_id
    assert entry.entity_id == grant.id
    assert entry.old is not None
    assert entry.old["scopes"] == 3
    assert entry.new is not None
    assert entry.new["scopes"] == 7
    # and the expiry: "1 week" replaces the end of the year
    old_expiry = grant.expires_at
    await parent.press(text=_button(parent.last, "⏳ 1 week"))
    grant = await _grant(app, school.trusted_grant_id)
    assert grant.expires_at is not None
    assert old_expiry is not None
    assert grant.expires_at != old_expiry
    async with app.session_factory() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == AuditAction.TRUSTED_UPDATE)
                .order_by(AuditEntry.id)
            )
        )
    assert len(entries) == 2
    assert entries[1].new is not None
    assert datetime.fromisoformat(entries[1].new["expires_at"]) == grant.expires_at
    assert app.fake.errors == []


FORGED = [
    ("widen own scopes", GrantOp.SCOPES, 15),
    ("narrow own scopes", GrantOp.SCOPES, 1),
    ("extend own access by a week", GrantOp.EXPIRY, EXPIRY_WEEK),
    ("extend own access by a month", GrantOp.EXPIRY, EXPIRY_MONTH),
    ("open own grant's settings", GrantOp.OPEN, 0),
]


@pytest.mark.parametrize(("case", "op", "value"), FORGED, ids=[c[0] for c in FORGED])
async def test_tutor_cannot_edit_own_grant_with_a_crafted_button(
    app: App, school: f.SmallSchool, case: str, op: GrantOp, value: int
) -> None:
    tutor = app.user(f.TRUSTED, language_code="en")
    await tutor.send("/start")
    before = await db_snapshot(app.session_factory)
    await tutor.press(
        tutor.last, data=GrantCb(grant_id=school.trusted_grant_id, op=op, value=value).pack()
    )
    answer = tutor.callback_answers[-1]
    assert answer.get("show_alert") is True, case
    assert "don't have access" in answer["text"], case
    await assert_unchanged(app.session_factory, before, case)
    # the tutor's view is what the parent granted: no attendance
    await tutor.send("/attendance")
    assert "does not include attendance" in tutor.last.text
    assert app.fake.errors == []


async def test_update_grant_asks_the_policy_for_the_current_actor(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """The service itself refuses everyone but the child's parent (and changes nothing)."""
    before = await db_snapshot(session_factory)
    for telegram_id in (f.TRUSTED, f.STUDENT, f.OTHER_PARENT, f.TEACHER, f.CLASS_TEACHER, 777):
        async with session_factory() as session:
            actor = await load_actor(session, telegram_id)
            with raises_key("access.denied"):
                await linking.update_grant(session, actor, school.trusted_grant_id, scopes=15)
            await session.rollback()
    await assert_unchanged(session_factory, before)
    async with session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        await linking.update_grant(session, parent, school.trusted_grant_id, scopes=1)
    async with session_factory() as session:
        grant = await session.get(TrustedAccess, school.trusted_grant_id)
        assert grant is not None
        assert grant.scopes == 1
        audit = await session.scalar(select(AuditEntry.new).where(AuditEntry.entity_id == grant.id))
        assert audit is not None
        assert json.loads(json.dumps(audit))["scopes"] == 1
