"""Reports benchmark: a class summary over the year as Excel and the school summary as PDF.

    python bench/reports.py [--database-url URL] [--students 1000] [--weeks 36]

Seeds the demo school (`parta demo seed --students N --weeks W`; skipped when the school is
there), then, for the school year (`When.period(0)`):

* builds the class summary of the widest class (the most subjects, then the most students)
  and renders it as .xlsx;
* builds the school summary of every class and renders it as PDF;

each timed in CPU time of this process (`time.process_time`: the building's Python work and
the rendering, not the database server's) and counting the statements sent.

Details go to stderr; the last line on stdout is
`reports: class_xlsx_ms=<ms> school_pdf_ms=<ms> queries=<n>` (queries: both reports'
statements together). The database is SQLite in a temporary folder unless `--database-url` or
`PARTA_BENCH_DATABASE_URL` names one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from typing import Any

from bench_common import add_database_url, sqlite_url
from sqlalchemy import event, func, select

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import Enrollment, School, SchoolClass, TeachingAssignment
from services import reports
from services.core.schooltime import local_today, zone_of
from services.demo import seed_demo


def _gettext(message: str) -> str:
    return message


async def run(url: str, students: int, weeks: int) -> str:
    await upgrade(url)
    engine = create_engine(url)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    try:
        factory = create_session_factory(engine)
        started = time.perf_counter()
        await seed_demo(factory, students=students, weeks=weeks)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        async with factory() as session:
            school = (await session.scalars(select(School).limit(1))).one()
            today = local_today(zone_of(school.timezone))
            # the widest class: the most subjects (12 from grade 8 on), then the most students
            subjects = func.count(TeachingAssignment.subject_id.distinct())
            students = func.count(Enrollment.id.distinct())
            class_id, size = (
                await session.execute(
                    select(SchoolClass.id, students)
                    .join(Enrollment, Enrollment.class_id == SchoolClass.id)
                    .join(TeachingAssignment, TeachingAssignment.class_id == SchoolClass.id)
                    .group_by(SchoolClass.id)
                    .order_by(subjects.desc(), students.desc(), SchoolClass.id)
                    .limit(1)
                )
            ).one()
        when = reports.When.period(0)
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        async with factory() as session:
            cpu = time.process_time()
            summary = await reports.build_class_summary(session, class_id, when, today=today)
            xlsx = reports.render(summary, "xlsx", _gettext)
            class_ms = (time.process_time() - cpu) * 1000
        class_queries = len(statements)
        async with factory() as session:
            cpu = time.process_time()
            school_summary = await reports.build_school_summary(
                session, school.id, when, today=today
            )
            pdf = reports.render(school_summary, "pdf", _gettext)
            school_ms = (time.process_time() - cpu) * 1000
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        print(
            f"class: {size} students × {len(summary.subjects)} subjects, "
            f"{sum(c.count for r in summary.rows for c in r.cells)} grades, {len(xlsx)} bytes, "
            f"{class_queries} statements; school: {len(school_summary.classes)} classes, "
            f"{sum(c.students for c in school_summary.classes)} students, {len(pdf)} bytes, "
            f"{len(statements) - class_queries} statements",
            file=sys.stderr,
        )
    finally:
        await engine.dispose()
    return (
        f"reports: class_xlsx_ms={class_ms:.0f} school_pdf_ms={school_ms:.0f} "
        f"queries={len(statements)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_url(parser)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=36)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url(folder)
        print(asyncio.run(run(url, args.students, args.weeks)))


if __name__ == "__main__":
    main()
