"""The diary's entry screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.actors import Actor
from services.diary.child import Child, open_child, record_opened


@dataclass(frozen=True)
class DiaryMenu:
    child: Child
    several: bool  # the actor follows several students (show the switcher)


async def diary_menu(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> DiaryMenu:
    """The diary's entry screen for one student; stamps "opened" for guardians and trusted
    persons."""
    child = await open_child(session, actor, student_id, now=now)
    await record_opened(session, actor, student_id)
    return DiaryMenu(child, len(actor.children) > 1)
