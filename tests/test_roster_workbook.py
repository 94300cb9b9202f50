"""The school workbook and its CSV twin: template, export → read round trip, CSV variants as
Russian Excel writes them, every located problem, and hostile files (each a problem, never an
exception). Hostile files are generated here, in `tmp_path`."""

from __future__ import annotations

import csv
import io
import os
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date, time
from pathlib import Path

import openpyxl.xml
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import create_i18n
from db.enums import StaffRole
from services.roster import csvsheets
from services.roster import workbook as workbook_module
from services.roster.csvsheets import MAX_FILE_BYTES, MAX_MEMBERS, member_name
from services.roster.model import SchoolData, StaffRow, Where
from services.roster.problems import MESSAGES, describe
from services.roster.sheets import (
    INSTRUCTIONS_TITLE,
    MAX_ROWS,
    SHEET_BY_NAME,
    SHEETS,
    Sheet,
    rows_of,
)
from services.roster.workbook import ReadResult, read_school, write_template, write_workbook
from tests.roster_samples import mangled_zip, school_data

I18N = create_i18n("ru")
TRANSLATE = I18N.gettext
SAMPLE_ZIP = Path(__file__).parent / "samples" / "roster" / "school_ru_excel.zip"


def _plain(data: SchoolData | None) -> SchoolData:
    assert data is not None
    return replace(data, origins={})


def _keys(result: ReadResult) -> list[str]:
    return [p.key for p in result.problems]


def _only(result: ReadResult, key: str) -> Where:
    assert result.data is None
    matching = [p.where for p in result.problems if p.key == key]
    assert matching, [(p.key, p.where) for p in result.problems]
    return matching[0]


def _exported(tmp_path: Path, data: SchoolData | None = None) -> Path:
    path = tmp_path / "school.xlsx"
    write_workbook(path, data or school_data(), TRANSLATE)
    return path


def _edit(path: Path, edit: Callable[[Workbook], None]) -> Path:
    workbook = load_workbook(path)
    edit(workbook)
    workbook.save(path)
    return path


def _sheet(workbook: Workbook, name: str) -> Worksheet:
    ws = workbook[SHEET_BY_NAME[name].title]
    assert isinstance(ws, Worksheet)
    return ws


# --- the template ----------------------------------------------------------------------


def test_template_has_every_sheet_header_note_example_and_instructions(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path, TRANSLATE)
    workbook = load_workbook(path)
    assert workbook.sheetnames == [INSTRUCTIONS_TITLE, *(s.title for s in SHEETS)]
    instructions = "\n".join(
        str(c.value) for row in workbook[INSTRUCTIONS_TITLE].iter_rows() for c in row if c.value
    )
    assert "Школьная книга" in instructions
    assert "The school workbook of Parta" in instructions
    for sheet in SHEETS:
        ws = workbook[sheet.title]
        assert [c.value for c in ws[1]] == [c.name for c in sheet.columns]
        for cell, column in zip(ws[1], sheet.columns, strict=True):
            note = cell.comment
            assert isinstance(note, Comment)
            assert TRANSLATE(column.help, locale="en") in note.text
            assert TRANSLATE(column.help, locale="ru") in note.text
        example = [c.value for c in ws[2]]
        assert str(example[0]).startswith("#")
        assert ws[2][0].font.italic
        assert ws.freeze_panes == "A2"
        assert ws.max_row == 2
    assert any(
        v.formula1 == '"quarter,trimester,semester,year"'
        for v in workbook[SHEET_BY_NAME["periods"].title].data_validations.dataValidation
    )
    assert any(
        "weekly,odd,even" in str(v.formula1)
        for v in workbook[SHEET_BY_NAME["timetable"].title].data_validations.dataValidation
    )


def test_template_example_rows_are_skipped_and_the_school_row_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path, TRANSLATE)
    result = read_school(path)
    assert _keys(result) == ["roster.no_rows"]
    assert result.problems[0].where == Where("Школа", 2)


def test_template_filled_in_the_example_rows_reads_as_a_school(tmp_path: Path) -> None:
    """The example values themselves form a consistent school once the ``#`` is removed."""
    path = tmp_path / "template.xlsx"
    write_template(path, TRANSLATE)

    def uncomment(workbook: Workbook) -> None:
        for sheet in SHEETS:
            cell = workbook[sheet.title].cell(2, 1)
            cell.value = str(cell.value).lstrip("#")

    result = read_school(_edit(path, uncomment))
    assert result.problems == ()
    data = _plain(result.data)
    assert data.students[0].class_id == "7b"
    assert data.guardians[0].phone == "+79167654321"


# --- export → read ---------------------------------------------------------------------


def test_export_reads_back_equal(tmp_path: Path) -> None:
    data = school_data()
    result = read_school(_exported(tmp_path, data))
    assert result.problems == ()
    assert _plain(result.data) == _plain(data)


def test_rows_keep_where_they_came_from(tmp_path: Path) -> None:
    result = read_school(_exported(tmp_path))
    assert result.data is not None
    assert result.data.where("students", "s-c-7b-2") == Where("Ученики", 3)
    assert result.data.where("bells", "2") == Where("Звонки", 3)


def test_export_writes_formula_like_text_as_text(tmp_path: Path) -> None:
    """A name that came from elsewhere (OneRoster) starting with ``=`` never becomes a formula
    in Excel; importing it back is refused like any such cell."""
    data = school_data()
    data.staff = (*data.staff, StaffRow("t-x", "=HYPERLINK(1)", (StaffRole.TEACHER,)))
    path = _exported(tmp_path, data)
    ws = _sheet(load_workbook(path), "staff")
    cell = ws.cell(ws.max_row, 2)
    assert cell.value == "=HYPERLINK(1)"
    assert cell.data_type == "s"
    assert cell.quotePrefix
    with zipfile.ZipFile(path) as archive:
        assert not any(b"<f>" in archive.read(n) for n in archive.namelist() if "worksheets" in n)
    assert _only(read_school(path), "roster.formula_text") == Where("Сотрудники", 5, "full_name")


def test_excel_date_and_time_cells_and_english_sheet_names_are_read(tmp_path: Path) -> None:
    def edit(workbook: Workbook) -> None:
        ws = _sheet(workbook, "holidays")
        ws["C2"] = "28.12.2026"  # text instead of a date cell
        ws["D2"] = "2027-01-10"
        bells = _sheet(workbook, "bells")
        bells["B2"] = "8:30"
        bells.title = "bells"

    result = read_school(_edit(_exported(tmp_path), edit))
    assert result.problems == ()
    assert _plain(result.data) == _plain(school_data())


# --- CSV -------------------------------------------------------------------------------


def _csv_text(sheet: Sheet, data: SchoolData, sep: str, iso: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow([c.name for c in sheet.columns])
    for row in rows_of(data, sheet):
        writer.writerow([_csv_cell(v, iso) for v in row])
    return out.getvalue()


def _csv_cell(value: object, iso: bool) -> str:
    if isinstance(value, date):
        return value.isoformat() if iso else value.strftime("%d.%m.%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return str(value).replace(".", ",")
    return "" if value is None else str(value)


def _csv_files(
    data: SchoolData,
    encoding: str = "utf-8",
    sep: str = ",",
    iso: bool = False,
    titles: bool = False,
) -> dict[str, bytes]:
    return {
        f"{sheet.title if titles else sheet.name}.csv": _csv_text(sheet, data, sep, iso).encode(
            encoding
        )
        for sheet in SHEETS
    }


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def _zip(tmp_path: Path, files: dict[str, bytes], name: str = "school.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return path


@pytest.mark.parametrize(
    ("encoding", "sep", "iso", "titles"),
    [
        ("utf-8", ",", True, False),
        ("utf-8-sig", ",", False, False),
        ("cp1251", ";", False, True),
        ("utf-8", ";", False, False),
        ("utf-8-sig", "\t", True, True),
    ],
)
@pytest.mark.parametrize("container", ["folder", "zip"])
def test_csv_variants_read_equal(
    tmp_path: Path, encoding: str, sep: str, iso: bool, titles: bool, container: str
) -> None:
    data = school_data()
    files = _csv_files(data, encoding, sep, iso, titles)
    path = _folder(tmp_path, files) if container == "folder" else _zip(tmp_path, files)
    result = read_school(path)
    assert result.problems == ()
    assert _plain(result.data) == _plain(data)
    assert result.data is not None
    sheet = "Ученики.csv" if titles else "students.csv"
    assert result.data.where("students", "s-c-7b-1") == Where(sheet, 2)


def test_the_sample_zip_as_russian_excel_writes_it() -> None:
    """Semicolons, Windows-1251, dd.mm.yyyy, Russian headers and phones as people type them,
    member names in CP866 as Windows' "send to zip" stores them."""
    with zipfile.ZipFile(SAMPLE_ZIP) as archive:
        names = {member_name(info): info for info in archive.infolist()}
        assert not any(info.flag_bits & 0x800 for info in names.values())
        raw = archive.read(names["Ученики.csv"])
    assert b";" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    result = read_school(SAMPLE_ZIP)
    assert result.problems == ()
    data = result.data
    assert data is not None
    assert data.school.phone_region == "BY"
    assert {g.phone for g in data.guardians} >= {"+375291234567", "+375171234567"}
    assert data.students[0].birth_date == date(2013, 3, 14)
    assert data.students[0].full_name == "Петров Иван"


@pytest.mark.parametrize(
    ("region", "typed", "e164"),
    [
        ("BY", "8 029 123-45-67", "+375291234567"),
        ("RU", "(495) 123-45-67", "+74951234567"),
        ("RU", "8 (916) 123-45-67", "+79161234567"),
        ("BY", "+7 916 123 45 67", "+79161234567"),
        ("BY", "79161234567", "+79161234567"),  # a spreadsheet dropped the +
        ("RU", "375291234567", "+375291234567"),
    ],
)
def test_phones_are_read_in_the_schools_region(
    tmp_path: Path, region: str, typed: str, e164: str
) -> None:
    data = replace(school_data(), school=replace(school_data().school, phone_region=region))
    files = _csv_files(data)
    files["staff.csv"] = (
        f'id,full_name,roles,phone\r\nt-1,A,teacher,\r\nt-2,B,teacher,\r\nadm,C,admin,"{typed}"\r\n'
    ).encode()
    result = read_school(_folder(tmp_path, files))
    assert result.problems == ()
    assert result.data is not None
    assert result.data.staff[2].phone == e164


def test_phones_typed_as_numbers_lost_their_plus(tmp_path: Path) -> None:
    """Excel turns a typed ``+7 916 123-45-67`` into the number 79161234567: in a school of
    another country (BY here) it is still the Russian number, not a problem."""
    path = _exported(tmp_path)

    def numbers(workbook: Workbook) -> None:
        ws = workbook["Сотрудники"]
        ws["D2"] = 79161234567
        ws["D4"] = 375291234567.0

    result = read_school(_edit(path, numbers))
    assert result.problems == ()
    assert result.data is not None
    assert [s.phone for s in result.data.staff] == ["+79161234567", None, "+375291234567"]


def test_decomposed_letters_are_read_composed(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    text = files["staff.csv"].decode()
    assert "й" in text or "Й" in text or "ё" in text
    files["staff.csv"] = unicodedata.normalize("NFD", text).encode()
    result = read_school(_folder(tmp_path, files))
    assert result.problems == ()
    assert result.data is not None
    assert result.data.staff == school_data().staff


def test_headers_are_matched_loosely(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    body = files["students.csv"].decode().split("\r\n", 1)[1]
    files["students.csv"] = (" ID ;ФИО;Класс;Дата рождения\r\n" + body.replace(",", ";")).encode(
        "cp1251"
    )
    result = read_school(_folder(tmp_path, files))
    assert result.problems == ()
    assert _plain(result.data).students == school_data().students


# --- problems, located -----------------------------------------------------------------


def test_russian_excel_booleans_in_csv(tmp_path: Path) -> None:
    """Russian Excel writes a boolean cell into a CSV file as ИСТИНА or ЛОЖЬ."""
    files = _csv_files(school_data(), sep=";")
    text = files["scales.csv"].decode()
    assert ";yes\r\n" in text
    assert ";no\r\n" in text
    text = text.replace(";yes\r\n", ";ИСТИНА\r\n").replace(";no\r\n", ";ЛОЖЬ\r\n")
    files["scales.csv"] = text.encode("cp1251")
    result = read_school(_folder(tmp_path, files))
    assert result.problems == ()
    assert result.data is not None
    assert result.data.scales == school_data().scales


def test_excel_separator_line_is_read_and_not_counted(tmp_path: Path) -> None:
    """A first line ``sep=;`` tells Excel the separator and Excel does not show it: it names
    the separator here too, and line 1 is the header as the admin sees it."""
    files = {
        name: b"sep=;\r\n" + content
        for name, content in _csv_files(school_data(), encoding="cp1251", sep=";").items()
    }
    result = read_school(_folder(tmp_path, files))
    assert result.problems == ()
    assert _plain(result.data) == _plain(school_data())
    files["students.csv"] = files["students.csv"].replace(b";02.02.2013", b";31.02.2013", 1)
    (tmp_path / "2").mkdir()
    assert _only(read_school(_folder(tmp_path / "2", files)), "roster.bad_date").line == 2


def test_files_tools_leave_beside_the_csv_files_are_ignored(tmp_path: Path) -> None:
    """macOS's hidden AppleDouble twins (``._students.csv``: a Mac's files copied to a USB
    stick, or zipped by some tools) and Office's lock files (``~$students.csv``) are no
    sheets: the admin never sees them, so they must not refuse the import."""
    files = _csv_files(school_data())
    files["._students.csv"] = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "
    files["~$students.csv"] = b"\x0bAdministrator" + bytes(40)
    for path in (_zip(tmp_path, files), _folder(tmp_path, files)):
        result = read_school(path)
        assert result.problems == (), path
        assert _plain(result.data) == _plain(school_data())


def _csv_case(tmp_path: Path, sheet: str, content: str) -> ReadResult:
    files = _csv_files(school_data())
    files[f"{sheet}.csv"] = content.encode()
    return read_school(_folder(tmp_path, files))


@pytest.mark.parametrize(
    ("sheet", "content", "key", "where"),
    [
        (
            "students",
            "id,class_id\r\ns1,c-7b\r\n",
            "roster.missing_column",
            Where("students.csv", 1),
        ),
        (
            "students",
            "id,full_name,class_id,email_adress\r\n",
            "roster.unknown_column",
            Where("students.csv", 1, "email_adress"),
        ),
        (
            "students",
            "id,full_name,class_id\r\ns1,,c-7b\r\n",
            "roster.required",
            Where("students.csv", 2, "full_name"),
        ),
        (
            "students",
            "id,full_name,class_id,birth_date\r\n#x\r\n\r\ns1,A,c-7b,31.02.2013\r\n",
            "roster.bad_date",
            Where("students.csv", 4, "birth_date"),
        ),
        (
            "holidays",
            "id,name,starts_on,ends_on\r\nh,Зима,10.01.2027,28.12.2026\r\n",
            "roster.end_before_start",
            Where("holidays.csv", 2, "ends_on"),
        ),
        (
            "bells",
            "lesson_number,starts_at,ends_at\r\n1,09:15,08:30\r\n",
            "roster.end_before_start",
            Where("bells.csv", 2, "ends_at"),
        ),
        (
            "bells",
            "lesson_number,starts_at,ends_at\r\n1,8-30,09:15\r\n",
            "roster.bad_time",
            Where("bells.csv", 2, "starts_at"),
        ),
        (
            "staff",
            "id,full_name,roles,phone\r\nt-1,A,teacher,12345\r\n",
            "roster.bad_phone",
            Where("staff.csv", 2, "phone"),
        ),
        (
            "staff",
            "id,full_name,roles,email\r\nt-1,A,teacher,a@@b\r\n",
            "roster.bad_email",
            Where("staff.csv", 2, "email"),
        ),
        (
            "staff",
            'id,full_name,roles\r\nt-1,A,"teacher, janitor"\r\n',
            "roster.bad_enum",
            Where("staff.csv", 2, "roles"),
        ),
        (
            "periods",
            "id,kind,number,starts_on,ends_on\r\np,quartal,1,01.09.2026,01.10.2026\r\n",
            "roster.bad_enum",
            Where("periods.csv", 2, "kind"),
        ),
        (
            "classes",
            "id,name,grade_level\r\nc-7b,7Б,7\r\nc-11a,11А,11\r\nc-7b,7В,7\r\n",
            "roster.duplicate_id",
            Where("classes.csv", 4, "id"),
        ),
        (
            "classes",
            "id,name,grade_level\r\nc-7b,7Б,seven\r\nc-11a,11А,11\r\nc-7b,7Б,7\r\n",
            "roster.duplicate_id",
            Where("classes.csv", 4, "id"),
        ),
        (
            "bells",
            "lesson_number,starts_at,ends_at\r\n1,08:30,09:15\r\n01,09:25,10:10\r\n",
            "roster.duplicate_id",
            Where("bells.csv", 3, "lesson_number"),
        ),
        (
            "classes",
            "id,name,grade_level\r\nc-7b,7Б,seven\r\n",
            "roster.bad_integer",
            Where("classes.csv", 2, "grade_level"),
        ),
        (
            "students",
            "id,full_name,class_id\r\ns1,A,c-9z\r\n",
            "roster.unknown_ref",
            Where("students.csv", 2, "class_id"),
        ),
        (
            "scales",
            "id,kind,min_score,max_score,pass_score\r\nfive,five,2,5,6\r\n",
            "roster.bad_scale",
            Where("scales.csv", 2, "pass_score"),
        ),
        (
            "timetable",
            "id,weekday,lesson_number,class_id,subject_id,teacher_id\r\nx,8,1,c-7b,math,t-1\r\n",
            "roster.out_of_range",
            Where("timetable.csv", 2, "weekday"),
        ),
        (
            "school",
            "name,timezone\r\nШкола,Mars/Olympus\r\n",
            "roster.bad_timezone",
            Where("school.csv", 2, "timezone"),
        ),
        ("year", "id,name,starts_on,ends_on\r\n", "roster.required", None),
    ],
)
def test_problems_are_located(
    tmp_path: Path, sheet: str, content: str, key: str, where: Where | None
) -> None:
    if where is None:  # an empty year sheet is fine: no year
        result = _csv_case(tmp_path, sheet, content)
        assert result.problems == ()
        assert _plain(result.data).year is None
        return
    assert _only(_csv_case(tmp_path, sheet, content), key) == where


def test_typed_values_and_russian_spellings(tmp_path: Path) -> None:
    result = _csv_case(
        tmp_path,
        "timetable",
        "id;weekday;lesson_number;class_id;subject_id;teacher_id;room;frequency\r\n"
        "tt-1;Пн;1;c-7b;math;t-1;214;каждую\r\ntt-2;wed;2;c-11a;pe;t-2;;нечётная\r\n"
        "tt-3;3;2;c-7b;pe;t-2;Спортзал;EVEN\r\n",
    )
    assert result.problems == ()
    assert _plain(result.data).timetable == school_data().timetable


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    result = _csv_case(
        tmp_path,
        "students",
        "id,full_name,class_id,birth_date\r\ns1,,c-7b,\r\ns2,B,c-7b,1.13.2013\r\n",
    )
    assert [p.key for p in result.problems if p.where.sheet == "students.csv"] == [
        "roster.required",
        "roster.bad_date",
    ]


def test_the_school_sheet_is_required(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    del files["school.csv"]
    assert _only(read_school(_folder(tmp_path, files)), "roster.missing_sheet")


def test_describe_in_russian_and_english(tmp_path: Path) -> None:
    result = _csv_case(
        tmp_path, "students", "id,full_name,class_id,birth_date\r\ns1,A,c-7b,31.02.2013\r\n"
    )
    problem = result.problems[0]
    assert describe(problem, lambda m: TRANSLATE(m, locale="en")) == (
        "students.csv, line 2, column birth_date: “31.02.2013” is not a date; write dd.mm.yyyy"
    )
    assert describe(problem, lambda m: TRANSLATE(m, locale="ru")) == (
        "students.csv, строка 2, столбец birth_date: «31.02.2013» — не дата; пишите дд.мм.гггг"
    )
    file_level = read_school(tmp_path / "missing.xlsx").problems[0]
    assert describe(file_level, lambda m: TRANSLATE(m, locale="ru")).startswith("missing.xlsx: ")


def test_every_problem_key_is_translated() -> None:
    for message in MESSAGES.values():
        assert TRANSLATE(message, locale="ru") != message, message


# --- hostile input ---------------------------------------------------------------------


def test_a_hundred_thousand_rows_stop_at_the_limit(tmp_path: Path) -> None:
    lines = "".join(f"s{n},Ученик {n},c-7b\r\n" for n in range(100_000))
    result = _csv_case(tmp_path, "students", "id,full_name,class_id\r\n" + lines)
    assert _only(result, "roster.too_many_rows") == Where("students.csv", MAX_ROWS + 2)


def _students_xml(rows: int, dimension: bool) -> bytes:
    """A students worksheet as any generator may write it (inline strings, maybe no size)."""

    def cells(n: int, values: tuple[str, ...]) -> str:
        return "".join(
            f'<c r="{col}{n}" t="inlineStr"><is><t>{v}</t></is></c>'
            for col, v in zip("ABC", values, strict=True)
        )

    lines = [f'<row r="1">{cells(1, ("id", "full_name", "class_id"))}</row>']
    lines += [
        f'<row r="{n}">{cells(n, (f"s{n}", f"Ученик {n}", "c-7b"))}</row>'
        for n in range(2, rows + 2)
    ]
    size = f'<dimension ref="A1:C{rows + 1}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{size}<sheetData>{''.join(lines)}</sheetData></worksheet>"
    ).encode()


def _replace_member(path: Path, member: str, content: bytes) -> Path:
    out = path.with_name("replaced.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = content if info.filename == member else src.read(info)
            dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
    return out


#: the students sheet's member in an exported workbook (the instructions sheet is sheet1)
STUDENTS_XML = f"xl/worksheets/sheet{[s.name for s in SHEETS].index('students') + 2}.xml"


def test_a_hundred_thousand_rows_in_a_workbook_are_refused_unread(tmp_path: Path) -> None:
    """Counted while streaming the zip, before openpyxl would scan the sheet to size it."""
    path = _replace_member(_exported(tmp_path), STUDENTS_XML, _students_xml(100_000, False))
    assert _keys(read_school(path)) == ["roster.too_many_lines"]
    assert read_school(path).problems[0].where == Where("Ученики", 0)


@pytest.mark.parametrize(("blank", "keys"), [(10_000, []), (50_000, ["roster.too_many_lines"])])
def test_blank_formatted_lines_below_the_data(tmp_path: Path, blank: int, keys: list[str]) -> None:
    """A sheet formatted far below its data (borders drawn down to line 10,000) reads; one
    past the lines the reader looks at is refused with what to do about it, not with "more
    than 20,000 rows; split the file" for a sheet of three students."""
    sheet = _students_xml(3, False).decode()
    styled = "".join(
        f'<row r="{n}" s="1" customFormat="1"><c r="A{n}" s="1"/><c r="B{n}" s="1"/></row>'
        for n in range(5, blank + 5)
    )
    sheet = sheet.replace("</sheetData>", styled + "</sheetData>")
    path = _replace_member(_exported(tmp_path), STUDENTS_XML, sheet.encode())
    result = read_school(path)
    assert [p.key for p in result.problems if p.key != "roster.unknown_ref"] == keys
    if keys:
        assert result.problems[0].where == Where("Ученики", 0)
        assert "empty" in describe(result.problems[0], lambda text: text)


_LAUGHS = (
    '<!DOCTYPE w [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 10}">'
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>"
)


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [
        (_LAUGHS, "&i;"),  # "billion laughs": 10^8 copies of a 30-character text
        ('<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),  # an external file
    ],
)
def test_xml_entities_in_a_workbook_are_refused(tmp_path: Path, doctype: str, entity: str) -> None:
    """openpyxl parses through defusedxml (a dependency for this): an entity bomb or an
    external entity in a worksheet is a damaged workbook, refused at once, never expanded."""
    assert openpyxl.xml.DEFUSEDXML
    sheet = _students_xml(2, True).decode().replace("<t>s2</t>", f"<t>{entity}</t>")
    declaration, rest = sheet.split("?>", 1)
    path = _replace_member(
        _exported(tmp_path), STUDENTS_XML, f"{declaration}?>{doctype}{rest}".encode()
    )
    result = read_school(path)
    assert _keys(result) == ["roster.not_xlsx"]
    assert "root:" not in repr(result)


def test_a_workbook_sheet_is_read_up_to_the_row_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook_module, "MAX_ROWS", 50)  # 20,000 rows read in seconds, not ms
    path = _replace_member(_exported(tmp_path), STUDENTS_XML, _students_xml(80, True))
    result = read_school(path)
    assert _only(result, "roster.too_many_rows") == Where("Ученики", 52)


def test_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    files["students.csv"] += b"\r\n" * (3 * 1024 * 1024)  # compresses about 1000 times
    assert _only(read_school(_zip(tmp_path, files)), "roster.zip_bomb") == Where("school.zip", 0)


def test_zip_that_unpacks_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvsheets, "MAX_UNPACKED", 64 * 1024)  # instead of writing 100 MB
    files = _csv_files(school_data())
    files["junk.bin"] = os.urandom(100 * 1024)  # incompressible: no ratio alarm
    assert _only(read_school(_zip(tmp_path, files)), "roster.zip_bomb") == Where("school.zip", 0)


def test_zip_bomb_in_disguise_of_a_workbook_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"xl/worksheets/sheet1.xml": b" " * (5 * 1024 * 1024)}, "bomb.xlsx")
    assert _only(read_school(path), "roster.zip_bomb") == Where("bomb.xlsx", 0)


@pytest.mark.parametrize("name", ["../students.csv", "/etc/students.csv", "a/../../x.csv"])
def test_zip_paths_that_climb_out_are_refused(tmp_path: Path, name: str) -> None:
    files = _csv_files(school_data())
    files[name] = files.pop("students.csv")
    result = read_school(_zip(tmp_path, files))
    assert [p.params for p in result.problems if p.key == "roster.unsafe_path"] == [
        (("name", name),)
    ]


def test_zip_with_too_many_members(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    files.update({f"junk/{n}.txt": b"x" for n in range(MAX_MEMBERS)})
    assert _only(read_school(_zip(tmp_path, files)), "roster.zip_too_many_files")


def test_unknown_and_twice_present_csv_files(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    files["studnets.csv"] = files["students.csv"]
    files["Ученики.csv"] = files["students.csv"]
    files["readme.txt"] = b"ignored"
    result = read_school(_folder(tmp_path, files))
    assert sorted(_keys(result)) == ["roster.duplicate_sheet", "roster.unknown_sheet"]


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("school.xlsx", b"", "roster.file_empty"),
        ("school.xlsx", b"PK\x03\x04 this is not really a zip", "roster.not_xlsx"),
        ("school.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "roster.not_xlsx"),
        ("school.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "roster.unsupported_file"),
        ("school.xlsm", b"PK", "roster.macros"),
        ("school.zip", b"not a zip", "roster.bad_zip"),
        ("school.pdf", b"%PDF-1.4", "roster.unsupported_file"),
    ],
)
def test_files_that_are_not_what_they_claim(
    tmp_path: Path, name: str, content: bytes, key: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert _only(read_school(path), key) == Where(name, 0)


def test_a_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"word/document.xml": b"<w:document/>"}, "letter.xlsx")
    assert _keys(read_school(path)) == ["roster.not_xlsx"]


def test_a_truncated_workbook(tmp_path: Path) -> None:
    path = _exported(tmp_path)
    content = path.read_bytes()
    for cut in (len(content) // 2, len(content) - 30, 200):
        truncated = tmp_path / f"cut{cut}.xlsx"
        truncated.write_bytes(content[:cut])
        assert _keys(read_school(truncated)) == ["roster.not_xlsx"]


def test_a_workbook_with_a_damaged_sheet(tmp_path: Path) -> None:
    source = _exported(tmp_path)
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet3.xml":
                data = data[: len(data) // 2]
            dst.writestr(info, data)
    assert _keys(read_school(path)) == ["roster.not_xlsx"]


@pytest.mark.parametrize("how", ["deflate64", "encrypted", "corrupt"])
def test_a_workbook_or_zip_whose_member_cannot_be_unpacked(tmp_path: Path, how: str) -> None:
    """A member compressed by a method Python lacks, password-protected, or damaged inside
    its compressed bytes: refused as not readable, no exception escapes."""
    workbook = mangled_zip(_exported(tmp_path), tmp_path / f"{how}.xlsx", STUDENTS_XML, how)
    assert _keys(read_school(workbook)) == ["roster.not_xlsx"]
    archive = _zip(tmp_path, _csv_files(school_data()))
    csv_zip = mangled_zip(archive, tmp_path / f"{how}.zip", "students.csv", how)
    assert _keys(read_school(csv_zip)) == ["roster.bad_zip"]


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    assert _only(read_school(path), "roster.file_too_large") == Where("huge.xlsx", 0)


def test_macros_inside_an_xlsx_are_refused(tmp_path: Path) -> None:
    source = _exported(tmp_path)
    path = tmp_path / "macro.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    assert _keys(read_school(path)) == ["roster.macros"]


def test_formula_cells_are_reported_not_evaluated(tmp_path: Path) -> None:
    def edit(workbook: Workbook) -> None:
        ws = _sheet(workbook, "students")
        ws["B2"] = '=HYPERLINK("http://evil.example","x")'
        ws["D3"] = "=DATE(2013,1,1)"

    result = read_school(_edit(_exported(tmp_path), edit))
    assert result.data is None
    formulas = [p.where for p in result.problems if p.key == "roster.formula"]
    assert formulas == [Where("Ученики", 2, "full_name"), Where("Ученики", 3, "birth_date")]


def test_hidden_sheets_are_refused(tmp_path: Path) -> None:
    def edit(workbook: Workbook) -> None:
        workbook.create_sheet("Секрет")["A1"] = "hidden data"
        workbook["Секрет"].sheet_state = "hidden"
        _sheet(workbook, "subjects").sheet_state = "veryHidden"

    result = read_school(_edit(_exported(tmp_path), edit))
    assert [p.where for p in result.problems if p.key == "roster.hidden_sheet"] == [
        Where("Предметы", 0),
        Where("Секрет", 0),
    ]


def test_hidden_rows_and_columns_with_data_are_refused(tmp_path: Path) -> None:
    """Rows hidden, filtered out or folded, and hidden columns, hold data the admin cannot
    see: refused like a hidden sheet, never imported unseen (a student hidden instead of
    deleted would stay in the school). Hidden empty lines and columns don't matter."""

    def edit(workbook: Workbook) -> None:
        students = _sheet(workbook, "students")
        students.auto_filter.ref = "A1:D7"
        for line in (3, 5, 40):  # line 40 holds nothing
            students.row_dimensions[line].hidden = True
        students.column_dimensions["D"].hidden = True  # birth_date
        _sheet(workbook, "staff").column_dimensions["J"].hidden = True  # nothing there

    result = read_school(_edit(_exported(tmp_path), edit))
    assert [(p.key, p.where, dict(p.params)) for p in result.problems] == [
        ("roster.hidden_rows", Where("Ученики", 3), {"lines": "3, 5"}),
        ("roster.hidden_column", Where("Ученики", 1, "birth_date"), {}),
    ]


def test_unknown_sheets_with_data_are_reported_and_empty_ones_ignored(tmp_path: Path) -> None:
    def edit(workbook: Workbook) -> None:
        workbook.create_sheet("Лист1")
        workbook.create_sheet("Заметки")["B3"] = "заметка"

    result = read_school(_edit(_exported(tmp_path), edit))
    assert [(p.key, p.where) for p in result.problems] == [
        ("roster.unknown_sheet", Where("Заметки", 0))
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_cells_that_a_spreadsheet_would_run_are_refused(tmp_path: Path, start: str) -> None:
    def edit(workbook: Workbook) -> None:
        cell = _sheet(workbook, "guardians")["F2"]
        cell.value = f"{start}cmd|' /C calc'!A0"
        cell.data_type = "s"

    result = read_school(_edit(_exported(tmp_path), edit))
    assert _only(result, "roster.formula_text") == Where("Родители", 2, "relation")


def test_formula_like_text_in_csv_is_refused(tmp_path: Path) -> None:
    result = _csv_case(tmp_path, "subjects", "id,name,short_name\r\nmath,@SUM(1+1),M\r\n")
    assert _only(result, "roster.formula_text") == Where("subjects.csv", 2, "name")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_csv_with_its_bom_is_read(tmp_path: Path, encoding: str) -> None:
    """Excel's "Unicode text" and LibreOffice's UTF-16 CSV: tab-separated UTF-16 behind a
    byte order mark read like the same sheets in UTF-8."""
    bom = b"\xfe\xff" if encoding.endswith("be") else b""
    files = {
        name: bom + content.decode("utf-8").encode(encoding)
        for name, content in _csv_files(school_data(), sep="\t").items()
    }
    result = read_school(_zip(tmp_path, files))
    assert result.problems == ()
    assert _plain(result.data) == _plain(
        read_school(_folder(tmp_path, _csv_files(school_data()))).data
    )


@pytest.mark.parametrize(
    "junk",
    [
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n" + bytes(1000),
        "id,name\r\n".encode("utf-16-le"),  # UTF-16 without its BOM
        "id,name\r\n".encode("utf-16") + b"\x00",  # a BOM, then no UTF-16
        b"id,name,short_name\r\nmath,\x01\x02\x03\x04\x05\x06\x07\x08,x" * 3,
        b"id,name,short_name\r\n" + b"math,Matem,M\r\n" * 300 + b"\x00",
    ],
)
def test_binary_junk_and_wrong_encodings(tmp_path: Path, junk: bytes) -> None:
    files = _csv_files(school_data())
    files["subjects.csv"] = junk
    result = read_school(_folder(tmp_path, files))
    assert _only(result, "roster.not_text") == Where("subjects.csv", 0)


def test_an_empty_csv_and_an_empty_folder(tmp_path: Path) -> None:
    assert _only(_csv_case(tmp_path, "subjects", ""), "roster.file_empty") == Where(
        "subjects.csv", 0
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _keys(read_school(empty)) == ["roster.no_sheets"]


def test_a_malformed_csv_record(tmp_path: Path) -> None:
    files = _csv_files(school_data())
    files["subjects.csv"] = b'id,name,short_name\r\nmath,"x' + b"y" * 200_000 + b"\r\n"
    assert _only(read_school(_folder(tmp_path, files)), "roster.bad_csv")


def test_so_many_problems_end_in_one_that_says_so(tmp_path: Path) -> None:
    lines = "".join(f"s{n},Ученик {n},nope\r\n" for n in range(5_000))
    result = _csv_case(tmp_path, "students", "id,full_name,class_id\r\n" + lines)
    assert len(result.problems) == 1_001
    assert result.problems[-1].key == "roster.too_many_problems"


def test_an_error_cell_in_the_first_column_is_no_comment(tmp_path: Path) -> None:
    """``#N/A`` starts with ``#`` but is a formula's result, not a comment line."""
    source = _exported(tmp_path)
    ws_xml = f"xl/worksheets/sheet{[s.name for s in SHEETS].index('subjects') + 2}.xml"
    with zipfile.ZipFile(source) as archive:
        xml = archive.read(ws_xml)
    row = (
        b'<row r="9"><c r="A9" t="e"><v>#N/A</v></c>'
        b'<c r="B9" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    path = _replace_member(source, ws_xml, xml.replace(b"</sheetData>", row + b"</sheetData>"))
    assert _only(read_school(path), "roster.formula") == Where("Предметы", 9, "id")


def test_the_documentation_names_every_sheet_and_column() -> None:
    text = (Path(__file__).parent.parent / "docs" / "import.md").read_text(encoding="utf-8")
    for sheet in SHEETS:
        assert f"### `{sheet.name}` — «{sheet.title}»" in text
        section = text.split(f"### `{sheet.name}`", 1)[1].split("###", 1)[0]
        for column in sheet.columns:
            assert f"| `{column.name}` |" in section, (sheet.name, column.name)
