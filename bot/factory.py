"""Building the Bot and the Dispatcher (the production factory the tests use too)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import register_default_menus
from bot.concurrency import ReleaseConnection, UpdateSlotMiddleware, UpdateSlots
from bot.config import Settings, code_keys
from bot.files import Files, start_files, stop_files
from bot.i18n import create_i18n
from bot.metrics import instrument
from bot.middlewares import (
    ActorMiddleware,
    DbSessionMiddleware,
    DomainErrorMiddleware,
    ErrorReplyMiddleware,
    LocaleMiddleware,
)
from bot.middlewares.taps import RepeatedTapMiddleware
from bot.middlewares.throttle import Throttle, ThrottleMiddleware
from bot.notifier import Notifier
from bot.rendering import Renderer
from bot.scheduler import start_scheduler, stop_scheduler
from bot.telegram import FloodWaitMiddleware, KeptResponseSession
from handlers import create_routers
from services.people.codes import CodeKeys
from services.people.opened import OpenedFlusher, OpenedStamps

logger = logging.getLogger("parta")


def create_bot(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Bot:
    """The Bot with Telegram HTML defaults; `clock` and `sleep` pace sends per chat and wait
    out short 429s (tests pass the fake Bot API's virtual clock)."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = KeptResponseSession()
    if settings.telegram_api_url:
        session = KeptResponseSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    # outermost: an update's read transaction ends before any wait for Telegram
    session.middleware(ReleaseConnection())
    session.middleware(FloodWaitMiddleware(clock=clock, sleep=sleep))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_storage(settings: Settings) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis FSM storage and isolation when REDIS_URL is set, else in-process memory."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(settings.redis_url)
        return storage, RedisEventIsolation(redis=storage.redis)
    return MemoryStorage(), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    storage: BaseStorage | None = None,
    isolation: BaseEventIsolation | None = None,
    strict_templates: bool = False,
    run_notifier: bool = True,
    keys: CodeKeys | None = None,
) -> Dispatcher:
    """The production dispatcher; `keys` default to `bot.config.code_keys(settings)` (which
    raises `ConfigError` in production without CODE_SECRET)."""
    if storage is None or isolation is None:
        storage, isolation = create_storage(settings)
    i18n = create_i18n(settings.default_locale)
    renderer = Renderer(i18n, strict=strict_templates, timezone=settings.tz)
    stamps = OpenedStamps()
    slots = UpdateSlots(settings.concurrent_updates)
    dp = Dispatcher(
        storage=storage,
        events_isolation=isolation,
        disable_fsm=True,  # registered below, after the throttle
        settings=settings,
        session_factory=session_factory,
        renderer=renderer,
        i18n=i18n,
        code_keys=keys or code_keys(settings),
        files=Files.from_settings(settings),
    )
    instrument(dp)
    dp["opened_stamps"] = stamps
    dp["update_slots"] = slots
    # Update-level, in this order: metrics → throttle → FSM state and per-user isolation →
    # update slot → session → actor → locale → error reply (innermost). A flood is dropped
    # before it waits for anything; a user's queued updates wait for their turn holding no slot.
    if settings.throttle_rate > 0:
        throttle = Throttle(settings.throttle_rate, settings.throttle_burst)
        dp["throttle"] = throttle
        dp.update.outer_middleware(ThrottleMiddleware(throttle, renderer, i18n))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UpdateSlotMiddleware(slots))
    dp.update.outer_middleware(DbSessionMiddleware(session_factory, stamps))
    dp.update.outer_middleware(ActorMiddleware())
    dp.update.outer_middleware(LocaleMiddleware(i18n))
    dp.update.outer_middleware(ErrorReplyMiddleware(renderer))
    dp.callback_query.outer_middleware(CallbackAnswerMiddleware())
    dp.callback_query.outer_middleware(RepeatedTapMiddleware())  # a double tap runs once
    # One translator of domain errors for every router (inside the callback answer, so a
    # refused press gets its alert).
    refusals = DomainErrorMiddleware(renderer)
    dp.callback_query.outer_middleware(refusals)
    dp.message.outer_middleware(refusals)
    dp.include_routers(*create_routers())
    dp["run_notifier"] = run_notifier
    dp.startup.register(_on_startup)
    dp.startup.register(start_scheduler)
    dp.startup.register(start_files)
    dp.shutdown.register(stop_scheduler)
    dp.shutdown.register(stop_files)
    dp.shutdown.register(_on_shutdown)
    return dp


async def _on_startup(bot: Bot, dispatcher: Dispatcher) -> None:
    await register_default_menus(bot, dispatcher["i18n"])
    me = await bot.me()
    notifier = Notifier(
        bot,
        dispatcher["session_factory"],
        dispatcher["renderer"],
        dispatcher["i18n"],
        settings=dispatcher["settings"],
        metrics=dispatcher.workflow_data.get("metrics"),
    )
    dispatcher["notifier"] = notifier
    if dispatcher["run_notifier"]:
        notifier.start()
    flusher = OpenedFlusher(dispatcher["opened_stamps"], dispatcher["session_factory"])
    dispatcher["opened_flusher"] = flusher
    flusher.start()
    logger.info("Parta is up as @%s", me.username)


async def _on_shutdown(dispatcher: Dispatcher) -> None:
    notifier: Notifier | None = dispatcher.workflow_data.get("notifier")
    if notifier is not None:
        await notifier.stop()
    flusher: OpenedFlusher | None = dispatcher.workflow_data.get("opened_flusher")
    if flusher is not None:
        await flusher.stop()  # the stamps noted since the last flush
