"""Sends the notification outbox: claim due rows, render in the recipient's language, send
under Telegram's limits, mark sent. Runs as a background task next to polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards import link_decision_keyboard
from bot.rendering import Renderer
from bot.telegram import split_html
from db.base import utcnow
from services import outbox

logger = logging.getLogger("parta.notifier")

MAX_ATTEMPTS = 8


def _keyboard(payload: dict[str, object]) -> InlineKeyboardMarkup | None:
    if payload.get("keyboard") == "link_decision":
        return link_decision_keyboard(int(str(payload["request_id"])))
    return None


class RateLimiter:
    """Overall messages per second, and at most one message per second to one chat."""

    def __init__(self, per_second: float = 30.0, per_chat_interval: float = 1.0) -> None:
        self.interval = 1.0 / per_second
        self.per_chat_interval = per_chat_interval
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._clock: Callable[[], float] = time.monotonic

    async def wait(self, chat_id: int) -> None:
        now = self._clock()
        start = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = start + self.interval
        self._next_chat[chat_id] = start + self.per_chat_interval
        if start > now:
            await asyncio.sleep(start - now)
        if len(self._next_chat) > 10_000:
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}


class Notifier:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        renderer: Renderer,
        i18n: I18n,
        *,
        limiter: RateLimiter | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.renderer = renderer
        self.i18n = i18n
        self.limiter = limiter or RateLimiter()
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, batch: int = 100) -> int:
        """Send what is due now; returns how many rows were handled."""
        async with self.session_factory() as session:
            claimed = await outbox.claim_due(session, limit=batch)
            for item in claimed:
                await self._send(session, item)
        return len(claimed)

    async def _send(self, session: AsyncSession, item: outbox.Outgoing) -> None:
        locale = item.locale or self.i18n.default_locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = self.renderer.render(item.template, **item.payload)
            markup = _keyboard(item.payload)
        try:
            message_id = None
            parts = split_html(text)
            for index, part in enumerate(parts):
                await self.limiter.wait(item.chat_id)
                sent = await self.bot.send_message(
                    item.chat_id, part, reply_markup=markup if index == len(parts) - 1 else None
                )
                message_id = message_id or sent.message_id
        except TelegramRetryAfter as exc:
            await outbox.mark_failed(
                session,
                item.id,
                error=str(exc),
                retry_at=utcnow() + timedelta(seconds=exc.retry_after),
            )
        except TelegramForbiddenError as exc:
            await outbox.deactivate_recipient(session, item.chat_id)
            await outbox.mark_failed(
                session, item.id, error=str(exc), retry_at=utcnow() + timedelta(hours=1)
            )
        except TelegramBadRequest as exc:
            logger.warning("notification %s dead-lettered: %s", item.id, exc)
            await outbox.mark_failed(session, item.id, error=str(exc), retry_at=None, dead=True)
        except (TelegramNetworkError, TelegramServerError) as exc:
            dead = item.attempts + 1 >= MAX_ATTEMPTS
            backoff = timedelta(seconds=min(3600, 2 ** (item.attempts + 2)))
            await outbox.mark_failed(
                session, item.id, error=str(exc), retry_at=utcnow() + backoff, dead=dead
            )
        else:
            await outbox.mark_sent(session, item.id, message_id, utcnow())

    async def _loop(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("notifier round failed")
                handled = 0
            if not handled:
                await asyncio.sleep(self.poll_interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="parta-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
