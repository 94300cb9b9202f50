"""Router filters: by who is acting (a router that belongs to one audience is gated as a whole;
services still check every read and write against the actor), and by the button a handler
takes (its `callback_data` annotation)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, get_type_hints

from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import TelegramObject

from services.core.access import Action, denied
from services.core.actors import Actor, Role


class StaffOnly(Filter):
    """Passes the school's staff (teachers, class and head teachers, admins)."""

    async def __call__(self, event: TelegramObject, actor: Actor) -> bool:
        return actor.is_staff


class AdminOnly(Filter):
    """Passes the school's administrators."""

    async def __call__(self, event: TelegramObject, actor: Actor) -> bool:
        return actor.has(Role.ADMIN)


def gated(name: str, audience: Filter, inside: Router, *, refusal: Action) -> Router:
    """`inside` for those `audience` passes; anyone else sending one of its commands or
    pressing one of its buttons (stale or forged) is refused before any service runs, with
    the policy's refusal `denied(refusal)` (the one short "no access" answer of the
    domain-error middleware, the same the services give).

    The commands and buttons are read off `inside` and its sub-routers: the filters of each
    handler of a command and of each button handler, so the gate and the handlers cannot
    disagree (a button added later is gated with it). Other messages an outsider sends
    (text, files) are not refused here: they go on to the routers after this one."""
    outsiders = Router(name=f"{name}_outsiders")

    async def refuse_outsider(event: TelegramObject) -> None:
        raise denied(refusal)

    for router in inside.chain_tail:
        for handler in router.message.handlers:
            filters = _filters_of(handler)
            if any(isinstance(f, Command) for f in filters):
                outsiders.message.register(refuse_outsider, *filters)
        for handler in router.callback_query.handlers:
            outsiders.callback_query.register(refuse_outsider, *_filters_of(handler))
    inside.message.filter(audience)
    inside.callback_query.filter(audience)
    router = Router(name=name)
    router.include_routers(inside, outsiders)
    return router


def _filters_of(handler: HandlerObject) -> list[Any]:
    """A handler's filters as they were registered (a magic filter as itself)."""
    return [f.magic if f.magic is not None else f.callback for f in handler.filters or ()]


ButtonHandler = Callable[..., Awaitable[Any]]


def button_filter(handler: ButtonHandler) -> CallbackQueryFilter:
    """The filter of a button handler: the callback-data factory its `callback_data`
    parameter is annotated with (so the registration cannot disagree with the handler)."""
    factory = get_type_hints(handler).get("callback_data")
    if not (isinstance(factory, type) and issubclass(factory, CallbackData)):
        raise TypeError(f"{handler.__qualname__}: callback_data is not a CallbackData factory")
    return factory.filter()


def register_buttons(router: Router, *handlers: ButtonHandler) -> None:
    """Register each handler for the presses of its own button (`button_filter`)."""
    for handler in handlers:
        router.callback_query.register(handler, button_filter(handler))
