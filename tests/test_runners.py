"""Waiting for Telegram: which calls are repeated through an outage, and how long apart; the
polling window's bookkeeping of what it took."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.delivery import Outcome
from bot.runners import Backoff, PollWindow, WaitForTelegram, WebhookHandler
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN


@pytest.fixture
async def patient_bot(fake_telegram: FakeTelegram) -> AsyncIterator[tuple[Bot, list[float]]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url))
    session.middleware(WaitForTelegram(sleep=sleep))
    bot = Bot(BOT_TOKEN, session=session)
    yield bot, slept
    await bot.session.close()


async def test_start_up_calls_wait_with_exponential_backoff(
    patient_bot: tuple[Bot, list[float]],
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, slept = patient_bot
    caplog.set_level(logging.INFO, logger="parta.telegram")
    fake_telegram.break_next("getMe", times=4)
    fake_telegram.fail_next("getUpdates", 502, "Bad Gateway")
    me = await bot.get_me()
    assert me.username == "parta_test_bot"
    assert await bot.get_updates(timeout=0) == []
    assert slept == pytest.approx([1, 2, 4, 8, 1], rel=0.11)  # with ±10% jitter
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "unreachable" in line]) == 5, lines
    assert "reachable again after 4 attempts" in lines[4]
    assert fake_telegram.errors == []


async def test_a_handlers_calls_are_not_repeated(
    patient_bot: tuple[Bot, list[float]], fake_telegram: FakeTelegram
) -> None:
    bot, slept = patient_bot
    fake_telegram.user(5001)
    fake_telegram.break_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(5001, "hello")
    fake_telegram.break_next("setMyCommands")
    menu = [BotCommand(command="start", description="Start")]
    with pytest.raises(TelegramNetworkError):  # one chat's menu: a handler's call
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id=5001))
    fake_telegram.break_next("setMyCommands")
    assert await bot.set_my_commands(menu, scope=BotCommandScopeAllPrivateChats())
    assert slept == pytest.approx([1], rel=0.11)


def test_backoff_is_capped() -> None:
    backoff = Backoff(first=1, maximum=60)
    delays = [backoff.delay(n) for n in range(1, 12)]
    assert all(0.9 * min(60, 2 ** (n - 1)) <= d <= 1.1 * min(60, 2 ** (n - 1))
               for n, d in enumerate(delays, start=1))  # fmt: skip
    assert max(delays) <= 66


async def _settled(window: PollWindow) -> None:
    await asyncio.gather(*window.running.values())
    await asyncio.sleep(0)  # the done callbacks


async def test_the_poll_window_confirms_up_to_the_oldest_update_not_handled() -> None:
    release = asyncio.Event()

    async def run(update: Update) -> Outcome:
        if update.update_id == 10:
            await release.wait()
        return Outcome.HANDLED

    window = PollWindow(run)
    window.take([Update(update_id=10), Update(update_id=11)], None)
    await asyncio.sleep(0.01)
    assert window.offset == 10
    assert list(window.running) == [10]
    assert window.room(batch=4) == 2
    window.take([Update(update_id=10), Update(update_id=11), Update(update_id=12)], 10)
    assert list(window.running) == [10, 12], "11 was handled: not run again"
    release.set()
    await _settled(window)
    assert window.offset == 13


async def test_the_poll_window_forgets_an_update_telegram_no_longer_has() -> None:
    async def busy(update: Update) -> Outcome:
        return Outcome.BUSY

    window = PollWindow(busy)
    window.take([Update(update_id=10)], None)
    await _settled(window)
    assert window.offset == 10, "not taken: kept to be tried again"
    assert window.next_retry is not None
    window.take([Update(update_id=10)], 10)  # back, but its pause is not over: waits
    assert window.offset == 10
    assert not window.running
    window.take([], 10)  # from 10 on Telegram has nothing: it is gone, do not wait for it
    assert window.offset == 11
    assert window.next_retry is None


class _Feeder:
    """What the webhook handler needs of an `UpdateFeeder`: the updates it was given."""

    accepting = True

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.fed: list[int] = []

    async def feed(self, update: Update) -> Outcome:
        self.fed.append(update.update_id)
        return Outcome.HANDLED


async def test_the_webhook_refuses_what_is_not_an_update_with_a_plain_answer() -> None:
    """Without the secret or with a wrong one 401; a body too big 413; anything that is not an
    update 400, JSON nested deeper than Python's parser goes included (it used to escape as a
    RecursionError: a 500 and a traceback, which Telegram would deliver again and again);
    only the real update is fed."""
    bot = Bot(BOT_TOKEN)
    feeder = _Feeder(bot)
    app = web.Application()
    app.router.add_post("/hook", WebhookHandler(feeder, "s3cret").handle)
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    deep = b'{"update_id": 1, "message": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001
    cases: list[tuple[bytes, dict[str, str], int]] = [
        (b'{"update_id": 1}', {}, 401),
        (b'{"update_id": 1}', {"X-Telegram-Bot-Api-Secret-Token": "s3cres"}, 401),
        (b"{not json", secret, 400),
        (b"[1, 2]", secret, 400),
        (b"[" * 100_000 + b"]" * 100_000, secret, 400),
        (deep, secret, 400),
        (b'{"update_id": 1, "x": "\xff"}', secret, 400),
        (b'{"update_id": 1, "x": "' + b"a" * 2 * 1024 * 1024 + b'"}', secret, 413),
        (b'{"update_id": 7}', secret, 200),
    ]
    try:
        async with TestClient(TestServer(app)) as client:
            statuses = []
            for body, headers, _ in cases:
                response = await client.post("/hook", data=body, headers=headers)
                statuses.append(response.status)
    finally:
        await bot.session.close()
    assert statuses == [status for _, _, status in cases]
    assert feeder.fed == [7]
