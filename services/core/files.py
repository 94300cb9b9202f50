"""Files that arrive from a chat: what a service needs to keep of a Telegram file or photo."""

from __future__ import annotations

from dataclasses import dataclass

from db.enums import AttachmentKind


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
