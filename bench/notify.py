"""Notification benchmark: a fan-out through the real dispatcher against the strict fake Telegram.

    python bench/notify.py [--database-url URL] [--messages 10000] [--ceiling 30]

Builds a school of `messages / 2` students, each with one parent (the chats), gives every
student a grade and the class a homework — two outbox rows per chat, written as the journal
writes them — and starts the dispatcher as its own process (`python -m bot.notifier
--until-idle`, the production code and aiogram session) against the fake Bot API of the test
suite running here, with Telegram's limits enforced: `--ceiling` messages per second overall
(30 by default) and one per second per chat, both answered with 429 when exceeded.

Measured: the achieved rate between the first and the last send against the ceiling, 429s
received, duplicates and losses per dedup key (each chat must get exactly one grade message and
one homework message), and the dispatcher's CPU time per message (its process, start-up
excluded). Details go to stderr; the last line on stdout is

    notify: rate=<msg/s> ceiling=<msg/s> ratio=<r> sent=<n> lost=<n> dup=<n> r429=<n>

The database is SQLite in a temporary folder, or a fresh database created (and dropped
afterwards) on the PostgreSQL server of `--database-url` / `PARTA_BENCH_DATABASE_URL`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from bench_common import ROOT, add_database_url, execute_autocommit, log, sqlite_url
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.engine import create_engine, create_session_factory
from db.enums import GradeKind, LinkMethod
from db.migrate import upgrade
from db.models import (
    Account,
    Grade,
    Guardianship,
    Student,
)
from services.notify import DedupKey, NotificationEvent
from services.notify.outbox import NewRow, enqueue_rows
from tests import notify_world as w
from tests.fakes.telegram_api import FakeTelegram, JsonDict
from tests.harness import BOT_TOKEN

FIRST_CHAT = 800_000_000


class TimedTelegram(FakeTelegram):
    """The strict fake, noting when each message was accepted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepted: list[tuple[float, int, str]] = []

    async def _send_message(self, params: JsonDict) -> JsonDict:
        result = await super()._send_message(params)  # raises the 429s it answers
        self.accepted.append((time.monotonic(), int(params["chat_id"]), str(params["text"])))
        return result


async def seed(session_factory: async_sessionmaker[AsyncSession], chats: int) -> list[int]:
    """`chats` students with a parent each, a grade each and one homework for the class;
    two due outbox rows per parent. Returns the parents' Telegram ids."""
    world = await w.make_world(session_factory)
    school = world.school
    homework_id = await w.homework(session_factory, world, "§ 12, № 1–5", notify=False)
    lesson_id = await w.lesson(session_factory, world, w.T0.date())
    now = utcnow()
    async with session_factory() as session:
        await session.execute(
            insert(Account),
            [
                {"telegram_id": FIRST_CHAT + i, "full_name": f"Parent {i}", "locale": "en"}
                for i in range(chats)
            ],
        )
        found = await session.execute(
            select(Account.telegram_id, Account.id).where(Account.telegram_id >= FIRST_CHAT)
        )
        parents = dict(found.all())
        await session.execute(
            insert(Student),
            [
                {"school_id": school.school_id, "full_name": f"Student {i:05d}"}
                for i in range(chats)
            ],
        )
        students = list(
            await session.scalars(
                select(Student.id)
                .where(Student.full_name.startswith("Student "))
                .order_by(Student.id)
            )
        )
        await session.execute(
            insert(Guardianship),
            [
                {
                    "student_id": students[i],
                    "account_id": parents[FIRST_CHAT + i],
                    "method": LinkMethod.DEMO,
                }
                for i in range(chats)
            ],
        )
        await session.execute(
            insert(Grade),
            [
                {
                    "student_id": students[i],
                    "lesson_id": lesson_id,
                    "assignment_id": world.assignment_id,
                    "subject_id": world.subject_id,
                    "date": w.T0.date(),
                    "value": str(2 + i % 4),
                    "score": float(2 + i % 4),
                    "weight": 1.0,
                    "kind": GradeKind.ORAL,
                    "author_id": school.staff["teacher"],
                    "created_at": now,
                }
                for i in range(chats)
            ],
        )
        found = await session.execute(
            select(Grade.student_id, Grade.id).where(Grade.lesson_id == lesson_id)
        )
        grades = dict(found.all())
        rows: list[NewRow] = []
        for i in range(chats):
            account = parents[FIRST_CHAT + i]
            student = students[i]
            rows.append(
                NewRow(
                    account,
                    NotificationEvent.GRADE,
                    DedupKey.grade_new(grades[student]),
                    {"student_id": student, "grade_id": grades[student]},
                )
            )
            rows.append(
                NewRow(
                    account,
                    NotificationEvent.HOMEWORK,
                    DedupKey.homework(homework_id, student),
                    {"student_id": student, "homework_id": homework_id},
                )
            )
        await enqueue_rows(session, rows, now=now - timedelta(minutes=2))
        await session.commit()
    return [FIRST_CHAT + i for i in range(chats)]


async def run_dispatcher(
    url: str, fake: TimedTelegram, ceiling: float, expected: int
) -> dict[str, float]:
    env = {
        **os.environ,
        "NOTIFY_QUIET_START": "00:00",
        "NOTIFY_QUIET_END": "00:00",
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.notifier",
        "--database-url",
        url,
        "--api-url",
        fake.base_url,
        "--token",
        BOT_TOKEN,
        "--rate",
        str(ceiling),
        "--until-idle",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    reader = asyncio.create_task(process.communicate())
    last = -1
    while not reader.done():
        await asyncio.sleep(10)
        sent = len(fake.accepted)
        if sent != last:
            log(f"  {sent}/{expected} sent, {len(fake.errors)} errors")
            last = sent
    out, err = await reader
    if process.returncode != 0:
        raise SystemExit(f"dispatcher failed:\n{err.decode()[-4000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url(parser)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--ceiling", type=float, default=30.0)
    args = parser.parse_args()
    chats = max(1, args.messages // 2)
    expected = 2 * chats

    admin_url: str | None = None
    temp = None
    if args.database_url and make_url(args.database_url).get_backend_name() == "postgresql":
        admin_url = args.database_url
        name = f"parta_bench_notify_{secrets.token_hex(4)}"
        await execute_autocommit(admin_url, f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    elif args.database_url:
        url = args.database_url
    else:
        temp = tempfile.TemporaryDirectory(prefix="parta-bench-")
        url = sqlite_url(temp.name, "notify.sqlite3")
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            log(f"seeding {chats} chats × 2 notifications on {make_url(url).get_backend_name()}")
            chat_ids = await seed(create_session_factory(engine), chats)
        finally:
            await engine.dispose()
        fake = TimedTelegram(
            token=BOT_TOKEN,
            rate_limits=True,
            global_rate=round(args.ceiling),
            chat_rate=1.0,
            chat_burst=1,
        )
        await fake.start()
        try:
            for chat in chat_ids:
                fake.user(chat, language_code="en")
            log(f"dispatching {expected} notifications at a ceiling of {args.ceiling}/s")
            totals = await run_dispatcher(url, fake, args.ceiling, expected)
        finally:
            await fake.stop()
    finally:
        if admin_url is not None:
            await execute_autocommit(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if temp is not None:
            temp.cleanup()

    delivered: Counter[tuple[int, str]] = Counter()
    for _at, chat, message in fake.accepted:
        delivered[(chat, "grade" if message.startswith("📝") else "homework")] += 1
    r429 = sum(1 for e in fake.errors if e.error_code == 429)
    sent = len(fake.accepted)
    expected_keys = {(chat, kind) for chat in chat_ids for kind in ("grade", "homework")}
    lost = len(expected_keys - {key for key, n in delivered.items() if n})
    dup = sum(n - 1 for n in delivered.values() if n > 1)
    span = fake.accepted[-1][0] - fake.accepted[0][0] if sent > 1 else 0.0
    rate = (sent - 1) / span if span > 0 else 0.0
    cpu = totals["cpu_seconds"] - totals.get("cpu_startup_seconds", 0.0)
    log(
        f"sent {sent} in {span:.1f} s; other errors: "
        f"{[e for e in fake.errors if e.error_code != 429][:3]}"
    )
    log(
        f"dispatcher CPU {cpu:.2f} s after start-up ({1000 * cpu / max(1, sent):.2f} ms/message); "
        f"totals {totals}"
    )
    print(
        f"notify: rate={rate:.2f} ceiling={args.ceiling:g} ratio={rate / args.ceiling:.3f} "
        f"sent={sent} lost={lost} dup={dup} r429={r429}",
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main())
