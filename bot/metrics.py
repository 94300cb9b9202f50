"""Prometheus metrics of one bot process (`prometheus-client`, every series prefixed `parta_`).

`instrument(dp)` (called by `bot.factory.create_dispatcher`) gives the dispatcher a `Metrics`
in ``dp["metrics"]`` and two middlewares:

- an outer update middleware, registered before every other one, counts each update by the
  handler that took it and how it ended, times it and keeps the number in flight;
- an inner middleware on every event observer of the root router (so on every handler of
  every router) names the handler and tells a refusal (`DomainError`) from a failure.

The notifier hands its running totals over (`watch_notifier`, see `bot.notifier.Notifier`);
the connection pool and the outbox are read when `/metrics` is scraped (`refresh`). Each
dispatcher has a registry of its own, so tests and several apps in one process never share a
series. Served by `bot.health`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.middlewares.base import Handler
from services.core.errors import DomainError

if TYPE_CHECKING:
    from services.notify.dispatcher import Totals

logger = logging.getLogger("parta.metrics")

SLOT = "parta_metrics_slot"
#: seconds; a screen should answer well under a second, a burst queues for longer
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class _Slot:
    """What the inner middleware learns about an update, read back by the outer one."""

    handler: str = "none"
    outcome: str | None = None


def handler_name(callback: Any) -> str:
    """``diary.show_today`` for ``handlers.diary.show_today``: few distinct values."""
    module = str(getattr(callback, "__module__", "") or "")
    name = str(getattr(callback, "__qualname__", None) or type(callback).__name__)
    module = module.removeprefix("handlers.")
    return f"{module}.{name}" if module else name


class _NotifierTotals(Collector):
    """The notifier's counters since start (`services.notify.dispatcher.Totals`)."""

    def __init__(self) -> None:
        self.totals: Totals | None = None

    def collect(self) -> Iterator[Metric]:
        totals = self.totals
        sent = CounterMetricFamily(
            "parta_notifications_sent", "Notification messages delivered to Telegram"
        )
        failed = CounterMetricFamily(
            "parta_notifications_failed",
            "Notification sends that failed, by reason (blocked: the user blocked the bot; "
            "unavailable: network or 5xx, retried with backoff; rejected: dead-lettered)",
            labels=["reason"],
        )
        limited = CounterMetricFamily(
            "parta_notifications_retry_after", "429 Too Many Requests answers to notifications"
        )
        dead = CounterMetricFamily(
            "parta_notifications_dead_letters",
            "Notifications given up on (refused by Telegram or impossible to build)",
        )
        sent.add_metric([], totals.sent_messages if totals else 0)
        for reason, value in (
            ("blocked", totals.blocked if totals else 0),
            ("unavailable", totals.backoff if totals else 0),
            ("rejected", totals.dead if totals else 0),
        ):
            failed.add_metric([reason], value)
        limited.add_metric([], totals.retry_after if totals else 0)
        dead.add_metric([], totals.dead if totals else 0)
        yield from (sent, failed, limited, dead)


class Metrics:
    """The series of one dispatcher, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(namespace="parta", registry=self.registry)
        self.updates = Counter(
            "parta_updates",
            "Updates processed, by handler (none: no handler took it) and outcome "
            "(handled, unhandled, refused: a polite domain refusal, error: an apology sent)",
            ["handler", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "parta_update_duration_seconds",
            "Time from an update entering the dispatcher to its handler returning, by kind",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "parta_updates_in_flight", "Updates being processed now", registry=self.registry
        )
        self.pool_size = Gauge(
            "parta_db_pool_size", "Connections the pool keeps open", registry=self.registry
        )
        self.pool_checked_out = Gauge(
            "parta_db_pool_checked_out", "Connections in use now", registry=self.registry
        )
        self.pool_overflow = Gauge(
            "parta_db_pool_overflow",
            "Connections opened beyond the pool size (negative: room left in the pool)",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "parta_outbox_depth",
            "Notification outbox rows by state (pending: waiting to be sent, due: pending and "
            "due now, dead: given up on)",
            ["state"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "parta_ready",
            "1 when the database answered /readyz and its schema was current",
            registry=self.registry,
        )
        self._notifier = _NotifierTotals()
        self.registry.register(self._notifier)
        self.engine: AsyncEngine | None = None
        self.session_factory: async_sessionmaker[AsyncSession] | None = None

    def watch_notifier(self, totals: Totals) -> None:
        """Report these notifier totals (the running notifier's)."""
        self._notifier.totals = totals

    def watch_database(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
        bind = session_factory.kw.get("bind")
        self.engine = bind if isinstance(bind, AsyncEngine) else None

    def read_pool(self) -> None:
        pool = self.engine.sync_engine.pool if self.engine is not None else None
        for gauge, attribute in (
            (self.pool_size, "size"),
            (self.pool_checked_out, "checkedout"),
            (self.pool_overflow, "overflow"),
        ):
            reader = getattr(pool, attribute, None)
            gauge.set(reader() if callable(reader) else 0)

    async def refresh(self) -> None:
        """Read what is measured on demand: the pool now and the outbox depth."""
        self.read_pool()
        if self.session_factory is None:
            return
        from services.notify.stats import outbox_depth

        try:
            async with self.session_factory() as session:
                depth = await outbox_depth(session)
        except Exception as exc:  # the database down: /readyz says so, /metrics still answers
            logger.warning("outbox depth not read: %s", type(exc).__name__)
            return
        for state, count in depth.items():
            self.outbox.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class UpdateMetrics(BaseMiddleware):
    """Outermost update middleware: count, time and keep in-flight every update."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        metrics = self.metrics
        slot = _Slot()
        data[SLOT] = slot
        kind = (event.event_type if isinstance(event, Update) else None) or "unknown"
        started = time.perf_counter()
        metrics.in_flight.inc()
        outcome = "error"
        try:
            result = await handler(event, data)
            if slot.outcome is not None:
                outcome = slot.outcome
            else:
                outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            metrics.in_flight.dec()
            metrics.latency.labels(kind).observe(time.perf_counter() - started)
            metrics.updates.labels(slot.handler, outcome).inc()


class HandlerLabel(BaseMiddleware):
    """Inner middleware: which handler took the update, and whether it refused or failed
    (the error middlewares further out turn both into answers)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        slot: _Slot | None = data.get(SLOT)
        if slot is None:
            return await handler(event, data)
        taken = data.get("handler")
        slot.handler = handler_name(getattr(taken, "callback", None))
        try:
            return await handler(event, data)
        except SkipHandler:
            slot.handler = "none"
            raise
        except DomainError:
            slot.outcome = "refused"
            raise
        except Exception:
            slot.outcome = "error"
            raise


def instrument(dp: Dispatcher) -> Metrics:
    """Give `dp` its metrics and middlewares; call before any other outer middleware."""
    metrics = Metrics()
    session_factory = dp.workflow_data.get("session_factory")
    if session_factory is not None:
        metrics.watch_database(session_factory)
    dp["metrics"] = metrics
    dp.update.outer_middleware(UpdateMetrics(metrics))
    from bot.health import serve_metrics_port, stop_metrics_port

    dp.startup.register(serve_metrics_port)
    dp.shutdown.register(stop_metrics_port)
    label = HandlerLabel()
    for name, observer in dp.observers.items():
        if name not in ("update", "error"):
            observer.middleware(label)
    return metrics
