"""The grades a family may see: the student, their guardians and their trusted persons.

Decisions, pinned by tests/test_core_rules.py:

* A deleted grade (``deleted_at`` set) is never shown; it stays in the table for the trail.
* A grade the teacher holds back (``hidden_until``) appears on that school-local day itself,
  from its first instant (`released_at`), not the day after: the diary, the digests, the
  reactions and the journal's "not seen yet" report all agree on ``hidden_until <= today``,
  and the notification of a held grade is due at that same instant.
* Staff see every grade that is not deleted, held or not (the journal marks the held ones).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_

from db.models import Grade
from services.core.schooltime import day_start


def family_visible(today: date, grade: Any = Grade) -> ColumnElement[bool]:
    """SQL: the grade is shown to the family on the school-local `today`."""
    return and_(
        grade.deleted_at.is_(None),
        or_(grade.hidden_until.is_(None), grade.hidden_until <= today),
    )


class GradeState(Protocol):
    """What the rule reads of a grade (a `Grade` row or a loaded copy of it)."""

    @property
    def deleted_at(self) -> datetime | None: ...

    @property
    def hidden_until(self) -> date | None: ...


def family_sees(grade: GradeState, today: date) -> bool:
    """`family_visible` for a loaded grade."""
    return grade.deleted_at is None and not is_held(grade.hidden_until, today)


def is_held(hidden_until: date | None, today: date) -> bool:
    """The teacher still holds the grade back from the family on `today`."""
    return hidden_until is not None and hidden_until > today


def released_at(hidden_until: date, zone: tzinfo) -> datetime:
    """The instant (UTC) a held grade reaches the family: the first instant of its day."""
    return day_start(hidden_until, zone)
