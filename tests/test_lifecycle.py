"""No update lost, none run twice, and a clean stop (bot/delivery.py, bot/runners.py).

* the ledger of update ids, in memory and on Redis: a redelivered update runs once, one still
  running elsewhere is waited for, one cut off by a shutdown is given back;
* long polling confirms a batch's offset only after its updates were handled: a poller that
  dies in the middle of a batch leaves it unconfirmed, a stopped one confirms what it did;
* the real `parta run` in webhook mode gets SIGTERM in the middle of a burst of updates and a
  notification fan-out: it finishes what it started, answers the rest 503, gives the
  notifications it had claimed back and exits 0; a second process takes over, and every
  update was answered exactly once, every notification sent exactly once;
* three `parta db upgrade` started together on a fresh database all succeed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.types import Update
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import Claim, MemoryLedger, Outcome, RedisLedger, UpdateFeeder
from bot.runners import StopSignal, poll
from db.engine import create_engine
from db.enums import OutboxStatus
from db.migrate import head_revision
from db.models import OutboxMessage
from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.harness import BOT_TOKEN, CODE_SECRET, App
from tests.test_crash import fan_out, outbox_statuses

# the processes started here keep the real clock (tests/clock.py)
pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parent.parent
PARTA = [sys.executable, "-m", "bot"]
REDIS_URL = os.environ.get("PARTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "lifecycle-secret"


def update_of(fake: FakeTelegram, user: FakeUser, text: str) -> dict[str, Any]:
    """A message update as Telegram would deliver it (not yet delivered)."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    message = user.add_message(False, sender=user.as_user(), text=text, entities=entities)
    fake._next_update_id += 1
    return {"update_id": fake._next_update_id - 1, "message": fake.message_dict(message)}


def replies(fake: FakeTelegram, chat_id: int) -> int:
    return sum(1 for call in fake.calls_to("sendMessage") if int(call["chat_id"]) == chat_id)


# --- the ledger and the feeder, in this process ------------------------------------------------


async def test_memory_ledger_claims_each_update_once() -> None:
    now = [0.0]
    ledger = MemoryLedger(done_ttl=10, clock=lambda: now[0])
    assert await ledger.claim(1) is Claim.NEW
    assert await ledger.claim(1) is Claim.BUSY
    await ledger.release(1)  # cut off: the redelivery runs it
    assert await ledger.claim(1) is Claim.NEW
    await ledger.finish(1)
    assert await ledger.claim(1) is Claim.DONE
    now[0] = 11
    await ledger.finish(2)  # forgetting happens as others finish
    assert await ledger.claim(1) is Claim.NEW


@pytest.fixture
async def redis_ledgers() -> AsyncIterator[list[RedisLedger]]:
    """Two processes' ledgers on the real Redis, under a bot id of this test's own."""
    bot_id = secrets.randbelow(10**9) + 10**9
    ledgers = [RedisLedger.from_url(REDIS_URL, bot_id, lease=0.5) for _ in range(2)]
    try:
        await ledgers[0].redis.ping()
    except Exception as exc:  # any failure to connect means "not available"
        for ledger in ledgers:
            await ledger.close()
        message = f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires the Redis tests", pytrace=False)
        pytest.skip(message)
    try:
        yield ledgers
    finally:
        keys = [k async for k in ledgers[0].redis.scan_iter(match=f"parta:update:{bot_id}:*")]
        if keys:
            await ledgers[0].redis.delete(*keys)
        for ledger in ledgers:
            await ledger.close()


async def test_redis_ledger_is_shared_and_claims_lapse(redis_ledgers: list[RedisLedger]) -> None:
    one, other = redis_ledgers
    assert await one.claim(7) is Claim.NEW
    assert await other.claim(7) is Claim.BUSY
    await other.release(7)  # not its claim: nothing happens
    assert await other.claim(7) is Claim.BUSY
    await one.finish(7)
    assert await other.claim(7) is Claim.DONE
    assert await one.redis.ttl(one.key(7)) > 3600  # remembered for a day

    assert await one.claim(8) is Claim.NEW
    await one.release(8)
    assert await other.claim(8) is Claim.NEW  # given back: the other process runs it

    assert await one.claim(9) is Claim.NEW  # its process dies: the lease (0.5 s) lapses
    await asyncio.sleep(0.3)
    await one.renew([9])  # ... unless renewed while it runs
    await asyncio.sleep(0.3)
    assert await other.claim(9) is Claim.BUSY
    await asyncio.sleep(0.6)
    assert await other.claim(9) is Claim.NEW


async def test_a_redelivered_update_runs_once(app: App, fake_telegram: FakeTelegram) -> None:
    feeder = UpdateFeeder(app.dp, app.bot, MemoryLedger())
    user = fake_telegram.user(4343, language_code="en")
    update = Update.model_validate(update_of(fake_telegram, user, "/start"))
    # delivered twice at once (a webhook retry racing the first try), then once more later
    outcomes = await asyncio.gather(feeder.feed(update), feeder.feed(update))
    assert sorted(o.value for o in outcomes) == ["duplicate", "handled"]
    assert await feeder.feed(update) is Outcome.DUPLICATE
    assert replies(fake_telegram, 4343) == 1
    assert feeder.in_flight == 0


async def test_an_update_cut_off_by_a_shutdown_is_given_back(
    app: App, fake_telegram: FakeTelegram
) -> None:
    ledger = MemoryLedger()
    feeder = UpdateFeeder(app.dp, app.bot, ledger)
    user = fake_telegram.user(4344, language_code="en")
    update = Update.model_validate(update_of(fake_telegram, user, "/start"))
    fake_telegram.latency = 5.0  # the answer takes longer than the shutdown waits
    running = asyncio.create_task(feeder.feed(update))
    await fake_telegram.wait_for(lambda: feeder.in_flight == 1)
    assert await feeder.drain(timeout=0.2) == 1
    assert await running is Outcome.CUT_OFF
    assert not Outcome.CUT_OFF.answered  # the webhook answers 503: Telegram sends it again
    assert await ledger.claim(update.update_id) is Claim.NEW  # ... and then it runs
    assert await feeder.feed(update) is Outcome.CUT_OFF  # not by this one, which stopped
    fake_telegram.latency = 0


# --- long polling: the offset follows what was handled -----------------------------------------


async def test_polling_confirms_a_batch_only_once_it_was_handled(
    app: App, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    fake.deliver = fake.enqueue  # getUpdates, not the harness's direct feed
    users = [fake.user(4400 + i, language_code="en") for i in range(6)]
    for user in users:
        await user.send("/start")
    fake.latency = 0.5  # every answer takes a while

    # a poller that dies in the middle of its batch (a crash) confirmed nothing
    dying = UpdateFeeder(app.dp, app.bot, MemoryLedger())
    crashed = asyncio.create_task(poll(app.bot, dying, StopSignal(), ["message"]))
    await fake.wait_for(lambda: fake.calls_to("sendMessage"), timeout=10)
    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert len(fake.pending_updates) == 6, "nothing confirmed while the batch was running"
    await dying.drain(timeout=30)  # (in this process its updates still ran to the end)

    # the next one gets the batch again; stopped in the middle, it finishes and confirms
    fake.latency = 0.3
    fake.reset_records()
    feeder = UpdateFeeder(app.dp, app.bot, MemoryLedger())
    stop = StopSignal()
    poller = asyncio.create_task(poll(app.bot, feeder, stop, ["message"]))
    await fake.wait_for(lambda: feeder.in_flight == 6, timeout=10)
    stop.receive(signal.SIGTERM)
    assert await feeder.drain(timeout=30) == 0
    await asyncio.wait_for(poller, 10)
    assert fake.pending_updates == [], "the handled batch was confirmed before stopping"
    assert all(replies(fake, u.id) == 1 for u in users)
    fake.latency = 0


class CountingFeeder(UpdateFeeder):
    """The app's feeder (memory ledger) that counts how often each update comes to it, and
    lets a subclass act on an update first (`before`: an outcome instead of running it)."""

    def __init__(self, app: App) -> None:
        super().__init__(app.dp, app.bot, MemoryLedger())
        self.fed: Counter[int] = Counter()

    async def before(self, update: Update) -> Outcome | None:
        return None

    async def feed(self, update: Update) -> Outcome:
        self.fed[update.update_id] += 1
        return await self.before(update) or await super().feed(update)


class HeldFeeder(CountingFeeder):
    """Holds the updates of one chat until `release` is set."""

    def __init__(self, app: App, chat_id: int) -> None:
        super().__init__(app)
        self.chat_id = chat_id
        self.release = asyncio.Event()

    async def before(self, update: Update) -> Outcome | None:
        if update.message is not None and update.message.chat.id == self.chat_id:
            await self.release.wait()
        return None


async def test_a_slow_update_holds_back_its_confirmation_not_the_updates_behind_it(
    app: App, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    fake.deliver = fake.enqueue
    slow, quick = fake.user(4500, language_code="en"), fake.user(4501, language_code="en")
    feeder = HeldFeeder(app, slow.id)
    stop = StopSignal()
    poller = asyncio.create_task(poll(app.bot, feeder, stop, ["message"]))
    await slow.send("/start")
    await fake.wait_for(lambda: feeder.fed, timeout=10)  # taken, and held
    for _ in range(3):  # later fetches, each an update of its own behind the held one
        await quick.send("/help")
        await fake.wait_for(lambda: replies(fake, quick.id) == 1, timeout=10)
        fake.reset_records()
    assert replies(fake, slow.id) == 0
    held = min(u["update_id"] for u in fake.pending_updates)
    assert len(fake.pending_updates) == 4, "nothing confirmed past the held update"
    assert all(count == 1 for count in feeder.fed.values()), "each update run once"
    feeder.release.set()
    await fake.wait_for(lambda: replies(fake, slow.id) == 1, timeout=10)
    await fake.wait_for(lambda: not fake.pending_updates, timeout=10)  # confirmed once handled
    stop.receive(signal.SIGTERM)
    await feeder.drain(timeout=10)
    await asyncio.wait_for(poller, 10)
    assert feeder.fed[held] == 1
    assert sum(feeder.fed.values()) == 4


class BusyOnceFeeder(CountingFeeder):
    """Its ledger is busy the first time each update comes."""

    async def before(self, update: Update) -> Outcome | None:
        return Outcome.BUSY if self.fed[update.update_id] == 1 else None


async def test_an_update_not_taken_is_fetched_and_tried_again_after_a_pause(
    app: App, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    fake.deliver = fake.enqueue
    user = fake.user(4510, language_code="en")
    feeder = BusyOnceFeeder(app)
    stop = StopSignal()
    poller = asyncio.create_task(poll(app.bot, feeder, stop, ["message"]))
    await user.send("/start")
    await fake.wait_for(lambda: replies(fake, user.id) == 1, timeout=10)
    await fake.wait_for(lambda: not fake.pending_updates, timeout=10)
    assert list(feeder.fed.values()) == [2]  # not taken, then taken once
    # the pause before trying again is waited out, not spent fetching the same update
    assert len(fake.calls_to("getUpdates")) <= 6
    stop.receive(signal.SIGTERM)
    await asyncio.wait_for(poller, 10)


# --- the real process: SIGTERM in the middle of a burst ----------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parta_env(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "CODE_", "WEBHOOK_", "REDIS_", "NOTIFY_"))
    }
    env.update(
        BOT_TOKEN=BOT_TOKEN,
        CODE_SECRET=CODE_SECRET,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_URL="https://parta.example.org/hook",
        NOTIFY_QUIET_START="00:00",  # not on the hour the test runs at
        NOTIFY_QUIET_END="00:00",
        NOTIFY_RATE="100",
        SHUTDOWN_TIMEOUT="30",  # generous: a slow machine must not cut anything off
        PYTHONPATH=str(ROOT),
    )
    env.update(values)
    return env


async def start_parta(cwd: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *PARTA,
        *args,
        cwd=cwd,
        env=parta_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


class Telegram:
    """Telegram's side of a webhook: each update POSTed again and again (to whichever server
    is up, round robin) until one answers 200."""

    def __init__(self, http: aiohttp.ClientSession, ports: list[int]) -> None:
        self.http = http
        self.ports = ports
        self.deliveries: list[asyncio.Task[None]] = []
        self.delivered: list[int] = []
        self.answered: Counter[int] = Counter()
        self.statuses: Counter[int] = Counter()
        self.by_port: Counter[int] = Counter()  # 200 answers per server
        self._turn = 0

    async def deliver(self, update: dict[str, Any]) -> None:
        self.delivered.append(update["update_id"])
        self.deliveries.append(asyncio.create_task(self._until_answered(update)))

    async def post(self, port: int, update: dict[str, Any]) -> int:
        url = f"http://127.0.0.1:{port}/hook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with self.http.post(url, json=update, headers=headers) as response:
                self.statuses[response.status] += 1
                if response.status == 200:
                    self.by_port[port] += 1
                return response.status
        except aiohttp.ClientError:
            self.statuses[0] += 1  # refused: nobody listens
            return 0

    async def deliver_to(self, update: dict[str, Any], port: int) -> None:
        """Deliver an update to this server only (a retry racing the first try elsewhere)."""
        self.delivered.append(update["update_id"])
        self.deliveries.append(asyncio.create_task(self._until_answered(update, port)))

    async def _until_answered(self, update: dict[str, Any], port: int | None = None) -> None:
        while True:
            self._turn += 1
            target = port or self.ports[self._turn % len(self.ports)]
            if await self.post(target, update) == 200:
                self.answered[update["update_id"]] += 1
                return
            await asyncio.sleep(0.1)

    async def all_answered(self, timeout: float = 90) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self.deliveries)


async def stop_parta(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await finish_parta(process)


async def finish_parta(process: asyncio.subprocess.Process) -> str:
    """Everything the process printed, once it exited."""
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
    return out.decode()


BURST = 40
FAN_OUT = 120


@pytest.mark.slow  # two real processes, one after the other, on each backend
async def test_sigterm_in_the_middle_of_a_burst(
    tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with (
        FakeTelegram(token=BOT_TOKEN, rate_limits=False) as fake,
        aiohttp.ClientSession() as http,
    ):
        notified = await fan_out(session_factory, fake, FAN_OUT)
        port = free_port()
        telegram = Telegram(http, [port])
        fake.deliver = telegram.deliver
        fake.latency = 0.3  # every answer takes a while: work is in flight at the signal
        first = await start_parta(
            tmp_path, "run", DATABASE_URL=db_url, TELEGRAM_API_URL=fake.base_url,
            WEBHOOK_PORT=str(port),
        )  # fmt: skip
        second: asyncio.subprocess.Process | None = None
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=60)
            users = [fake.user(8_100_000 + i, language_code="en") for i in range(BURST)]
            for user in users[: BURST // 2]:
                await user.send("/start")
            await fake.wait_for(lambda: telegram.answered, timeout=30)
            await fake.wait_for(lambda: fake.calls_to("sendMessage"), timeout=30)
            first.send_signal(signal.SIGTERM)  # mid-burst, mid-fan-out
            for user in users[BURST // 2 :]:
                await user.send("/start")
            output = await finish_parta(first)
            assert first.returncode == 0, output
            assert "Traceback" not in output, output
            assert "updates in flight" in output, "the signal came while updates ran"
            assert "stopped" in output
            async with session_factory() as session:
                claimed = await session.scalar(
                    select(func.count()).where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.claimed_until.is_not(None),
                    )
                )
            assert claimed == 0, "claimed notifications were given back"
            unsent = (await outbox_statuses(session_factory))["pending"]
            assert unsent > 0, "stopped in the middle of the fan-out"
            assert len(telegram.answered) < BURST

            second = await start_parta(
                tmp_path, "run", DATABASE_URL=db_url, TELEGRAM_API_URL=fake.base_url,
                WEBHOOK_PORT=str(port),
            )  # fmt: skip
            await telegram.all_answered()
            await fake.wait_for(
                lambda: (
                    sum(1 for c in fake.calls_to("sendMessage") if "New homework" in c["text"])
                    >= FAN_OUT
                ),
                timeout=60,
            )
        finally:
            if first.returncode is None:
                first.kill()
            rest = await stop_parta(second) if second is not None else ""
        assert second is not None
        assert second.returncode == 0, rest
        assert "Traceback" not in rest, rest
        assert sorted(telegram.answered) == sorted(telegram.delivered)
        assert max(telegram.answered.values()) == 1
        assert all(replies(fake, u.id) == 1 for u in users), "each update ran once"
        homework = Counter(
            int(c["chat_id"]) for c in fake.calls_to("sendMessage") if "New homework" in c["text"]
        )
        assert set(homework) == set(notified)
        assert max(homework.values()) == 1, "no notification sent twice"
        assert await outbox_statuses(session_factory) == Counter({"sent": FAN_OUT})
        assert telegram.statuses[503] + telegram.statuses[0] > 0, "some came again later"


@pytest.mark.slow  # a real process
async def test_sigterm_while_polling(tmp_path: Path) -> None:
    async with FakeTelegram(token=BOT_TOKEN, rate_limits=False) as fake:
        fake.latency = 0.3
        process = await start_parta(
            tmp_path, "run", DATABASE_URL=f"sqlite:///{tmp_path}/polling.sqlite3",
            TELEGRAM_API_URL=fake.base_url, WEBHOOK_URL="",
        )  # fmt: skip
        signalled = False
        try:
            await fake.wait_for(lambda: fake.calls_to("getUpdates"), timeout=90)
            users = [fake.user(8_400_000 + i, language_code="en") for i in range(12)]
            for user in users:
                await user.send("/start")
            await fake.wait_for(lambda: fake.calls_to("sendMessage"), timeout=30)
            process.send_signal(signal.SIGTERM)  # the batch is running
            signalled = True
        finally:
            # one signal only: a second one means "stop without waiting" (an impatient
            # operator), which is not what this test asks for
            output = await (finish_parta(process) if signalled else stop_parta(process))
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
        assert "updates in flight" in output
        assert all(replies(fake, u.id) <= 1 for u in users), "nothing answered twice"
        answered = {u.id for u in users if replies(fake, u.id) == 1}
        assert answered, "the signal came while a batch ran"
        # the batch fetched before the signal was finished and its offset confirmed; the
        # updates it did not hold (on a loaded machine the first getUpdates may return before
        # all twelve are queued) stay with Telegram for the next start, not lost
        waiting = {int(u["message"]["chat"]["id"]) for u in fake.pending_updates}
        assert waiting == {u.id for u in users} - answered


# --- migrations started together --------------------------------------------------------------


@pytest.fixture
def fresh_pg_url() -> Any:
    """An empty PostgreSQL database of this test's own."""
    from tests.conftest import _pg_available

    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable ({problem})", pytrace=False)
        pytest.skip(f"PostgreSQL is not reachable ({problem})")
    name = f"parta_upgrade_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _upgrade_together(tmp_path: Path, url: str) -> None:
    processes = [await start_parta(tmp_path, "db", "upgrade", DATABASE_URL=url) for _ in range(3)]
    outputs = [await finish_parta(p) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert all("database is up to date" in out for out in outputs), outputs
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            rows = await connection.scalar(text("SELECT count(*) FROM alembic_version"))
    finally:
        await engine.dispose()
    assert (revision, rows) == (head_revision(), 1)


@pytest.mark.real_clock
async def test_three_upgrades_at_once_on_postgresql(tmp_path: Path, fresh_pg_url: str) -> None:
    await _upgrade_together(tmp_path, fresh_pg_url)


@pytest.mark.real_clock
async def test_three_upgrades_at_once_on_sqlite(tmp_path: Path) -> None:
    await _upgrade_together(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3")
