"""Router filters by who is acting: a router that belongs to one audience is gated as a whole
(services still check every read and write against the actor)."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from services.core.actors import Actor


class StaffOnly(Filter):
    """Passes the school's staff (teachers, class and head teachers, admins)."""

    async def __call__(self, event: TelegramObject, actor: Actor) -> bool:
        return actor.is_staff
