"""Roster import at scale: 2,000 students with guardians and a full timetable.

    python bench/roster.py [--database-url URL] [--classes 80] [--students-per-class 25]

Builds the school with the test factory (tests/roster_factory.py: one guardian per student,
six subjects, 3 lessons a day for 5 days plus an odd/even pair per class, ~1,300 slots),
migrates an empty database (an SQLite file in a temporary folder by default; `--database-url`
or PARTA_BENCH_DATABASE_URL picks another, which must be empty), then times, each in its own
session: the dry run on the empty database, the first import (with the whole year's lessons),
the dry run of the same file again (no change), and an edit (50 students moved, 50 slots
moved to another lesson) applied. The last line printed is

    roster: students=<n> slots=<n> lessons=<n> plan_s=<s> apply_s=<s> replan_s=<s> edit_s=<s>
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time

from bench_common import add_database_url, sqlite_url
from sqlalchemy import func, select

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import Lesson
from services.core.schooltime import local_today, zone_of
from services.roster import apply_import, plan_import
from services.roster.model import SchoolData
from tests.roster_factory import school_data


def _edit(data: SchoolData) -> SchoolData:
    classes = [c.source_id for c in data.classes]
    students = tuple(
        dataclasses.replace(s, class_id=classes[(classes.index(s.class_id) + 1) % len(classes)])
        if i % 40 == 0
        else s
        for i, s in enumerate(data.students)
    )
    timetable = tuple(
        dataclasses.replace(t, lesson_number=6) if i % 26 == 0 else t
        for i, t in enumerate(data.timetable)
    )
    return dataclasses.replace(data, students=students, timetable=timetable)


async def run(url: str, classes: int, per_class: int) -> None:
    await upgrade(url)
    engine = create_engine(url)
    factory = create_session_factory(engine)
    today = local_today(zone_of(None))
    data = school_data(
        today, classes=classes, students_per_class=per_class, subjects=6, lessons_per_day=3
    )
    timings: dict[str, float] = {}
    try:
        for name, step in (
            ("plan", lambda s: plan_import(s, data, today=today)),
            ("apply", lambda s: apply_import(s, data, today=today, actor_account_id=None)),
            ("replan", lambda s: plan_import(s, data, today=today)),
            ("edit", lambda s: apply_import(s, _edit(data), today=today, actor_account_id=None)),
        ):
            async with factory() as session:
                started = time.perf_counter()
                plan = await step(session)
                timings[name] = time.perf_counter() - started
                assert not plan.problems, plan.problems[:3]
                print(f"{name}: {timings[name]:.2f} s, {len(plan.changes)} changes", flush=True)
        async with factory() as session:
            lessons = await session.scalar(select(func.count(Lesson.id)))
    finally:
        await engine.dispose()
    print(
        f"roster: students={len(data.students)} slots={len(data.timetable)} lessons={lessons} "
        + " ".join(f"{k}_s={v:.2f}" for k, v in timings.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_url(parser)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--students-per-class", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url(folder, "roster-bench.sqlite3")
        asyncio.run(run(url, args.classes, args.students_per_class))


if __name__ == "__main__":
    main()
