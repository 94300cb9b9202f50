"""The scheduled backup: one archive a night in the backup folder, the oldest beyond KEEP
removed.

Archives are named ``parta-YYYYMMDD-HHMM.zip`` after the school's local time they were taken,
so names sort by age; rotation only ever removes files of that pattern, and only after the new
archive is complete.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.base import utcnow
from services.backup.errors import BackupError
from services.backup.writer import BackupSummary, backup, engine_of

ARCHIVE_NAME = re.compile(r"parta-\d{8}-\d{4}\.zip")
#: the advisory lock of the scheduled backup (see services.notify.jobs.LOCKS for the others)
LOCK = 0x5041_5254_0201


@dataclass(frozen=True)
class BackupSchedule:
    """Where and when the scheduled backups go, and how many are kept."""

    directory: Path
    at: time = time(3)
    keep: int = 7
    timezone: str = "Europe/Moscow"
    files_dir: Path | None = None


@dataclass(frozen=True)
class ScheduledBackup:
    """The archive written and the old ones removed."""

    summary: BackupSummary
    removed: tuple[Path, ...]


def archive_name(moment: datetime, timezone: str) -> str:
    """``parta-20270303-0300.zip`` for 03:00 school time on 3 March 2027."""
    return f"parta-{moment.astimezone(ZoneInfo(timezone)):%Y%m%d-%H%M}.zip"


async def scheduled_backup(
    source: AsyncEngine | async_sessionmaker[AsyncSession],
    *,
    schedule: BackupSchedule,
    now: datetime | None = None,
) -> ScheduledBackup | None:
    """Write tonight's archive into `schedule.directory` (created if missing), then remove
    the oldest archives beyond `schedule.keep`. With several bot processes on PostgreSQL one
    of them takes it (a session advisory lock); the others get None."""
    engine = engine_of(source)
    async with _exclusive(engine) as mine:
        if not mine:
            return None
        return await _backup_now(engine, schedule, now or utcnow())


@asynccontextmanager
async def _exclusive(engine: AsyncEngine) -> AsyncIterator[bool]:
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as conn:
        # autocommit: the lock is the session's, no transaction stays open meanwhile
        lock = await conn.execution_options(isolation_level="AUTOCOMMIT")
        mine = bool(await lock.scalar(select(func.pg_try_advisory_lock(LOCK))))
        try:
            yield mine
        finally:
            if mine:
                await lock.scalar(select(func.pg_advisory_unlock(LOCK)))


async def _backup_now(
    engine: AsyncEngine, schedule: BackupSchedule, moment: datetime
) -> ScheduledBackup:
    try:
        schedule.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BackupError(
            "backup.cannot_write", path=str(schedule.directory), reason=reason
        ) from None
    out = schedule.directory / archive_name(moment, schedule.timezone)
    summary = await backup(engine, out, files_dir=schedule.files_dir, now=moment)
    return ScheduledBackup(summary, rotate(schedule.directory, schedule.keep))


def rotate(directory: Path, keep: int) -> tuple[Path, ...]:
    """Remove the oldest ``parta-YYYYMMDD-HHMM.zip`` archives beyond the newest `keep`."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    archives = sorted(p for p in directory.iterdir() if ARCHIVE_NAME.fullmatch(p.name))
    old = tuple(archives[:-keep])
    for path in old:
        path.unlink(missing_ok=True)
    return old
