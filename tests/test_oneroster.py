"""OneRoster 1.2 CSV: the hand-written sample school, every broken variant of it, hostile
archives, the round trip, and the gradebook export on both databases."""

from __future__ import annotations

import csv
import io
import re
import shutil
import string
import unicodedata
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import GradeKind, PeriodKind, ScaleKind, StaffRole
from db.models import (
    AcademicYear,
    Enrollment,
    Grade,
    GradingScale,
    Lesson,
    Period,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    Subject,
    TeachingAssignment,
)
from services.roster import oneroster
from services.roster.formats import Format, detect
from services.roster.model import (
    AssignmentRow,
    ClassRow,
    GradeRow,
    GuardianRow,
    PeriodRow,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    StaffRow,
    StudentRow,
    SubjectRow,
    Where,
    YearRow,
)
from services.roster.oneroster import Note, ReadResult, read_oneroster, write_oneroster
from services.roster.oneroster_gradebook import load_gradebook, source_id_of
from services.roster.problems import MESSAGES, describe
from tests import clock
from tests.factories import make_small_school
from tests.roster_samples import mangled_zip

VALID = Path(__file__).parent / "samples" / "oneroster" / "valid"
MOMENT = datetime(2026, 8, 20, 9, 0, tzinfo=UTC)


# --- helpers ---------------------------------------------------------------------------------


def copy_valid(tmp_path: Path) -> Path:
    target = tmp_path / "or"
    shutil.copytree(VALID, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(folder.iterdir()):
            archive.write(entry, entry.name)
    return target


def found(result: ReadResult) -> set[tuple[str, int, str, str]]:
    """(file, line, column, key) of every problem."""
    return {(p.where.sheet, p.where.line, p.where.column, p.key) for p in result.problems}


def keys(result: ReadResult) -> set[str]:
    return {p.key for p in result.problems}


def without_origins(data: SchoolData) -> SchoolData:
    return replace(data, origins={})


# --- the valid sample ------------------------------------------------------------------------


def test_reads_the_sample_school() -> None:
    result = read_oneroster(VALID)
    assert result.problems == ()
    data = result.data
    assert data.school == SchoolInfo("Гимназия № 5", "Europe/Moscow", "RU")
    assert data.year == YearRow("sy-2027", "2026/2027", date(2026, 9, 1), date(2027, 5, 31))
    # four grading periods under two semesters: the finest level gives four quarters,
    # numbered by start date although the file lists gp-2 before gp-1
    assert [(p.source_id, p.kind, p.number) for p in data.periods] == [
        ("gp-1", PeriodKind.QUARTER, 1),
        ("gp-2", PeriodKind.QUARTER, 2),
        ("gp-3", PeriodKind.QUARTER, 3),
        ("gp-4", PeriodKind.QUARTER, 4),
    ]
    assert data.scales == (
        ScaleRow("five", ScaleKind.FIVE, 2.0, 5.0, 3.0, True),
        ScaleRow("pass_fail", ScaleKind.PASS_FAIL, 0.0, 1.0, 0.5, False),
    )
    # the homeroom-only course is not a subject
    assert data.subjects == (
        SubjectRow("crs-math", "Математика", "Мат"),
        SubjectRow("crs-rus", "Русский язык", "Рус"),
        SubjectRow("crs-art", "Изобразительное искусство", "ИЗО"),
    )
    assert data.staff == (
        StaffRow(
            "t-1",
            "Иванова Мария Петровна",
            (StaffRole.TEACHER,),
            "+79161234567",
            "m.ivanova@gym5.example.ru",
        ),
        StaffRow(
            "t-2",
            "Сидоров Олег Ильич",
            (StaffRole.TEACHER, StaffRole.HEAD_TEACHER),
            "+74951112233",
        ),
        StaffRow("a-1", "Кузнецова Светлана", (StaffRole.ADMIN,), None, "admin@gym5.example.ru"),
    )
    assert data.classes == (
        ClassRow("hr-7b", "7Б", 7, "t-1"),
        ClassRow("hr-5a", "5А", 5, None),
    )
    assert data.students == (
        StudentRow("s-1", "Смирнов Пётр Андреевич", "hr-7b", date(2013, 4, 17)),
        StudentRow("s-2", "Смирнова Анна Андреевна", "hr-5a", date(2015, 11, 2)),
        StudentRow("s-3", "Ковалёв Иван", "hr-7b", None),
        StudentRow("s-4", "Белова Ольга", "hr-7b", date(2013, 1, 30)),
    )
    # g-1 names its children; g-2 is named by the student s-3 (agentSourcedIds both ways)
    assert data.guardians == (
        GuardianRow(
            "g-1",
            "Смирнова Елена Викторовна",
            ("s-1", "s-2"),
            "+79167654321",
            "e.smirnova@example.ru",
            "parent",
        ),
        GuardianRow("g-2", "Ковалёв Николай", ("s-3",), relation="relative"),
    )
    # cls-5a-math has no students: its homeroom comes from the first word of its title
    assert data.assignments == (
        AssignmentRow("cls-7b-math", "t-1", "hr-7b", "crs-math", "five"),
        AssignmentRow("cls-7b-rus", "t-2", "hr-7b", "crs-rus", "pass_fail"),
        AssignmentRow("cls-5a-math", "t-1", "hr-5a", "crs-math", "five"),
    )
    assert data.where("students", "s-3") == Where("users.csv", 8, "")


def test_sample_notes_count_skipped_records() -> None:
    notes = set(read_oneroster(VALID).notes)
    assert Note("users.csv", "oneroster.note_deleted", 1) in notes  # s-5
    assert Note("classes.csv", "oneroster.note_deleted", 1) in notes  # cls-old
    assert Note("roles.csv", "oneroster.note_uncovered", 1) in notes  # the counselor
    assert not [n for n in notes if n.file == "results.csv"]  # every result is graded


def test_sample_gradebook_becomes_grades() -> None:
    """Each graded result is a grade: its line item's class is the assignment, the line
    item's date the lesson's, the category's title the kind, the textScore the value; a
    line item titled as its own is a lesson topic."""
    data = read_oneroster(VALID).data
    assert data is not None
    assert data.grades == (
        GradeRow(
            "res-1", "cls-7b-math", "s-1", "li-1", date(2026, 9, 15), date(2026, 9, 15),
            "5", GradeKind.ORAL, topic="Дроби",
        ),
        GradeRow(
            "res-2", "cls-7b-math", "s-1", "li-2", date(2026, 10, 20), date(2026, 10, 20),
            "4", GradeKind.TEST, topic="Контрольная № 1", comment="Хорошо",
        ),
        GradeRow(
            "res-3", "cls-7b-math", "s-3", "li-2", date(2026, 10, 20), date(2026, 10, 20),
            "3", GradeKind.TEST, topic="Контрольная № 1",
        ),
    )  # fmt: skip
    assert data.where("grades", "res-2") == Where("results.csv", 3, "")


def test_zip_reads_like_the_folder(tmp_path: Path) -> None:
    archive = zip_folder(VALID, tmp_path / "or.zip")
    assert without_origins(read_oneroster(archive).data) == without_origins(
        read_oneroster(VALID).data
    )


def test_zip_of_a_folder_reads_like_the_folder(tmp_path: Path) -> None:
    """Compressing the folder itself (Windows "Send to → Compressed folder") puts the files
    one level down; that one folder is read, anything else in the archive is not."""
    path = tmp_path / "or.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(VALID.iterdir()):
            archive.write(entry, f"Выгрузка/{entry.name}")
        archive.writestr("other/users.csv", "garbage")
    result = read_oneroster(path)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)


@pytest.mark.parametrize(
    "folder",
    ["exports/2026-09-01/", "Выгрузка\\"],  # a nested export; a Windows tool's backslashes
)
def test_zip_with_the_package_deeper_down(tmp_path: Path, folder: str) -> None:
    """The folder holding ``manifest.csv`` nearest the root is the package, however deep,
    whichever separator the archive uses; macOS's ``__MACOSX`` copies are not a package."""
    path = tmp_path / "or.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(VALID.iterdir()):
            archive.write(entry, f"{folder}{entry.name}")
        archive.writestr(f"__MACOSX/{folder}._manifest.csv", b"\x00\x05\x16\x07")
    assert detect(path) is Format.ONEROSTER  # what the bot reads a sent document with
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("other/deeper/still/manifest.csv", "garbage")
    result = read_oneroster(path)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)


def test_folder_holding_the_unpacked_export(tmp_path: Path) -> None:
    """An export unpacked into a folder of its own, and the folder above it given: the bot
    and `formats.detect` take it for OneRoster, so the reader finds it too."""
    shutil.copytree(VALID, tmp_path / "unpacked" / "export_2026")
    assert detect(tmp_path / "unpacked") is Format.ONEROSTER
    result = read_oneroster(tmp_path / "unpacked")
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)


def test_headers_match_whatever_the_case_and_spaces(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "sourcedId,status,", " SOURCEDID ,Status,")
    edit(folder, "classes.csv", "classType", "classtype")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert len(result.data.students) == 4


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    raw = (folder / "users.csv").read_bytes()
    (folder / "users.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    assert read_oneroster(folder).problems == ()


def test_vocabulary_words_are_read_whatever_their_case(tmp_path: Path) -> None:
    """``Student``, ``TEACHER``, ``Homeroom``, ``toBeDeleted``, a manifest's ``Bulk``: words
    of a vocabulary that differ only in case mean the same (other systems write them so)."""
    folder = copy_valid(tmp_path)
    for name in ("roles.csv", "enrollments.csv"):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        text = text.replace(",student,", ",Student,").replace(",teacher,", ",TEACHER,")
        path.write_text(text.replace(",primary,", ",Primary,"), encoding="utf-8")
    edit(folder, "classes.csv", "7Б,homeroom", "7Б,Homeroom")
    edit(folder, "academicSessions.csv", "schoolYear", "SCHOOLYEAR")
    edit(folder, "orgs.csv", "Гимназия № 5,school", "Гимназия № 5,School")
    edit(folder, "users.csv", ",tobedeleted,", ",toBeDeleted,")
    edit(folder, "results.csv", "fully graded", "Fully Graded")
    edit(folder, "manifest.csv", "file.users,bulk", "file.users,Bulk")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)
    assert result.notes == read_oneroster(VALID).notes
    edit(folder, "classes.csv", "7Б,Homeroom", "7Б,Homerooms")
    assert keys(read_oneroster(folder)) == {"oneroster.bad_vocab"}


def test_phone_that_lost_its_plus_keeps_its_country(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "8 (916) 123-45-67", "375291234567")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert result.data is not None
    assert result.data.staff[0].phone == "+375291234567"


def test_sms_number_is_the_phone_when_there_is_no_phone(tmp_path: Path) -> None:
    """Many systems keep a parent's mobile in ``sms`` only: it is the number Telegram shares
    when the parent links, so it is their phone; ``phone`` wins when both are there."""
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", ",,8 (916) 123-45-67,", ",8 (916) 000-00-00,8 (916) 123-45-67,")
    edit(folder, "users.csv", "example.ru,,8 916 765 43 21,", "example.ru,8 916 765 43 21,,")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)
    edit(folder, "users.csv", "example.ru,8 916 765 43 21,,", "example.ru,not a number,,")
    assert found(read_oneroster(folder)) == {("users.csv", 11, "sms", "oneroster.bad_phone")}


@pytest.mark.parametrize("email", ["a@gym5.ru; b@gym5.ru", "Мария Иванова", "ivanova@gym5"])
def test_an_email_the_workbook_would_refuse_is_refused(tmp_path: Path, email: str) -> None:
    """Two addresses in a cell, a name, no domain: refused as the school workbook refuses
    them, so the school's own export always reads back."""
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "m.ivanova@gym5.example.ru", f'"{email}"')
    assert found(read_oneroster(folder)) == {("users.csv", 2, "email", "oneroster.bad_email")}


def test_utc_date_times_are_read_in_the_schools_zone(tmp_path: Path) -> None:
    """A system that keeps local midnight as a UTC moment writes 15 September in Moscow as
    ``2026-09-14T21:00:00Z``; the lesson and the grade are on the 15th, not the 14th."""
    folder = copy_valid(tmp_path)
    edit(folder, "lineItems.csv", "2026-09-15,2026-09-15", "2026-09-14T21:00:00.000Z,2026-09-15")
    edit(folder, "results.csv", "fully graded,5,5,2026-09-15", "fully graded,5,5,2026-09-14T22:30Z")
    edit(folder, "results.csv", "fully graded,4,4,2026-10-20", "fully graded,4,4,2026-10-20T00:00Z")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert result.data is not None
    assert [(g.source_id, g.lesson_day, g.day) for g in result.data.grades] == [
        ("res-1", date(2026, 9, 15), date(2026, 9, 15)),
        ("res-2", date(2026, 10, 20), date(2026, 10, 20)),  # midnight UTC: the date as written
        ("res-3", date(2026, 10, 20), date(2026, 10, 20)),
    ]


def test_dates_written_as_date_times_are_read(tmp_path: Path) -> None:
    """Date columns written as date-times (midnight, with or without ``Z``) and date-times
    with a space for the ``T`` read as the same school; an impossible one is still refused."""
    folder = copy_valid(tmp_path)
    sessions = folder / "academicSessions.csv"
    text = sessions.read_text(encoding="utf-8")
    sessions.write_text(
        re.sub(r",(\d{4}-\d{2}-\d{2}),(\d{4}-\d{2}-\d{2}),", r",\1T00:00:00Z,\2T00:00:00,", text),
        encoding="utf-8",
    )
    edit(folder, "demographics.csv", "2013-04-17", "2013-04-16T21:00:00.000Z")
    users = folder / "users.csv"
    users.write_text(
        users.read_text(encoding="utf-8").replace(
            "2026-08-20T09:00:00.000Z", "2026-08-20 09:00:00"
        ),
        encoding="utf-8",
    )
    result = read_oneroster(folder)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)
    edit(folder, "academicSessions.csv", "2026-09-01T00:00:00Z", "2026-02-30T00:00:00Z")
    assert keys(read_oneroster(folder)) == {"oneroster.bad_date"}


def test_secondary_parent_role_makes_a_teacher_also_a_guardian(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    path = folder / "roles.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + "r-t1p,active,,t-1,secondary,parent,,,school-5,\n",
        encoding="utf-8",
    )
    edit(
        folder,
        "users.csv",
        "T001,m.ivanova@gym5.example.ru,,8 (916) 123-45-67,,",
        "T001,m.ivanova@gym5.example.ru,,8 (916) 123-45-67,s-4,",
    )
    data = read_oneroster(folder).data
    assert "t-1" in {s.source_id for s in data.staff}
    assert [g.student_ids for g in data.guardians if g.source_id == "t-1"] == [("s-4",)]


# --- broken variants: each reported with file, line and column ------------------------------


def test_missing_manifest(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    (folder / "manifest.csv").unlink()
    assert found(read_oneroster(folder)) == {("manifest.csv", 0, "", "oneroster.no_manifest")}


@pytest.mark.parametrize("version", ["1.0", "2.0", ""])
def test_wrong_version(tmp_path: Path, version: str) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "manifest.csv", "oneroster.version,1.2", f"oneroster.version,{version}")
    assert found(read_oneroster(folder)) == {("manifest.csv", 3, "value", "oneroster.bad_version")}


def to_v11(folder: Path) -> Path:
    """The sample as a OneRoster 1.1 system writes it: no roles.csv, each user's one role and
    orgs in users.csv (``administrator`` for 1.2's siteAdministrator, ``proctor`` for the
    counselor 1.1 has no word for), no score scales, results and line items with 1.1's
    columns only."""

    def table(name: str) -> list[dict[str, str]]:
        with (folder / name).open(encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))

    def write(name: str, columns: list[str], rows: list[dict[str, str]]) -> None:
        with (folder / name).open("w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, columns, extrasaction="ignore", lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)

    role_of = {r["userSourcedId"]: r for r in reversed(table("roles.csv"))}  # the first wins
    words = {"siteAdministrator": "administrator", "counselor": "proctor"}
    users = table("users.csv")
    for user in users:
        role = role_of[user["sourcedId"]]
        user["role"] = words.get(role["role"], role["role"])
        user["orgSourcedIds"] = role["orgSourcedId"]
    write(
        "users.csv",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
        ],
        users,
    )
    for name, columns in (
        (
            "results.csv",
            "sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,"
            "score,scoreDate,comment",
        ),
        (
            "lineItems.csv",
            "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,"
            "classSourcedId,categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax",
        ),
    ):
        write(name, columns.split(","), table(name))
    for name in ("roles.csv", "scoreScales.csv"):
        (folder / name).unlink()
    manifest = (folder / "manifest.csv").read_text(encoding="utf-8")
    manifest = manifest.replace("oneroster.version,1.2", "oneroster.version,1.1")
    manifest = re.sub(
        r"file\.(roles|scoreScales|userProfiles|\w+ScoreScales|\w+ObjectiveIds|"
        r"userResources),\w+\n",
        "",
        manifest,
    )
    (folder / "manifest.csv").write_text(manifest, encoding="utf-8")
    return folder


def test_oneroster_11_package_is_read(tmp_path: Path) -> None:
    """A 1.1 package reads as the same school, less what 1.1 cannot say: the principal's
    second role, the score scales (Parta's defaults instead)."""
    result = read_oneroster(to_v11(copy_valid(tmp_path)))
    assert result.problems == ()
    data, same = result.data, read_oneroster(VALID).data
    assert [(s.source_id, s.roles) for s in data.staff] == [
        ("t-1", (StaffRole.TEACHER,)),
        ("t-2", (StaffRole.TEACHER,)),
        ("a-1", (StaffRole.ADMIN,)),
    ]
    for part in ("year", "periods", "subjects", "classes", "students", "guardians", "grades"):
        assert getattr(data, part) == getattr(same, part), part
    assert [s.source_id for s in data.scales] == ["five", "ten", "hundred", "pass_fail"]
    assert {a.scale_id for a in data.assignments} == {"five"}
    assert data.where("students", "s-1") == Where("users.csv", 6, "")
    assert [n.file for n in result.notes if n.key == "oneroster.note_uncovered"] == ["users.csv"]


def test_oneroster_11_problems_name_users_csv(tmp_path: Path) -> None:
    folder = to_v11(copy_valid(tmp_path))
    edit(folder, "users.csv", "school-5,student,", "school-5,pupil,")
    edit(folder, "users.csv", "school-5,teacher,", "school-99,teacher,")
    assert found(read_oneroster(folder)) == {
        ("users.csv", 6, "role", "oneroster.bad_vocab"),
        ("users.csv", 2, "orgSourcedIds", "roster.unknown_ref"),
    }
    folder = to_v11(copy_valid(tmp_path / "2"))
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_text(text.replace(",role,", ",roles,", 1), encoding="utf-8")
    assert keys(read_oneroster(folder)) == {"oneroster.header_typo"}


def test_delta_files_are_refused(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "manifest.csv", "file.users,bulk", "file.users,delta")
    result = read_oneroster(folder)
    assert found(result) == {("manifest.csv", 24, "value", "oneroster.delta")}
    assert describe(result.problems[0], str) == (
        "manifest.csv, line 24, column value: users.csv is a delta file; "
        "only bulk files can be imported"
    )


def test_declared_file_that_is_missing(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    (folder / "enrollments.csv").unlink()
    assert found(read_oneroster(folder)) == {
        ("manifest.csv", 11, "value", "oneroster.missing_file")
    }


def test_missing_required_column(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    rows = list(csv.reader(io.StringIO((folder / "classes.csv").read_text(encoding="utf-8"))))
    drop = rows[0].index("classType")
    with (folder / "classes.csv").open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([c for i, c in enumerate(row) if i != drop] for row in rows)
    assert found(read_oneroster(folder)) == {
        ("classes.csv", 1, "classType", "oneroster.missing_column")
    }


def test_header_typo_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "enrollments.csv", ",userSourcedId,", ",userSourceId,")
    result = read_oneroster(folder)
    assert found(result) == {("enrollments.csv", 1, "userSourceId", "oneroster.header_typo")}
    assert dict(result.problems[0].params) == {"expected": "userSourcedId"}


def test_unknown_extra_columns_are_ignored(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "orgs.csv", "parentSourcedId\n", "parentSourcedId,metadata.vendor.region\n")
    assert read_oneroster(folder).problems == ()


def test_legacy_users_columns_are_not_typos(tmp_path: Path) -> None:
    """1.1's users.orgSourcedIds and users.role, still written by some 1.2 exports, are
    ignored even when agentSourcedIds (a close spelling) is absent."""
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", ",agentSourcedIds,", ",orgSourcedIds,")
    edit(folder, "users.csv", '"g-2"', "")
    edit(folder, "users.csv", ',"s-1,s-2",', ",school-5,")
    edit(folder, "users.csv", ",pronouns", ",role")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert [g.student_ids for g in result.data.guardians] == [(), ()]


def test_duplicate_sourced_id(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "s-4,active", "s-3,active")
    result = read_oneroster(folder)
    assert ("users.csv", 9, "sourcedId", "oneroster.duplicate_id") in found(result)
    problem = next(p for p in result.problems if p.key == "oneroster.duplicate_id")
    assert dict(problem.params) == {"id": "s-3", "first": "8"}


def test_reference_to_an_id_that_is_not_there(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(
        folder,
        "enrollments.csv",
        "e-9,active,2026-08-20T09:00:00.000Z,cls-7b-math,school-5,s-4",
        "e-9,active,2026-08-20T09:00:00.000Z,cls-7b-math,school-5,s-44",
    )
    result = read_oneroster(folder)
    assert found(result) == {("enrollments.csv", 10, "userSourcedId", "roster.unknown_ref")}
    assert dict(result.problems[0].params) == {"target": "users.csv", "id": "s-44"}


def test_reference_inside_a_list(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", '"s-1,s-2"', '"s-1,s-9"')
    assert found(read_oneroster(folder)) == {
        ("users.csv", 11, "agentSourcedIds", "roster.unknown_ref")
    }


@pytest.mark.parametrize(
    ("file", "old", "new", "column", "key"),
    [
        ("academicSessions.csv", "2027-03-21", "2025-02-30", "endDate", "oneroster.bad_date"),
        ("academicSessions.csv", "2027-03-21", "21.03.2027", "endDate", "oneroster.bad_date"),
        ("demographics.csv", "2013-04-17", "2013-13-01", "birthDate", "oneroster.bad_date"),
        ("roles.csv", "s-3,primary,student", "s-3,primary,pupil", "role", "oneroster.bad_vocab"),
        ("roles.csv", "s-3,primary,", "s-3,main,", "roleType", "oneroster.bad_vocab"),
        ("classes.csv", "7Б,homeroom", "7Б,homeform", "classType", "oneroster.bad_vocab"),
        (
            "users.csv",
            "s-3,active,2026-08-20T09:00:00.000Z,true",
            "s-3,active,2026-08-20T09:00:00.000Z,yes",
            "enabledUser",
            "oneroster.bad_boolean",
        ),
        ("users.csv", "s-3,active,", "s-3,deleted,", "status", "oneroster.bad_vocab"),
        (
            "users.csv",
            "s-3,active,2026-08-20T09:00:00.000Z",
            "s-3,active,yesterday",
            "dateLastModified",
            "oneroster.bad_datetime",
        ),
        ("users.csv", ",Иван,Ковалёв,", ",,Ковалёв,", "givenName", None),
        ("users.csv", "true,anna.s,", "true,,", "username", None),  # parents often have none
        ("users.csv", ",Иван,Ковалёв,", ",Иван,,", "familyName", "oneroster.empty_value"),
        (
            "results.csv",
            "res-3,active,2026-10-20T12:00:00.000Z,li-2,s-3,fully graded,3",
            "res-3,active,2026-10-20T12:00:00.000Z,li-2,s-3,graded,3",
            "scoreStatus",
            "oneroster.bad_vocab",
        ),
    ],
)
def test_bad_values(
    tmp_path: Path, file: str, old: str, new: str, column: str, key: str | None
) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, file, old, new)
    result = read_oneroster(folder)
    if key is None:  # allowed: a one-word name, no username
        assert result.problems == ()
        return
    assert [(p.where.sheet, p.where.column, p.key) for p in result.problems] == [
        (file, column, key)
    ]
    assert result.problems[0].where.line > 1


def test_a_line_cut_short_is_not_read_as_fewer_columns(tmp_path: Path) -> None:
    """A line that ends early (cut off, or trailing cells left out) has the rest empty: a
    required value missing there is a problem, where the scheduled class used to vanish with
    its grades (no classType: neither homeroom nor scheduled). Trailing optional cells may
    be left out."""
    folder = copy_valid(tmp_path)
    edit(folder, "classes.csv", ',crs-math,7Б-МАТ,scheduled,каб. 21,school-5,"gp-1', '\nx,"gp-1')
    assert {
        ("classes.csv", 4, "classType", "oneroster.empty_value"),
        ("classes.csv", 4, "courseSourcedId", "oneroster.empty_value"),
    } <= found(read_oneroster(folder))
    folder = copy_valid(tmp_path / "2")
    edit(folder, "enrollments.csv", "s-4,student,,,", "s-4,student")
    assert read_oneroster(folder).problems == ()


def test_decomposed_letters_are_read_composed(tmp_path: Path) -> None:
    """``й`` written as ``и`` + a combining breve (as some macOS tools write it) reads as the
    same name the school has, so the planner matches it (a new id is refused as taken)."""
    folder = copy_valid(tmp_path)
    edit(folder, "courses.csv", "Русский язык", unicodedata.normalize("NFD", "Русский язык"))
    result = read_oneroster(folder)
    assert result.problems == ()
    assert without_origins(result.data) == without_origins(read_oneroster(VALID).data)


@pytest.mark.parametrize(("separator", "shown"), [(";", ";"), ("\t", "Tab")])
def test_a_file_re_saved_with_another_separator(tmp_path: Path, separator: str, shown: str) -> None:
    """Russian Excel re-saves CSV with semicolons: one problem that says so, not every
    column of the file reported missing."""
    folder = copy_valid(tmp_path)
    users = folder / "users.csv"
    rows = list(csv.reader(io.StringIO(users.read_text(encoding="utf-8"), newline="")))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=separator).writerows(rows)
    users.write_text(buffer.getvalue(), encoding="utf-8")
    result = read_oneroster(folder)
    assert found(result) == {("users.csv", 1, "", "oneroster.separator")}
    assert dict(result.problems[0].params) == {"found": shown}


def test_end_before_start(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "academicSessions.csv", "2026-11-05,2026-12-28", "2026-12-28,2026-11-05")
    assert found(read_oneroster(folder)) == {
        ("academicSessions.csv", 5, "endDate", "oneroster.end_before_start")
    }


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_bytes(text.encode("cp1251"))
    assert found(read_oneroster(folder)) == {("users.csv", 2, "", "oneroster.bad_encoding")}


def test_unterminated_quote(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "courses.csv", '"05,07",school-5,Mathematics', '"05,07,school-5,Mathematics')
    assert keys(read_oneroster(folder)) == {"oneroster.bad_csv"}


def test_phone_that_is_not_a_phone(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "+7 495 111-22-33", "call me")
    assert found(read_oneroster(folder)) == {("users.csv", 3, "phone", "oneroster.bad_phone")}


def test_student_in_no_homeroom(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(
        folder,
        "enrollments.csv",
        "e-4,active,2026-08-20T09:00:00.000Z,hr-7b",
        "e-4,tobedeleted,2026-08-20T09:00:00.000Z,hr-7b",
    )
    assert found(read_oneroster(folder)) == {
        ("users.csv", 9, "sourcedId", "oneroster.student_no_class")
    }


def test_scheduled_class_whose_homeroom_cannot_be_told(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "classes.csv", "5А Математика,05,crs-math,5А-МАТ", "Математика 5,05,crs-math,M5")
    assert found(read_oneroster(folder)) == {
        ("classes.csv", 6, "sourcedId", "oneroster.no_homeroom")
    }


def test_scheduled_class_without_teacher(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "enrollments.csv", "e-10,active", "e-10,tobedeleted")
    assert found(read_oneroster(folder)) == {
        ("classes.csv", 5, "sourcedId", "oneroster.no_teacher")
    }


def test_no_school_org(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "orgs.csv", "Гимназия № 5,school", "Гимназия № 5,department")
    assert "oneroster.no_school" in keys(read_oneroster(folder))


def test_period_count_parta_cannot_hold(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    path = folder / "academicSessions.csv"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "gp-5,active,,5 четверть,gradingPeriod,2027-06-01,2027-06-02,sem-2,2027\n"
        + "sem-3,active,,Лето,semester,2027-06-01,2027-06-02,sy-2027,2027\n",
        encoding="utf-8",
    )
    # 5 grading periods, 3 semesters: the semesters become trimesters
    data = read_oneroster(folder).data
    assert [p.kind for p in data.periods] == [PeriodKind.TRIMESTER] * 3
    path.write_text(
        path.read_text(encoding="utf-8")
        + "sem-4,active,,Ещё,semester,2027-06-03,2027-06-04,sy-2027,2027\n"
        + "sem-5,active,,И ещё,semester,2027-06-05,2027-06-06,sy-2027,2027\n",
        encoding="utf-8",
    )
    assert keys(read_oneroster(folder)) == {"oneroster.period_count"}


def test_periods_without_parent_links_are_taken_by_date(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    path = folder / "academicSessions.csv"
    text = path.read_text(encoding="utf-8")
    for parent in (",sy-2027,2027", ",sem-1,2027", ",sem-2,2027"):
        text = text.replace(parent, ",,2027")
    path.write_text(
        text + "old-q,active,,Прошлый год,gradingPeriod,2025-09-01,2025-10-31,,2026\n",
        encoding="utf-8",
    )
    data = read_oneroster(folder).data
    assert [(p.source_id, p.kind) for p in data.periods] == [
        (f"gp-{n}", PeriodKind.QUARTER) for n in range(1, 5)
    ]


def test_tobedeleted_records_are_skipped(tmp_path: Path) -> None:
    folder = copy_valid(tmp_path)
    edit(folder, "users.csv", "g-2,active", "g-2,tobedeleted")
    edit(folder, "users.csv", '"g-2"', "")
    result = read_oneroster(folder)
    assert result.problems == ()
    assert "g-2" not in {g.source_id for g in result.data.guardians}
    assert Note("users.csv", "oneroster.note_deleted", 2) in result.notes


# --- hostile archives ------------------------------------------------------------------------


def test_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    assert keys(read_oneroster(path)) == {"oneroster.not_zip"}
    assert keys(read_oneroster(tmp_path / "missing.zip")) == {"oneroster.not_zip"}


def test_truncated_archive(tmp_path: Path) -> None:
    whole = zip_folder(VALID, tmp_path / "whole.zip").read_bytes()
    for cut in (len(whole) // 3, len(whole) // 2, len(whole) - 30):
        path = tmp_path / f"cut{cut}.zip"
        path.write_bytes(whole[:cut])
        result = read_oneroster(path)  # never raises
        assert result.problems


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    path = zip_folder(VALID, tmp_path / "or.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("../../etc/users.csv", "x")
    assert found(read_oneroster(path)) == {("or.zip", 0, "", "oneroster.zip_unsafe")}


def test_zip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(VALID.iterdir()):
            archive.write(entry, entry.name)
        archive.writestr("resources.csv", b"0" * 5_000_000)  # 5 MB of zeros, ~5 KB packed
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(oneroster, "MAX_TOTAL_BYTES", 1_000_000)
    assert keys(read_oneroster(path)) == {"oneroster.too_big"}


def test_member_over_the_file_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each member is read at most one byte past the limit, whatever its header says."""
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry in sorted(VALID.iterdir()):
            archive.write(entry, entry.name)
    monkeypatch.setattr(oneroster, "MAX_FILE_BYTES", 500)  # users.csv is larger
    assert keys(read_oneroster(path)) == {"oneroster.too_big"}


def test_oversize_archive_and_too_many_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = zip_folder(VALID, tmp_path / "or.zip")
    monkeypatch.setattr(oneroster, "MAX_ZIP_BYTES", 1000)
    assert keys(read_oneroster(path)) == {"oneroster.too_big"}
    monkeypatch.setattr(oneroster, "MAX_ZIP_BYTES", 20 * 1024 * 1024)
    monkeypatch.setattr(oneroster, "MAX_MEMBERS", 5)
    assert keys(read_oneroster(path)) == {"oneroster.zip_members"}


def test_no_exception_escapes_for_mangled_files(tmp_path: Path) -> None:
    """Every file cut at several points, or with a line duplicated or dropped: always a
    result, never a traceback."""
    for source in sorted(VALID.iterdir()):
        raw = source.read_bytes()
        lines = raw.splitlines(keepends=True)
        variants = [raw[: len(raw) * k // 5] for k in range(5)]
        variants += [b"".join(lines[:1] + lines[2:]), b"".join(lines + lines[-1:])]
        variants += [raw.replace(b",", b";"), raw.replace(b'"', b""), b"\x00" * 50]
        for n, variant in enumerate(variants):
            folder = tmp_path / f"{source.stem}-{n}"
            shutil.copytree(VALID, folder)
            (folder / source.name).write_bytes(variant)
            result = read_oneroster(folder)
            assert isinstance(result, ReadResult)


@pytest.mark.parametrize("how", ["deflate64", "encrypted", "corrupt"])
def test_archive_with_a_member_that_cannot_be_unpacked(tmp_path: Path, how: str) -> None:
    """A member compressed by a method Python lacks, password-protected, or damaged inside
    its compressed bytes: the archive is refused, no exception escapes."""
    archive = zip_folder(VALID, tmp_path / "or.zip")
    path = mangled_zip(archive, tmp_path / f"{how}.zip", "users.csv", how)
    assert found(read_oneroster(path)) == {(path.name, 0, "", "oneroster.not_zip")}


# --- messages --------------------------------------------------------------------------------


def test_every_oneroster_key_has_a_message() -> None:
    source = Path(oneroster.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'"((?:oneroster|roster)\.[a-z_]+)"', source))
    used.discard("oneroster.version")  # the manifest property, not a message
    assert len(used) > 30
    assert used <= set(MESSAGES)


def test_russian_messages_use_the_same_placeholders() -> None:
    """Every OneRoster problem words itself in Russian with the placeholders it is given."""
    root = Path(__file__).resolve().parent.parent
    with (root / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale="ru")

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, english in MESSAGES.items():
        if not key.startswith("oneroster."):
            continue
        message = catalog.get(english)
        assert message is not None, key
        assert isinstance(message.string, str), key
        assert message.string, key
        assert fields(message.string) == fields(english), key


# --- writing and the round trip --------------------------------------------------------------


def school_data() -> SchoolData:
    """A school with what OneRoster can carry, sorted by source id as the writer sorts."""
    return SchoolData(
        school=SchoolInfo("Лицей «Вектор» & Co", "Europe/Minsk", "BY"),
        year=YearRow("y26", "2026/2027", date(2026, 9, 1), date(2027, 5, 31)),
        periods=(
            PeriodRow("p1", PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 27)),
            PeriodRow("p2", PeriodKind.SEMESTER, 2, date(2027, 1, 10), date(2027, 5, 31)),
        ),
        scales=(
            ScaleRow("five", ScaleKind.FIVE, 1.0, 5.0, 3.0, True),
            ScaleRow("hundred", ScaleKind.HUNDRED, 0.0, 100.0, 50.0, False),
            ScaleRow("pf", ScaleKind.PASS_FAIL, 0.0, 1.0, 0.5, False),
            ScaleRow("ten", ScaleKind.TEN, 1.0, 10.0, 4.5, False),
        ),
        subjects=(
            SubjectRow("art", "ИЗО", "ИЗО"),
            SubjectRow("math", "Математика, алгебра", "Мат"),
        ),
        staff=(
            StaffRow("st1", "Иванова Мария Петровна", (StaffRole.TEACHER,), "+375291234567"),
            StaffRow(
                "st2",
                "Сидоров Олег",
                (StaffRole.HEAD_TEACHER, StaffRole.TEACHER),
                None,
                "o@example.by",
            ),
            StaffRow("st3", "Админ", (StaffRole.ADMIN,)),
        ),
        classes=(
            ClassRow("c10", "10А", 10, "st2"),
            ClassRow("c7", "7Б", 7, "st1"),
            ClassRow("c8", "8В", 8, None),
        ),
        students=(
            StudentRow("s1", "Петров Пётр", "c7", date(2013, 2, 28)),
            StudentRow("s2", 'O\'Brien "Ned" Jr', "c7"),
            StudentRow("s3", "Сидорова Ольга Олеговна", "c10"),
        ),
        guardians=(
            GuardianRow(
                "g1", "Петрова Анна", ("s1", "s2"), "+375297654321", "a@example.by", "мама"
            ),
            GuardianRow("st2", "Сидоров Олег", ("s3",), None, "o@example.by"),
        ),
        assignments=(
            AssignmentRow("a1", "st1", "c7", "math", "five"),
            AssignmentRow("a2", "st2", "c10", "math", "hundred"),
            AssignmentRow("a3", "st1", "c8", "art", "pf"),  # 8В has no students
        ),
    )


def test_round_trip(tmp_path: Path) -> None:
    data = school_data()
    write_oneroster(tmp_path / "out.zip", data, modified=MOMENT)
    result = read_oneroster(tmp_path / "out.zip")
    assert result.problems == ()
    assert without_origins(result.data) == data


def by_source_id(data: SchoolData) -> SchoolData:
    """`data` with every kind of row in source id order, as the writer writes them."""
    kinds = ("scales", "subjects", "staff", "classes", "students", "guardians", "assignments")
    return replace(
        without_origins(data),
        **{kind: tuple(sorted(getattr(data, kind), key=lambda r: r.source_id)) for kind in kinds},
    )


def test_round_trip_of_a_school_with_little_set_up(tmp_path: Path) -> None:
    """No year, no periods, one-word names, a class without students or subjects."""
    data = SchoolData(
        SchoolInfo("Школа"),
        scales=(ScaleRow("five", ScaleKind.FIVE, 1.0, 5.0, 3.0, True),),
        staff=(StaffRow("t", "Мадонна", (StaffRole.TEACHER,)),),
        classes=(ClassRow("c", "1А", 1, "t"), ClassRow("d", "2Б", 2)),
        students=(StudentRow("s", "Шер", "c"),),
    )
    write_oneroster(tmp_path / "out.zip", data, modified=MOMENT)
    result = read_oneroster(tmp_path / "out.zip")
    assert result.problems == ()
    assert without_origins(result.data) == data
    write_oneroster(tmp_path / "empty.zip", SchoolData(SchoolInfo("Пусто")), modified=MOMENT)
    result = read_oneroster(tmp_path / "empty.zip")
    assert result.problems == ()
    assert result.data.school.name == "Пусто"


def test_round_trip_of_the_sample(tmp_path: Path) -> None:
    """The roster round-trips; grades are written from the journal's gradebook (the
    export's `load_gradebook`), not from a `SchoolData`."""
    first = read_oneroster(VALID).data
    assert first is not None
    assert first.grades
    write_oneroster(tmp_path / "a.zip", first, modified=MOMENT)
    again = read_oneroster(tmp_path / "a.zip")
    assert again.problems == ()
    assert by_source_id(again.data) == by_source_id(replace(first, grades=()))
    write_oneroster(tmp_path / "b.zip", again.data, modified=MOMENT)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_two_exports_are_byte_identical(tmp_path: Path) -> None:
    data = school_data()
    shuffled = replace(
        data,
        students=tuple(reversed(data.students)),
        assignments=tuple(reversed(data.assignments)),
    )
    write_oneroster(tmp_path / "a.zip", data, modified=MOMENT)
    write_oneroster(tmp_path / "b.zip", shuffled, modified=MOMENT)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    write_oneroster(tmp_path / "c.zip", data, modified=MOMENT + timedelta(seconds=2))
    assert (tmp_path / "a.zip").read_bytes() != (tmp_path / "c.zip").read_bytes()


def test_written_files_follow_the_binding(tmp_path: Path) -> None:
    write_oneroster(tmp_path / "out.zip", school_data(), modified=MOMENT)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        names = set(archive.namelist())
        manifest = dict(csv.reader(io.StringIO(archive.read("manifest.csv").decode())))
        files = {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
            for name in names - {"manifest.csv"}
        }
    assert manifest["oneroster.version"] == "1.2"
    assert manifest["manifest.version"] == "1.0"
    for name in oneroster.FILES:
        assert manifest[f"file.{name[:-4]}"] == ("bulk" if name in names else "absent")
    for name, rows in files.items():
        columns = [c.name for c in oneroster.FILES[name] if c.required]
        for row in rows:
            assert set(columns) <= set(row), name
            assert row["status"] == "active"
            assert row["dateLastModified"] == "2026-08-20T09:00:00.000Z"
    roles = {(r["userSourcedId"], r["role"], r["roleType"]) for r in files["roles.csv"]}
    assert ("st2", "principal", "primary") in roles
    assert ("st2", "teacher", "secondary") in roles
    assert ("st2", "guardian", "secondary") in roles
    assert ("st3", "siteAdministrator", "primary") in roles
    classes = {r["sourcedId"]: r for r in files["classes.csv"]}
    assert classes["c7"]["classType"] == "homeroom"
    assert classes["a1"]["classType"] == "scheduled"
    assert classes["a1"]["title"] == "7Б Математика, алгебра"
    users = {r["sourcedId"]: r for r in files["users.csv"]}
    assert (users["s3"]["familyName"], users["s3"]["givenName"]) == ("Сидорова", "Ольга")
    assert users["g1"]["agentSourcedIds"] == "s1,s2"
    assert users["s1"]["agentSourcedIds"] == "g1"


# --- the gradebook export (both databases) ---------------------------------------------------


async def first_assignment(session: AsyncSession, school_id: int) -> TeachingAssignment:
    """The small school's first assignment: mathematics in 7B."""
    found = await session.scalars(
        select(TeachingAssignment)
        .join(SchoolClass, TeachingAssignment.class_id == SchoolClass.id)
        .where(SchoolClass.school_id == school_id)
        .order_by(TeachingAssignment.id)
    )
    return found.first()  # type: ignore[return-value]


async def _add_grades(session_factory: async_sessionmaker[AsyncSession], school_id: int) -> None:
    today = clock.school_today()
    async with session_factory() as session:
        assignment = await first_assignment(session, school_id)
        students = (
            await session.scalars(
                select(Student).where(Student.school_id == school_id).order_by(Student.id)
            )
        ).all()
        lesson = Lesson(
            assignment_id=assignment.id,
            class_id=assignment.class_id,
            subject_id=assignment.subject_id,
            date=today,
            lesson_number=2,
            starts_at=time(9, 0),
            ends_at=time(9, 45),
            topic="Дроби",
        )
        bare = Lesson(
            assignment_id=assignment.id,
            class_id=assignment.class_id,
            subject_id=assignment.subject_id,
            date=today - timedelta(days=1),
            lesson_number=3,
            starts_at=time(10, 0),
            ends_at=time(10, 45),
        )
        session.add_all([lesson, bare])
        await session.flush()

        def grade(
            student: Student,
            on: Lesson,
            value: str,
            score: float,
            kind: GradeKind,
            comment: str | None = None,
            deleted_at: datetime | None = None,
            hidden_until: date | None = None,
        ) -> Grade:
            return Grade(
                student_id=student.id,
                lesson_id=on.id,
                assignment_id=assignment.id,
                subject_id=assignment.subject_id,
                date=on.date,
                value=value,
                score=score,
                kind=kind,
                comment=comment,
                deleted_at=deleted_at,
                hidden_until=hidden_until,
            )

        session.add_all(
            [
                grade(students[0], lesson, "4+", 4.3, GradeKind.ORAL, comment="молодец"),
                grade(students[1], lesson, "5", 5.0, GradeKind.TEST),
                grade(students[1], lesson, "2", 2.0, GradeKind.ORAL, deleted_at=utcnow()),
                grade(
                    students[0],
                    lesson,
                    "3",
                    3.0,
                    GradeKind.TEST,
                    hidden_until=today + timedelta(days=3),
                ),
            ]
        )
        await session.commit()


async def test_gradebook_export(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    school = await make_small_school(session_factory)
    await _add_grades(session_factory, school.school_id)
    async with session_factory() as session:
        book = await load_gradebook(session, school.school_id)
        again = await load_gradebook(session, school.school_id)
        students = {
            s.id: s
            for s in (
                await session.scalars(select(Student).where(Student.school_id == school.school_id))
            ).all()
        }
        assignment = await first_assignment(session, school.school_id)
        periods = (
            await session.scalars(
                select(Period)
                .join(AcademicYear)
                .where(
                    AcademicYear.school_id == school.school_id, Period.kind == PeriodKind.QUARTER
                )
            )
        ).all()
    assert book == again
    today = clock.school_today()
    current = next(p for p in periods if p.starts_on <= today <= p.ends_on)
    # the bare lesson has no grades: no line item; the lesson has an oral and a test item
    assert [(i.category_id, i.day, i.title) for i in book.line_items] == [
        ("kind-oral", today, "Дроби"),
        ("kind-test", today, "Дроби"),
    ]
    for item in book.line_items:
        assert item.class_id == source_id_of(assignment)
        assert item.period_id == source_id_of(current)
        assert (item.result_min, item.result_max) == (1.0, 5.0)
    # the deleted grade is left out, the held one is in (staff see it)
    petr, maria = sorted(students)[:2]
    assert sorted((r.student_id, r.text_score, r.score) for r in book.results) == sorted(
        [
            (source_id_of(students[petr]), "4+", 4.3),
            (source_id_of(students[maria]), "5", 5.0),
            (source_id_of(students[petr]), "3", 3.0),
        ]
    )
    assert {r.comment for r in book.results} == {"молодец", None}
    assert [s.source_id for s in book.scales] == ["five"]
    assert {c.source_id for c in book.categories} == {f"kind-{k.value}" for k in GradeKind}

    # the export carries the gradebook, byte-identical twice
    data = SchoolData(SchoolInfo("Школа"), scales=book.scales)
    write_oneroster(tmp_path / "a.zip", data, book, modified=MOMENT)
    write_oneroster(tmp_path / "b.zip", data, again, modified=MOMENT)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        results = list(csv.DictReader(io.StringIO(archive.read("results.csv").decode())))
        manifest = dict(csv.reader(io.StringIO(archive.read("manifest.csv").decode())))
    assert manifest["file.results"] == manifest["file.lineItems"] == "bulk"
    assert {r["scoreStatus"] for r in results} == {"fully graded"}
    assert sorted(r["score"] for r in results) == ["3", "4.3", "5"]


async def roster_of(session: AsyncSession, school_id: int) -> SchoolData:
    """The small school as `SchoolData`, its ids from `source_id_of` (what the roster export
    will do), so the gradebook can be checked against the roster it refers to."""
    school = await session.get(School, school_id)
    assert school is not None
    year = (
        await session.scalars(select(AcademicYear).where(AcademicYear.school_id == school_id))
    ).one()
    periods = (
        await session.scalars(
            select(Period)
            .where(Period.year_id == year.id, Period.kind != PeriodKind.YEAR)
            .order_by(Period.number)
        )
    ).all()
    staff = (
        await session.scalars(select(Staff).where(Staff.school_id == school_id).order_by(Staff.id))
    ).all()
    grants = (await session.execute(select(StaffRoleGrant.staff_id, StaffRoleGrant.role))).all()
    classes = (
        await session.scalars(select(SchoolClass).where(SchoolClass.school_id == school_id))
    ).all()
    by_id = {c.id: c for c in classes}
    enrolled = dict(
        (await session.execute(select(Enrollment.student_id, Enrollment.class_id))).all()
    )
    students = (await session.scalars(select(Student).where(Student.school_id == school_id))).all()
    subjects = (await session.scalars(select(Subject).where(Subject.school_id == school_id))).all()
    scales = (
        await session.scalars(select(GradingScale).where(GradingScale.school_id == school_id))
    ).all()
    assignments = (
        await session.scalars(
            select(TeachingAssignment).where(TeachingAssignment.class_id.in_(list(by_id)))
        )
    ).all()
    staff_by_id = {s.id: s for s in staff}
    subject_by_id = {s.id: s for s in subjects}
    scale_by_id = {s.id: s for s in scales}
    return SchoolData(
        school=SchoolInfo(school.name, school.timezone),
        year=YearRow(source_id_of(year), year.name, year.starts_on, year.ends_on),
        periods=tuple(
            PeriodRow(source_id_of(p), p.kind, p.number, p.starts_on, p.ends_on) for p in periods
        ),
        scales=tuple(
            ScaleRow(s.code, s.kind, s.min_score, s.max_score, s.pass_score, s.allow_modifiers)
            for s in scales
        ),
        subjects=tuple(SubjectRow(source_id_of(s), s.name, s.short_name) for s in subjects),
        staff=tuple(
            StaffRow(source_id_of(s), s.full_name, tuple(r for i, r in grants if i == s.id))
            for s in staff
        ),
        classes=tuple(
            ClassRow(
                source_id_of(c),
                c.name,
                c.grade_level,
                source_id_of(staff_by_id[c.class_teacher_id]) if c.class_teacher_id else None,
            )
            for c in classes
        ),
        students=tuple(
            StudentRow(source_id_of(s), s.full_name, source_id_of(by_id[enrolled[s.id]]))
            for s in students
        ),
        assignments=tuple(
            AssignmentRow(
                source_id_of(a),
                source_id_of(staff_by_id[a.teacher_id]),
                source_id_of(by_id[a.class_id]),
                source_id_of(subject_by_id[a.subject_id]),
                scale_by_id[a.scale_id].code,
            )
            for a in assignments
        ),
    )


async def test_exported_gradebook_reads_back_against_its_roster(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """The whole export of a school with grades is a valid 1.2 package: every line item's
    class, period and category and every result's student and line item resolve."""
    school = await make_small_school(session_factory)
    await _add_grades(session_factory, school.school_id)
    async with session_factory() as session:
        data = await roster_of(session, school.school_id)
        book = await load_gradebook(session, school.school_id)
    write_oneroster(tmp_path / "school.zip", data, book, modified=MOMENT)
    result = read_oneroster(tmp_path / "school.zip")
    assert result.problems == ()
    assert result.data is not None
    assert by_source_id(replace(result.data, grades=())) == by_source_id(data)
    assert sorted((g.student_id, g.value, g.kind) for g in result.data.grades) == sorted(
        (r.student_id, r.text_score, GradeKind(c.category_id.removeprefix("kind-")))
        for r in book.results
        for c in book.line_items
        if c.source_id == r.line_item_id
    )


class _Row:
    __tablename__ = "students"

    def __init__(self, id: int, source_id: str | None = None) -> None:
        self.id = id
        self.source_id = source_id


def test_source_id_of_prefers_the_stored_id() -> None:
    assert source_id_of(Student(id=12, school_id=1, full_name="x")) == "#12"
    assert source_id_of(_Row(12)) == "#12"
    assert source_id_of(_Row(12, "S-0012")) == "S-0012"
