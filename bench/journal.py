"""Journal benchmark: taps per student of a run-through, and the latency of a grade write.

    python bench/journal.py [--database-url URL] [--students 1000] [--weeks 36] [--samples 200]

Seeds the demo school as of the last day of the current school year, so the database holds a
whole year of journal (`--seed-today` picks another day; the seed is skipped when the school is
there). The benchmark then stands on the school's last graded day — the latest day the demo
teacher's 7B lessons have grades, in a reporting period that is still open — and

* grades that day's 25-student class in run-through mode the way a teacher does —
  `/journal <date>`, tap the lesson, tap "Run-through", one tap per student — through the
  production dispatcher and the strict fake Telegram of the test suite, counting the taps (the
  journal's clock reads that school day);
* times `services.journal.add_grade` (the grade, its audit entry and its outbox rows for the
  student's family, committed) on random earlier lessons of the same open period.

Details go to stderr; the last line on stdout is
`journal: taps_per_student=<x> grade_write_p95_ms=<ms>`. The database is SQLite in a temporary
folder unless `--database-url` or `PARTA_BENCH_DATABASE_URL` names one (PostgreSQL: create
a dedicated database first; the script never drops anything).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from bench_common import add_database_url, add_demo_arguments, log, sqlite_url
from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers.journal.context
import handlers.journal.prompts
from db.engine import create_engine, create_session_factory
from db.enums import GradeKind
from db.migrate import upgrade
from db.models import (
    Account,
    Attendance,
    Grade,
    Lesson,
    OutboxMessage,
    Period,
    SchoolClass,
    Staff,
    Student,
    TeachingAssignment,
)
from services import journal
from services.core.actors import load_actor
from services.demo import DEMO_CLASS, DEMO_TELEGRAM_IDS, seed_demo
from services.journal import (
    attendance,
    grades,
    homework,
    lessons,
    periods,
    undo,
    views,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN, App

MSK = ZoneInfo("Europe/Moscow")
GRACE = timedelta(seconds=60)
RUN_VALUES = ("5", "4", "4+", "3", "5", "4−", "2")


def _open_period(lesson_date: object, year_id: object) -> object:
    """No closed reporting period covers the lesson (its grades may still change)."""
    return ~exists().where(
        Period.year_id == year_id,
        Period.starts_on <= lesson_date,
        Period.ends_on >= lesson_date,
        Period.closed_at.is_not(None),
    )


async def _teacher_lessons(session: AsyncSession, limit: int) -> list[tuple[int, date, int]]:
    """Graded lessons (id, date, number) of the demo teacher in 7B in open periods, the
    latest first: the school's last graded day and the days before it."""
    teacher = await session.scalar(
        select(Staff.id)
        .join(Account, Account.id == Staff.account_id)
        .where(Account.telegram_id == DEMO_TELEGRAM_IDS["teacher"])
    )
    rows = await session.execute(
        select(Lesson.id, Lesson.date, Lesson.lesson_number)
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(
            TeachingAssignment.teacher_id == teacher,
            SchoolClass.name == DEMO_CLASS,
            Lesson.cancelled.is_(False),
            exists().where(Grade.lesson_id == Lesson.id),
            _open_period(Lesson.date, SchoolClass.year_id),
        )
        .order_by(Lesson.date.desc(), Lesson.lesson_number)
        .limit(limit)
    )
    return [(i, d, n) for i, d, n in rows]


@contextmanager
def journal_clock(moment: datetime) -> Iterator[None]:
    """The journal's clock (screens, writes, period grades) reads `moment`."""
    service_modules = (attendance, grades, homework, lessons, periods, undo, views)
    modules = (*service_modules, handlers.journal.context, handlers.journal.prompts)
    saved = [m.utcnow for m in modules]
    for module in modules:
        module.utcnow = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.utcnow = original  # type: ignore[assignment]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=MSK)


async def measure_taps(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], lesson: tuple[int, date, int]
) -> float:
    """Grade the demo class in run-through mode through the bot; taps per graded student."""
    lesson_id, day, number = lesson
    async with session_factory() as session:
        # everyone present, so the run-through walks the whole class
        await session.execute(delete(Attendance).where(Attendance.lesson_id == lesson_id))
        await session.commit()
    async with FakeTelegram(token=BOT_TOKEN, bot_username="parta_bench_bot") as fake:
        app = await App.start(fake, db_url, session_factory)
        try:
            with journal_clock(_at(day, 16)):
                user = app.user(DEMO_TELEGRAM_IDS["teacher"], language_code="en")
                await user.send(f"/journal {day.strftime('%d.%m.%Y')}")
                day_screen = user.last
                assert day_screen is not None
                lesson_button = next(
                    b["text"]
                    for b in day_screen.buttons
                    if str(b["text"]).startswith(f"{number}. ")
                )
                taps = 0
                await user.press(day_screen, text=lesson_button)
                taps += 1
                await user.press(user.last, text="▶️ Run-through")
                taps += 1
                graded = 0
                while "Run-through done" not in (user.last.text or ""):  # type: ignore[union-attr]
                    await user.press(user.last, text=RUN_VALUES[graded % len(RUN_VALUES)])
                    taps += 1
                    graded += 1
                    if graded > 100:
                        raise SystemExit("the run-through did not end")
            if fake.errors:
                raise SystemExit(f"Telegram API errors: {fake.errors[:3]}")
        finally:
            await app.stop()
    log(f"run-through: {graded} students graded with {taps} taps (lesson {lesson_id}, {day})")
    return taps / graded


async def measure_writes(
    session_factory: async_sessionmaker[AsyncSession],
    lessons: list[tuple[int, date, int]],
    samples: int,
) -> tuple[list[float], float]:
    """Time `add_grade` + commit on random lessons; returns (ms per write, outbox rows/write)."""
    rng = random.Random(42)
    now = _at(lessons[0][1], 18)
    async with session_factory() as session:
        student = await session.scalar(
            select(Student.id)
            .join(Account, Account.id == Student.account_id)
            .where(Account.telegram_id == DEMO_TELEGRAM_IDS["student"])
        )
        outbox_before = await session.scalar(select(func.count(OutboxMessage.id)))
    if student is None:
        raise SystemExit("the demo student is missing")
    kinds = list(GradeKind)
    timings: list[float] = []
    for index in range(samples):
        lesson_id = rng.choice(lessons)[0]
        async with session_factory() as session:
            actor = await load_actor(session, DEMO_TELEGRAM_IDS["teacher"])
            await session.commit()
            start = time.perf_counter()
            await journal.add_grade(
                session,
                actor,
                lesson_id,
                student,
                rng.choice(RUN_VALUES[:4]),
                rng.choice(kinds),
                grace=GRACE,
                now=now + timedelta(seconds=index),
            )
            timings.append((time.perf_counter() - start) * 1000)
    async with session_factory() as session:
        outbox_after = await session.scalar(select(func.count(OutboxMessage.id)))
    rows = ((outbox_after or 0) - (outbox_before or 0)) / samples
    return timings, rows


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url(parser)
    add_demo_arguments(parser)
    args = parser.parse_args(argv)
    url = args.database_url
    if not url:
        url = sqlite_url(tempfile.mkdtemp(prefix="parta-bench-"))
    log(f"database: {url.split('@')[-1]}")
    await upgrade(url)
    engine = create_engine(url)
    session_factory = create_session_factory(engine)
    try:
        start = time.perf_counter()
        seeded = await seed_demo(
            session_factory, students=args.students, weeks=args.weeks, today=args.seed_today
        )
        what = f"seeded as of {args.seed_today}" if seeded.created else "already seeded"
        log(f"demo school {what} in {time.perf_counter() - start:.1f} s {seeded.counts}")
        async with session_factory() as session:
            lessons = await _teacher_lessons(session, 500)
        if not lessons:
            raise SystemExit("no graded lesson of the demo teacher in an open period")
        taps = await measure_taps(url, session_factory, lessons[0])
        timings, rows = await measure_writes(session_factory, lessons, args.samples)
    finally:
        await engine.dispose()
    p95 = statistics.quantiles(timings, n=20, method="inclusive")[18]
    log(
        f"grade writes: {len(timings)} samples, median {statistics.median(timings):.2f} ms, "
        f"p95 {p95:.2f} ms, max {max(timings):.2f} ms, {rows:.1f} outbox rows per write"
    )
    print(f"journal: taps_per_student={taps:.2f} grade_write_p95_ms={p95:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
