"""The outbox dispatcher: claims due notifications, turns them into messages with the *current*
state of what they are about, and sends them under Telegram's limits.

No aiogram here: messages go out through an injected `Transport` (bot/notifier.py adapts
aiogram's Bot to it), which renders a `Outbound` in the recipient's language and performs one
API call per part, raising the `DeliveryError` subclasses below.

One round (`run_batch`):

1. claim due rows (`services.notify.outbox.claim_due`: `FOR UPDATE SKIP LOCKED` on
   PostgreSQL);
2. load what they are about in a fixed number of queries (`services.notify.facts`);
3. plan (`services.notify.plan`, pure): cancel what is void (a grade deleted inside the grace
   window), reschedule what must wait (quiet hours, a held grade, a family still being
   graded), coalesce the rest into one message per recipient and kind;
4. send with a small pool of workers, each message paced by the `RateLimiter`, and record each
   outcome in its own tiny transaction right after the API answered.

Failures: 429 → the whole limiter pauses for `retry_after` and the rows are retried then;
403 → the account is marked inactive and its rows wait until it comes back; other 4xx → the
rows are dead letters (counted, shown to admins, retryable); network and 5xx → exponential
backoff, dead after `max_attempts`.

At-least-once window: a process killed after Telegram accepted a message but before
`mark_sent` committed sends that message again once its claim expires. At most `concurrency`
messages per process are in that window at any moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from services.core.redaction import redact
from services.core.schooltime import zone_of
from services.notify import outbox
from services.notify.facts import load_facts
from services.notify.model import Outbound, Plan
from services.notify.plan import plan_batch
from services.notify.preferences import PreferenceDefaults

logger = logging.getLogger("parta.dispatcher")

TELEGRAM_RATE = 30.0
PAID_BROADCAST_RATE = 1000.0
CHAT_WAIT = 0.25  # a message whose chat is busy for longer goes back to the outbox
IDLE_HORIZON = timedelta(seconds=5)


# --- what the transport raises --------------------------------------------------------------


class DeliveryError(Exception):
    """A send failed; the subclass says what to do about it."""


class RetryAfter(DeliveryError):
    """429: Telegram asks to wait `seconds`."""

    def __init__(self, seconds: float, message: str = "Too Many Requests") -> None:
        super().__init__(message)
        self.seconds = seconds


class RecipientGone(DeliveryError):
    """403: the user blocked the bot or deleted their account."""


class Rejected(DeliveryError):
    """Another 4xx: the message itself is wrong (or the chat does not exist); never retried."""


class Unavailable(DeliveryError):
    """Network trouble or a 5xx: retried with exponential backoff."""


class Transport(Protocol):
    """Renders and sends; bot/notifier.py implements it with aiogram."""

    def prepare(self, message: Outbound, locale: str | None) -> Sequence[Any]:
        """The parts (API calls) of a message, rendered in `locale` (None: the default)."""

    async def deliver(self, chat_id: int, part: Any, *, paid: bool) -> int | None:
        """Send one part; returns Telegram's message id."""


# --- Telegram's limits ----------------------------------------------------------------------


class RateLimiter:
    """Keeps sends under an overall rate and at most one per `per_chat_interval` per chat.

    Slots are handed out in order and spaced evenly (no bursts), so a steady fan-out runs at
    the ceiling without a single 429; a chat's next slot counts from the moment its previous
    message was answered. `clock` and `sleep` are injectable: tests run it on virtual time.
    """

    def __init__(
        self,
        per_second: float = TELEGRAM_RATE,
        per_chat_interval: float = 1.05,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("the rate must be positive")
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self.per_chat_interval = per_chat_interval
        self.clock = clock
        self.sleep = sleep
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self.waited = 0.0

    async def _until(self, moment: float) -> None:
        delay = moment - self.clock()
        if delay > 0:
            self.waited += delay
            await self.sleep(delay)

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until this chat may get its next message."""
        return max(0.0, self._next_chat.get(chat_id, 0.0) - self.clock())

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's next slot, then take the next overall slot."""
        while (chat_at := self._next_chat.get(chat_id, 0.0)) > self.clock():
            await self._until(chat_at)
        start = max(self.clock(), self._next_global)
        self._next_global = start + self.interval
        self._next_chat[chat_id] = start + self.per_chat_interval
        await self._until(start)
        if len(self._next_chat) > 50_000:
            now = self.clock()
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}

    def done(self, chat_id: int) -> None:
        """The chat's message was answered: its next one waits a full interval from now, so
        a request slowed on its way never lands too close to the next one."""
        after = self.clock() + self.per_chat_interval
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), after)

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said 429: nothing goes out for `seconds`."""
        until = self.clock() + seconds
        self._next_global = max(self._next_global, until)
        if chat_id is not None:
            self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)


# --- the dispatcher -------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchConfig:
    """How the dispatcher behaves (built from the settings by bot/notifier.py)."""

    grace: timedelta = timedelta(seconds=60)
    rate: float = TELEGRAM_RATE
    paid_broadcast: bool = False
    batch_size: int = 200
    claim_seconds: float = 60.0
    concurrency: int = 8
    per_chat_batch: int = 5
    max_attempts: int = 8
    max_backoff: float = 3600.0
    max_age: timedelta = outbox.MAX_AGE
    timezone: str = "Europe/Moscow"
    preferences: PreferenceDefaults = field(default_factory=PreferenceDefaults)

    @property
    def effective_batch(self) -> int:
        """A batch small enough to be sent well within its claim."""
        fits = int(self.rate * self.claim_seconds / 3)
        return max(1, min(self.batch_size, fits))


@dataclass
class RoundStats:
    claimed: int = 0
    sent: int = 0
    messages: int = 0
    cancelled: int = 0
    rescheduled: int = 0
    failed: int = 0


@dataclass
class Totals:
    """Counters since start (for logs and the benchmark)."""

    sent_messages: int = 0
    sent_rows: int = 0
    retry_after: int = 0
    blocked: int = 0
    dead: int = 0
    backoff: int = 0
    cancelled: int = 0


def rate_for(rate: float, paid_broadcast: bool) -> float:
    """The ceiling: NOTIFY_RATE, or 1000/s with paid broadcasts unless set otherwise."""
    if paid_broadcast and rate <= TELEGRAM_RATE:
        return PAID_BROADCAST_RATE
    return rate


class OutboxDispatcher:
    """Sends the outbox. `run_once` drains what is due now; `run_forever` keeps doing so."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        transport: Transport,
        *,
        config: DispatchConfig | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.transport = transport
        self.config = config or DispatchConfig()
        self.limiter = limiter or RateLimiter(self.config.rate)
        self.clock = clock
        self.zone = zone_of(self.config.timezone)
        self.totals = Totals()
        # how a chart is built: a worker thread here, a worker process in the bot (bot/notifier)
        self.render_photo: Callable[[Callable[[], bytes]], Awaitable[bytes]] = asyncio.to_thread
        self._stopping = asyncio.Event()

    # ---- stopping

    def request_stop(self) -> None:
        """Finish gracefully (a shutdown): claim nothing more, give the claimed messages not
        yet started back to the outbox, let the sends in flight complete and be recorded;
        `run_forever` then returns."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # ---- one round

    async def run_batch(self, now: datetime | None = None) -> RoundStats:
        """Claim one batch, plan it and send it. `now` fixes the clock (tests)."""
        fixed = now
        now = now or self.clock()
        # the lease runs from here (`claimed_until` is `now` + claim_seconds), not from when
        # the claim came back: a slow claim leaves less of it to send in
        deadline = time.monotonic() + self.config.claim_seconds * 0.8
        config = self.config
        async with self.session_factory() as session:
            rows = await outbox.claim_due(
                session,
                limit=config.effective_batch,
                now=now,
                claim_seconds=config.claim_seconds,
                max_age=config.max_age,
            )
        stats = RoundStats(claimed=len(rows))
        if not rows:
            return stats
        async with self.session_factory() as session:
            facts = await load_facts(
                session,
                rows,
                now=now,
                default_zone=self.zone,
                defaults=config.preferences,
                grace=config.grace,
            )
            plan = plan_batch(rows, facts, now=now, grace=config.grace)
            release = _limit_per_chat(plan, config.per_chat_batch)
            await outbox.cancel(session, plan.cancel)
            await outbox.reschedule(session, plan.reschedule)
            await outbox.release(session, release)
            await session.commit()
        stats.cancelled = len(plan.cancel)
        stats.rescheduled = len(plan.reschedule)
        self.totals.cancelled += len(plan.cancel)
        messages = _interleave(plan.messages)
        await self._send_all(messages, stats, deadline, fixed)
        return stats

    async def run_once(self, now: datetime | None = None, max_rounds: int = 1000) -> int:
        """Send everything due now; returns how many rows were handled."""
        handled = 0
        for _ in range(max_rounds):
            stats = await self.run_batch(now)
            if not stats.claimed:
                break
            handled += stats.claimed
        return handled

    async def is_idle(self, now: datetime | None = None) -> bool:
        """Nothing is due within a few seconds (claimed rows of a dead process and messages
        waiting for their chat count as not done)."""
        soon = (now or self.clock()) + IDLE_HORIZON
        async with self.session_factory() as session:
            return await outbox.due_count(session, soon) == 0

    async def run_forever(
        self, *, poll_interval: float = 1.0, stop_when_idle: bool = False
    ) -> None:
        """The background loop: a round whenever something is due, else a short nap; returns
        after `request_stop` once the round in progress is over."""
        while not self.stopping:
            try:
                stats = await self.run_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("notification round failed")
                stats = RoundStats()
            if stats.claimed:
                continue
            if stop_when_idle and await self.is_idle():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), poll_interval)

    # ---- sending

    async def _send_all(
        self, messages: list[Outbound], stats: RoundStats, deadline: float, fixed: datetime | None
    ) -> None:
        queue: asyncio.Queue[Outbound] = asyncio.Queue()
        for message in messages:
            queue.put_nowait(message)

        async def worker() -> None:
            while True:
                try:
                    message = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if time.monotonic() > deadline or self.stopping:
                    await self._release(message)
                    continue
                wait = self.limiter.chat_delay(message.chat_id)
                if fixed is None and wait > CHAT_WAIT:
                    # its chat is busy: back to the outbox, while this worker serves others
                    await self._release(message, self.clock() + timedelta(seconds=wait))
                    continue
                await self._send(message, stats, fixed, deadline)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.config.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # cut off (a shutdown that could not wait): what no worker took goes back now
            # rather than when its claim expires; a send cut off in flight keeps its claim
            untouched = [queue.get_nowait() for _ in range(queue.qsize())]
            if untouched:
                with contextlib.suppress(Exception):
                    await self._release_rows([row for m in untouched for row in m.rows])

    async def _release_rows(self, rows: list[int]) -> None:
        async with self.session_factory() as session:
            await outbox.release(session, rows)
            await session.commit()

    async def _release(self, message: Outbound, at: datetime | None = None) -> None:
        async with self.session_factory() as session:
            if at is None:
                await outbox.release(session, message.rows)
            else:
                await outbox.reschedule(session, dict.fromkeys(message.rows, at))
            await session.commit()

    async def _send(
        self, message: Outbound, stats: RoundStats, fixed: datetime | None, deadline: float
    ) -> None:
        config = self.config
        try:
            if message.photo is not None:
                message.photo_bytes = await self.render_photo(message.photo)
            parts = self.transport.prepare(message, message.locale)
            telegram_id: int | None = None
            for index, part in enumerate(parts):
                await self.limiter.acquire(message.chat_id)
                if index == 0 and (time.monotonic() > deadline or self.stopping):
                    # a long 429 pause outlived the lease, or a shutdown came meanwhile
                    await self._release(message)
                    return
                try:
                    sent = await self.transport.deliver(
                        message.chat_id, part, paid=config.paid_broadcast
                    )
                finally:
                    self.limiter.done(message.chat_id)
                telegram_id = telegram_id or sent
        except RetryAfter as exc:
            self.totals.retry_after += 1
            self.limiter.pause(exc.seconds, message.chat_id)
            await self._failed(
                message,
                str(exc),
                retry_in=timedelta(seconds=exc.seconds),
                count=False,
                fixed=fixed,
            )
        except RecipientGone as exc:
            self.totals.blocked += 1
            logger.info("chat %s blocked the bot: %s", message.chat_id, exc)
            async with self.session_factory() as session:
                await outbox.deactivate_recipient(session, message.chat_id)
            await self._failed(message, str(exc), retry_in=timedelta(0), count=False, fixed=fixed)
        except Rejected as exc:
            self.totals.dead += 1
            logger.warning("notification %s dead-lettered: %s", message.rows, exc)
            await self._failed(message, str(exc), dead=True, fixed=fixed)
        except Unavailable as exc:
            self.totals.backoff += 1
            attempts = message.attempts + 1
            dead = attempts >= config.max_attempts
            backoff = min(config.max_backoff, 2.0 ** (attempts + 1))
            await self._failed(
                message, str(exc), retry_in=timedelta(seconds=backoff), dead=dead, fixed=fixed
            )
        except Exception as exc:  # a template or chart that cannot be built: never retried
            self.totals.dead += 1
            logger.exception("notification %s could not be built", message.rows)
            # only the type: the text of an arbitrary error may quote personal data
            await self._failed(
                message, f"{type(exc).__name__} (see the log)", dead=True, fixed=fixed
            )
        else:
            async with self.session_factory() as session:
                await outbox.mark_sent(session, message.rows, telegram_id, fixed or self.clock())
            stats.sent += len(message.rows)
            stats.messages += 1
            self.totals.sent_rows += len(message.rows)
            self.totals.sent_messages += 1
            return
        stats.failed += len(message.rows)

    async def _failed(
        self,
        message: Outbound,
        error: str,
        *,
        retry_in: timedelta | None = None,
        dead: bool = False,
        count: bool = True,
        fixed: datetime | None,
    ) -> None:
        now = fixed or self.clock()
        async with self.session_factory() as session:
            await outbox.mark_failed(
                session,
                message.rows,
                error=redact(error),  # admins see it: no token (a network error's URL), no phone
                retry_at=None if retry_in is None else now + retry_in,
                dead=dead,
                count_attempt=count,
            )


def _limit_per_chat(plan: Plan, per_chat: int) -> list[int]:
    """Keep at most `per_chat` messages per chat in one batch (a claim must not outlive its
    lease waiting on one chat's 1/s); the rest go back to the outbox."""
    seen: dict[int, int] = {}
    kept: list[Outbound] = []
    released: list[int] = []
    for message in plan.messages:
        seen[message.chat_id] = seen.get(message.chat_id, 0) + 1
        if seen[message.chat_id] > per_chat:
            released.extend(message.rows)
        else:
            kept.append(message)
    plan.messages = kept
    return released


def _interleave(messages: list[Outbound]) -> list[Outbound]:
    """Order a batch in rounds: every chat's first message, then every chat's second…, so
    waiting for one chat's next slot never holds the others up."""
    rank: dict[int, int] = {}
    keyed = []
    for index, message in enumerate(messages):
        nth = rank.get(message.chat_id, 0)
        rank[message.chat_id] = nth + 1
        keyed.append((nth, index, message))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [message for _, _, message in keyed]
