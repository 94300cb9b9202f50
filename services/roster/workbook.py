"""The school workbook (.xlsx): the empty template, the export, and reading any school file.

- `write_template(target, translate)`: every sheet of `services.roster.sheets.SHEETS` with its
  header (a note on each column in Russian and English), one grey example row (its first cell
  starts with ``#``, so the reader skips it), drop-down lists for enums, and an instructions
  sheet in both languages.
- `write_workbook(target, data, translate)`: the same layout filled from `SchoolData` (what
  `parta export school` writes); reading it back gives the same `SchoolData`.
- `read_school(path) -> ReadResult`: a workbook, a folder of CSV files or a zip of them, into
  `SchoolData` and every problem found (`data` is None when there is any).

Hostile workbooks are refused with a problem before or while reading, never with an exception:
files over `MAX_FILE_BYTES`; anything that is not a zip (old .xls, a truncated download);
zip bombs (`csvsheets.check_zip`); macros (.xlsm, or a ``vbaProject.bin`` inside); formula
cells (reported, never evaluated); hidden sheets (reported; hidden data is never imported);
more than `MAX_ROWS` rows in a sheet (read in openpyxl's streaming mode, stopped past it).
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import IO

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.roster.csvsheets import (
    MAX_FILE_BYTES,
    MAX_UNPACKED,
    check_zip,
    read_csv_folder,
    read_csv_zip,
)
from services.roster.model import ReadResult, SchoolData, Where
from services.roster.problems import N_
from services.roster.sheets import (
    INSTRUCTIONS_NAMES,
    INSTRUCTIONS_TITLE,
    MAX_COLUMNS,
    MAX_ROWS,
    SHEETS,
    Cell,
    Column,
    Kind,
    Problems,
    RawSheet,
    Sheet,
    Translate,
    is_blank,
    is_comment,
    keep_as_text,
    parse_sheets,
    rows_of,
    sheet_for,
)

#: members of an xlsx zip (a workbook of 14 sheets has about 40)
MAX_XLSX_MEMBERS = 1_000
#: the languages of notes and instructions, in print order
LOCALES = ("ru", "en")
#: lines of one sheet looked at (blank ones included); a longer sheet is refused unread
MAX_SCANNED = 2 * MAX_ROWS

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_FONT = Font(italic=True, color="808080")
_FORMATS = {Kind.DATE: "DD.MM.YYYY", Kind.TIME: "HH:MM"}

_INSTRUCTIONS = (
    N_("The school workbook of Parta"),
    N_(
        "Fill in one sheet per kind of data and import the file with "
        "“parta import school FILE --dry-run”: it lists every problem with its sheet, line and "
        "column, and changes nothing until the whole file is valid."
    ),
    N_(
        "Line 1 of each sheet holds the column names: keep them (a note on each explains it). "
        "A line whose first cell starts with # is a comment and is skipped, like the grey "
        "example line. Empty lines are skipped."
    ),
    N_(
        "The id column is the row's own id: keep it unchanged when you edit the file, so that "
        "importing again updates the same student, class or teacher instead of adding a new "
        "one. Other sheets refer to rows by these ids."
    ),
    N_(
        "Dates are dd.mm.yyyy (or yyyy-mm-dd), times HH:MM. Phones may be written in any "
        "common form; numbers without a country code are read in the school's phone region. "
        "Several values in one cell (roles, a parent's children) are separated by commas."
    ),
    N_(
        "Type values, not formulas: cells with formulas, and text starting with =, +, - or @, "
        "are refused. Hidden sheets and workbooks with macros are refused too."
    ),
    N_(
        "Limits: 20 MB per file, 20,000 lines per sheet. The same sheets can be imported as "
        "CSV files (one per sheet, named like the sheet, in a folder or a zip)."
    ),
    N_("Sheets"),
)


def _both(translate: Translate, message: str) -> list[str]:
    return [translate(message, locale=locale) for locale in LOCALES]


# --- writing ---------------------------------------------------------------------------


def _instructions(workbook: Workbook, translate: Translate) -> None:
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.title = INSTRUCTIONS_TITLE
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 70
    title, *paragraphs, sheets_heading = _INSTRUCTIONS
    ws.append(_both(translate, title))
    for cell in ws[1]:
        cell.font = Font(bold=True, size=14)
    for paragraph in paragraphs:
        ws.append(["", *_both(translate, paragraph)])
    ws.append([])
    ws.append(["", *_both(translate, sheets_heading)])
    for sheet in SHEETS:
        ws.append(
            [sheet.title, *(f"{text} ({sheet.name})" for text in _both(translate, sheet.about))]
        )
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _note(column: Column, translate: Translate) -> Comment:
    ru, en = _both(translate, column.help)
    required = " *" if column.required else ""
    note = Comment(f"{column.name}{required}\n{ru}\n\n{en}", "Parta")
    note.width, note.height = 260, 140
    return note


def _validation(column: Column) -> DataValidation | None:
    if column.kind not in (Kind.ENUM, Kind.ENUMS, Kind.BOOL):
        return None
    several = column.kind is Kind.ENUMS  # "teacher, admin" is allowed: the list only hints
    return DataValidation(
        type="list",
        formula1='"' + ",".join(column.choices) + '"',
        allow_blank=True,
        showErrorMessage=not several,
    )


def _sheet(
    workbook: Workbook, sheet: Sheet, rows: Sequence[Sequence[Cell]], translate: Translate
) -> None:
    ws = workbook.create_sheet(sheet.title)
    ws.append([c.name for c in sheet.columns])
    for index, column in enumerate(sheet.columns, start=1):
        head = ws.cell(1, index)
        head.font, head.fill, head.comment = _HEADER_FONT, _HEADER_FILL, _note(column, translate)
        letter = get_column_letter(index)
        width = max(len(column.name), len(column.example), 10) + 4
        ws.column_dimensions[letter].width = min(width, 40)
        if (validation := _validation(column)) is not None:
            ws.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    for line, cells in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(sheet.columns, cells, strict=True), start=1):
            cell = ws.cell(line, index)
            cell.value = value
            keep_as_text(cell)  # OWASP CSV injection
            if column.kind in _FORMATS and isinstance(value, date | time):
                cell.number_format = _FORMATS[column.kind]
    ws.freeze_panes = "A2"


def _example(sheet: Sheet) -> list[Cell]:
    return [("#" if i == 0 else "") + c.example for i, c in enumerate(sheet.columns)]


def _workbook(data: SchoolData | None, translate: Translate) -> Workbook:
    workbook = Workbook()
    _instructions(workbook, translate)
    for sheet in SHEETS:
        if data is None:
            _sheet(workbook, sheet, [_example(sheet)], translate)
            ws = workbook[sheet.title]
            for cell in ws[2]:
                cell.font = _EXAMPLE_FONT
        else:
            _sheet(workbook, sheet, rows_of(data, sheet), translate)
    return workbook


def write_template(target: Path | IO[bytes], translate: Translate) -> None:
    """The empty school workbook, with notes, example rows and instructions."""
    _workbook(None, translate).save(target)


def write_workbook(target: Path | IO[bytes], data: SchoolData, translate: Translate) -> None:
    """`data` as the school workbook (no example rows); `read_school` reads it back equal."""
    _workbook(data, translate).save(target)


# --- reading ---------------------------------------------------------------------------


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
_RELATION_TAG = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")
#: a whole row or column tag (the part of a chunk after its last ``>`` waits for the next)
_ROW_OR_COL_TAG = re.compile(rb"<(?:\w+:)?(row|col)(?=[\s>/])[^>]*>")
_HIDDEN = re.compile(rb'\shidden\s*=\s*"(?:1|true)"')


def _attribute(tag: bytes, name: bytes) -> str:
    found = re.search(rb"(?:^|\s)(?:\w+:)?" + name + rb'\s*=\s*"([^"]*)"', tag)
    return html.unescape(found[1].decode("utf-8", "replace")) if found else ""


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet member → sheet title, from the workbook's index (no XML library needed)."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {
        _attribute(tag, b"Id"): _attribute(tag, b"Target") for tag in _RELATION_TAG.findall(rels)
    }
    members = {}
    for tag in _SHEET_TAG.findall(workbook):
        target = targets.get(_attribute(tag, b"id"), "")
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        members[member] = _attribute(tag, b"name")
    return members


@dataclass(frozen=True, slots=True)
class _Scan:
    """What a worksheet's XML says before openpyxl reads it: its row elements, and the rows
    and columns (1-based) it hides (hidden by hand, filtered out, or folded in a group)."""

    rows: int = 0
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()


def _scan(archive: zipfile.ZipFile, member: str, limit: int) -> _Scan:
    """A worksheet's row elements (counted while streaming it; stops past `limit`) and its
    hidden rows and columns."""
    count, tail = 0, b""
    hidden_rows: set[int] = set()
    hidden_columns: set[int] = set()
    with archive.open(member) as stream:
        while count <= limit and (chunk := stream.read(1 << 20)):
            block = tail + chunk
            cut = block.rfind(b">") + 1
            for tag in _ROW_OR_COL_TAG.finditer(block, 0, cut):
                is_row = tag[1] == b"row"
                count += is_row
                if not _HIDDEN.search(tag[0]):
                    continue
                if is_row and _attribute(tag[0], b"r").isdigit():
                    hidden_rows.add(int(_attribute(tag[0], b"r")))
                elif not is_row and _attribute(tag[0], b"min").isdigit():
                    low = int(_attribute(tag[0], b"min"))
                    high = min(int(_attribute(tag[0], b"max") or low), MAX_COLUMNS)
                    hidden_columns.update(range(low, high + 1))
            tail = block[cut:][-(1 << 16) :]
    return _Scan(count, frozenset(hidden_rows), frozenset(hidden_columns))


def _scans(archive: zipfile.ZipFile, problems: Problems) -> dict[str, _Scan] | None:
    """Each sheet's `_Scan` by title; None when a sheet has more rows than the reader would
    look at: found before openpyxl scans it (it reads a whole sheet to size it when the file
    does not say its size)."""
    scans: dict[str, _Scan] = {}
    for member, title in _sheet_members(archive).items():
        if member in archive.namelist():
            scans[title] = _scan(archive, member, MAX_SCANNED)
            if scans[title].rows > MAX_SCANNED:
                problems.add(Where(title, 0), "roster.too_many_lines", limit=MAX_SCANNED)
    return None if any(scan.rows > MAX_SCANNED for scan in scans.values()) else scans


def _xlsx_sane(path: Path, problems: Problems) -> dict[str, _Scan] | None:
    """Each sheet's `_Scan` when the file is a zip of a sane size, without macros (opens
    nothing but the index and the worksheets' XML), else None."""
    label = path.name
    if not zipfile.is_zipfile(path):
        problems.add(Where(label, 0), "roster.not_xlsx")
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename.casefold() for info in archive.infolist()]
            if len(names) > MAX_XLSX_MEMBERS:
                problems.add(Where(label, 0), "roster.zip_bomb", limit_mb=MAX_UNPACKED >> 20)
                return None
            if any(name.endswith("vbaproject.bin") for name in names):
                problems.add(Where(label, 0), "roster.macros")
                return None
            return _scans(archive, problems) if check_zip(archive, label, problems) else None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, RuntimeError):
        # RuntimeError: a password-protected member, or (NotImplementedError) a compression
        # method Python lacks, met while counting a sheet's rows
        problems.add(Where(label, 0), "roster.not_xlsx")
        return None


def _cell(value: object) -> Cell:
    if isinstance(value, str | int | float | bool | date | time) or value is None:
        return value
    return str(value)


def _is_text(cell: object) -> bool:
    """Whether a cell holds typed text (an error value like ``#N/A`` is no comment)."""
    return getattr(cell, "data_type", "s") not in ("e", "f")


def _raw_sheet(ws: ReadOnlyWorksheet, label: str, problems: Problems, scan: _Scan) -> RawSheet:
    """One worksheet's rows (streamed); formula and error cells are problems, not values,
    and so are values the admin cannot see (in hidden rows and columns)."""
    header: tuple[str, ...] = ()
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    hidden_lines: list[int] = []
    hidden_columns: set[int] = set()
    # the size a file declares may be wrong (rows past it would vanish silently): ignore it
    ws.reset_dimensions()
    cells_by_row = ws.iter_rows(max_col=MAX_COLUMNS)  # type: ignore[misc]  # stubs: Worksheet self
    for line, row in enumerate(cells_by_row, start=1):
        if line > MAX_SCANNED:
            problems.add(Where(label, line), "roster.too_many_lines", limit=MAX_SCANNED)
            break
        cells = tuple(_cell(c.value) for c in row)
        if line == 1:
            header = tuple("" if v is None else str(v).strip() for v in cells)
            continue
        if is_blank(cells) or (_is_text(row[0]) and is_comment(cells[0])):
            continue
        if len(rows) >= MAX_ROWS:
            problems.add(Where(label, line), "roster.too_many_rows", limit=MAX_ROWS)
            break
        for index, c in enumerate(row):
            if getattr(c, "data_type", None) in ("f", "e"):
                column = header[index] if index < len(header) else ""
                problems.add(Where(label, line, column), "roster.formula")
        if line in scan.hidden_rows:
            hidden_lines.append(line)
        hidden_columns.update(
            i for i, v in enumerate(cells, start=1) if i in scan.hidden_columns and v is not None
        )
        rows.append((line, cells))
    _hidden(label, header, hidden_lines, hidden_columns, problems)
    return RawSheet(label, header, tuple(rows))


def _hidden(
    label: str,
    header: tuple[str, ...],
    lines: list[int],
    columns: set[int],
    problems: Problems,
) -> None:
    """Problems for data in hidden rows (one for the sheet) and hidden columns (one each):
    data the admin cannot see is never imported, as with hidden sheets."""
    if lines:
        shown = ", ".join(str(n) for n in lines[:10]) + (", …" if len(lines) > 10 else "")
        problems.add(Where(label, lines[0]), "roster.hidden_rows", lines=shown)
    for index in sorted(columns):
        name = header[index - 1] if index <= len(header) else ""
        problems.add(Where(label, 1, name or get_column_letter(index)), "roster.hidden_column")


def read_xlsx(path: Path, problems: Problems) -> dict[str, RawSheet]:
    """The sheets of a workbook by machine name; the instructions sheet and empty unknown
    sheets (Excel's "Лист1") are ignored, hidden and other unknown sheets reported."""
    scans = _xlsx_sane(path, problems)
    if scans is None:
        return {}
    found: dict[str, RawSheet] = {}
    try:
        workbook = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception:  # openpyxl raises anything on a damaged file
        problems.add(Where(path.name, 0), "roster.not_xlsx")
        return {}
    try:
        for ws in workbook.worksheets:
            assert isinstance(ws, ReadOnlyWorksheet)
            title = ws.title
            if ws.sheet_state != "visible":
                problems.add(Where(title, 0), "roster.hidden_sheet")
                continue
            if title.strip().casefold() in INSTRUCTIONS_NAMES:
                continue
            sheet = sheet_for(title)
            raw = _raw_sheet(ws, title, problems, scans.get(title, _Scan()))
            if sheet is None:
                if raw.rows or any(raw.header):
                    problems.add(Where(title, 0), "roster.unknown_sheet")
            elif sheet.name in found:
                problems.add(
                    Where(title, 0), "roster.duplicate_sheet", sheet=found[sheet.name].label
                )
            else:
                found[sheet.name] = raw
    except Exception:  # a truncated member fails only while streaming
        problems.add(Where(path.name, 0), "roster.not_xlsx")
        return {}
    finally:
        workbook.close()
    return found


def _read_any(path: Path, problems: Problems) -> dict[str, RawSheet]:
    suffix = path.suffix.casefold()
    if path.is_dir():
        return read_csv_folder(path, problems)
    size = path.stat().st_size
    if size == 0:
        problems.add(Where(path.name, 0), "roster.file_empty")
    elif size > MAX_FILE_BYTES:
        problems.add(Where(path.name, 0), "roster.file_too_large", limit_mb=MAX_FILE_BYTES >> 20)
    elif suffix in (".xlsm", ".xltm", ".xlam"):
        problems.add(Where(path.name, 0), "roster.macros")
    elif suffix == ".xlsx":
        return read_xlsx(path, problems)
    elif suffix == ".zip":
        return read_csv_zip(path, problems)
    else:
        problems.add(Where(path.name, 0), "roster.unsupported_file")
    return {}


def read_school(path: Path) -> ReadResult:
    """Read a school workbook (.xlsx), a folder of CSV files or a zip of them.

    Never raises for what the file holds: every finding is a `Problem` located by sheet (or
    file), 1-based line and column, and `data` is None unless there are none. `data.origins`
    locates every row for problems found later (the planner's).
    """
    problems = Problems()
    if not path.exists():
        problems.add(Where(path.name, 0), "roster.no_file")
        return ReadResult(None, tuple(problems.items))
    raws = _read_any(path, problems)
    data = parse_sheets(raws, problems) if raws or not problems.items else None
    if problems.items:
        return ReadResult(None, tuple(problems.items))
    return ReadResult(data, ())
