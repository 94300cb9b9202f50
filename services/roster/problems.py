"""What each roster problem says, in the admin's language.

`MESSAGES` maps a `Problem.key` to its English source text (a gettext message id with
``{name}`` placeholders filled from `Problem.params`). Readers, the planner and the OneRoster
code each add their keys here, so one function, `describe`, words every finding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.roster.model import Note, Problem


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    return message


#: key → English message id; placeholders are `Problem.params` names
MESSAGES: Mapping[str, str] = {
    "roster.unknown_ref": N_("refers to {target} “{id}”, which is not in the file"),
    # the school workbook and its CSV files (services.roster.workbook, .csvsheets, .sheets)
    "roster.no_file": N_("there is no such file or folder"),
    "roster.unsupported_file": N_(
        "is not a workbook (.xlsx), a zip of CSV files or a folder; save it from Excel as .xlsx"
    ),
    "roster.file_empty": N_("the file is empty"),
    "roster.file_too_large": N_("the file is larger than {limit_mb} MB"),
    "roster.not_xlsx": N_(
        "is not a readable .xlsx workbook (damaged, truncated or another format)"
    ),
    "roster.macros": N_("the workbook contains macros; save it as a plain .xlsx workbook"),
    "roster.bad_zip": N_("is not a readable zip archive (damaged or truncated)"),
    "roster.zip_bomb": N_(
        "unpacks to more than {limit_mb} MB or is compressed suspiciously well; it was not opened"
    ),
    "roster.zip_too_many_files": N_("the archive holds more than {limit} files"),
    "roster.unsafe_path": N_("the archive holds a file with an unsafe name: {name}"),
    "roster.not_text": N_("is not a text CSV file (binary data or an unknown encoding)"),
    "roster.bad_csv": N_("the CSV file is malformed here"),
    "roster.no_sheets": N_("holds no sheets of the school workbook"),
    "roster.hidden_sheet": N_(
        "the sheet is hidden; unhide or delete it (hidden data is never imported)"
    ),
    "roster.hidden_rows": N_(
        "hidden (or filtered out) lines: {lines}; unhide or delete them "
        "(hidden data is never imported)"
    ),
    "roster.hidden_column": N_(
        "the column is hidden; unhide or delete it (hidden data is never imported)"
    ),
    "roster.unknown_sheet": N_("is not a sheet of the school workbook; rename or delete it"),
    "roster.duplicate_sheet": N_("this sheet appears twice: {sheet}"),
    "roster.missing_sheet": N_("the sheet “{sheet}” is missing"),
    "roster.no_rows": N_("the sheet has no data row"),
    "roster.one_row_only": N_("this sheet takes one row only"),
    "roster.too_many_rows": N_("more than {limit} rows; split the file (reading stopped here)"),
    "roster.too_many_lines": N_(
        "more than {limit} lines, empty formatted ones included; delete the empty lines below "
        "the data, or split the file"
    ),
    "roster.too_many_problems": N_("more than {limit} problems; fix these and try again"),
    "roster.missing_column": N_("the required column “{column}” is missing"),
    "roster.unknown_column": N_("unknown column “{column}”; check its spelling"),
    "roster.duplicate_column": N_("the column “{column}” appears twice"),
    "roster.required": N_("a value is required"),
    "roster.formula": N_("holds a formula; type the value itself"),
    "roster.formula_text": N_(
        "“{value}” starts with =, +, - or @, which a spreadsheet runs as a formula; remove it"
    ),
    "roster.bad_text": N_("holds control characters"),
    "roster.too_long": N_("is longer than {limit} characters"),
    "roster.bad_date": N_("“{value}” is not a date; write dd.mm.yyyy"),
    "roster.bad_time": N_("“{value}” is not a time; write HH:MM"),
    "roster.bad_integer": N_("“{value}” is not a whole number"),
    "roster.bad_number": N_("“{value}” is not a number"),
    "roster.out_of_range": N_("{value} is outside {min}…{max}"),
    "roster.bad_bool": N_("“{value}” is neither yes nor no"),
    "roster.bad_enum": N_("“{value}” is not one of: {allowed}"),
    "roster.bad_phone": N_("“{value}” is not a valid phone number"),
    "roster.bad_email": N_("“{value}” is not a valid e-mail address"),
    "roster.bad_timezone": N_("“{value}” is not a time zone; write like Europe/Moscow"),
    "roster.bad_region": N_("“{value}” is not a country code; write like RU or BY"),
    "roster.end_before_start": N_("ends ({end}) before it starts ({start})"),
    "roster.bad_scale": N_("needs min_score < max_score and the pass score between them"),
    "roster.duplicate_id": N_("the id “{id}” is already used on line {first_line}"),
    # OneRoster 1.2 CSV (services/roster/oneroster.py)
    "oneroster.not_zip": N_("not a OneRoster folder or zip archive"),
    "oneroster.too_big": N_("larger than {limit} MB"),
    "oneroster.zip_members": N_("the archive holds more than {limit} files"),
    "oneroster.zip_unsafe": N_("the archive holds an unsafe file name “{name}”"),
    "oneroster.bad_encoding": N_("the file is not UTF-8 text"),
    "oneroster.bad_csv": N_("the file cannot be read as CSV ({reason})"),
    "oneroster.empty_file": N_("the file is empty (no header line)"),
    "oneroster.separator": N_(
        "the columns are separated by “{found}”, not by commas as OneRoster requires "
        "(was the file re-saved in a spreadsheet?); export it again"
    ),
    "oneroster.no_manifest": N_("manifest.csv is missing"),
    "oneroster.bad_version": N_(
        "OneRoster version “{found}”; only versions 1.2 and 1.1 can be imported"
    ),
    "oneroster.delta": N_("{file} is a delta file; only bulk files can be imported"),
    "oneroster.missing_file": N_("{file} is missing"),
    "oneroster.missing_column": N_("the required column is missing"),
    "oneroster.duplicate_column": N_("the column appears twice"),
    "oneroster.header_typo": N_("unknown column; did you mean “{expected}”?"),
    "oneroster.empty_value": N_("a value is required"),
    "oneroster.duplicate_id": N_("sourcedId “{id}” is already used on line {first}"),
    "oneroster.bad_date": N_("“{value}” is not a date (YYYY-MM-DD)"),
    "oneroster.bad_datetime": N_("“{value}” is not a date or a date and time"),
    "oneroster.bad_boolean": N_("“{value}” is neither true nor false"),
    "oneroster.bad_number": N_("“{value}” is not a number"),
    "oneroster.bad_vocab": N_("“{value}” is not one of: {allowed}"),
    "oneroster.no_school": N_("no organisation of type school"),
    "oneroster.several_schools": N_("a second school; one import holds one school"),
    "oneroster.bad_timezone": N_("“{value}” is not a time zone"),
    "oneroster.bad_region": N_("“{value}” is not a phone region"),
    "oneroster.end_before_start": N_("the end date is before the start date"),
    "oneroster.period_count": N_(
        "{count} sessions of this type; the year must split into 2, 3 or 4 periods"
    ),
    "oneroster.bad_scale": N_("score scale “{value}” cannot be used"),
    "oneroster.no_role": N_("the user has no role in roles.csv"),
    "oneroster.bad_phone": N_("“{value}” is not a phone number"),
    "oneroster.bad_email": N_("“{value}” is not one e-mail address"),
    "oneroster.student_no_class": N_("the student is enrolled in no homeroom class"),
    "oneroster.student_classes": N_("the student is enrolled in several homeroom classes: {ids}"),
    "oneroster.bad_grade": N_("cannot tell the class's grade from “{value}”"),
    "oneroster.no_homeroom": N_(
        "cannot tell which homeroom class this scheduled class teaches: "
        "no students, and its title does not start with a homeroom's name"
    ),
    "oneroster.no_teacher": N_("the scheduled class has no teacher"),
    "oneroster.note_deleted": N_("{file}: {count} records marked tobedeleted were skipped"),
    "oneroster.note_uncovered": N_(
        "{file}: {count} users with roles Parta does not keep (counselor, proctor) were skipped"
    ),
    "oneroster.note_mixed": N_(
        "{file}: {count} scheduled classes have students from several homerooms; "
        "each was given to the homeroom most of its students are in"
    ),
    "oneroster.no_score": N_("the result has neither a score nor a textScore"),
    "oneroster.note_results_skipped": N_(
        "{file}: {count} results were skipped: not graded yet (their scoreStatus), or on a "
        "line item of a class that is not a subject class"
    ),
    # found against the database (services.roster.plan)
    "roster.taken": N_("“{name}” is already in the school with the id “{id}”; use that id"),
    "roster.unknown_local_id": N_(
        "the id “{id}” names a row the school does not have (ids starting with # are Parta's own)"
    ),
    "roster.not_teacher": N_("{name} does not have the teacher role"),
    "roster.no_year": N_("no academic year: add one to the file"),
    "roster.outside_year": N_("the dates are outside the academic year ({start} to {end})"),
    "roster.no_bell": N_("no bell times for lesson {number}"),
    "roster.not_assigned": N_("no teaching assignment for this teacher, class and subject"),
    "roster.clash": N_("the class already has another lesson at this time (id “{id}”)"),
    "roster.scale_in_use": N_(
        "grades were already given on this scale: its kind and range, and the scale of a "
        "teaching assignment with grades, cannot change"
    ),
    "roster.bad_grade_value": N_("“{value}” is not a grade on the scale “{scale}”"),
    "roster.grade_other_class": N_("the student is not in the class this subject is taught to"),
}

#: sheet and column names are shown as the file has them; this words the location
LOCATION = N_("{sheet}, line {line}, column {column}")
LOCATION_NO_COLUMN = N_("{sheet}, line {line}")
#: a problem of a whole file or sheet (`Where.line` 0) names only the file or sheet


def describe(problem: Problem, gettext: Callable[[str], str]) -> str:
    """``"students, line 4, column class_id: refers to classes “7Z”, which is not in the file"``.

    `gettext` translates a message id into the admin's language (identity for English). An
    unknown key is a programming error (`KeyError`).
    """
    params = dict(problem.params)
    where = problem.where
    if where.line == 0:
        location = where.sheet
    else:
        location = gettext(LOCATION if where.column else LOCATION_NO_COLUMN).format(
            sheet=where.sheet, line=where.line, column=where.column
        )
    return f"{location}: {gettext(MESSAGES[problem.key]).format(**params)}"


def describe_note(note: Note, gettext: Callable[[str], str]) -> str:
    """A reader's note (records skipped, files only checked) in the admin's language."""
    return gettext(MESSAGES[note.key]).format(file=note.file, count=note.count)
