"""`SchoolData` for tests: a small school (or a large one for benchmarks), around today.

`school_data(today)` gives two classes (7А, 7Б), four staff (two teachers, a head teacher, an
admin), three subjects, two scales, six students with a guardian each (one guardian of two
children), the assignments and a weekly timetable of two lessons a day with an odd/even pair.
Sizes are parameters so `bench/roster.py` builds 2,000 students from the same code. Rows
are already `normalized`, so `snapshot(session) == school_data(today)` after an import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, time, timedelta
from typing import Any

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
    Where,
    YearRow,
)
from tests.factories import current_year_bounds

SUBJECTS = (
    ("math", "Математика", "Мат"),
    ("rus", "Русский язык", "Рус"),
    ("eng", "Английский язык", "Англ"),
    ("hist", "История", "Ист"),
    ("bio", "Биология", "Био"),
    ("phys", "Физика", "Физ"),
)
LETTERS = "АБВГДЕЖИКЛ"


def bells(count: int = 8) -> tuple[BellRow, ...]:
    """45-minute lessons from 8:30 with 10-minute breaks."""
    out = []
    for n in range(1, count + 1):
        start = 8 * 60 + 30 + (n - 1) * 55
        out.append(
            BellRow(n, time(start // 60, start % 60), time((start + 45) // 60, (start + 45) % 60))
        )
    return tuple(out)


def class_names(count: int) -> list[tuple[str, int]]:
    """(name, grade level): 7А, 7Б, … ten letters a grade, 7th to 11th grade, then 1st on."""
    out = []
    for i in range(count):
        level = 1 + (6 + i // len(LETTERS)) % 11
        out.append((f"{level}{LETTERS[i % len(LETTERS)]}", level))
    return out


def school_data(
    today: date,
    *,
    classes: int = 2,
    students_per_class: int = 3,
    subjects: int = 3,
    lessons_per_day: int = 2,
    days: int = 5,
) -> SchoolData:
    """The small school (module docstring); each class has one teacher per subject."""
    starts, ends = current_year_bounds(today)
    middle = starts + (ends - starts) / 2
    subject_rows = tuple(
        SubjectRow(f"subj-{code}", name, short) for code, name, short in SUBJECTS[:subjects]
    )
    teachers = tuple(
        StaffRow(
            f"t-{s.source_id[5:]}",
            f"Учитель {s.short_name} Иванова",
            (StaffRole.TEACHER,),
            f"+7916{100000 + i:07d}",
            None,
        )
        for i, s in enumerate(subject_rows)
    )
    staff = (
        *teachers,
        StaffRow("head", "Завуч Петрова", (StaffRole.HEAD_TEACHER, StaffRole.TEACHER)),
        StaffRow("admin", "Админ Сидоров", (StaffRole.ADMIN,), None, "admin@school.test"),
    )
    class_rows = tuple(
        ClassRow(f"c-{name}", name, level, teachers[i % len(teachers)].source_id)
        for i, (name, level) in enumerate(class_names(classes))
    )
    students, guardians = _people(class_rows, students_per_class)
    assignments = tuple(
        AssignmentRow(
            f"a-{c.name}-{s.source_id[5:]}",
            teacher.source_id,
            c.source_id,
            s.source_id,
            "five" if j else "ten",
        )
        for c in class_rows
        for j, (s, teacher) in enumerate(zip(subject_rows, teachers, strict=True))
    )
    timetable = tuple(_week(class_rows, subject_rows, teachers, lessons_per_day, days))
    return SchoolData(
        school=SchoolInfo("Школа № 1", "Europe/Moscow", "RU"),
        year=YearRow("y1", f"{starts.year}/{starts.year + 1}", starts, ends),
        periods=(
            PeriodRow("p1", PeriodKind.SEMESTER, 1, starts, middle),
            PeriodRow("p2", PeriodKind.SEMESTER, 2, middle + timedelta(days=1), ends),
        ),
        holidays=(
            HolidayRow("h1", "Каникулы", today + timedelta(days=15), today + timedelta(days=20)),
        ),
        bells=bells(max(lessons_per_day, 6)),
        scales=(
            ScaleRow("five", ScaleKind.FIVE, 1, 5, 3, True),
            ScaleRow("ten", ScaleKind.TEN, 1, 10, 4),
        ),
        subjects=subject_rows,
        staff=staff,
        classes=class_rows,
        students=students,
        guardians=guardians,
        assignments=assignments,
        timetable=timetable,
        origins={
            ("students", s.source_id): Where("students", i + 2) for i, s in enumerate(students)
        },
    )


def _people(
    class_rows: Iterable[ClassRow], per_class: int
) -> tuple[tuple[StudentRow, ...], tuple[GuardianRow, ...]]:
    students: list[StudentRow] = []
    guardians: list[GuardianRow] = []
    for c in class_rows:
        for k in range(per_class):
            n = len(students)
            sid = f"s{n:05d}"
            students.append(
                StudentRow(
                    sid, f"Ученик{n} Тестов", c.source_id, date(2013, 1 + n % 12, 1 + n % 28)
                )
            )
            guardians.append(
                GuardianRow(
                    f"g{n:05d}", f"Родитель{n} Тестова", (sid,), f"+7926{n:07d}", None, "мать"
                )
            )
            if k == 1:  # one guardian of two children in the class
                previous = guardians[-2]
                guardians[-2] = dataclasses.replace(
                    previous, student_ids=tuple(sorted({*previous.student_ids, sid}))
                )
    return tuple(students), tuple(guardians)


def _week(
    class_rows: Iterable[ClassRow],
    subject_rows: tuple[SubjectRow, ...],
    teachers: tuple[StaffRow, ...],
    per_day: int,
    days: int,
) -> Iterable[SlotRow]:
    """Each class: `per_day` lessons on each of `days` weekdays; Monday's first lesson is an
    odd/even pair of the first two subjects."""
    for ci, c in enumerate(class_rows):
        for day in range(1, days + 1):
            for number in range(1, per_day + 1):
                j = (ci + day + number) % len(subject_rows)
                pair = day == 1 and number == 1 and len(subject_rows) > 1
                picks: list[tuple[int, SlotFrequency]] = (
                    [(0, SlotFrequency.ODD), (1, SlotFrequency.EVEN)]
                    if pair
                    else [(j, SlotFrequency.WEEKLY)]
                )
                for k, freq in picks:
                    yield SlotRow(
                        f"{c.source_id}-{day}-{number}-{k}",
                        day,
                        number,
                        c.source_id,
                        subject_rows[k].source_id,
                        teachers[k].source_id,
                        f"{100 + ci}",
                        freq,
                    )


def without_origins(data: SchoolData) -> dict[str, Any]:
    """Every field but `origins`, rows as sets (order-free), for comparing two pictures."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        if f.name == "origins":
            continue
        out[f.name] = set(value) if isinstance(value, tuple) else value
    return out
