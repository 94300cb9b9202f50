"""Who is acting: a Telegram user resolved to an account, its roles and the children it sees.

Accounts are never created here: an unknown Telegram user is an anonymous actor until a
school-issued code links them (see the linking service).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import UTCDateTime, utcnow
from db.enums import ALL_SCOPES, StaffRole
from db.models import (
    AcademicYear,
    Account,
    Guardianship,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    TrustedAccess,
)
from services.core import enrolment, links


class Role(enum.StrEnum):
    STUDENT = "student"
    PARENT = "parent"
    TRUSTED = "trusted"
    TEACHER = "teacher"
    CLASS_TEACHER = "class_teacher"
    HEAD_TEACHER = "head_teacher"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.TEACHER, Role.CLASS_TEACHER, Role.HEAD_TEACHER, Role.ADMIN})
FAMILY_ROLES = frozenset({Role.STUDENT, Role.PARENT, Role.TRUSTED})


@dataclass(frozen=True)
class ChildRef:
    """A student the actor may read: their own record, a child, or a trusted grant."""

    student_id: int
    name: str
    class_name: str | None
    via: Role
    scopes: int = ALL_SCOPES
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Actor:
    telegram_id: int
    account_id: int | None = None
    name: str = ""
    locale: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    staff_id: int | None = None
    school_id: int | None = None
    #: the time zone of a staff member's school (read with the actor; None for families)
    school_timezone: str | None = None
    class_teacher_of: tuple[int, ...] = ()
    children: tuple[ChildRef, ...] = ()
    current_student_id: int | None = None

    @property
    def is_known(self) -> bool:
        return self.account_id is not None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    def current_child(self, *via: Role) -> ChildRef | None:
        """The child chosen with the switcher (else the first), optionally by link kind."""
        candidates = [c for c in self.children if not via or c.via in via]
        chosen = next((c for c in candidates if c.student_id == self.current_student_id), None)
        return chosen or (candidates[0] if candidates else None)


_STAFF_ROLE_MAP = {
    StaffRole.TEACHER: Role.TEACHER,
    StaffRole.HEAD_TEACHER: Role.HEAD_TEACHER,
    StaffRole.ADMIN: Role.ADMIN,
}


# the kinds of rows of `_actor_statement`, in the order they come back
_ACCOUNT, _STAFF, _GRANT, _CLASS, _OWN, _GUARDED, _TRUSTED = range(7)


@functools.cache
def _actor_statement() -> CompoundSelect[Any]:
    """Everything `load_actor` reads, in one statement: a UNION ALL of one branch per kind of
    row (the account, its staff record, role grants, classes led, the own student record,
    guarded and trusted students with their current-year stays). Every branch has the same
    columns: ``kind, n1, n2, n3, t1, t2, t3, at`` and then `enrolment.stint_columns`.

    Built once (building it costs more than running it) with the parameters ``telegram_id``
    and ``now``."""
    telegram_id = bindparam("telegram_id", type_=BigInteger)
    now = bindparam("now", type_=UTCDateTime)
    account_id = select(Account.id).where(Account.telegram_id == telegram_id).scalar_subquery()
    staff_id = select(Staff.id).where(Staff.account_id == account_id).scalar_subquery()
    stint = enrolment.stints()
    stint_types = (Integer, Integer, String, Integer, Integer, Date, Date, String)
    no_stint: list[Any] = [
        cast(null(), kind).label(column.name)
        for kind, column in zip(stint_types, enrolment.stint_columns(stint), strict=True)
    ]

    def row(kind: int, *columns: Any, stay: bool = False) -> list[Any]:
        ints = [
            cast(null() if c is None else c, Integer).label(f"n{i}")
            for i, c in enumerate(columns[:3], 1)
        ]
        texts = [
            cast(null() if c is None else c, String).label(f"t{i}")
            for i, c in enumerate(columns[3:6], 1)
        ]
        # a typed NULL (PostgreSQL types a UNION pairwise: NULL with NULL would make text),
        # the value itself not CAST (SQLite would turn the stored text into a number)
        at = columns[6] if len(columns) > 6 and columns[6] is not None else None
        moment = cast(null(), UTCDateTime) if at is None else type_coerce(at, UTCDateTime)
        tail = enrolment.stint_columns(stint) if stay else no_stint
        return [
            literal(kind, Integer).label("kind"),
            *ints,
            *texts,
            moment.label("at"),
            *tail,
        ]

    def students(kind: int, *extra: Any) -> Select[Any]:
        scopes, expires_at = extra or (None, None)
        columns = (Student.id, Student.school_id, scopes, Student.full_name, None, None)
        return select(*row(kind, *columns, expires_at, stay=True)).outerjoin(
            stint, stint.c.student_id == Student.id
        )

    branches = [
        select(
            *row(
                _ACCOUNT,
                Account.id,
                Account.current_student_id,
                Account.is_active,
                Account.full_name,
                Account.locale,
                Account.language_code,
            )
        ).where(Account.telegram_id == telegram_id),
        select(*row(_STAFF, Staff.id, Staff.school_id, None, School.timezone, None, None))
        .join(School, School.id == Staff.school_id)
        .where(Staff.account_id == account_id),
        select(*row(_GRANT, None, None, None, StaffRoleGrant.role, None, None)).where(
            StaffRoleGrant.staff_id == staff_id
        ),
        select(*row(_CLASS, SchoolClass.id, None, None, SchoolClass.name, None, None))
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(SchoolClass.class_teacher_id == staff_id, AcademicYear.is_current),
        students(_OWN).where(Student.account_id == account_id),
        students(_GUARDED)
        .join(Guardianship, Guardianship.student_id == Student.id)
        .where(Guardianship.account_id == account_id, links.guardianship_active()),
        students(_TRUSTED, TrustedAccess.scopes, TrustedAccess.expires_at)
        .join(TrustedAccess, TrustedAccess.student_id == Student.id)
        .where(TrustedAccess.account_id == account_id, links.trust_active(now)),
    ]
    # within a kind: classes and students by name, as the screens list them
    return union_all(*branches).order_by(literal_column("kind"), literal_column("t1"))


async def load_actor(
    session: AsyncSession, telegram_id: int, language_code: str | None = None
) -> Actor:
    """Resolve a Telegram user in one statement (`_actor_statement`), however many links exist.

    Also remembers Telegram's language of the user (for messages Parta sends unprompted) and
    reactivates an account that had blocked the bot and came back (one UPDATE, only then).
    """
    now = utcnow()
    statement = _actor_statement()
    found_rows = await session.execute(statement, {"telegram_id": telegram_id, "now": now})
    rows = found_rows.all()
    by_kind: dict[int, list[Any]] = {}
    for found in rows:
        by_kind.setdefault(found[0], []).append(found[1:])
    accounts = by_kind.get(_ACCOUNT)
    if not accounts:
        return Actor(telegram_id=telegram_id)
    account_id, current_student_id, is_active, full_name, locale, known_language = accounts[0][:6]
    changes: dict[str, Any] = {}
    if not is_active:
        changes["is_active"] = True
    if language_code and known_language != language_code[:16]:
        changes["language_code"] = language_code[:16]
    if changes:
        await session.execute(update(Account).where(Account.id == account_id).values(**changes))

    roles: set[Role] = set()
    staff = by_kind.get(_STAFF)
    staff_id: int | None = staff[0][0] if staff else None
    school_id: int | None = staff[0][1] if staff else None
    school_timezone: str | None = staff[0][3] if staff else None
    roles.update(_STAFF_ROLE_MAP[StaffRole(grant[3])] for grant in by_kind.get(_GRANT, ()))
    class_ids = tuple(found[0] for found in by_kind.get(_CLASS, ()))
    if class_ids:
        roles.add(Role.CLASS_TEACHER)

    def stays(kind: int) -> list[tuple[Any, enrolment.Stint | None]]:
        # (student id, school id, scopes, name, at) then the stay
        return enrolment.with_current(
            ((r[0], r[1], r[2], r[3], r[6], *r[7:]) for r in by_kind.get(kind, ())), now
        )

    children: list[ChildRef] = []
    own = next(iter(stays(_OWN)), None)
    own_id: int | None = None
    if own is not None:
        (own_id, student_school, _, name, _), stay = own
        roles.add(Role.STUDENT)
        children.append(ChildRef(own_id, name, _name(stay), Role.STUDENT))
        school_id = school_id or student_school

    for (student_id, student_school, _, name, _), stay in stays(_GUARDED):
        if student_id == own_id:
            continue  # nobody is their own parent: the child is listed once, as themselves
        roles.add(Role.PARENT)
        children.append(ChildRef(student_id, name, _name(stay), Role.PARENT))
        school_id = school_id or student_school

    seen = {c.student_id for c in children}
    for (student_id, student_school, scopes, name, expires_at), stay in stays(_TRUSTED):
        roles.add(Role.TRUSTED)
        if student_id not in seen:
            children.append(
                ChildRef(student_id, name, _name(stay), Role.TRUSTED, scopes, expires_at)
            )
        school_id = school_id or student_school

    return Actor(
        telegram_id=telegram_id,
        account_id=account_id,
        name=full_name,
        locale=locale,
        roles=frozenset(roles),
        staff_id=staff_id,
        school_id=school_id,
        school_timezone=school_timezone,
        class_teacher_of=class_ids,
        children=tuple(children),
        current_student_id=current_student_id,
    )


def _name(stay: enrolment.Stint | None) -> str | None:
    return stay.class_name if stay is not None else None


async def set_locale(session: AsyncSession, actor: Actor, locale: str) -> None:
    """Remember a known account's language (unknown users keep it in their chat state)."""
    if actor.account_id is None:
        return
    account = await session.get(Account, actor.account_id)
    if account is not None:
        account.locale = locale
        await session.commit()
