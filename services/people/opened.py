""" "Last opened the diary" stamps, kept in memory and written now and then in one short
transaction, so that opening a diary screen is a pure read.

The bot gives each update's session the process's `OpenedStamps` (`attach`); `record` notes
a stamp there, or without one (a service called directly) writes it at once. `flush` writes
what was noted: one UPDATE per table, executed for all stamps at once, never moving a stamp
back in time (several processes) and never touching a revoked link or grant (an erased
account's stamps are not brought back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Guardianship, TrustedAccess

logger = logging.getLogger("parta.opened")

#: the key of the stamps in `AsyncSession.info`
SESSION_KEY = "parta_opened_stamps"
#: how often the bot writes the stamps it noted (and once more at shutdown)
FLUSH_SECONDS = 60.0

Key = tuple[int, int]  # (account id, student id)


class OpenedStamps:
    """Stamps noted since the last flush: the latest moment per account and student."""

    def __init__(self) -> None:
        self._pending: dict[Key, datetime] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def note(self, account_id: int, student_id: int, when: datetime) -> None:
        key = (account_id, student_id)
        known = self._pending.get(key)
        if known is None or when > known:
            self._pending[key] = when

    def forget(self, account_id: int) -> None:
        """Drop an account's unwritten stamps (its data is being erased)."""
        for key in [k for k in self._pending if k[0] == account_id]:
            del self._pending[key]

    async def flush(self, session_factory: async_sessionmaker[AsyncSession]) -> int:
        """Write the noted stamps in one transaction; returns how many. On failure they are
        kept for the next flush and the error is raised."""
        taken, self._pending = self._pending, {}
        if not taken:
            return 0
        rows = [
            {"a": account, "s": student, "w": when, "w_old": when}
            for (account, student), when in taken.items()
        ]
        try:
            async with session_factory() as session:
                for table in (Guardianship.__table__, TrustedAccess.__table__):
                    assert isinstance(table, Table)
                    await session.execute(
                        update(table)
                        .where(
                            table.c.account_id == bindparam("a"),
                            table.c.student_id == bindparam("s"),
                            table.c.revoked_at.is_(None),
                            or_(
                                table.c.last_opened_at.is_(None),
                                table.c.last_opened_at < bindparam("w_old"),
                            ),
                        )
                        .values(last_opened_at=bindparam("w")),
                        rows,
                    )
                await session.commit()
        except BaseException:
            for (account, student), when in taken.items():
                self.note(account, student, when)
            raise
        return len(taken)


def attach(session: AsyncSession, stamps: OpenedStamps) -> None:
    """Stamps noted through `session` go to `stamps` (written by their flush)."""
    session.info[SESSION_KEY] = stamps


def stamps_of(session: AsyncSession) -> OpenedStamps | None:
    stamps = session.info.get(SESSION_KEY)
    return stamps if isinstance(stamps, OpenedStamps) else None


async def record(session: AsyncSession, account_id: int, student_id: int, when: datetime) -> bool:
    """Note the stamp in the session's `OpenedStamps`; False when it has none (the caller
    writes it itself)."""
    stamps = stamps_of(session)
    if stamps is None:
        return False
    stamps.note(account_id, student_id, when)
    return True


class OpenedFlusher:
    """Writes `stamps` every `interval` seconds in a background task, and once more on stop."""

    def __init__(
        self,
        stamps: OpenedStamps,
        session_factory: async_sessionmaker[AsyncSession],
        interval: float = FLUSH_SECONDS,
    ) -> None:
        self.stamps = stamps
        self.session_factory = session_factory
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="parta-opened-stamps")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def flush(self) -> int:
        try:
            return await self.stamps.flush(self.session_factory)
        except Exception:
            logger.exception("could not write %d last-opened stamps; kept", len(self.stamps))
            return 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
