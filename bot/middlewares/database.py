from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.concurrency import current_session
from bot.middlewares.base import Handler
from services.people import opened


class DbSessionMiddleware(BaseMiddleware):
    """One session per update: committed once at the end, rolled back on error.

    Services that write commit their unit of work themselves before the handler talks to
    Telegram (SQLite has a single writer: no transaction is held across an HTTP round trip);
    the final commit here only flushes what is left. A read transaction still open when the
    handler calls Telegram is ended then (`bot.concurrency.ReleaseConnection`), so no pool
    connection waits on Telegram. "Last opened" stamps go to `stamps`, written in batches.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        stamps: opened.OpenedStamps | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.stamps = stamps

    async def __call__(
        self,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.session_factory() as session:
            if self.stamps is not None:
                opened.attach(session, self.stamps)
            data["session"] = session
            with current_session(session):
                try:
                    result = await handler(event, data)
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
                return result
