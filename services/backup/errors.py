"""Why a backup or a restore was refused, in the admin's language.

`BackupError` carries a key (``"backup.<reason>"``) and its parameters; `MESSAGES` maps each
key to its English source text (a gettext message id with ``{name}`` placeholders), and
`describe` words an error through the caller's gettext (identity for English). Nothing else
of the error is shown: a refused restore has written nothing, a refused backup left no archive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    return message


#: key → English message id; placeholders are the error's `params`
MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "backup.not_migrated": N_(
            "the database is at schema revision {revision}, this Parta expects {head}: "
            "run “parta db upgrade” first"
        ),
        "backup.cannot_write": N_("cannot write {path}: {reason}"),
        "backup.cannot_read": N_("cannot read {archive}: {reason}"),
        "backup.not_zip": N_(
            "{archive} is not a readable zip archive (truncated or damaged?): nothing was restored"
        ),
        "backup.no_manifest": N_(
            "{archive} is not a Parta backup (it has no manifest.json): nothing was restored"
        ),
        "backup.bad_manifest": N_(
            "{archive}: the manifest is damaged ({field}): nothing was restored"
        ),
        "backup.foreign_format": N_(
            "{archive} is not a Parta backup (format “{format}”): nothing was restored"
        ),
        "backup.newer_format": N_(
            "{archive} is in backup format {version}, this Parta reads format {supported}: "
            "upgrade Parta to restore it"
        ),
        "backup.newer_schema": N_(
            "{archive} comes from schema revision {revision}, newer than this Parta knows "
            "(up to {head}): upgrade Parta to restore it"
        ),
        "backup.missing_member": N_(
            "{archive}: {member} is missing (truncated or damaged?): nothing was restored"
        ),
        "backup.unexpected_member": N_(
            "{archive}: {member} is not listed in the manifest: nothing was restored"
        ),
        "backup.checksum": N_(
            "{archive}: {member} does not match its checksum (damaged or altered): "
            "nothing was restored"
        ),
        "backup.damaged_member": N_(
            "{archive}: {member} cannot be read (truncated or damaged?): nothing was restored"
        ),
        "backup.row_count": N_(
            "{archive}: {member} holds {found} rows, the manifest says {expected}: "
            "nothing was restored"
        ),
        "backup.bad_row": N_(
            "{archive}: {member}, line {line}: not a valid row: nothing was restored"
        ),
        "backup.unsafe_path": N_(
            "{archive}: the file name “{member}” points outside the files folder: "
            "nothing was restored"
        ),
        "backup.schema_mismatch": N_(
            "{archive}: table {table} does not match the database schema of revision "
            "{revision}: nothing was restored"
        ),
        "backup.target_not_empty": N_(
            "the target database is not empty (table {table} has rows): restore only into an "
            "empty database"
        ),
        "backup.target_unknown_revision": N_(
            "the target database is at schema revision {revision}, which this Parta does not "
            "know: restore into a new database"
        ),
        "backup.files_not_empty": N_(
            "the files folder {path} is not empty: restore only into an empty folder"
        ),
        "backup.rows_rejected": N_(
            "the database refused the rows of table {table} ({reason}): nothing was restored"
        ),
    }
)


class BackupError(Exception):
    """A backup or restore refused for the reason `key` names (a `MESSAGES` key)."""

    def __init__(self, key: str, /, **params: str | int) -> None:
        if key not in MESSAGES:
            raise ValueError(f"not a backup error key: {key!r}")
        super().__init__(key, params)
        self.key = key
        self.params: Mapping[str, str | int] = MappingProxyType(dict(params))

    def __str__(self) -> str:
        return describe(self, lambda message: message)


def describe(error: BackupError, gettext: Callable[[str], str]) -> str:
    """The error as one line in the language of `gettext`."""
    return gettext(MESSAGES[error.key]).format(**error.params)
