"""APScheduler 3 wiring of the scheduled jobs (`services.notify.jobs`).

An `AsyncIOScheduler` with an in-memory job store is started from the dispatcher's startup
(not in tests: they call the job functions directly). Nothing needs persisting: every job
recomputes from the database what is due in each school's local time and is idempotent
through dedup keys, so each runs once right at start-up (catching up on what a restart
missed) and then every few minutes; with several bot processes on PostgreSQL an advisory lock
lets one of them do each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.notifier import job_config
from services.backup import BackupError, BackupSchedule, ScheduledBackup, scheduled_backup
from services.notify import jobs
from services.notify.jobs import JobConfig

logger = logging.getLogger("parta.scheduler")

#: job → its cron fields (local time of TIMEZONE); digests follow each parent's own time, the
#: evening jobs check each school's own clock, so they simply run every few minutes.
SCHEDULE: dict[str, dict[str, str]] = {
    "digests": {"minute": "*/5"},
    "weekly": {"minute": "1,16,31,46"},
    "homework_due": {"minute": "2,17,32,47"},
    "timetable": {"minute": "3,18,33,48"},
    "period_summary": {"minute": "4,34"},
    "prune": {"hour": "3", "minute": "7"},
    "retention": {"hour": "3", "minute": "37"},
    "code_attempts": {"minute": "9"},
}


def create_scheduler(
    session_factory: async_sessionmaker[AsyncSession],
    config: JobConfig,
    *,
    start_delay: timedelta = timedelta(seconds=10),
    backup: BackupSchedule | None = None,
) -> AsyncIOScheduler:
    """A scheduler with every job, each first run shortly after start-up; with `backup`, also
    the nightly backup at its local time (not at start-up: a restart takes no extra backup)."""
    scheduler = AsyncIOScheduler(timezone=config.timezone)
    first = datetime.now(scheduler.timezone) + start_delay
    for index, (name, fields) in enumerate(SCHEDULE.items()):
        _add_job(
            scheduler,
            name,
            jobs.JOBS[name],
            CronTrigger(**fields, timezone=config.timezone),
            args=[session_factory],
            kwargs={"config": config},
            misfire_grace_time=600,
            next_run_time=first + timedelta(seconds=index),
        )
    if backup is not None:
        _add_job(
            scheduler,
            BACKUP_JOB,
            run_backup,
            CronTrigger(hour=backup.at.hour, minute=backup.at.minute, timezone=backup.timezone),
            args=[session_factory],
            kwargs={"schedule": backup},
            misfire_grace_time=3600,
        )
    return scheduler


BACKUP_JOB = "backup"


def _add_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: Callable[..., Awaitable[object]],
    trigger: CronTrigger,
    **options: Any,
) -> None:
    """Add job `job_id` as every Parta job is run: a late or missed run is done once, never
    two at a time, and a job added again replaces the old one."""
    scheduler.add_job(
        func,
        trigger,
        id=job_id,
        name=f"parta:{job_id}",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        **options,
    )


async def run_backup(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    schedule: BackupSchedule,
    now: datetime | None = None,
) -> ScheduledBackup | None:
    """The scheduled backup job: one log line either way (a refusal, such as a full disk, is
    an ERROR line without a traceback; the next night tries again)."""
    try:
        done = await scheduled_backup(session_factory, schedule=schedule, now=now)
    except BackupError as exc:
        logger.error("scheduled backup failed: %s", exc)
        return None
    if done is None:
        logger.info("scheduled backup: another bot process is taking it")
        return None
    logger.info(
        "backup written: %s (%d rows, %d files, %d bytes); %d old backups removed",
        done.summary.path,
        done.summary.rows,
        done.summary.files,
        done.summary.bytes,
        len(done.removed),
    )
    return done


def backup_schedule(settings: Settings, files_dir: Path | None = None) -> BackupSchedule | None:
    """The nightly backup BACKUP_DIR asks for (None: BACKUP_DIR is empty, no backups), with
    the stored files of `files_dir` (default: FILES_DIR)."""
    if settings.backup_dir is None:
        return None
    return BackupSchedule(
        directory=settings.backup_dir,
        at=settings.backup_time,
        keep=settings.backup_keep,
        timezone=settings.timezone,
        files_dir=files_dir or settings.files_dir,
    )


class JobsInFlight:
    """Counts the job runs in progress (a listener of the scheduler's events), so a shutdown
    lets them finish instead of cancelling a job in the middle of its transaction."""

    EVENTS = EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def __call__(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self.count += 1
            self.idle.clear()
        else:
            self.count = max(0, self.count - 1)
            if not self.count:
                self.idle.set()


async def start_scheduler(dispatcher: Dispatcher) -> None:
    """Startup hook: run the jobs where the notifier runs (not in tests)."""
    if not dispatcher.workflow_data.get("run_notifier", True):
        return
    settings: Settings = dispatcher["settings"]
    backup = backup_schedule(settings)
    scheduler = create_scheduler(dispatcher["session_factory"], job_config(settings), backup=backup)
    in_flight = JobsInFlight()
    scheduler.add_listener(in_flight, JobsInFlight.EVENTS)
    scheduler.start()
    dispatcher["scheduler"] = scheduler
    dispatcher["scheduler_jobs"] = in_flight
    names = [*SCHEDULE, BACKUP_JOB] if backup is not None else list(SCHEDULE)
    logger.info("scheduler started: %s", ", ".join(names))


async def stop_scheduler(dispatcher: Dispatcher) -> None:
    """Shutdown hook: no new runs; the runs in progress get up to SHUTDOWN_TIMEOUT seconds
    to finish (each is one transaction: cut off, it simply rolls back)."""
    scheduler: AsyncIOScheduler | None = dispatcher.workflow_data.pop("scheduler", None)
    in_flight: JobsInFlight | None = dispatcher.workflow_data.pop("scheduler_jobs", None)
    if scheduler is not None and scheduler.running:
        scheduler.pause()
        if in_flight is not None and in_flight.count:
            settings: Settings = dispatcher["settings"]
            logger.info("waiting for %d scheduled jobs to finish", in_flight.count)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(in_flight.idle.wait(), settings.shutdown_timeout)
        scheduler.shutdown(wait=False)
