"""The demo accounts read back from the database: what `parta demo seed` prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AcademicYear,
    Account,
    Enrollment,
    Guardianship,
    SchoolClass,
    Staff,
    Student,
    TrustedAccess,
)
from services.core import enrolment, links
from services.demo.content import DEMO_CLASS, DEMO_TELEGRAM_IDS, moscow_today

#: (student's name, their current class) of the children an account sees
Children = dict[int, list[tuple[str, str | None]]]


@dataclass(frozen=True)
class DemoAccount:
    """One demo Telegram account and who it is in the school."""

    role: str
    telegram_id: int
    name: str
    class_name: str | None
    student: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row `parta demo seed --json` prints."""
        return {
            "role": self.role,
            "telegram_id": self.telegram_id,
            "name": self.name,
            "class": self.class_name,
            "student": self.student,
        }


@dataclass
class SeedResult:
    accounts: list[DemoAccount]
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


async def demo_accounts(session: AsyncSession, today: date | None = None) -> list[DemoAccount]:
    """The demo accounts as they are in the database, in the order of `DEMO_TELEGRAM_IDS`,
    with the children's classes on `today` (default: today in Moscow)."""
    day = today or moscow_today()
    accounts = {
        a.telegram_id: a
        for a in await session.scalars(
            select(Account).where(Account.telegram_id.in_(DEMO_TELEGRAM_IDS.values()))
        )
    }
    ids = [a.id for a in accounts.values()]
    own = await _children(
        session, _with_class(Student.account_id, day).where(Student.account_id.in_(ids))
    )
    guarded = await _children(session, _linked(Guardianship, ids, day).order_by(Student.full_name))
    trusted = await _children(session, _linked(TrustedAccess, ids, day).order_by(TrustedAccess.id))
    homerooms = await session.execute(
        select(Staff.account_id, SchoolClass.name)
        .join(SchoolClass, SchoolClass.class_teacher_id == Staff.id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(Staff.account_id.in_(ids), AcademicYear.is_current)
        .order_by(SchoolClass.name.desc())
    )
    homeroom: dict[int | None, str] = dict(homerooms.all())
    children = {"student": own, "parent": guarded, "trusted": trusted}

    result: list[DemoAccount] = []
    for role, telegram_id in DEMO_TELEGRAM_IDS.items():
        account = accounts.get(telegram_id)
        if account is None:
            continue
        student: str | None = None
        class_name: str | None = None
        if role == "class_teacher":
            class_name = homeroom.get(account.id)
        elif role in children:
            student, class_name = _pick(children[role].get(account.id, []))
        result.append(DemoAccount(role, telegram_id, account.full_name, class_name, student))
    return result


def _with_class(account_column: Any, day: date) -> Select[Any]:
    """(account column, student's name, their class on `day`) over students."""
    current_class = (
        select(Enrollment.student_id, SchoolClass.name)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(enrolment.current(day))
        .subquery()
    )
    return (
        select(account_column, Student.full_name, current_class.c.name)
        .select_from(Student)
        .outerjoin(current_class, current_class.c.student_id == Student.id)
    )


def _linked(
    link: type[Guardianship] | type[TrustedAccess], ids: list[int], day: date
) -> Select[Any]:
    """The children linked to the accounts `ids` by an active guardianship or a standing
    (not revoked) trusted access."""
    standing = links.guardianship_active() if link is Guardianship else links.trust_standing()
    return (
        _with_class(link.account_id, day)
        .join(link, link.student_id == Student.id)
        .where(link.account_id.in_(ids), standing)
    )


async def _children(session: AsyncSession, stmt: Select[Any]) -> Children:
    """The rows of a `_with_class` query, grouped by account in their order."""
    found: Children = defaultdict(list)
    for account_id, name, class_name in await session.execute(stmt):
        found[account_id].append((name, class_name))
    return found


def _pick(children: Iterable[tuple[str, str | None]]) -> tuple[str | None, str | None]:
    """The child in the demo class if there is one, else the first (None, None: no child)."""
    items = list(children)
    if not items:
        return None, None
    preferred = [c for c in items if c[1] == DEMO_CLASS]
    return (preferred or items)[0]
