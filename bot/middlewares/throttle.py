"""Per-user throttling: one user flooding the bot gets one "slow down" and cannot delay others.

A token bucket per Telegram user (THROTTLE_RATE updates per second after a burst of
THROTTLE_BURST). An update over the limit is dropped before it waits for anything (per-user
isolation, an update slot, the database): the first one of a flood gets one polite message,
the rest nothing until the bucket refills; a pressed button over the limit is always answered
(an unanswered button spins and counts as a failure) with the short "slow down" alert. The
notice needs no database: its language is the one the user's last processed update was
answered in, else Telegram's. Buckets live in the process (several processes each count
their own share of a user's updates).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.middlewares.base import Handler
from bot.middlewares.locale import pick_locale
from bot.rendering import Renderer
from bot.telegram import plain_text

logger = logging.getLogger("parta.throttle")

NOTICE_TEMPLATE = "errors/slow_down.html.j2"
#: buckets kept before idle (full) ones are forgotten
MAX_BUCKETS = 10_000


class Verdict(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first update over the limit: tell the user once
    DROP = "drop"


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False
    locale: str | None = None


class Throttle:
    """Token buckets per user: `rate` updates per second, bursts of `burst`."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def check(self, user_id: int) -> Verdict:
        """Take a token for one update of `user_id`, or say why not."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # calm again: a new flood gets a new notice
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ALLOW
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def remember_locale(self, user_id: int, locale: str) -> None:
        bucket = self._buckets.get(user_id)
        if bucket is not None:
            bucket.locale = locale

    def locale_of(self, user_id: int) -> str | None:
        bucket = self._buckets.get(user_id)
        return bucket.locale if bucket is not None else None

    def _forget_idle(self, now: float) -> None:
        self._buckets = {
            user: b
            for user, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate < self.burst
        }


class ThrottleMiddleware(BaseMiddleware):
    """Update-level, before per-user isolation and the update slots."""

    def __init__(self, throttle: Throttle, renderer: Renderer, i18n: I18n) -> None:
        self.throttle = throttle
        self.renderer = renderer
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        verdict = self.throttle.check(user.id)
        if verdict is Verdict.ALLOW:
            try:
                return await handler(event, data)
            finally:
                locale = pick_locale(data.get("actor"), None, user, self.i18n.default_locale)
                self.throttle.remember_locale(user.id, locale)
        update = event if isinstance(event, Update) else None
        logger.info(
            "user %s throttled (%s), update %s dropped",
            user.id,
            verdict.value,
            update.update_id if update else "?",
        )
        await self._tell(data, update, user, warn=verdict is Verdict.WARN)
        return None

    def _text(self, user: User, *, short: bool) -> str:
        locale = self.throttle.locale_of(user.id) or pick_locale(
            None, None, user, self.i18n.default_locale
        )
        with self.i18n.context(), self.i18n.use_locale(locale):
            return self.renderer.render(NOTICE_TEMPLATE, short=short)

    async def _tell(
        self, data: dict[str, Any], update: Update | None, user: User, *, warn: bool
    ) -> None:
        bot: Bot = data["bot"]
        query: CallbackQuery | None = update.callback_query if update else None
        chat: Chat | None = data.get("event_chat")
        try:
            if query is not None:
                text = plain_text(self._text(user, short=True))
                await bot.answer_callback_query(query.id, text=text, show_alert=warn)
            elif warn and chat is not None:
                await bot.send_message(chat.id, self._text(user, short=False))
        except TelegramAPIError as exc:
            logger.warning("could not tell user %s to slow down: %s", user.id, exc)
