"""Parta's own ids in OneRoster files, kept apart where kinds share a file.

A row made here has no source id of its own and is named ``#<id>`` (`snapshot.local_id`).
The ids of different tables may be equal (student 12 and staff member 12), which the
workbook's separate sheets do not mind, but OneRoster puts several kinds in one file with
one `sourcedId` column: staff, students and guardians in ``users.csv``, the year and its
periods in ``academicSessions.csv``, classes and teaching assignments in ``classes.csv``.
So the writer tags such an id with its kind (``#s12`` a student, ``#t12`` staff) and the
reader takes the tag off again (``#12``), which is what the planner matches rows made here
by. Ids from files (anything not ``#<digits>``) pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from services.roster.model import SchoolData

#: kind → its tag
TAGS = {
    "staff": "t",
    "students": "s",
    "guardians": "g",
    "year": "y",
    "periods": "p",
    "classes": "c",
    "assignments": "a",
}
#: a reference column → the kind it names
REFS = {
    "class_teacher_id": "staff",
    "teacher_id": "staff",
    "class_id": "classes",
    "student_id": "students",
    "student_ids": "students",
    "assignment_id": "assignments",
    "period_id": "periods",
}
_LOCAL = re.compile(r"#\d+")
_TAGGED = re.compile(r"#[a-z](\d+)")

Row = TypeVar("Row")


def tag(kind: str, sid: str) -> str:
    """``#12`` of `kind` as written to a file (``#s12``); other ids unchanged."""
    if kind in TAGS and _LOCAL.fullmatch(sid):
        return f"#{TAGS[kind]}{sid[1:]}"
    return sid


def untag(sid: str) -> str:
    """A tagged id as the planner knows it (``#s12`` → ``#12``); other ids unchanged."""
    match = _TAGGED.fullmatch(sid)
    return f"#{match.group(1)}" if match else sid


def _value(kind: str | None, value: Any, write: bool) -> Any:
    if kind is None:
        return value
    if isinstance(value, tuple):
        return tuple(_value(kind, v, write) for v in value)
    if isinstance(value, str):
        return tag(kind, value) if write else untag(value)
    return value


def row_ids(row: Row, kind: str, *, write: bool, refs: dict[str, str] | None = None) -> Row:
    """`row` with its own id (a `kind`) and its references tagged (`write`) or untagged."""
    changes = {}
    for f in dataclasses.fields(row):  # type: ignore[arg-type]
        target = kind if f.name == "source_id" else (refs or REFS).get(f.name)
        value = getattr(row, f.name)
        new = _value(target, value, write)
        if new != value:
            changes[f.name] = new
    return dataclasses.replace(row, **changes) if changes else row  # type: ignore[type-var]


def school_ids(data: SchoolData, *, write: bool) -> SchoolData:
    """Every id of `data` tagged for writing (`write`) or untagged after reading."""
    changes: dict[str, Any] = {
        kind: tuple(row_ids(r, kind, write=write) for r in getattr(data, kind))
        for kind in ("periods", "staff", "classes", "students", "guardians", "assignments")
    }
    changes["grades"] = tuple(row_ids(g, "grades", write=write) for g in data.grades)
    if data.year is not None:
        changes["year"] = row_ids(data.year, "year", write=write)
    if not write:
        changes["origins"] = {(k, untag(s)): where for (k, s), where in data.origins.items()}
    return dataclasses.replace(data, **changes)
