"""Start-up: long polling by default, a webhook server when WEBHOOK_URL is set.

Telegram out of reach (a network error or a 5xx) at start-up or while polling is waited out:
the calls that set the bot up and fetch updates are repeated with exponential backoff and one
log line per attempt, never a traceback. A token Telegram refuses (401) ends the start with
`TelegramUnauthorizedError`, which the CLI turns into one line and exit code 2.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import RestartingTelegram, TelegramNetworkError, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommandScopeChat
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar_feed import add_routes as add_calendar_routes
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.health import add_routes
from db.engine import create_session_factory

logger = logging.getLogger("parta")
network_logger = logging.getLogger("parta.telegram")

# Calls safe to repeat until they go through: they set the bot up or fetch updates, and are
# made only at start-up and by the polling loop (a handler's calls fail as usual instead).
PATIENT_METHODS = frozenset(
    {"getMe", "getUpdates", "deleteWebhook", "setWebhook", "setMyCommands", "setChatMenuButton"}
)
UNREACHABLE = (TelegramNetworkError, TelegramServerError, RestartingTelegram)
#: polling holds at most this many times MAX_CONCURRENT_UPDATES updates in the process
POLLING_BACKLOG = 10


class MissingWebhookSecret(RuntimeError):
    """Webhook mode without WEBHOOK_SECRET: anyone could post forged updates."""


class Backoff:
    """Exponential delays with a little jitter: 1, 2, 4, … seconds, at most `maximum`."""

    def __init__(self, first: float = 1.0, maximum: float = 60.0, factor: float = 2.0) -> None:
        self.first = first
        self.maximum = maximum
        self.factor = factor

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.first * self.factor ** (attempt - 1))
        return base * random.uniform(0.9, 1.1)


class WaitForTelegram(BaseRequestMiddleware):
    """Repeats start-up and polling calls while Telegram is out of reach, one log line per
    failed attempt; other calls (sends, edits, a chat's own menu) are not touched."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    def patient(self, method: TelegramMethod[TelegramType]) -> bool:
        if method.__api_method__ not in PATIENT_METHODS:
            return False
        return not isinstance(getattr(method, "scope", None), BotCommandScopeChat)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not self.patient(method):
            return await make_request(bot, method)
        attempt = 0
        while True:
            try:
                response = await make_request(bot, method)
            except UNREACHABLE as exc:
                attempt += 1
                delay = self.backoff.delay(attempt)
                network_logger.warning(
                    "Telegram is unreachable (%s: %s); %s again in %.0f s (attempt %d)",
                    type(exc).__name__,
                    exc,
                    method.__api_method__,
                    delay,
                    attempt,
                )
                await self.sleep(delay)
                continue
            if attempt:
                network_logger.info("Telegram is reachable again after %d attempts", attempt)
            return response


async def run_bot(settings: Settings, engine: AsyncEngine) -> None:
    if settings.webhook_url and settings.webhook_secret is None:
        raise MissingWebhookSecret("WEBHOOK_SECRET is not set")
    bot = create_bot(settings)
    bot.session.middleware(WaitForTelegram())
    dp = create_dispatcher(settings, create_session_factory(engine))
    try:
        await bot.me()  # a refused token ends here (TelegramUnauthorizedError)
        if settings.webhook_url:
            await _run_webhook(bot, dp, settings)
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            # updates taken from Telegram ahead of the slots (the rest wait at Telegram)
            backlog = POLLING_BACKLOG * settings.concurrent_updates
            await dp.start_polling(bot, handle_signals=True, tasks_concurrency_limit=backlog)
    finally:
        await bot.session.close()
        await dp.storage.close()


async def _run_webhook(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    assert settings.webhook_url is not None
    if settings.webhook_secret is None:
        raise MissingWebhookSecret("WEBHOOK_SECRET is not set")
    secret = settings.webhook_secret.get_secret_value()
    path = urlsplit(settings.webhook_url).path or "/"
    app = web.Application()
    # every request must carry the secret in X-Telegram-Bot-Api-Secret-Token, else 401
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=path)
    setup_application(app, dp, bot=bot)
    add_routes(app, dp)  # /healthz, /readyz, /metrics
    add_calendar_routes(app, dp["session_factory"], dp["i18n"])

    runner = web.AppRunner(app)
    await runner.setup()  # emits the dispatcher's startup (menus, notifier)
    site = web.TCPSite(runner, host=settings.webhook_host, port=settings.webhook_port)
    await site.start()
    # only now, with the port open, tell Telegram where to deliver
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=secret,
        allowed_updates=dp.resolve_used_update_types(),
    )
    logger.info("webhook server on %s:%s%s", settings.webhook_host, settings.webhook_port, path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
