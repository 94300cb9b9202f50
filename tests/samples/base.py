"""Hostile sample data shared by the template samples of every area."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core.actors import Actor, ChildRef, Role

HOSTILE = "<b>Иванов & Co</b> 😀 " + "Ё" * 300 + " </i>&amp;"

HOSTILE_ACTOR = Actor(
    telegram_id=1,
    account_id=1,
    name=HOSTILE,
    roles=frozenset(Role),
    staff_id=1,
    class_teacher_of=(1, 2),
    children=(
        ChildRef(1, HOSTILE, "<7B>", Role.PARENT),
        ChildRef(2, HOSTILE, None, Role.TRUSTED, 1),
    ),
)
ALL_ROLES = [r.value for r in Role]
WHEN = datetime(2026, 12, 31, 20, 59, tzinfo=UTC)
