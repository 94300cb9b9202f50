"""Which reader a school file needs: a OneRoster 1.2 export (a folder or zip with
`manifest.csv`) or the school workbook (.xlsx, or its sheets as CSV in a folder or zip).

The bot takes any of them as one document, so this looks inside before choosing; it never
raises for what the file holds (a damaged zip goes to the workbook reader, which reports it).
"""

from __future__ import annotations

import enum
import zipfile
from pathlib import Path

from services.roster.model import ReadResult
from services.roster.oneroster import read_oneroster

MANIFEST = "manifest.csv"


class Format(enum.StrEnum):
    WORKBOOK = "workbook"
    ONEROSTER = "oneroster"


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def detect(path: Path) -> Format:
    """OneRoster when a `manifest.csv` is in the folder or the zip (in a zip at any depth, with
    ``/`` or ``\\`` between folders, as `read_oneroster` finds it), else the workbook."""
    if path.is_dir():
        found = (path / MANIFEST).is_file() or any(path.glob(f"*/{MANIFEST}"))
        return Format.ONEROSTER if found else Format.WORKBOOK
    if path.suffix.lower() != ".zip":
        return Format.WORKBOOK
    names = [name.lower().replace("\\", "/").rstrip("/") for name in _zip_names(path)]
    found = any(name == MANIFEST or name.endswith(f"/{MANIFEST}") for name in names)
    return Format.ONEROSTER if found else Format.WORKBOOK


def read_any(path: Path) -> tuple[Format, ReadResult]:
    """The file read by the reader its contents call for (`detect`)."""
    from services.roster.workbook import read_school  # openpyxl: loaded only when needed

    kind = detect(path)
    if kind is Format.ONEROSTER:
        return kind, read_oneroster(path)
    return kind, read_school(path)
