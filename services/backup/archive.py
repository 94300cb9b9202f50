"""The archive format: its manifest and how each column's values are written as JSON.

A backup is a zip holding ``manifest.json``, one member per table (``tables/<name>.jsonl``:
one JSON object per row, rows in primary-key order) and the stored files (``files/<path>``).
Each column has a `Kind` recorded in the manifest, so an archive is read back without the
code that wrote it: dates, times and timestamps are ISO 8601 (timestamps with their offset),
floats are JSON numbers (``NaN`` and infinities as JSON's extensions), JSON columns are nested
JSON, enums their value, binary data base64; ``null`` is SQL NULL.
"""

from __future__ import annotations

import base64
import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Time,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

from services.backup.errors import BackupError

FORMAT = "parta-backup"
VERSION = 1
MANIFEST = "manifest.json"
TABLES_PREFIX = "tables/"
FILES_PREFIX = "files/"
#: the longest row (one line) a restore reads; a longer one is a damaged or hostile archive
MAX_LINE = 64 * 1024 * 1024
MAX_MANIFEST = 64 * 1024 * 1024


class Kind(enum.StrEnum):
    """How a column's values are written."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    JSON = "json"
    BYTES = "bytes"


def kind_of(column: Column[Any]) -> Kind:
    """The `Kind` of a column from its SQLAlchemy type (an unknown type is a programming
    error: the backup must not guess how to write it)."""
    return _kind_of_type(column.type)


def _kind_of_type(type_: TypeEngine[Any]) -> Kind:
    if isinstance(type_, TypeDecorator):
        return _kind_of_type(type_.impl_instance)
    for cls, kind in _KINDS:
        if isinstance(type_, cls):
            return kind
    raise TypeError(f"no backup kind for column type {type_!r}")


# order matters: Boolean before Integer, DateTime before Date (neither subclasses the other in
# SQLAlchemy, but keep the specific ones first), Enum is a String
_KINDS: Sequence[tuple[type[TypeEngine[Any]], Kind]] = (
    (Boolean, Kind.BOOL),
    (Integer, Kind.INT),
    (Float, Kind.FLOAT),
    (Numeric, Kind.FLOAT),
    (DateTime, Kind.DATETIME),
    (Date, Kind.DATE),
    (Time, Kind.TIME),
    (JSON, Kind.JSON),
    (LargeBinary, Kind.BYTES),
    (String, Kind.STR),
)


def encode(kind: Kind, value: Any) -> Any:
    """A column value as JSON (None stays null)."""
    if value is None:
        return None
    if kind in (Kind.DATE, Kind.TIME, Kind.DATETIME):
        return value.isoformat()
    if kind is Kind.BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind is Kind.STR and isinstance(value, enum.Enum):
        return value.value
    if kind is Kind.FLOAT:
        return float(value)
    return value


class BadValue(ValueError):
    """A value that is not of its column's kind."""


def decode(kind: Kind, value: Any) -> Any:
    """The Python value of a JSON-encoded column value; `BadValue` if it is not of `kind`."""
    if value is None or kind is Kind.JSON:
        return value
    try:
        return _DECODERS[kind](value)
    except (TypeError, ValueError) as exc:
        raise BadValue(f"{kind.value}: {exc}") from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _datetime(value: Any) -> datetime:
    return datetime.fromisoformat(_str(value))


def _date(value: Any) -> date:
    return date.fromisoformat(_str(value))


def _time(value: Any) -> time:
    return time.fromisoformat(_str(value))


def _bytes(value: Any) -> bytes:
    return base64.b64decode(_str(value), validate=True)


_DECODERS = {
    Kind.INT: _int,
    Kind.FLOAT: _float,
    Kind.BOOL: _bool,
    Kind.STR: _str,
    Kind.DATE: _date,
    Kind.TIME: _time,
    Kind.DATETIME: _datetime,
    Kind.BYTES: _bytes,
}


def dump_row(row: Mapping[str, Any]) -> bytes:
    """One line of a table member."""
    text = json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    return text.encode("utf-8") + b"\n"


# --- the manifest -------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: Kind


@dataclass(frozen=True)
class TableEntry:
    """One table: its member, columns (in order), primary key, row count and checksum."""

    name: str
    member: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    rows: int
    size: int
    sha256: str


@dataclass(frozen=True)
class FileEntry:
    """One stored file: its path under the files folder, size and checksum."""

    path: str
    size: int
    sha256: str

    @property
    def member(self) -> str:
        return FILES_PREFIX + self.path


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says. Tables are in foreign-key dependency order."""

    revision: str
    created_at: datetime
    dialect: str
    tables: tuple[TableEntry, ...]
    files: tuple[FileEntry, ...]
    parta_version: str = "unknown"

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "parta_version": self.parta_version,
            "revision": self.revision,
            "created_at": self.created_at.isoformat(),
            "dialect": self.dialect,
            "tables": [
                {
                    "name": t.name,
                    "member": t.member,
                    "columns": [{"name": c.name, "kind": c.kind.value} for c in t.columns],
                    "primary_key": list(t.primary_key),
                    "rows": t.rows,
                    "size": t.size,
                    "sha256": t.sha256,
                }
                for t in self.tables
            ],
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }

    @property
    def members(self) -> dict[str, str]:
        """member name → its sha256, every table and file."""
        found = {t.member: t.sha256 for t in self.tables}
        found.update({f.member: f.sha256 for f in self.files})
        return found


_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def parse_manifest(data: bytes, archive: str) -> Manifest:
    """The manifest of `data`; a `BackupError` names what is wrong (foreign format, newer
    format, a damaged field)."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # or nested too deep
        raise BackupError("backup.bad_manifest", archive=archive, field="JSON") from None
    if not isinstance(raw, dict):
        raise BackupError("backup.bad_manifest", archive=archive, field="JSON")
    if raw.get("format") != FORMAT:
        raise BackupError("backup.foreign_format", archive=archive, format=str(raw.get("format")))
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BackupError("backup.bad_manifest", archive=archive, field="version")
    if version > VERSION:
        raise BackupError(
            "backup.newer_format", archive=archive, version=version, supported=VERSION
        )
    reader = _Reader(archive)
    return Manifest(
        revision=reader.text(raw, "revision"),
        created_at=reader.moment(raw, "created_at"),
        dialect=reader.text(raw, "dialect"),
        parta_version=str(raw.get("parta_version", "unknown")),
        tables=tuple(reader.table(t) for t in reader.items(raw, "tables")),
        files=tuple(reader.file(f) for f in reader.items(raw, "files")),
    )


class _Reader:
    """Typed access to the manifest's fields; any surprise is `backup.bad_manifest`."""

    def __init__(self, archive: str) -> None:
        self.archive = archive

    def fail(self, field: str) -> BackupError:
        return BackupError("backup.bad_manifest", archive=self.archive, field=field)

    def text(self, raw: Mapping[str, Any], field: str) -> str:
        value = raw.get(field)
        if not isinstance(value, str) or not value:
            raise self.fail(field)
        return value

    def count(self, raw: Mapping[str, Any], field: str) -> int:
        value = raw.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(field)
        return value

    def moment(self, raw: Mapping[str, Any], field: str) -> datetime:
        try:
            return datetime.fromisoformat(self.text(raw, field))
        except ValueError:
            raise self.fail(field) from None

    def items(self, raw: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
        value = raw.get(field)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(field)
        return value

    def checksum(self, raw: Mapping[str, Any]) -> str:
        value = self.text(raw, "sha256")
        if not _SHA256.fullmatch(value):
            raise self.fail("sha256")
        return value

    def table(self, raw: Mapping[str, Any]) -> TableEntry:
        name = self.text(raw, "name")
        if not _NAME.fullmatch(name):
            raise self.fail("tables.name")
        member = self.text(raw, "member")
        if member != f"{TABLES_PREFIX}{name}.jsonl":
            raise self.fail(f"tables.{name}.member")
        columns = []
        for column in self.items(raw, "columns"):
            column_name = self.text(column, "name")
            try:
                kind = Kind(self.text(column, "kind"))
            except ValueError:
                raise self.fail(f"tables.{name}.columns") from None
            columns.append(ColumnInfo(column_name, kind))
        names = [c.name for c in columns]
        key = raw.get("primary_key")
        if (
            not columns
            or len(set(names)) != len(names)
            or not isinstance(key, list)
            or not key
            or not all(isinstance(k, str) and k in names for k in key)
        ):
            raise self.fail(f"tables.{name}.columns")
        return TableEntry(
            name=name,
            member=member,
            columns=tuple(columns),
            primary_key=tuple(key),
            rows=self.count(raw, "rows"),
            size=self.count(raw, "size"),
            sha256=self.checksum(raw),
        )

    def file(self, raw: Mapping[str, Any]) -> FileEntry:
        path = self.text(raw, "path")
        if not safe_relative_path(path):
            raise BackupError("backup.unsafe_path", archive=self.archive, member=path)
        return FileEntry(path=path, size=self.count(raw, "size"), sha256=self.checksum(raw))


def safe_relative_path(path: str) -> bool:
    """A path that stays inside the folder it is joined to: relative, forward slashes, no
    ``..``, ``.`` or empty parts, no drive letters or control characters."""
    if not path or path.startswith("/") or "\\" in path or ":" in path:
        return False
    if any(ord(c) < 32 for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
