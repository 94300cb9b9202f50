"""Router filters by who is acting: a router that belongs to one audience is gated as a whole
(services still check every read and write against the actor)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Router
from aiogram.filters import Command, Filter, or_f
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import TelegramObject

from services.core.access import Action, denied
from services.core.actors import Actor


class StaffOnly(Filter):
    """Passes the school's staff (teachers, class and head teachers, admins)."""

    async def __call__(self, event: TelegramObject, actor: Actor) -> bool:
        return actor.is_staff


def gated(
    name: str,
    audience: Filter,
    inside: Router,
    *,
    refusal: Action,
    commands: Sequence[str] = (),
    buttons: Sequence[CallbackQueryFilter] = (),
) -> Router:
    """`inside` for those `audience` passes; anyone else sending one of its `commands` or
    pressing one of its `buttons` (stale or forged) is refused before any service runs, with
    the policy's refusal `denied(refusal)` (the one short "no access" answer of the
    domain-error middleware, the same the services give)."""
    inside.message.filter(audience)
    inside.callback_query.filter(audience)

    async def refuse_outsider(event: TelegramObject) -> None:
        raise denied(refusal)

    outsiders = Router(name=f"{name}_outsiders")
    if commands:
        outsiders.message.register(refuse_outsider, Command(*commands))
    if buttons:
        outsiders.callback_query.register(refuse_outsider, or_f(*buttons))
    router = Router(name=name)
    router.include_routers(inside, outsiders)
    return router
