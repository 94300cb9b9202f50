"""Diary latency and query counts through the strict fake Telegram.

    python bench/diary.py [--database-url URL] [--students 1000] [--weeks 36] [--samples 200]

Seeds the demo school (`services.demo.seed_demo`; skipped when it is already there) as it would
be on the last day of the current school year — `--weeks 36` then holds a whole year of
lessons, grades, homework and attendance (`--seed-today` picks another day) — starts the
strict fake Bot API and the production dispatcher (as the end-to-end tests do), and presses
diary buttons as the demo parent and the demo student, alternating: the day view of random
school days of the seeded range, and the grades view (the summary of a random period or one
subject's grades). Each press is timed from the update entering the dispatcher to its last
Bot API answer; SQL statements are counted per press. The database defaults to an SQLite file
in a temporary folder; `--database-url` or PARTA_BENCH_DATABASE_URL picks another (PostgreSQL:
`postgresql+asyncpg://postgres@127.0.0.1/parta_bench_diary`). The last line printed is

    diary: day_p50_ms=<ms> day_p95_ms=<ms> grades_p95_ms=<ms> day_queries=<n> grades_queries=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from bench_common import add_database_url, add_demo_arguments, percentile, sqlite_url
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.diary import DayCb, GradesCb
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import (
    AcademicYear,
    Account,
    Attendance,
    Enrollment,
    Grade,
    Homework,
    Lesson,
    Period,
    SchoolClass,
    Student,
    TeachingAssignment,
)
from services.demo import DEMO_TELEGRAM_IDS, seed_demo
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.harness import BOT_TOKEN, App


class Counter:
    """SQL statements executed on the engine since the last reset."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        self.count += 1


async def _counts(app: App) -> str:
    async with app.session_factory() as session:
        parts = []
        for model in (Student, Lesson, Grade, Homework, Attendance):
            total = await session.scalar(select(func.count()).select_from(model))
            parts.append(f"{total} {model.__tablename__}")
    return ", ".join(parts)


async def _targets(app: App) -> tuple[int, list[int], list[int], date]:
    """The demo student, their class's subjects, the current year's periods and start."""
    async with app.session_factory() as session:
        student_id = await session.scalar(
            select(Student.id)
            .join(Account, Account.id == Student.account_id)
            .where(Account.telegram_id == DEMO_TELEGRAM_IDS["student"])
        )
        assert student_id is not None, "the demo student is missing"
        row = (
            await session.execute(
                select(SchoolClass.id, AcademicYear.id, AcademicYear.starts_on)
                .join(Enrollment, Enrollment.class_id == SchoolClass.id)
                .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
                .where(Enrollment.student_id == student_id, AcademicYear.is_current)
            )
        ).one()
        class_id, year_id, year_start = row
        subjects = list(
            await session.scalars(
                select(TeachingAssignment.subject_id)
                .where(TeachingAssignment.class_id == class_id)
                .distinct()
            )
        )
        periods = list(await session.scalars(select(Period.id).where(Period.year_id == year_id)))
    return student_id, subjects, periods, year_start


async def _press(user: FakeUser, target: int, data: str, counter: Counter) -> tuple[float, int]:
    before = counter.count
    started = time.perf_counter()
    await user.press(target, data=data)
    elapsed = (time.perf_counter() - started) * 1000
    answer = user.callback_answers[-1]
    if answer.get("show_alert"):
        raise SystemExit(f"diary bench: a press was refused: {answer.get('text')!r} ({data})")
    return elapsed, counter.count - before


async def run(url: str, students: int, weeks: int, samples: int, seed_today: date) -> str:
    await upgrade(url)
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    started = time.perf_counter()
    seeded = await seed_demo(session_factory, students=students, weeks=weeks, today=seed_today)
    seed_s = time.perf_counter() - started
    print(
        f"seed: {'created' if seeded.created else 'already present'} in {seed_s:.1f} s "
        f"({students} students, {weeks} weeks)",
        file=sys.stderr,
    )
    counter = Counter(engine)
    try:
        async with FakeTelegram(token=BOT_TOKEN, bot_username="parta_bench_bot") as fake:
            app = await App.start(fake, url, session_factory)
            try:
                print(f"data: {await _counts(app)}", file=sys.stderr)
                student_id, subjects, periods, year_start = await _targets(app)
                first = max(year_start, seed_today - timedelta(weeks=weeks))
                days = [
                    first + timedelta(days=i)
                    for i in range((seed_today + timedelta(days=14) - first).days + 1)
                    if (first + timedelta(days=i)).isoweekday() <= 5
                ]
                rng = random.Random(42)
                users = []
                for role in ("parent", "student"):
                    user = fake.user(DEMO_TELEGRAM_IDS[role], language_code="ru")
                    await user.send("/start")
                    assert user.last is not None
                    users.append((user, user.last.message_id))
                day_ms: list[float] = []
                grades_ms: list[float] = []
                day_queries: list[int] = []
                grades_queries: list[int] = []
                warmup = 10
                for index in range(samples + warmup):
                    user, target = users[index % 2]
                    day = rng.choice(days)
                    ms, queries = await _press(
                        user,
                        target,
                        DayCb(student_id=student_id, day=day.toordinal()).pack(),
                        counter,
                    )
                    if index >= warmup:
                        day_ms.append(ms)
                        day_queries.append(queries)
                    subject = rng.choice([0, 0, *subjects])
                    period = rng.choice(periods) if periods else 0
                    ms, queries = await _press(
                        user,
                        target,
                        GradesCb(
                            student_id=student_id, period_id=period, subject_id=subject
                        ).pack(),
                        counter,
                    )
                    if index >= warmup:
                        grades_ms.append(ms)
                        grades_queries.append(queries)
                if fake.errors:
                    raise SystemExit(f"diary bench: Bot API errors: {fake.errors[:3]}")
            finally:
                await app.stop()
    finally:
        await engine.dispose()
    print(
        f"day: p50 {statistics.median(day_ms):.1f} ms, p95 {percentile(day_ms, 0.95):.1f} ms, "
        f"max {max(day_ms):.1f} ms; grades: p50 {statistics.median(grades_ms):.1f} ms, "
        f"p95 {percentile(grades_ms, 0.95):.1f} ms; statements per press: day "
        f"{min(day_queries)}–{max(day_queries)}, grades {min(grades_queries)}–"
        f"{max(grades_queries)}",
        file=sys.stderr,
    )
    return (
        f"diary: day_p50_ms={statistics.median(day_ms):.1f} "
        f"day_p95_ms={percentile(day_ms, 0.95):.1f} "
        f"grades_p95_ms={percentile(grades_ms, 0.95):.1f} "
        f"day_queries={max(day_queries)} grades_queries={max(grades_queries)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url(parser, help="database URL (default: an SQLite file in a temporary folder)")
    add_demo_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    url = args.database_url
    folder = None
    if not url:
        folder = tempfile.TemporaryDirectory(prefix="parta-bench-")
        url = sqlite_url(folder.name, "diary.sqlite3")
    try:
        line = asyncio.run(run(url, args.students, args.weeks, args.samples, args.seed_today))
    finally:
        if folder is not None:
            folder.cleanup()
    print(line)


if __name__ == "__main__":
    main()
