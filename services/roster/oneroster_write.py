"""Writing OneRoster 1.2 CSV: `SchoolData` (and a `Gradebook`) → a zip of bulk files.

Contract: the output depends only on the arguments (rows sorted by ``sourcedId``,
``dateLastModified`` and the zip entries' times from `modified`), so two exports of the same
data are byte-identical, and ``read_oneroster`` of the result gives the data back for
everything OneRoster can carry. Only the columns Parta has are written (the required columns
always). The mapping is in docs/oneroster.md.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from db.enums import PeriodKind, ScaleKind
from services.roster.model import ScaleRow, SchoolData
from services.roster.oneroster_gradebook import Gradebook
from services.roster.oneroster_ids import row_ids, school_ids
from services.roster.oneroster_spec import (
    FILES,
    HOMEROOM_COURSE,
    MANIFEST,
    ONEROSTER_VERSION,
    OTHER_FILES,
    OUT_COLUMNS,
    PARTA,
    ROLE_OUT,
    SCHOOL_ID,
)


def split_name(name: str) -> tuple[str, str, str]:
    """(familyName, givenName, middleName) of a full name: the inverse of the reader's
    `services.roster.oneroster.full_name` (first word, second word, the rest)."""
    words = name.split()
    return (
        words[0] if words else "",
        words[1] if len(words) > 1 else "",
        " ".join(words[2:]),
    )


Row = dict[str, str]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _by_id(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: r["sourcedId"])


def _sessions_out(data: SchoolData) -> list[Row]:
    rows = []
    year = data.year
    if year is not None:
        rows.append(
            {
                "sourcedId": year.source_id,
                "title": year.name,
                "type": "schoolYear",
                "startDate": year.starts_on.isoformat(),
                "endDate": year.ends_on.isoformat(),
                "schoolYear": str(year.ends_on.year),
            }
        )
    for period in data.periods:
        if period.kind is PeriodKind.YEAR:
            continue  # the school year itself
        rows.append(
            {
                "sourcedId": period.source_id,
                "title": f"{period.kind.value} {period.number}",
                "type": "semester" if period.kind is PeriodKind.SEMESTER else "term",
                "startDate": period.starts_on.isoformat(),
                "endDate": period.ends_on.isoformat(),
                "parentSourcedId": year.source_id if year else "",
                "schoolYear": str((year.ends_on if year else period.ends_on).year),
                PARTA + "periodKind": period.kind.value,
            }
        )
    return _by_id(rows)


def _homeroom_course(data: SchoolData) -> str:
    taken = {s.source_id for s in data.subjects}
    course = HOMEROOM_COURSE
    while course in taken:
        course += "-1"
    return course


def _classes_out(data: SchoolData, course: str, terms: str) -> list[Row]:
    names = {c.source_id: c for c in data.classes}
    subjects = {s.source_id: s for s in data.subjects}
    rows = [
        {
            "sourcedId": c.source_id,
            "title": c.name,
            "grades": f"{c.grade_level:02d}",
            "courseSourcedId": course,
            "classCode": c.name,
            "classType": "homeroom",
            "schoolSourcedId": SCHOOL_ID,
            "termSourcedIds": terms,
        }
        for c in data.classes
    ]
    for a in data.assignments:
        homeroom = names.get(a.class_id)
        subject = subjects.get(a.subject_id)
        class_name = homeroom.name if homeroom else a.class_id
        rows.append(
            {
                "sourcedId": a.source_id,
                "title": f"{class_name} {subject.name if subject else a.subject_id}",
                "grades": f"{homeroom.grade_level:02d}" if homeroom else "",
                "courseSourcedId": a.subject_id,
                "classCode": f"{class_name}-{subject.short_name if subject else a.subject_id}",
                "classType": "scheduled",
                "schoolSourcedId": SCHOOL_ID,
                "termSourcedIds": terms,
                PARTA + "scale": a.scale_id,
            }
        )
    return _by_id(rows)


@dataclass(slots=True)
class _Person:
    sid: str
    name: str
    phone: str | None = None
    email: str | None = None
    roles: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    relation: str | None = None


def _people(data: SchoolData) -> dict[str, _Person]:
    people: dict[str, _Person] = {}

    def person(sid: str, name: str, phone: str | None = None, email: str | None = None) -> _Person:
        found = people.setdefault(sid, _Person(sid, name))
        found.phone = found.phone or phone
        found.email = found.email or email
        return found

    for s in data.staff:
        person(s.source_id, s.full_name, s.phone, s.email).roles.extend(
            ROLE_OUT[r] for r in s.roles
        )
    for st in data.students:
        person(st.source_id, st.full_name).roles.append("student")
    for g in data.guardians:
        found = person(g.source_id, g.full_name, g.phone, g.email)
        found.roles.append("guardian")
        found.agents.extend(g.student_ids)
        found.relation = g.relation
        for student in g.student_ids:
            if student in people:
                people[student].agents.append(g.source_id)
            else:
                person(student, "").agents.append(g.source_id)
    return people


def _users_out(data: SchoolData) -> tuple[list[Row], list[Row]]:
    users, roles = [], []
    for p in _people(data).values():
        if not p.roles:
            continue  # a guardian's student that is not in the data
        family, given, middle = split_name(p.name)
        users.append(
            {
                "sourcedId": p.sid,
                "enabledUser": "true",
                "username": p.sid,
                "givenName": given,
                "familyName": family,
                "middleName": middle,
                "email": p.email or "",
                "phone": p.phone or "",
                "agentSourcedIds": ",".join(p.agents),
                PARTA + "relation": (p.relation or "") if "guardian" in p.roles else "",
            }
        )
        for n, role in enumerate(dict.fromkeys(p.roles)):
            roles.append(
                {
                    "sourcedId": f"{p.sid}-role-{n}",
                    "userSourcedId": p.sid,
                    "roleType": "primary" if n == 0 else "secondary",
                    "role": role,
                    "orgSourcedId": SCHOOL_ID,
                }
            )
    return _by_id(users), _by_id(roles)


def _enrollments_out(data: SchoolData) -> list[Row]:
    rows = []

    def enrol(class_id: str, user: str, role: str, primary: bool) -> None:
        rows.append(
            {
                "sourcedId": f"{class_id}-{user}",
                "classSourcedId": class_id,
                "schoolSourcedId": SCHOOL_ID,
                "userSourcedId": user,
                "role": role,
                "primary": "true" if primary else "false",
            }
        )

    members: dict[str, list[str]] = {}
    for s in data.students:
        members.setdefault(s.class_id, []).append(s.source_id)
        enrol(s.class_id, s.source_id, "student", False)
    for c in data.classes:
        if c.class_teacher_id:
            enrol(c.source_id, c.class_teacher_id, "teacher", True)
    for a in data.assignments:
        enrol(a.source_id, a.teacher_id, "teacher", True)
        for student in members.get(a.class_id, []):
            enrol(a.source_id, student, "student", False)
    return _by_id(rows)


def _scales_out(scales: Iterable[ScaleRow], data: SchoolData) -> list[Row]:
    used: dict[str, str] = {}
    for a in sorted(data.assignments, key=lambda a: a.source_id):
        used.setdefault(a.scale_id, a.source_id)
    rows = []
    for s in scales:
        if s.kind is ScaleKind.PASS_FAIL:
            value = "[0:fail],[1:pass]"
        else:
            low, high = int(s.min_score), int(s.max_score)
            steps = range(low, high + 1) if high - low <= 20 else (low, high)
            value = ",".join(f"[{n}:{n}]" for n in steps)
        rows.append(
            {
                "sourcedId": s.source_id,
                "title": s.source_id,
                "type": s.kind.value,
                "classSourcedId": used.get(s.source_id, ""),
                "scoreScaleValue": value,
                PARTA + "minScore": _number(s.min_score),
                PARTA + "maxScore": _number(s.max_score),
                PARTA + "passScore": _number(s.pass_score),
                PARTA + "allowModifiers": "true" if s.allow_modifiers else "false",
            }
        )
    return _by_id(rows)


def _gradebook_out(book: Gradebook) -> dict[str, list[Row]]:
    return {
        "categories.csv": _by_id(
            {"sourcedId": c.source_id, "title": c.title, "weight": _number(c.weight)}
            for c in book.categories
        ),
        "lineItems.csv": _by_id(
            {
                "sourcedId": i.source_id,
                "title": i.title,
                "assignDate": i.day.isoformat(),
                "dueDate": i.day.isoformat(),
                "classSourcedId": i.class_id,
                "categorySourcedId": i.category_id,
                "gradingPeriodSourcedId": i.period_id or "",
                "resultValueMin": _number(i.result_min),
                "resultValueMax": _number(i.result_max),
                "schoolSourcedId": SCHOOL_ID,
            }
            for i in book.line_items
        ),
        "results.csv": _by_id(
            {
                "sourcedId": r.source_id,
                "lineItemSourcedId": r.line_item_id,
                "studentSourcedId": r.student_id,
                "scoreStatus": "fully graded",
                "score": _number(r.score),
                "textScore": r.text_score,
                "scoreDate": r.day.isoformat(),
                "comment": r.comment or "",
            }
            for r in book.results
        ),
    }


def tagged(book: Gradebook) -> Gradebook:
    """The gradebook's references to rows made here, tagged as the roster's (`oneroster_ids`)."""
    items = {"class_id": "assignments", "period_id": "periods"}
    return replace(
        book,
        line_items=tuple(row_ids(i, "lineItems", write=True, refs=items) for i in book.line_items),
        results=tuple(row_ids(r, "results", write=True) for r in book.results),
    )


def oneroster_files(data: SchoolData, gradebook: Gradebook | None = None) -> dict[str, list[Row]]:
    """The rows of each file `write_oneroster` writes (without status and timestamps)."""
    data = school_ids(data, write=True)
    if gradebook is not None:
        gradebook = tagged(gradebook)
    course = _homeroom_course(data)
    terms = data.year.source_id if data.year else ""
    users, roles = _users_out(data)
    courses = [
        {
            "sourcedId": s.source_id,
            "schoolYearSourcedId": terms,
            "title": s.name,
            "courseCode": s.short_name,
            "orgSourcedId": SCHOOL_ID,
        }
        for s in data.subjects
    ]
    if data.classes:
        courses.append(
            {
                "sourcedId": course,
                "title": "Homeroom",
                "courseCode": "HR",
                "orgSourcedId": SCHOOL_ID,
            }
        )
    school = data.school
    files: dict[str, list[Row]] = {
        "orgs.csv": [
            {
                "sourcedId": SCHOOL_ID,
                "name": school.name,
                "type": "school",
                PARTA + "timezone": school.timezone,
                PARTA + "phoneRegion": school.phone_region,
            }
        ],
        "academicSessions.csv": _sessions_out(data),
        "courses.csv": _by_id(courses),
        "classes.csv": _classes_out(data, course, terms),
        "users.csv": users,
        "roles.csv": roles,
        "enrollments.csv": _enrollments_out(data),
        "demographics.csv": _by_id(
            {"sourcedId": s.source_id, "birthDate": s.birth_date.isoformat()}
            for s in data.students
            if s.birth_date
        ),
    }
    scales = {s.source_id: s for s in (gradebook.scales if gradebook else ())}
    scales.update({s.source_id: s for s in data.scales})
    files["scoreScales.csv"] = _scales_out(scales.values(), data)
    if gradebook is not None:
        files.update(_gradebook_out(gradebook))
    return files


def _csv_bytes(columns: tuple[str, ...], rows: Iterable[Row], stamp: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        full = {"status": "active", "dateLastModified": stamp, **row}
        writer.writerow([_safe(full.get(col, "")) for col in columns])
    return out.getvalue().encode("utf-8")


def _safe(value: str) -> str:
    """Single-line values: a line break inside a name would be legal CSV but breaks many
    readers, so it becomes a space."""
    return " ".join(value.splitlines()) if "\n" in value or "\r" in value else value


def _manifest(names: Iterable[str]) -> bytes:
    present = set(names)
    rows = [("manifest.version", "1.0"), ("oneroster.version", ONEROSTER_VERSION)]
    for name in sorted({*FILES, *OTHER_FILES}, key=str.lower):
        rows.append((f"file.{name[:-4]}", "bulk" if name in present else "absent"))
    rows += [("source.systemName", "Parta"), ("source.systemCode", "parta")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("propertyName", "value"))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def write_oneroster(
    path: Path | str,
    data: SchoolData,
    gradebook: Gradebook | None = None,
    *,
    modified: datetime,
) -> None:
    """Write a OneRoster 1.2 CSV zip of `data` (and `gradebook`) to `path`.

    `modified` is every record's ``dateLastModified`` and every zip entry's time, so the same
    arguments give the same bytes. Only the columns Parta has are written (the required
    columns always); `data` is expected to be valid (`validate_references`).
    """
    files = oneroster_files(data, gradebook)
    stamp = _stamp(modified)
    when = modified.astimezone(UTC)
    entries = [(MANIFEST, _manifest(files))]
    entries += [(name, _csv_bytes(OUT_COLUMNS[name], rows, stamp)) for name, rows in files.items()]
    with zipfile.ZipFile(Path(path), "w") as archive:
        for name, payload in entries:
            moment = (
                max(when.year, 1980),
                when.month,
                when.day,
                when.hour,
                when.minute,
                when.second,
            )
            info = zipfile.ZipInfo(name, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
