"""The `parta` console script as a user runs it: errors, demo seed, and `parta run` answering
every demo role through the fake Telegram (real long polling, a separate process)."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Grade, Lesson, School, Student
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN, CODE_SECRET

PARTA = [sys.executable, "-m", "bot"]

# the processes started here keep the real clock (tests/clock.py)
pytestmark = pytest.mark.real_clock


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The environment of a `parta` run: the test's values over a clean base, with the test
    apps' CODE_SECRET (pass ``CODE_SECRET=""`` to leave it unset)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "CODE_", "INVITE_"))
    }
    env.pop("REDIS_URL", None)
    env.pop("WEBHOOK_URL", None)
    env["CODE_SECRET"] = CODE_SECRET
    env.update(values)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def _run(
    tmp_path: Path, *args: str, limit: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PARTA, *args],
        cwd=tmp_path,  # an empty folder: no .env, code found relative to itself
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
    )


async def _stop(process: asyncio.subprocess.Process) -> str:
    """Interrupt a running `parta run` like Ctrl+C and return everything it printed."""
    process.send_signal(signal.SIGINT)
    try:
        raw, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        raw, _ = await process.communicate()
    return raw.decode()


def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    result = _run(tmp_path, "run", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "@BotFather" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"},
        {"WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "s3cret"},
    ],
    ids=["postgresql", "webhook"],
)
def test_production_without_code_secret_is_one_clear_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **env}
    result = _run(tmp_path, "run", BOT_TOKEN="1:x", CODE_SECRET="", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("parta: CODE_SECRET is not set")
    assert list(tmp_path.iterdir()) == []  # nothing generated, nothing migrated


def test_embedded_default_keeps_a_generated_secret(tmp_path: Path) -> None:
    db = tmp_path / "parta.sqlite3"
    args = ["codes", "issue", "--kind", "staff", "--out", str(tmp_path / "l.pdf")]
    issued = _run(
        tmp_path, *args, "--bot-username", "b_bot", DATABASE_URL=f"sqlite:///{db}", CODE_SECRET=""
    )
    assert issued.returncode == 2  # no school in the database: a clean refusal
    assert "no school" in issued.stderr
    secret = tmp_path / "parta.code-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 32


def test_version_is_one_line(tmp_path: Path) -> None:
    result = _run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"parta {importlib.metadata.version('parta')}"


def test_malformed_database_url(tmp_path: Path) -> None:
    result = _run(tmp_path, "db", "upgrade", DATABASE_URL="mysql://nope")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("parta: configuration error: DATABASE_URL")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    result = _run(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 2
    assert "cannot use the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_http_webhook_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, "run", BOT_TOKEN="1:x", WEBHOOK_URL="http://example.org/hook")
    assert result.returncode == 2
    assert "WEBHOOK_URL" in result.stderr
    assert "https" in result.stderr


def test_webhook_without_secret_is_refused(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "run",
        limit=120,  # refused before anything starts (else it would serve, and never end)
        BOT_TOKEN="1:x",
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        WEBHOOK_URL="https://parta.example.org/hook",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WEBHOOK_SECRET is not" in lines[0]
    assert "Traceback" not in result.stderr


def test_webhook_listens_on_localhost_by_default() -> None:
    from bot.config import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_host == "127.0.0.1"


@pytest.mark.allow_telegram_errors("api")  # the wrong token's 401, on purpose
async def test_wrong_token_is_one_clear_line(tmp_path: Path) -> None:
    wrong = "123456:AAH-wrong-token-from-the-readme-placeholder"
    async with FakeTelegram(token=BOT_TOKEN) as fake:
        result = await asyncio.to_thread(
            _run,
            tmp_path,
            "run",
            BOT_TOKEN=wrong,
            DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
            TELEGRAM_API_URL=fake.base_url,
        )
        assert [e.error_code for e in fake.errors] == [401]  # Telegram was asked, and refused
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("parta:")]
    assert len(errors) == 1, result.stderr
    assert "Telegram refused BOT_TOKEN (401 Unauthorized)" in errors[0]
    assert wrong not in result.stderr
    assert wrong.split(":")[1] not in result.stdout + result.stderr


async def _read_until(process: asyncio.subprocess.Process, lines: list[str], done: Any) -> None:
    """Collect the process's output lines into `lines` until `done(lines)` is true (a
    minute at most)."""
    assert process.stdout is not None

    async def collect() -> None:
        assert process.stdout is not None
        while not done(lines):
            raw = await process.stdout.readline()
            if not raw:
                raise AssertionError("the process ended:\n" + "".join(lines))
            lines.append(raw.decode())

    await asyncio.wait_for(collect(), 60)


def _unreachable(lines: list[str]) -> list[str]:
    return [line for line in lines if "Telegram is unreachable" in line]


async def test_unreachable_telegram_is_waited_out_with_backoff(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *PARTA,
        "run",
        cwd=tmp_path,
        env=_env(
            tmp_path,
            BOT_TOKEN=BOT_TOKEN,
            DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
            TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        await _read_until(process, lines, lambda seen: len(_unreachable(seen)) >= 3)
        assert process.returncode is None, "still running, waiting for Telegram"
    finally:
        output = "".join(lines) + await _stop(process)
    attempts = _unreachable(output.splitlines())
    assert "(attempt 1)" in attempts[0]
    assert "in 1 s" in attempts[0]
    assert "in 2 s" in attempts[1]
    assert "in 4 s" in attempts[2]
    assert "Traceback" not in output, output
    assert process.returncode in (0, 130), output


async def test_outage_at_start_and_while_polling_is_waited_out(tmp_path: Path) -> None:
    async with FakeTelegram(token=BOT_TOKEN) as fake:
        fake.break_next("getMe")
        fake.break_next("getUpdates", times=2)
        process = await asyncio.create_subprocess_exec(
            *PARTA,
            "run",
            cwd=tmp_path,
            env=_env(
                tmp_path,
                BOT_TOKEN=BOT_TOKEN,
                DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
                TELEGRAM_API_URL=fake.base_url,
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        lines: list[str] = []
        try:
            await _read_until(process, lines, lambda seen: len(_unreachable(seen)) >= 3)
            await fake.wait_for(lambda: len(fake.calls_to("getUpdates")) >= 3, timeout=30)
            user = fake.user(4243, language_code="en")
            await user.send("/start")
            await fake.wait_for(lambda: user.messages, timeout=30)
            assert "electronic diary" in user.last.text
            assert [e.method for e in fake.injected] == ["getMe", "getUpdates", "getUpdates"]
            assert fake.errors == []
        finally:
            output = "".join(lines) + await _stop(process)
    attempts = _unreachable(output.splitlines())
    assert len(attempts) == 3, output
    assert "getMe again" in attempts[0]
    assert "TelegramNetworkError" in attempts[0]
    assert "getUpdates again in 1 s (attempt 1)" in attempts[1]
    assert "getUpdates again in 2 s (attempt 2)" in attempts[2]
    assert "bot<token>/getMe" in attempts[0], "the URL is logged without the token"
    assert BOT_TOKEN not in output
    assert "TEST-token" not in output
    assert "Traceback" not in output, output
    assert process.returncode in (0, 130), output


def test_bad_timezone_and_locale(tmp_path: Path) -> None:
    result = _run(
        tmp_path, "db", "upgrade", TIMEZONE="Mars/Olympus", DEFAULT_LOCALE="de", BOT_TOKEN="1:x"
    )
    assert result.returncode == 2
    assert "TIMEZONE" in result.stderr
    assert "DEFAULT_LOCALE" in result.stderr


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    factory = async_sessionmaker(engine)
    async with factory() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Student, Lesson, Grade)
        }


async def test_demo_seed_leaves_a_database_with_another_school_alone(
    tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The demo is an import: planned against a real school it would rename it and mark its
    people as leavers, so it refuses, in one line."""
    async with session_factory() as session, session.begin():
        session.add(School(name="Гимназия № 1", timezone="Europe/Moscow"))
    result = await asyncio.to_thread(_run, tmp_path, "demo", "seed", DATABASE_URL=db_url)
    assert result.returncode == 1
    assert "Гимназия № 1" in result.stderr
    assert "empty database" in result.stderr
    assert "Traceback" not in result.stderr
    async with session_factory() as session:
        assert list(await session.scalars(select(School.name))) == ["Гимназия № 1"]
        assert not await session.scalar(select(func.count()).select_from(Student))


async def test_demo_seed_json_is_idempotent_and_run_answers_every_role(
    tmp_path: Path,
    db_url: str,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await asyncio.to_thread(_run, tmp_path, "demo", "seed", "--json", DATABASE_URL=db_url)
    assert first.returncode == 0, first.stderr
    accounts: list[dict[str, Any]] = json.loads(first.stdout)
    roles = {a["role"] for a in accounts}
    assert roles >= {
        "student",
        "parent",
        "trusted",
        "teacher",
        "class_teacher",
        "head_teacher",
        "admin",
    }
    for account in accounts:
        assert {"role", "telegram_id", "name", "class"} <= set(account)
        if account["role"] in ("student", "parent", "trusted", "class_teacher"):
            assert account["class"]
    counts = await _counts(engine)
    second = await asyncio.to_thread(_run, tmp_path, "demo", "seed", "--json", DATABASE_URL=db_url)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == accounts
    assert await _counts(engine) == counts

    table = await asyncio.to_thread(_run, tmp_path, "demo", "seed", DATABASE_URL=db_url)
    assert "already present" in table.stdout

    async with FakeTelegram(token=BOT_TOKEN) as fake:
        process = await asyncio.create_subprocess_exec(
            *PARTA,
            "run",
            cwd=tmp_path,
            env=_env(
                tmp_path,
                BOT_TOKEN=BOT_TOKEN,
                DATABASE_URL=db_url,
                TELEGRAM_API_URL=fake.base_url,
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("getUpdates"), timeout=60)
            users = [fake.user(a["telegram_id"], language_code="ru") for a in accounts]
            for user in users:
                await user.send("/start")
            await fake.wait_for(lambda: all(u.messages for u in users), timeout=60)
            for user, account in zip(users, accounts, strict=True):
                assert account["name"].split()[0] in user.last.text, account
            assert fake.errors == []
        finally:
            output = await _stop(process)
        assert "Traceback" not in output, output
        assert process.returncode in (0, 130), output


async def test_codes_issue_writes_letters_and_csv(
    tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from pypdf import PdfReader

    from tests.factories import make_small_school

    await make_small_school(session_factory)
    pdf, csv_path = tmp_path / "letters.pdf", tmp_path / "codes.csv"
    args = ["codes", "issue", "--class", "7B", "--kind", "parent", "--out", str(pdf)]
    result = await asyncio.to_thread(
        _run,
        tmp_path,
        *args,
        "--csv",
        str(csv_path),
        "--bot-username",
        "parta_school_bot",
        DATABASE_URL=db_url,
    )
    assert result.returncode == 0, result.stderr
    assert "2 parent codes issued" in result.stdout
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Мария" in text
    assert "t.me/parta_school_bot?start=" in text
    assert csv_path.read_text(encoding="utf-8").count("parta_school_bot") == 2
    first_letters = pdf.read_bytes()
    again = [*args, "--bot-username", "parta_school_bot"]
    refused = await asyncio.to_thread(_run, tmp_path, *again, DATABASE_URL=db_url)
    assert refused.returncode == 2
    assert "2 unused parent codes of 7B" in refused.stderr
    assert "--replace" in refused.stderr
    assert pdf.read_bytes() == first_letters, "nothing issued, nothing written"
    replaced = await asyncio.to_thread(_run, tmp_path, *again, "--replace", DATABASE_URL=db_url)
    assert replaced.returncode == 0, replaced.stderr
    assert "2 parent codes issued" in replaced.stdout
    wrong = await asyncio.to_thread(
        _run,
        tmp_path,
        "codes",
        "issue",
        "--class",
        "11Z",
        "--out",
        str(pdf),
        "--bot-username",
        "parta_school_bot",
        DATABASE_URL=db_url,
    )
    assert wrong.returncode == 2
    assert "unknown class" in wrong.stderr
    staff = await asyncio.to_thread(
        _run,
        tmp_path,
        "codes",
        "issue",
        "--kind",
        "staff",
        "--out",
        str(pdf),
        "--bot-username",
        "parta_school_bot",
        DATABASE_URL=db_url,
    )
    assert staff.returncode == 0, staff.stderr
    assert "staff codes issued" in staff.stdout


async def test_webhook_mode_with_secret(
    tmp_path: Path, db_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    import aiohttp

    from tests.factories import ADMIN, make_small_school

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    public_url = "https://parta.example.org/telegram/hook"  # behind a TLS proxy
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with FakeTelegram(token=BOT_TOKEN) as fake, aiohttp.ClientSession() as http:
        statuses: list[int] = []

        async def post(update: dict[str, Any], secret: str | None = "s3cret-token") -> None:
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
            async with http.post(url, json=update, headers=headers) as response:
                statuses.append(response.status)

        await make_small_school(session_factory)

        fake.deliver = post
        process = await asyncio.create_subprocess_exec(
            *PARTA,
            "run",
            cwd=tmp_path,
            env=_env(
                tmp_path,
                BOT_TOKEN=BOT_TOKEN,
                DATABASE_URL=db_url,
                TELEGRAM_API_URL=fake.base_url,
                WEBHOOK_URL=public_url,
                WEBHOOK_SECRET="s3cret-token",
                WEBHOOK_PORT=str(port),  # on the default host, 127.0.0.1
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=60)
            webhook = fake.calls_to("setWebhook")[-1]
            assert webhook["url"] == public_url
            assert webhook["secret_token"] == "s3cret-token"
            assert fake.calls_to("getUpdates") == []
            user = fake.user(4242, language_code="en")
            await user.send("/start")
            await fake.wait_for(lambda: user.messages, timeout=30)
            assert "electronic diary" in user.last.text
            # a forged update "from the admin", without the secret or with a wrong one
            admin = fake.user(ADMIN, language_code="en")
            command = [{"type": "bot_command", "offset": 0, "length": 6}]
            message = fake.message_dict(admin.add_message(False, text="/start", entities=command))
            for update_id, secret in [(1, None), (2, "wrong"), (3, "")]:
                await post({"update_id": update_id, "message": message}, secret=secret)
            assert statuses == [200, 401, 401, 401]
            # the same update with the secret is answered, and only it
            await post({"update_id": 4, "message": message})
            await fake.wait_for(lambda: admin.messages, timeout=30)
            await asyncio.sleep(0.5)
            assert statuses[-1] == 200
            assert len(admin.messages) == 1, "the forged updates were not acted upon"
            assert "Админ" in admin.last.text
            # health, readiness and metrics on the same server (the proxy forwards only the
            # webhook's path)
            base = f"http://127.0.0.1:{port}"
            async with http.get(f"{base}/healthz") as health:
                assert health.status == 200
            async with http.get(f"{base}/readyz") as ready:
                assert ready.status == 200
            async with http.get(f"{base}/metrics") as metrics:
                page = await metrics.text()
            assert 'parta_updates_total{handler="' in page
            # the calendar subscriptions are served there too: an unknown token is a 404
            async with http.get(f"{base}/calendar/{'x' * 32}.ics") as feed:
                assert feed.status == 404
            assert fake.errors == []
        finally:
            output = await _stop(process)
        assert "Traceback" not in output, output
