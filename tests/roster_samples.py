"""A small but complete `SchoolData` for the roster readers and writers' tests."""

from __future__ import annotations

import struct
import zipfile
from datetime import date, time
from pathlib import Path

from db.enums import PeriodKind, ScaleKind, SlotFrequency, StaffRole
from services.roster.model import (
    AssignmentRow,
    BellRow,
    ClassRow,
    GuardianRow,
    HolidayRow,
    PeriodRow,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    SlotRow,
    StaffRow,
    StudentRow,
    SubjectRow,
    YearRow,
)


def school_data(students_per_class: int = 3) -> SchoolData:
    """Two classes, three staff (one with two roles, one without phone), guardians with two
    children, odd/even timetable lines, a pass/fail scale and a ten-point one with modifiers."""
    staff = (
        StaffRow(
            "t-1",
            "Иванова Мария Петровна",
            (StaffRole.TEACHER,),
            "+79161234567",
            "iv@school.example",
        ),
        StaffRow("t-2", "Сидоров Пётр", (StaffRole.TEACHER, StaffRole.HEAD_TEACHER), None, None),
        StaffRow("adm", "Admin O'Brien", (StaffRole.ADMIN,), "+375291234567", None),
    )
    classes = (
        ClassRow("c-7b", "7Б", 7, "t-1"),
        ClassRow("c-11a", "11А", 11, None),
    )
    students = tuple(
        StudentRow(
            f"s-{c.source_id}-{n}",
            f"Ученик {n} {c.name}",
            c.source_id,
            date(2013, 1 + n % 12, 1 + n % 28) if n % 2 else None,
        )
        for c in classes
        for n in range(1, students_per_class + 1)
    )
    guardians = (
        GuardianRow(
            "g-1",
            "Петрова Анна",
            (students[0].source_id, students[-1].source_id),
            "+74951234567",
            "anna@mail.example",
            "мать",
        ),
        GuardianRow("g-2", "Петров Олег", (students[1].source_id,), None, None, None),
    )
    return SchoolData(
        school=SchoolInfo("Гимназия № 57 «Парта»", "Europe/Minsk", "BY"),
        year=YearRow("2026-27", "2026/2027", date(2026, 9, 1), date(2027, 5, 31)),
        periods=(
            PeriodRow("s1", PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 27)),
            PeriodRow("s2", PeriodKind.SEMESTER, 2, date(2027, 1, 11), date(2027, 5, 31)),
            PeriodRow("y", PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31)),
        ),
        holidays=(HolidayRow("winter", "Зимние каникулы", date(2026, 12, 28), date(2027, 1, 10)),),
        bells=(BellRow(1, time(8, 30), time(9, 15)), BellRow(2, time(9, 25), time(10, 10))),
        scales=(
            ScaleRow("five", ScaleKind.FIVE, 2.0, 5.0, 3.0, True),
            ScaleRow("ten", ScaleKind.TEN, 1.0, 10.0, 4.0, False),
            ScaleRow("pf", ScaleKind.PASS_FAIL, 0.0, 1.0, 1.0, False),
        ),
        subjects=(
            SubjectRow("math", "Математика", "Матем."),
            SubjectRow("pe", "Физкультура", "Физ-ра"),
        ),
        staff=staff,
        classes=classes,
        students=students,
        guardians=guardians,
        assignments=(
            AssignmentRow("a-1", "t-1", "c-7b", "math", "five"),
            AssignmentRow("a-2", "t-2", "c-11a", "pe", "pf"),
        ),
        timetable=(
            SlotRow("tt-1", 1, 1, "c-7b", "math", "t-1", "214", SlotFrequency.WEEKLY),
            SlotRow("tt-2", 3, 2, "c-11a", "pe", "t-2", None, SlotFrequency.ODD),
            SlotRow("tt-3", 3, 2, "c-7b", "pe", "t-2", "Спортзал", SlotFrequency.EVEN),
        ),
    )


def mangled_zip(source: Path, target: Path, member: str, how: str) -> Path:
    """`source` with one member spoilt the way real archives are: ``deflate64`` (a compression
    method Python cannot read, which some Windows tools use), ``encrypted`` (a password-protected
    member), ``corrupt`` (its compressed bytes damaged, CRC and sizes intact)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    central = data.find(b"PK\x01\x02")
    while central != -1:  # the member's entry of the central directory
        length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + length] == member.encode():
            break
        central = data.find(b"PK\x01\x02", central + 4)
    if how == "deflate64":
        struct.pack_into("<H", data, local + 8, 9)
        struct.pack_into("<H", data, central + 10, 9)
    elif how == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    elif how == "corrupt":
        name, extra = struct.unpack_from("<HH", data, local + 26)
        start = local + 30 + name + extra
        for index in range(start + 2, start + 40):
            data[index] ^= 0x5A
    else:
        raise ValueError(how)
    target.write_bytes(bytes(data))
    return target
