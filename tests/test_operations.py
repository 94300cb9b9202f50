"""Running Parta as a service: /healthz, /readyz and /metrics over real HTTP, the metrics
moving with real updates, METRICS_PORT in polling mode, JSON log lines (redacted), the
scheduler's chatter at DEBUG, and `parta run` logging its version and settings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Dispatcher
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, settings_summary
from bot.health import add_routes
from bot.logs import JsonFormatter, configure_logging, install_redaction
from bot.metrics import instrument
from db.engine import create_engine, create_session_factory
from db.migrate import head_revision, revisions
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN, CODE_SECRET, App

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def http(dp: Dispatcher) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The three routes on a real aiohttp server on a free local port."""
    application = web.Application()
    add_routes(application, dp)
    async with TestClient(TestServer(application)) as client:
        yield client


def samples(page: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page: (name, sorted labels) → value."""
    found = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(v for (n, _), v in values.items() if n == name)


async def test_health_ready_and_metrics_move_with_an_update(app: App) -> None:
    async with http(app.dp) as client:
        health = await client.get("/healthz")
        assert health.status == 200
        assert (await health.json())["status"] == "alive"

        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 200, body
        assert body["revision"] == body["head"] == head_revision()

        before = samples(await (await client.get("/metrics")).text())
        assert total(before, "parta_updates_total") == 0
        user = app.user(4242, language_code="en")
        await user.send("/start")
        assert "electronic diary" in user.last.text
        page = await client.get("/metrics")
        assert page.headers["Content-Type"].startswith("text/plain")
        after = samples(await page.text())

    updates = {labels: v for (name, labels), v in after.items() if name == "parta_updates_total"}
    assert sum(updates.values()) == 1
    [(labels, _)] = updates.items()
    handler = dict(labels)["handler"]
    assert dict(labels)["outcome"] == "handled"
    assert handler.endswith("start") or "start" in handler, handler
    assert after[("parta_update_duration_seconds_count", (("kind", "message"),))] == 1
    assert after[("parta_updates_in_flight", ())] == 0
    for name in ("parta_db_pool_size", "parta_db_pool_checked_out", "parta_db_pool_overflow"):
        assert (name, ()) in after
    assert after[("parta_outbox_depth", (("state", "pending"),))] == 0
    assert after[("parta_outbox_depth", (("state", "dead"),))] == 0
    for name in (
        "parta_notifications_sent_total",
        "parta_notifications_retry_after_total",
        "parta_notifications_dead_letters_total",
    ):
        assert after[(name, ())] == 0
    assert total(after, "parta_notifications_failed_total") == 0
    assert after[("parta_process_resident_memory_bytes", ())] > 0


@pytest.mark.allow_telegram_errors("log")  # the crash is logged, on purpose
async def test_a_failing_handler_is_counted_as_an_error(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    user = app.user(4343, language_code="en")
    await user.send("/language")
    monkeypatch.setattr("handlers.common.set_locale", broken)
    await user.press(text="🇬🇧 English")
    assert "something went wrong" in user.last.text
    values = samples(app.dp["metrics"].render().decode())
    updates = {
        dict(labels)["outcome"]: (dict(labels)["handler"], v)
        for (name, labels), v in values.items()
        if name == "parta_updates_total"
    }
    assert updates["handled"][1] == 1  # /language
    handler, count = updates["error"]
    assert count == 1
    assert handler.startswith("common."), handler
    assert values[("parta_update_duration_seconds_count", (("kind", "callback_query"),))] == 1
    assert values[("parta_updates_in_flight", ())] == 0


async def test_readyz_fails_while_the_schema_is_behind(engine: AsyncEngine) -> None:
    dp = Dispatcher(session_factory=create_session_factory(engine))
    instrument(dp)
    previous = revisions()[-2]
    async with http(dp) as client:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": previous}
            )
        try:
            response = await client.get("/readyz")
            body = await response.json()
            gauge = samples(await (await client.get("/metrics")).text())[("parta_ready", ())]
        finally:
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
                )
        assert response.status == 503
        assert body["revision"] == previous
        assert head_revision() in body["reason"]
        assert gauge == 0
        assert (await client.get("/readyz")).status == 200


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://parta:secret-pw@127.0.0.1:1/parta",
        "sqlite+aiosqlite:////nonexistent-folder/parta.sqlite3",
    ],
    ids=["postgresql", "sqlite"],
)
async def test_readyz_fails_when_the_database_is_unreachable(url: str) -> None:
    engine = create_engine(url)
    dp = Dispatcher(session_factory=create_session_factory(engine))
    instrument(dp)
    try:
        async with http(dp) as client:
            response = await client.get("/readyz")
            body = await response.json()
            assert (await client.get("/healthz")).status == 200
            metrics = await client.get("/metrics")  # still answers: the outbox is simply unread
            assert metrics.status == 200
    finally:
        await engine.dispose()
    assert response.status == 503
    assert body["reason"].startswith("unreachable")
    assert "secret-pw" not in json.dumps(body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_metrics_port_serves_the_routes_in_polling_mode(
    fake_telegram: FakeTelegram, db_url: str, session_factory: object
) -> None:
    port = _free_port()
    app = await App.start(fake_telegram, db_url, session_factory, metrics_port=port)  # type: ignore[arg-type]
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
            async with client.get(f"http://127.0.0.1:{port}/readyz") as ready:
                assert ready.status == 200
            async with client.get(f"http://127.0.0.1:{port}/metrics") as page:
                assert "parta_updates_in_flight" in await page.text()
    finally:
        await app.stop()
    with socket.socket() as sock:  # stopped with the dispatcher: the port is free again
        sock.bind(("127.0.0.1", port))


# --- logs -------------------------------------------------------------------------------------


def test_json_log_lines_parse_and_are_redacted() -> None:
    secret = "987654:SECRET-token-value-for-json"
    install_redaction([secret])
    logger = logging.getLogger("parta.test.json")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling https://api.telegram.org/bot%s/getMe", secret)
        try:
            raise RuntimeError(f"refused token {secret}")
        except RuntimeError:
            logger.exception("start failed for «школа»")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = [json.loads(line) for line in records]
    assert [line["level"] for line in lines] == ["WARNING", "ERROR"]
    assert lines[0]["logger"] == "parta.test.json"
    assert "getMe" in lines[0]["message"]
    assert "RuntimeError" in lines[1]["exc"]
    assert lines[1]["message"] == "start failed for «школа»"
    assert all(secret not in line and "SECRET-token" not in line for line in records)


def test_scheduler_job_lines_are_debug(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging(None)
    chatty = logging.getLogger("apscheduler.executors.default")
    with caplog.at_level(logging.INFO):
        chatty.info('Running job "parta:digests"')
        chatty.warning("Run time of job was missed")
    assert [r.getMessage() for r in caplog.records] == ["Run time of job was missed"]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        chatty.info('Job "parta:digests" executed successfully')
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", 'Job "parta:digests" executed successfully')
    ]


def test_settings_summary_masks_secrets() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=BOT_TOKEN,
        code_secret=CODE_SECRET,
        database_url="postgresql://parta:db-password@db:5432/parta",
        redis_url="redis://:redis-password@redis:6379/0",
        webhook_url="https://bot.example.org/tg",
        webhook_secret="hook-secret-value",
    )
    line = settings_summary(settings)
    for secret in (BOT_TOKEN, CODE_SECRET, "db-password", "redis-password", "hook-secret-value"):
        assert secret not in line
    assert "BOT_TOKEN=***" in line
    assert "DATABASE_URL=postgresql://parta:***@db:5432/parta" in line
    assert "REDIS_URL=redis://:***@redis:6379/0" in line
    assert "WEBHOOK_URL=https://bot.example.org/tg" in line
    assert "METRICS_PORT=-" in line


@pytest.mark.real_clock
async def test_parta_run_logs_json_and_serves_metrics_while_polling(tmp_path: Path) -> None:
    port = _free_port()
    async with FakeTelegram(token=BOT_TOKEN, bot_username="parta_test_bot") as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))},
            "BOT_TOKEN": BOT_TOKEN,
            "CODE_SECRET": CODE_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parta.sqlite3'}",
            "TELEGRAM_API_URL": fake.base_url,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "METRICS_PORT": str(port),
            "PYTHONPATH": str(ROOT),
        }
        for name in ("REDIS_URL", "WEBHOOK_URL", "WEBHOOK_SECRET"):
            env.pop(name, None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        lines: list[str] = []
        try:

            async def until_up() -> None:
                while True:
                    raw = await process.stderr.readline()  # type: ignore[union-attr]
                    assert raw, f"parta run ended early: {lines}"
                    lines.append(raw.decode())
                    if "Parta is up" in lines[-1]:
                        return

            await asyncio.wait_for(until_up(), 120)
            user = fake.user(4545, language_code="en")
            await user.send("/start")
            for _ in range(300):
                if user.sent:
                    break
                await asyncio.sleep(0.05)
            async with aiohttp.ClientSession() as client:
                async with client.get(f"http://127.0.0.1:{port}/readyz") as ready:
                    assert ready.status == 200
                # the update is counted once its handler has returned, just after the answer
                # went out: scrape until it shows (a loaded machine may take a moment)
                for _ in range(300):
                    async with client.get(f"http://127.0.0.1:{port}/metrics") as page:
                        values = samples(await page.text())
                    if total(values, "parta_updates_total"):
                        break
                    await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 60)
    entries = [json.loads(line) for line in lines]
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith("Parta ") and "starting" in m for m in messages), messages
    [summary] = [m for m in messages if m.startswith("settings: ")]
    assert "BOT_TOKEN=***" in summary
    assert f"METRICS_PORT={port}" in summary
    assert all(BOT_TOKEN not in line and CODE_SECRET not in line for line in lines)
    assert total(values, "parta_updates_total") == 1


@pytest.mark.parametrize(
    ("level", "fmt", "expected"),
    [(" debug ", "JSON", ("DEBUG", "json")), ("Warning", " Text", ("WARNING", "text"))],
)
def test_log_level_and_format_are_read_in_any_case(
    level: str, fmt: str, expected: tuple[str, str]
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=BOT_TOKEN,
        code_secret=CODE_SECRET,
        log_level=level,
        log_format=fmt,
    )
    assert (settings.log_level, settings.log_format) == expected


@pytest.mark.parametrize(("field", "value"), [("log_level", "loud"), ("log_format", "xml")])
def test_an_unknown_log_level_or_format_names_the_choices(field: str, value: str) -> None:
    with pytest.raises(ValueError, match="must be one of"):
        Settings(_env_file=None, bot_token=BOT_TOKEN, **{field: value})  # type: ignore[call-arg]
