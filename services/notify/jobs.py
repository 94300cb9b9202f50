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


async def _locked(
    session_factory: async_sessionmaker[AsyncSession],
    job: str,
    work: Callable[[AsyncSession], Awaitable[int]],
) -> int:
    """Run `work` in a session of its own under the job's lock and commit; 0 without running
    it while another process holds the lock."""
    async with session_factory() as session:
        if not await _exclusive(session, job):
            return 0
        done = await work(session)
        await session.commit()
    return done


async def _schools(session: AsyncSession, default: str) -> list[tuple[int, ZoneInfo]]:
    """Every school with its zone (`default` when it has none or an unknown one)."""
    rows = await session.execute(select(School.id, School.timezone))
    return [(school_id, zone_of(name, default)) for school_id, name in rows]


def _family_payload(student_ids: list[int], **extra: Any) -> dict[str, Any]:
    return {"student_id": student_ids[0], "student_ids": student_ids, **extra}


# --- the jobs ----------------------------------------------------------------------------------

#: What a job writes for one school at one moment: (session, school_id, local now, now, config).
RowBuilder = Callable[[AsyncSession, int, datetime, datetime, JobConfig], Awaitable[list[NewRow]]]


async def _per_school(
    session_factory: async_sessionmaker[AsyncSession],
    job: str,
    build: RowBuilder,
    now: datetime | None,
    config: JobConfig | None,
) -> int:
    """The frame of every family job: one session, the job's lock, each school at its local
    time, the rows its builder wants written (dedup keys make repeats free), one commit."""
    moment = now or utcnow()
    settings = config or JobConfig()

    async def each_school(session: AsyncSession) -> int:
        added = 0
        for school_id, zone in await _schools(session, settings.timezone):
            rows = await build(session, school_id, moment.astimezone(zone), moment, settings)
            added += await enqueue_rows(session, rows, now=moment)
        return added

    return await _locked(session_factory, job, each_school)


def _is_evening(local: datetime, config: JobConfig) -> bool:
    return local.time().replace(tzinfo=None) >= config.evening


async def daily_digests(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """Each family member whose digest time has come today gets today's digest (once)."""
    return await _per_school(session_factory, "digests", _digest_rows, now, config)


async def _digest_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    links = by_account(await family_links(session, school_id, now))
    prefs = await load_preferences(session, links, config.preferences)
    return [
        NewRow(
            account_id,
            NotificationEvent.DIGEST,
            DedupKey.digest(local.date()),
            _family_payload(students, date=local.date().isoformat()),
        )
        for account_id, students in links.items()
        if account_id in prefs
        and prefs[account_id].digest_on
        and prefs[account_id].digest_time <= local.time().replace(tzinfo=None)
    ]


async def weekly_summaries(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """On Sunday evening, every family with the digest on gets the week's summary chart."""
    return await _per_school(session_factory, "weekly", _weekly_rows, now, config)


async def _weekly_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    if local.isoweekday() != 7 or not _is_evening(local, config):
        return []
    monday = local.date() - timedelta(days=6)
    links = by_account(await family_links(session, school_id, now), TrustScope.GRADES)
    prefs = await load_preferences(session, links, config.preferences)
    return [
        NewRow(
            account_id,
            NotificationEvent.WEEKLY,
            DedupKey.weekly(monday),
            _family_payload(students, week_start=monday.isoformat()),
        )
        for account_id, students in links.items()
        if account_id in prefs and prefs[account_id].digest_on
    ]


async def _current_classes(session: AsyncSession, school_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(SchoolClass.id)
            .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(SchoolClass.school_id == school_id, AcademicYear.is_current)
        )
    )


async def homework_reminders(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """In the evening, each student with homework due tomorrow gets a reminder (once)."""
    return await _per_school(session_factory, "homework_due", _homework_due_rows, now, config)


async def _homework_due_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    if not _is_evening(local, config):
        return []
    tomorrow = local.date() + timedelta(days=1)
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


async def timetable_changes(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """In the evening, families hear of tomorrow's cancelled and replaced lessons; a later
    change sends an updated message (the dedup key names the set of changes)."""
    return await _per_school(session_factory, "timetable", _timetable_rows, now, config)


async def _timetable_rows(
    session: AsyncSession, school_id: int, local: datetime, now: datetime, config: JobConfig
) -> list[NewRow]:
    if not _is_evening(local, config):
        return []
    tomorrow = local.date() + timedelta(days=1)
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


async def period_summaries(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """On the evening a period ends (or within three days after, catching up), families with
    the digest on get its summary; when several periods end together, the longest one."""
    return await _per_school(session_factory, "period_summary", _period_rows, now, config)


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
    prefs = await load_preferences(session, links, config.preferences)
    return [
        NewRow(
            account_id,
            NotificationEvent.PERIOD_SUMMARY,
            DedupKey.period_summary(period_id),
            _family_payload(students, period_id=period_id),
        )
        for period_id, _kind in chosen.values()
        for account_id, students in links.items()
        if account_id in prefs and prefs[account_id].digest_on
    ]


async def prune_outbox(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """Nightly: forget outbox rows that are long done (see `services.notify.outbox.prune`)."""
    moment = now or utcnow()
    return await _locked(session_factory, "prune", lambda session: prune(session, moment))


async def personal_data_retention(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """Nightly: forget personal data older than RETENTION_DAYS (see
    `services.people.privacy.apply_retention`); returns the rows deleted or stripped."""
    moment = now or utcnow()
    days = (config or JobConfig()).retention_days

    async def retain(session: AsyncSession) -> int:
        return (await apply_retention(session, now=moment, days=days)).total

    return await _locked(session_factory, "retention", retain)


async def prune_code_attempts(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    config: JobConfig | None = None,
) -> int:
    """Hourly: forget redemption attempts older than `codes.ATTEMPT_KEEP` (they only feed the
    hourly attempt limits; the audit log keeps the failed codes). Returns rows removed."""
    before = (now or utcnow()) - ATTEMPT_KEEP
    return await _locked(
        session_factory, "code_attempts", lambda session: prune_attempts(session, before=before)
    )


JOBS = {
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
