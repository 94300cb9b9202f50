"""The aiogram side of the notification dispatcher (`services.notify.dispatcher`): renders a
message in the recipient's language, sends it with the Bot, and maps aiogram's errors to the
dispatcher's.

`Notifier` runs the dispatcher as a background task next to polling or the webhook server.
`python -m bot.notifier` runs it as a process of its own (more sending processes on
PostgreSQL, the crash test, the benchmark): see `main()`; SIGTERM stops it gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import signal
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import workers
from bot.config import Settings
from bot.keyboards.notify import notification_keyboard
from bot.logs import configure_logging
from bot.metrics import Metrics
from bot.rendering import Renderer
from bot.telegram import CAPTION_LIMIT, split_html
from services.notify.dispatcher import (
    DispatchConfig,
    OutboxDispatcher,
    RateLimiter,
    RecipientGone,
    Rejected,
    RetryAfter,
    Unavailable,
    rate_for,
)
from services.notify.jobs import JobConfig
from services.notify.model import Outbound
from services.notify.preferences import PreferenceDefaults

__all__ = ["AiogramTransport", "Notifier", "RateLimiter", "dispatch_config", "main"]

logger = logging.getLogger("parta.notifier")


def preference_defaults(settings: Settings) -> PreferenceDefaults:
    return PreferenceDefaults(
        quiet_start=settings.notify_quiet_start,
        quiet_end=settings.notify_quiet_end,
        digest_time=settings.notify_digest_time,
    )


def dispatch_config(settings: Settings, **overrides: object) -> DispatchConfig:
    """The dispatcher's configuration from the settings (NOTIFY_* variables)."""
    values: dict[str, object] = {
        "grace": timedelta(seconds=settings.notify_grace_seconds),
        "rate": rate_for(settings.notify_rate, settings.notify_paid_broadcast),
        "paid_broadcast": settings.notify_paid_broadcast,
        "concurrency": settings.notify_concurrency,
        "timezone": settings.timezone,
        "preferences": preference_defaults(settings),
    }
    values.update(overrides)
    return DispatchConfig(**values)  # type: ignore[arg-type]


def job_config(settings: Settings) -> JobConfig:
    return JobConfig(
        timezone=settings.timezone,
        evening=settings.notify_evening_time,
        preferences=preference_defaults(settings),
        retention_days=settings.retention_days,
    )


@dataclass(frozen=True)
class Part:
    """One API call of a message."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None


class AiogramTransport:
    """`services.notify.dispatcher.Transport` on aiogram."""

    def __init__(self, bot: Bot, renderer: Renderer, i18n: I18n) -> None:
        self.bot = bot
        self.renderer = renderer
        self.i18n = i18n

    def prepare(self, message: Outbound, locale: str | None) -> Sequence[Part]:
        with self.i18n.context(), self.i18n.use_locale(locale or self.i18n.default_locale):
            text = self.renderer.render(message.template, **message.context)
            markup = notification_keyboard(message.buttons)
        if message.photo_bytes is not None:
            captions = split_html(text, CAPTION_LIMIT)
            parts = [Part(captions[0], None, message.photo_bytes)]
            parts += [Part(caption) for caption in captions[1:]]
        else:
            parts = [Part(chunk) for chunk in split_html(text)]
        last = parts[-1]
        parts[-1] = Part(last.text, markup, last.photo)
        return parts

    async def deliver(self, chat_id: int, part: Part, *, paid: bool) -> int | None:
        try:
            if part.photo is not None:
                sent = await self.bot.send_photo(
                    chat_id,
                    BufferedInputFile(part.photo, filename="summary.png"),
                    caption=part.text,
                    reply_markup=part.markup,
                    allow_paid_broadcast=paid or None,
                )
            else:
                sent = await self.bot.send_message(
                    chat_id,
                    part.text,
                    reply_markup=part.markup,
                    allow_paid_broadcast=paid or None,
                )
        except TelegramRetryAfter as exc:
            raise RetryAfter(exc.retry_after, exc.message) from exc
        except TelegramForbiddenError as exc:
            raise RecipientGone(exc.message) from exc
        except (TelegramNetworkError, TelegramServerError, RestartingTelegram) as exc:
            raise Unavailable(str(exc)) from exc
        except TelegramAPIError as exc:
            raise Rejected(exc.message) from exc
        return sent.message_id


class Notifier:
    """The dispatcher running next to the bot (started from the dispatcher's startup)."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        renderer: Renderer,
        i18n: I18n,
        *,
        settings: Settings | None = None,
        config: DispatchConfig | None = None,
        limiter: RateLimiter | None = None,
        poll_interval: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        if config is None:
            config = dispatch_config(settings) if settings is not None else DispatchConfig()
        self.bot = sending_bot(bot)
        self.dispatcher = OutboxDispatcher(
            session_factory,
            AiogramTransport(self.bot, renderer, i18n),
            config=config,
            limiter=limiter or RateLimiter(config.rate),
        )
        # charts are drawn by matplotlib in the worker process, never in the bot's
        self.dispatcher.render_photo = workers.run_thunk
        if metrics is not None:  # /metrics reports the sent, failed, 429 and dead counts
            metrics.watch_notifier(self.dispatcher.totals)
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    @property
    def limiter(self) -> RateLimiter:
        return self.dispatcher.limiter

    @limiter.setter
    def limiter(self, limiter: RateLimiter) -> None:
        self.dispatcher.limiter = limiter

    async def run_once(self, now: datetime | None = None) -> int:
        """Send everything due now; returns how many outbox rows were handled."""
        return await self.dispatcher.run_once(now)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self.dispatcher.run_forever(poll_interval=self.poll_interval),
                name="parta-notifier",
            )

    async def stop(self, grace: float = 0.0) -> None:
        """Stop sending. With `grace`, drain first: nothing more is claimed, claimed
        messages not yet started go back to the outbox, and the sends in flight get up to
        `grace` seconds to complete and be recorded; whatever is still running then is
        cancelled (a send cut off in flight keeps its claim until it expires)."""
        if self._task is not None:
            if grace > 0 and not self._task.done():
                self.dispatcher.request_stop()
                with contextlib.suppress(Exception):  # TimeoutError included
                    await asyncio.wait_for(asyncio.shield(self._task), grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.bot.session.close()


def sending_bot(bot: Bot) -> Bot:
    """The same bot on an HTTP session of its own: the dispatcher's rate limiter is the only
    pacing of notifications, and Telegram's 429s reach it (the handlers' session waits short
    ones out by itself)."""
    session = AiohttpSession(api=bot.session.api)
    return Bot(token=bot.token, session=session, default=bot.default)


# --- a process of its own -----------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.notifier",
        description="Send the notification outbox (settings from the environment and .env; "
        "options override them).",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--api-url", help="base URL of the Bot API (TELEGRAM_API_URL)")
    parser.add_argument("--token", help="the bot token (BOT_TOKEN)")
    parser.add_argument("--rate", type=float, help="overall messages per second")
    parser.add_argument(
        "--per-chat", type=float, default=1.05, help="seconds between sends to a chat"
    )
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--claim-seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between empty rounds")
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> dict[str, object]:
    from bot.factory import create_bot
    from bot.i18n import create_i18n
    from db.engine import create_engine, create_session_factory

    overrides: dict[str, object] = {}
    for name, key in [("database_url", "database_url"), ("api_url", "telegram_api_url")]:
        if getattr(args, name):
            overrides[key] = getattr(args, name)
    if args.token:
        overrides["bot_token"] = args.token
    if args.rate:
        overrides["notify_rate"] = args.rate
    if args.concurrency:
        overrides["notify_concurrency"] = args.concurrency
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.bot_token is None:
        raise SystemExit("BOT_TOKEN is not set")
    configure_logging(logging.WARNING, secrets=[settings.bot_token.get_secret_value()])
    bot = sending_bot(create_bot(settings))
    engine = create_engine(settings.database_url)
    i18n = create_i18n(settings.default_locale)
    renderer = Renderer(i18n, timezone=settings.tz)
    config = dispatch_config(settings, batch_size=args.batch, claim_seconds=args.claim_seconds)
    limiter = RateLimiter(config.rate, args.per_chat)
    dispatcher = OutboxDispatcher(
        create_session_factory(engine),
        AiogramTransport(bot, renderer, i18n),
        config=config,
        limiter=limiter,
    )
    started = resource.getrusage(resource.RUSAGE_SELF)
    _stop_on_signals(dispatcher)
    try:
        await dispatcher.run_forever(poll_interval=args.poll, stop_when_idle=args.until_idle)
    finally:
        await bot.session.close()
        await engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        **asdict(dispatcher.totals),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "cpu_startup_seconds": started.ru_utime + started.ru_stime,
    }


def _stop_on_signals(dispatcher: OutboxDispatcher) -> None:
    """SIGTERM or SIGINT stops the process gracefully: nothing more is claimed, the claimed
    messages not yet started go back to the outbox, the sends in flight complete and are
    recorded, then `run_forever` returns and the totals are printed (exit 0)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, dispatcher.request_stop)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the dispatcher alone; with --until-idle, print its totals as JSON and exit."""
    configure_logging(logging.WARNING)
    totals = asyncio.run(_run(_arguments(argv)))
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
