"""The outbox dispatcher against the strict fake Telegram, on both databases: grace window,
coalescing, quiet hours, preferences, Telegram's errors, dead letters, bounded queries."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.enums import (
    AttendanceStatus,
    DeliveryMode,
    NotificationKind,
    OutboxStatus,
)
from db.models import Account, Attendance, Guardianship, NotificationPreference, OutboxMessage
from services.core.actors import load_actor
from services.notify import outbox
from services.notify.dispatcher import RateLimiter
from services.notify.preferences import PreferenceDefaults, set_mode, set_quiet, set_urgent
from tests import factories as f
from tests import notify_world as w
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import App

T0 = w.T0
DUE = T0 + timedelta(seconds=61)


@pytest.fixture
async def world(app: App) -> w.World:
    world = await w.make_world(app.session_factory)
    for telegram_id in (f.PARENT, f.TRUSTED, f.STUDENT, f.TEACHER, f.OTHER_PARENT, f.ADMIN):
        app.user(telegram_id, language_code="en")
    return world


def texts(app: App, telegram_id: int) -> list[str]:
    return app.user(telegram_id).texts()


async def statuses(app: App) -> dict[tuple[int, str], OutboxStatus]:
    rows = await w.outbox_rows(app.session_factory)
    return {(r.account_id, r.event): r.status for r in rows}


# --- what is sent, and when -------------------------------------------------------------------


async def test_new_grade_reaches_the_family_after_the_grace_window(
    app: App, world: w.World
) -> None:
    await w.grade(app.session_factory, world, value="4+", comment="<Молодец> & all")
    assert await app.deliver_notifications(T0 + timedelta(seconds=30)) == 0
    assert texts(app, f.PARENT) == []
    assert await app.deliver_notifications(DUE) == 3
    parent = app.user(f.PARENT).last
    assert parent is not None
    assert "Пётр Иванов" in parent.text
    assert "7B" in parent.text
    assert "Математика: 4+ — test ×2" in parent.text
    assert "<Молодец> & all" in parent.text
    assert parent.button_texts() == ["👀 Seen", "💬 Comment"]
    trusted = app.user(f.TRUSTED).last
    assert trusted is not None
    assert "4+" in trusted.text
    assert trusted.reply_markup is None, "only parents react"
    assert texts(app, f.STUDENT) == [], "a student hears of own grades only after opting in"
    rows = await statuses(app)
    assert rows[(world.accounts[f.PARENT], "grade")] == OutboxStatus.SENT
    assert rows[(world.accounts[f.STUDENT], "grade")] == OutboxStatus.CANCELLED
    assert await app.deliver_notifications(DUE + timedelta(minutes=5)) == 0
    assert len(texts(app, f.PARENT)) == 1
    assert app.fake.errors == []


async def test_a_grade_corrected_inside_the_window_is_sent_once_and_correct(
    app: App, world: w.World
) -> None:
    first = await w.grade(app.session_factory, world, value="3")
    await w.change_grade(
        app.session_factory, first, "5", at=T0 + timedelta(seconds=20), event=False
    )
    # the same with the event written anyway: it merges into the pending announcement
    second = await w.grade(app.session_factory, world, value="2")
    await w.change_grade(
        app.session_factory, second, "4", at=T0 + timedelta(seconds=30), reason="typo"
    )
    await app.deliver_notifications(DUE)
    assert len(texts(app, f.PARENT)) == 1
    text = texts(app, f.PARENT)[0]
    # the grades announced are the corrected ones; the 3 and the 2 never existed for the family
    assert sorted(re.findall(r"Математика: (\S+)", text)) == ["4", "5"]
    assert "→" not in text
    assert "typo" not in text
    changed = await w.outbox_rows(app.session_factory, OutboxMessage.dedup_key.contains(":chg:"))
    assert {r.status for r in changed} == {OutboxStatus.CANCELLED}


async def test_a_grade_deleted_inside_the_window_sends_nothing(app: App, world: w.World) -> None:
    quiet = await w.grade(app.session_factory, world, value="2")
    await w.delete_grade(app.session_factory, quiet, at=T0 + timedelta(seconds=10), announced=False)
    noisy = await w.grade(app.session_factory, world, value="3")
    await w.delete_grade(app.session_factory, noisy, at=T0 + timedelta(seconds=20), reason="x")
    await app.deliver_notifications(DUE + timedelta(minutes=1))
    assert texts(app, f.PARENT) == []
    assert texts(app, f.TRUSTED) == []
    rows = await w.outbox_rows(app.session_factory)
    assert rows
    assert {r.status for r in rows} == {OutboxStatus.CANCELLED}


async def test_changes_after_the_announcement_say_old_to_new_and_why(
    app: App, world: w.World
) -> None:
    grade_id = await w.grade(app.session_factory, world, value="3")
    await app.deliver_notifications(DUE)
    later = T0 + timedelta(minutes=10)
    await w.change_grade(app.session_factory, grade_id, "4", at=later, reason="пересдача <1>")
    await w.change_grade(
        app.session_factory, grade_id, "5", at=later + timedelta(seconds=5), reason="апелляция"
    )
    await app.deliver_notifications(later + timedelta(seconds=10))
    text = texts(app, f.PARENT)[-1]
    assert "grade changed 3 → 5" in text
    assert "Reason: апелляция" in text
    assert len(texts(app, f.PARENT)) == 2
    await w.delete_grade(
        app.session_factory, grade_id, at=later + timedelta(minutes=1), reason="ошибка"
    )
    await app.deliver_notifications(later + timedelta(minutes=2))
    assert "grade 5 removed" in texts(app, f.PARENT)[-1]
    assert "Reason: ошибка" in texts(app, f.PARENT)[-1]
    assert app.user(f.PARENT).last.reply_markup is None  # type: ignore[union-attr]


async def test_grades_of_several_children_coalesce_into_one_message(
    app: App, world: w.World
) -> None:
    async with app.session_factory() as session:
        session.add(
            Guardianship(
                student_id=world.school.other_student_id,
                account_id=world.accounts[f.PARENT],
                method="demo",
            )
        )
        await session.commit()
    await w.grade(app.session_factory, world, value="5")
    await w.grade(app.session_factory, world, value="4", at=T0 + timedelta(seconds=30))
    await w.grade(
        app.session_factory,
        world,
        value="3",
        at=T0 + timedelta(seconds=50),
        student_id=world.school.other_student_id,
    )
    # the first is due, but the family is still being graded: it waits for the others
    await app.deliver_notifications(DUE)
    assert texts(app, f.PARENT) == []
    await app.deliver_notifications(T0 + timedelta(seconds=111))
    assert len(texts(app, f.PARENT)) == 1
    message = app.user(f.PARENT).last
    assert message is not None
    assert "Пётр Иванов" in message.text
    assert "Олег Петров" in message.text
    assert message.text.index("Олег Петров") < message.text.index("Пётр Иванов")
    assert message.button_texts() == [  # in the order of the text: children by name
        "👀 Математика 3",
        "💬 Математика 3",
        "👀 Математика 5",
        "💬 Математика 5",
        "👀 Математика 4",
        "💬 Математика 4",
    ]
    assert len(texts(app, f.OTHER_PARENT)) == 1
    assert {r.status for r in await w.outbox_rows(app.session_factory)} <= {
        OutboxStatus.SENT,
        OutboxStatus.CANCELLED,
    }


async def test_quiet_hours_defer_until_morning_except_urgent_kinds(
    app: App, world: w.World
) -> None:
    evening = datetime.combine(T0.date(), time(19), tzinfo=UTC)  # 22:00 in Moscow
    async with app.session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        await set_quiet(session, parent, 0)  # 21:00–08:00
        await set_urgent(session, parent, NotificationKind.ATTENDANCE, True, PreferenceDefaults())
    await w.grade(app.session_factory, world, at=evening)
    await w.attendance(app.session_factory, world, AttendanceStatus.ABSENT, at=evening)
    await app.deliver_notifications(evening + timedelta(seconds=61))
    assert len(texts(app, f.PARENT)) == 1
    assert "Absent from lesson" in texts(app, f.PARENT)[0]
    morning = datetime.combine(T0.date() + timedelta(days=1), time(5), tzinfo=UTC)  # 08:00
    grade_row = next(
        r
        for r in await w.outbox_rows(app.session_factory)
        if r.account_id == world.accounts[f.PARENT] and r.event == "grade"
    )
    assert grade_row.status == OutboxStatus.PENDING
    assert grade_row.not_before == morning
    await app.deliver_notifications(morning - timedelta(seconds=1))
    assert len(texts(app, f.PARENT)) == 1
    await app.deliver_notifications(morning)
    assert len(texts(app, f.PARENT)) == 2
    assert "Математика: 5" in texts(app, f.PARENT)[1]


async def test_preferences_off_digest_and_the_students_opt_in(app: App, world: w.World) -> None:
    async with app.session_factory() as session:
        defaults = PreferenceDefaults()
        parent = await load_actor(session, f.PARENT)
        student = await load_actor(session, f.STUDENT)
        trusted = await load_actor(session, f.TRUSTED)
        await set_mode(session, parent, NotificationKind.GRADE, DeliveryMode.DIGEST, defaults)
        await set_mode(session, trusted, NotificationKind.GRADE, DeliveryMode.OFF, defaults)
        await set_mode(session, student, NotificationKind.GRADE, DeliveryMode.INSTANT, defaults)
        stored = await session.scalar(
            select(NotificationPreference.mode).where(
                NotificationPreference.account_id == world.accounts[f.PARENT],
                NotificationPreference.kind == NotificationKind.DIGEST,
            )
        )
        assert stored == DeliveryMode.INSTANT, "only-in-the-digest turns the digest on"
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(DUE)
    assert texts(app, f.PARENT) == []
    assert texts(app, f.TRUSTED) == []
    assert len(texts(app, f.STUDENT)) == 1
    reasons = {r.account_id: r.last_error for r in await w.outbox_rows(app.session_factory)}
    assert reasons[world.accounts[f.PARENT]] == "preference: digest"
    assert reasons[world.accounts[f.TRUSTED]] == "preference: off"


async def test_homework_and_attendance_say_everything(app: App, world: w.World) -> None:
    await w.homework(app.session_factory, world, "№ 12–15 <стр. 40> & повторить")
    late = await w.attendance(app.session_factory, world, AttendanceStatus.LATE, minutes_late=7)
    fixed = await w.attendance(app.session_factory, world, AttendanceStatus.ABSENT)
    async with app.session_factory() as session:
        await session.execute(
            update(Attendance).where(Attendance.id == fixed).values(status=AttendanceStatus.PRESENT)
        )
        await session.commit()
    await app.deliver_notifications(DUE)
    parent = texts(app, f.PARENT)
    homework = next(t for t in parent if "New homework" in t)
    assert "№ 12–15 <стр. 40> & повторить" in homework
    assert "Математика" in homework
    absence = next(t for t in parent if "Late for lesson" in t)
    assert "7 minutes" in absence
    assert "Absent" not in absence
    assert any("New homework" in t for t in texts(app, f.STUDENT)), "students get homework"
    assert not any("Late" in t for t in texts(app, f.TRUSTED)), "no attendance scope"
    del late


async def test_a_held_grade_waits_for_its_release_day(app: App, world: w.World) -> None:
    release = T0.date() + timedelta(days=3)
    await w.grade(app.session_factory, world, hidden_until=release)
    await app.deliver_notifications(DUE)
    assert texts(app, f.PARENT) == []
    row = next(
        r for r in await w.outbox_rows(app.session_factory)
        if r.account_id == world.accounts[f.PARENT]
    )  # fmt: skip
    midnight = datetime.combine(release, time(0), tzinfo=UTC) - timedelta(hours=3)
    assert row.not_before == midnight
    await app.deliver_notifications(midnight + timedelta(seconds=1))
    assert len(texts(app, f.PARENT)) == 1


async def test_a_revoked_guardian_hears_nothing(app: App, world: w.World) -> None:
    await w.grade(app.session_factory, world)
    async with app.session_factory() as session:
        await session.execute(
            update(Guardianship)
            .where(Guardianship.id == world.school.parent_guardianship_id)
            .values(revoked_at=T0)
        )
        await session.commit()
    await app.deliver_notifications(DUE)
    assert texts(app, f.PARENT) == []
    assert len(texts(app, f.TRUSTED)) == 1


# --- Telegram's answers -------------------------------------------------------------------------


async def test_429_waits_as_telegram_says(app: App, world: w.World) -> None:
    app.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(DUE)
    failed = [
        r for r in await w.outbox_rows(app.session_factory) if r.status == OutboxStatus.PENDING
    ]
    assert len(failed) == 1
    assert failed[0].not_before == DUE + timedelta(seconds=7)
    assert failed[0].attempts == 0
    assert "retry after" in (failed[0].last_error or "")
    await app.deliver_notifications(DUE + timedelta(seconds=8))
    assert len(texts(app, f.PARENT)) == 1
    assert len(texts(app, f.TRUSTED)) == 1
    assert app.notifier.dispatcher.totals.retry_after == 1


@pytest.mark.allow_telegram_errors("api")  # the blocked parent's 403
async def test_403_deactivates_the_recipient_until_they_return(app: App, world: w.World) -> None:
    app.fake.block(f.PARENT)
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(DUE)
    async with app.session_factory() as session:
        active = await session.scalar(
            select(Account.is_active).where(Account.telegram_id == f.PARENT)
        )
    assert active is False
    await w.grade(app.session_factory, world, value="4", at=T0 + timedelta(minutes=5))
    await app.deliver_notifications(T0 + timedelta(minutes=7))
    assert len(texts(app, f.TRUSTED)) == 2
    assert texts(app, f.PARENT) == []
    assert [e.error_code for e in app.fake.errors] == [403]
    await app.user(f.PARENT).send("/start")  # coming back unblocks and reactivates
    await app.deliver_notifications(T0 + timedelta(minutes=8))
    grades = [t for t in texts(app, f.PARENT) if "Математика" in t]
    assert len(grades) == 1
    assert "5" in grades[0]
    assert "4" in grades[0]
    assert [e.error_code for e in app.fake.errors] == [403], "nothing failed after the return"


async def test_other_4xx_are_dead_letters_admins_see_and_retry(app: App, world: w.World) -> None:
    app.fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(DUE)
    dead = [r for r in await w.outbox_rows(app.session_factory) if r.status == OutboxStatus.DEAD]
    assert len(dead) == 1
    assert dead[0].last_error == "Bad Request: chat not found"
    admin = app.user(f.ADMIN, language_code="en")
    await admin.send("/settings")
    assert admin.last is not None
    assert "1 notification could not be delivered" in admin.last.text
    await admin.press(admin.last, text="📮 Undelivered: 1")
    assert "chat not found" in admin.last.text
    await admin.press(admin.last, text="🔁 Send them again")
    assert "1 notification will be sent again" in admin.callback_answers[-1]["text"]
    await app.deliver_notifications()
    assert len(texts(app, f.PARENT)) + len(texts(app, f.TRUSTED)) == 2
    parent = await load_parent_settings(app)
    assert "could not be delivered" not in parent
    assert app.fake.errors == []


async def load_parent_settings(app: App) -> str:
    parent = app.user(f.PARENT)
    await parent.send("/settings")
    assert parent.last is not None
    return parent.last.text or ""


async def test_network_errors_back_off_then_become_dead_letters(app: App, world: w.World) -> None:
    await w.grade(app.session_factory, world)
    async with app.session_factory() as session:  # only the parent's row
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.account_id != world.accounts[f.PARENT])
            .values(status=OutboxStatus.CANCELLED)
        )
        await session.commit()
    now = DUE
    waits = []
    for _ in range(app.notifier.dispatcher.config.max_attempts):
        app.fake.fail_next("sendMessage", 502, "Bad Gateway")
        await app.deliver_notifications(now)
        (row,) = [
            r
            for r in await w.outbox_rows(app.session_factory)
            if r.account_id == world.accounts[f.PARENT]
        ]
        if row.status == OutboxStatus.DEAD:
            break
        waits.append(int((row.not_before - now).total_seconds()))
        now = row.not_before
    assert waits == [4, 8, 16, 32, 64, 128, 256]
    assert row.status == OutboxStatus.DEAD
    assert row.attempts == 8
    assert texts(app, f.PARENT) == []


# --- the machinery ------------------------------------------------------------------------------


async def test_a_batch_costs_a_fixed_number_of_queries(app: App, world: w.World) -> None:
    engine: AsyncEngine = app.session_factory.kw["bind"]
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    async def round_of(grades: int, start: datetime) -> int:
        for i in range(grades):
            await w.grade(app.session_factory, world, at=start + timedelta(seconds=i % 3))
        await w.homework(app.session_factory, world, "x", at=start)
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await app.deliver_notifications(start + timedelta(minutes=5))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len([s for s in statements if "sent_at" not in s])

    small = await round_of(2, T0)
    large = await round_of(10, T0 + timedelta(hours=1))
    assert small == large, (small, large)
    assert large <= 30


async def test_old_rows_expire_instead_of_arriving_late(app: App, world: w.World) -> None:
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(T0 + timedelta(days=8))
    assert texts(app, f.PARENT) == []
    assert {r.last_error for r in await w.outbox_rows(app.session_factory)} == {"expired"}


# --- the rate limiter on virtual time -----------------------------------------------------------


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_a_claim_that_took_most_of_its_lease_sends_nothing(
    app: App, world: w.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is counted from the claim, not from its answer: a claim that came back late
    (a loaded database) gives its rows back rather than send what another process may have
    claimed since; the next round sends them, once."""
    dispatcher = app.notifier.dispatcher
    dispatcher.config = dataclasses.replace(dispatcher.config, claim_seconds=1.0)
    claim_due = outbox.claim_due

    async def slow_claim(*args: Any, **kwargs: Any) -> Any:
        rows = await claim_due(*args, **kwargs)
        await asyncio.sleep(0.9)  # past 80 % of the lease
        return rows

    await w.grade(app.session_factory, world)
    monkeypatch.setattr(outbox, "claim_due", slow_claim)
    stats = await dispatcher.run_batch(DUE)
    assert stats.claimed > 0
    assert stats.sent == 0
    assert texts(app, f.PARENT) == []
    monkeypatch.setattr(outbox, "claim_due", claim_due)
    assert await app.deliver_notifications(DUE) > 0
    assert len(texts(app, f.PARENT)) == 1


async def test_rate_limiter_holds_the_ceiling_and_one_per_second_per_chat() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(30, 1.0, clock=clock, sleep=clock.sleep)
    sent: list[tuple[float, int]] = []
    for i in range(300):
        chat = i % 100
        await limiter.acquire(chat)
        sent.append((clock.now, chat))
    duration = sent[-1][0] - sent[0][0]
    assert duration == pytest.approx(299 / 30)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1 / 30 - 1e-9
    by_chat: dict[int, list[float]] = {}
    for at, chat in sent:
        by_chat.setdefault(chat, []).append(at)
    assert (
        min(b - a for times in by_chat.values() for a, b in itertools.pairwise(times)) >= 1.0 - 1e-9
    )


async def test_rate_limiter_waits_after_a_429_and_for_a_busy_chat() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(1000, 1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire(1)
    limiter.pause(5)
    start = clock.now
    await limiter.acquire(2)
    assert clock.now - start == pytest.approx(5)
    await limiter.acquire(1)  # its chat slot passed during the pause
    assert clock.now - start == pytest.approx(5.001)
    await limiter.acquire(1)
    assert clock.now - start == pytest.approx(6.001)
    clock.now += 0.4  # the answer took 0.4 s: the next slot counts from the answer
    limiter.done(1)
    assert limiter.chat_delay(1) == pytest.approx(1.0)
    await limiter.acquire(1)
    assert clock.now - start == pytest.approx(7.401)


async def test_paid_broadcasts_lift_the_ceiling(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    paid = await App.start(fake_telegram, db_url, session_factory, notify_paid_broadcast=True)
    try:
        assert paid.notifier.dispatcher.config.rate == 1000
        world = await w.make_world(session_factory)
        paid.user(f.PARENT, language_code="en")
        paid.user(f.TRUSTED, language_code="en")
        await w.grade(session_factory, world)
        await paid.deliver_notifications(DUE)
        calls = fake_telegram.calls_to("sendMessage")
        assert calls
        assert all(call.get("allow_paid_broadcast") is True for call in calls)
    finally:
        await paid.stop()
