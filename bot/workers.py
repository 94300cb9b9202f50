"""CPU-heavy work off the event loop, in a worker process.

Rendering the printable letters (reportlab, ~2 s of CPU for a class) or the weekly chart
(matplotlib) in the bot's own process would stall every other user for that long, and
importing those libraries would add ~60-100 MB to every bot process for something done a few
times a week. So they run in one worker process, started on first use (``spawn``: a fresh
interpreter, not a copy of the bot with its sockets and threads) and kept for the next job;
`shutdown()` ends it with the dispatcher. The bot process itself never imports matplotlib or
reportlab (tests/test_lighter.py checks it).

A job is a module-level function and picklable arguments (`run(function, *args)`); a worker
that died (killed for memory, say) is replaced and the job tried once more.
"""

from __future__ import annotations

import asyncio
import gettext
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from services.people.codes import IssuedCode
    from services.reports import Report

logger = logging.getLogger("parta.workers")

T = TypeVar("T")
#: one worker: the jobs are rare, and the machine's other core serves the bot
MAX_WORKERS = 1
_pool: ProcessPoolExecutor | None = None


def pool() -> ProcessPoolExecutor:
    """The worker pool, created on first use."""
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(max_workers=MAX_WORKERS, mp_context=context)
        logger.info("worker process pool started for PDF and chart rendering")
    return _pool


def shutdown() -> None:
    """End the worker (if one was started); the next job starts a new one."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in the worker process, awaited without blocking the loop."""
    loop = asyncio.get_running_loop()
    job = partial(function, *args, **kwargs)
    try:
        return await loop.run_in_executor(pool(), job)
    except BrokenProcessPool:
        logger.warning("the worker process died; starting a new one")
        shutdown()
        return await loop.run_in_executor(pool(), job)


async def run_thunk(thunk: Callable[[], T]) -> T:
    """A prepared zero-argument job (a `functools.partial` of a module-level function)."""
    return await run(thunk)


# --- jobs (run inside the worker) -------------------------------------------------------------


@cache
def _catalog(folder: str, domain: str, locale: str) -> gettext.NullTranslations:
    return gettext.translation(domain, localedir=folder, languages=[locale], fallback=True)


def _translate(folder: str, domain: str) -> Callable[..., str]:
    """The bot's catalogs, read with the standard library: aiogram (~150 MB of models) is not
    imported in the worker."""

    def translate(message: str, /, *, locale: str) -> str:
        return _catalog(folder, domain, locale).gettext(message)

    return translate


def letters_files(
    codes: Sequence[IssuedCode],
    *,
    school_name: str,
    bot_username: str,
    timezone: str,
    catalogs: str,
    domain: str = "messages",
) -> tuple[bytes, str]:
    """The printable letters (PDF) and the codes' CSV, rendered in the worker with the bot's
    compiled catalogs (the folder `catalogs`, as `bot.i18n` prepared it)."""
    from services.people.letters import render_codes_csv, render_letters_pdf

    pdf = render_letters_pdf(
        codes,
        school_name=school_name,
        bot_username=bot_username,
        translate=_translate(catalogs, domain),
        timezone=timezone,
    )
    return pdf, render_codes_csv(codes, bot_username=bot_username)


def report_file(
    report: Report | Sequence[Report],
    fmt: str,
    catalogs: str,
    locale: str,
    *,
    domain: str = "messages",
) -> bytes:
    """A report (or several, one file: every report card of a class) as xlsx, pdf, png or
    plain text, its labels in `locale` from the bot's compiled catalogs (the folder
    `catalogs`, as `bot.i18n` prepared it)."""
    from services.reports import render_many

    reports = list(report) if isinstance(report, Sequence) else [report]
    gettext = partial(_translate(catalogs, domain), locale=locale)
    return render_many(reports, fmt, gettext)
