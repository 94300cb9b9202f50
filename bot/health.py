"""Health, readiness and Prometheus metrics over HTTP.

- ``GET /healthz``: the process is alive and its event loop answers (200, always).
- ``GET /readyz``: the database answers and its schema is at the migrations' head (200), else
  503 with the reason: a load balancer or orchestrator sends no traffic to a process that
  cannot serve it (the database down, an upgrade not applied yet).
- ``GET /metrics``: the dispatcher's `bot.metrics.Metrics` in Prometheus' text format.

`add_routes(app, dp)` puts them on the webhook server (`bot.runners`); with ``METRICS_PORT``
set, a small aiohttp server of their own serves them too (started and stopped by the
dispatcher's startup and shutdown, so long polling gets them). Neither is meant for the
internet: the TLS proxy forwards only the webhook path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from aiogram import Dispatcher
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import version
from bot.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger("parta.health")

#: seconds a readiness probe waits for the database
READY_TIMEOUT = 5.0
_HEAD: str | None = None


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: str  # "ok" or why not
    revision: str | None  # the database's schema revision
    head: str  # the code's newest revision


async def head_revision() -> str:
    """The migrations' head, read once per process (Alembic reads the scripts from disk)."""
    global _HEAD
    if _HEAD is None:
        from db.migrate import head_revision as read_head

        _HEAD = await asyncio.to_thread(read_head)
    return _HEAD


async def check_ready(engine: AsyncEngine, wait: float = READY_TIMEOUT) -> Readiness:
    """Whether the database answers within `wait` seconds and is migrated to the head."""
    head = await head_revision()

    async def revision() -> str | None:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()

    try:
        current = await asyncio.wait_for(revision(), wait)
    except TimeoutError:
        return Readiness(False, f"no answer within {wait:.0f} s", None, head)
    except Exception as exc:  # no details: an error text may carry a host name or a password
        return Readiness(False, f"unreachable ({type(exc).__name__})", None, head)
    return Readiness(current == head, "ok", current, head)


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", charset="utf-8"
    )


def add_routes(app: web.Application, dp: Dispatcher) -> None:
    """``/healthz``, ``/readyz`` and ``/metrics`` of the process running `dp`."""
    metrics: Metrics = dp["metrics"]

    async def healthz(_request: web.Request) -> web.Response:
        return _json(200, {"status": "alive", "version": version()})

    async def readyz(_request: web.Request) -> web.Response:
        if metrics.engine is None:
            return _json(503, {"status": "not ready", "database": "not configured"})
        state = await check_ready(metrics.engine)
        metrics.ready.set(1 if state.ready else 0)
        if state.ready:
            return _json(200, {"status": "ready", **asdict(state)})
        if state.database == "ok":
            reason = "schema behind the code: run `parta db upgrade`"
            if state.revision is not None and state.revision != state.head:
                reason = f"schema at {state.revision}, the code needs {state.head}"
            return _json(503, {"status": "not ready", "reason": reason, **asdict(state)})
        return _json(503, {"status": "not ready", "reason": state.database, **asdict(state)})

    async def metrics_page(_request: web.Request) -> web.Response:
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


async def serve_metrics_port(dispatcher: Dispatcher) -> None:
    """Startup hook: with METRICS_PORT set, serve the three routes on their own port."""
    settings = dispatcher["settings"]
    if settings.metrics_port is None or "metrics_runner" in dispatcher.workflow_data:
        return
    app = web.Application()
    add_routes(app, dispatcher)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=settings.metrics_host, port=settings.metrics_port)
    try:
        await site.start()
    except OSError as exc:  # the port taken: the bot still serves, its health check will say
        logger.error(
            "cannot serve health and metrics on %s:%s: %s",
            settings.metrics_host,
            settings.metrics_port,
            exc.strerror or exc,
        )
        await runner.cleanup()
        return
    dispatcher["metrics_runner"] = runner
    logger.info(
        "health and metrics on http://%s:%s/ (healthz, readyz, metrics)",
        settings.metrics_host,
        settings.metrics_port,
    )


async def stop_metrics_port(dispatcher: Dispatcher) -> None:
    """Shutdown hook."""
    runner: web.AppRunner | None = dispatcher.workflow_data.pop("metrics_runner", None)
    if runner is not None:
        await runner.cleanup()
