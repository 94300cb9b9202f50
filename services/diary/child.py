"""Who a diary screen is about: the student the actor follows, what the actor may see of them
(`Scopes`), the class and year shown (`Child`), and why a link that once was has ended.

Every diary screen starts with `open_child`: the access policy (`services.core.access`) says
whether the actor follows the student, then one statement loads the student's context.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.jsonrows import json_rows
from db.models import (
    AcademicYear,
    Enrollment,
    GradesSeen,
    Guardianship,
    Holiday,
    Period,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from services.core import links
from services.core.access import Action, can, child_ref, denied, require
from services.core.actors import Actor, ChildRef, Role
from services.core.enrolment import stay_covers
from services.core.errors import DomainError, Shown
from services.core.schooltime import local_date, zone_of
from services.core.timetable import SLOT_COLUMNS, slot_in_force
from services.people import linking, opened

_READ_ACTIONS = (
    Action.VIEW_GRADES,
    Action.VIEW_HOMEWORK,
    Action.VIEW_ATTENDANCE,
    Action.VIEW_SCHEDULE,
)


@dataclass(frozen=True)
class Scopes:
    """What the actor may see of this student (all four for parents and the student)."""

    grades: bool = True
    homework: bool = True
    attendance: bool = True
    schedule: bool = True

    @property
    def any(self) -> bool:
        return self.grades or self.homework or self.attendance or self.schedule


@dataclass(frozen=True)
class YearInfo:
    id: int
    name: str
    starts_on: date
    ends_on: date
    is_current: bool

    @classmethod
    def of(cls, row: Sequence[Any]) -> YearInfo:
        """A year from its `YEAR_COLUMNS`."""
        year_id, name, starts_on, ends_on, is_current = row
        return cls(year_id, name, starts_on, ends_on, bool(is_current))


#: a school year as `YearInfo.of` reads it
YEAR_COLUMNS = (
    AcademicYear.id,
    AcademicYear.name,
    AcademicYear.starts_on,
    AcademicYear.ends_on,
    AcademicYear.is_current,
)


@dataclass(frozen=True)
class Preloaded:
    """Small lists the context statement brought along (`open_child`'s `window`, `periods`
    and `seen_by`), as `db.jsonrows.json_rows` rows; None: not asked for (the screen reads
    it itself)."""

    #: the days [first, last] the holidays and timetable slots below cover
    window: tuple[date, date] | None = None
    #: the school's holidays touching the window: ``[name, starts_on, ends_on]``
    holidays: list[list[Any]] | None = None
    #: the timetable slots of the class shown in force in the window (`SLOT_JSON` columns)
    slots: list[list[Any]] | None = None
    #: the periods of the year shown: ``[id, kind, number, starts_on, ends_on, closed]``
    periods: list[list[Any]] | None = None
    #: whether `seen_at` was read (for `seen_by`)
    has_seen: bool = False
    #: when the account last entered the student's grades (`GradesSeen.seen_at`)
    seen_at: datetime | None = None


@dataclass(frozen=True)
class Child:
    """The student a screen is about, as the current actor sees them."""

    student_id: int
    name: str
    class_id: int | None
    class_name: str | None
    school_id: int
    zone: ZoneInfo
    today: date
    year: YearInfo | None
    via: Role
    scopes: Scopes
    spoiler_setting: bool
    expires_at: datetime | None = None
    preloaded: Preloaded = field(default_factory=Preloaded, compare=False, repr=False)

    @property
    def is_own(self) -> bool:
        """The actor is this student."""
        return self.via == Role.STUDENT

    @property
    def spoiler(self) -> bool:
        """Grade values go under a spoiler (the student's own choice, for their own eyes)."""
        return self.is_own and self.spoiler_setting


@dataclass(frozen=True)
class EndedAccess:
    """Why a person no longer sees a student: a trusted grant expired or was revoked, or a
    guardian link was revoked."""

    student_name: str
    ended_at: datetime | None
    revoked: bool
    trusted: bool


async def scopes_for(session: AsyncSession, actor: Actor, student_id: int) -> Scopes:
    """The four read permissions, asked of the policy (no query for the actor's children)."""
    allowed = [await can(session, actor, action, student_id) for action in _READ_ACTIONS]
    return Scopes(*allowed)


async def ended_access(
    session: AsyncSession, actor: Actor, student_id: int | None = None, *, now: datetime
) -> EndedAccess | None:
    """The most recent trusted grant or guardian link of the actor that has ended (for one
    student, or any); None when there is none. Two statements at most."""
    if actor.account_id is None:
        return None
    ended_at = func.coalesce(TrustedAccess.revoked_at, TrustedAccess.expires_at)
    trusted = (
        select(Student.full_name, TrustedAccess.revoked_at, TrustedAccess.expires_at)
        .join(Student, Student.id == TrustedAccess.student_id)
        .where(
            TrustedAccess.account_id == actor.account_id,
            links.trust_ended(now),
        )
        .order_by(ended_at.desc())
        .limit(1)
    )
    if student_id is not None:
        trusted = trusted.where(TrustedAccess.student_id == student_id)
    row = (await session.execute(trusted)).first()
    if row is not None:
        name, revoked_at, expires_at = row
        revoked = revoked_at is not None
        return EndedAccess(name, revoked_at if revoked else expires_at, revoked, True)
    guardian = (
        select(Student.full_name, Guardianship.revoked_at)
        .join(Student, Student.id == Guardianship.student_id)
        .where(
            Guardianship.account_id == actor.account_id,
            links.guardianship_ended(),
        )
        .order_by(Guardianship.revoked_at.desc())
        .limit(1)
    )
    if student_id is not None:
        guardian = guardian.where(Guardianship.student_id == student_id)
    revoked_guardianship = (await session.execute(guardian)).first()
    if revoked_guardianship is not None:
        return EndedAccess(revoked_guardianship[0], revoked_guardianship[1], True, False)
    return None


async def _follow(
    session: AsyncSession, actor: Actor, student_id: int, action: Action | None, now: datetime
) -> tuple[ChildRef, Scopes]:
    """The actor's link to this student and what it allows; refuses (or explains an ended
    grant) when there is none. The diary shows only the students the actor follows."""
    ref = child_ref(actor, student_id)
    refused = action or Action.VIEW_SCHEDULE
    if ref is None:
        ended = await ended_access(session, actor, student_id, now=now)
        if ended is not None:  # the actor followed this student once: explain, in place
            raise DomainError(
                "access.ended",
                shown=Shown.SCREEN,
                action=refused,
                target_id=student_id,
                ended=ended,
            )
        raise denied(refused, student_id)
    if action is not None:
        await require(session, actor, action, student_id)
    scopes = await scopes_for(session, actor, student_id)
    if not scopes.any:
        raise denied(refused, student_id)
    return ref, scopes


def _pick_stay(
    rows: Sequence[Any], *, now: datetime, day: date | None, year_id: int | None, by_period: bool
) -> tuple[Any, ...] | None:
    """Of a student's stays (`_context`'s rows), the one a diary screen is about: the wanted
    year's (the period's, or `year_id`), else the year holding `day`; then a current year; then
    the stay covering the day shown, else the school-local today (`services.core.enrolment`:
    the class before a mid-year move for days before it); then the latest year and enrolment.
    A student who left keeps their last class here, so the family still reads its history.
    Returns the whole row (None without rows)."""
    if not rows:
        return None
    on = day or local_date(now, zone_of(rows[0][3]))
    wanted = rows[0][-1] if by_period else year_id
    holding = day if wanted is None and not by_period else None

    def rank(row: Any) -> tuple[int, ...]:
        y_id, _name, y_start, y_end, y_cur, e_id, enrolled_on, left_on = row[6:14]
        return (
            0 if wanted is not None and y_id == wanted else 1,
            0 if holding is not None and y_start is not None and y_start <= holding <= y_end else 1,
            0 if y_cur else 1,
            0 if e_id is not None and stay_covers(enrolled_on, left_on, on) else 1,
            -y_start.toordinal() if y_start is not None else 1,
            -(enrolled_on or date.min).toordinal(),
            -(e_id or 0),
        )

    return tuple(min(rows, key=rank))


#: a timetable slot as `Preloaded.slots` holds it (`SLOT_COLUMNS`, then the subject, its name,
#: the teacher's name and the slot's id)
SLOT_JSON = (
    *SLOT_COLUMNS,
    TeachingAssignment.subject_id,
    Subject.name,
    Staff.full_name,
    TimetableSlot.id,
)


def _extras(window: bool, periods: bool, seen: bool) -> list[Any]:
    """The `Preloaded` columns of the context statement: JSON lists correlated to the school
    and to each stay's class and year (the window ``first``..``last``; the grades ``seen_by``
    an account of ``student_id``)."""
    columns: list[Any] = []
    if window:
        first: Any = bindparam("first")
        last: Any = bindparam("last")
        columns.append(
            select(json_rows(Holiday.name, Holiday.starts_on, Holiday.ends_on))
            .where(
                Holiday.school_id == Student.school_id,
                Holiday.starts_on <= last,
                Holiday.ends_on >= first,
            )
            .scalar_subquery()
        )
        columns.append(
            select(json_rows(*SLOT_JSON))
            .select_from(TimetableSlot)
            .join(TeachingAssignment, TeachingAssignment.id == TimetableSlot.assignment_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .outerjoin(Staff, Staff.id == TeachingAssignment.teacher_id)
            .where(TeachingAssignment.class_id == SchoolClass.id, slot_in_force(first, last))
            .scalar_subquery()
        )
    if periods:
        columns.append(
            select(
                json_rows(
                    Period.id,
                    Period.kind,
                    Period.number,
                    Period.starts_on,
                    Period.ends_on,
                    Period.closed_at.is_not(None),
                )
            )
            .where(Period.year_id == AcademicYear.id)
            .scalar_subquery()
        )
    if seen:
        columns.append(
            select(GradesSeen.seen_at)
            .where(
                GradesSeen.account_id == bindparam("seen_by"),
                GradesSeen.student_id == bindparam("student_id"),
            )
            .scalar_subquery()
        )
    return columns


@functools.cache
def _context_statement(window: bool, periods: bool, seen: bool, by_period: bool) -> Any:
    """`_context`'s statement for one combination of what it preloads, built once with bound
    parameters (``student_id``, and ``first``/``last``, ``seen_by``, ``period_id`` as asked):
    every diary screen runs it, and building it cost about a millisecond."""
    period_year: Any = null()
    if by_period:
        period_year = (
            select(Period.year_id).where(Period.id == bindparam("period_id")).scalar_subquery()
        )
    return (
        select(
            Student.full_name,
            Student.school_id,
            Student.grades_spoiler,
            School.timezone,
            SchoolClass.id,
            SchoolClass.name,
            *YEAR_COLUMNS,
            Enrollment.id,
            Enrollment.enrolled_on,
            Enrollment.left_on,
            *_extras(window, periods, seen),
            period_year,
        )
        .join(School, School.id == Student.school_id)
        .outerjoin(Enrollment, Enrollment.student_id == Student.id)
        .outerjoin(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .outerjoin(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(Student.id == bindparam("student_id"))
    )


async def _context(
    session: AsyncSession,
    ref: ChildRef,
    scopes: Scopes,
    *,
    now: datetime,
    day: date | None = None,
    year_id: int | None = None,
    period_id: int | None = None,
    window: tuple[date, date] | None = None,
    periods: bool = False,
    seen_by: int | None = None,
) -> Child:
    """One statement: the student, the school's zone and every stay of theirs, of which
    `_pick_stay` keeps the class of the wanted year (the period's, the given one, the one
    holding `day`, else the current one); with what `Preloaded` holds when asked for."""
    params: dict[str, Any] = {"student_id": ref.student_id}
    if window is not None:
        params["first"], params["last"] = window
    if seen_by is not None:
        params["seen_by"] = seen_by
    if period_id is not None:
        params["period_id"] = period_id
    statement = _context_statement(
        window is not None, periods, seen_by is not None, period_id is not None
    )
    rows = (await session.execute(statement, params)).all()
    row = _pick_stay(rows, now=now, day=day, year_id=year_id, by_period=period_id is not None)
    if row is None:
        raise denied(Action.VIEW_SCHEDULE, ref.student_id)
    name, school_id, spoiler, tz, class_id, class_name = row[:6]
    loaded = list(row[14:-1])
    preloaded = Preloaded(
        window=window,
        holidays=loaded.pop(0) if window is not None else None,
        slots=loaded.pop(0) if window is not None else None,
        periods=loaded.pop(0) if periods else None,
        has_seen=seen_by is not None,
        seen_at=loaded.pop(0) if seen_by is not None else None,
    )
    zone = zone_of(tz)
    year = YearInfo.of(row[6:11]) if row[6] is not None else None
    if (year_id is not None or period_id is not None) and year is None:
        raise denied(Action.VIEW_GRADES, ref.student_id)
    if year_id is not None and year is not None and year.id != year_id:
        raise denied(Action.VIEW_GRADES, ref.student_id)
    return Child(
        student_id=ref.student_id,
        name=name,
        class_id=class_id,
        class_name=class_name,
        school_id=school_id,
        zone=zone,
        today=local_date(now, zone),
        year=year,
        via=ref.via,
        scopes=scopes,
        spoiler_setting=bool(spoiler),
        expires_at=ref.expires_at,
        preloaded=preloaded,
    )


#: how far around the day asked for (or the UTC date) `open_child`'s `around` reaches: a
#: week either side, and a day for the school's zone
AROUND = timedelta(days=8)


async def open_child(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    action: Action | None = None,
    *,
    now: datetime | None = None,
    day: date | None = None,
    year_id: int | None = None,
    period_id: int | None = None,
    around: bool = False,
    periods: bool = False,
    seen: bool = False,
) -> Child:
    """Check the actor may see this student (and do `action`) and load the student's context,
    in one statement with what the screen asks for (`Preloaded`): `around`, the holidays and
    timetable slots of the weeks around `day` (else today); `periods`, the year's periods;
    `seen`, when the actor last entered the student's grades."""
    now = now or utcnow()
    ref, scopes = await _follow(session, actor, student_id, action, now)
    window = None
    if around:
        middle = day or now.date()
        window = (max(middle - AROUND, date.min), min(middle + AROUND, date.max))
    return await _context(
        session,
        ref,
        scopes,
        now=now,
        day=day,
        year_id=year_id,
        period_id=period_id,
        window=window,
        periods=periods,
        seen_by=actor.account_id if seen else None,
    )


async def office_child(session: AsyncSession, student_id: int, *, now: datetime) -> Child:
    """A student's context for the school's office (the console, no actor): every scope, the
    class of today (or of the student's latest stay). `LookupError` for an unknown id."""
    if await session.get(Student, student_id) is None:
        raise LookupError(f"no student #{student_id}")
    ref = ChildRef(student_id, "", None, Role.PARENT)
    return await _context(session, ref, Scopes(), now=now)


async def record_opened(session: AsyncSession, actor: Actor, student_id: int) -> None:
    """Stamp "last opened the diary" on a guardian's link or a trusted grant (students are
    not tracked). Called when a diary is entered, not on every navigation step. In the bot
    the stamp is noted in memory and written later (`services.people.opened`); without the
    bot's stamps it is written and committed at once."""
    ref = child_ref(actor, student_id)
    if ref is None or ref.via not in (Role.PARENT, Role.TRUSTED) or actor.account_id is None:
        return
    if await opened.record(session, actor.account_id, student_id, utcnow()):
        return  # the bot writes its stamps in batches: the screen stays a pure read
    await linking.touch_opened(session, actor, student_id)
    await session.commit()
