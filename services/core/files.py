"""Files that arrive from a chat: what a service needs to keep of a Telegram file or photo,
and the school's copies of them (the bytes in a `FileStore`, fetched by a downloader the bot
injects; see docs/files.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, BinaryIO

from sqlalchemy import Label, Result, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import AttachmentKind
from db.models import Homework, HomeworkAttachment, SubmissionFile
from services.core.filestore import DownloadError, FileStore

logger = logging.getLogger("parta.files")

# what the database keeps of a file's id, stable id, name and type
FILE_ID_LIMIT = 255
UNIQUE_ID_LIMIT = 64
FILE_NAME_LIMIT = 255
MIME_TYPE_LIMIT = 128


def attachment_count() -> Label[int]:
    """A homework's number of files, as a column (``attachments``) of a query over
    `Homework`: the family's homework screens and the notifications count them alike."""
    return (
        select(func.count(HomeworkAttachment.id))
        .where(HomeworkAttachment.homework_id == Homework.id)
        .correlate(Homework)
        .scalar_subquery()
        .label("attachments")
    )


@dataclass(frozen=True)
class NewFile:
    """A file or photo someone sent: a teacher's homework attachment or a student's submission.

    `file_id` re-sends it; `file_unique_id` is stable across bots and re-uploads (duplicates are
    recognised by it)."""

    kind: AttachmentKind
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None

    def columns(self) -> dict[str, Any]:
        """The file as the columns of the row that keeps it (`HomeworkAttachment`,
        `SubmissionFile`), cut to what the database keeps (an empty name or type is None)."""
        return {
            "kind": self.kind,
            "file_id": self.file_id[:FILE_ID_LIMIT],
            "file_unique_id": self.file_unique_id[:UNIQUE_ID_LIMIT],
            "file_name": (self.file_name or None) and self.file_name[:FILE_NAME_LIMIT],
            "mime_type": (self.mime_type or None) and self.mime_type[:MIME_TYPE_LIMIT],
            "file_size": self.file_size,
        }


@dataclass(frozen=True)
class KeptFile:
    """A file the school keeps, as needed to send it again: by `file_id` while Telegram knows
    it, else from the copy named by `file_unique_id` (see `services.core.filestore`)."""

    kind: AttachmentKind
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    file_size: int | None = None


@dataclass(frozen=True)
class Attachment:
    """A homework's file as a screen lists it: its kind and name, and the file to send."""

    kind: AttachmentKind
    file_id: str
    file_name: str | None
    file_unique_id: str = ""  # names the school's copy (services.core.filestore)

    @property
    def kept(self) -> KeptFile:
        """The file as the bot sends it again."""
        return KeptFile(self.kind, self.file_id, self.file_unique_id, self.file_name)


Downloader = Callable[[str, BinaryIO], Awaitable[None]]
"""Writes the bytes of a Telegram file, by its file_id, into the open file it is given (a
download is streamed to disk, never held whole in memory: a local Bot API server allows
2 GB); raises `DownloadError` when it cannot get them now. The bot injects it (services never
talk to Telegram)."""


class KeepOutcome(StrEnum):
    KEPT = "kept"  # downloaded and stored now
    PRESENT = "present"  # a copy was there already
    TOO_BIG = "too_big"  # known to exceed the download limit: not tried
    FAILED = "failed"  # tried and failed (logged); a later run tries again


async def keep_file(
    store: FileStore, download: Downloader, file: KeptFile | NewFile, *, max_size: int | None
) -> KeepOutcome:
    """Store the bytes of `file` unless a copy is there. A file whose known size exceeds
    `max_size` (the Bot API's 20 MB; None: no limit, as with a local Bot API server) is not
    tried; a `DownloadError` is logged as a warning and reported, never raised."""
    if store.exists(file.file_unique_id):
        return KeepOutcome.PRESENT
    if max_size is not None and file.file_size is not None and file.file_size > max_size:
        logger.warning(
            "file %s (%d bytes) is over the %d-byte download limit: kept by file_id only",
            file.file_unique_id,
            file.file_size,
            max_size,
        )
        return KeepOutcome.TOO_BIG
    try:
        async with store.receiving(file.file_unique_id) as handle:
            await download(file.file_id, handle)
    except DownloadError as exc:
        logger.warning("file %s not downloaded, will retry: %s", file.file_unique_id, exc)
        return KeepOutcome.FAILED
    return KeepOutcome.KEPT


async def kept_files(session: AsyncSession) -> list[KeptFile]:
    """Every file of homework attachments and submitted work, one per `file_unique_id` (its
    newest row's file_id, the likeliest to still work), newest rows first."""
    unique: dict[str, KeptFile] = {}
    for table in (HomeworkAttachment, SubmissionFile):
        rows = await session.execute(
            select(
                table.kind, table.file_id, table.file_unique_id, table.file_name, table.file_size
            ).order_by(table.id.desc())
        )
        for kind, file_id, uid, name, size in rows:
            unique.setdefault(uid, KeptFile(AttachmentKind(kind), file_id, uid, name, size))
    return list(unique.values())


async def replace_file_id(
    session: AsyncSession, kind: AttachmentKind, file_unique_id: str, file_id: str
) -> int:
    """Point every row of this file (homework attachments and submitted work) at `file_id`,
    the one Telegram gave when the kept copy was uploaded again; committed. Returns how many
    rows changed. The rows keep their `file_unique_id`: it names the copy."""
    changed = 0
    for table in (HomeworkAttachment, SubmissionFile):
        result = await session.execute(
            update(table)
            .where(
                table.file_unique_id == file_unique_id,
                table.kind == kind,
                table.file_id != file_id,
            )
            .values(file_id=file_id[:FILE_ID_LIMIT])
        )
        changed += _rowcount(result)
    await session.commit()
    return changed


def _rowcount(result: Result[Any]) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count) if isinstance(count, int) and count > 0 else 0


@dataclass(frozen=True)
class KeepReport:
    """What a run of `keep_missing_files` did: counts per `KeepOutcome`, how many missing
    copies were left for the next run (over its `limit`), how many unused copies it deleted."""

    counts: dict[KeepOutcome, int]
    deferred: int
    forgotten: int = 0


#: how old a copy no row uses must be before the job deletes it
UNUSED_GRACE = timedelta(hours=1)


async def keep_missing_files(
    session_factory: async_sessionmaker[AsyncSession],
    store: FileStore,
    download: Downloader,
    *,
    max_size: int | None,
    limit: int = 100,
) -> KeepReport:
    """The scheduled job: download the bytes of up to `limit` files that have no copy yet
    (newest first; a failure is logged and tried again on the next run, never lost), then
    delete the copies no row uses any more, older than `UNUSED_GRACE` (a student's replaced
    submission: children's work is not kept once the school no longer has it)."""
    async with session_factory() as session:
        files = await kept_files(session)
    before = (datetime.now(UTC) - UNUSED_GRACE).timestamp()
    used = {f.file_unique_id for f in files}
    forgotten = await asyncio.to_thread(store.forget_unused, used, before=before)
    missing_ids = await asyncio.to_thread(store.missing, [f.file_unique_id for f in files])
    missing = [f for f in files if f.file_unique_id in missing_ids]
    counts = dict.fromkeys(KeepOutcome, 0)
    for file in missing[:limit]:
        counts[await keep_file(store, download, file, max_size=max_size)] += 1
    report = KeepReport(counts, max(0, len(missing) - limit), forgotten)
    if forgotten:
        logger.info("deleted %d kept copies no homework or submission uses", forgotten)
    if missing:
        logger.info(
            "kept files: %s, %d left for the next run",
            ", ".join(f"{k.value} {v}" for k, v in counts.items()),
            report.deferred,
        )
    return report
