"""Scheduled jobs: plain async functions, run by APScheduler (bot/scheduler.py) and by tests.

Each job opens its own session, decides from the database what is due *now* in each school's
time zone, and writes outbox rows whose dedup keys name the day or period — so running a job
again, after a restart or in a second process, adds nothing; a job missed while the bot was down
is caught up on its next run the same day. On PostgreSQL a job first takes a transaction-level
advisory lock (`pg_try_advisory_xact_lock`): while one process runs it, the others skip it.
The rows carry ids and dates only; what they say (in the recipient's language, chosen
explicitly per row by the dispatcher) is built when they are sent, through the same outbox and
rate limiter as every other notification.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import TrustScope
from db.models import (
    AcademicYear,
    Account,
    Enrollment,
    Homework,
    Lesson,
    Period,
    School,
    SchoolClass,
    Student,
)
from services.core import enrolment
from services.core.schooltime import zone_of
from services.notify.digests import period_kind_order
from services.notify.events import DedupKey, NotificationEvent
from services.notify.outbox import NewRow, enqueue_rows, prune
from services.notify.preferences import PreferenceDefaults, load_preferences
from services.notify.recipients import by_account, family_links
from services.people.codes import ATTEMPT_KEEP, prune_attempts
from services.people.privacy import DEFAULT_RETENTION_DAYS, apply_retention

#: Advisory-lock keys of the jobs (any distinct 64-bit numbers).
LOCKS = {
    "digests": 0x5041_5254_0001,
    "weekly": 0x5041_5254_0002,
    "homework_due": 0x5041_5254_0003,
    "timetable": 0x5041_5254_0004,
    "period_summary": 0x5041_5254_0005,
    "prune": 0x5041_5254_0006,
    "retention": 0x5041_5254_0101,
    "code_attempts": 0x5041_5254_0007,
}
PERIOD_CATCH_UP = timedelta(days=3)


@dataclass(frozen=True)
class JobConfig:
    """When the jobs fire (local times of each school) and the preference defaults."""

    timezone: str = "Europe/Moscow"
    evening: time = time(18)
    preferences: PreferenceDefaults = field(default_factory=PreferenceDefaults)
    retention_days: int = DEFAULT_RETENTION_DAYS


async def _exclusive(session: AsyncSession, job: str) -> bool:
    """Only one process runs a job at a time (PostgreSQL); SQLite runs one process anyway."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(LOCKS[job]))))


async def _schools(session: AsyncSession, default: str) -> list[tuple[int, ZoneInfo]]:
    """Every school with its zone (`default` when it has none or an unknown one)."""
    rows = await session.execute(select(School.id, School.timezone))
    return [(school_id, zone_of(name, default)) for school_id, name in rows]


def _family_payload(student_ids: list[int], **extra: Any) -> dict[str, Any]:
    return {"student_id": student_ids[0], "student_ids": student_ids, **extra}


def _family_rows(
    families: dict[int, list[int]], event: NotificationEvent, key: DedupKey, **extra: Any
) -> list[NewRow]:
    """One row of `event` per family member (account: students), `extra` in every payload."""
    return [
        NewRow(account_id, event, key, _family_payload(students, **extra))
        for account_id, students in families.items()
    ]


# --- the jobs ----------------------------------------------------------------------------------

#: What a job writes for one school at one moment: (session, school_id, local now, now, config).
RowBuilder = Callable[[AsyncSession, int, datetime, datetime, JobConfig], Awaitable[list[NewRow]]]


#: How every job is called (by the scheduler, `run_all` and tests): (session factory, *, now,
#: config) -> rows or items done.
Job = Callable[..., Awaitable[int]]


#: What a job does in its session: (session, now, config) -> rows or items done.
Work = Callable[[AsyncSession, datetime, JobConfig], Awaitable[int]]


def _job(name: str, work: Work) -> Job:
    """A job: `work` in a session of its own under the job's lock (`name`: see `LOCKS`), then
    one commit; 0 without running it while another process holds the lock."""

    async def job(
        session_factory: async_sessionmaker[AsyncSession],
        *,
        now: datetime | None = None,
        config: JobConfig | None = None,
    ) -> int:
        moment = now or utcnow()
        settings = config or JobConfig()
        async with session_factory() as session:
            if not await _exclusive(session, name):
                return 0
            done = await work(session, moment, settings)
            await session.commit()
        return done

    job.__name__ = job.__qualname__ = f"{name}_job"
    return job


def _per_school(build: RowBuilder) -> Work:
    """The work of a family job: the rows `build` wants written for each school at its local
    time (dedup keys make repeats free); returns the rows added."""

    async def each_school(session: AsyncSession, now: datetime, config: JobConfig) -> int:
        added = 0
        for school_id, zone in await _schools(session, config.timezone):
            rows = await build(session, school_id, now.astimezone(zone), now, config)
            added += await enqueue_rows(session, rows, now=now)
        return added

    return each_school


async def _digest_readers(
    session: AsyncSession, links: dict[int, list[int]], config: JobConfig, by: time | None = None
) -> dict[int, list[int]]:
    """The family members of `links` (account: students) with the digest on; `by`: only
    those whose digest time has come by then."""
    prefs = await load_preferences(session, links, config.preferences)
    return {
        account_id: students
        for account_id, students in links.items()
        if account_id in prefs
        and prefs[account_id].digest_on
        and (by is None or prefs[account_id].digest_time <= by)
    }


def _is_evening(local: datetime, config: JobConfig) -> bool:
    return local.time().replace(tzinfo=None) >= config.evening


async def _digest_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    links = by_account(await family_links(session, school_id, now))
    readers = await _digest_readers(session, links, config, local.time().replace(tzinfo=None))
    day = local.date()
    return _family_rows(
        readers, NotificationEvent.DIGEST, DedupKey.digest(day), date=day.isoformat()
    )


#: Each family member whose digest time has come today gets today's digest (once).
daily_digests = _job("digests", _per_school(_digest_rows))


async def _weekly_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    if local.isoweekday() != 7 or not _is_evening(local, config):
        return []
    monday = local.date() - timedelta(days=6)
    links = by_account(await family_links(session, school_id, now), TrustScope.GRADES)
    readers = await _digest_readers(session, links, config)
    key = DedupKey.weekly(monday)
    return _family_rows(readers, NotificationEvent.WEEKLY, key, week_start=monday.isoformat())


#: On Sunday evening, every family with the digest on gets the week's summary chart.
weekly_summaries = _job("weekly", _per_school(_weekly_rows))


async def _current_classes(session: AsyncSession, school_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(SchoolClass.id)
            .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(SchoolClass.school_id == school_id, AcademicYear.is_current)
        )
    )


#: What an evening job writes about tomorrow for one school: (session, school_id, local now,
#: tomorrow, now).
TomorrowBuilder = Callable[[AsyncSession, int, datetime, date, datetime], Awaitable[list[NewRow]]]


def _evening_before(build: TomorrowBuilder) -> RowBuilder:
    """The rows `build` wants written about tomorrow (the school's local date), from the
    school's evening on; none earlier in the day."""

    async def rows(
        session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
    ) -> list[NewRow]:
        if not _is_evening(local, config):
            return []
        return await build(session, school_id, local, local.date() + timedelta(days=1), now)

    return rows


async def _homework_due_rows(
    session: AsyncSession, school_id: int, local: datetime, tomorrow: date, now: datetime
) -> list[NewRow]:
    students = await session.execute(
        select(Student.account_id, Student.id)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .join(Account, Account.id == Student.account_id)
        .where(
            enrolment.current(local.date()),
            Account.is_active.is_(True),
            Enrollment.class_id.in_(
                select(Homework.class_id)
                .where(Homework.due_date == tomorrow)
                .where(Homework.class_id.in_(await _current_classes(session, school_id)))
            ),
        )
        .distinct()
    )
    return [
        NewRow(
            account_id,
            NotificationEvent.HOMEWORK_DUE,
            DedupKey.homework_due(tomorrow, student_id),
            {"student_id": student_id, "date": tomorrow.isoformat()},
        )
        for account_id, student_id in students
        if account_id is not None  # joined to Account: never None here
    ]


#: In the evening, each student with homework due tomorrow gets a reminder (once).
homework_reminders = _job("homework_due", _per_school(_evening_before(_homework_due_rows)))


async def _timetable_rows(
    session: AsyncSession, school_id: int, local: datetime, tomorrow: date, now: datetime
) -> list[NewRow]:
    changed = list(
        await session.execute(
            select(Lesson.id, Lesson.class_id, Lesson.cancelled, Lesson.replacement_teacher_id)
            .where(
                Lesson.date == tomorrow,
                Lesson.class_id.in_(await _current_classes(session, school_id)),
                or_(Lesson.cancelled.is_(True), Lesson.replacement_teacher_id.is_not(None)),
            )
            .order_by(Lesson.id)
        )
    )
    if not changed:
        return []
    lessons_of: dict[int, list[int]] = defaultdict(list)
    for lesson_id, class_id, _cancelled, _replacement in changed:
        lessons_of[class_id].append(lesson_id)
    signature = hashlib.sha1(
        repr([tuple(r) for r in changed]).encode(), usedforsecurity=False
    ).hexdigest()[:12]
    enrolled = await session.execute(
        select(Enrollment.student_id, Enrollment.class_id).where(
            Enrollment.class_id.in_(sorted(lessons_of)), enrolment.current(local.date())
        )
    )
    class_of = dict(enrolled.all())
    links = by_account(await family_links(session, school_id, now, class_of), TrustScope.SCHEDULE)
    return [
        NewRow(
            account_id,
            NotificationEvent.TIMETABLE,
            DedupKey.timetable(tomorrow, signature),
            _family_payload(
                students,
                date=tomorrow.isoformat(),
                lesson_ids=sorted({i for s in students for i in lessons_of[class_of[s]]}),
            ),
        )
        for account_id, students in links.items()
    ]


#: In the evening, families hear of tomorrow's cancelled and replaced lessons; a later change
#: sends an updated message (the dedup key names the set of changes).
timetable_changes = _job("timetable", _per_school(_evening_before(_timetable_rows)))


async def _period_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    today = local.date()
    last = today if _is_evening(local, config) else today - timedelta(days=1)
    periods = list(
        await session.execute(
            select(Period.id, Period.kind, Period.ends_on)
            .join(AcademicYear, AcademicYear.id == Period.year_id)
            .where(
                AcademicYear.school_id == school_id,
                Period.ends_on <= last,
                Period.ends_on >= today - PERIOD_CATCH_UP,
            )
        )
    )
    chosen: dict[date, tuple[int, Any]] = {}
    for period_id, kind, ends_on in periods:
        best = chosen.get(ends_on)
        if best is None or period_kind_order(kind) < period_kind_order(best[1]):
            chosen[ends_on] = (period_id, kind)
    if not chosen:
        return []
    links = by_account(await family_links(session, school_id, now), TrustScope.GRADES)
    readers = await _digest_readers(session, links, config)
    return [
        row
        for period_id, _kind in chosen.values()
        for row in _family_rows(
            readers,
            NotificationEvent.PERIOD_SUMMARY,
            DedupKey.period_summary(period_id),
            period_id=period_id,
        )
    ]


#: On the evening a period ends (or within three days after, catching up), families with the
#: digest on get its summary; when several periods end together, the longest one.
period_summaries = _job("period_summary", _per_school(_period_rows))


async def _prune_outbox(session: AsyncSession, now: datetime, config: JobConfig) -> int:
    return await prune(session, now)


#: Nightly: forget outbox rows that are long done (see `services.notify.outbox.prune`).
prune_outbox = _job("prune", _prune_outbox)


async def _retain(session: AsyncSession, now: datetime, config: JobConfig) -> int:
    return (await apply_retention(session, now=now, days=config.retention_days)).total


#: Nightly: forget personal data older than RETENTION_DAYS (see
#: `services.people.privacy.apply_retention`); returns the rows deleted or stripped.
personal_data_retention = _job("retention", _retain)


async def _prune_code_attempts(session: AsyncSession, now: datetime, config: JobConfig) -> int:
    return await prune_attempts(session, before=now - ATTEMPT_KEEP)


#: Hourly: forget redemption attempts older than `codes.ATTEMPT_KEEP` (they only feed the
#: hourly attempt limits; the audit log keeps the failed codes). Returns rows removed.
prune_code_attempts = _job("code_attempts", _prune_code_attempts)


JOBS: dict[str, Job] = {
    "digests": daily_digests,
    "weekly": weekly_summaries,
    "homework_due": homework_reminders,
    "timetable": timetable_changes,
    "period_summary": period_summaries,
    "prune": prune_outbox,
    "retention": personal_data_retention,
    "code_attempts": prune_code_attempts,
}


async def run_all(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> dict[str, int]:
    """Every job once (what start-up does to catch up): rows added per job."""
    return {name: await job(session_factory, now=now, config=config) for name, job in JOBS.items()}


def evening_of(day: date, zone: ZoneInfo, config: JobConfig) -> datetime:
    """The moment the evening jobs fire on a local day (tests and docs)."""
    return datetime.combine(day, config.evening, tzinfo=zone)
