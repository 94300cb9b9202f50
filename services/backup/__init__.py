"""`parta backup` and `parta restore`: the whole school as one versioned archive.

`writer.backup` writes it (one consistent snapshot, rows streamed), `reader` opens and verifies
it, `restore.restore` rebuilds it into an empty SQLite or PostgreSQL database, `schedule` is
the nightly job with rotation, `archive` the format (docs/backup.md), `errors` why a backup or
restore is refused, in the admin's language.
"""

from services.backup.errors import BackupError, describe
from services.backup.restore import RestoreSummary, restore
from services.backup.schedule import BackupSchedule, ScheduledBackup, rotate, scheduled_backup
from services.backup.writer import BackupSummary, backup

__all__ = [
    "BackupError",
    "BackupSchedule",
    "BackupSummary",
    "RestoreSummary",
    "ScheduledBackup",
    "backup",
    "describe",
    "restore",
    "rotate",
    "scheduled_backup",
]
