"""Scheduled jobs, called directly (APScheduler only calls them): the daily digest, the weekly
summary chart, homework reminders, tomorrow's changes, period summaries — idempotent, once per
cluster, through the same outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import files
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.scheduler import BACKUP_JOB, SCHEDULE, create_scheduler
from db.enums import AttendanceStatus, NotificationKind, OutboxStatus, PeriodKind
from db.models import (
    AcademicYear,
    CodeAttempt,
    HomeworkSubmission,
    Lesson,
    OutboxMessage,
    Period,
    PeriodGrade,
    Staff,
)
from services.backup import BackupSchedule
from services.notify import jobs
from services.notify.digests import weekly_chart
from tests import factories as f
from tests import notify_world as w
from tests.fakes.telegram_api import FakeTelegram, image_size
from tests.harness import BOT_TOKEN, CODE_SECRET, App

TODAY = w.T0.date()
TOMORROW = TODAY + timedelta(days=1)


def moscow(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC) - timedelta(hours=3)


@pytest.fixture
async def world(app: App) -> w.World:
    world = await w.make_world(app.session_factory)
    for telegram_id in (f.PARENT, f.TRUSTED, f.STUDENT, f.TEACHER, f.OTHER_PARENT):
        app.user(telegram_id, language_code="en")
    return world


def find(app: App, telegram_id: int, needle: str) -> str:
    """The last message the user got that contains `needle` ('' if none)."""
    return next((t for t in reversed(app.user(telegram_id).texts()) if needle in t), "")


async def _rows(app: App, event: str) -> list[OutboxMessage]:
    rows = await w.outbox_rows(app.session_factory)
    return [r for r in rows if r.event == event]


async def test_daily_digest_at_each_parents_time_once(app: App, world: w.World) -> None:
    await w.grade(app.session_factory, world, value="4", comment="устно")
    await w.attendance(app.session_factory, world, AttendanceStatus.ABSENT)
    await w.lesson(app.session_factory, world, TOMORROW)
    await w.homework(app.session_factory, world, "Выучить <стих> & рассказать", due=TOMORROW)
    sf = app.session_factory
    assert await jobs.daily_digests(sf, now=moscow(TODAY, 19, 55)) == 0
    assert await jobs.daily_digests(sf, now=moscow(TODAY, 20, 5)) == 3  # parent, trusted, other
    assert await jobs.daily_digests(sf, now=moscow(TODAY, 20, 10)) == 0
    rows = await _rows(app, "digest")
    assert {r.account_id for r in rows} == {
        world.accounts[f.PARENT],
        world.accounts[f.TRUSTED],
        world.accounts[f.OTHER_PARENT],
    }, "a student's digest is off unless they turn it on"
    app.fake.reset_records()
    await app.deliver_notifications(moscow(TODAY, 20, 6))
    parent = find(app, f.PARENT, "The day in the diary")
    assert "Математика: 4" in parent
    assert "absent, lesson" in parent
    assert "Выучить <стих> & рассказать" in parent
    trusted = find(app, f.TRUSTED, "The day in the diary")
    assert "Математика: 4" in trusted
    assert "absent" not in trusted, "no attendance scope"
    assert find(app, f.OTHER_PARENT, "The day") == ""
    other = next(
        r for r in await _rows(app, "digest") if r.account_id == world.accounts[f.OTHER_PARENT]
    )
    assert other.status == OutboxStatus.CANCELLED
    assert other.last_error == "nothing to report"
    assert app.fake.errors == []


async def test_weekly_summary_with_a_chart_on_sunday(app: App, world: w.World) -> None:
    monday = TODAY - timedelta(days=TODAY.weekday())
    sunday = monday + timedelta(days=6)
    for day, value in [(0, "5"), (1, "4"), (3, "3")]:
        await w.grade(
            app.session_factory,
            world,
            value=value,
            at=datetime.combine(monday + timedelta(days=day), time(9), tzinfo=UTC),
        )
    sf = app.session_factory
    assert await jobs.weekly_summaries(sf, now=moscow(sunday - timedelta(days=1), 19)) == 0
    assert await jobs.weekly_summaries(sf, now=moscow(sunday, 17, 59)) == 0
    assert await jobs.weekly_summaries(sf, now=moscow(sunday, 18, 5)) == 3
    assert await jobs.weekly_summaries(sf, now=moscow(sunday, 18, 20)) == 0
    await app.deliver_notifications(moscow(sunday, 18, 6))
    photos = [c for c in app.fake.calls_to("sendPhoto") if c["chat_id"] == f.PARENT]
    assert len(photos) == 1
    caption = app.user(f.PARENT).last.caption  # type: ignore[union-attr]
    assert caption is not None
    assert "3 grades" in caption
    assert "Математика: 5 4 3" in caption
    stored = app.user(f.PARENT).last.photo  # type: ignore[union-attr]
    assert stored
    assert stored[-1]["width"] > 300
    assert app.fake.errors == []


def test_the_chart_is_a_png_with_cyrillic() -> None:
    from services.notify.digests import SubjectAverage, SummaryChild

    children = [
        SummaryChild("Пётр Иванов", "7B", [SubjectAverage("Математика", ["5", "4"], "4.50", 0.9)]),
        SummaryChild(
            "Оля", None, [SubjectAverage(f"Предмет {i}", ["pass"], "100%", 1.0) for i in range(14)]
        ),
    ]
    png = weekly_chart(children, date(2026, 3, 9), date(2026, 3, 15))
    assert png.startswith(b"\x89PNG")
    size = image_size(png)
    assert size is not None
    assert size[0] + size[1] < 10_000
    assert size[1] / size[0] < 20


async def test_homework_reminders_for_students_the_evening_before(app: App, world: w.World) -> None:
    first = await w.homework(app.session_factory, world, "Параграф 5 <важно>", due=TOMORROW)
    await w.homework(app.session_factory, world, "Задачи 1–3", due=TOMORROW)
    await w.homework(app.session_factory, world, "Не завтра", due=TOMORROW + timedelta(days=2))
    async with app.session_factory() as session:
        session.add(HomeworkSubmission(homework_id=first, student_id=world.student))
        await session.commit()
    sf = app.session_factory
    assert await jobs.homework_reminders(sf, now=moscow(TODAY, 17, 30)) == 0
    assert await jobs.homework_reminders(sf, now=moscow(TODAY, 18, 5)) == 1
    assert await jobs.homework_reminders(sf, now=moscow(TODAY, 21)) == 0
    app.fake.reset_records()
    await app.deliver_notifications(moscow(TODAY, 18, 6))
    reminder = find(app, f.STUDENT, "Homework for tomorrow")
    assert "✅ Математика: Параграф 5 <важно>" in reminder
    assert "▫️ Математика: Задачи 1–3" in reminder
    assert "Не завтра" not in reminder
    assert not any("Homework for tomorrow" in t for t in app.user(f.PARENT).texts())


async def test_tomorrows_changes_in_the_evening(app: App, world: w.World) -> None:
    async with app.session_factory() as session:
        substitute = await session.scalar(
            select(Staff.id).where(Staff.id == world.school.staff["unlinked"])
        )
    await w.lesson(
        app.session_factory, world, TOMORROW, cancelled=True, cancel_reason="<экскурсия>"
    )
    replaced = await w.lesson(
        app.session_factory, world, TOMORROW, replacement_teacher_id=substitute, room="214"
    )
    await w.lesson(app.session_factory, world, TOMORROW)  # unchanged
    sf = app.session_factory
    assert await jobs.timetable_changes(sf, now=moscow(TODAY, 12)) == 0
    assert await jobs.timetable_changes(sf, now=moscow(TODAY, 18, 5)) == 2  # parent, student
    assert await jobs.timetable_changes(sf, now=moscow(TODAY, 18, 20)) == 0
    await app.deliver_notifications(moscow(TODAY, 18, 6))
    parent = app.user(f.PARENT).last
    assert parent is not None
    assert "Changes for tomorrow" in parent.text
    assert "cancelled — <экскурсия>" in parent.text
    assert "replacement teacher Новый Учитель, room 214" in parent.text
    assert parent.text.count("Lesson") == 2
    assert app.user(f.TRUSTED).texts() == [], "no schedule scope"
    # a later change sends an update with everything
    async with app.session_factory() as session:
        await session.execute(update(Lesson).where(Lesson.id == replaced).values(cancelled=True))
        await session.commit()
    assert await jobs.timetable_changes(sf, now=moscow(TODAY, 19, 5)) == 2
    await app.deliver_notifications(moscow(TODAY, 19, 6))
    assert app.user(f.PARENT).last.text.count("cancelled") == 2  # type: ignore[union-attr]
    assert app.fake.errors == []


async def test_period_summary_when_a_period_ends(app: App, world: w.World) -> None:
    async with app.session_factory() as session:
        year_id = await session.scalar(select(AcademicYear.id))
        # only this trimester ends around today: one of the small school's quarters may have
        # ended a day or two before whatever date the suite runs on (tests/clock.py)
        await session.execute(delete(Period))
        period = Period(
            year_id=year_id,
            kind=PeriodKind.TRIMESTER,
            number=1,
            starts_on=TODAY - timedelta(days=30),
            ends_on=TODAY,
        )
        session.add(period)
        await session.commit()
        period_id = period.id
    await w.grade(app.session_factory, world, value="5", at=w.T0 - timedelta(days=3))
    await w.grade(app.session_factory, world, value="4", at=w.T0 - timedelta(days=2))
    async with app.session_factory() as session:
        session.add(
            PeriodGrade(
                student_id=world.student,
                assignment_id=world.assignment_id,
                period_id=period_id,
                value="5",
            )
        )
        await session.commit()
    sf = app.session_factory
    assert await jobs.period_summaries(sf, now=moscow(TODAY, 12)) == 0
    assert await jobs.period_summaries(sf, now=moscow(TODAY, 18, 5)) == 3
    assert await jobs.period_summaries(sf, now=moscow(TOMORROW, 9)) == 0
    await app.deliver_notifications(moscow(TODAY, 18, 6))
    summary = find(app, f.PARENT, "Trimester 1 is over")
    assert "Математика: average 4.50, period grade 5" in summary


async def test_jobs_catch_up_after_a_restart_and_add_nothing_twice(
    app: App, world: w.World
) -> None:
    await w.grade(app.session_factory, world)
    await w.homework(app.session_factory, world, "x", due=TOMORROW)
    evening = moscow(TODAY, 21, 30)
    first = await jobs.run_all(app.session_factory, now=evening)
    assert first["digests"] == 3
    assert first["homework_due"] == 1
    again = await jobs.run_all(app.session_factory, now=evening + timedelta(minutes=15))
    assert set(again.values()) == {0}


async def test_only_one_process_runs_a_job_at_a_time(
    app: App, world: w.World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await w.grade(app.session_factory, world)
    async with session_factory() as holder:
        if holder.bind.dialect.name != "postgresql":
            pytest.skip("SQLite runs one process")
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": jobs.LOCKS["digests"]}
        )
        assert await jobs.daily_digests(session_factory, now=moscow(TODAY, 20, 5)) == 0
        await holder.commit()
    assert await jobs.daily_digests(session_factory, now=moscow(TODAY, 20, 5)) == 3
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == NotificationKind.DIGEST)
        )
    assert count == 3


async def test_the_apscheduler_wiring(session_factory: async_sessionmaker[AsyncSession]) -> None:
    scheduler = create_scheduler(session_factory, jobs.JobConfig())
    assert {job.id for job in scheduler.get_jobs()} == set(SCHEDULE) == set(jobs.JOBS)
    scheduler.start()
    try:
        await asyncio.sleep(0)
        assert all(job.next_run_time is not None for job in scheduler.get_jobs())
    finally:
        scheduler.shutdown(wait=False)


def test_every_job_runs_by_the_same_rules(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A late or missed run is done once, never two at a time, under its parta: name; the
    nightly backup may start up to an hour late, the others ten minutes."""
    backup = BackupSchedule(directory=tmp_path)
    scheduler = create_scheduler(session_factory, jobs.JobConfig(), backup=backup)
    rules = {
        job.id: (job.name, job.coalesce, job.max_instances, job.misfire_grace_time)
        for job in scheduler.get_jobs()
    }
    assert rules == {
        name: (f"parta:{name}", True, 1, 3600 if name == BACKUP_JOB else 600)
        for name in [*SCHEDULE, BACKUP_JOB]
    }


async def test_code_attempts_are_pruned_by_a_scheduled_job(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    scheduler = create_scheduler(session_factory, jobs.JobConfig())
    job = scheduler.get_job("code_attempts")
    assert job is not None, "the code_attempts prune job must be scheduled"
    assert job.func is jobs.prune_code_attempts
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    async with session_factory() as session:
        for age in (timedelta(days=3), timedelta(days=1, minutes=1), timedelta(hours=23)):
            session.add(CodeAttempt(telegram_id=5, at=now - age, success=False))
        session.add(CodeAttempt(telegram_id=6, at=now - timedelta(minutes=5), success=True))
        await session.commit()
    assert await jobs.prune_code_attempts(session_factory, now=now) == 2
    async with session_factory() as session:
        left = sorted(await session.scalars(select(CodeAttempt.at)))
    assert left == [now - timedelta(hours=23), now - timedelta(minutes=5)]
    assert await jobs.prune_code_attempts(session_factory, now=now) == 0


async def test_the_test_app_runs_no_scheduler(app: App) -> None:
    assert "scheduler" not in app.dp.workflow_data


async def test_old_rows_are_pruned_at_night(app: App, world: w.World) -> None:
    await w.grade(app.session_factory, world)
    await app.deliver_notifications(w.T0 + timedelta(minutes=2))
    async with app.session_factory() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.account_id == world.accounts[f.TRUSTED])
            .values(status=OutboxStatus.DEAD)
        )
        await session.commit()
    later = w.T0 + timedelta(days=31)
    assert await jobs.prune_outbox(app.session_factory, now=later) == 2  # sent and cancelled
    assert {r.status for r in await w.outbox_rows(app.session_factory)} == {OutboxStatus.DEAD}
    assert await jobs.prune_outbox(app.session_factory, now=later + timedelta(days=60)) == 1
    assert await w.outbox_rows(app.session_factory) == []


async def test_production_startup_runs_the_notifier_and_the_scheduler(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=BOT_TOKEN,
        database_url=db_url,
        telegram_api_url=fake_telegram.base_url,
        code_secret=CODE_SECRET,
    )
    bot = create_bot(settings)
    dp = create_dispatcher(settings, session_factory, run_notifier=True)
    await dp.emit_startup(bot=bot, dispatcher=dp)
    try:
        scheduler = dp["scheduler"]
        assert scheduler.running
        assert {job.id for job in scheduler.get_jobs()} == {*SCHEDULE, files.JOB_ID}
        assert dp["notifier"]._task is not None
    finally:
        await dp.emit_shutdown(bot=bot, dispatcher=dp)
        await bot.session.close()
    assert not scheduler.running
    assert dp["notifier"]._task is None
