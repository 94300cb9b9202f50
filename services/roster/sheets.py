"""The school workbook's layout, and turning its sheets (from xlsx or CSV) into `SchoolData`.

One layout serves both formats: `SHEETS` lists every sheet with its stable machine name (the
`SchoolData` field, ``"students"``; also the CSV file name ``students.csv``), its Russian
title (the workbook's sheet name, ``"Ученики"``; either name is accepted when reading) and its
columns. A column's name is the field of the row it fills (``id`` fills ``source_id``), so
reading and writing are generic over the layout.

Readers of a format (`services.roster.workbook` for xlsx, `services.roster.csvsheets` for CSV)
only turn a file into `RawSheet`s: a header and numbered rows of cell values (text, or the
numbers, dates and booleans an xlsx cell holds). `parse_sheets` does everything else: header
names matched case-insensitively with aliases, typed values (dates ``dd.mm.yyyy`` or ISO, times
``HH:MM``, phones to E.164 in the school's region, e-mails, enums), duplicate ids, dates that
end before they start, and references between sheets. Every finding is a located `Problem`;
nothing raises.

Rules every sheet shares: line 1 is the header; a row whose first cell starts with ``#`` is a
comment (the template's example row is one) and is skipped, as are empty rows; at most
`MAX_ROWS` data rows per sheet; text cells that start with ``=``, ``+``, ``-`` or ``@`` are
refused (a spreadsheet would run them as formulas).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from db.enums import PeriodKind, ScaleKind, SlotFrequency, StaffRole
from services.roster.model import (
    AssignmentRow,
    BellRow,
    ClassRow,
    GuardianRow,
    HolidayRow,
    PeriodRow,
    Problem,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    SlotRow,
    StaffRow,
    StudentRow,
    SubjectRow,
    Where,
    YearRow,
    validate_references,
)
from services.roster.phones import e164
from services.roster.problems import N_
from services.roster.text import is_email, nfc

#: data rows read from one sheet; a longer sheet is refused (reading stops past it)
MAX_ROWS = 20_000
#: columns read from one sheet (anything further right is ignored)
MAX_COLUMNS = 60
#: characters in one cell
MAX_CELL = 500
#: problems reported before the reader gives up
MAX_PROBLEMS = 1_000

#: a cell value as a reader hands it over
Cell = str | int | float | bool | date | time | None

#: characters that make a spreadsheet run a text cell as a formula (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def keep_as_text(cell: Any) -> None:
    """An openpyxl cell Excel will never run: text that looks like a formula (openpyxl stores
    a text starting with ``=`` as a formula outright) is stored as text with a quote prefix."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


class Translate(Protocol):
    """A message translated into `locale` (aiogram's `I18n.gettext` is one)."""

    def __call__(self, message: str, /, *, locale: str) -> str: ...


class Kind(enum.Enum):
    """How a column's cells are read and written."""

    TEXT = enum.auto()
    ID = enum.auto()  # a source id: text, and an integer cell reads as its digits
    REF = enum.auto()  # a source id of another sheet's row
    REFS = enum.auto()  # comma-separated source ids
    DATE = enum.auto()
    TIME = enum.auto()
    INT = enum.auto()
    NUMBER = enum.auto()
    BOOL = enum.auto()
    PHONE = enum.auto()
    EMAIL = enum.auto()
    TIMEZONE = enum.auto()
    REGION = enum.auto()
    WEEKDAY = enum.auto()
    ENUM = enum.auto()  # one of `Column.choices`
    ENUMS = enum.auto()  # comma-separated `Column.choices`


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool
    #: what the header's note says (a gettext message id)
    help: str
    #: the template's example value
    example: str = ""
    choices: tuple[str, ...] = ()
    #: other header spellings accepted when reading (compared after `header_key`)
    aliases: tuple[str, ...] = ()
    #: smallest and largest value of an INT column
    bounds: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str  # the SchoolData field and the CSV file name
    title: str  # the workbook's sheet name
    about: str  # gettext message id: what the sheet holds
    columns: tuple[Column, ...]
    single: bool = False  # at most one data row (school, year)


def _choice(
    name: str,
    values: type[enum.StrEnum],
    help_: str,
    example: str,
    *,
    required: bool = True,
    many: bool = False,
    aliases: tuple[str, ...] = (),
) -> Column:
    """A column whose values are those of an enum (`many`: several, separated by commas)."""
    kind = Kind.ENUMS if many else Kind.ENUM
    choices = tuple(member.value for member in values)
    return Column(name, kind, required, help_, example, choices, aliases=aliases)


_ID_HELP = N_("The row's own id, unique in the sheet; keep it unchanged")


def _id(example: str) -> Column:
    return Column("id", Kind.ID, True, _ID_HELP, example, aliases=("source_id", "sourcedid", "код"))


def _dates(start: str, end: str) -> tuple[Column, Column]:
    return (
        Column(
            "starts_on", Kind.DATE, True, N_("First day, dd.mm.yyyy"), start, aliases=("start",)
        ),
        Column("ends_on", Kind.DATE, True, N_("Last day, dd.mm.yyyy"), end, aliases=("end",)),
    )


def _ref(name: str, help_: str, example: str, required: bool = True) -> Column:
    return Column(name, Kind.REF, required, help_, example)


def _full_name(example: str) -> Column:
    return Column(
        "full_name",
        Kind.TEXT,
        True,
        N_("Full name"),
        example,
        aliases=("fio", "фио", "name", "имя"),
    )


def _contacts(phone: str, email: str) -> tuple[Column, Column]:
    """A person's phone and e-mail (both optional)."""
    return (
        Column(
            "phone",
            Kind.PHONE,
            False,
            N_("Phone, any common form: +7 916 123-45-67, 8 (916) 123-45-67"),
            phone,
            aliases=("телефон", "tel", "mobile"),
        ),
        Column(
            "email", Kind.EMAIL, False, N_("E-mail"), email, aliases=("e_mail", "mail", "почта")
        ),
    )


_LESSON_NUMBER = Column(
    "lesson_number",
    Kind.INT,
    True,
    N_("Lesson number: 1, 2, …"),
    "1",
    aliases=("lesson", "урок"),
    bounds=(0, 20),
)


_TEACHER = N_("The id of a row of the staff sheet")
_CLASS = N_("The id of a row of the classes sheet")
_SUBJECT = N_("The id of a row of the subjects sheet")

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "school",
        "Школа",
        N_("The school itself: one row"),
        (
            Column("name", Kind.TEXT, True, N_("The school's name"), "Гимназия № 1"),
            Column(
                "timezone",
                Kind.TIMEZONE,
                False,
                N_("Time zone, like Europe/Moscow or Europe/Minsk"),
                "Europe/Moscow",
            ),
            Column(
                "phone_region",
                Kind.REGION,
                False,
                N_("Country of phone numbers written without a country code: RU, BY, KZ"),
                "RU",
            ),
        ),
        single=True,
    ),
    Sheet(
        "year",
        "Учебный год",
        N_("The academic year: one row"),
        (
            _id("2026-27"),
            Column("name", Kind.TEXT, True, N_("Name"), "2026/2027"),
            *_dates("01.09.2026", "31.05.2027"),
        ),
        single=True,
    ),
    Sheet(
        "periods",
        "Периоды",
        N_("Reporting periods: quarters, trimesters or semesters, and the year"),
        (
            _id("q1"),
            _choice("kind", PeriodKind, N_("quarter, trimester, semester or year"), "quarter"),
            Column(
                "number", Kind.INT, True, N_("Number of the period: 1, 2, …"), "1", bounds=(1, 12)
            ),
            *_dates("01.09.2026", "26.10.2026"),
        ),
    ),
    Sheet(
        "holidays",
        "Каникулы",
        N_("Holidays: no lessons from the first day to the last"),
        (
            _id("autumn"),
            Column("name", Kind.TEXT, True, N_("Name"), "Осенние каникулы"),
            *_dates("27.10.2026", "04.11.2026"),
        ),
    ),
    Sheet(
        "bells",
        "Звонки",
        N_("Bell times: when each lesson starts and ends"),
        (
            _LESSON_NUMBER,
            Column("starts_at", Kind.TIME, True, N_("Starts at, HH:MM"), "08:30"),
            Column("ends_at", Kind.TIME, True, N_("Ends at, HH:MM"), "09:15"),
        ),
    ),
    Sheet(
        "scales",
        "Шкалы",
        N_("Grading scales"),
        (
            _id("five"),
            _choice("kind", ScaleKind, N_("five, ten, hundred or pass_fail"), "five"),
            Column("min_score", Kind.NUMBER, True, N_("Lowest grade"), "2"),
            Column("max_score", Kind.NUMBER, True, N_("Highest grade"), "5"),
            Column("pass_score", Kind.NUMBER, True, N_("Lowest passing grade"), "3"),
            Column(
                "allow_modifiers",
                Kind.BOOL,
                False,
                N_("Grades with + and −: yes or no"),
                "no",
                ("yes", "no"),
            ),
        ),
    ),
    Sheet(
        "subjects",
        "Предметы",
        N_("Subjects"),
        (
            _id("math"),
            Column("name", Kind.TEXT, True, N_("Name"), "Математика"),
            Column("short_name", Kind.TEXT, True, N_("Short name for the timetable"), "Матем."),
        ),
    ),
    Sheet(
        "staff",
        "Сотрудники",
        N_("Staff: teachers, head teachers, administrators"),
        (
            _id("t-ivanova"),
            _full_name("Иванова Мария Петровна"),
            _choice(
                "roles",
                StaffRole,
                N_("teacher, head_teacher, admin; several separated by commas"),
                "teacher",
                many=True,
                aliases=("role", "роль", "роли"),
            ),
            *_contacts("+7 916 123-45-67", "ivanova@school.example"),
        ),
    ),
    Sheet(
        "classes",
        "Классы",
        N_("Classes and their class teachers"),
        (
            _id("7b"),
            Column("name", Kind.TEXT, True, N_("Class name, like 7Б"), "7Б", aliases=("класс",)),
            Column(
                "grade_level",
                Kind.INT,
                True,
                N_("Grade: 1 to 11"),
                "7",
                aliases=("grade", "параллель"),
                bounds=(0, 13),
            ),
            _ref("class_teacher_id", _TEACHER, "t-ivanova", required=False),
        ),
    ),
    Sheet(
        "students",
        "Ученики",
        N_("Students and their classes"),
        (
            _id("s-1001"),
            _full_name("Петров Иван"),
            Column("class_id", Kind.REF, True, _CLASS, "7b", aliases=("class", "класс")),
            Column(
                "birth_date",
                Kind.DATE,
                False,
                N_("Date of birth, dd.mm.yyyy"),
                "14.03.2013",
                aliases=("birthday", "birthdate", "дата_рождения"),
            ),
        ),
    ),
    Sheet(
        "guardians",
        "Родители",
        N_("Parents and other guardians, and their children"),
        (
            _id("g-1"),
            _full_name("Петрова Анна Сергеевна"),
            Column(
                "student_ids",
                Kind.REFS,
                True,
                N_("Ids of their children in the students sheet, separated by commas"),
                "s-1001",
                aliases=("students", "children", "дети"),
            ),
            *_contacts("8 (916) 765-43-21", "petrova@mail.example"),
            Column(
                "relation",
                Kind.TEXT,
                False,
                N_("Who they are to the child: мать, отец, бабушка …"),
                "мать",
                aliases=("кем_приходится",),
            ),
        ),
    ),
    Sheet(
        "assignments",
        "Нагрузка",
        N_("Teaching assignments: who teaches which subject in which class"),
        (
            _id("a-1"),
            _ref("teacher_id", _TEACHER, "t-ivanova"),
            _ref("class_id", _CLASS, "7b"),
            _ref("subject_id", _SUBJECT, "math"),
            _ref("scale_id", N_("The id of a row of the scales sheet"), "five"),
        ),
    ),
    Sheet(
        "timetable",
        "Расписание",
        N_("The weekly timetable"),
        (
            _id("tt-1"),
            Column(
                "weekday",
                Kind.WEEKDAY,
                True,
                N_("Day of the week: 1 = Monday … 7 = Sunday, or пн … вс"),
                "1",
                aliases=("day", "день"),
            ),
            _LESSON_NUMBER,
            _ref("class_id", _CLASS, "7b"),
            _ref("subject_id", _SUBJECT, "math"),
            _ref("teacher_id", _TEACHER, "t-ivanova"),
            Column("room", Kind.TEXT, False, N_("Room"), "214", aliases=("кабинет",)),
            _choice(
                "frequency",
                SlotFrequency,
                N_("weekly, odd or even: every week, odd or even weeks only"),
                "weekly",
                required=False,
            ),
        ),
    ),
)

SHEET_BY_NAME: Mapping[str, Sheet] = {sheet.name: sheet for sheet in SHEETS}
#: the instructions sheet of the workbook (never read)
INSTRUCTIONS_TITLE = "Инструкция"
INSTRUCTIONS_NAMES = frozenset({"инструкция", "instructions"})

#: a few other spellings of enum values (Russian), compared case-insensitively
ENUM_ALIASES: Mapping[str, str] = {
    "четверть": "quarter",
    "триместр": "trimester",
    "полугодие": "semester",
    "семестр": "semester",
    "год": "year",
    "учитель": "teacher",
    "завуч": "head_teacher",
    "администратор": "admin",
    "каждую": "weekly",
    "нечётная": "odd",
    "нечетная": "odd",
    "чётная": "even",
    "четная": "even",
    "пятибалльная": "five",
    "зачёт": "pass_fail",
    "зачет": "pass_fail",
}
#: ``истина``/``ложь``: how Russian Excel writes a boolean cell into a CSV file
_TRUE = frozenset({"yes", "true", "1", "да", "y", "д", "истина"})
_FALSE = frozenset({"no", "false", "0", "нет", "n", "н", "ложь"})
_WEEKDAYS: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("пн", "понедельник", "mon", "monday"),
            ("вт", "вторник", "tue", "tuesday"),
            ("ср", "среда", "wed", "wednesday"),
            ("чт", "четверг", "thu", "thursday"),
            ("пт", "пятница", "fri", "friday"),
            ("сб", "суббота", "sat", "saturday"),
            ("вс", "воскресенье", "sun", "sunday"),
        ),
        start=1,
    )
    for name in names
}
_DATE_RU = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?::00)?$")


@dataclass(frozen=True, slots=True)
class RawSheet:
    """One sheet as a file has it: `label` names it in problems (the sheet or file name)."""

    label: str
    header: tuple[str, ...]
    #: (1-based line, cells) of each row after the header that is neither empty nor a comment
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]


class Problems:
    """Collects problems up to `MAX_PROBLEMS`; past it one last problem says so."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    @property
    def full(self) -> bool:
        return len(self.items) > MAX_PROBLEMS

    def add(self, where: Where, key: str, **params: object) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(where, key, tuple((k, str(v)) for k, v in params.items())))
        elif len(self.items) == MAX_PROBLEMS:
            self.items.append(
                Problem(where, "roster.too_many_problems", (("limit", str(MAX_PROBLEMS)),))
            )

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem.where, problem.key, **dict(problem.params))


def header_key(text: str) -> str:
    """A header cell as compared: trimmed, lower case, spaces and dashes as ``_``."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold().replace("ё", "е")
    return re.sub(r"[\s\-]+", "_", folded)


def sheet_for(label: str) -> Sheet | None:
    """The sheet a sheet title or file stem names (``"Ученики"``, ``"students"``), or None."""
    key = header_key(label)
    for sheet in SHEETS:
        if key in (sheet.name, header_key(sheet.title)):
            return sheet
    return None


def is_comment(first: Cell) -> bool:
    return isinstance(first, str) and first.lstrip().startswith("#")


def is_blank(cells: Sequence[Cell]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# --- reading cell values ---------------------------------------------------------------


class BadValue(Exception):
    """A cell that does not read as its column's kind: `key` and params for the problem."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _text_of(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == time() else cell.isoformat(" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return "" if cell is None else nfc(str(cell).strip())


def _safe_text(text: str) -> str:
    if text.startswith(FORMULA_START):
        raise BadValue("roster.formula_text", value=text[:40])
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise BadValue("roster.bad_text")
    return text


def read_date(cell: Cell) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text_of(cell)
    if found := _DATE_RU.match(text):
        day, month, year = (int(part) for part in found.groups())
    elif found := _DATE_ISO.match(text):
        year, month, day = (int(part) for part in found.groups())
    else:
        raise BadValue("roster.bad_date", value=text[:40])
    try:
        return date(year, month, day)
    except ValueError:
        raise BadValue("roster.bad_date", value=text[:40]) from None


def read_time(cell: Cell) -> time:
    if isinstance(cell, datetime):
        return cell.time().replace(second=0, microsecond=0)
    if isinstance(cell, time):
        return cell.replace(second=0, microsecond=0)
    text = _text_of(cell)
    found = _TIME.match(text)
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise BadValue("roster.bad_time", value=text[:40])
    return time(int(found[1]), int(found[2]))


def read_int(cell: Cell, bounds: tuple[int, int] | None) -> int:
    if isinstance(cell, bool):
        raise BadValue("roster.bad_integer", value=str(cell))
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = _text_of(cell)
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise BadValue("roster.bad_integer", value=text[:40])
    value = int(text)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise BadValue("roster.out_of_range", value=value, min=bounds[0], max=bounds[1])
    return value


def read_number(cell: Cell) -> float:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell)
    text = _text_of(cell).replace(",", ".")
    if not re.fullmatch(r"-?\d{1,9}(\.\d{1,6})?", text):
        raise BadValue("roster.bad_number", value=text[:40])
    return float(text)


def read_bool(cell: Cell) -> bool:
    if isinstance(cell, bool):
        return cell
    text = _text_of(cell).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue("roster.bad_bool", value=text[:40])


def read_choice(text: str, choices: tuple[str, ...]) -> str:
    key = header_key(text)
    key = ENUM_ALIASES.get(key, key)
    if key not in choices:
        raise BadValue("roster.bad_enum", value=text[:40], allowed=", ".join(choices))
    return key


def split_list(text: str) -> list[str]:
    """``"a, b;c"`` → ``["a", "b", "c"]`` (commas or semicolons, blanks dropped)."""
    return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]


def read_phone(cell: Cell, region: str) -> str:
    text = _text_of(cell)
    number = e164(text, region)
    if number is None:
        raise BadValue("roster.bad_phone", value=text[:40])
    return number


def read_email(cell: Cell) -> str:
    text = _text_of(cell)
    if not is_email(text):
        raise BadValue("roster.bad_email", value=text[:60])
    return text


def read_timezone(cell: Cell) -> str:
    text = _text_of(cell)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue("roster.bad_timezone", value=text[:40]) from None
    return text


def read_region(cell: Cell) -> str:
    text = _text_of(cell).upper()
    if text not in phonenumbers.SUPPORTED_REGIONS:
        raise BadValue("roster.bad_region", value=text[:40])
    return text


def read_weekday(cell: Cell) -> int:
    text = _text_of(cell).casefold().rstrip(".")
    if text in _WEEKDAYS:
        return _WEEKDAYS[text]
    return read_int(cell, (1, 7))


def read_cell(column: Column, cell: Cell, region: str) -> object:
    """The typed value of a non-empty cell, or `BadValue`."""
    kind = column.kind
    if kind in (Kind.TEXT, Kind.ID, Kind.REF):
        text = _text_of(cell)
        if len(text) > MAX_CELL:
            raise BadValue("roster.too_long", limit=MAX_CELL)
        return _safe_text(text)
    if kind is Kind.REFS:
        return tuple(_safe_text(part) for part in split_list(_text_of(cell)))
    readers: dict[Kind, Callable[[Cell], object]] = {
        Kind.DATE: read_date,
        Kind.TIME: read_time,
        Kind.INT: lambda c: read_int(c, column.bounds),
        Kind.NUMBER: read_number,
        Kind.BOOL: read_bool,
        Kind.PHONE: lambda c: read_phone(c, region),
        Kind.EMAIL: read_email,
        Kind.TIMEZONE: read_timezone,
        Kind.REGION: read_region,
        Kind.WEEKDAY: read_weekday,
        Kind.ENUM: lambda c: read_choice(_text_of(c), column.choices),
        Kind.ENUMS: lambda c: tuple(
            dict.fromkeys(read_choice(part, column.choices) for part in split_list(_text_of(c)))
        ),
    }
    return readers[kind](cell)


# --- sheets into SchoolData ------------------------------------------------------------

_ROW_TYPES: Mapping[str, Callable[..., object]] = {
    "school": SchoolInfo,
    "year": YearRow,
    "periods": PeriodRow,
    "holidays": HolidayRow,
    "bells": BellRow,
    "scales": ScaleRow,
    "subjects": SubjectRow,
    "staff": StaffRow,
    "classes": ClassRow,
    "students": StudentRow,
    "guardians": GuardianRow,
    "assignments": AssignmentRow,
    "timetable": SlotRow,
}
_ENUM_TYPES: Mapping[str, Callable[[str], object]] = {
    "periods": PeriodKind,
    "scales": ScaleKind,
    "staff": StaffRole,
    "timetable": SlotFrequency,
}


def field_name(column: str) -> str:
    return "source_id" if column == "id" else column


def _match_header(sheet: Sheet, raw: RawSheet, problems: Problems) -> dict[str, int] | None:
    """Column name → index in the raw rows, or None when a required column is missing."""
    wanted: dict[str, str] = {}
    for column in sheet.columns:
        for spelling in (column.name, *column.aliases):
            wanted.setdefault(header_key(spelling), column.name)
    found: dict[str, int] = {}
    for index, text in enumerate(raw.header):
        if not text.strip():
            continue
        name = wanted.get(header_key(text))
        where = Where(raw.label, 1, text)
        if name is None:
            problems.add(where, "roster.unknown_column", column=text)
        elif name in found:
            problems.add(where, "roster.duplicate_column", column=name)
        else:
            found[name] = index
    missing = [c.name for c in sheet.columns if c.required and c.name not in found]
    for name in missing:
        problems.add(Where(raw.label, 1), "roster.missing_column", column=name)
    return None if missing else found


def _read_row(
    sheet: Sheet,
    raw: RawSheet,
    line: int,
    cells: tuple[Cell, ...],
    columns: Mapping[str, int],
    region: str,
    problems: Problems,
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    ok = True
    for column in sheet.columns:
        index = columns.get(column.name)
        cell = cells[index] if index is not None and index < len(cells) else None
        header = raw.header[index] if index is not None else column.name
        where = Where(raw.label, line, header)
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            if column.required:
                problems.add(where, "roster.required")
                ok = False
            continue
        try:
            value = read_cell(column, cell, region)
        except BadValue as bad:
            problems.add(where, bad.key, **bad.params)
            ok = False
            continue
        if column.kind in (Kind.REFS, Kind.ENUMS) and not value and column.required:
            problems.add(where, "roster.required")
            ok = False
        values[field_name(column.name)] = value
    return values if ok else None


def _typed(sheet: Sheet, values: dict[str, Any]) -> dict[str, Any]:
    convert = _ENUM_TYPES.get(sheet.name)
    for name in ("kind", "frequency"):
        if convert and name in values:
            values[name] = convert(values[name])
    if convert and "roles" in values:
        values["roles"] = tuple(convert(role) for role in values["roles"])
    return values


def _check_row(
    sheet: Sheet, raw: RawSheet, line: int, values: Mapping[str, Any], columns: Mapping[str, int]
) -> Problem | None:
    """Rules across a row's columns: end before start, a scale's scores in order."""
    for start, end in (("starts_on", "ends_on"), ("starts_at", "ends_at")):
        if start in values and end in values and values[end] < values[start]:
            return Problem(
                Where(raw.label, line, raw.header[columns[end]]),
                "roster.end_before_start",
                (("start", _shown(values[start])), ("end", _shown(values[end]))),
            )
    if sheet.name == "scales":
        low, high, passing = values["min_score"], values["max_score"], values["pass_score"]
        if not low < high or not low <= passing <= high:
            return Problem(
                Where(raw.label, line, raw.header[columns["pass_score"]]), "roster.bad_scale"
            )
    return None


def _shown(value: object) -> str:
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


@dataclass(slots=True)
class _Read:
    rows: list[object] = field(default_factory=list)
    origins: dict[tuple[str, str], Where] = field(default_factory=dict)


def _key_of(
    column: Column, cells: tuple[Cell, ...], columns: Mapping[str, int], region: str
) -> str | None:
    """A row's key as read (so ``1`` and ``1.0`` are one lesson), None when it does not read
    (the row's own problems say why): a duplicate is found even if its first row is wrong."""
    index = columns[column.name]
    cell = cells[index] if index < len(cells) else None
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    try:
        return str(read_cell(column, cell, region))
    except BadValue:
        return None


def read_sheet(sheet: Sheet, raw: RawSheet, region: str, problems: Problems) -> _Read:
    """The rows of one sheet that read cleanly; every finding goes to `problems`."""
    result = _Read()
    columns = _match_header(sheet, raw, problems)
    if columns is None:
        return result
    make = _ROW_TYPES[sheet.name]
    first_line: dict[str, int] = {}
    key_column = sheet.columns[0]
    for line, cells in raw.rows:
        if problems.full:
            break
        key = _key_of(key_column, cells, columns, region)
        if key is not None and key in first_line:
            problems.add(
                Where(raw.label, line, raw.header[columns[key_column.name]]),
                "roster.duplicate_id",
                id=key,
                first_line=first_line[key],
            )
            continue
        if key is not None:
            first_line[key] = line
        values = _read_row(sheet, raw, line, cells, columns, region, problems)
        if values is None:
            continue
        if wrong := _check_row(sheet, raw, line, values, columns):
            problems.extend((wrong,))
            continue
        result.rows.append(make(**_typed(sheet, values)))
        result.origins[(sheet.name, str(key))] = Where(raw.label, line)
    if sheet.single and len(raw.rows) > 1:
        problems.add(Where(raw.label, raw.rows[1][0]), "roster.one_row_only")
    return result


def _region(raw: RawSheet | None) -> str:
    """The school sheet's phone region, read before the others (RU when absent or bad)."""
    if raw is None or not raw.rows:
        return "RU"
    keys = [header_key(h) for h in raw.header]
    if "phone_region" not in keys:
        return "RU"
    cells = raw.rows[0][1]
    index = keys.index("phone_region")
    try:
        return read_region(cells[index]) if index < len(cells) and cells[index] else "RU"
    except BadValue:
        return "RU"


def parse_sheets(raws: Mapping[str, RawSheet], problems: Problems) -> SchoolData | None:
    """`SchoolData` from the sheets a file holds (by `Sheet.name`); None when the school sheet
    has no row. An absent sheet is empty. References across sheets are checked here."""
    region = _region(raws.get("school"))
    read: dict[str, _Read] = {}
    for sheet in SHEETS:
        raw = raws.get(sheet.name)
        if raw is not None:
            read[sheet.name] = read_sheet(sheet, raw, region, problems)
    school_rows = read["school"].rows if "school" in read else []
    if "school" not in raws:
        problems.add(
            Where(SHEET_BY_NAME["school"].title, 0), "roster.missing_sheet", sheet="school"
        )
    elif not raws["school"].rows:
        problems.add(Where(raws["school"].label, 2), "roster.no_rows")
    if not school_rows:
        return None
    data = _assemble(school_rows[0], read)
    problems.extend(validate_references(data))
    return data


def _assemble(school: object, read: Mapping[str, _Read]) -> SchoolData:
    assert isinstance(school, SchoolInfo)
    kwargs: dict[str, Any] = {}
    origins: dict[tuple[str, str], Where] = {}
    for name, result in read.items():
        origins.update(result.origins)
        if name == "school":
            continue
        if name == "year":
            kwargs["year"] = result.rows[0] if result.rows else None
        else:
            kwargs[name] = tuple(result.rows)
    return SchoolData(school=school, origins=origins, **kwargs)


# --- writing: rows as cells ------------------------------------------------------------


def cell_value(column: Column, value: object) -> Cell:
    """A row's field as a cell: lists joined with ``", "``, enums by value, booleans yes/no."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return ", ".join(str(getattr(v, "value", v)) for v in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if column.kind is Kind.BOOL:
        return "yes" if value else "no"
    if isinstance(value, str | int | float | date | time):
        return value
    return str(value)


def rows_of(data: SchoolData, sheet: Sheet) -> list[tuple[Cell, ...]]:
    """The cells of every row `data` holds for `sheet`, in the layout's column order."""
    rows: Sequence[object]
    if sheet.name == "school":
        rows = (data.school,)
    elif sheet.name == "year":
        rows = (data.year,) if data.year else ()
    else:
        rows = getattr(data, sheet.name)
    return [
        tuple(cell_value(c, getattr(row, field_name(c.name))) for c in sheet.columns)
        for row in rows
    ]
