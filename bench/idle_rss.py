"""Resident memory of an idle `parta run` against the fake Telegram of the test suite.

    python bench/idle_rss.py [--settle 15] [--database-url URL]

Seeds the demo school into a fresh SQLite file (or uses `--database-url`), starts the
installed `parta run` (long polling, the production code) against the fake Bot API running in
this process, waits for "Parta is up" and then `--settle` seconds (the scheduler's first run of
every job happens 10 s after start-up), and reads the process's resident set size from
/proc/PID/status. Then one demo parent opens /today and the figure is read again (the first
screen loads the templates and the diary code). Details go to stderr; the last line is

    idle_rss: idle_mb=<MB> after_today_mb=<MB> peak_mb=<MB> heavy=<modules loaded or none>

where `heavy` says whether matplotlib or reportlab were loaded in the bot process (read from
/proc/PID/maps: the shared objects of their compiled parts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from bench_common import ROOT, log

from tests.fakes.telegram_api import FakeTelegram
from tests.harness import BOT_TOKEN, CODE_SECRET

PARENT = 700000006
HEAVY = {"matplotlib": "matplotlib", "reportlab": "reportlab", "numpy": "numpy", "PIL": "PIL"}


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid` in kB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def heavy_modules(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted(name for name, folder in HEAVY.items() if f"/{folder}/" in maps)


def parta_command() -> list[str]:
    script = Path(sys.executable).with_name("parta")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def wait_for_line(stream: asyncio.StreamReader, needle: str, limit: float) -> None:
    async def scan() -> None:
        while True:
            line = await stream.readline()
            if not line:
                raise SystemExit(f"parta exited before {needle!r}")
            text = line.decode(errors="replace").rstrip()
            log(f"  | {text}")
            if needle in text:
                return

    await asyncio.wait_for(scan(), limit)


async def drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def measure(url: str | None, settle: float, folder: Path) -> str:
    env = {
        **os.environ,
        "BOT_TOKEN": BOT_TOKEN,
        "CODE_SECRET": CODE_SECRET,
        "DATABASE_URL": url or f"sqlite+aiosqlite:///{folder / 'parta.sqlite3'}",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
    }
    env.pop("WEBHOOK_URL", None)
    seed = await asyncio.create_subprocess_exec(
        *parta_command(), "demo", "seed", cwd=folder, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    if await seed.wait() != 0:
        raise SystemExit("parta demo seed failed")
    async with FakeTelegram(token=BOT_TOKEN, rate_limits=False) as fake:
        env["TELEGRAM_API_URL"] = fake.base_url
        process = await asyncio.create_subprocess_exec(
            *parta_command(),
            "run",
            cwd=folder,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        try:
            await wait_for_line(process.stderr, "Parta is up", 120)
            draining = asyncio.create_task(drain(process.stderr))
            await asyncio.sleep(settle)
            idle = status(process.pid)
            heavy = heavy_modules(process.pid)
            log(f"idle: {idle} heavy={heavy}")
            parent = fake.user(PARENT)
            await parent.send("/today")
            for _ in range(200):
                await asyncio.sleep(0.1)
                if parent.sent:
                    break
            await asyncio.sleep(1)
            after = status(process.pid)
            log(f"after /today: {after}; answered: {bool(parent.sent)}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
            if process.returncode is None:
                process.kill()
                await process.wait()
        draining.cancel()
    return (
        f"idle_rss: idle_mb={idle['VmRSS'] / 1024:.0f} after_today_mb={after['VmRSS'] / 1024:.0f}"
        f" peak_mb={after['VmHWM'] / 1024:.0f} heavy={','.join(heavy) or 'none'}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parta-rss-") as folder:
        print(await measure(args.database_url, args.settle, Path(folder)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
