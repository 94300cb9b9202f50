"""The school's copy of the files people send: bytes on disk, addressed by Telegram's
`file_unique_id`.

A Telegram `file_id` belongs to one bot token and may stop working; `file_unique_id` is the
same for every bot and over time, so it names the copy. The path is derived from it alone
(hex-encoded, so any id is a safe, case-distinct name on every file system; sharded by a hash
so no folder grows large); a file's own name is never part of a path.

Layout under the root: ``ab/cd/<hex of the file_unique_id>`` where ``abcd…`` is the SHA-256 of
the id. Writes are atomic (a temporary file in the same folder, then a rename), so a reader
or a backup sees the whole file or none. Blocking disk I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Collection, Iterable
from pathlib import Path
from typing import BinaryIO

MAX_ID_LENGTH = 64  # what the database keeps of a file_unique_id
TEMP_PREFIX = ".tmp-"


class DownloadError(Exception):
    """A file's bytes could not be fetched now (too big for the Bot API, a network error, an
    unknown file_id); the copy stays missing and a later run tries again. Raised by the
    downloader the bot injects; the message says why, for the log."""


def _name(file_unique_id: str) -> str:
    if not file_unique_id or len(file_unique_id) > MAX_ID_LENGTH:
        raise ValueError(f"not a file_unique_id: {file_unique_id!r}")
    return file_unique_id.encode("utf-8").hex()


class FileStore:
    """Files kept under `root` (created on the first save)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, file_unique_id: str) -> Path:
        """Where the copy of this file lives (whether or not it exists yet). ValueError for
        an empty id or one longer than the database keeps."""
        name = _name(file_unique_id)
        digest = hashlib.sha256(file_unique_id.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / digest[2:4] / name

    def exists(self, file_unique_id: str) -> bool:
        return self.path_for(file_unique_id).is_file()

    def missing(self, file_unique_ids: Iterable[str]) -> set[str]:
        """The ids among these that have no copy (blocking: a stat per id)."""
        return {uid for uid in file_unique_ids if not self.exists(uid)}

    async def save(self, file_unique_id: str, data: bytes) -> Path:
        """Keep `data` as the copy of this file (replacing any); atomic. Returns its path."""
        path = self.path_for(file_unique_id)
        await asyncio.to_thread(_write_atomic, path, data)
        return path

    @contextlib.asynccontextmanager
    async def receiving(self, file_unique_id: str) -> AsyncIterator[BinaryIO]:
        """A file to write the copy into as it arrives (a download streamed to disk, never
        held in memory): a temporary file beside the copy, made the copy (fsync and rename)
        when the block ends, deleted if it raises. Atomic like `save`."""
        path = self.path_for(file_unique_id)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        temp = path.with_name(f"{TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}")
        handle = await asyncio.to_thread(temp.open, "wb")
        try:
            yield handle
            await asyncio.to_thread(_finish, handle, temp, path)
        except BaseException:
            handle.close()
            temp.unlink(missing_ok=True)
            raise

    async def read(self, file_unique_id: str) -> bytes | None:
        """The kept bytes, or None when there is no copy."""
        return await asyncio.to_thread(self._read, file_unique_id)

    def _read(self, file_unique_id: str) -> bytes | None:
        try:
            return self.path_for(file_unique_id).read_bytes()
        except FileNotFoundError:
            return None

    def files(self) -> list[Path]:
        """Every kept copy (not the temporary files of writes under way), for a backup."""
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.glob("*/*/*") if p.is_file() and not p.name.startswith(".")
        )

    @staticmethod
    def unique_id_of(path: Path) -> str | None:
        """The file_unique_id a copy is kept for (its name read back), None for a stray."""
        try:
            return bytes.fromhex(path.name).decode("utf-8")
        except ValueError:
            return None

    def forget_unused(self, used: Collection[str], *, before: float) -> int:
        """Delete the copies of files no row uses any more (a withdrawn submission, a deleted
        homework) last written before `before` (a POSIX time, so a copy being kept for a row
        just made is spared); returns how many. Blocking: a stat per copy."""
        removed = 0
        for path in self.files():
            uid = self.unique_id_of(path)
            if uid is None or uid in used:
                continue
            try:
                if path.stat().st_mtime >= before:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed


def _finish(handle: BinaryIO, temp: Path, path: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp, path)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
