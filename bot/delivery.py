"""Each update processed once, and none lost: the ledger of update ids and the feeder.

Telegram delivers an update again when it got no answer: a webhook request that failed or
timed out, a getUpdates offset that was never confirmed. `UpdateFeeder` runs an update
through the dispatcher only after claiming its `update_id` in a ledger, marks it done after
the handler finished (successfully or not: a failing update is answered with an apology and
not retried), and gives the claim back if the update was cut off by a shutdown, so the
redelivery runs it.

Two ledgers:

* `MemoryLedger` — one process (SQLite, or no REDIS_URL): a dict; what was done is
  forgotten after a day (Telegram keeps an undelivered update for 24 hours).
* `RedisLedger` — several processes (REDIS_URL): `SET parta:update:<bot>:<id> <token> NX EX`
  claims an update for a lease that the owner renews while it runs, `done` replaces the token
  when it finished, kept for a day. Whoever gets a redelivery of an update another process is
  still running waits for it a little, then answers "try later" (503): the update is never
  answered 200 before it was handled somewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

logger = logging.getLogger("parta.updates")

DONE_TTL = 24 * 3600  # Telegram keeps an update for a day
LEASE = 60.0  # a claim of a process that died is free again after this (renewed while running)
BUSY_WAIT = 10.0  # how long a redelivery waits for the process that runs the update


class Claim(enum.Enum):
    NEW = "new"  # ours to run
    DONE = "done"  # ran already: answer 200 and do nothing
    BUSY = "busy"  # running elsewhere


class Outcome(enum.Enum):
    HANDLED = "handled"  # ran here, now
    DUPLICATE = "duplicate"  # ran before (here or in another process)
    BUSY = "busy"  # still running elsewhere: ask Telegram to deliver it again later
    CUT_OFF = "cut_off"  # a shutdown stopped it; the claim is given back

    @property
    def answered(self) -> bool:
        """Telegram may forget the update (the webhook answers 200)."""
        return self in (Outcome.HANDLED, Outcome.DUPLICATE)


class UpdateLedger(Protocol):
    async def claim(self, update_id: int) -> Claim: ...

    async def finish(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None: ...

    async def renew(self, update_ids: list[int]) -> None: ...

    async def close(self) -> None: ...


class MemoryLedger:
    """The ledger of one process."""

    def __init__(
        self, done_ttl: float = DONE_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.done_ttl = done_ttl
        self.clock = clock
        self._busy: set[int] = set()
        self._done: dict[int, float] = {}  # update id → forgotten at (insertion order = time)

    async def claim(self, update_id: int) -> Claim:
        if update_id in self._busy:
            return Claim.BUSY
        if update_id in self._done:
            return Claim.DONE
        self._busy.add(update_id)
        return Claim.NEW

    async def finish(self, update_id: int) -> None:
        self._busy.discard(update_id)
        self._done[update_id] = self.clock() + self.done_ttl
        self._forget_expired()

    async def release(self, update_id: int) -> None:
        self._busy.discard(update_id)

    async def renew(self, update_ids: list[int]) -> None:
        return None

    async def close(self) -> None:
        return None

    def _forget_expired(self) -> None:
        now = self.clock()
        while self._done:
            oldest = next(iter(self._done))
            if self._done[oldest] > now:
                return
            del self._done[oldest]


# KEYS[1] the update's key, ARGV[1] our token: delete it only while it is still our claim
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: the keys, ARGV[1] our token, ARGV[2] the lease in ms: extend only our own claims
_RENEW = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 0
"""


class RedisLedger:
    """The ledger shared by every process on one Redis."""

    def __init__(
        self,
        redis: Any,
        bot_id: int,
        *,
        lease: float = LEASE,
        done_ttl: int = DONE_TTL,
        own_client: bool = False,
    ) -> None:
        self.redis = redis
        self.prefix = f"parta:update:{bot_id}:"
        self.lease = lease
        self.done_ttl = done_ttl
        self.token = "busy:" + secrets.token_hex(8)  # this process's claims
        self.own_client = own_client

    @classmethod
    def from_url(cls, url: str, bot_id: int, **kwargs: Any) -> RedisLedger:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url, decode_responses=True), bot_id, own_client=True, **kwargs)

    def key(self, update_id: int) -> str:
        return f"{self.prefix}{update_id}"

    async def claim(self, update_id: int) -> Claim:
        key = self.key(update_id)
        lease_ms = int(self.lease * 1000)
        while True:
            if await self.redis.set(key, self.token, nx=True, px=lease_ms):
                return Claim.NEW
            value = await self.redis.get(key)
            if value == "done":
                return Claim.DONE
            if value is not None:
                return Claim.BUSY
            # the other claim was released or expired between the two calls: try again

    async def finish(self, update_id: int) -> None:
        await self.redis.set(self.key(update_id), "done", ex=self.done_ttl)

    async def release(self, update_id: int) -> None:
        await self.redis.eval(_RELEASE, 1, self.key(update_id), self.token)

    async def renew(self, update_ids: list[int]) -> None:
        if update_ids:
            keys = [self.key(i) for i in update_ids]
            await self.redis.eval(_RENEW, len(keys), *keys, self.token, int(self.lease * 1000))

    async def close(self) -> None:
        if self.own_client:
            await self.redis.aclose()


class UpdateFeeder:
    """Runs updates through the dispatcher, each once, and knows which are in flight."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        ledger: UpdateLedger,
        *,
        busy_wait: float = BUSY_WAIT,
        **data: Any,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.ledger = ledger
        self.busy_wait = busy_wait
        self.data = data
        self.accepting = True
        self._running: dict[int, asyncio.Task[Outcome]] = {}
        self._renewer: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def feed(self, update: Update) -> Outcome:
        """Claim, run and record one update; a redelivery of one running elsewhere waits up
        to `busy_wait` for it. The update runs in a task of its own: a caller that goes away
        (a closed connection) does not cut it off, only `drain` does."""
        if not self.accepting:  # stopping: not started, Telegram delivers it again
            return Outcome.CUT_OFF
        deadline = time.monotonic() + self.busy_wait
        delay = 0.05
        while True:
            claim = await self.ledger.claim(update.update_id)
            if claim is Claim.DONE:
                return Outcome.DUPLICATE
            if claim is Claim.NEW:
                break
            if time.monotonic() >= deadline or not self.accepting:
                return Outcome.BUSY
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        task = asyncio.create_task(self._run(update), name=f"update-{update.update_id}")
        self._running[update.update_id] = task
        task.add_done_callback(lambda _: self._running.pop(update.update_id, None))
        self._start_renewing()
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():  # cut off by `drain`, not our caller
                return Outcome.CUT_OFF
            raise

    async def _run(self, update: Update) -> Outcome:
        try:
            result = await self.dispatcher.feed_update(self.bot, update, **self.data)
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, result)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.ledger.release(update.update_id))
            raise
        except Exception:
            # the error middleware already apologised; a failing update is not run again
            logger.exception("update %s failed", update.update_id)
        try:
            await self.ledger.finish(update.update_id)
        except Exception as exc:  # handled all the same: say so, the claim lapses
            logger.warning("update %s handled but not recorded: %s", update.update_id, exc)
        return Outcome.HANDLED

    def _start_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever(), name="update-leases")

    async def _renew_forever(self) -> None:
        lease = getattr(self.ledger, "lease", LEASE)
        while self._running:
            await asyncio.sleep(lease / 3)
            try:
                await self.ledger.renew(list(self._running))
            except Exception as exc:  # Redis away for a moment: the next round tries again
                logger.warning("could not renew the leases of running updates: %s", exc)

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a grace period, not I/O
        """Stop taking updates and wait up to `timeout` s for those in flight; the ones still
        running then are cancelled (their claims given back). Returns how many were cut off."""
        self.accepting = False
        running = list(self._running.values())
        if running:
            logger.info("waiting for %d updates in flight", len(running))
            _, pending = await asyncio.wait(running, timeout=max(timeout, 0))
            for task in pending:
                task.cancel()
            if pending:
                logger.warning("%d updates cut off by the shutdown", len(pending))
                await asyncio.wait(pending)
            cut_off = len(pending)
        else:
            cut_off = 0
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        return cut_off
