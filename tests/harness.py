"""The application under test: production factories, real aiohttp session, fake Bot API."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.files import Files
from bot.notifier import Notifier, RateLimiter
from services.people.codes import CodeKeys
from tests.fakes.telegram_api import FakeTelegram, FakeUser

BOT_TOKEN = "123456:TEST-token"
#: the access-code secret of every test app; `CODE_KEYS` issue codes the app accepts
CODE_SECRET = "test-only-code-secret-0123456789abcdef"
CODE_KEYS = CodeKeys.from_secrets(CODE_SECRET)


async def _no_wait(seconds: float) -> None:
    """The rate limiter's sleep in tests: the fake clock, not the wall clock, matters."""


def virtual_sleep(fake: FakeTelegram) -> Callable[[float], Awaitable[None]]:
    """A sleep that moves the fake Bot API's clock instead of waiting: the production pacing
    and 429 waits run on virtual time (use with ``FakeTelegram(frozen_clock=True)``)."""

    async def sleep(seconds: float) -> None:
        if seconds > 0:
            fake.advance(seconds)
        await asyncio.sleep(0)

    return sleep


@dataclass
class App:
    fake: FakeTelegram
    bot: Bot
    dp: Dispatcher
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    deliver_update: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    files_temp: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    async def start(
        cls,
        fake: FakeTelegram,
        db_url: str,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        virtual_time: bool = False,
        production_limiter: bool = False,
        storage: BaseStorage | None = None,
        isolation: BaseEventIsolation | None = None,
        **overrides: Any,
    ) -> App:
        """``virtual_time``: the bot's pacing and 429 waits sleep on the fake's clock.
        ``production_limiter``: the notifier keeps the rate limiter the production code built
        (its rate and per-chat interval), on the fake's clock with a virtual sleep; else a
        no-op limiter. ``storage``/``isolation``: FSM storage (default: from the settings)."""
        # no default quiet hours: notifications must not depend on when the suite runs
        # kept files go to a folder of the test's own (FILES_DIR), not next to the database
        files_dir = None
        if "files_dir" not in overrides:
            files_dir = tempfile.TemporaryDirectory(prefix="parta-files-")
        overrides = {
            "notify_quiet_start": None,
            "notify_quiet_end": None,
            "code_secret": CODE_SECRET,
            # per-user throttling off (tests press fast); tests/test_throttle.py turns it on
            "throttle_rate": 0,
            **({"files_dir": Path(files_dir.name)} if files_dir else {}),
            **overrides,
        }
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=BOT_TOKEN,
            database_url=db_url,
            telegram_api_url=fake.base_url,
            redis_url=None,
            webhook_url=None,
            **overrides,
        )
        if virtual_time:
            bot = create_bot(settings, clock=fake.now, sleep=virtual_sleep(fake))
        else:
            bot = create_bot(settings, clock=fake.now)
        dp = create_dispatcher(
            settings,
            session_factory,
            storage=storage,
            isolation=isolation,
            strict_templates=True,
            run_notifier=False,
        )
        application = cls(fake, bot, dp, settings, session_factory, files_temp=files_dir)

        async def deliver(update: dict[str, Any]) -> None:
            await dp.feed_raw_update(bot, update)

        application.deliver_update = deliver
        fake.deliver = deliver
        await dp.emit_startup(bot=bot, dispatcher=dp)
        if production_limiter:
            limiter = application.notifier.limiter
            limiter.clock = fake.now
            limiter.sleep = virtual_sleep(fake)
        else:
            application.notifier.limiter = RateLimiter(
                per_second=1000, per_chat_interval=0, sleep=_no_wait
            )
        return application

    @property
    def notifier(self) -> Notifier:
        notifier: Notifier = self.dp["notifier"]
        return notifier

    async def deliver_notifications(self, now: datetime | None = None) -> int:
        """Send what the outbox has due (at `now`, default the real time), as the background
        task does every second; returns how many outbox rows were handled."""
        return await self.notifier.run_once(now)

    @property
    def files(self) -> Files:
        """The school's kept files (`await app.files.drain()` waits for downloads)."""
        files: Files = self.dp["files"]
        return files

    async def flush_opened(self) -> int:
        """Write the "last opened" stamps the bot noted (it does so every minute)."""
        flushed: int = await self.dp["opened_flusher"].flush()
        return flushed

    async def stop(self) -> None:
        await self.dp.emit_shutdown(bot=self.bot, dispatcher=self.dp)
        await self.bot.session.close()
        if self.files_temp is not None:
            self.files_temp.cleanup()

    def user(self, telegram_id: int, **kwargs: Any) -> FakeUser:
        return self.fake.user(telegram_id, **kwargs)
