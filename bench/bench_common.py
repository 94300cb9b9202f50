"""What the benchmarks share.

A benchmark runs as a script (`python bench/<name>.py`), so bench/ is on `sys.path` and this
module is imported as `bench_common`, before any import of Parta's own packages: importing it
puts the repository on `sys.path` too, so `bot`, `db`, `services` and `tests` are found.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.demo import DEMO_TIMEZONE  # noqa: E402
from tests.pg_admin import execute_autocommit as execute_autocommit  # noqa: E402 (re-exported)


def log(message: str) -> None:
    """A detail line: stderr, so the result line is the last one on stdout."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank `share` percentile of `values` (NaN for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def add_database_url(parser: argparse.ArgumentParser, **options: str) -> None:
    """`--database-url`, by default PARTA_BENCH_DATABASE_URL (unset: the script picks SQLite)."""
    parser.add_argument(
        "--database-url", default=os.environ.get("PARTA_BENCH_DATABASE_URL"), **options
    )


def demo_year_end(today: date) -> date:
    """The last day of the school year holding `today` (the demo's years end on 31 May)."""
    return date(today.year + 1 if today.month >= 9 else today.year, 5, 31)


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The size of the seeded demo school (`--students`, `--weeks`), the day it is seeded as of
    (`--seed-today`: by default the last day of the current school year, so `--weeks 36` holds
    a whole year) and the number of timed samples (`--samples`)."""
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=36)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--seed-today",
        type=date.fromisoformat,
        default=demo_year_end(datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()),
        help="the day the demo is seeded as of (default: the last day of this school year)",
    )


def sqlite_url(folder: str | Path, name: str = "bench.sqlite3") -> str:
    """The URL of the SQLite file `name` in `folder`."""
    return f"sqlite+aiosqlite:///{Path(folder) / name}"
