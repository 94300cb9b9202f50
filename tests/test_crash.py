"""Crash safety with real processes: a dispatcher (`python -m bot.notifier`) is killed with
SIGKILL in the middle of a 1,000-message fan-out against the fake Telegram running here, then
started again; every message arrives, and none twice beyond the documented at-least-once
window (the messages in flight when the process died: at most its concurrency). On PostgreSQL
two processes share one fan-out without sending anything twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Account, Guardianship, OutboxMessage, Student
from services.notify import DedupKey, NotificationEvent
from services.notify.outbox import NewRow, enqueue_rows
from tests import notify_world as w
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN

# the processes started here keep the real clock (tests/clock.py)
pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parent.parent
FAN_OUT = 1000
CONCURRENCY = 4
FIRST_CHAT = 7_000_000


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """Telegram as fast as the dispatcher cares to send (the limits are not under test)."""
    async with FakeTelegram(token=BOT_TOKEN, rate_limits=False) as server:
        yield server


async def fan_out(
    session_factory: async_sessionmaker[AsyncSession], fake: FakeTelegram, count: int
) -> list[int]:
    """New homework for a class of count/2 students: one outbox row to each student and one
    to each parent, as the journal writes them; returns the chats."""
    world = await w.make_world(session_factory)
    school = world.school
    homework_id = await w.homework(session_factory, world, "§ 12, № 1–5", notify=False)
    pairs = count // 2
    async with session_factory() as session:
        accounts = [
            Account(telegram_id=FIRST_CHAT + i, full_name=f"Account {i}", locale="en")
            for i in range(2 * pairs)
        ]
        session.add_all(accounts)
        await session.flush()
        pupils = [
            Student(school_id=school.school_id, full_name=f"Student {i}", account_id=accounts[i].id)
            for i in range(pairs)
        ]
        session.add_all(pupils)
        await session.flush()
        parents = accounts[pairs:]
        session.add_all(
            Guardianship(student_id=pupil.id, account_id=parent.id, method="demo")
            for pupil, parent in zip(pupils, parents, strict=True)
        )
        recipients = [(a, p) for a, p in zip(accounts[:pairs], pupils, strict=True)]
        recipients += [(a, p) for a, p in zip(parents, pupils, strict=True)]
        await enqueue_rows(
            session,
            [
                NewRow(
                    account.id,
                    NotificationEvent.HOMEWORK,
                    DedupKey.homework(homework_id, pupil.id),
                    {"student_id": pupil.id, "homework_id": homework_id},
                )
                for account, pupil in recipients
            ],
            now=utcnow() - timedelta(minutes=1),
        )
        await session.commit()
    chats = [FIRST_CHAT + i for i in range(2 * pairs)]
    for chat in chats:
        fake.user(chat, language_code="en")
    return chats


async def start_dispatcher(
    db_url: str, fake: FakeTelegram, *extra: str
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NOTIFY_QUIET_START": "00:00",  # the test must not depend on the hour it runs at
        "NOTIFY_QUIET_END": "00:00",
        "PYTHONPATH": str(ROOT),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.notifier",
        "--database-url",
        db_url,
        "--api-url",
        fake.base_url,
        "--token",
        BOT_TOKEN,
        "--rate",
        "300",
        "--per-chat",
        "0",
        "--concurrency",
        str(CONCURRENCY),
        "--batch",
        "50",
        "--claim-seconds",
        "3",
        "--poll",
        "0.2",
        *extra,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> dict[str, float]:
    """Wait for an --until-idle dispatcher; its totals (printed as JSON)."""
    async with asyncio.timeout(90):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-3000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def sent_to(fake: FakeTelegram) -> Counter[int]:
    return Counter(int(call["chat_id"]) for call in fake.calls_to("sendMessage"))


async def outbox_statuses(session_factory: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with session_factory() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return Counter({str(status): int(n) for status, n in rows})


async def third_sent(process: asyncio.subprocess.Process, fake: FakeTelegram) -> None:
    """Wait until the dispatcher `process` sent a third of the fan-out (it must not die)."""
    deadline = time.monotonic() + 60
    while len(fake.calls_to("sendMessage")) < FAN_OUT // 3:
        assert process.returncode is None, (await process.stderr.read()).decode()[-3000:]  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the dispatcher sent nothing"
        await asyncio.sleep(0.01)


async def test_kill_9_in_the_middle_of_a_fan_out_loses_nothing(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    chats = await fan_out(session_factory, fake, FAN_OUT)
    first = await start_dispatcher(db_url, fake)
    await third_sent(first, fake)
    first.kill()  # SIGKILL: no cleanup, claims and in-flight sends left as they are
    await first.wait()
    before = sum(sent_to(fake).values())
    assert FAN_OUT // 3 <= before < FAN_OUT, "killed in the middle"

    second = await start_dispatcher(db_url, fake, "--until-idle")
    totals = await finish(second)
    counts = sent_to(fake)
    assert set(counts) == set(chats), "every message delivered"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= CONCURRENCY, f"{duplicates} sent twice: more than were in flight"
    assert totals["sent_messages"] == FAN_OUT - before + duplicates
    assert await outbox_statuses(session_factory) == Counter({"sent": FAN_OUT})
    assert fake.errors == []
    text = fake.calls_to("sendMessage")[0]["text"]
    assert "New homework" in text
    assert "§ 12, № 1–5" in text


async def test_two_processes_share_a_fan_out_without_double_sends(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several sending processes need PostgreSQL (SKIP LOCKED)")
    chats = await fan_out(session_factory, fake, FAN_OUT)
    # a lease long enough that a loaded machine never lets it lapse mid-batch (what happens
    # then is the kill -9 test's): here only SKIP LOCKED keeps the two apart
    lease = ("--claim-seconds", "15")
    processes = [await start_dispatcher(db_url, fake, "--until-idle", *lease) for _ in range(2)]
    totals = await asyncio.gather(*(finish(p) for p in processes))
    counts = sent_to(fake)
    assert set(counts) == set(chats)
    assert max(counts.values()) == 1, "nothing sent twice"
    assert all(t["sent_messages"] > 0 for t in totals), f"both processes worked: {totals}"
    assert sum(t["sent_messages"] for t in totals) == FAN_OUT
    assert await outbox_statuses(session_factory) == Counter({"sent": FAN_OUT})


async def test_sigterm_in_the_middle_of_a_fan_out_stops_cleanly(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    """SIGTERM is a graceful stop: the process exits 0 soon, with every claim it held given
    back (the rest waits as pending, claimed by no one), and the next process sends the rest
    with nothing sent twice: unlike SIGKILL, there is no at-least-once window."""
    chats = await fan_out(session_factory, fake, FAN_OUT)
    first = await start_dispatcher(db_url, fake)
    await third_sent(first, fake)
    first.terminate()
    stopped = await finish(first)
    before = sum(sent_to(fake).values())
    assert FAN_OUT // 3 <= before < FAN_OUT, "stopped in the middle"
    assert stopped["sent_messages"] == before
    statuses = await outbox_statuses(session_factory)
    assert statuses == Counter({"sent": before, "pending": FAN_OUT - before})
    async with session_factory() as session:
        claimed = await session.scalar(
            select(func.count()).where(OutboxMessage.claimed_until.is_not(None))
        )
    assert claimed == 0, "every claim given back"

    totals = await finish(await start_dispatcher(db_url, fake, "--until-idle"))
    counts = sent_to(fake)
    assert set(counts) == set(chats), "every message delivered"
    assert max(counts.values()) == 1, "nothing sent twice"
    assert totals["sent_messages"] == FAN_OUT - before
    assert await outbox_statuses(session_factory) == Counter({"sent": FAN_OUT})
