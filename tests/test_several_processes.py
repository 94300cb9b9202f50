"""Several processes: three `parta run` in webhook mode on one PostgreSQL database and one
Redis, behind one fake Telegram, all started together on an empty database (their migrations
take turns under the lock).

* updates are spread over the three; some are delivered twice at once to two different
  processes (a retry racing the first try) and some again later to a third: each is answered
  exactly once (the ledger of update ids in Redis);
* a conversation begun on one process is finished on another (FSM state in Redis);
* a 150-message notification fan-out is shared by the three notifiers with nothing sent
  twice, and the scheduled jobs, run by each process, add each reminder once;
* each process stops cleanly on SIGTERM.

Runs once per suite (marked slow, PostgreSQL and Redis only).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from db.engine import create_engine, create_session_factory
from db.models import Student
from tests import factories as f
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN
from tests.test_crash import fan_out
from tests.test_lifecycle import (
    REDIS_URL,
    Telegram,
    free_port,
    fresh_pg_url,  # noqa: F401  (a fixture)
    replies,
    start_parta,
    stop_parta,
    update_of,
)

pytestmark = [pytest.mark.real_clock, pytest.mark.slow]

FAN_OUT = 150
USERS = 30
MOM = 8_300_001


@pytest.fixture
async def first_update_id() -> AsyncIterator[int]:
    """Update ids of this run's own (Redis remembers done ones for a day), and no FSM state
    left behind for the test's users."""
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # any failure to connect means "not available"
        await redis.aclose()
        message = f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires the Redis tests", pytrace=False)
        pytest.skip(message)
    first = 900_000_000 + secrets.randbelow(10**8) * 1000
    bot_id = BOT_TOKEN.split(":")[0]

    async def forget() -> None:
        keys = [k async for k in redis.scan_iter(match=f"fsm:{bot_id}:{MOM}:*")]
        keys += [
            k
            async for k in redis.scan_iter(match=f"parta:update:{bot_id}:*")
            if first <= int(k.rsplit(b":", 1)[1]) < first + 1000
        ]
        if keys:
            await redis.delete(*keys)

    await forget()
    try:
        yield first
    finally:
        await forget()
        await redis.aclose()


async def test_three_webhook_processes_on_postgresql_and_redis(
    tmp_path: Path,
    fresh_pg_url: str,  # noqa: F811
    first_update_id: int,
) -> None:
    async with (
        FakeTelegram(token=BOT_TOKEN, rate_limits=False, first_update_id=first_update_id) as fake,
        aiohttp.ClientSession() as http,
    ):
        ports = [free_port() for _ in range(3)]
        telegram = Telegram(http, ports)
        fake.deliver = telegram.deliver
        processes = [
            await start_parta(
                tmp_path,
                "run",
                DATABASE_URL=fresh_pg_url,
                REDIS_URL=REDIS_URL,
                TELEGRAM_API_URL=fake.base_url,
                WEBHOOK_PORT=str(port),
                NOTIFY_EVENING_TIME="00:00",  # the evening jobs find it evening at any hour
            )
            for port in ports
        ]
        engine = create_engine(fresh_pg_url)
        outputs: list[str] = []
        try:
            await fake.wait_for(lambda: len(fake.calls_to("setWebhook")) == 3, timeout=90)
            session_factory = create_session_factory(engine)
            for telegram_id in (f.ADMIN, f.HEAD, f.CLASS_TEACHER, f.TEACHER, f.STUDENT):
                fake.user(telegram_id, language_code="en")
            for telegram_id in (f.PARENT, f.TRUSTED, f.OTHER_PARENT):
                fake.user(telegram_id, language_code="en")
            notified = await fan_out(session_factory, fake, FAN_OUT)

            # updates spread over the three, a third of them delivered twice at once to two
            # processes, and later once more to the third
            users = [fake.user(8_200_000 + i, language_code="en") for i in range(USERS)]
            twice: list[tuple[int, dict[str, Any]]] = []
            for index, user in enumerate(users):
                update = update_of(fake, user, "/start")
                if index % 3 == 0:
                    twice.append((index, update))
                    await telegram.deliver_to(update, ports[index % 3])
                    await telegram.deliver_to(update, ports[(index + 1) % 3])
                else:
                    await telegram.deliver(update)
            await telegram.all_answered()
            for _, update in twice:  # both answered 200: one ran it, the other knew
                assert telegram.answered[update["update_id"]] == 2
            for index, update in twice:  # and again, later, to the third process
                assert await telegram.post(ports[(index + 2) % 3], update) == 200

            # a conversation begun on one process is finished on another
            async with session_factory() as session:
                maria = await session.scalar(
                    select(Student.id).where(Student.full_name == "Мария <Смирнова>")
                )
            assert maria is not None
            code = await f.parent_code(session_factory, maria, None)
            mom = fake.user(MOM, first_name="Анна", language_code="en")
            telegram.ports = [ports[0]]
            await mom.send(f"/start {code}")
            await telegram.all_answered()
            assert "share" in mom.last.text.lower()
            telegram.ports = [ports[1]]
            await mom.send_contact("8 (916) 123-45-67")
            await telegram.all_answered()
            assert "Мария &lt;Смирнова&gt;" in mom.last.html

            # the fan-out and the jobs' reminders go out, once each
            def homework_sent() -> int:
                calls = fake.calls_to("sendMessage")
                return sum(1 for c in calls if "New homework" in c["text"])

            await fake.wait_for(lambda: homework_sent() >= FAN_OUT, timeout=60)
            await fake.wait_for(
                lambda: replies_with(fake, f.STUDENT, "Homework for tomorrow"), timeout=60
            )
        finally:
            outputs = list(await asyncio.gather(*(stop_parta(p) for p in processes)))
            await engine.dispose()
        for process, output in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output
            assert "Traceback" not in output, output
        assert all(replies(fake, u.id) == 1 for u in users), "each update ran once"
        assert sorted(telegram.answered) == sorted(set(telegram.delivered))
        assert all(telegram.by_port[port] > 0 for port in ports), telegram.by_port
        homework = Counter(
            int(c["chat_id"]) for c in fake.calls_to("sendMessage") if "New homework" in c["text"]
        )
        assert set(homework) == set(notified)
        assert max(homework.values()) == 1, "no notification sent twice"
        assert replies_with(fake, f.STUDENT, "Homework for tomorrow") == 1
        sent = Counter((int(c["chat_id"]), c["text"]) for c in fake.calls_to("sendMessage"))
        assert max(sent.values()) == 1, "nothing said twice to anyone"
        assert fake.errors == []


def replies_with(fake: FakeTelegram, chat_id: int, text: str) -> int:
    return sum(
        1
        for call in fake.calls_to("sendMessage")
        if int(call["chat_id"]) == chat_id and text in call["text"]
    )
