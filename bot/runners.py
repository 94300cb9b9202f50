"""Start-up and shutdown: long polling by default, a webhook server when WEBHOOK_URL is set.

Telegram out of reach (a network error or a 5xx) at start-up or while polling is waited out:
the calls that set the bot up and fetch updates are repeated with exponential backoff and one
log line per attempt, never a traceback. A token Telegram refuses (401) ends the start with
`TelegramUnauthorizedError`, which the CLI turns into one line and exit code 2.

No update lost, none run twice (see bot/delivery.py for the ledger of update ids):

* webhook: an update is run to the end *before* the request is answered 200; a redelivered
  `update_id` is answered 200 without running again (REDIS_URL: across processes);
* polling: our own loop instead of aiogram's `start_polling` (whose `handle_as_tasks`
  confirms a batch's offset with the next getUpdates while its updates still run, and whose
  shutdown drops the running ones): each update starts as soon as it is fetched, and is
  confirmed only once it and every older one are done (`PollWindow`);
* SIGTERM/SIGINT: stop taking updates (the webhook's port closes, requests still arriving
  on open connections get 503 so Telegram delivers them again; polling stops fetching),
  finish those in flight (up to SHUTDOWN_TIMEOUT seconds; any cut off are given back to
  Telegram), drain the notifier (its claimed messages go back to the outbox), confirm the
  polling offset, then return: `parta run` exits 0. A second signal cuts the wait short.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import RestartingTelegram, TelegramNetworkError, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommandScopeChat, Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar_feed import add_routes as add_calendar_routes
from bot.config import Settings
from bot.delivery import MemoryLedger, Outcome, RedisLedger, UpdateFeeder, UpdateLedger
from bot.factory import create_bot, create_dispatcher
from bot.health import add_routes
from bot.notifier import Notifier
from db.engine import create_session_factory

logger = logging.getLogger("parta")
network_logger = logging.getLogger("parta.telegram")

# Calls safe to repeat until they go through: they set the bot up or fetch updates, and are
# made only at start-up and by the polling loop (a handler's calls fail as usual instead).
PATIENT_METHODS = frozenset(
    {"getMe", "getUpdates", "deleteWebhook", "setWebhook", "setMyCommands", "setChatMenuButton"}
)
UNREACHABLE = (TelegramNetworkError, TelegramServerError, RestartingTelegram)
#: polling holds at most this many times MAX_CONCURRENT_UPDATES updates in the process (one
#: batch; Telegram hands out at most 100 at once, the rest wait at Telegram)
POLLING_BACKLOG = 10
POLLING_TIMEOUT = 10  # seconds a getUpdates long poll waits for an update
CONFIRM_TIMEOUT = 5.0  # the last offset's confirmation at shutdown, at most
T = TypeVar("T")


class MissingWebhookSecret(RuntimeError):
    """Webhook mode without WEBHOOK_SECRET: anyone could post forged updates."""


class Backoff:
    """Exponential delays with a little jitter: 1, 2, 4, … seconds, at most `maximum`."""

    def __init__(self, first: float = 1.0, maximum: float = 60.0, factor: float = 2.0) -> None:
        self.first = first
        self.maximum = maximum
        self.factor = factor

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.first * self.factor ** (attempt - 1))
        return base * random.uniform(0.9, 1.1)


class WaitForTelegram(BaseRequestMiddleware):
    """Repeats start-up and polling calls while Telegram is out of reach, one log line per
    failed attempt; other calls (sends, edits, a chat's own menu) are not touched."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    def patient(self, method: TelegramMethod[TelegramType]) -> bool:
        if method.__api_method__ not in PATIENT_METHODS:
            return False
        return not isinstance(getattr(method, "scope", None), BotCommandScopeChat)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not self.patient(method):
            return await make_request(bot, method)
        attempt = 0
        while True:
            try:
                response = await make_request(bot, method)
            except UNREACHABLE as exc:
                attempt += 1
                delay = self.backoff.delay(attempt)
                network_logger.warning(
                    "Telegram is unreachable (%s: %s); %s again in %.0f s (attempt %d)",
                    type(exc).__name__,
                    exc,
                    method.__api_method__,
                    delay,
                    attempt,
                )
                await self.sleep(delay)
                continue
            if attempt:
                network_logger.info("Telegram is reachable again after %d attempts", attempt)
            return response


async def run_bot(settings: Settings, engine: AsyncEngine) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully (see the module's docstring)."""
    if settings.webhook_url and settings.webhook_secret is None:
        raise MissingWebhookSecret("WEBHOOK_SECRET is not set")
    bot = create_bot(settings)
    bot.session.middleware(WaitForTelegram())
    dp = create_dispatcher(settings, create_session_factory(engine))
    ledger = create_ledger(settings, bot)
    feeder = UpdateFeeder(dp, bot, ledger)
    stop = StopSignal()
    stop.install()
    try:
        # a refused token ends here (TelegramUnauthorizedError); a signal while Telegram is
        # still out of reach ends the start quietly
        if await until_stopped(bot.me(), stop) is None:
            return
        if settings.webhook_url:
            await _run_webhook(bot, dp, feeder, settings, stop)
        else:
            await _run_polling(bot, dp, feeder, settings, stop)
    finally:
        stop.uninstall()
        await ledger.close()
        await bot.session.close()
        await dp.storage.close()


def create_ledger(settings: Settings, bot: Bot) -> UpdateLedger:
    """The ledger of update ids: shared through Redis when REDIS_URL is set (several
    processes behind one webhook), else in this process's memory."""
    if settings.redis_url:
        return RedisLedger.from_url(settings.redis_url, bot.id)
    return MemoryLedger()


class StopSignal:
    """SIGTERM and SIGINT as an event: the first asks for a graceful stop, a second one
    (an impatient operator) cuts the waiting short."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()
        self._installed = False

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            for sig in self.SIGNALS:
                loop.add_signal_handler(sig, self.receive, sig)
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            loop = asyncio.get_running_loop()
            for sig in self.SIGNALS:
                loop.remove_signal_handler(sig)
            self._installed = False

    def receive(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.requested.is_set():
            logger.warning("%s again: stopping without waiting any longer", sig.name)
            self.forced.set()
            return
        logger.info("%s received: finishing the updates in flight, then stopping", sig.name)
        self.requested.set()


async def _first_of(task: asyncio.Future[Any], event: asyncio.Event) -> None:
    """Wait until `task` is done or `event` is set, whichever comes first (`task` is left as
    it is either way)."""
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


async def until_stopped(work: Awaitable[T], stop: StopSignal) -> T | None:
    """`work`'s result, or None (and `work` cancelled) if a stop is requested first."""
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    await _first_of(task, stop.requested)
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _sleep_unless_stopped(seconds: float, stop: StopSignal) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.requested.wait(), seconds)


async def _drain(
    dp: Dispatcher, feeder: UpdateFeeder, settings: Settings, stop: StopSignal
) -> None:
    """Finish the updates in flight (bounded), then drain the notifier with what is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.shutdown_timeout
    drained = asyncio.create_task(feeder.drain(settings.shutdown_timeout))
    await until_forced(drained, stop, feeder)
    notifier: Notifier | None = dp.workflow_data.get("notifier")
    if notifier is not None:
        grace = 0.0 if stop.forced.is_set() else max(deadline - loop.time(), 1.0)
        await notifier.stop(grace=grace)


async def until_forced(drained: asyncio.Task[int], stop: StopSignal, feeder: UpdateFeeder) -> None:
    """Wait for `drained`; a second signal makes it give up on what is still running."""
    await _first_of(drained, stop.forced)
    if not drained.done():
        await feeder.drain(0)
    await drained


# --- long polling ---------------------------------------------------------------------------


async def _run_polling(
    bot: Bot, dp: Dispatcher, feeder: UpdateFeeder, settings: Settings, stop: StopSignal
) -> None:
    if await until_stopped(bot.delete_webhook(drop_pending_updates=False), stop) is None:
        return
    workflow: dict[str, Any] = {"dispatcher": dp, "bots": [bot], **dp.workflow_data}
    await dp.emit_startup(bot=bot, **workflow)
    try:
        me = await bot.me()
        logger.info("polling for updates of @%s", me.username)
        batch = min(100, POLLING_BACKLOG * settings.concurrent_updates)
        poller = asyncio.create_task(
            poll(bot, feeder, stop, dp.resolve_used_update_types(), batch=batch),
            name="parta-polling",
        )
        stopping = asyncio.create_task(stop.requested.wait())
        try:
            await asyncio.wait({poller, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if poller.done():
            poller.result()  # it only ends on a stop: an error surfaces here
        await _drain(dp, feeder, settings, stop)
        await poller  # confirms the offset of what was handled
    finally:
        await dp.emit_shutdown(bot=bot, **workflow)
        logger.info("stopped")


class PollWindow:
    """The updates a poller took and what became of them, by update id.

    `offset` is what the next getUpdates confirms up to: the oldest update not yet handled
    (running, or to be tried again), else the one after the newest seen. getUpdates hands out
    `batch` updates from there, so the ones behind a slow update keep coming back with it:
    `take` starts only those it has not started yet, and an update that was not taken (the
    ledger busy or out of reach) again once `RETRY_AFTER` has passed.
    """

    RETRY_AFTER = 1.0  # seconds before an update that was not taken is tried again

    def __init__(self, start: Callable[[Update], Coroutine[Any, Any, Outcome]]) -> None:
        self._start = start
        self.running: dict[int, asyncio.Task[Outcome]] = {}
        self._handled: set[int] = set()  # handled, not yet confirmed (an older one runs)
        self._retry: dict[int, float] = {}  # not taken: when it may be tried again
        self._newest: int | None = None
        self.finished = asyncio.Event()  # set whenever a running update ends

    @property
    def offset(self) -> int | None:
        waiting = [*self.running, *self._retry]
        if waiting:
            return min(waiting)
        return None if self._newest is None else self._newest + 1

    @property
    def next_retry(self) -> float | None:
        """When the first update that was not taken may be tried again (loop time)."""
        return min(self._retry.values(), default=None)

    def room(self, batch: int) -> int:
        """How many new updates the next getUpdates of `batch` can bring."""
        offset = self.offset
        if offset is None or self._newest is None:
            return batch
        return batch - (self._newest + 1 - offset)

    def take(self, updates: list[Update], offset: int | None) -> None:
        """Start the updates of a fetch made with `offset` that are not running or handled
        already. (What was handled is remembered until a fetch's offset has passed it: an
        update that ends while a fetch is under way can still come back with that fetch.)"""
        if offset is not None:
            self._handled = {uid for uid in self._handled if uid >= offset}
        # an update to try again that this fetch (made from an offset at or before it) did
        # not bring back is gone from Telegram (kept a day): waiting for it would stall
        returned = {update.update_id for update in updates}
        self._retry = {uid: at for uid, at in self._retry.items() if uid in returned}
        now = asyncio.get_running_loop().time()
        for update in updates:
            uid = update.update_id
            if uid in self.running or uid in self._handled:
                continue
            if uid in self._retry and self._retry[uid] > now:
                continue
            self._retry.pop(uid, None)
            self._newest = uid if self._newest is None else max(self._newest, uid)
            task = asyncio.create_task(self._start(update), name=f"poll-{uid}")
            self.running[uid] = task
            task.add_done_callback(functools.partial(self._ended, uid))

    def _ended(self, uid: int, task: asyncio.Task[Outcome]) -> None:
        del self.running[uid]
        answered = not task.cancelled() and task.exception() is None and task.result().answered
        if answered:
            self._handled.add(uid)
        else:  # fetched again from Telegram, and tried again after a pause
            self._retry[uid] = asyncio.get_running_loop().time() + self.RETRY_AFTER
        self.finished.set()

    async def settle(self) -> None:
        """Wait until nothing runs (a stop's drain finishes or cuts off what is left)."""
        while self.running:
            await asyncio.wait(list(self.running.values()))


async def poll(
    bot: Bot,
    feeder: UpdateFeeder,
    stop: StopSignal,
    allowed_updates: list[str],
    *,
    batch: int = 100,
) -> None:
    """Run each update as soon as it is fetched, and confirm an update (Telegram confirms
    every update before the offset it is given) only once it and every older one were handled.

    At most `batch` updates are in the process (the dispatcher's own bound,
    MAX_CONCURRENT_UPDATES, applies to those running). A slow update holds back only the
    confirmation, not the updates behind it (`PollWindow`). With nothing running, a fetch is a
    long poll; while updates run, fetches are `FETCH_PAUSE` apart, and one waits for a running
    update to end while the `batch` updates from the offset are all taken. At a stop: no more
    fetching, the running updates are left to the caller's drain, and what was handled is
    confirmed."""
    window = PollWindow(lambda update: _feed(feeder, update))
    confirmed: int | None = None
    while not stop.requested.is_set():
        offset = window.offset
        fetch = bot.get_updates(
            offset=offset,
            limit=batch,
            timeout=0 if window.running else POLLING_TIMEOUT,
            allowed_updates=allowed_updates,
        )
        try:
            updates = await until_stopped(fetch, stop)
        except Exception as exc:  # e.g. a conflict with another poller: wait, retry
            logger.warning("getUpdates failed (%s); trying again in 5 s", exc)
            await _sleep_unless_stopped(5, stop)
            continue
        if updates is None:
            break  # stopping; an answer cut off here was not confirmed: sent again later
        confirmed = offset
        window.take(updates, offset)
        await _until_worth_fetching(window, batch, stop)
    await window.settle()
    offset = window.offset
    if offset is not None and offset != confirmed:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                bot.get_updates(offset=offset, limit=1, timeout=0), CONFIRM_TIMEOUT
            )


#: while updates run, the pause between two fetches (each brings back the updates from the
#: oldest one not yet handled, to be skipped: this keeps that cost small)
FETCH_PAUSE = 0.2


async def _until_worth_fetching(window: PollWindow, batch: int, stop: StopSignal) -> None:
    """Return when the next getUpdates is worth making: at once when nothing runs (it is a
    long poll), unless an update waits to be tried again (Telegram would hand it out at once:
    wait for its time); while updates run, once `FETCH_PAUSE` has passed and there is room for
    a new update (with none, once a running one ended and made some); at once on a stop."""
    loop = asyncio.get_running_loop()
    earliest = loop.time() + FETCH_PAUSE
    while not stop.requested.is_set():
        window.finished.clear()  # before looking: an update ending from here on is noticed
        if not window.running:
            retry = window.next_retry
            if retry is not None and retry > loop.time():
                await _sleep_unless_stopped(retry - loop.time(), stop)
            return
        left: float | None = None  # no room: only an update that ends makes some
        if window.room(batch) > 0:
            left = earliest - loop.time()
            if left <= 0:
                return
        waiter = asyncio.ensure_future(window.finished.wait())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first_of(waiter, stop.requested), left)
        finally:
            waiter.cancel()


async def _feed(feeder: UpdateFeeder, update: Update) -> Outcome:
    try:
        return await feeder.feed(update)
    except Exception as exc:  # the ledger out of reach: the update is fetched again
        logger.warning("update %s not taken: %s", update.update_id, exc)
        return Outcome.BUSY


# --- webhook --------------------------------------------------------------------------------


class WebhookHandler:
    """POSTs from Telegram: the secret checked, the update run to its end, then the answer:
    200 once it is handled (or was before), 503 while it runs elsewhere or the process is
    stopping (Telegram delivers it again later)."""

    def __init__(self, feeder: UpdateFeeder, secret: str) -> None:
        self.feeder = feeder
        self.secret = secret

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=401, text="Unauthorized")
        if not self.feeder.accepting:
            return _try_later()
        bot = self.feeder.bot
        try:
            raw = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(raw, context={"bot": bot})
        except (ValueError, ValidationError, RecursionError):  # nested too deep for json
            return web.Response(status=400, text="not an update")
        try:
            outcome = await self.feeder.feed(update)
        except Exception as exc:  # the ledger out of reach: Telegram delivers it again
            logger.warning("update %s not taken: %s", update.update_id, exc)
            return _try_later()
        if outcome.answered:
            return web.json_response({})
        return _try_later()


def _try_later() -> web.Response:
    return web.Response(status=503, text="try again later", headers={"Retry-After": "1"})


async def _run_webhook(
    bot: Bot, dp: Dispatcher, feeder: UpdateFeeder, settings: Settings, stop: StopSignal
) -> None:
    assert settings.webhook_url is not None
    if settings.webhook_secret is None:
        raise MissingWebhookSecret("WEBHOOK_SECRET is not set")
    secret = settings.webhook_secret.get_secret_value()
    path = urlsplit(settings.webhook_url).path or "/"
    app = web.Application()
    # every request must carry the secret in X-Telegram-Bot-Api-Secret-Token, else 401
    app.router.add_post(path, WebhookHandler(feeder, secret).handle)
    add_routes(app, dp)  # /healthz, /readyz, /metrics
    add_calendar_routes(app, dp["session_factory"], dp["i18n"], dp["update_slots"])
    workflow: dict[str, Any] = {"dispatcher": dp, "bots": [bot], "app": app, **dp.workflow_data}
    await dp.emit_startup(bot=bot, **workflow)  # menus, notifier, scheduler
    try:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host=settings.webhook_host, port=settings.webhook_port)
        try:
            await site.start()
            # only now, with the port open, tell Telegram where to deliver
            registered = await until_stopped(
                bot.set_webhook(
                    settings.webhook_url,
                    secret_token=secret,
                    allowed_updates=dp.resolve_used_update_types(),
                ),
                stop,
            )
            if registered is not None:
                logger.info(
                    "webhook server on %s:%s%s", settings.webhook_host, settings.webhook_port, path
                )
                await stop.requested.wait()
            # no new connections; requests on open ones get 503 and come again
            feeder.accepting = False
            await site.stop()
            await _drain(dp, feeder, settings, stop)
        finally:
            await runner.cleanup()
    finally:
        await dp.emit_shutdown(bot=bot, **workflow)
        logger.info("stopped")
