"""The calendar subscription served by the webhook server: ``GET /calendar/<token>.ics``.

Each request reads the account's students afresh from the database
(`services.diary.calendar.feed_for_token`), so a calendar app that fetches it every few
minutes sees a cancelled lesson or new homework at its next fetch. An unknown or revoked
token is a plain 404 that tells nothing. The token never reaches the logs: aiohttp's
access log lines have it replaced by "…" (`HideTokens`).

The route needs no secret, so it must not be a way to take the database from the bot: text
that cannot be a token is refused before any query, at most `FEED_CONCURRENCY` feeds are read
at once (more wait up to `FEED_WAIT` seconds, then get 503 and a Retry-After; a calendar app
fetches again later), and each read holds one of the bot's update slots
(`bot.concurrency.UpdateSlots`), so the feeds and the updates together never ask the pool for
more connections than it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from urllib.parse import urlsplit

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.concurrency import UpdateSlots
from services.diary import calendar

logger = logging.getLogger("parta.calendar")

ROUTE = "/calendar/{token}.ics"
#: feeds read from the database at once, and how long another request waits for its turn
FEED_CONCURRENCY = 2
FEED_WAIT = 5.0
PATH_PREFIX = "/calendar/"
_TOKEN_IN_PATH = re.compile(r"/calendar/[^\s\"?]+")


class HideTokens(logging.Filter):
    """Replaces the token of a calendar URL in a log record by "…"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if PATH_PREFIX in message:
            record.msg = _TOKEN_IN_PATH.sub(f"{PATH_PREFIX}….ics", message)
            record.args = None
        return True


def _hide_tokens(logger_name: str = "aiohttp.access") -> None:
    access = logging.getLogger(logger_name)
    if not any(isinstance(f, HideTokens) for f in access.filters):
        access.addFilter(HideTokens())


def feed_url(base_url: str | None, token: str) -> str | None:
    """The subscription URL for `token` on the server behind `base_url` (PUBLIC_URL, else
    WEBHOOK_URL: its origin is kept); None without either (polling mode)."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}{PATH_PREFIX}{token}.ics"


def add_routes(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    slots: UpdateSlots | None = None,
    *,
    concurrency: int = FEED_CONCURRENCY,
    wait: float = FEED_WAIT,
) -> None:
    """Serve the calendar feeds on `app` (the webhook server); each database read holds one
    of `slots` (the dispatcher's update slots) and at most `concurrency` run at once."""
    _hide_tokens()
    turns = asyncio.Semaphore(concurrency)

    async def serve(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not calendar.looks_like_token(token):
            raise web.HTTPNotFound()
        try:
            await asyncio.wait_for(turns.acquire(), wait)
        except TimeoutError:
            return web.Response(status=503, text="busy", headers={"Retry-After": "60"})
        try:
            slot = slots.hold() if slots is not None else contextlib.nullcontext()
            async with slot, session_factory() as session:
                feed = await calendar.feed_for_token(session, token)
                await session.rollback()  # read only: nothing the load touched is kept
        finally:
            turns.release()
        if feed is None:
            raise web.HTTPNotFound()
        locale = feed.locale if feed.locale in i18n.available_locales else i18n.default_locale

        def gettext(message: str) -> str:
            return i18n.gettext(message, locale=locale)

        body = calendar.calendar_ics(
            feed.students, gettext, name=calendar.calendar_name(feed.students, gettext)
        )
        return web.Response(
            body=body,
            content_type=calendar.MEDIA_TYPE,
            charset="utf-8",
            headers={
                "Cache-Control": "private, max-age=300",
                "Content-Disposition": 'inline; filename="school.ics"',
            },
        )

    app.router.add_get(ROUTE, serve)
