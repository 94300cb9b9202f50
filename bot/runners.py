"""Start-up: long polling by default, a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from db.engine import create_session_factory

logger = logging.getLogger("parta")


async def run_bot(settings: Settings, engine: AsyncEngine) -> None:
    bot = create_bot(settings)
    dp = create_dispatcher(settings, create_session_factory(engine))
    try:
        if settings.webhook_url:
            await _run_webhook(bot, dp, settings)
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            await dp.start_polling(bot, handle_signals=True)
    finally:
        await bot.session.close()
        await dp.storage.close()


async def _run_webhook(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    path = urlsplit(settings.webhook_url).path or "/"
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=path)
    setup_application(app, dp, bot=bot)

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
