"""School structure reads used across screens: classes an actor may open, who has access to
each student of a class, period boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import CodeKind, PeriodKind
from db.models import (
    AcademicYear,
    Account,
    Enrollment,
    Guardianship,
    Period,
    School,
    SchoolClass,
    Student,
    TrustedAccess,
)
from services.core import enrolment, links
from services.core.access import Action, denied, require
from services.core.actors import Actor, Role
from services.core.schooltime import local_date, zone_of
from services.core.schooltime import school_zone as school_zone  # callers import it from here
from services.people.codes import CodeKeys, IssuedCode, issue_codes, live_class_codes


@dataclass(frozen=True)
class ClassItem:
    id: int
    name: str


async def visible_classes(session: AsyncSession, actor: Actor) -> list[ClassItem]:
    """Classes whose access overview the actor may open (class teacher's own; all for
    head teachers and admins)."""
    if not actor.is_staff:
        return []
    query = enrolment.school_classes(actor.school_id)
    if not actor.has(Role.HEAD_TEACHER, Role.ADMIN):
        query = query.where(SchoolClass.id.in_(actor.class_teacher_of or (-1,)))
    return [ClassItem(i, n) for i, n in await session.execute(query)]


@dataclass
class StudentAccess:
    student_id: int
    name: str
    guardians: list[str] = field(default_factory=list)
    trusted: list[tuple[str, int, datetime | None]] = field(default_factory=list)


async def class_access(
    session: AsyncSession, actor: Actor, class_id: int, *, now: datetime
) -> tuple[str, list[StudentAccess]]:
    """Who has access to each student in the class today (`services.core.enrolment`): the
    active guardians and trusted persons (`services.core.links`). Four queries, whatever the
    class size."""
    await require(session, actor, Action.VIEW_CLASS_ACCESS, class_id)
    found = (
        await session.execute(
            select(SchoolClass.name, School.timezone)
            .join(School, School.id == SchoolClass.school_id)
            .where(SchoolClass.id == class_id)
        )
    ).first()
    class_name, timezone = found if found is not None else (None, None)
    in_class = and_(
        Enrollment.class_id == class_id,
        enrolment.covers_day(local_date(now, zone_of(timezone))),
    )
    students = await session.execute(
        select(Student.id, Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(in_class)
        .order_by(Student.full_name)
    )
    rows = {sid: StudentAccess(sid, name) for sid, name in students}
    guardians = await session.execute(
        select(Guardianship.student_id, Account.full_name)
        .join(Account, Account.id == Guardianship.account_id)
        .join(Enrollment, Enrollment.student_id == Guardianship.student_id)
        .where(in_class, links.guardianship_active())
        .order_by(Account.full_name)
    )
    for sid, name in guardians:
        rows[sid].guardians.append(name)
    trusted = await session.execute(
        select(
            TrustedAccess.student_id,
            Account.full_name,
            TrustedAccess.scopes,
            TrustedAccess.expires_at,
        )
        .join(Account, Account.id == TrustedAccess.account_id)
        .join(Enrollment, Enrollment.student_id == TrustedAccess.student_id)
        .where(in_class, links.trust_active(now))
        .order_by(Account.full_name)
    )
    for sid, name, scopes, expires_at in trusted:
        rows[sid].trusted.append((name, scopes, expires_at))
    return class_name or "", list(rows.values())


EXPIRY_WEEK, EXPIRY_MONTH, EXPIRY_PERIOD, EXPIRY_YEAR = 1, 2, 3, 4


async def expiry_choices(
    session: AsyncSession, school_id: int | None, *, now: datetime, zone: ZoneInfo
) -> dict[int, datetime]:
    """Expiry options for a trusted grant, as the end of a local day in the school's zone."""
    today = local_date(now, zone)

    def end_of(day: date) -> datetime:
        return datetime.combine(day, time(23, 59), tzinfo=zone)

    choices = {
        EXPIRY_WEEK: end_of(today + timedelta(days=7)),
        EXPIRY_MONTH: end_of(today + timedelta(days=30)),
    }
    if school_id is not None:
        periods = await session.execute(
            select(Period.kind, Period.ends_on)
            .join(AcademicYear, AcademicYear.id == Period.year_id)
            .where(
                AcademicYear.school_id == school_id,
                Period.starts_on <= today,
                Period.ends_on >= today,
            )
        )
        for kind, ends_on in periods:
            if kind == PeriodKind.YEAR:
                choices[EXPIRY_YEAR] = end_of(ends_on)
            elif EXPIRY_PERIOD not in choices or end_of(ends_on) < choices[EXPIRY_PERIOD]:
                choices[EXPIRY_PERIOD] = end_of(ends_on)
    return choices


async def student_name(session: AsyncSession, student_id: int) -> str:
    return await session.scalar(select(Student.full_name).where(Student.id == student_id)) or ""


@dataclass(frozen=True)
class IssuedBatch:
    school_name: str
    timezone: str
    class_name: str
    codes: list[IssuedCode]


@dataclass(frozen=True)
class ReissueNeeded:
    """Nothing was issued: `unused` codes of this class and kind are still live (possibly
    printed and handed out) and re-issuing would cancel them. Confirming passes `newest_id`
    back as `replacing`."""

    class_name: str
    kind: CodeKind
    unused: int
    newest_id: int


async def issue_class_codes(
    session: AsyncSession,
    actor: Actor,
    class_id: int,
    kind: CodeKind,
    *,
    keys: CodeKeys,
    replacing: int = 0,
    now: datetime | None = None,
) -> IssuedBatch | ReissueNeeded:
    """An admin issues letters for a class from the bot; committed before returning.

    When codes of the class and kind are still live, nothing is issued unless `replacing` is
    the newest of them (the admin saw and confirmed cancelling exactly those): otherwise
    `ReissueNeeded`. So a second press, a replayed press or a replayed confirmation (whose
    codes were replaced meanwhile) asks again instead of silently revoking printed letters.
    Concurrent issues for one class are serialized by a row lock on PostgreSQL (SQLite has a
    single writer).
    """
    await require(session, actor, Action.ISSUE_CODES)
    now = now or utcnow()
    row = (
        await session.execute(
            select(SchoolClass.name, School.id, School.name, School.timezone)
            .join(School, School.id == SchoolClass.school_id)
            .where(SchoolClass.id == class_id)
            .with_for_update(of=SchoolClass)
        )
    ).first()
    if row is None or row[1] != actor.school_id:
        raise denied(Action.ISSUE_CODES, class_id)
    class_name, school_id, school_name, timezone = row
    live = await live_class_codes(
        session, school_id=school_id, class_name=class_name, kind=kind, now=now
    )
    if live.count and live.newest_id != replacing:
        await session.commit()  # nothing was written; ends the transaction and its lock
        return ReissueNeeded(class_name, CodeKind(kind), live.count, live.newest_id)
    issued = await issue_codes(
        session,
        school_id=school_id,
        class_name=class_name,
        kind=kind,
        created_by_id=actor.account_id,
        keys=keys,
        now=now,
    )
    await session.commit()
    return IssuedBatch(school_name, timezone, class_name, issued)


async def class_name_for_codes(session: AsyncSession, actor: Actor, class_id: int) -> str:
    await require(session, actor, Action.ISSUE_CODES)
    row = (
        await session.execute(
            select(SchoolClass.name, SchoolClass.school_id).where(SchoolClass.id == class_id)
        )
    ).first()
    if row is None or row[1] != actor.school_id:
        raise denied(Action.ISSUE_CODES, class_id)
    return str(row[0])


async def find_school(session: AsyncSession, name: str | None = None) -> School:
    """The school a console command acts on: by name, or the only one there is."""
    query = select(School).order_by(School.id)
    if name:
        query = query.where(School.name == name)
    schools = list((await session.scalars(query.limit(2))).all())
    if not schools:
        raise LookupError(f"no school named {name!r}" if name else "no school in the database")
    if len(schools) > 1 and not name:
        raise LookupError("several schools: choose one with --school")
    return schools[0]


async def find_student(session: AsyncSession, wanted: str) -> tuple[int, str]:
    """The student a console command names: `#12` or `12` (an id), else a name, matched
    without regard to case: the exact full name, else the only name containing it. Returns
    (id, full name); `LookupError` saying why when none or several match."""
    text = wanted.strip()
    number = text.removeprefix("#")
    if number.isdigit():
        name = await session.scalar(select(Student.full_name).where(Student.id == int(number)))
        if name is None:
            raise LookupError(f"no student #{number}")
        return int(number), name
    folded = " ".join(text.split()).casefold()
    if not folded:
        raise LookupError("no student named ''")
    rows = (await session.execute(select(Student.id, Student.full_name).order_by(Student.id))).all()
    exact = [(i, n) for i, n in rows if " ".join(n.split()).casefold() == folded]
    found = exact or [(i, n) for i, n in rows if folded in n.casefold()]
    if not found:
        raise LookupError(f"no student named {text!r}")
    if len(found) > 1:
        shown = ", ".join(f"#{i} {n}" for i, n in found[:5]) + (", …" if len(found) > 5 else "")
        raise LookupError(f"several students match {text!r}: {shown}; give the id")
    return found[0]
