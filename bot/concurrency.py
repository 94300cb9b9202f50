"""How many updates are at work at once, and what an update holds while it waits.

`UpdateSlots` bounds the updates processed at once (MAX_CONCURRENT_UPDATES, by default the
database pool's size): the others wait their turn in memory, so no update ever waits for a
pool connection (and fails after DB_POOL_TIMEOUT) under a burst. `UpdateSlotMiddleware` takes
a slot for the update's whole processing (inside per-user isolation, so the queued updates of
one user hold no slot); while the update sleeps to pace a chat or to wait out a 429
(`stepped_aside`), its slot serves another update.

`ReleaseConnection` ends the update's read transaction before each call to Telegram, so no
pool connection is held across an HTTP round trip; the next query takes one again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession


class _Held:
    """The slot one update holds (and gives back for a while)."""

    def __init__(self, slots: UpdateSlots) -> None:
        self.slots = slots
        self.held = False

    async def take(self) -> None:
        await self.slots._semaphore.acquire()
        self.held = True
        self.slots._taken(1)

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.slots._taken(-1)
            self.slots._semaphore.release()


#: the next step of aiogram's middleware chain (as bot.middlewares.base has it; not imported
#: from there: bot.telegram imports this module, and the middlewares import bot.telegram)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_CURRENT_SLOT: ContextVar[_Held | None] = ContextVar("parta_update_slot", default=None)
_CURRENT_SESSION: ContextVar[AsyncSession | None] = ContextVar("parta_update_session", default=None)


class UpdateSlots:
    """At most `limit` updates at work at once; `in_flight` and `peak` say how many are."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._semaphore = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.peak = 0

    def _taken(self, delta: int) -> None:
        self.in_flight += delta
        self.peak = max(self.peak, self.in_flight)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot (waiting for one) for the duration of the block."""
        held = _Held(self)
        await held.take()
        token = _CURRENT_SLOT.set(held)
        try:
            yield
        finally:
            _CURRENT_SLOT.reset(token)
            held.give_back()


@contextlib.asynccontextmanager
async def stepped_aside() -> AsyncIterator[None]:
    """Give the current update's slot to another update while this one only waits (pacing a
    chat, a 429); take a slot again afterwards. Outside an update: nothing."""
    held = _CURRENT_SLOT.get()
    if held is None or not held.held:
        yield
        return
    session = _CURRENT_SESSION.get()
    if session is not None:
        await release_connection(session)
    held.give_back()
    try:
        yield
    finally:
        await held.take()


class UpdateSlotMiddleware(BaseMiddleware):
    """Update-level: the update waits for a slot of `slots`, then is processed."""

    def __init__(self, slots: UpdateSlots) -> None:
        self.slots = slots

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.slots.hold():
            return await handler(event, data)


@contextlib.contextmanager
def current_session(session: AsyncSession) -> Iterator[None]:
    """Make `session` the update's session for `ReleaseConnection` (the session middleware)."""
    token = _CURRENT_SESSION.set(session)
    try:
        yield
    finally:
        _CURRENT_SESSION.reset(token)


async def release_connection(session: AsyncSession) -> None:
    """End the session's transaction when it has nothing of its own to write, so its pool
    connection goes back; objects stay loaded (no expiry on commit)."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        await session.commit()


class ReleaseConnection(BaseRequestMiddleware):
    """Before each Bot API call made while an update is processed: its session's connection
    goes back to the pool (services commit what they write before the handler talks to
    Telegram, so what is left is a read)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        session = _CURRENT_SESSION.get()
        if session is not None:
            await release_connection(session)
        return await make_request(bot, method)
