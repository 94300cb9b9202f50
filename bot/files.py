"""The school's copies of files, on the bot's side (docs/files.md).

`Files` downloads the bytes of homework attachments and submitted work when they arrive (in
a background task, after the user has their answer), runs the scheduled retry of the ones
still missing (`services.core.files.keep_missing_files`, with the downloader injected here),
and sends a kept file again: by its `file_id`, or, when Telegram no longer knows that
file_id (a new bot token, an expired reference), by uploading the kept copy and recording
the new file_id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import BinaryIO

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext, ngettext
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from db.enums import AttachmentKind
from services.core.files import (
    Downloader,
    KeepOutcome,
    KeepReport,
    KeptFile,
    NewFile,
    keep_file,
    keep_missing_files,
    replace_file_id,
)
from services.core.filestore import DownloadError, FileStore

logger = logging.getLogger("parta.files")

#: what the Bot API lets a bot download (getFile); a local Bot API server has no such limit
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024
#: the scheduler's job that fetches the missing copies: how often, and how many per run
JOB_ID = "keep_files"
RETRY_EVERY = timedelta(minutes=30)
RETRY_BATCH = 100
#: downloads of arriving files running at once (per process)
PARALLEL_DOWNLOADS = 2
#: how long shutdown waits for downloads under way (the retry job fetches the rest later)
SHUTDOWN_WAIT = 10.0

#: Telegram's answers (lowercase parts) that mean "this file_id does not work for this bot"
DEAD_FILE_ID = (
    "wrong file identifier",
    "wrong remote file identifier",
    "file_id_invalid",
    "invalid file_id",
    "file reference",
    "file_reference",
    "wrong padding in the string",
    "wrong string length",
)


def is_dead_file_id(error: TelegramBadRequest) -> bool:
    """Whether Telegram refused a send because it does not know the file_id (so the kept
    copy must be uploaded instead), not for another reason."""
    message = error.message.lower()
    return any(part in message for part in DEAD_FILE_ID)


def files_gone(count: int) -> str:
    """The alert when files could not be sent: Telegram no longer knows them and there is no
    copy (the current locale)."""
    if count == 1:
        return gettext("This file is no longer on Telegram, and the school kept no copy of it.")
    return ngettext(
        "{count} file is no longer on Telegram, and the school kept no copy of it.",
        "{count} files are no longer on Telegram, and the school kept no copy of them.",
        count,
    ).format(count=count)


#: refused by some file systems, or (";", quotes) by multipart parsers of an upload's header
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|;\x00-\x1f]+')


def upload_name(stem: str, extension: str, *, fallback: str = "file", limit: int = 120) -> str:
    """The name a file the bot sends carries: `stem` (a person's name, a file name a user
    sent) without the characters a file system or an upload's header may refuse, white space
    folded, at most `limit` characters, then ``.extension`` (none when empty)."""
    clean = " ".join(_UNSAFE_IN_FILE_NAMES.sub(" ", stem).split())[:limit].rstrip() or fallback
    return f"{clean}.{extension}" if extension else clean


def _upload_name(file: KeptFile) -> str:
    """The name the upload carries (shown to the user; never used as a path)."""
    if file.kind == AttachmentKind.PHOTO:
        return "photo.jpg"
    stem, dot, extension = (file.file_name or "file").rpartition(".")
    return upload_name(stem, extension) if dot else upload_name(extension, "")


def _sent_file_id(message: Message, kind: AttachmentKind) -> str | None:
    if kind == AttachmentKind.PHOTO and message.photo:
        return message.photo[-1].file_id
    if message.document is not None:
        return message.document.file_id
    return None


class Files:
    """One per dispatcher (``dispatcher["files"]``, `ctx.files`): the store under FILES_DIR
    and the background downloads of arriving files, tracked so shutdown can wait for them."""

    def __init__(self, store: FileStore, *, max_size: int | None) -> None:
        self.store = store
        self.max_size = max_size
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(PARALLEL_DOWNLOADS)

    @classmethod
    def from_settings(cls, settings: Settings) -> Files:
        """The Bot API downloads at most 20 MB, also through a server of one's own at
        TELEGRAM_API_URL unless it runs in local mode (TELEGRAM_API_LOCAL): then every file
        is tried. A file known to be bigger is not asked for (Telegram would answer 400)."""
        limit = None if settings.telegram_api_local else BOT_API_DOWNLOAD_LIMIT
        return cls(FileStore(settings.files_dir), max_size=limit)

    # ---- downloading

    @staticmethod
    def downloader(bot: Bot) -> Downloader:
        """Streams a file, by its file_id, through getFile and the file URL into the open
        file given (aiogram writes it chunk by chunk); any refusal or network failure is a
        `DownloadError`."""

        async def download(file_id: str, destination: BinaryIO) -> None:
            try:
                await bot.download(file_id, destination=destination, seek=False)
            except (TelegramAPIError, aiohttp.ClientError, OSError) as exc:
                raise DownloadError(f"{type(exc).__name__}: {exc}") from exc

        return download

    def keep_later(self, bot: Bot, files: Sequence[NewFile]) -> None:
        """Store the bytes of files just saved (the service has committed their rows), in the
        background: the user's answer does not wait, a failure is left to the retry job."""
        if not files:
            return
        task = asyncio.create_task(self._keep(bot, list(files)), name="parta:keep-files")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self, bot: Bot, files: list[NewFile]) -> None:
        download = self.downloader(bot)
        async with self._slots:
            for file in files:
                try:
                    await keep_file(self.store, download, file, max_size=self.max_size)
                except OSError:
                    logger.exception("file %s could not be stored", file.file_unique_id)

    async def drain(self) -> None:
        """Wait for the downloads under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, wait: float = SHUTDOWN_WAIT) -> None:
        """Shutdown: give the downloads under way `wait` seconds, then cancel the rest
        (their files are fetched by the retry job after the restart)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), wait)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def keep_missing(
        self, bot: Bot, session_factory: async_sessionmaker[AsyncSession]
    ) -> KeepReport:
        """The scheduled retry: fetch up to `RETRY_BATCH` copies still missing."""
        return await keep_missing_files(
            session_factory,
            self.store,
            self.downloader(bot),
            max_size=self.max_size,
            limit=RETRY_BATCH,
        )

    # ---- sending again

    async def send(
        self,
        bot: Bot,
        session: AsyncSession,
        chat_id: int,
        file: KeptFile,
        *,
        caption: str | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> Message | None:
        """Send a kept file: by file_id, or, when Telegram no longer knows it, the kept copy
        (and every row of the file gets the new file_id; `session` is committed). None when
        there is no copy either: the caller tells the user. Other Telegram errors propagate."""
        try:
            return await _send(bot, chat_id, file.kind, file.file_id, caption, reply_markup)
        except TelegramBadRequest as exc:
            if not is_dead_file_id(exc):
                raise
            logger.info("file_id of %s no longer works: %s", file.file_unique_id, exc.message)
        data = await self.store.read(file.file_unique_id)
        if data is None:
            logger.warning("file %s is gone: no working file_id, no copy", file.file_unique_id)
            return None
        upload = BufferedInputFile(data, filename=_upload_name(file))
        message = await _send(bot, chat_id, file.kind, upload, caption, reply_markup)
        new_id = _sent_file_id(message, file.kind)
        if new_id is not None:
            await replace_file_id(session, file.kind, file.file_unique_id, new_id)
        return message


async def _send(
    bot: Bot,
    chat_id: int,
    kind: AttachmentKind,
    media: str | BufferedInputFile,
    caption: str | None,
    markup: InlineKeyboardMarkup | None,
) -> Message:
    if kind == AttachmentKind.PHOTO:
        return await bot.send_photo(chat_id, media, caption=caption, reply_markup=markup)
    return await bot.send_document(chat_id, media, caption=caption, reply_markup=markup)


# ---- dispatcher hooks


async def start_files(bot: Bot, dispatcher: Dispatcher) -> None:
    """Startup hook (after the scheduler's): the retry of missing copies joins the scheduled
    jobs, first shortly after start-up."""
    scheduler: AsyncIOScheduler | None = dispatcher.workflow_data.get("scheduler")
    if scheduler is None:
        return
    files: Files = dispatcher["files"]
    scheduler.add_job(
        files.keep_missing,
        IntervalTrigger(seconds=RETRY_EVERY.total_seconds()),
        args=[bot, dispatcher["session_factory"]],
        id=JOB_ID,
        name=f"parta:{JOB_ID}",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        next_run_time=datetime.now(scheduler.timezone) + timedelta(seconds=20),
    )


async def stop_files(dispatcher: Dispatcher) -> None:
    """Shutdown hook: wait a little for downloads under way."""
    files: Files | None = dispatcher.workflow_data.get("files")
    if files is not None:
        await files.close()


__all__ = [
    "Files",
    "KeepOutcome",
    "files_gone",
    "is_dead_file_id",
    "start_files",
    "stop_files",
]
