"""The status icons screens share, each with one meaning. Keyboards import them; templates
read them through the Jinja global `icons` (`bot.rendering`), so a legend and the marks it
explains can never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from db.enums import AttendanceStatus

PRESENT = "✅"
ABSENT = "❌"
LATE = "⏰"
EXCUSED = "📄"
UNMARKED = "▫️"  # attendance not taken yet
CANCELLED = "⛔"  # a cancelled lesson (never ❌: that is a student's absence)

ATTENDANCE: Mapping[str | None, str] = MappingProxyType(
    {
        None: UNMARKED,
        AttendanceStatus.PRESENT: PRESENT,
        AttendanceStatus.ABSENT: ABSENT,
        AttendanceStatus.LATE: LATE,
        AttendanceStatus.EXCUSED: EXCUSED,
    }
)


def attendance(status: str | None) -> str:
    """The icon of an attendance mark, by the status or its value (the keys are `StrEnum`s,
    so "absent" finds `AttendanceStatus.ABSENT`); None is not marked."""
    return ATTENDANCE.get(status or None, UNMARKED)
