"""Updates per second under a burst: a bare aiogram echo bot and Parta, same fake Telegram.

    python bench/throughput.py [--backends sqlite,postgresql] [--users 300] [--per-user 5]
                               [--students 300] [--weeks 4] [--pg-admin-url URL]

For each database, in a process of its own: the strict fake Bot API (tests/fakes, its rate
limits off) runs in a child process, so its work is not counted against the bot; the bot
process long-polls it: the echo bot with aiogram's `start_polling`, Parta exactly as in
production (`bot.runners.poll`, which confirms a batch only once it was handled, with the batch
size `parta run` uses, and the production dispatcher). First a bare aiogram echo bot answers every
message with its text; then Parta, on the demo school (`seed_demo`, `--students` students,
`--weeks` weeks of lessons) plus `--users` parent accounts linked to its students
(`tests/crowd.py`), answers `/today` with the day view. Each bot gets a small warm-up, then
two bursts enqueued at once: one message from each user, then `--per-user` from each user.
Latency is from the update being queued at the fake to the bot's answer arriving there;
throughput is updates over the burst's wall time. Then grade entry: every teacher of the
school gets an account (`tests.crowd.link_teachers`), opens /journal, and all of them at once
tap `--per-user` grades each into their latest lesson, one student after another; a tap is
answered when its callback query is, and each must have written its grade
(`throughput[<db>, grades]: teachers=… per_teacher=… grade_taps=<upd/s> ratio=… p95_ms=…
written=… errors=…`). Errors are Bot API errors, unanswered updates, taps that wrote nothing
and ERROR log lines of the bot. Peak RSS is the bot process's. The last line is

    throughput: echo=<upd/s> day_view=<upd/s> ratio=<r> p95_ms=<ms> rss_mb=<mb> errors=<n>

for the database with the lowest ratio (each database's own line comes before), taken on the
burst of one `/today` per user; the figures of the burst of several per user follow them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from bench_common import execute_autocommit, percentile, sqlite_url
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.journal import JGradeCb
from bot.config import Settings
from bot.delivery import MemoryLedger, UpdateFeeder
from bot.factory import create_bot, create_dispatcher
from bot.runners import POLLING_BACKLOG, StopSignal, poll
from db.engine import create_engine, create_session_factory
from db.enums import GradeKind
from db.migrate import upgrade
from db.models import Grade
from services.demo import seed_demo
from tests.crowd import TeacherAtWork, link_crowd, link_teachers
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:BENCH-token"
CODE_SECRET = "bench-only-code-secret-0123456789abcdef"
WARM_UP_USERS = 20
#: the grade a teacher taps: the first button of the scale's keyboard (every scale has one)
GRADE_BUTTON = 0
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


# --- the fake Telegram, a process of its own ----------------------------------------------------


async def serve_fake() -> None:
    """Line protocol on stdin/stdout: prints {"url"}; then per line {"burst": ...} or quit."""
    # a burst: everybody at once (no think time on the virtual clock between two taps)
    fake = FakeTelegram(
        token=TOKEN, bot_username="parta_bench_bot", rate_limits=False, think_time=0.0
    )
    await fake.start()
    answered: dict[int, list[float]] = defaultdict(list)
    name, send = fake._methods["sendmessage"]

    async def timed_send(params: dict[str, Any]) -> Any:
        result = await send(params)
        answered[int(params["chat_id"])].append(time.monotonic())
        return result

    fake._methods["sendmessage"] = (name, timed_send)
    answer_name, answer = fake._methods["answercallbackquery"]

    async def timed_answer(params: dict[str, Any]) -> Any:
        query = fake._callbacks.get(str(params.get("callback_query_id", "")))
        result = await answer(params)
        if query is not None:
            answered[query.user.id].append(time.monotonic())
        return result

    fake._methods["answercallbackquery"] = (answer_name, timed_answer)

    async def everything_answered(expected: int) -> None:
        while sum(len(v) for v in answered.values()) < expected:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # counts what the server records

    print(json.dumps({"url": fake.base_url}), flush=True)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if "burst" not in command:
            break
        spec = command["burst"]
        answered.clear()
        fake.reset_records()
        fake.error_log.clear()
        queued: dict[int, list[float]] = defaultdict(list)
        users = [fake.user(i, language_code="en") for i in spec["users"]]
        presses: list[list[str]] = spec.get("presses") or []
        if not presses:  # a press goes to the message the user got before: kept then
            for user in users:
                user.history.clear()
        started = time.monotonic()
        for round_ in range(spec["per_user"]):
            for index, user in enumerate(users):
                queued[user.id].append(time.monotonic())
                if presses:
                    await user.press(data=presses[index][round_])
                else:
                    await user.send(spec["text"])
        expected = len(users) * spec["per_user"]
        deadline = started + spec["timeout"]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything_answered(expected), deadline - time.monotonic())
        answers = [t for v in answered.values() for t in v]
        latencies = [
            (answer - sent) * 1000
            for chat, sent_times in queued.items()
            for sent, answer in zip(sent_times, sorted(answered.get(chat, [])), strict=False)
        ]
        result = {
            "sent": expected,
            "answered": min(expected, len(answers)),
            "wall": (max(answers) - started) if answers else spec["timeout"],
            "latencies": latencies,
            "api_errors": len(fake.error_log),
        }
        print(json.dumps(result), flush=True)
    await fake.stop()


class FakeProcess:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    @classmethod
    async def start(cls) -> FakeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "fake",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        url = json.loads(await process.stdout.readline())["url"]
        return cls(process, url)

    async def burst(
        self,
        users: list[int],
        per_user: int,
        text: str,
        timeout: float,  # noqa: ASYNC109 - handed to the fake process, which waits that long
        presses: list[list[str]] | None = None,
    ) -> dict[str, Any]:
        """Each user sends `text` `per_user` times, or presses a button of the last message
        they got with each of their `presses` (callback data); an answer is a sent message,
        or a press's answered callback query."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        spec = {
            "users": users,
            "per_user": per_user,
            "text": text,
            "timeout": timeout,
            "presses": presses,
        }
        self.process.stdin.write((json.dumps({"burst": spec}) + "\n").encode())
        await self.process.stdin.drain()
        result: dict[str, Any] = json.loads(await self.process.stdout.readline())
        return result

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b'{"quit": true}\n')
        await self.process.stdin.drain()
        await self.process.wait()


# --- the bots -----------------------------------------------------------------------------------


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.count <= 5:  # the first few, to say what they were
            print(f"ERROR {record.name}: {record.getMessage()[:300]}", file=sys.stderr)


def summary(result: dict[str, Any], log_errors: int) -> dict[str, Any]:
    latencies = result["latencies"]
    return {
        "updates": result["sent"],
        "answered": result["answered"],
        "per_second": result["answered"] / result["wall"] if result["wall"] else 0.0,
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": result["api_errors"] + (result["sent"] - result["answered"]) + log_errors,
    }


async def measure(
    fake: FakeProcess,
    bot: Bot,
    dp: Dispatcher,
    users: list[int],
    args: argparse.Namespace,
    text: str,
    *,
    parta_loop: bool = False,
    batch: int = 100,
    teachers: list[TeacherAtWork] | None = None,
) -> dict[str, Any]:
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    if parta_loop:  # `parta run`'s own loop (bot/runners.py)
        feeder = UpdateFeeder(dp, bot, MemoryLedger())
        stop = StopSignal()
        await dp.emit_startup(bot=bot, dispatcher=dp, bots=[bot], **dp.workflow_data)
        task = asyncio.create_task(
            poll(bot, feeder, stop, dp.resolve_used_update_types(), batch=batch)
        )
    else:
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        await fake.burst(users[:WARM_UP_USERS], 1, text, args.timeout)  # warm-up
        errors.count = 0
        one = summary(await fake.burst(users, 1, text, args.timeout), errors.count)
        errors.count = 0
        several = summary(await fake.burst(users, args.per_user, text, args.timeout), errors.count)
        if teachers:
            grading = await grade_entry(fake, teachers, args, errors)
    finally:
        if parta_loop:
            stop.receive()
            await feeder.drain(60)
            await task
            await dp.emit_shutdown(bot=bot, dispatcher=dp)
        else:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            await task
        logging.getLogger().removeHandler(errors)
    if teachers:
        return {"one": one, "several": several, "grades": grading}
    return {"one": one, "several": several}


async def grade_entry(
    fake: FakeProcess, teachers: list[TeacherAtWork], args: argparse.Namespace, errors: ErrorCount
) -> dict[str, Any]:
    """Every teacher opens /journal, then all of them at once give `--per-user` grades each
    (one tap a grade, to different students of their latest lesson), as a class's teachers
    do after a test; an answer is the press's answered callback query (the grade written, its
    audit and notification queued, the screen shown again)."""
    ids = [t.telegram_id for t in teachers]
    await fake.burst(ids, 1, "/journal", args.timeout)
    count = min(args.per_user, *(len(t.student_ids) for t in teachers))
    presses = [
        [
            JGradeCb(
                lesson_id=t.lesson_id,
                student_id=t.student_ids[k],
                value=GRADE_BUTTON,
                kind=GradeKind.CLASSWORK,
            ).pack()
            for k in range(count)
        ]
        for t in teachers
    ]
    errors.count = 0
    result = summary(await fake.burst(ids, count, "", args.timeout, presses), errors.count)
    return {**result, "teachers": len(teachers), "per_teacher": count}


async def echo_bot(fake: FakeProcess, users: list[int], args: argparse.Namespace) -> Any:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "…")

    try:
        return await measure(fake, bot, dp, users, args, "/today")
    finally:
        await bot.session.close()


async def database_url(backend: str, args: argparse.Namespace, folder: str) -> str:
    if backend == "sqlite":
        return sqlite_url(folder)
    name = f"parta_bench_throughput_{os.getpid()}_{secrets.token_hex(2)}"
    await execute_autocommit(args.pg_admin_url, f'CREATE DATABASE "{name}"')
    return make_url(args.pg_admin_url).set(database=name).render_as_string(hide_password=False)


async def parta_bot(
    fake: FakeProcess, url: str, folder: str, args: argparse.Namespace
) -> tuple[Any, list[int]]:
    await upgrade(url)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_url=url,
        telegram_api_url=fake.url,
        code_secret=CODE_SECRET,
        files_dir=Path(folder) / "files",
        notify_quiet_start=None,
        notify_quiet_end=None,
    )
    engine = create_engine(url, pool=settings.db_pool)
    factory = create_session_factory(engine)
    await seed_demo(factory, students=args.students, weeks=args.weeks)
    users = await link_crowd(factory, args.users)
    teachers = await link_teachers(factory)
    grades_before = await count_grades(factory)
    bot = create_bot(settings)
    # the notifier is not on the measured path (and the demo outbox is addressed to chats the
    # fake does not know)
    dp = create_dispatcher(settings, factory, run_notifier=False)
    try:
        result = await measure(
            fake,
            bot,
            dp,
            users,
            args,
            "/today",
            parta_loop=True,
            batch=min(100, POLLING_BACKLOG * settings.concurrent_updates),
            teachers=teachers,
        )
        if "grades" in result:  # each tap wrote its grade (a tap that says so but did not is lost)
            grades = result["grades"]
            grades["written"] = await count_grades(factory) - grades_before
            grades["errors"] += max(0, grades["updates"] - grades["written"])
    finally:
        await bot.session.close()
        await engine.dispose()
    return result, users


async def count_grades(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Grade)) or 0)


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeProcess.start()
    with tempfile.TemporaryDirectory(prefix="parta-bench-") as folder:
        url = await database_url(backend, args, folder)
        try:
            users = [880_000_001 + i for i in range(args.users)]
            echo = await echo_bot(fake, users, args)
            parta, _ = await parta_bot(fake, url, folder, args)
        finally:
            await fake.stop()
            if backend == "postgresql":
                name = make_url(url).database
                await execute_autocommit(
                    args.pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"backend": backend, "echo": echo, "parta": parta, "rss_mb": rss_mb}


# --- the report ---------------------------------------------------------------------------------


def line(name: str, result: dict[str, Any], burst: str = "one") -> str:
    echo, parta = result["echo"][burst], result["parta"][burst]
    ratio = parta["per_second"] / echo["per_second"] if echo["per_second"] else 0.0
    return (
        f"{name}: echo={echo['per_second']:.0f} day_view={parta['per_second']:.0f} "
        f"ratio={ratio:.2f} p95_ms={parta['p95_ms']:.0f} rss_mb={result['rss_mb']:.0f} "
        f"errors={echo['errors'] + parta['errors']}"
    )


def grades_line(name: str, result: dict[str, Any]) -> str:
    echo, grades = result["echo"]["one"], result["parta"]["grades"]
    ratio = grades["per_second"] / echo["per_second"] if echo["per_second"] else 0.0
    return (
        f"{name}: teachers={grades['teachers']} per_teacher={grades['per_teacher']} "
        f"grade_taps={grades['per_second']:.0f} ratio={ratio:.2f} p95_ms={grades['p95_ms']:.0f} "
        f"written={grades.get('written', 0)} errors={grades['errors']}"
    )


def table(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    rows = [f"## {result['backend']}"]
    rows.append("| bot | burst | updates | answered | upd/s | p50 ms | p95 ms | p99 ms | errors |")
    rows.append("|---|---|---|---|---|---|---|---|---|")
    bursts = [
        ("echo", "one", "1 per user"),
        ("echo", "several", f"{args.per_user} per user"),
        ("parta", "one", "`/today`, 1 per user"),
        ("parta", "several", f"`/today`, {args.per_user} per user"),
        ("parta", "grades", "teachers' grade taps"),
    ]
    for bot, burst, label in bursts:
        if (r := result[bot].get(burst)) is not None:
            rows.append(
                f"| {bot} | {label} | {r['updates']} | {r['answered']} | {r['per_second']:.0f} "
                f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['errors']} |"
            )
    rows.append(f"peak RSS of the bot process: {result['rss_mb']:.0f} MB")
    return rows


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per burst")
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("PARTA_BENCH_PG_ADMIN_URL", PG_ADMIN_URL)
    )
    parser.add_argument("--role", choices=["main", "fake", "backend"], default="main")
    parser.add_argument("--backend", default="sqlite")
    return parser.parse_args(argv)


def main() -> None:
    args = arguments()
    if args.role == "fake":
        asyncio.run(serve_fake())
        return
    if args.role == "backend":
        print(json.dumps(asyncio.run(run_backend(args.backend, args))), flush=True)
        return
    results = []
    for backend in args.backends.split(","):
        command = [sys.executable, __file__, "--role", "backend", "--backend", backend]
        for option in ("users", "per_user", "students", "weeks", "timeout", "pg_admin_url"):
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print("\n".join(table(results[-1], args)), flush=True)
    for result in results:
        print(line(f"throughput[{result['backend']}]", result))
        print(line(f"throughput[{result['backend']}, {args.per_user} per user]", result, "several"))
        if "grades" in result["parta"]:
            print(grades_line(f"throughput[{result['backend']}, grades]", result))

    def ratio(result: dict[str, Any]) -> float:
        echo = result["echo"]["one"]["per_second"]
        return float(result["parta"]["one"]["per_second"] / echo) if echo else 0.0

    worst = min(results, key=ratio)
    errors = sum(
        burst["errors"] for r in results for b in ("echo", "parta") for burst in r[b].values()
    )
    final = line("throughput", worst).rsplit(" errors=", 1)[0]
    print(f"{final} errors={errors}")


if __name__ == "__main__":
    main()
