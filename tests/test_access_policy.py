"""The access policy as a matrix: 7 roles (plus a stranger) × every action, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.models import Lesson, LinkRequest, TeachingAssignment, TrustedAccess
from services.core.access import Action, can
from services.core.actors import Actor, Role, load_actor
from tests import clock
from tests import factories as f

ROLES = {
    "admin": f.ADMIN,
    "head_teacher": f.HEAD,
    "class_teacher": f.CLASS_TEACHER,
    "teacher": f.TEACHER,
    "student": f.STUDENT,
    "parent": f.PARENT,
    "trusted": f.TRUSTED,
    "stranger": 424242,
    # the second school (tests.factories.make_second_school)
    "b_admin": f.B_ADMIN,
    "b_head_teacher": f.B_HEAD,
    "b_class_teacher": f.B_CLASS_TEACHER,
    "b_teacher": f.B_TEACHER,
    "b_student": f.B_STUDENT,
    "b_parent": f.B_PARENT,
}
# School B's objects and their counterparts in school A: B's roles may do to them exactly what
# A's roles may do to the counterparts; A's roles may do nothing to them, and B's roles nothing
# to any of A's objects. School-wide actions (target "school") concern the actor's own school.
B_OBJECTS = {
    "own": "own_b",
    "class7b": "class_b",
    "lesson7b": "lesson_b",
    "assign7b": "assign_b",
    "request": "request_b",
}

# (action, object) → the roles allowed; objects: own = Пётр (7B, the family's child),
# other = Олег (5A, another family), class7b, class5a, lesson7b (math, taught by "teacher"),
# request (a link request for Мария in 7B), school.
ALLOWED: dict[tuple[Action, str], set[str]] = {
    (Action.VIEW_GRADES, "own"): {
        "admin",
        "head_teacher",
        "class_teacher",
        "teacher",
        "student",
        "parent",
        "trusted",
    },
    (Action.VIEW_HOMEWORK, "own"): {
        "admin",
        "head_teacher",
        "class_teacher",
        "teacher",
        "student",
        "parent",
        "trusted",
    },
    (Action.VIEW_ATTENDANCE, "own"): {
        "admin",
        "head_teacher",
        "class_teacher",
        "teacher",
        "student",
        "parent",
    },
    (Action.VIEW_SCHEDULE, "own"): {
        "admin",
        "head_teacher",
        "class_teacher",
        "teacher",
        "student",
        "parent",
    },
    (Action.SUBMIT_HOMEWORK, "own"): {"student"},
    (Action.REACT_TO_GRADE, "own"): {"parent"},
    (Action.MANAGE_TRUSTED, "own"): {"parent"},
    (Action.VIEW_WHO_HAS_ACCESS, "own"): {"admin", "head_teacher", "class_teacher", "parent"},
    (Action.UNLINK_SELF, "own"): {"parent"},
    (Action.REVOKE_ACCESS, "own"): {"admin"},
    (Action.VIEW_GRADES, "other"): {"admin", "head_teacher", "class_teacher"},
    (Action.REACT_TO_GRADE, "other"): set(),
    (Action.MANAGE_TRUSTED, "other"): set(),
    (Action.VIEW_WHO_HAS_ACCESS, "other"): {"admin", "head_teacher"},
    (Action.READ_CLASS, "class7b"): {"admin", "head_teacher", "class_teacher", "teacher"},
    (Action.VIEW_CLASS_ACCESS, "class7b"): {"admin", "head_teacher", "class_teacher"},
    (Action.READ_CLASS, "class5a"): {"admin", "head_teacher", "class_teacher"},
    (Action.VIEW_CLASS_ACCESS, "class5a"): {"admin", "head_teacher"},
    (Action.READ_LESSON, "lesson7b"): {"admin", "head_teacher", "class_teacher", "teacher"},
    (Action.WRITE_LESSON, "lesson7b"): {"teacher"},
    (Action.DECIDE_LINK, "request"): {"admin", "class_teacher"},
    (Action.ISSUE_CODES, "school"): {"admin"},
    (Action.ADMINISTER, "school"): {"admin"},
    (Action.EDIT_CLOSED_PERIOD, "school"): {"admin", "head_teacher"},
    # the journal
    (Action.VIEW_CLASS_JOURNAL, "class7b"): {"admin", "head_teacher", "class_teacher"},
    (Action.VIEW_CLASS_JOURNAL, "class5a"): {"admin", "head_teacher"},
    (Action.ASSIGN_REPLACEMENT, "lesson7b"): {"admin", "head_teacher", "teacher"},
    (Action.READ_ASSIGNMENT, "assign7b"): {"admin", "head_teacher", "class_teacher", "teacher"},
    (Action.WRITE_ASSIGNMENT, "assign7b"): {"teacher"},
    (Action.READ_ASSIGNMENT, "assign5a"): {"admin", "head_teacher", "class_teacher"},
    (Action.WRITE_ASSIGNMENT, "assign5a"): {"class_teacher"},
    (Action.CLOSE_PERIOD, "school"): {"admin", "head_teacher"},
}


@pytest.fixture
async def world(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[f.SmallSchool, dict[str, int | None]]:
    school = await f.make_small_school(session_factory)
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_7b)
        )
        assert assignment is not None
        assignment_5a = await session.scalar(
            select(TeachingAssignment.id).where(TeachingAssignment.class_id == school.class_5a)
        )
        today = clock.school_today()
        lesson = Lesson(
            assignment_id=assignment.id,
            class_id=school.class_7b,
            subject_id=assignment.subject_id,
            date=today,
            lesson_number=1,
            starts_at=utcnow().time().replace(hour=8, minute=30, second=0, microsecond=0),
            ends_at=utcnow().time().replace(hour=9, minute=15, second=0, microsecond=0),
        )
        request = LinkRequest(student_id=school.unlinked_student_id, account_id=1)
        session.add_all([lesson, request])
        await session.commit()
        objects: dict[str, int | None] = {
            "own": school.student_id,
            "other": school.other_student_id,
            "class7b": school.class_7b,
            "class5a": school.class_5a,
            "lesson7b": lesson.id,
            "request": request.id,
            "school": None,
            "assign7b": assignment.id,
            "assign5a": assignment_5a,
        }
    second = await f.make_second_school(session_factory)
    objects |= {
        "own_b": second.student_id,
        "class_b": second.class_6c,
        "lesson_b": second.lesson_id,
        "assign_b": second.assignment_id,
        "request_b": second.request_id,
    }
    return school, objects


def _in_school_b(roles: set[str]) -> set[str]:
    return {f"b_{role}" for role in roles if f"b_{role}" in ROLES}


def expectations() -> dict[tuple[Action, str], set[str]]:
    """ALLOWED extended to the second school (see B_OBJECTS)."""
    expected = dict(ALLOWED)
    for (action, target), allowed in ALLOWED.items():
        if target == "school":
            expected[(action, target)] = allowed | _in_school_b(allowed)
        if target in B_OBJECTS:
            expected[(action, B_OBJECTS[target])] = _in_school_b(allowed)
    return expected


async def test_policy_matrix(
    session_factory: async_sessionmaker[AsyncSession],
    world: tuple[f.SmallSchool, dict[str, int | None]],
) -> None:
    _school, objects = world
    mismatches = []
    async with session_factory() as session:
        actors = {role: await load_actor(session, tid) for role, tid in ROLES.items()}
        for (action, target), allowed in expectations().items():
            for role, actor in actors.items():
                got = await can(session, actor, action, objects[target])
                if got != (role in allowed):
                    mismatches.append((action.value, target, role, got))
    assert mismatches == []


async def test_every_action_is_in_the_matrix() -> None:
    assert {action for action, _ in ALLOWED} == set(Action)
    expected = expectations()
    for action in set(Action):
        if (action, "school") not in expected:
            assert any(t.endswith("_b") for a, t in expected if a == action), action


async def test_staff_of_another_school_get_nothing_of_this_one(
    session_factory: async_sessionmaker[AsyncSession],
    world: tuple[f.SmallSchool, dict[str, int | None]],
) -> None:
    """Spelled out: every role of school B, every action on each of school A's objects: no."""
    _school, objects = world
    granted = []
    async with session_factory() as session:
        for role, telegram_id in ROLES.items():
            if not role.startswith("b_"):
                continue
            actor = await load_actor(session, telegram_id)
            assert actor.is_known, role
            for action, target in ALLOWED:
                if target != "school" and await can(session, actor, action, objects[target]):
                    granted.append((role, action.value, target))
    assert granted == []


async def test_actor_roles_are_resolved(
    session_factory: async_sessionmaker[AsyncSession],
    world: tuple[f.SmallSchool, dict[str, int | None]],
) -> None:
    async with session_factory() as session:
        expected = {
            "admin": {Role.ADMIN},
            "head_teacher": {Role.HEAD_TEACHER},
            "class_teacher": {Role.TEACHER, Role.CLASS_TEACHER},
            "teacher": {Role.TEACHER},
            "student": {Role.STUDENT},
            "parent": {Role.PARENT},
            "trusted": {Role.TRUSTED},
            "stranger": set(),
            "b_admin": {Role.ADMIN},
            "b_head_teacher": {Role.HEAD_TEACHER},
            "b_class_teacher": {Role.TEACHER, Role.CLASS_TEACHER},
            "b_teacher": {Role.TEACHER},
            "b_student": {Role.STUDENT},
            "b_parent": {Role.PARENT},
        }
        for role, tid in ROLES.items():
            actor = await load_actor(session, tid)
            assert set(actor.roles) == expected[role], role


async def test_expired_or_revoked_trust_is_no_access(
    session_factory: async_sessionmaker[AsyncSession],
    world: tuple[f.SmallSchool, dict[str, int | None]],
) -> None:
    school, objects = world
    async with session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == school.trusted_grant_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
        actor = await load_actor(session, f.TRUSTED)
        assert Role.TRUSTED not in actor.roles
        assert not await can(session, actor, Action.VIEW_GRADES, objects["own"])
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == school.trusted_grant_id)
            .values(expires_at=None, revoked_at=utcnow())
        )
        await session.commit()
        actor = await load_actor(session, f.TRUSTED)
        assert not await can(session, actor, Action.VIEW_HOMEWORK, objects["own"])


async def test_anonymous_actor_may_nothing(
    session_factory: async_sessionmaker[AsyncSession],
    world: tuple[f.SmallSchool, dict[str, int | None]],
) -> None:
    _school, objects = world
    async with session_factory() as session:
        nobody = Actor(telegram_id=1)
        for action, target in expectations():
            assert not await can(session, nobody, action, objects[target])
