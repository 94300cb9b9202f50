"""Who is acting: a Telegram user resolved to an account, its roles and the children it sees.

Accounts are never created here: an unknown Telegram user is an anonymous actor until a
school-issued code links them (see the linking service).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import ALL_SCOPES, StaffRole
from db.models import (
    AcademicYear,
    Account,
    Guardianship,
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


async def load_actor(
    session: AsyncSession, telegram_id: int, language_code: str | None = None
) -> Actor:
    """Resolve a Telegram user; a fixed handful of queries however many links exist.

    Also remembers Telegram's language of the user (for messages Parta sends unprompted) and
    reactivates an account that had blocked the bot and came back.
    """
    account = await session.scalar(select(Account).where(Account.telegram_id == telegram_id))
    if account is None:
        return Actor(telegram_id=telegram_id)
    if not account.is_active:
        account.is_active = True
    if language_code and account.language_code != language_code[:16]:
        account.language_code = language_code[:16]

    roles: set[Role] = set()
    staff = await session.scalar(select(Staff).where(Staff.account_id == account.id))
    class_ids: tuple[int, ...] = ()
    school_id: int | None = None
    if staff is not None:
        school_id = staff.school_id
        grants = await session.scalars(
            select(StaffRoleGrant.role).where(StaffRoleGrant.staff_id == staff.id)
        )
        roles.update(_STAFF_ROLE_MAP[g] for g in grants)
        class_ids = tuple(
            await session.scalars(
                select(SchoolClass.id)
                .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
                .where(SchoolClass.class_teacher_id == staff.id, AcademicYear.is_current)
                .order_by(SchoolClass.name)
            )
        )
        if class_ids:
            roles.add(Role.CLASS_TEACHER)

    now = utcnow()
    stint = enrolment.stints()
    base = select(Student, *enrolment.stint_columns(stint)).outerjoin(
        stint, stint.c.student_id == Student.id
    )

    children: list[ChildRef] = []
    own_rows = await session.execute(base.where(Student.account_id == account.id))
    own = next(iter(enrolment.with_current(own_rows.all(), now)), None)
    if own is not None:
        (student,), stay = own
        roles.add(Role.STUDENT)
        children.append(ChildRef(student.id, student.full_name, _name(stay), Role.STUDENT))
        school_id = school_id or student.school_id
    own_id = own[0][0].id if own is not None else None

    guarded = await session.execute(
        base.join(Guardianship, Guardianship.student_id == Student.id)
        .where(Guardianship.account_id == account.id, links.guardianship_active())
        .order_by(Student.full_name)
    )
    for (student,), stay in enrolment.with_current(guarded.all(), now):
        if student.id == own_id:
            continue  # nobody is their own parent: the child is listed once, as themselves
        roles.add(Role.PARENT)
        children.append(ChildRef(student.id, student.full_name, _name(stay), Role.PARENT))
        school_id = school_id or student.school_id

    trusted = await session.execute(
        select(
            Student, TrustedAccess.scopes, TrustedAccess.expires_at, *enrolment.stint_columns(stint)
        )
        .outerjoin(stint, stint.c.student_id == Student.id)
        .join(TrustedAccess, TrustedAccess.student_id == Student.id)
        .where(TrustedAccess.account_id == account.id, links.trust_active(now))
        .order_by(Student.full_name)
    )
    seen = {c.student_id for c in children}
    for (student, scopes, expires_at), stay in enrolment.with_current(trusted.all(), now):
        roles.add(Role.TRUSTED)
        if student.id not in seen:
            children.append(
                ChildRef(
                    student.id, student.full_name, _name(stay), Role.TRUSTED, scopes, expires_at
                )
            )
        school_id = school_id or student.school_id

    return Actor(
        telegram_id=telegram_id,
        account_id=account.id,
        name=account.full_name,
        locale=account.locale,
        roles=frozenset(roles),
        staff_id=staff.id if staff else None,
        school_id=school_id,
        class_teacher_of=class_ids,
        children=tuple(children),
        current_student_id=account.current_student_id,
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
