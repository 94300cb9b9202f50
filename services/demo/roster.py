"""The demo school's roster as `SchoolData`: what the shipped workbook `school.xlsx` holds.

`demo_roster` makes it from `content` (deterministic for a size, a seed and a school year):
the school, the year with its quarters and holidays, bells, scales, subjects, teachers hired
by subject group, classes with their class teachers, students and their guardians on file,
teaching assignments and a weekly timetable without clashes. `school.xlsx` is
`demo_roster()` for the default size and seed in the year starting in September
`REFERENCE_YEAR`, written by `python -m bot.demo_workbook` (a test checks it still reads back
equal to what the generator makes).

`load_roster` is what `parta demo seed` imports: the shipped workbook read by the school
workbook reader, moved to the school year of the demo's day when that is another year (the
calendar sheets replaced by that year's, birth dates moved by as many years); another size or
seed is generated in memory by `demo_roster` and goes through the same planner and applier.

Rows have readable source ids; the people behind the demo accounts have fixed ones
(`STAFF_IDS`, `STUDENT_IDS`, `MOTHER_ID`), which the builder looks them up by.
"""

from __future__ import annotations

import functools
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from db.enums import PeriodKind, SlotFrequency, StaffRole
from services.core.grading import DEFAULT_SCALES
from services.demo.content import (
    BELLS,
    DEFAULT_STUDENTS,
    DEMO_CLASS,
    DEMO_SCHOOL_NAME,
    DEMO_TIMEZONE,
    GYM,
    HOLIDAY_KEYS,
    NAMES,
    PHONES,
    SIBLING_CLASS,
    SUBJECTS,
    TEACHER_HOURS,
    Calendar,
    Item,
    Names,
    class_layout,
    demo_family,
    scale_code,
    week_plan,
)
from services.roster.model import (
    AssignmentRow,
    BellRow,
    ClassRow,
    GuardianRow,
    HolidayRow,
    PeriodRow,
    ReadResult,
    ScaleRow,
    SchoolData,
    SchoolInfo,
    SlotRow,
    StaffRow,
    StudentRow,
    SubjectRow,
    YearRow,
)

#: the shipped workbook's school year starts in September of this year
REFERENCE_YEAR = 2026
DEFAULT_SEED = 20261128
WORKBOOK = Path(__file__).resolve().parent / "school.xlsx"

#: subject name → its source id
SUBJECT_IDS: dict[str, str] = dict(
    zip(
        (s[0] for s in SUBJECTS),
        ("math", "rus", "lit", "eng", "hist", "soc", "geo", "bio", "chem", "phys", "inf", "pe"),
        strict=True,
    )
)
#: demo role → source id of the staff member behind the account
STAFF_IDS = {
    "admin": "admin",
    "head_teacher": "head-teacher",
    "class_teacher": "class-teacher",
    "teacher": "teacher",
}
#: the demo student and their sibling (another class), both children of the demo parents
STUDENT_IDS = {"student": "student", "sibling": "sibling"}
MOTHER_ID, FATHER_ID = "mother", "father"


class WorkbookError(RuntimeError):
    """The shipped workbook does not read cleanly (a broken install or a bad edit)."""


def class_id(name: str) -> str:
    return name.lower()


def year_id(first: int) -> str:
    return f"{first}-{(first + 1) % 100:02d}"


def calendar_rows(
    calendar: Calendar,
) -> tuple[YearRow, tuple[PeriodRow, ...], tuple[HolidayRow, ...]]:
    """The year, its four quarters and the year as a period, and its holidays."""
    yid = year_id(calendar.first)
    year = YearRow(yid, calendar.name, calendar.starts_on, calendar.ends_on)
    periods = [
        PeriodRow(f"{yid}-q{n}", PeriodKind.QUARTER, n, s, e)
        for n, (s, e) in enumerate(calendar.quarters(), 1)
    ]
    periods.append(PeriodRow(f"{yid}-year", PeriodKind.YEAR, 1, year.starts_on, year.ends_on))
    holidays = tuple(
        HolidayRow(f"{yid}-{key}", name, s, e)
        for key, (name, s, e) in zip(HOLIDAY_KEYS, calendar.holidays(), strict=True)
    )
    return year, tuple(periods), holidays


def load_roster(students: int, rng_seed: int, first: int) -> SchoolData:
    """The roster `parta demo seed` imports (module docstring) for the school year starting
    in September `first`. Raises `WorkbookError` when the shipped workbook has problems."""
    if students != DEFAULT_STUDENTS or rng_seed != DEFAULT_SEED:
        return demo_roster(students, rng_seed, first)
    stat = WORKBOOK.stat()
    return move_to_year(replace(_shipped(stat.st_mtime_ns, stat.st_size)), first)


@functools.lru_cache(maxsize=1)
def _shipped(mtime_ns: int, size: int) -> SchoolData:
    """The shipped workbook read by the school workbook reader, once per process (and again
    when the file changes): the tests seed the demo school many times."""
    from services.roster.workbook import read_school

    return checked(read_school(WORKBOOK))


def checked(result: ReadResult) -> SchoolData:
    if not result.ok or result.data is None:
        shown = "; ".join(f"{p.where.sheet}:{p.where.line} {p.key}" for p in result.problems[:5])
        raise WorkbookError(f"{WORKBOOK.name} does not read cleanly: {shown}")
    return result.data


def move_to_year(data: SchoolData, first: int) -> SchoolData:
    """`data` (the shipped workbook) in the school year starting in September `first`: the
    same when it is the workbook's year; otherwise that year's calendar, and birth dates
    moved by as many years, so the children are as old as in the workbook."""
    if data.year is None or data.year.starts_on.year == first:
        return data
    shift = first - data.year.starts_on.year
    year, periods, holidays = calendar_rows(Calendar(first))
    students = tuple(
        replace(s, birth_date=_years_later(s.birth_date, shift)) for s in data.students
    )
    return replace(data, year=year, periods=periods, holidays=holidays, students=students)


def _years_later(day: date | None, years: int) -> date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def demo_roster(
    students: int = DEFAULT_STUDENTS, rng_seed: int = DEFAULT_SEED, first: int = REFERENCE_YEAR
) -> SchoolData:
    """The demo school's roster: `students` spread over classes of ~25, in the school year
    starting in September `first`, names and the timetable drawn from `rng_seed`."""
    return _Roster(random.Random(rng_seed), Calendar(first), students).build()


@dataclass
class _Teacher:
    index: int
    group: str
    name: str
    phone: str
    source_id: str
    load: int = 0
    classes: list[int] = field(default_factory=list)
    room: str = ""


class _Roster:
    def __init__(self, rng: random.Random, calendar: Calendar, students: int) -> None:
        self.rng = rng
        self.names = Names(rng)
        self.calendar = calendar
        self.layout = class_layout(students)
        self.plans: list[list[Item]] = [week_plan(level) for _, level, _size in self.layout]
        self.group_of = {s[0]: s[2] for s in SUBJECTS}

    def build(self) -> SchoolData:
        year, periods, holidays = calendar_rows(self.calendar)
        staff = self._staff()
        classes = self._classes()
        students, guardians = self._students()
        assignments = self._assignments()
        timetable = self._timetable()
        return SchoolData(
            school=SchoolInfo(DEMO_SCHOOL_NAME, DEMO_TIMEZONE, "RU"),
            year=year,
            periods=periods,
            holidays=holidays,
            bells=tuple(BellRow(n, s, e) for n, (s, e) in enumerate(BELLS, 1)),
            scales=tuple(
                ScaleRow(
                    code,
                    spec["kind"],
                    spec["min_score"],
                    spec["max_score"],
                    spec["pass_score"],
                    spec["allow_modifiers"],
                )
                for code, spec in DEFAULT_SCALES.items()
            ),
            subjects=tuple(SubjectRow(SUBJECT_IDS[n], n, short) for n, short, _, _ in SUBJECTS),
            staff=staff,
            classes=classes,
            students=students,
            guardians=guardians,
            assignments=assignments,
            timetable=timetable,
        )

    # -- staff ----------------------------------------------------------------------------

    def _staff(self) -> tuple[StaffRow, ...]:
        """Teachers by subject group (about 24 lessons a week each), head teacher, admin."""
        self._hire()
        rows = [StaffRow(t.source_id, t.name, (StaffRole.TEACHER,), t.phone) for t in self.teachers]
        rows += [
            StaffRow(STAFF_IDS[role], NAMES[role], (grant,), PHONES[role])
            for role, grant in (
                ("head_teacher", StaffRole.HEAD_TEACHER),
                ("admin", StaffRole.ADMIN),
            )
        ]
        return tuple(rows)

    def _hire(self) -> None:
        """Enough teachers per subject group for every class's week, each up to
        `TEACHER_HOURS`; the first of mathematics and of Russian are the demo teacher and class
        teacher. Each gets a room (the gym for physical education)."""
        rng, names = self.rng, self.names
        self.teachers: list[_Teacher] = []
        self.teacher_of: dict[tuple[int, str], _Teacher] = {}  # (class index, group) → teacher
        fixed = {"math": "teacher", "rus": "class_teacher"}
        current: dict[str, _Teacher] = {}
        for ci, items in enumerate(self.plans):
            for group, hours in self._group_hours(items).items():
                teacher = current.get(group)
                if teacher is None or teacher.load + hours > TEACHER_HOURS:
                    role = fixed.pop(group, None)
                    index = len(self.teachers)
                    teacher = _Teacher(
                        index=index,
                        group=group,
                        name=NAMES[role] if role else names.person(female=rng.random() < 0.8),
                        phone=PHONES[role] if role else names.phone(),
                        source_id=STAFF_IDS[role] if role else f"t-{index + 1:03d}",
                    )
                    self.teachers.append(teacher)
                    current[group] = teacher
                teacher.load += hours
                teacher.classes.append(ci)
                self.teacher_of[ci, group] = teacher
        room_no = 0
        for teacher in self.teachers:
            if teacher.group == "pe":
                teacher.room = GYM
            else:
                room_no += 1
                teacher.room = f"{1 + (room_no - 1) // 15}{(room_no - 1) % 15 + 1:02d}"

    def _group_hours(self, items: list[Item]) -> dict[str, int]:
        """Weekly hours of a class per teacher group, in the order the groups first appear."""
        load: dict[str, int] = defaultdict(int)
        for item in items:
            for subject in item.subjects:
                load[self.group_of[subject]] += item.hours
        return load

    # -- classes and people ---------------------------------------------------------------

    def _classes(self) -> tuple[ClassRow, ...]:
        """Classes with their class teachers (the demo class teacher's is 7B)."""
        used: set[int] = set()
        rows = []
        demo_teachers = set(STAFF_IDS.values())
        for ci, (name, level, _size) in enumerate(self.layout):
            teacher: _Teacher | None = None
            if name == DEMO_CLASS:
                teacher = next(
                    t for t in self.teachers if t.source_id == STAFF_IDS["class_teacher"]
                )
            else:
                eligible = [
                    t
                    for t in self.teachers
                    if t.index not in used and t.source_id not in demo_teachers and t.group != "pe"
                ]
                teacher = next((t for t in eligible if ci in t.classes), None) or next(
                    iter(eligible), None
                )
            if teacher is None:  # more classes than teachers: share
                teacher = self.teachers[ci % len(self.teachers)]
            used.add(teacher.index)
            rows.append(ClassRow(class_id(name), name, level, teacher.source_id))
        return tuple(rows)

    def _students(self) -> tuple[tuple[StudentRow, ...], tuple[GuardianRow, ...]]:
        """Every class's students (the demo child and sibling first in their classes) and
        their guardians on file (one row per phone: the demo parents have both children)."""
        rng, names = self.rng, self.names
        students: list[StudentRow] = []
        guardians: dict[str, tuple[str, str, str, list[str]]] = {}  # phone → (sid, name, …)
        born_in = self.calendar.starts_on.year
        for name, level, size in self.layout:
            born = born_in - level - 7
            for k in range(size):
                birth = date(born, 9, 1) + timedelta(days=rng.randrange(365))
                if name == DEMO_CLASS and k == 0:
                    sid, full, family = STUDENT_IDS["student"], NAMES["student"], demo_family()
                elif name == SIBLING_CLASS and k == 0:
                    sid, full, family = STUDENT_IDS["sibling"], NAMES["sibling"], demo_family()
                else:
                    sid = f"s-{len(students) + 1:04d}"
                    full, surname, father = names.student()
                    family = names.family(surname, father)
                students.append(StudentRow(sid, full, class_id(name), birth))
                for person, phone, relation in family:
                    if phone not in guardians:
                        gid = {PHONES["mother"]: MOTHER_ID, PHONES["father"]: FATHER_ID}.get(
                            phone, f"g-{len(guardians) + 1:04d}"
                        )
                        guardians[phone] = (gid, person, relation, [])
                    guardians[phone][3].append(sid)
        rows = tuple(
            GuardianRow(gid, person, tuple(children), phone, None, relation)
            for phone, (gid, person, relation, children) in guardians.items()
        )
        return tuple(students), rows

    # -- teaching -------------------------------------------------------------------------

    def _assignments(self) -> tuple[AssignmentRow, ...]:
        rows = []
        for ci, items in enumerate(self.plans):
            name, level, _size = self.layout[ci]
            for subject in dict.fromkeys(s for item in items for s in item.subjects):
                rows.append(
                    AssignmentRow(
                        f"{class_id(name)}-{SUBJECT_IDS[subject]}",
                        self.teacher_of[ci, self.group_of[subject]].source_id,
                        class_id(name),
                        SUBJECT_IDS[subject],
                        scale_code(subject, level),
                    )
                )
        return tuple(rows)

    def _timetable(self) -> tuple[SlotRow, ...]:
        """Mon–Fri, 5–6 lessons a day, no teacher in two rooms at once when it can be helped."""
        busy: set[tuple[int, int, int]] = set()  # (teacher index, weekday, lesson number)
        rows: list[SlotRow] = []
        self.clashes = 0
        for ci, items in enumerate(self.plans):
            cid = class_id(self.layout[ci][0])
            for (weekday, number), item in sorted(self._place(ci, items, busy).items()):
                alternating = len(item.subjects) > 1
                freqs = (
                    (SlotFrequency.ODD, SlotFrequency.EVEN)
                    if alternating
                    else (SlotFrequency.WEEKLY,)
                )
                for subject, freq in zip(item.subjects, freqs, strict=True):
                    teacher = self.teacher_of[ci, self.group_of[subject]]
                    suffix = f"-{freq.value}" if alternating else ""
                    rows.append(
                        SlotRow(
                            f"{cid}-{weekday}-{number}{suffix}",
                            weekday,
                            number,
                            cid,
                            SUBJECT_IDS[subject],
                            teacher.source_id,
                            teacher.room,
                            freq,
                        )
                    )
        return tuple(rows)

    def _place(
        self, ci: int, items: list[Item], busy: set[tuple[int, int, int]]
    ) -> dict[tuple[int, int], Item]:
        """Greedy placement of one class's week; a clash is first solved by one swap."""
        rng = self.rng
        total = sum(item.hours for item in items)
        base, extra = divmod(total, 5)
        long_days = {(ci + k) % 5 + 1 for k in range(extra)}
        free = [(wd, n) for wd in range(1, 6) for n in range(1, base + (wd in long_days) + 1)]
        placed: dict[tuple[int, int], Item] = {}
        on_day: dict[tuple[int, str], int] = defaultdict(int)

        def staff(item: Item) -> set[int]:
            return {self.teacher_of[ci, self.group_of[s]].index for s in item.subjects}

        def can(item: Item, pos: tuple[int, int], leaving: set[int] = set()) -> bool:  # noqa: B006
            return all(t in leaving or (t, *pos) not in busy for t in staff(item))

        def put(item: Item, pos: tuple[int, int], sign: int = 1) -> None:
            for t in staff(item):
                if sign > 0:
                    busy.add((t, *pos))
                else:
                    busy.discard((t, *pos))
            for subject in item.subjects:
                on_day[pos[0], subject] += sign
            if sign > 0:
                placed[pos] = item

        for item in sorted(items, key=lambda it: (-len(it.subjects), -it.hours)):
            for _ in range(item.hours):
                costs = [
                    (
                        100 * (not can(item, pos))
                        + 10 * sum(on_day[pos[0], s] for s in item.subjects),
                        rng.random(),
                        pos,
                    )
                    for pos in free
                ]
                pos = min(costs)[2]
                if not can(item, pos):
                    swap = next(
                        (
                            (q, p)
                            for q, other in placed.items()
                            if can(item, q, staff(other))
                            for p in free
                            if can(other, p)
                        ),
                        None,
                    )
                    if swap is None:
                        self.clashes += 1
                    else:
                        q, p = swap
                        other = placed[q]
                        put(other, q, -1)
                        put(other, p)
                        free[free.index(p)] = q
                        pos = q
                free.remove(pos)
                put(item, pos)
        return placed
