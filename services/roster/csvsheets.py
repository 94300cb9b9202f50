"""The school workbook's sheets as CSV files, in a folder or a zip: one file per sheet.

A file is named after its sheet, by machine name or Russian title (``students.csv`` or
``Ученики.csv``, any case); other ``.csv`` names are reported, other files are ignored. What
Russian Excel writes is read as is: UTF-16 with its BOM, UTF-8 with or without a BOM, else
Windows-1251 (tried in that order), comma, semicolon or tab separators (whichever the header
line holds most of, or the one a first ``sep=;`` line names for Excel).

Limits, each a located problem rather than an exception: every file at most `MAX_FILE_BYTES`;
a zip at most `MAX_MEMBERS` files and `MAX_UNPACKED` bytes unpacked, no member compressed more
than `MAX_RATIO` times (a zip bomb is refused before anything is unpacked), no member named
with ``..`` or an absolute path. Members are read in memory, never extracted to disk.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from services.roster.model import Where
from services.roster.sheets import (
    MAX_COLUMNS,
    MAX_ROWS,
    Cell,
    Problems,
    RawSheet,
    is_blank,
    is_comment,
    sheet_for,
)

#: bytes of one file (the Bot API download limit)
MAX_FILE_BYTES = 20 * 1024 * 1024
#: files in a zip
MAX_MEMBERS = 100
#: bytes a zip unpacks to, all members together
MAX_UNPACKED = 100 * 1024 * 1024
#: how much better than this a member may not be compressed (text compresses 5-20 times)
MAX_RATIO = 100
#: members smaller than this are not judged by their ratio
RATIO_FLOOR = 1024 * 1024
#: share of control characters above which a decoded file is taken for binary junk
MAX_CONTROL_SHARE = 0.01


def decode(data: bytes) -> str | None:
    """The text of a CSV file: UTF-16 when it starts with its BOM (Excel's "Unicode text",
    LibreOffice's UTF-16 CSV), else UTF-8 (a BOM is dropped), else Windows-1251; None for
    binary."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        elif b"\x00" in data:
            return None
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1251")
    except UnicodeDecodeError:
        return None
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t")
    return None if control > MAX_CONTROL_SHARE * max(len(text), 1) else text


def delimiter(header_line: str) -> str:
    """The separator the header line uses most: ``;`` (Russian Excel), ``,`` or a tab."""
    counts = {sep: header_line.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


#: the first line some CSV files carry for Excel, naming their separator (``sep=;``)
_SEP_LINE = re.compile(r"sep=([;,\t|])", re.IGNORECASE)


def raw_csv(label: str, data: bytes, problems: Problems) -> RawSheet | None:
    """One CSV file as a `RawSheet` (at most `MAX_ROWS` data rows), or None with a problem."""
    file_where = Where(label, 0)
    if not data.strip():
        problems.add(file_where, "roster.file_empty")
        return None
    text = decode(data)
    if text is None:
        problems.add(file_where, "roster.not_text")
        return None
    first, _, rest = text.partition("\n")
    if hint := _SEP_LINE.fullmatch(first.rstrip("\r")):
        # Excel's "sep=;" line names the separator and is not shown: line 1 is the header
        separator, text = hint[1], rest
    else:
        separator = delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    line = 0
    try:
        header = tuple(cell.strip() for cell in next(reader, [])[:MAX_COLUMNS])
        for line, record in enumerate(reader, start=2):
            cells = tuple(record[:MAX_COLUMNS])
            if not cells or is_blank(cells) or is_comment(cells[0]):
                continue
            if len(rows) >= MAX_ROWS:
                problems.add(Where(label, line), "roster.too_many_rows", limit=MAX_ROWS)
                break
            rows.append((line, cells))
    except csv.Error:
        problems.add(Where(label, line + 1), "roster.bad_csv")
        return None
    return RawSheet(label, header, tuple(rows))


def _collect(
    named: Iterable[tuple[str, bytes]], problems: Problems, where: str
) -> dict[str, RawSheet]:
    """Sheets by machine name from (file name, bytes) pairs; unknown ``.csv`` names reported."""
    found: dict[str, RawSheet] = {}
    for name, data in named:
        sheet = sheet_for(PurePosixPath(name).stem)
        if sheet is None:
            problems.add(Where(name, 0), "roster.unknown_sheet")
            continue
        if sheet.name in found:
            problems.add(Where(name, 0), "roster.duplicate_sheet", sheet=found[sheet.name].label)
            continue
        raw = raw_csv(name, data, problems)
        if raw is not None:
            found[sheet.name] = raw
    if not found and not problems.items:
        problems.add(Where(where, 0), "roster.no_sheets")
    return found


def _is_csv(name: str) -> bool:
    """A ``.csv`` file of the school's, not one a tool left beside it: macOS's hidden
    ``._students.csv`` (copied to a USB stick or zipped from a Mac) or Office's lock file
    ``~$students.csv`` (while the file is open)."""
    return name.casefold().endswith(".csv") and not name.startswith(("._", "~$"))


def read_csv_folder(folder: Path, problems: Problems) -> dict[str, RawSheet]:
    """The ``*.csv`` files directly in `folder` (sub-folders are not searched), each at most
    `MAX_FILE_BYTES` and all together at most `MAX_UNPACKED`."""
    named: list[tuple[str, bytes]] = []
    total = 0
    for path in sorted(folder.iterdir()):
        if not _is_csv(path.name) or not path.is_file():
            continue
        total += path.stat().st_size
        if path.stat().st_size > MAX_FILE_BYTES or total > MAX_UNPACKED:
            problems.add(
                Where(path.name, 0), "roster.file_too_large", limit_mb=MAX_FILE_BYTES >> 20
            )
            continue
        named.append((path.name, path.read_bytes()))
    return _collect(named, problems, folder.name)


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author saw it: zips from Windows store Cyrillic names in CP866
    without saying so (Python then reads them as CP437)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp866")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or ":" in name


def check_zip(archive: zipfile.ZipFile, label: str, problems: Problems) -> bool:
    """Whether `archive` may be read: few members, safe names, no bomb. Reads no member."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        problems.add(Where(label, 0), "roster.zip_too_many_files", limit=MAX_MEMBERS)
        return False
    unsafe = [info.filename for info in infos if _unsafe(info.filename)]
    for name in unsafe:
        problems.add(Where(label, 0), "roster.unsafe_path", name=name[:80])
    total = sum(info.file_size for info in infos)
    bomb = total > MAX_UNPACKED or any(
        info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1)
        for info in infos
    )
    if bomb:
        problems.add(Where(label, 0), "roster.zip_bomb", limit_mb=MAX_UNPACKED >> 20)
    return not unsafe and not bomb


def _members(archive: zipfile.ZipFile, problems: Problems) -> list[tuple[str, bytes]]:
    named = []
    for info in archive.infolist():
        name = member_name(info)
        base = PurePosixPath(name.replace("\\", "/"))
        if info.is_dir() or not _is_csv(base.name) or base.parts[0] == "__MACOSX":
            continue
        if info.file_size > MAX_FILE_BYTES:
            problems.add(
                Where(base.name, 0), "roster.file_too_large", limit_mb=MAX_FILE_BYTES >> 20
            )
            continue
        with archive.open(info) as member:
            data = member.read(MAX_FILE_BYTES + 1)  # bounded even if the header lies
        if len(data) > MAX_FILE_BYTES:
            problems.add(
                Where(base.name, 0), "roster.file_too_large", limit_mb=MAX_FILE_BYTES >> 20
            )
            continue
        named.append((base.name, data))
    return named


def read_csv_zip(path: Path, problems: Problems) -> dict[str, RawSheet]:
    """The ``*.csv`` members of a zip (in any folder of it), after `check_zip`."""
    try:
        with zipfile.ZipFile(path) as archive:
            if not check_zip(archive, path.name, problems):
                return {}
            named = _members(archive, problems)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ):
        problems.add(Where(path.name, 0), "roster.bad_zip")
        return {}
    return _collect(named, problems, path.name)
