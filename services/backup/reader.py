"""Reading an archive back: open it, check the manifest and every member before anything is
written, then hand out the rows of each table.

`verify` reads the whole archive once: the zip's own CRCs, each member's size and sha256
against the manifest, each row's shape and values against its columns' kinds, the row counts,
and that the archive holds exactly the members the manifest lists (no more, no fewer). Only an
archive that passes is restored.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from services.backup.archive import (
    MANIFEST,
    MAX_LINE,
    MAX_MANIFEST,
    BadValue,
    FileEntry,
    Manifest,
    TableEntry,
    decode,
    parse_manifest,
)
from services.backup.errors import BackupError

CHUNK = 1024 * 1024
#: what a damaged zip member raises while it is read
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class Archive:
    """An opened archive and its parsed manifest."""

    path: Path
    zip: zipfile.ZipFile
    manifest: Manifest
    size: int

    @property
    def name(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self.zip.close()


def open_archive(path: Path) -> Archive:
    """The archive at `path` with its manifest read and checked (members not yet verified)."""
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise BackupError("backup.not_zip", archive=name) from None
    except OSError as exc:
        raise BackupError("backup.cannot_read", archive=name, reason=_reason(exc)) from None
    try:
        return Archive(path, archive, _manifest(archive, name), path.stat().st_size)
    except BaseException:
        archive.close()
        raise


def _manifest(archive: zipfile.ZipFile, name: str) -> Manifest:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise BackupError("backup.no_manifest", archive=name) from None
    if info.file_size > MAX_MANIFEST:
        raise BackupError("backup.bad_manifest", archive=name, field="size")
    try:
        data = archive.read(info)
    except READ_ERRORS:
        raise BackupError("backup.damaged_member", archive=name, member=MANIFEST) from None
    return parse_manifest(data, name)


def verify(archive: Archive) -> None:
    """Check every member against the manifest; the first problem is a `BackupError`."""
    listed = archive.manifest.members
    names = archive.zip.namelist()
    present: set[str] = set()
    for member in names:
        if member in present or (member != MANIFEST and member not in listed):
            raise BackupError("backup.unexpected_member", archive=archive.name, member=member)
        present.add(member)
    for member in listed:
        if member not in present:
            raise BackupError("backup.missing_member", archive=archive.name, member=member)
    for table in archive.manifest.tables:
        _verify_table(archive, table)
    for file in archive.manifest.files:
        _verify_file(archive, file)


def _checked(
    archive: Archive,
    entry: TableEntry | FileEntry,
    pieces: Callable[[IO[bytes]], Iterator[bytes]],
) -> Iterator[bytes]:
    """The `pieces` of a member, read no further than a piece past its declared size; raises
    when it cannot be read, and, once read, when its size or digest is not the manifest's."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.zip.open(entry.member) as stream:
            for piece in pieces(stream):
                digest.update(piece)
                size += len(piece)
                if size > entry.size:
                    break
                yield piece
    except READ_ERRORS:
        raise BackupError(
            "backup.damaged_member", archive=archive.name, member=entry.member
        ) from None
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise BackupError("backup.checksum", archive=archive.name, member=entry.member)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _verify_table(archive: Archive, table: TableEntry) -> None:
    rows = 0
    problem: int | None = None
    for line in _checked(archive, table, lambda stream: _lines(stream, archive, table.member)):
        rows += 1
        if problem is None and not _valid_row(table, line):
            problem = rows
    if problem is not None:
        raise BackupError("backup.bad_row", archive=archive.name, member=table.member, line=problem)
    if rows != table.rows:
        raise BackupError(
            "backup.row_count",
            archive=archive.name,
            member=table.member,
            found=rows,
            expected=table.rows,
        )


def _lines(stream: IO[bytes], archive: Archive, member: str) -> Iterator[bytes]:
    while line := stream.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE or not line.endswith(b"\n"):
            raise BackupError("backup.damaged_member", archive=archive.name, member=member)
        yield line


def _valid_row(table: TableEntry, line: bytes) -> bool:
    try:
        _decode_row(table, line)
    except (ValueError, BadValue, RecursionError):  # RecursionError: JSON nested too deep
        return False
    return True


def _decode_row(table: TableEntry, line: bytes) -> dict[str, Any]:
    raw = json.loads(line)
    if not isinstance(raw, dict) or len(raw) != len(table.columns):
        raise ValueError("not a row of this table")
    try:
        return {c.name: decode(c.kind, raw[c.name]) for c in table.columns}
    except KeyError:
        raise ValueError("a column is missing") from None


def _verify_file(archive: Archive, file: FileEntry) -> None:
    for _chunk in _checked(archive, file, _chunks):
        pass


def table_rows(archive: Archive, table: TableEntry) -> Iterator[dict[str, Any]]:
    """The rows of a verified table member, decoded, in the archive's order."""
    with archive.zip.open(table.member) as stream:
        for line in _lines(stream, archive, table.member):
            yield _decode_row(table, line)


def extract_file(
    archive: Archive, file: FileEntry, root: Path, created: list[Path] | None = None
) -> None:
    """Write a verified file under `root` (never over an existing file). Each folder and the
    file it creates is appended to `created` before it is written, so a caller can remove
    exactly what it wrote, a partly written file included."""
    made = created if created is not None else []
    parts = file.path.split("/")
    for depth in range(len(parts)):
        folder = root.joinpath(*parts[:depth])
        if not folder.is_dir():
            folder.mkdir()  # an existing file of that name: FileExistsError
            made.append(folder)
    target = root.joinpath(*parts)
    with archive.zip.open(file.member) as source, target.open("xb") as sink:
        made.append(target)
        for chunk in _chunks(source):
            sink.write(chunk)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
