"""The one access policy: may this actor do this action on this object?

Every service asks here before every read and write. Callback data only names objects by id;
the answer depends on the current actor alone, never on what the client sent.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import TrustScope
from db.models import (
    Lesson,
    LinkRequest,
    SchoolClass,
    TeachingAssignment,
)
from services.core import enrolment
from services.core.actors import Actor, ChildRef, Role
from services.core.errors import DomainError


class Action(enum.StrEnum):
    # on a student
    VIEW_GRADES = "view_grades"
    VIEW_HOMEWORK = "view_homework"
    VIEW_ATTENDANCE = "view_attendance"
    VIEW_SCHEDULE = "view_schedule"
    SUBMIT_HOMEWORK = "submit_homework"
    REACT_TO_GRADE = "react_to_grade"
    MANAGE_TRUSTED = "manage_trusted"
    VIEW_WHO_HAS_ACCESS = "view_who_has_access"
    UNLINK_SELF = "unlink_self"
    REVOKE_ACCESS = "revoke_access"
    # on a class
    READ_CLASS = "read_class"
    VIEW_CLASS_ACCESS = "view_class_access"
    VIEW_CLASS_JOURNAL = "view_class_journal"
    # on a lesson
    READ_LESSON = "read_lesson"
    WRITE_LESSON = "write_lesson"
    ASSIGN_REPLACEMENT = "assign_replacement"
    # on a teaching assignment (teacher × class × subject)
    READ_ASSIGNMENT = "read_assignment"
    WRITE_ASSIGNMENT = "write_assignment"
    # on a link request
    DECIDE_LINK = "decide_link"
    # on the school
    ISSUE_CODES = "issue_codes"
    ADMINISTER = "administer"
    EDIT_CLOSED_PERIOD = "edit_closed_period"
    CLOSE_PERIOD = "close_period"


STUDENT_ACTIONS = frozenset(
    {
        Action.VIEW_GRADES,
        Action.VIEW_HOMEWORK,
        Action.VIEW_ATTENDANCE,
        Action.VIEW_SCHEDULE,
        Action.SUBMIT_HOMEWORK,
        Action.REACT_TO_GRADE,
        Action.MANAGE_TRUSTED,
        Action.VIEW_WHO_HAS_ACCESS,
        Action.UNLINK_SELF,
        Action.REVOKE_ACCESS,
    }
)
CLASS_ACTIONS = frozenset({Action.READ_CLASS, Action.VIEW_CLASS_ACCESS, Action.VIEW_CLASS_JOURNAL})
LESSON_ACTIONS = frozenset({Action.READ_LESSON, Action.WRITE_LESSON, Action.ASSIGN_REPLACEMENT})
ASSIGNMENT_ACTIONS = frozenset({Action.READ_ASSIGNMENT, Action.WRITE_ASSIGNMENT})
SCHOOL_ACTIONS = frozenset(
    {Action.ISSUE_CODES, Action.ADMINISTER, Action.EDIT_CLOSED_PERIOD, Action.CLOSE_PERIOD}
)

SCOPE_OF = {
    Action.VIEW_GRADES: TrustScope.GRADES,
    Action.VIEW_HOMEWORK: TrustScope.HOMEWORK,
    Action.VIEW_ATTENDANCE: TrustScope.ATTENDANCE,
    Action.VIEW_SCHEDULE: TrustScope.SCHEDULE,
}
READ_ACTIONS = frozenset(SCOPE_OF)
PARENT_ACTIONS = READ_ACTIONS | {
    Action.REACT_TO_GRADE,
    Action.MANAGE_TRUSTED,
    Action.VIEW_WHO_HAS_ACCESS,
    Action.UNLINK_SELF,
}
OWN_STUDENT_ACTIONS = READ_ACTIONS | {Action.SUBMIT_HOMEWORK}


def denied(action: Action, target_id: int | None = None) -> DomainError:
    """The policy's refusal ("access.denied"): the actor may not do this; nothing was read or
    changed. Shown as a short alert that names no reason; the action and target are logged."""
    return DomainError("access.denied", action=action, target_id=target_id)


@dataclass(frozen=True)
class _StudentFacts:
    school_id: int
    class_id: int | None


async def _student_facts(session: AsyncSession, student_id: int) -> _StudentFacts | None:
    """The student's school and current class (`services.core.enrolment`): one statement."""
    found = await enrolment.school_and_class(session, student_id, now=utcnow())
    if found is None:
        return None
    school_id, stay = found
    return _StudentFacts(school_id, stay.class_id if stay is not None else None)


def family_may(ref: ChildRef, action: Action) -> bool:
    """May the actor do `action` on this child by the link `ref` (a parent's, the student's
    own, or a trusted person's grant and its scopes)?"""
    if ref.via == Role.PARENT:
        return action in PARENT_ACTIONS
    if ref.via == Role.STUDENT:
        return action in OWN_STUDENT_ACTIONS
    return action in READ_ACTIONS and bool(ref.scopes & SCOPE_OF[action])


def child_ref(actor: Actor, student_id: int) -> ChildRef | None:
    return next((c for c in actor.children if c.student_id == student_id), None)


async def _teaches_class(session: AsyncSession, staff_id: int, class_id: int) -> bool:
    found = await session.scalar(
        select(TeachingAssignment.id)
        .where(TeachingAssignment.teacher_id == staff_id, TeachingAssignment.class_id == class_id)
        .limit(1)
    )
    return found is not None


# --- what the policy learnt during this session ----------------------------------------------
#
# A session serves one update. The facts the lesson, assignment and class rules read (who
# teaches a lesson or an assignment, whose school a class is in) are kept in `session.info`
# once read, by the rule itself or by whoever loaded them with the lesson or the assignment
# (`remember_lesson`, `remember_assignment`), so a screen that asks several questions about
# one lesson reads them once. A write that changes them forgets them (`forget_lesson`).

_MEMO = "parta.access_facts"


@dataclass(frozen=True)
class LessonFacts:
    """What the lesson rules read of a lesson."""

    teacher_id: int
    replacement_teacher_id: int | None
    class_id: int
    school_id: int

    @classmethod
    def of(cls, row: Sequence[Any]) -> LessonFacts:
        """The facts from a row of `lesson_facts_query` (its first four columns)."""
        teacher_id, replacement_teacher_id, class_id, school_id = row[:4]
        return cls(teacher_id, replacement_teacher_id, class_id, school_id)


def lesson_facts_query(*extra: Any) -> Select[Any]:
    """Lessons with the facts the lesson rules read (teacher, replacement, class, school),
    then `extra` columns: the lesson joined to its assignment and class, to filter and join on.
    Whoever loads a lesson this way can hand the facts to `remember_lesson`."""
    return (
        select(
            TeachingAssignment.teacher_id,
            Lesson.replacement_teacher_id,
            Lesson.class_id,
            SchoolClass.school_id,
            *extra,
        )
        .select_from(Lesson)
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
    )


def assignment_facts_query(assignment_id: int, *extra: Any) -> Select[Any]:
    """A teaching assignment with the facts its rules read (teacher, class, school), then
    `extra` columns: the assignment joined to its class. Whoever loads an assignment this way
    can hand the facts to `remember_assignment`."""
    return (
        select(
            TeachingAssignment.teacher_id,
            TeachingAssignment.class_id,
            SchoolClass.school_id,
            *extra,
        )
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .where(TeachingAssignment.id == assignment_id)
    )


def _memo(session: AsyncSession) -> dict[tuple[str, int], object]:
    memo: dict[tuple[str, int], object] = session.info.setdefault(_MEMO, {})
    return memo


def remember_lesson(session: AsyncSession, lesson_id: int, facts: LessonFacts) -> None:
    """Keep a lesson's facts (and its class's school) for the rest of the session."""
    memo = _memo(session)
    memo[("lesson", lesson_id)] = facts
    memo[("class_school", facts.class_id)] = facts.school_id


def remember_assignment(
    session: AsyncSession, assignment_id: int, teacher_id: int, class_id: int, school_id: int
) -> None:
    """Keep an assignment's facts (and its class's school) for the rest of the session."""
    memo = _memo(session)
    memo[("assignment", assignment_id)] = (teacher_id, class_id, school_id)
    memo[("class_school", class_id)] = school_id


def forget_lesson(session: AsyncSession, lesson_id: int) -> None:
    """The lesson's teachers changed: read them again next time."""
    _memo(session).pop(("lesson", lesson_id), None)


async def _class_school(session: AsyncSession, class_id: int) -> int | None:
    memo = _memo(session)
    key = ("class_school", class_id)
    if key in memo:
        return memo[key]  # type: ignore[return-value]
    school_id = await session.scalar(
        select(SchoolClass.school_id).where(SchoolClass.id == class_id)
    )
    if school_id is not None:
        memo[key] = school_id
    return school_id


async def _lesson_facts(session: AsyncSession, lesson_id: int) -> LessonFacts | None:
    known = _memo(session).get(("lesson", lesson_id))
    if isinstance(known, LessonFacts):
        return known
    row = (await session.execute(lesson_facts_query().where(Lesson.id == lesson_id))).first()
    if row is None:
        return None
    facts = LessonFacts.of(row)
    remember_lesson(session, lesson_id, facts)
    return facts


def _school_wide(actor: Actor, school_id: int | None, *roles: Role) -> bool:
    return school_id is not None and actor.school_id == school_id and actor.has(*roles)


async def can(
    session: AsyncSession, actor: Actor, action: Action, target_id: int | None = None
) -> bool:
    """The single answer to "may `actor` do `action` on object `target_id`"."""
    if not actor.is_known:
        return False
    if action in SCHOOL_ACTIONS:
        if action in (Action.EDIT_CLOSED_PERIOD, Action.CLOSE_PERIOD):
            return actor.has(Role.HEAD_TEACHER, Role.ADMIN)
        return actor.has(Role.ADMIN)
    if target_id is None:
        return False
    if action in STUDENT_ACTIONS:
        return await _can_on_student(session, actor, action, target_id)
    if action in CLASS_ACTIONS:
        return await _can_on_class(session, actor, action, target_id)
    if action in LESSON_ACTIONS:
        return await _can_on_lesson(session, actor, action, target_id)
    if action in ASSIGNMENT_ACTIONS:
        return await _can_on_assignment(session, actor, action, target_id)
    if action == Action.DECIDE_LINK:
        request = await session.get(LinkRequest, target_id)
        if request is None:
            return False
        facts = await _student_facts(session, request.student_id)
        if facts is None:
            return False
        if _school_wide(actor, facts.school_id, Role.ADMIN):
            return True
        return facts.class_id is not None and facts.class_id in actor.class_teacher_of
    return False


async def _can_on_student(
    session: AsyncSession, actor: Actor, action: Action, student_id: int
) -> bool:
    ref = child_ref(actor, student_id)
    if ref is not None and family_may(ref, action):
        return True
    if not actor.is_staff:
        return False
    facts = await _student_facts(session, student_id)
    if facts is None or facts.school_id != actor.school_id:
        return False
    if action == Action.REVOKE_ACCESS:
        return actor.has(Role.ADMIN)
    if action in READ_ACTIONS or action == Action.VIEW_WHO_HAS_ACCESS:
        if actor.has(Role.HEAD_TEACHER, Role.ADMIN):
            return True
        if facts.class_id is not None and facts.class_id in actor.class_teacher_of:
            return True
        if action in READ_ACTIONS and facts.class_id is not None and actor.staff_id:
            return await _teaches_class(session, actor.staff_id, facts.class_id)
    return False


async def _can_on_class(session: AsyncSession, actor: Actor, action: Action, class_id: int) -> bool:
    if not actor.is_staff:
        return False
    if class_id in actor.class_teacher_of:
        return True
    school_id = await _class_school(session, class_id)
    if _school_wide(actor, school_id, Role.HEAD_TEACHER, Role.ADMIN):
        return True
    if action == Action.READ_CLASS and actor.staff_id is not None:
        return await _teaches_class(session, actor.staff_id, class_id)
    return False


async def _can_on_assignment(
    session: AsyncSession, actor: Actor, action: Action, assignment_id: int
) -> bool:
    """Its teacher writes (period grades); the class teacher and head/admin read."""
    if not actor.is_staff or actor.staff_id is None:
        return False
    memo = _memo(session)
    key = ("assignment", assignment_id)
    known = memo.get(key)
    if isinstance(known, tuple):
        facts: tuple[int, int, int] = known
    else:
        row = (await session.execute(assignment_facts_query(assignment_id))).first()
        if row is None:
            return False
        facts = (row[0], row[1], row[2])
        remember_assignment(session, assignment_id, *facts)
    teacher_id, class_id, school_id = facts
    if actor.staff_id == teacher_id:
        return True
    if action == Action.WRITE_ASSIGNMENT:
        return False
    return class_id in actor.class_teacher_of or _school_wide(
        actor, school_id, Role.HEAD_TEACHER, Role.ADMIN
    )


async def _can_on_lesson(
    session: AsyncSession, actor: Actor, action: Action, lesson_id: int
) -> bool:
    if not actor.is_staff or actor.staff_id is None:
        return False
    facts = await _lesson_facts(session, lesson_id)
    if facts is None:
        return False
    teacher_id, replacement_id = facts.teacher_id, facts.replacement_teacher_id
    class_id, school_id = facts.class_id, facts.school_id
    writer = actor.staff_id in (teacher_id, replacement_id)
    if action == Action.WRITE_LESSON:
        return writer
    if action == Action.ASSIGN_REPLACEMENT:
        return actor.staff_id == teacher_id or _school_wide(
            actor, school_id, Role.HEAD_TEACHER, Role.ADMIN
        )
    return (
        writer
        or class_id in actor.class_teacher_of
        or _school_wide(actor, school_id, Role.HEAD_TEACHER, Role.ADMIN)
    )


async def require(
    session: AsyncSession, actor: Actor, action: Action, target_id: int | None = None
) -> None:
    if not await can(session, actor, action, target_id):
        raise denied(action, target_id)
