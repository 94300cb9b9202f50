"""Who may have which report: the one access policy (`services.core.access`) applied to the
reports, for the bot's handlers (the console acts for the school's office and skips it).

* class, attendance, risk, coverage: `Action.READ_CLASS` on the class (its class teacher, a
  teacher of one of its subjects, the school's head teacher and admins);
* school: the school's head teacher and admins;
* card and progress: `Action.VIEW_GRADES` on the student (the family, a trusted person with the
  grades scope, staff who may read the student); a card's attendance only with
  `Action.VIEW_ATTENDANCE` too (`card_attendance`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.access import Action, can, denied
from services.core.actors import Actor, Role
from services.reports.model import ReportKind

CLASS_KINDS = frozenset(
    {ReportKind.CLASS, ReportKind.ATTENDANCE, ReportKind.RISK, ReportKind.COVERAGE}
)
STUDENT_KINDS = frozenset({ReportKind.CARD, ReportKind.PROGRESS})


async def may_have(session: AsyncSession, actor: Actor, kind: ReportKind, target_id: int) -> bool:
    """Whether `actor` may have the `kind` report of `target_id` (a class, a school or a
    student, as the kind needs)."""
    if kind in CLASS_KINDS:
        return await can(session, actor, Action.READ_CLASS, target_id)
    if kind in STUDENT_KINDS:
        return await can(session, actor, Action.VIEW_GRADES, target_id)
    if kind is ReportKind.SCHOOL:
        return (
            actor.is_known
            and actor.school_id == target_id
            and actor.has(Role.HEAD_TEACHER, Role.ADMIN)
        )
    return False


async def require_report(
    session: AsyncSession, actor: Actor, kind: ReportKind, target_id: int
) -> None:
    """`may_have`, or the access policy's `DomainError` ("access.denied")."""
    if not await may_have(session, actor, kind, target_id):
        action = Action.VIEW_GRADES if kind in STUDENT_KINDS else Action.READ_CLASS
        raise denied(action, target_id)


async def card_attendance(session: AsyncSession, actor: Actor, student_id: int) -> bool:
    """Whether the actor's card of the student shows attendance (a trusted person without
    the attendance scope gets the grades only)."""
    return await can(session, actor, Action.VIEW_ATTENDANCE, student_id)
