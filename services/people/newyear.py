"""A new school year: the next year and its periods, classes promoted, the last grade graduated.

`plan_new_year` reads what would happen (the dry run); `start_new_year` does it in one
transaction and commits. Decisions (docs/new-year.md tells the administrator the same):

* **When.** The current year must be over: the new year starts from the day after the current
  year's last day (`YearPlan.ready_on`). Before that the journal still runs in the current
  year, so starting early is refused (``year.not_over``); the plan itself can be read any time.
  Once started, the new year is current and not over, so a second run is refused the same way
  and changes nothing. A later year already on file (an import made it) is refused too
  (``year.next_exists``): the school moves to it by hand, not by guessing.
* **The new year** copies the shape of the current one shifted by a calendar year (1 Sep –
  31 May becomes 1 Sep – 31 May; 29 February becomes 28 February), never starting before the
  current year has ended; its name is ``"YYYY/YYYY+1"``. It becomes the current year.
* **Periods** copy the current year's kinds and numbers with dates shifted the same way (no
  weekday adjustment), cut to the new year; a boundary on the old year's first or last day
  stays on the new year's; none is closed. Holidays are left to the
  administrator: they change every year, and a guessed holiday would hide school days.
* **Classes** below `last_grade` get a successor in the new year: the leading number of the
  name bumped (7Б → 8Б, 10A → 11A), the grade level plus one, the same class teacher. A name
  without a leading number is kept and reported (`YearWarning`). Two successors with one
  name are refused (``year.name_clash``): the administrator renames first.
* **Students** still in a class (no ``left_on``) move on the switch day (`YearPlan.switch_on`,
  the day after the old year's last day): the old stay gets ``left_on`` = that day (the first
  day they are no longer in it, `services.core.enrolment`) and the successor a stay from that
  day, so a promoted student always has a current class, through the summer too. Students
  who have left are not carried. A student with two open stays (a roster mistake) is carried
  once, from the stay `services.core.enrolment` calls current (the latest).
* **The last grade** (`last_grade` and above) graduates: their stays end on the switch day;
  guardianships and trusted grants of the graduates are revoked now (the rows stay: history),
  their unused access codes revoked, their pending link requests cancelled, and accounts
  pointing at them as the chosen child (`Account.current_student_id`) point nowhere. Accounts
  left without any link lose their personal data (`services.people.privacy.forget_unlinked`,
  as when a link is revoked by hand). A graduate's own student account stays linked: they
  can still read their own history.
* **Not carried**: teaching assignments, the timetable and lessons (the new year's come from
  the import), holidays, new first grades. Everything of the old year (lessons, grades,
  attendance, homework, period grades) stays as it is and stays readable in the diary
  ("Earlier years").
* **Guardians and trusted persons** of promoted students are untouched: they are linked to the
  student, not to the class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import PeriodKind, RequestStatus
from db.models import (
    AcademicYear,
    AccessCode,
    Account,
    Enrollment,
    Guardianship,
    LinkRequest,
    Period,
    School,
    SchoolClass,
    Student,
    TrustedAccess,
)
from services.core import audit, links
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.people import privacy

#: the highest grade a school may name (`SchoolClass.grade_level`)
MAX_GRADE = 12
#: how long a class name may be (`SchoolClass.name`)
NAME_LENGTH = 16
_LEADING_NUMBER = re.compile(r"^(\d+)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class YearRef:
    """A school year as the plan names it."""

    id: int
    name: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class PeriodPlan:
    kind: PeriodKind
    number: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Promotion:
    """A class of the current year and its successor in the new one."""

    class_id: int
    name: str
    grade_level: int
    new_name: str
    new_grade_level: int
    class_teacher_id: int | None
    students: int  # carried into the successor


@dataclass(frozen=True)
class Graduation:
    """A class of the last grade: its students leave the school."""

    class_id: int
    name: str
    students: tuple[str, ...]  # names, in alphabetical order


@dataclass(frozen=True)
class YearWarning:
    """Something the administrator should look at; `key` names it (``unnumbered_name``: the
    class keeps its name; ``period_dropped``: a shifted period fell outside the new year)."""

    key: str
    subject: str  # the class name or the period ("quarter 4")


@dataclass(frozen=True)
class EndedLinks:
    """What graduating ended (counted before it is written, so a dry run shows it too)."""

    guardianships: int = 0
    trusted: int = 0
    codes: int = 0
    requests: int = 0


@dataclass(frozen=True)
class YearPlan:
    """What starting the new year does (or did: `new_year_id` is set once applied)."""

    school_id: int
    school_name: str
    current: YearRef
    name: str
    starts_on: date
    ends_on: date
    switch_on: date  # students move into the successor classes on this day
    ready_on: date  # the first day the plan may be applied
    periods: tuple[PeriodPlan, ...]
    promotions: tuple[Promotion, ...]
    graduations: tuple[Graduation, ...]
    left: int  # students of the current year who had left: not carried
    ended: EndedLinks
    warnings: tuple[YearWarning, ...]
    new_year_id: int | None = None

    @property
    def promoted(self) -> int:
        return sum(p.students for p in self.promotions)

    @property
    def graduates(self) -> tuple[str, ...]:
        return tuple(name for g in self.graduations for name in g.students)

    def ready(self, today: date) -> bool:
        return today >= self.ready_on


# --- dates and names ---------------------------------------------------------------------------


def shift_year(day: date, years: int = 1) -> date:
    """The same calendar date `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def year_name(starts_on: date, ends_on: date) -> str:
    """``"2026/2027"``; a year within one calendar year is named by it alone."""
    if starts_on.year == ends_on.year:
        return str(starts_on.year)
    return f"{starts_on.year}/{ends_on.year}"


def next_year_dates(starts_on: date, ends_on: date) -> tuple[date, date]:
    """The next year's first and last day: the shape shifted by a year, starting no earlier
    than the day after `ends_on`."""
    first = max(shift_year(starts_on), ends_on + timedelta(days=1))
    last = shift_year(ends_on)
    if last <= first:
        last = first + (ends_on - starts_on)
    return first, last


def successor_name(name: str) -> str | None:
    """The class name a year later: the leading number plus one (``"7Б"`` → ``"8Б"``,
    ``"10 A"`` → ``"11 A"``); None when the name has no leading number (or grows too long)."""
    match = _LEADING_NUMBER.match(name.strip())
    if match is None:
        return None
    bumped = f"{int(match.group(1)) + 1}{match.group(2)}"
    return bumped if len(bumped) <= NAME_LENGTH else None


def _shift_periods(
    periods: Sequence[Period], old: tuple[date, date], new: tuple[date, date]
) -> tuple[list[PeriodPlan], list[YearWarning]]:
    """The periods a year later, cut to the new year; a boundary on the old year's first or
    last day stays on the new year's (so the year period spans the new year)."""
    planned: list[PeriodPlan] = []
    dropped: list[YearWarning] = []
    for period in sorted(periods, key=lambda p: (p.kind, p.number)):
        starts = new[0] if period.starts_on <= old[0] else max(shift_year(period.starts_on), new[0])
        ends = new[1] if period.ends_on >= old[1] else min(shift_year(period.ends_on), new[1])
        kind = PeriodKind(period.kind)
        if starts > ends:
            dropped.append(YearWarning("period_dropped", f"{kind.value} {period.number}"))
            continue
        planned.append(PeriodPlan(kind, period.number, starts, ends))
    return planned, dropped


# --- reading the current year --------------------------------------------------------------------


async def _school(session: AsyncSession, school_id: int | None) -> School:
    query = select(School).order_by(School.id).limit(2)
    if school_id is not None:
        query = select(School).where(School.id == school_id)
    schools = list((await session.scalars(query)).all())
    if not schools:
        raise DomainError("year.no_school")
    if len(schools) > 1:
        raise DomainError("year.choose_school")
    return schools[0]


async def _current_year(session: AsyncSession, school_id: int) -> AcademicYear:
    years = list(
        (
            await session.scalars(
                select(AcademicYear)
                .where(AcademicYear.school_id == school_id)
                .order_by(AcademicYear.starts_on)
            )
        ).all()
    )
    current = [y for y in years if y.is_current]
    if len(current) != 1:
        raise DomainError("year.no_current_year", count=len(current))
    year = current[0]
    later = [y for y in years if y.starts_on > year.starts_on]
    if later:
        raise DomainError("year.next_exists", name=later[0].name)
    return year


@dataclass(frozen=True)
class _Stay:
    enrollment_id: int
    student_id: int
    student_name: str
    class_id: int
    enrolled_on: date | None
    left_on: date | None


async def _stays(session: AsyncSession, year_id: int) -> list[_Stay]:
    rows = await session.execute(
        select(
            Enrollment.id,
            Enrollment.student_id,
            Student.full_name,
            Enrollment.class_id,
            Enrollment.enrolled_on,
            Enrollment.left_on,
        )
        .join(Student, Student.id == Enrollment.student_id)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(SchoolClass.year_id == year_id)
    )
    return [_Stay(*row) for row in rows]


def _carried(stays: Sequence[_Stay]) -> dict[int, _Stay]:
    """Per student still in a class (no ``left_on``), the stay carried over: the latest."""
    chosen: dict[int, _Stay] = {}
    for stay in stays:
        if stay.left_on is not None:
            continue
        key = (stay.enrolled_on or date.min, stay.enrollment_id)
        best = chosen.get(stay.student_id)
        if best is None or key > (best.enrolled_on or date.min, best.enrollment_id):
            chosen[stay.student_id] = stay
    return chosen


async def _count(session: AsyncSession, query: Select[int]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _ended_links(session: AsyncSession, student_ids: Sequence[int]) -> EndedLinks:
    """What graduating these students would end."""
    if not student_ids:
        return EndedLinks()
    ids = list(student_ids)
    return EndedLinks(
        guardianships=await _count(
            session,
            select(Guardianship.id).where(
                Guardianship.student_id.in_(ids), links.guardianship_active()
            ),
        ),
        trusted=await _count(
            session,
            select(TrustedAccess.id).where(
                TrustedAccess.student_id.in_(ids), links.trust_standing()
            ),
        ),
        codes=await _count(session, _live_codes(ids)),
        requests=await _count(session, _pending_requests(ids)),
    )


def _live_codes(student_ids: list[int]) -> Select[int]:
    return select(AccessCode.id).where(
        AccessCode.student_id.in_(student_ids),
        AccessCode.used_at.is_(None),
        AccessCode.revoked_at.is_(None),
    )


def _pending_requests(student_ids: list[int]) -> Select[int]:
    return select(LinkRequest.id).where(
        LinkRequest.student_id.in_(student_ids),
        LinkRequest.status == RequestStatus.PENDING,
    )


def _classes_plan(
    classes: Sequence[SchoolClass], carried: dict[int, _Stay], last_grade: int
) -> tuple[list[Promotion], list[Graduation], list[YearWarning]]:
    by_class: dict[int, list[_Stay]] = {}
    for stay in carried.values():
        by_class.setdefault(stay.class_id, []).append(stay)
    promotions: list[Promotion] = []
    graduations: list[Graduation] = []
    warnings: list[YearWarning] = []
    for cls in sorted(classes, key=lambda c: (c.grade_level, c.name)):
        stays = by_class.get(cls.id, [])
        if cls.grade_level >= last_grade:
            names = tuple(sorted(s.student_name for s in stays))
            graduations.append(Graduation(cls.id, cls.name, names))
            continue
        new_name = successor_name(cls.name)
        if new_name is None:
            warnings.append(YearWarning("unnumbered_name", cls.name))
            new_name = cls.name
        promotions.append(
            Promotion(
                cls.id,
                cls.name,
                cls.grade_level,
                new_name,
                cls.grade_level + 1,
                cls.class_teacher_id,
                len(stays),
            )
        )
    clashes = sorted(
        {p.new_name for p in promotions if [q.new_name for q in promotions].count(p.new_name) > 1}
    )
    if clashes:
        raise DomainError("year.name_clash", names=", ".join(clashes))
    return promotions, graduations, warnings


async def plan_new_year(
    session: AsyncSession, *, today: date, last_grade: int = 11, school_id: int | None = None
) -> YearPlan:
    """What starting the next school year would do (module docstring); writes nothing.

    `school_id`: the school (None: the only one; ``year.choose_school`` when there are
    several). Refuses (`DomainError`, area ``year``) without a single current year, when a
    later year is already on file, with a bad `last_grade`, or when two successors would share
    a name. The plan is given whatever `today` is; `YearPlan.ready` says whether it may be
    applied on `today`."""
    if not 1 <= last_grade <= MAX_GRADE:
        raise DomainError("year.bad_last_grade", last_grade=last_grade)
    school = await _school(session, school_id)
    year = await _current_year(session, school.id)
    first, last = next_year_dates(year.starts_on, year.ends_on)
    old_periods = (await session.scalars(select(Period).where(Period.year_id == year.id))).all()
    periods, period_warnings = _shift_periods(
        old_periods, (year.starts_on, year.ends_on), (first, last)
    )
    classes = (
        await session.scalars(select(SchoolClass).where(SchoolClass.year_id == year.id))
    ).all()
    stays = await _stays(session, year.id)
    carried = _carried(stays)
    promotions, graduations, warnings = _classes_plan(classes, carried, last_grade)
    graduate_ids = [
        s.student_id for s in carried.values() if s.class_id in {g.class_id for g in graduations}
    ]
    switch_on = year.ends_on + timedelta(days=1)
    return YearPlan(
        school_id=school.id,
        school_name=school.name,
        current=YearRef(year.id, year.name, year.starts_on, year.ends_on),
        name=year_name(first, last),
        starts_on=first,
        ends_on=last,
        switch_on=switch_on,
        ready_on=switch_on,
        periods=tuple(periods),
        promotions=tuple(promotions),
        graduations=tuple(graduations),
        left=len({s.student_id for s in stays} - set(carried)),
        ended=await _ended_links(session, graduate_ids),
        warnings=(*warnings, *period_warnings),
    )


# --- applying it ---------------------------------------------------------------------------------


async def _move_students(
    session: AsyncSession, plan: YearPlan, new_year_id: int, carried: dict[int, _Stay]
) -> list[int]:
    """Close every open stay of the old year; open the successor stays. Returns the
    graduates' ids."""
    successors: dict[int, int] = {}
    for promotion in plan.promotions:
        cls = SchoolClass(
            school_id=plan.school_id,
            year_id=new_year_id,
            name=promotion.new_name,
            grade_level=promotion.new_grade_level,
            class_teacher_id=promotion.class_teacher_id,
        )
        session.add(cls)
        await session.flush()
        successors[promotion.class_id] = cls.id
    await session.execute(
        update(Enrollment)
        .where(
            Enrollment.left_on.is_(None),
            Enrollment.class_id.in_(
                select(SchoolClass.id).where(SchoolClass.year_id == plan.current.id)
            ),
        )
        .values(left_on=plan.switch_on)
        .execution_options(synchronize_session=False)
    )
    graduates: list[int] = []
    for stay in carried.values():
        successor = successors.get(stay.class_id)
        if successor is None:
            graduates.append(stay.student_id)
            continue
        session.add(
            Enrollment(student_id=stay.student_id, class_id=successor, enrolled_on=plan.switch_on)
        )
    return graduates


async def end_student_links(
    session: AsyncSession, student_ids: Sequence[int], *, now: datetime, by: int | None
) -> list[int]:
    """The students leave the school: their guardianships and trusted grants are revoked at
    `now` by account `by` (rows kept), their unused access codes revoked, pending link
    requests cancelled, and accounts that chose them as the current child point nowhere.
    Accounts left without any link lose their personal data (`privacy.forget_unlinked`).
    Returns the accounts that lost a link to them. Does not commit."""
    ids = list(student_ids)
    if not ids:
        return []
    touched = list(
        (
            await session.scalars(
                select(Guardianship.account_id).where(
                    Guardianship.student_id.in_(ids), links.guardianship_active()
                )
            )
        ).all()
    )
    touched += [
        a
        for a in (
            await session.scalars(
                select(TrustedAccess.account_id).where(
                    TrustedAccess.student_id.in_(ids), links.trust_standing()
                )
            )
        ).all()
        if a is not None
    ]
    revoked = {"revoked_at": now, "revoked_by_id": by}
    statements = [
        update(Guardianship)
        .where(Guardianship.student_id.in_(ids), links.guardianship_active())
        .values(**revoked),
        update(TrustedAccess)
        .where(TrustedAccess.student_id.in_(ids), links.trust_standing())
        .values(**revoked),
        update(AccessCode).where(AccessCode.id.in_(_live_codes(ids))).values(revoked_at=now),
        update(LinkRequest)
        .where(LinkRequest.id.in_(_pending_requests(ids)))
        .values(status=RequestStatus.CANCELLED, decided_at=now, decided_by_id=by),
        update(Account).where(Account.current_student_id.in_(ids)).values(current_student_id=None),
    ]
    for statement in statements:
        await session.execute(statement.execution_options(synchronize_session="fetch"))
    await privacy.forget_unlinked(session, touched)
    return list(dict.fromkeys(touched))


def _audit(
    session: AsyncSession, plan: YearPlan, *, actor_account_id: int | None, now: datetime
) -> None:
    audit.record(
        session,
        audit.By(actor_account_id),
        AuditAction.YEAR_NEW,
        audit.Target("academic_year", plan.new_year_id),
        at=now,
        old={"year_id": plan.current.id, "name": plan.current.name},
        new={
            "name": plan.name,
            "classes": len(plan.promotions),
            "promoted": plan.promoted,
            "graduated": len(plan.graduates),
            "guardianships_ended": plan.ended.guardianships,
            "trusted_ended": plan.ended.trusted,
            "codes_revoked": plan.ended.codes,
        },
    )


async def start_new_year(
    session: AsyncSession,
    *,
    today: date,
    actor_account_id: int | None,
    last_grade: int = 11,
    school_id: int | None = None,
    now: datetime | None = None,
) -> YearPlan:
    """Start the next school year as `plan_new_year` plans it, in one transaction, audited
    (`AuditAction.YEAR_NEW`) and committed; returns the plan with `new_year_id`. Refuses as
    the plan does, and with ``year.not_over`` before `YearPlan.ready_on` (so a second run
    changes nothing). `actor_account_id`: who did it (None: the console)."""
    now = now or utcnow()
    plan = await plan_new_year(session, today=today, last_grade=last_grade, school_id=school_id)
    if not plan.ready(today):
        raise DomainError(
            "year.not_over",
            name=plan.current.name,
            ends_on=plan.current.ends_on,
            ready_on=plan.ready_on,
        )
    try:
        await session.execute(
            update(AcademicYear)
            .where(AcademicYear.id == plan.current.id)
            .values(is_current=False)
            .execution_options(synchronize_session="fetch")
        )
        year = AcademicYear(
            school_id=plan.school_id,
            name=plan.name,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            is_current=True,
        )
        session.add(year)
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise DomainError("year.next_exists", name=plan.name) from None
    for period in plan.periods:
        session.add(
            Period(
                year_id=year.id,
                kind=period.kind,
                number=period.number,
                starts_on=period.starts_on,
                ends_on=period.ends_on,
            )
        )
    carried = _carried(await _stays(session, plan.current.id))
    graduates = await _move_students(session, plan, year.id, carried)
    await end_student_links(session, graduates, now=now, by=actor_account_id)
    plan = replace(plan, new_year_id=year.id)
    _audit(session, plan, actor_account_id=actor_account_id, now=now)
    await session.commit()
    return plan
