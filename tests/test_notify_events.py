"""Notification events: each names an existing template and a preference kind, dedup keys keep
the format of the rows already waiting, and a row whose event is unknown is cancelled, not
sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from bot.rendering import Renderer
from db.enums import AttendanceStatus, NotificationKind, OutboxStatus, TrustScope
from db.models import Account, OutboxMessage
from services.notify import DedupKey, NotificationEvent
from services.notify.events import COALESCED, FAMILY_SUMMARIES, GRADE_EVENTS
from services.notify.outbox import claim_due
from tests import factories as f


def test_every_event_names_an_existing_template() -> None:
    templates = set(Renderer(create_i18n("ru"), strict=True).template_names())
    assert {e.template for e in NotificationEvent} <= templates


def test_the_grade_events_make_one_message() -> None:
    assert {e.group for e in GRADE_EVENTS} == {NotificationEvent.GRADE}
    assert {e.template for e in GRADE_EVENTS} == {"notify/grade.html.j2"}
    assert all(e.group == e for e in COALESCED | FAMILY_SUMMARIES)
    assert NotificationEvent.LINK_REQUEST.group is None
    assert NotificationEvent.LINK_REQUEST.template == "linking/request_staff.html.j2"


def test_kinds_and_scopes_follow_from_the_event() -> None:
    assert {e.kind for e in GRADE_EVENTS} == {NotificationKind.GRADE}
    assert NotificationEvent.SUBMISSION_REVIEWED.kind == NotificationKind.HOMEWORK
    assert NotificationEvent.WEEKLY.kind == NotificationKind.DIGEST
    assert NotificationEvent.CODE_WAVE.kind == NotificationKind.SYSTEM
    assert {e.scope for e in GRADE_EVENTS} == {TrustScope.GRADES}
    assert NotificationEvent.ATTENDANCE.scope == TrustScope.ATTENDANCE
    assert NotificationEvent.COMMENT.scope is None  # trusted persons are never told
    assert all(isinstance(e.kind, NotificationKind) for e in NotificationEvent)


def test_dedup_keys_keep_their_stored_format() -> None:
    """Rows written before a change must still collide with the same event written after it."""
    day = date(2026, 12, 31)
    at = datetime(2026, 12, 31, 9, tzinfo=UTC)
    keys = {
        DedupKey.grade_new(5): "grade:5:new",
        DedupKey.grade_changed(5, 9): "grade:5:chg:9",
        DedupKey.grade_deleted(5): "grade:5:del",
        DedupKey.attendance(6, AttendanceStatus.LATE): "att:6:late",
        DedupKey.homework(7, 3): "hw:7:new:s3",
        DedupKey.submission_reviewed(8, 2): "sub:8:rev:2",
        DedupKey.comment(1): "comment:1",
        DedupKey.reply(2): "reply:2",
        DedupKey.digest(day): "digest:2026-12-31",
        DedupKey.weekly(day): "weekly:2026-12-31",
        DedupKey.homework_due(day, 3): "hwdue:2026-12-31:3",
        DedupKey.timetable(day, "abc"): "tt:2026-12-31:abc",
        DedupKey.period_summary(4): "period:4",
        DedupKey.link_request(1): "linkreq:1",
        DedupKey.link_decision(1): "linkdec:1",
        DedupKey.trusted_accepted(1): "trustacc:1",
        DedupKey.access_revoked(1, at): f"guardrev:1:{int(at.timestamp())}",
        DedupKey.trust_revoked(1): "trustrev:1",
        DedupKey.code_wave(12): "codewave:12",
    }
    assert [key.key for key in keys] == list(keys.values())
    assert DedupKey.grade_new(5).for_account(11) == "grade:5:new:11"
    assert DedupKey.grade_new(5).prefix == "grade:5:new:"


async def test_a_row_of_an_unknown_event_is_cancelled_not_sent(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A row written by a newer version (then rolled back) has no template to say it with."""
    now = datetime.now(UTC)
    async with session_factory() as session:
        account = Account(telegram_id=f.PARENT, full_name="Ирина")
        session.add(account)
        await session.flush()
        for event in ("grade", "renamed_since"):
            session.add(
                OutboxMessage(
                    account_id=account.id,
                    kind=NotificationKind.GRADE,
                    event=event,
                    dedup_key=f"test:{event}:{account.id}",
                    payload={},
                    created_at=now - timedelta(minutes=1),
                    not_before=now - timedelta(minutes=1),
                )
            )
        await session.commit()
        claimed = await claim_due(session, now=now)
        assert [row.event for row in claimed] == [NotificationEvent.GRADE]
        rows = {r.event: r for r in await session.scalars(select(OutboxMessage))}
    assert rows["renamed_since"].status == OutboxStatus.CANCELLED
    assert rows["renamed_since"].last_error == "unknown event 'renamed_since'"
    assert rows["grade"].status == OutboxStatus.PENDING
