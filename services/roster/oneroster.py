"""OneRoster 1.2 CSV (1EdTech) in and out, as `SchoolData`.

`read_oneroster(path)` reads a folder or a ``.zip`` holding ``manifest.csv`` and the bulk
files (version 1.2, or 1.1 whose users.csv holds each user's role), validates them line by
line and maps them to `SchoolData`; `write_oneroster`
(`services.roster.oneroster_write`, re-exported here) writes the same files, plus the
gradebook, from `SchoolData`. The files and vocabularies are `services.roster.oneroster_spec`;
the mapping and what of the standard Parta leaves out are in docs/oneroster.md.

Contract of the reader: it never raises for bad input; every finding is a `Problem` (file,
1-based line, column, message key of `services.roster.problems`), and a caller writes nothing
while any problem exists. Records whose status is ``tobedeleted`` are skipped and counted in
`ReadResult.notes`. Graded results of the gradebook (categories, line items, results) become
`SchoolData.grades`; results not graded yet are counted in a note.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, tzinfo
from functools import lru_cache
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from db.enums import GradeKind, PeriodKind, ScaleKind, StaffRole
from services.core.grading import DEFAULT_SCALES
from services.roster.model import (
    AssignmentRow,
    ClassRow,
    GradeRow,
    GuardianRow,
    Note,
    PeriodRow,
    Problem,
    ReadResult,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    StaffRow,
    StudentRow,
    SubjectRow,
    Where,
    YearRow,
    validate_references,
)
from services.roster.oneroster_ids import school_ids
from services.roster.oneroster_spec import (
    FILE_MODES,
    FILES,
    FILES_11,
    GUARDIAN_ROLES,
    LEGACY_COLUMNS,
    MANIFEST,
    MAY_BE_EMPTY,
    ONEROSTER_11,
    ONEROSTER_VERSION,
    OTHER_FILES,
    PARTA,
    PERIOD_LEVELS,
    PERIODS_BY_COUNT,
    REQUIRED_FILES,
    REQUIRED_FILES_11,
    ROLE_FROM_11,
    STAFF_ROLE_MAP,
    STUDENT_ROLES,
    Col,
)
from services.roster.oneroster_write import oneroster_files, write_oneroster
from services.roster.phones import e164
from services.roster.text import is_email, nfc

__all__ = [
    "FILES",
    "Col",
    "Note",
    "ReadResult",
    "oneroster_files",
    "read_oneroster",
    "write_oneroster",
]

# ---------------------------------------------------------------------------------------------
# Limits

MAX_ZIP_BYTES = 20 * 1024 * 1024  # the archive as sent
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # all members, uncompressed
MAX_MEMBERS = 100
MAX_FILE_BYTES = 100 * 1024 * 1024  # one CSV file (folder or archive)

# ---------------------------------------------------------------------------------------------
# Results


def _written_kind(level: list[Rec]) -> PeriodKind | None:
    """The period kind Parta wrote for every session of `level` (its extension column), or
    None: then the count of periods decides (4 quarters, 3 trimesters, 2 semesters)."""
    kinds = {rec.get(PARTA + "periodKind") for rec in level}
    if len(kinds) != 1:
        return None
    value = kinds.pop()
    return PeriodKind(value) if value in set(PeriodKind) - {PeriodKind.YEAR} else None


def _problem(sheet: str, line: int, column: str, key: str, **params: str) -> Problem:
    return Problem(Where(sheet, line, column), key, tuple(params.items()))


# ---------------------------------------------------------------------------------------------
# Reading: bytes


@dataclass(slots=True)
class _Files:
    """The raw bytes of the files found, by canonical file name."""

    contents: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_WANTED = {name.lower(): name for name in (MANIFEST, *FILES, *OTHER_FILES)}


def _load(path: Path) -> _Files:
    found = _Files()
    try:
        if path.is_dir():
            _load_folder(path, found)
        elif path.is_file() and zipfile.is_zipfile(path):
            _load_zip(path, found)
        else:
            found.problems.append(_problem(path.name, 0, "", "oneroster.not_zip"))
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError, zlib.error):
        # RuntimeError: a password-protected member, or (NotImplementedError) a compression
        # method Python lacks; zlib.error: damaged compressed bytes
        found.problems.append(_problem(path.name, 0, "", "oneroster.not_zip"))
    return found


def _package_in(folder: Path) -> Path:
    """The folder holding ``manifest.csv``: `folder`, else the one folder in it that holds
    one (an export unpacked into a folder of its own, as `formats.detect` finds it)."""
    if any(e.name.lower() == MANIFEST for e in folder.iterdir() if e.is_file()):
        return folder
    inner = [
        sub
        for sub in folder.iterdir()
        if sub.is_dir() and any(e.name.lower() == MANIFEST and e.is_file() for e in sub.iterdir())
    ]
    return inner[0] if len(inner) == 1 else folder


def _load_folder(path: Path, found: _Files) -> None:
    for entry in sorted(_package_in(path).iterdir()):
        name = _WANTED.get(entry.name.lower())
        if name is None or not entry.is_file():
            continue
        if entry.stat().st_size > MAX_FILE_BYTES:
            found.problems.append(_too_big(name, MAX_FILE_BYTES))
            continue
        found.contents[name] = entry.read_bytes()


def _too_big(name: str, limit: int) -> Problem:
    return _problem(name, 0, "", "oneroster.too_big", limit=str(limit // (1024 * 1024)))


def _unsafe_name(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or ":" in name or "\x00" in name


def _load_zip(path: Path, found: _Files) -> None:
    if path.stat().st_size > MAX_ZIP_BYTES:
        found.problems.append(_too_big(path.name, MAX_ZIP_BYTES))
        return
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            found.problems.append(
                _problem(path.name, 0, "", "oneroster.zip_members", limit=str(MAX_MEMBERS))
            )
            return
        unsafe = [m.filename for m in members if _unsafe_name(m.filename)]
        if unsafe:
            found.problems.extend(
                _problem(path.name, 0, "", "oneroster.zip_unsafe", name=n) for n in unsafe
            )
            return
        if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
            found.problems.append(_too_big(path.name, MAX_TOTAL_BYTES))
            return
        budget = MAX_TOTAL_BYTES
        folder = _package_folder([_posix(m.filename) for m in members])
        for member in members:
            member_path = _posix(member.filename)
            if member.is_dir() or not member_path.startswith(folder):
                continue
            name = _WANTED.get(member_path[len(folder) :].lower())
            if name is None:
                continue
            data = _read_member(archive, member, min(budget, MAX_FILE_BYTES))
            if data is None:
                found.problems.append(_too_big(name, min(budget, MAX_FILE_BYTES)))
                return
            budget -= len(data)
            found.contents[name] = data


def _posix(name: str) -> str:
    """A member's name with ``/`` between folders (some Windows tools store ``\\``)."""
    return name.replace("\\", "/")


def _package_folder(names: list[str]) -> str:
    """Where the package sits in the archive: the folder holding ``manifest.csv`` nearest
    the root (the root itself, ``export/`` when the archive was made by compressing a folder,
    ``exports/2026-09-01/`` from a system that nests its exports). Several at the same depth,
    or none: the root, which then has no manifest. macOS's ``__MACOSX/`` copies don't count."""
    folders = [
        n[: -len(MANIFEST)]
        for n in names
        if n.lower().rsplit("/", 1)[-1] == MANIFEST and not n.startswith("__MACOSX/")
    ]
    if not folders:
        return ""
    depth = min(f.count("/") for f in folders)
    nearest = [f for f in folders if f.count("/") == depth]
    return nearest[0] if len(nearest) == 1 else ""


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The member's bytes, or None when it inflates past `limit` (whatever its header says)."""
    with archive.open(member) as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


# ---------------------------------------------------------------------------------------------
# Reading: CSV records


@dataclass(frozen=True, slots=True)
class Rec:
    """One data line of a file: its 1-based line number and its values by canonical column."""

    file: str
    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    @property
    def sid(self) -> str:
        return self.get("sourcedId")

    def where(self, column: str = "") -> Where:
        return Where(self.file, self.line, column)

    def items(self, column: str) -> list[str]:
        return _split(self.get(column))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _decode(name: str, raw: bytes) -> tuple[str | None, Problem | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return None, _problem(name, line, "", "oneroster.bad_encoding")


def _rows(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for each CSV record; `csv.Error` propagates."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    for cells in reader:
        yield line, cells
        line = reader.line_num + 1


def _header(
    name: str, cells: list[str], columns: tuple[Col, ...]
) -> tuple[dict[int, str], list[Problem]]:
    """Column index → canonical column name, matching case-insensitively after trimming;
    unknown names close to a missing column are reported as a likely typo."""
    known = {col.name.lower(): col.name for col in columns}
    index: dict[int, str] = {}
    problems: list[Problem] = []
    for i, cell in enumerate(cells):
        key = cell.strip().lstrip("\ufeff").strip()
        canonical = known.get(key.lower())
        if canonical is None and key.lower().startswith("metadata."):
            canonical = key
        if canonical is None:
            continue
        if canonical in index.values():
            problems.append(_problem(name, 1, cell, "oneroster.duplicate_column"))
            continue
        index[i] = canonical
    present = {c.lower() for c in index.values()}
    missing = [n for n in known if n not in present]
    for i, cell in enumerate(cells):
        key = cell.strip().lstrip("\ufeff").strip()
        if i in index or not key or key.lower() in LEGACY_COLUMNS:
            continue
        close = difflib.get_close_matches(key.lower(), missing, n=1, cutoff=0.75)
        if close:
            problems.append(
                _problem(name, 1, cell, "oneroster.header_typo", expected=known[close[0]])
            )
            missing.remove(close[0])
    for col in columns:
        if col.required and col.name.lower() in missing:
            problems.append(_problem(name, 1, col.name, "oneroster.missing_column"))
    return index, problems


def _parse_csv(name: str, raw: bytes, columns: tuple[Col, ...]) -> tuple[list[Rec], list[Problem]]:
    text, problem = _decode(name, raw)
    if text is None:
        return [], [problem] if problem else []
    records: list[Rec] = []
    problems: list[Problem] = []
    index: dict[int, str] | None = None
    line = 0
    try:
        for line, cells in _rows(name, text):
            if index is None:
                index, problems = _header(name, cells, columns)
                if separator := _other_separator(cells):
                    return [], [_problem(name, 1, "", "oneroster.separator", found=separator)]
                continue
            if not any(cell.strip() for cell in cells):
                continue
            # a short line (trailing cells left out, or cut off) has those cells empty, so a
            # required value missing at its end is reported, not read as an absent column
            values = {
                col: nfc(cells[i].strip()) if i < len(cells) else "" for i, col in index.items()
            }
            records.append(Rec(name, line, _canonical(columns, values)))
    except csv.Error as error:
        problems.append(_problem(name, line + 1, "", "oneroster.bad_csv", reason=str(error)))
    if index is None:
        problems.append(_problem(name, 1, "", "oneroster.empty_file"))
    return records, problems


def _other_separator(header: list[str]) -> str | None:
    """The separator of a header that is one cell split by ``;`` or a tab into several (a
    file a spreadsheet re-saved): every column would be reported missing, this says why."""
    if len(header) != 1:
        return None
    for separator, shown in ((";", ";"), ("\t", "Tab")):
        if len(header[0].split(separator)) > 2:
            return shown
    return None


@lru_cache(maxsize=64)
def _vocab_spellings(columns: tuple[Col, ...]) -> Mapping[str, Mapping[str, str]]:
    """Column → (value in lower case → its spelling in the vocabulary) of a file's columns."""
    return {
        col.name: {word.lower(): word for word in col.vocab}
        for col in columns
        if col.kind == "vocab"
    }


def _canonical(columns: tuple[Col, ...], values: dict[str, str]) -> dict[str, str]:
    """`values` with vocabulary words spelt as the standard does: exports write ``Student``,
    ``TEACHER`` or ``toBeDeleted``, and a word that differs only in case means the same."""
    for column, spellings in _vocab_spellings(columns).items():
        value = values.get(column)
        if value:
            values[column] = spellings.get(value.lower(), value)
    return values


# ---------------------------------------------------------------------------------------------
# Reading: values


@lru_cache(maxsize=4096)  # the same dates and timestamps recur on every line
def parse_date(value: str) -> date | None:
    """A ``YYYY-MM-DD`` date (None when not one, or impossible like 2025-02-30)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@lru_cache(maxsize=4096)  # the same dates and timestamps recur on every line
def parse_datetime(value: str, zone: tzinfo | None = None) -> date | None:
    """The date of an ISO 8601 date or date-time (``2026-09-01T08:00:00.000Z``; a space
    instead of the ``T`` too), None when it is neither.

    A date-time with an offset is a moment: its date is the one in `zone` (the school's), so
    ``2026-09-14T21:00:00Z``, midnight in Moscow written in UTC, is 15 September there. A
    date-time at midnight, and one without an offset, is a date written as a date-time: its
    own date (``2026-09-15T00:00:00Z`` is 15 September in any zone)."""
    day = parse_date(value)
    if day is not None:
        return day
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?", value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if zone is None or moment.tzinfo is None or moment.time() == time():
        return moment.date()
    return moment.astimezone(zone).date()


def parse_bool(value: str) -> bool | None:
    lowered = value.lower()
    return True if lowered == "true" else False if lowered == "false" else None


def parse_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _check_value(rec: Rec, col: Col, value: str) -> Problem | None:
    where = (rec.file, rec.line, col.name)
    if col.kind == "date" and parse_datetime(value) is None:  # a date-time is read as a date
        return _problem(*where, "oneroster.bad_date", value=value)
    if col.kind == "datetime" and parse_datetime(value) is None:
        return _problem(*where, "oneroster.bad_datetime", value=value)
    if col.kind == "bool" and parse_bool(value) is None:
        return _problem(*where, "oneroster.bad_boolean", value=value)
    if col.kind == "number" and parse_number(value) is None:
        return _problem(*where, "oneroster.bad_number", value=value)
    if col.kind == "vocab" and value not in col.vocab and not value.startswith("ext:"):
        allowed = ", ".join(sorted(col.vocab))
        return _problem(*where, "oneroster.bad_vocab", value=value, allowed=allowed)
    return None


class _Tables:
    """The records of every file read, the ids of each file (tobedeleted included) and the
    active records; `check` validates values, ids and references."""

    def __init__(
        self, records: Mapping[str, list[Rec]], binding: Mapping[str, tuple[Col, ...]] = FILES
    ) -> None:
        self.binding = binding
        self.roles_file = "roles.csv"  # users.csv when the roles come from there (1.1)
        self.all = dict(records)
        self.ids = {name: {rec.sid for rec in recs} for name, recs in records.items()}
        self.active = {
            name: [rec for rec in recs if rec.get("status") != "tobedeleted"]
            for name, recs in records.items()
        }
        self._by_id = {name: {rec.sid: rec for rec in recs} for name, recs in self.active.items()}
        self.skipped = {name: len(recs) - len(self.active[name]) for name, recs in records.items()}

    def derive_roles(self) -> None:
        """OneRoster 1.1 keeps a user's one role and orgs in users.csv: roles.csv as 1.2 has
        it, one primary role per user, located at the user's line (the tables are checked)."""
        roles = [
            Rec(
                user.file,
                user.line,
                {
                    "sourcedId": user.sid,
                    "status": user.get("status"),
                    "userSourcedId": user.sid,
                    "roleType": "primary",
                    "role": ROLE_FROM_11.get(user.get("role"), user.get("role")),
                    "orgSourcedId": next(iter(user.items("orgSourcedIds")), ""),
                },
            )
            for user in self.all.get("users.csv", [])
        ]
        self.all["roles.csv"] = roles
        self.roles_file = "users.csv"
        self.active["roles.csv"] = [r for r in roles if r.get("status") != "tobedeleted"]
        self.skipped["roles.csv"] = 0  # the users skipped are counted in users.csv

    def by_id(self, name: str) -> Mapping[str, Rec]:
        """Active records of `name` by sourcedId (empty when the file was not supplied)."""
        return self._by_id.get(name, {})

    def check(self) -> list[Problem]:
        problems: list[Problem] = []
        for name, recs in self.all.items():
            first: dict[str, int] = {}
            for rec in recs:
                problems.extend(self._check_rec(rec))
                if rec.sid in first:
                    problems.append(
                        _problem(
                            name,
                            rec.line,
                            "sourcedId",
                            "oneroster.duplicate_id",
                            id=rec.sid,
                            first=str(first[rec.sid]),
                        )
                    )
                elif rec.sid:
                    first[rec.sid] = rec.line
        return problems

    def _check_rec(self, rec: Rec) -> Iterator[Problem]:
        for col in self.binding[rec.file]:
            value = rec.get(col.name)
            if not value:
                if (
                    col.required
                    and col.name in rec.values
                    and (rec.file, col.name) not in MAY_BE_EMPTY
                ):
                    yield _problem(rec.file, rec.line, col.name, "oneroster.empty_value")
                continue
            if col.kind in ("text", "list"):
                continue
            bad = _check_value(rec, col, value)
            if bad is not None:
                yield bad
            elif col.kind in ("ref", "refs"):
                yield from self._check_refs(rec, col, value)

    def _check_refs(self, rec: Rec, col: Col, value: str) -> Iterator[Problem]:
        targets = [value] if col.kind == "ref" else _split(value)
        known = self.ids.get(col.target)
        if known is None and col.target not in FILES:
            return
        for target in targets:
            if known is None or target not in known:
                yield Problem(
                    rec.where(col.name),
                    "roster.unknown_ref",
                    (("target", col.target), ("id", target)),
                )


# ---------------------------------------------------------------------------------------------
# Reading: the manifest


@dataclass(frozen=True, slots=True)
class _Binding:
    """What a version of the CSV binding has: its files and columns, the files it needs."""

    version: str
    files: Mapping[str, tuple[Col, ...]]
    required: tuple[str, ...]


BINDINGS = {
    ONEROSTER_VERSION: _Binding(ONEROSTER_VERSION, FILES, REQUIRED_FILES),
    ONEROSTER_11: _Binding(ONEROSTER_11, FILES_11, REQUIRED_FILES_11),
}


def _check_manifest(files: _Files) -> tuple[_Binding, set[str], list[Problem]]:
    """The binding of the manifest's version and the data files it declares ``bulk``;
    problems for a missing or wrong manifest, a delta file, a declared file that is not
    there."""
    binding = BINDINGS[ONEROSTER_VERSION]
    raw = files.contents.get(MANIFEST)
    if raw is None:
        return binding, set(), [_problem(MANIFEST, 0, "", "oneroster.no_manifest")]
    text, problem = _decode(MANIFEST, raw)
    if text is None:
        return binding, set(), [problem] if problem else []
    props: dict[str, tuple[int, str]] = {}
    try:
        for line, cells in _rows(MANIFEST, text):
            if line > 1 and len(cells) >= 2:
                props[cells[0].strip()] = (line, cells[1].strip())
    except csv.Error as error:
        problems = [_problem(MANIFEST, 0, "", "oneroster.bad_csv", reason=str(error))]
        return binding, set(), problems
    line, version = props.get("oneroster.version", (0, ""))
    if version not in BINDINGS:
        return (
            binding,
            set(),
            [_problem(MANIFEST, line, "value", "oneroster.bad_version", found=version or "—")],
        )
    binding = BINDINGS[version]
    return binding, *_declared(files, props, binding)


def _declared(
    files: _Files, props: Mapping[str, tuple[int, str]], binding: _Binding
) -> tuple[set[str], list[Problem]]:
    bulk: set[str] = set()
    problems: list[Problem] = []
    for prop, (line, written) in props.items():
        if not prop.startswith("file."):
            continue
        mode = written.lower()  # "Bulk" and "BULK" are bulk
        name = _WANTED.get(prop[5:].lower() + ".csv")
        if name is None:
            continue
        if mode not in FILE_MODES:
            allowed = ", ".join(sorted(FILE_MODES))
            problems.append(
                _problem(
                    MANIFEST, line, "value", "oneroster.bad_vocab", value=written, allowed=allowed
                )
            )
        elif mode == "delta":
            problems.append(_problem(MANIFEST, line, "value", "oneroster.delta", file=name))
        elif mode == "bulk" and name not in files.contents:
            problems.append(_problem(MANIFEST, line, "value", "oneroster.missing_file", file=name))
        elif mode == "bulk" and name in binding.files:
            bulk.add(name)
    for name in binding.required:
        if name not in bulk and not problems:
            problems.append(_problem(MANIFEST, 0, "", "oneroster.missing_file", file=name))
    return bulk, problems


# ---------------------------------------------------------------------------------------------
# Reading: the mapping


def read_oneroster(path: Path | str) -> ReadResult:
    """Read and validate a OneRoster 1.2 (or 1.1) CSV folder or zip (see the module
    docstring)."""
    files = _load(Path(path))
    empty = SchoolData(SchoolInfo(name=""))
    if files.problems:
        return ReadResult(empty, tuple(files.problems))
    binding, bulk, problems = _check_manifest(files)
    if problems:
        return ReadResult(empty, tuple(problems))
    records: dict[str, list[Rec]] = {}
    for name in sorted(bulk):
        recs, found = _parse_csv(name, files.contents[name], binding.files[name])
        records[name] = recs
        problems.extend(found)
    if problems:
        return ReadResult(empty, tuple(problems))
    tables = _Tables(records, binding.files)
    problems = tables.check()
    if problems:
        return ReadResult(empty, tuple(problems))
    if binding.version == ONEROSTER_11:
        tables.derive_roles()
    mapper = _Mapper(tables)
    data = mapper.build()
    problems = mapper.problems or validate_references(data)
    return ReadResult(data, tuple(problems), tuple(mapper.notes()))


class _Mapper:
    """Turns validated tables into `SchoolData`, collecting the problems only the mapping
    can see (no school, a student in no class, a scheduled class without a teacher …)."""

    def __init__(self, tables: _Tables) -> None:
        self.t = tables
        self.problems: list[Problem] = []
        self.origins: dict[tuple[str, str], Where] = {}
        self.uncovered = 0
        self.mixed = 0
        self.results_skipped = 0
        self.users = tables.by_id("users.csv")
        self.classes = tables.by_id("classes.csv")
        self.kind_of: dict[str, set[str]] = {}  # user → {"student", "staff", "guardian"}
        self.enrollments = self._live("enrollments.csv", ("classSourcedId", "userSourcedId"))
        self.by_class: dict[str, list[Rec]] = {}
        for rec in self.enrollments:
            self.by_class.setdefault(rec.get("classSourcedId"), []).append(rec)
        self.roles: dict[str, list[Rec]] = {}
        self.zone: tzinfo = ZoneInfo(SchoolInfo(name="").timezone)  # the school's, once read

    def day(self, rec: Rec, column: str) -> date:
        """The date of `rec`'s checked date or date-time `column`, in the school's zone."""
        return _when(rec.get(column), self.zone)

    def _live(self, name: str, refs: tuple[str, ...]) -> list[Rec]:
        """Active records of `name` whose references all lead to active records."""
        targets = {col.name: col.target for col in FILES[name]}
        live = []
        for rec in self.t.active.get(name, []):
            if all(rec.get(ref) in self.t.by_id(targets[ref]) for ref in refs):
                live.append(rec)
        return live

    def _origin(self, kind: str, rec: Rec) -> None:
        self.origins[(kind, rec.sid)] = rec.where()

    def fail(self, rec: Rec | None, column: str, key: str, **params: str) -> None:
        where = rec.where(column) if rec else Where("orgs.csv", 0, column)
        self.problems.append(Problem(where, key, tuple(params.items())))

    def notes(self) -> Iterator[Note]:
        for name, count in sorted(self.t.skipped.items()):
            if count:
                yield Note(name, "oneroster.note_deleted", count)
        if self.uncovered:
            yield Note(self.t.roles_file, "oneroster.note_uncovered", self.uncovered)
        if self.mixed:
            yield Note("enrollments.csv", "oneroster.note_mixed", self.mixed)
        if self.results_skipped:
            yield Note("results.csv", "oneroster.note_results_skipped", self.results_skipped)

    def build(self) -> SchoolData:
        school = self._school()
        year, periods = self._sessions()
        scales = self._scales()
        homerooms = [c for c in self.classes.values() if c.get("classType") == "homeroom"]
        scheduled = [c for c in self.classes.values() if c.get("classType") == "scheduled"]
        subjects = self._subjects({c.get("courseSourcedId") for c in scheduled})
        self._sort_users()
        staff = self._staff(school.phone_region)
        students = self._students({c.sid for c in homerooms})
        guardians = self._guardians(school.phone_region, {s.source_id for s in students})
        classes = self._classes(homerooms, {s.source_id for s in staff})
        assignments = self._assignments(scheduled, {s.source_id for s in staff}, students, scales)
        grades = self._grades(assignments, subjects, scales)
        data = SchoolData(
            school=school,
            year=year,
            periods=periods,
            scales=scales,
            subjects=subjects,
            staff=staff,
            classes=classes,
            students=students,
            guardians=guardians,
            assignments=assignments,
            grades=grades,
            origins=self.origins,
        )
        return school_ids(data, write=False)

    # -- orgs -------------------------------------------------------------------------------

    def _school(self) -> SchoolInfo:
        schools = [o for o in self.t.active.get("orgs.csv", []) if o.get("type") == "school"]
        if not schools:
            self.fail(None, "type", "oneroster.no_school")
            return SchoolInfo(name="")
        for extra in schools[1:]:
            self.fail(extra, "type", "oneroster.several_schools")
        org = schools[0]
        info = SchoolInfo(name=org.get("name"))
        zone = org.get(PARTA + "timezone")
        if zone:
            try:
                self.zone = ZoneInfo(zone)
                info = replace(info, timezone=zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.fail(org, PARTA + "timezone", "oneroster.bad_timezone", value=zone)
        region = org.get(PARTA + "phoneRegion")
        if region:
            if region.upper() in phonenumbers.SUPPORTED_REGIONS:
                info = replace(info, phone_region=region.upper())
            else:
                self.fail(org, PARTA + "phoneRegion", "oneroster.bad_region", value=region)
        return info

    # -- academic sessions ------------------------------------------------------------------

    def _sessions(self) -> tuple[YearRow | None, tuple[PeriodRow, ...]]:
        sessions = self.t.active.get("academicSessions.csv", [])
        for rec in sessions:
            if self.day(rec, "endDate") < self.day(rec, "startDate"):
                self.fail(rec, "endDate", "oneroster.end_before_start")
        if self.problems:
            return None, ()
        years = sorted(
            (s for s in sessions if s.get("type") == "schoolYear"),
            key=lambda s: self.day(s, "startDate"),
        )
        year = years[-1] if years else None
        within = [s for s in sessions if s.get("type") != "schoolYear"]
        if year is not None:
            below = self._descendants(year.sid, sessions)
            start, end = self.day(year, "startDate"), self.day(year, "endDate")
            within = [
                s
                for s in within
                if s.sid in below
                or (
                    not below
                    and start <= self.day(s, "startDate")
                    and self.day(s, "endDate") <= end
                )
            ]
        year_row = None
        if year is not None:
            self._origin("year", year)
            year_row = YearRow(
                year.sid,
                year.get("title"),
                self.day(year, "startDate"),
                self.day(year, "endDate"),
            )
        return year_row, self._periods(within)

    @staticmethod
    def _descendants(root: str, sessions: list[Rec]) -> set[str]:
        children: dict[str, list[str]] = {}
        for s in sessions:
            children.setdefault(s.get("parentSourcedId"), []).append(s.sid)
        found: set[str] = set()
        todo = [root]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def _periods(self, sessions: list[Rec]) -> tuple[PeriodRow, ...]:
        levels = [[s for s in sessions if s.get("type") == lvl] for lvl in PERIOD_LEVELS]
        levels = [lvl for lvl in levels if lvl]
        for level in levels:
            kind = _written_kind(level) or PERIODS_BY_COUNT.get(len(level))
            if kind is None:
                continue
            ordered = sorted(level, key=lambda s: (self.day(s, "startDate"), s.sid))
            rows = []
            for number, rec in enumerate(ordered, start=1):
                self._origin("periods", rec)
                rows.append(
                    PeriodRow(
                        rec.sid,
                        kind,
                        number,
                        self.day(rec, "startDate"),
                        self.day(rec, "endDate"),
                    )
                )
            return tuple(rows)
        if levels:
            first = levels[0][0]
            self.fail(first, "type", "oneroster.period_count", count=str(len(levels[0])))
        return ()

    # -- scales and courses -----------------------------------------------------------------

    def _scales(self) -> tuple[ScaleRow, ...]:
        recs = self.t.active.get("scoreScales.csv", [])
        if not recs:
            return tuple(ScaleRow(code, **spec) for code, spec in DEFAULT_SCALES.items())
        rows = []
        for rec in recs:
            row = self._scale(rec)
            if row is not None:
                self._origin("scales", rec)
                rows.append(row)
        return tuple(rows)

    def _scale(self, rec: Rec) -> ScaleRow | None:
        values = [
            n
            for n in (parse_number(item.split(":")[0]) for item in _scale_items(rec))
            if n is not None
        ]
        kind = _scale_kind(rec.get("type"), values)
        if kind is None:
            self.fail(rec, "type", "oneroster.bad_scale", value=rec.get("type"))
            return None
        default = next(spec for spec in DEFAULT_SCALES.values() if spec["kind"] is kind)

        def number(column: str, fallback: float) -> float:
            parsed = parse_number(rec.get(PARTA + column))
            return fallback if parsed is None else parsed

        low = number("minScore", min(values) if values else default["min_score"])
        high = number("maxScore", max(values) if values else default["max_score"])
        pass_ = number("passScore", default["pass_score"])
        modifiers = parse_bool(rec.get(PARTA + "allowModifiers"))
        if not low <= pass_ <= high or low >= high:
            self.fail(rec, "scoreScaleValue", "oneroster.bad_scale", value=rec.get("title"))
            return None
        allow = default["allow_modifiers"] if modifiers is None else modifiers
        return ScaleRow(rec.sid, kind, low, high, pass_, bool(allow))

    def _subjects(self, taught: set[str]) -> tuple[SubjectRow, ...]:
        """Courses become subjects, except a course only homeroom classes use (the
        "homeroom" course many systems attach to homerooms)."""
        homeroom_only = {
            c.get("courseSourcedId")
            for c in self.classes.values()
            if c.get("classType") == "homeroom"
        } - taught
        rows = []
        for rec in self.t.active.get("courses.csv", []):
            if rec.sid in homeroom_only:
                continue
            self._origin("subjects", rec)
            title = rec.get("title")
            rows.append(SubjectRow(rec.sid, title, rec.get("courseCode") or title))
        return tuple(rows)

    # -- users ------------------------------------------------------------------------------

    def _roles(self) -> dict[str, list[Rec]]:
        """Active roles by user, the primary role first, then in file order."""
        by_user: dict[str, list[Rec]] = {}
        for rec in self._live("roles.csv", ("userSourcedId",)):
            by_user.setdefault(rec.get("userSourcedId"), []).append(rec)
        for recs in by_user.values():
            recs.sort(key=lambda r: r.get("roleType") != "primary")
        return by_user

    def _sort_users(self) -> None:
        self.roles = self._roles()
        for sid, user in self.users.items():
            roles = [r.get("role") for r in self.roles.get(sid, [])]
            kinds = set()
            if any(r in STUDENT_ROLES for r in roles):
                kinds.add("student")
            if any(r in STAFF_ROLE_MAP for r in roles):
                kinds.add("staff")
            if any(r in GUARDIAN_ROLES for r in roles):
                kinds.add("guardian")
            if not roles:
                self.fail(user, "sourcedId", "oneroster.no_role")
            elif not kinds:
                self.uncovered += 1
            self.kind_of[sid] = kinds

    def _users(self, kind: str) -> Iterator[Rec]:
        for sid, user in self.users.items():
            if kind in self.kind_of.get(sid, set()):
                yield user

    def _phone(self, user: Rec, region: str) -> str | None:
        """The user's phone, else their ``sms`` number (the mobile, where many systems keep
        a parent's only number: the one Telegram shares when the parent links)."""
        column = "phone" if user.get("phone") else "sms"
        raw = user.get(column)
        if not raw:
            return None
        number = e164(raw, region)
        if number is None:
            self.fail(user, column, "oneroster.bad_phone", value=raw)
        return number

    def _email(self, user: Rec) -> str | None:
        """The user's e-mail, checked as the school workbook checks it (an export of the
        school must read back)."""
        raw = user.get("email")
        if raw and not is_email(raw):
            self.fail(user, "email", "oneroster.bad_email", value=raw)
        return raw or None

    def _staff(self, region: str) -> tuple[StaffRow, ...]:
        rows = []
        for user in self._users("staff"):
            roles: list[StaffRole] = []
            for rec in self.roles[user.sid]:
                role = STAFF_ROLE_MAP.get(rec.get("role"))
                if role is not None and role not in roles:
                    roles.append(role)
            self._origin("staff", user)
            rows.append(
                StaffRow(
                    user.sid,
                    full_name(user),
                    tuple(roles),
                    self._phone(user, region),
                    self._email(user),
                )
            )
        return tuple(rows)

    def _homerooms_of(self, homerooms: set[str]) -> dict[str, list[str]]:
        """Student → the homeroom classes they are enrolled in as a student."""
        found: dict[str, list[str]] = {}
        for rec in self.enrollments:
            if rec.get("role") == "student" and rec.get("classSourcedId") in homerooms:
                found.setdefault(rec.get("userSourcedId"), []).append(rec.get("classSourcedId"))
        return found

    def _students(self, homerooms: set[str]) -> tuple[StudentRow, ...]:
        placed = self._homerooms_of(homerooms)
        births = {
            rec.sid: self.day(rec, "birthDate") if rec.get("birthDate") else None
            for rec in self.t.active.get("demographics.csv", [])
        }
        rows = []
        for user in self._users("student"):
            classes = placed.get(user.sid, [])
            if not classes:
                self.fail(user, "sourcedId", "oneroster.student_no_class")
                continue
            if len(set(classes)) > 1:
                self.fail(user, "sourcedId", "oneroster.student_classes", ids=", ".join(classes))
                continue
            self._origin("students", user)
            rows.append(StudentRow(user.sid, full_name(user), classes[0], births.get(user.sid)))
        return tuple(rows)

    def _guardians(self, region: str, students: set[str]) -> tuple[GuardianRow, ...]:
        guardians = {user.sid for user in self._users("guardian")}
        links: dict[str, list[str]] = {sid: [] for sid in guardians}
        for sid in guardians:
            for agent in self.users[sid].items("agentSourcedIds"):
                if agent in students and agent not in links[sid]:
                    links[sid].append(agent)
        for sid in students:
            for agent in self.users[sid].items("agentSourcedIds"):
                if agent in links and sid not in links[agent]:
                    links[agent].append(sid)
        rows = []
        for user in self._users("guardian"):
            self._origin("guardians", user)
            relation = user.get(PARTA + "relation") if PARTA + "relation" in user.values else None
            if relation is None:
                role = next(
                    r.get("role") for r in self.roles[user.sid] if r.get("role") in GUARDIAN_ROLES
                )
                relation = role if role != "guardian" else ""
            rows.append(
                GuardianRow(
                    user.sid,
                    full_name(user),
                    tuple(links[user.sid]),
                    self._phone(user, region),
                    self._email(user),
                    relation or None,
                )
            )
        return tuple(rows)

    # -- classes ----------------------------------------------------------------------------

    def _teacher(self, class_id: str, staff: set[str]) -> Rec | None:
        """The class's teacher enrollment: the primary one, else the first."""
        teachers = [
            rec
            for rec in self.by_class.get(class_id, [])
            if rec.get("role") == "teacher" and rec.get("userSourcedId") in staff
        ]
        teachers.sort(key=lambda r: parse_bool(r.get("primary")) is not True)
        return teachers[0] if teachers else None

    def _classes(self, homerooms: list[Rec], staff: set[str]) -> tuple[ClassRow, ...]:
        rows = []
        for rec in homerooms:
            level = _grade_level(rec)
            if level is None:
                self.fail(rec, "grades", "oneroster.bad_grade", value=rec.get("grades"))
                continue
            teacher = self._teacher(rec.sid, staff)
            self._origin("classes", rec)
            rows.append(
                ClassRow(
                    rec.sid,
                    rec.get("title"),
                    level,
                    teacher.get("userSourcedId") if teacher else None,
                )
            )
        return tuple(rows)

    def _assignments(
        self,
        scheduled: list[Rec],
        staff: set[str],
        students: tuple[StudentRow, ...],
        scales: tuple[ScaleRow, ...],
    ) -> tuple[AssignmentRow, ...]:
        class_of = {s.source_id: s.class_id for s in students}
        rows = []
        for rec in scheduled:
            homeroom = self._homeroom_of(rec, class_of)
            teacher = self._teacher(rec.sid, staff)
            if homeroom is None:
                self.fail(rec, "sourcedId", "oneroster.no_homeroom")
            if teacher is None:
                self.fail(rec, "sourcedId", "oneroster.no_teacher")
            if homeroom is None or teacher is None:
                continue
            self._origin("assignments", rec)
            rows.append(
                AssignmentRow(
                    rec.sid,
                    teacher.get("userSourcedId"),
                    homeroom,
                    rec.get("courseSourcedId"),
                    self._scale_of(rec, scales),
                )
            )
        return tuple(rows)

    def _homeroom_of(self, rec: Rec, class_of: Mapping[str, str]) -> str | None:
        """The homeroom a scheduled class teaches: its students' homeroom (the largest when
        they come from several), else the homeroom named by the first word of its title or
        its class code."""
        counts = Counter(
            class_of[e.get("userSourcedId")]
            for e in self.by_class.get(rec.sid, [])
            if e.get("role") == "student" and e.get("userSourcedId") in class_of
        )
        if counts:
            if len(counts) > 1:
                self.mixed += 1
            return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        names: dict[str, str] = {}
        for c in self.classes.values():
            if c.get("classType") == "homeroom":
                for label in (c.get("title"), c.get("classCode")):
                    if label:
                        names.setdefault(label.casefold(), c.sid)
        for label in (rec.get("title"), rec.get("classCode")):
            words = re.split(r"[\s_\-/]+", label.strip(), maxsplit=1)
            if words and words[0].casefold() in names:
                return names[words[0].casefold()]
        return None

    def _scale_of(self, rec: Rec, scales: tuple[ScaleRow, ...]) -> str:
        """The scale of a scheduled class: our ``metadata.parta.scale`` column, else a score
        scale of that class, else of its course, else "five" (or the first scale)."""
        codes = [s.source_id for s in scales]
        named = rec.get(PARTA + "scale")
        if named in codes:
            return named
        for column, value in (
            ("classSourcedId", rec.sid),
            ("courseSourcedId", rec.get("courseSourcedId")),
        ):
            for scale in self.t.active.get("scoreScales.csv", []):
                if scale.get(column) == value and scale.sid in codes:
                    return scale.sid
        return "five" if "five" in codes else (codes[0] if codes else "five")

    # -- the gradebook ----------------------------------------------------------------------

    def _grades(
        self,
        assignments: tuple[AssignmentRow, ...],
        subjects: tuple[SubjectRow, ...],
        scales: tuple[ScaleRow, ...],
    ) -> tuple[GradeRow, ...]:
        """A grade per graded result on a line item of a scheduled class; results not graded
        yet (``scoreStatus``) or on another kind of class are counted in a note."""
        items = self.t.by_id("lineItems.csv")
        categories = self.t.by_id("categories.csv")
        by_class = {a.source_id: a for a in assignments}
        subject_names = {s.source_id: s.name for s in subjects}
        scale_of = {s.source_id: s for s in scales}
        rows = []
        for rec in self.t.active.get("results.csv", []):
            item = items.get(rec.get("lineItemSourcedId"))
            assignment = by_class.get(item.get("classSourcedId")) if item else None
            if item is None or assignment is None or rec.get("scoreStatus") not in GRADED:
                self.results_skipped += 1
                continue
            value = _result_value(rec, scale_of.get(assignment.scale_id))
            if value is None:
                self.fail(rec, "score", "oneroster.no_score")
                continue
            kind = _grade_kind(categories.get(item.get("categorySourcedId")))
            lesson_day = self.day(item, "assignDate")
            title = item.get("title")
            default_title = f"{subject_names.get(assignment.subject_id, '')} {lesson_day}"
            self._origin("grades", rec)
            rows.append(
                GradeRow(
                    source_id=rec.sid,
                    assignment_id=assignment.source_id,
                    student_id=rec.get("studentSourcedId"),
                    lesson_id=_lesson_key(item.sid, kind),
                    lesson_day=lesson_day,
                    day=self.day(rec, "scoreDate"),
                    value=value,
                    kind=kind,
                    topic=None if title in ("", default_title) else title,
                    comment=rec.get("comment") or None,
                )
            )
        return tuple(sorted(rows, key=lambda g: g.source_id))


#: the `scoreStatus` values whose results become grades
GRADED = frozenset({"fully graded", "partially graded"})
#: words in a category's title that name a grade kind (a category ``kind-<kind>`` is Parta's)
KIND_WORDS = (
    ("homework", GradeKind.HOMEWORK),
    ("домашн", GradeKind.HOMEWORK),
    ("exam", GradeKind.EXAM),
    ("экзамен", GradeKind.EXAM),
    ("test", GradeKind.TEST),
    ("quiz", GradeKind.TEST),
    ("контрольн", GradeKind.TEST),
    ("oral", GradeKind.ORAL),
    ("устн", GradeKind.ORAL),
)


def _grade_kind(category: Rec | None) -> GradeKind:
    """The kind of a grade from its line item's category: Parta's own ``kind-<kind>`` ids,
    else a word of the title (homework, test, exam, oral, in English or Russian), else
    classwork."""
    if category is None:
        return GradeKind.CLASSWORK
    kinds = {k.value: k for k in GradeKind}
    if category.sid.startswith("kind-") and category.sid[5:] in kinds:
        return kinds[category.sid[5:]]
    title = category.get("title").casefold()
    if title in kinds:
        return kinds[title]
    for word, kind in KIND_WORDS:
        if word in title:
            return kind
    return GradeKind.CLASSWORK


def _lesson_key(item_id: str, kind: GradeKind) -> str:
    """The lesson a line item is on: Parta writes ``lesson-12-test`` for the test grades of
    lesson ``lesson-12``; another system's line item is a lesson of its own."""
    suffix = f"-{kind.value}"
    return item_id[: -len(suffix)] if item_id.endswith(suffix) else item_id


def _result_value(rec: Rec, scale: ScaleRow | None) -> str | None:
    """The grade as written (``textScore``), else the score (``pass``/``fail`` on a
    pass/fail scale); the planner checks it against the scale."""
    text = rec.get("textScore").strip()
    if text:
        return text
    raw = rec.get("score").strip()
    if not raw:
        return None
    score = float(raw)
    if scale is not None and scale.kind is ScaleKind.PASS_FAIL:
        return "pass" if score >= scale.pass_score else "fail"
    return f"{score:g}"


def _when(value: str, zone: tzinfo) -> date:
    """The date of a checked date or date-time column, in the school's `zone`."""
    parsed = parse_datetime(value, zone)
    assert parsed is not None  # checked by _Tables.check
    return parsed


def _scale_items(rec: Rec) -> list[str]:
    return [m.strip() for m in re.findall(r"\[([^\]]*)\]", rec.get("scoreScaleValue"))]


def _scale_kind(value: str, numbers: list[float]) -> ScaleKind | None:
    if value in {k.value for k in ScaleKind}:
        return ScaleKind(value)
    if not numbers:
        return None
    return {
        5.0: ScaleKind.FIVE,
        10.0: ScaleKind.TEN,
        100.0: ScaleKind.HUNDRED,
        1.0: ScaleKind.PASS_FAIL,
    }.get(max(numbers))


def _grade_level(rec: Rec) -> int | None:
    """The first of the class's grades (``07`` → 7), else the leading number of its title."""
    for grade in rec.items("grades"):
        if grade.isdigit():
            return int(grade)
    match = re.match(r"\s*(\d{1,2})", rec.get("title"))
    return int(match.group(1)) if match else None


def full_name(user: Rec) -> str:
    """``familyName givenName middleName`` (the order Russian school lists use)."""
    parts = (user.get("familyName"), user.get("givenName"), user.get("middleName"))
    return " ".join(p for p in parts if p)
