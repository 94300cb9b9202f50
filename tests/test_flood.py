"""Telegram's 429s, for real: the fake Bot API answers "Too Many Requests" when a chat's budget
is spent, and the production pacing must honour it. Everything runs on the fake's virtual clock
(no real sleeping): the notifier's own `RateLimiter` (production rate and per-chat interval) and
the bot session's `FloodWaitMiddleware` sleep by moving that clock."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramRetryAfter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import LinkMethod, OutboxStatus
from db.models import Account, Guardianship
from services.notify.dispatcher import RateLimiter
from tests import factories as f
from tests import notify_world as w
from tests.fakes.telegram_api import ApiCall, FakeTelegram
from tests.harness import BOT_TOKEN, App

DUE = w.T0 + timedelta(seconds=61)
BURST = 5  # the fake's per-chat burst (FakeTelegram(chat_burst=5), as Telegram tolerates)


@pytest.fixture
async def frozen_fake() -> AsyncIterator[FakeTelegram]:
    """A fake whose clock moves only when someone sleeps (or a test advances it); users
    answer without think time, so nothing refills a chat's budget behind the test's back."""
    async with FakeTelegram(
        token=BOT_TOKEN, bot_username="parta_test_bot", frozen_clock=True, think_time=0
    ) as fake:
        yield fake


@pytest.fixture
async def paced_app(
    frozen_fake: FakeTelegram, db_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[App]:
    """The production Bot and Dispatcher with the production rate limiter, on virtual time.
    One sending worker, so the order of sends (and so of the 429s) is deterministic."""
    app = await App.start(
        frozen_fake,
        db_url,
        session_factory,
        virtual_time=True,
        production_limiter=True,
        notify_concurrency=1,
    )
    yield app
    await app.stop()


async def _spend_chat_budget(app: App, chat_id: int) -> None:
    """The bot has just sent this chat a burst (a long answer in several parts): its budget
    at the fake Bot API is spent. Sent on the notifier's bare session, which never waits."""
    for part in range(BURST):
        await app.notifier.bot.send_message(chat_id, f"part {part + 1}")


def _sends(fake: FakeTelegram, chat_id: int | None = None) -> list[ApiCall]:
    return [
        c
        for c in fake.calls
        if c.method == "sendMessage" and (chat_id is None or c.params.get("chat_id") == chat_id)
    ]


@pytest.mark.allow_telegram_errors("api")  # the 429 is provoked on purpose
async def test_notifier_honours_retry_after_of_a_real_429(paced_app: App) -> None:
    app, fake = paced_app, paced_app.fake
    limiter = app.notifier.limiter
    assert isinstance(limiter, RateLimiter)
    assert limiter.per_second == app.notifier.dispatcher.config.rate  # the production limiter
    assert limiter.per_chat_interval > 1.0
    world = await w.make_world(app.session_factory)
    for chat in (f.PARENT, f.TRUSTED):
        app.user(chat, language_code="en")
        await _spend_chat_budget(app, chat)
    await w.grade(app.session_factory, world)
    started = time.monotonic()

    await app.deliver_notifications(DUE)
    floods = [e for e in fake.errors if e.error_code == 429]
    assert len(floods) == 1, "after one 429 nothing else goes out until its pause is over"
    sends = _sends(fake)
    flood_call = next(c for c in sends if c.params is floods[0].params)
    retry_after = 1  # what the fake computed: one message per second per chat
    assert floods[0].description == f"Too Many Requests: retry after {retry_after}"
    later = sends[sends.index(flood_call) + 1 :]
    assert later, "the other recipient's message went out in the same round"
    assert all(c.at >= flood_call.at + retry_after for c in later)
    assert limiter.waited >= retry_after
    rows = {r.account_id: r for r in await w.outbox_rows(app.session_factory)}
    flooded = world.accounts[floods[0].params["chat_id"]]
    assert rows[flooded].status == OutboxStatus.PENDING
    assert rows[flooded].not_before == DUE + timedelta(seconds=retry_after)
    assert rows[flooded].attempts == 0, "a 429 is not a failed attempt"

    await app.deliver_notifications(DUE + timedelta(seconds=retry_after))
    assert [e.error_code for e in fake.errors] == [429], "the retry waited long enough"
    for chat in (f.PARENT, f.TRUSTED):
        grades = [m for m in app.user(chat).texts() if "Математика" in m]
        assert len(grades) == 1, chat
    assert {r.status for r in await w.outbox_rows(app.session_factory)} == {
        OutboxStatus.SENT,
        OutboxStatus.CANCELLED,  # the student's (not opted in)
    }
    assert time.monotonic() - started < retry_after, "virtual time: nothing really slept"


@pytest.mark.allow_telegram_errors("api")  # the 429 is provoked on purpose
async def test_bot_session_waits_out_a_real_429_and_repeats_the_answer(paced_app: App) -> None:
    app, fake = paced_app, paced_app.fake
    await f.make_small_school(app.session_factory)
    parent = app.user(f.PARENT, language_code="en")
    await _spend_chat_budget(app, f.PARENT)
    before = len(parent.messages)
    clock = fake.now()
    started = time.monotonic()
    await parent.send("/help")
    floods = [e for e in fake.errors if e.error_code == 429]
    assert len(floods) == 1
    assert len(parent.messages) == before + 1, "the answer, once"
    assert parent.last is not None
    assert "/language" in parent.last.text, "the answer to /help"
    answer = _sends(fake, f.PARENT)[-1]
    assert answer.at >= clock + 1, "repeated after the retry_after Telegram gave"
    assert time.monotonic() - started < 1, "virtual time: nothing really slept"
    assert fake.unanswered_callbacks() == []


@pytest.mark.allow_telegram_errors("api")  # the 429s are provoked on purpose
async def test_bot_session_gives_up_on_a_long_flood_wait(frozen_fake: FakeTelegram) -> None:
    """A retry_after beyond FloodWaitMiddleware's patience reaches the caller (who decides),
    and so does a 429 that persists through every attempt."""
    from bot.config import Settings
    from bot.factory import create_bot
    from tests.harness import virtual_sleep

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=BOT_TOKEN,
        telegram_api_url=frozen_fake.base_url,
    )
    bot = create_bot(settings, clock=frozen_fake.now, sleep=virtual_sleep(frozen_fake))
    frozen_fake.user(f.PARENT)
    try:
        frozen_fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 60", 60)
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(f.PARENT, "x")
        for _ in range(3):
            frozen_fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", 2)
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(f.PARENT, "y")
        assert len(frozen_fake.calls_to("sendMessage")) == 1 + 3
        assert await bot.send_message(f.PARENT, "z")
    finally:
        await bot.session.close()


async def test_production_limiter_keeps_a_fan_out_under_telegrams_limits(paced_app: App) -> None:
    """42 families hear of one grade at once: the production limiter spaces the sends so the
    fake's global limit (30 a second) never answers 429; the no-op limiter of the other
    end-to-end tests would hit it at the 31st message."""
    app, fake = paced_app, paced_app.fake
    world = await w.make_world(app.session_factory)
    for telegram_id in (f.PARENT, f.TRUSTED):
        app.user(telegram_id, language_code="en")
    extra = [7000 + i for i in range(40)]
    async with app.session_factory() as session:
        for telegram_id in extra:
            account = Account(telegram_id=telegram_id, full_name=f"Родитель {telegram_id}")
            session.add(account)
            await session.flush()
            session.add(
                Guardianship(
                    student_id=world.student, account_id=account.id, method=LinkMethod.DEMO
                )
            )
            app.user(telegram_id, language_code="en")
        await session.commit()
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(DUE)
    sends = _sends(fake)
    assert len(sends) == len(extra) + 2  # and the parent and the tutor
    assert fake.error_log == []
    rate = app.notifier.limiter.per_second
    assert rate <= fake.global_rate
    assert sends[-1].at - sends[0].at >= (len(sends) - 1) / rate - 1e-6
