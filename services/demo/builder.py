"""Writes the demo school (`services.demo.content`) into the database.

Everything is built in Python and written with a few bulk INSERTs in one transaction, so a
school of a thousand students and a year of lessons is seeded in seconds. The content is
deterministic for a given `rng_seed` and `today`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base, utcnow
from db.enums import (
    AttendanceStatus,
    GradeKind,
    LinkMethod,
    PeriodKind,
    SlotFrequency,
    StaffRole,
    SubmissionStatus,
    TrustScope,
)
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    Comment,
    Enrollment,
    Grade,
    GradingScale,
    Guardian,
    Guardianship,
    Holiday,
    Homework,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from services.core.grading import DEFAULT_SCALES, ScaleSpec, parse_grade, period_value
from services.core.timetable import generate_lessons
from services.demo.accounts import SeedResult, demo_accounts
from services.demo.content import (
    BELLS,
    DEFAULT_STUDENTS,
    DEMO_CLASS,
    DEMO_SCHOOL_NAME,
    DEMO_TELEGRAM_IDS,
    DEMO_TIMEZONE,
    GYM,
    MATH,
    NAMES,
    PHONES,
    SIBLING_CLASS,
    SUBJECTS,
    SUBMISSIONS,
    TEACHER_HOURS,
    THREAD,
    THREAD_GRADE,
    TRUSTED_LABEL,
    Item,
    Names,
    attendance_mark,
    calendar_of,
    class_layout,
    demo_family,
    grade_comment,
    grade_kind,
    grade_value,
    homework_text,
    lesson_kind,
    lesson_topic,
    moscow_today,
    scale_code,
    school_day,
    utc,
    week_plan,
)


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    students: int | None = None,
    weeks: int = 4,
    today: date | None = None,
    rng_seed: int = 20261128,
) -> SeedResult:
    """Create the demo school in one transaction, or return its accounts if it exists.

    `students` (default 75) are spread over classes of ~25; lessons cover `weeks` weeks before
    `today` (default: today in Moscow; in the summer holidays and early September the last day
    of the school year that ended) and two weeks after it.
    """
    if weeks < 0:
        raise ValueError("weeks must not be negative")
    total = DEFAULT_STUDENTS if students is None else students
    if total < 1:
        raise ValueError("students must be positive")
    day = school_day(today or moscow_today(), weeks)
    async with session_factory() as session, session.begin():
        school_id = await session.scalar(select(School.id).where(School.name == DEMO_SCHOOL_NAME))
        if school_id is not None:
            return SeedResult(await demo_accounts(session, day), created=False, counts={})
        builder = _Builder(session, random.Random(rng_seed), day, total, weeks)
        await builder.build()
        return SeedResult(await demo_accounts(session, day), created=True, counts=builder.counts)


@dataclass
class _Teacher:
    index: int
    group: str
    name: str
    phone: str
    role_key: str | None = None  # "teacher"/"class_teacher" for the demo accounts
    load: int = 0
    classes: list[int] = field(default_factory=list)
    room: str = ""
    id: int = 0


@dataclass
class _JournalRows:
    """The rows the journal's past lessons add (topics are updates of the lessons)."""

    topics: list[dict[str, Any]] = field(default_factory=list)
    homework: list[dict[str, Any]] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    """Builds one demo school: `build` runs the steps in order, each reading what the
    earlier ones left on `self` (ids, the class layout, the teachers, the students)."""

    def __init__(
        self, session: AsyncSession, rng: random.Random, today: date, students: int, weeks: int
    ) -> None:
        self.session = session
        self.rng = rng
        self.names = Names(rng)
        self.today = today
        self.weeks = weeks
        self.layout = class_layout(students)
        self.counts: dict[str, int] = {}
        self.now = utcnow()
        self.scale_specs = {code: ScaleSpec(**kw) for code, kw in DEFAULT_SCALES.items()}
        self.score_cache: dict[tuple[str, str], float] = {}
        self.group_of = {s[0]: s[2] for s in SUBJECTS}

    # -- helpers --------------------------------------------------------------------------

    async def _insert(
        self, model: type[Base], rows: Sequence[dict[str, Any]], *, ids: bool = False
    ) -> list[int]:
        name = model.__tablename__
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        if not rows:
            return []
        if ids:
            column = model.__table__.c.id
            stmt = insert(model).returning(column, sort_by_parameter_order=True)
            return list((await self.session.scalars(stmt, rows)).all())
        await self.session.execute(insert(model), rows)
        return []

    def _score(self, code: str, value: str) -> float:
        key = (code, value)
        if key not in self.score_cache:
            self.score_cache[key] = parse_grade(self.scale_specs[code], value).score
        return self.score_cache[key]

    # -- build ----------------------------------------------------------------------------

    async def build(self) -> None:
        await self._school()
        await self._accounts()
        await self._staff()
        await self._classes()
        await self._people()
        await self._timetable()
        start = self.today - timedelta(weeks=self.weeks)
        self.counts["lessons"] = await generate_lessons(
            self.session,
            class_ids=list(self.class_ids),
            start=max(start, self.year_start),
            end=self.today + timedelta(days=14),
        )
        self.lessons_from = max(start, self.year_start)
        await self._journal()
        await self._family_activity()

    async def _school(self) -> None:
        """The school, its current year with holidays and quarters, scales and subjects."""
        year = calendar_of(self.today)
        self.year_start, self.year_end = year.starts_on, year.ends_on
        (self.school_id,) = await self._insert(
            School, [{"name": DEMO_SCHOOL_NAME, "timezone": DEMO_TIMEZONE}], ids=True
        )
        (self.year_id,) = await self._insert(
            AcademicYear,
            [
                {
                    "school_id": self.school_id,
                    "name": year.name,
                    "starts_on": self.year_start,
                    "ends_on": self.year_end,
                    "is_current": True,
                }
            ],
            ids=True,
        )
        await self._insert(
            Holiday,
            [
                {"school_id": self.school_id, "name": n, "starts_on": s, "ends_on": e}
                for n, s, e in year.holidays()
            ],
        )
        self.quarters = year.quarters()
        periods = [
            {"year_id": self.year_id, "kind": PeriodKind.QUARTER, "number": n, "starts_on": s,
             "ends_on": e}
            for n, (s, e) in enumerate(self.quarters, 1)
        ]  # fmt: skip
        periods.append(
            {"year_id": self.year_id, "kind": PeriodKind.YEAR, "number": 1,
             "starts_on": self.year_start, "ends_on": self.year_end}
        )  # fmt: skip
        self.period_ids = await self._insert(Period, periods, ids=True)
        await self._scales_and_subjects()

    async def _scales_and_subjects(self) -> None:
        codes = list(DEFAULT_SCALES)
        scale_ids = await self._insert(
            GradingScale,
            [{"school_id": self.school_id, "code": c, **DEFAULT_SCALES[c]} for c in codes],
            ids=True,
        )
        self.scale_ids = dict(zip(codes, scale_ids, strict=True))
        subject_ids = await self._insert(
            Subject,
            [{"school_id": self.school_id, "name": n, "short_name": s} for n, s, _, _ in SUBJECTS],
            ids=True,
        )
        self.subject_ids = dict(zip((s[0] for s in SUBJECTS), subject_ids, strict=True))

    async def _accounts(self) -> None:
        """The seven demo accounts (an account already holding a demo id is reused)."""
        names = {**NAMES, "parent": NAMES["mother"]}
        phones = {**PHONES, "parent": PHONES["mother"]}
        result = await self.session.execute(
            select(Account.telegram_id, Account.id).where(
                Account.telegram_id.in_(DEMO_TELEGRAM_IDS.values())
            )
        )
        existing: dict[int, int] = dict(result.all())
        missing = [role for role, tid in DEMO_TELEGRAM_IDS.items() if tid not in existing]
        rows: list[dict[str, Any]] = [
            {
                "telegram_id": DEMO_TELEGRAM_IDS[role],
                "full_name": names[role],
                "phone": phones.get(role),
                "locale": None,
            }
            for role in missing
        ]
        new_ids = await self._insert(Account, rows, ids=True)
        by_tid = {**existing, **{r["telegram_id"]: i for r, i in zip(rows, new_ids, strict=True)}}
        self.account_ids = {role: by_tid[tid] for role, tid in DEMO_TELEGRAM_IDS.items()}

    async def _staff(self) -> None:
        """Teachers by subject group (about 24 lessons a week each), head teacher, admin."""
        self.plans: list[list[Item]] = [week_plan(level) for _, level, _size in self.layout]
        self._hire()
        people = [(t.role_key, t.name, t.phone) for t in self.teachers]
        people += [(role, NAMES[role], PHONES[role]) for role in ("head_teacher", "admin")]
        rows = [
            {
                "school_id": self.school_id,
                "account_id": self.account_ids[role] if role else None,
                "full_name": name,
                "phone": phone,
                "email": None,
            }
            for role, name, phone in people
        ]
        ids = await self._insert(Staff, rows, ids=True)
        for teacher, staff_id in zip(self.teachers, ids, strict=False):
            teacher.id = staff_id
        head_id, admin_id = ids[-2:]
        grants = [{"staff_id": t.id, "role": StaffRole.TEACHER} for t in self.teachers]
        grants += [
            {"staff_id": head_id, "role": StaffRole.HEAD_TEACHER},
            {"staff_id": admin_id, "role": StaffRole.ADMIN},
        ]
        await self._insert(StaffRoleGrant, grants)

    def _hire(self) -> None:
        """Enough teachers per subject group for every class's week, each up to
        `TEACHER_HOURS`; the first of mathematics and of Russian are the demo teacher and class
        teacher. Each gets a room (the gym for physical education)."""
        rng, names = self.rng, self.names
        self.teachers: list[_Teacher] = []
        self.teacher_of: dict[tuple[int, str], _Teacher] = {}  # (class index, group) → teacher
        fixed = {
            "math": ("teacher", NAMES["teacher"]),
            "rus": ("class_teacher", NAMES["class_teacher"]),
        }
        current: dict[str, _Teacher] = {}
        for ci, items in enumerate(self.plans):
            for group, hours in self._group_hours(items).items():
                teacher = current.get(group)
                if teacher is None or teacher.load + hours > TEACHER_HOURS:
                    role_key, name = fixed.pop(group, (None, ""))
                    teacher = _Teacher(
                        index=len(self.teachers),
                        group=group,
                        name=name or names.person(female=rng.random() < 0.8),
                        phone=PHONES[role_key] if role_key else names.phone(),
                        role_key=role_key,
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

    async def _classes(self) -> None:
        """Classes with their class teachers, and the teaching assignments."""
        used: set[int] = set()
        heads: list[_Teacher] = []
        for ci, (name, _level, _size) in enumerate(self.layout):
            teacher: _Teacher | None = None
            if name == DEMO_CLASS:
                teacher = next(t for t in self.teachers if t.role_key == "class_teacher")
            else:
                eligible = [
                    t
                    for t in self.teachers
                    if t.index not in used and t.role_key is None and t.group != "pe"
                ]
                teacher = next((t for t in eligible if ci in t.classes), None) or next(
                    iter(eligible), None
                )
            if teacher is None:  # more classes than teachers: share
                teacher = self.teachers[ci % len(self.teachers)]
            used.add(teacher.index)
            heads.append(teacher)
        rows = [
            {
                "school_id": self.school_id,
                "year_id": self.year_id,
                "name": name,
                "grade_level": level,
                "class_teacher_id": heads[ci].id,
            }
            for ci, (name, level, _size) in enumerate(self.layout)
        ]
        self.class_ids = await self._insert(SchoolClass, rows, ids=True)
        self.class_index = {name: ci for ci, (name, _, _) in enumerate(self.layout)}

        group_of = self.group_of
        keys: list[tuple[int, str]] = []
        rows = []
        for ci, items in enumerate(self.plans):
            level = self.layout[ci][1]
            subjects = dict.fromkeys(s for item in items for s in item.subjects)
            for subject in subjects:
                keys.append((ci, subject))
                rows.append(
                    {
                        "teacher_id": self.teacher_of[ci, group_of[subject]].id,
                        "class_id": self.class_ids[ci],
                        "subject_id": self.subject_ids[subject],
                        "scale_id": self.scale_ids[scale_code(subject, level)],
                    }
                )
        ids = await self._insert(TeachingAssignment, rows, ids=True)
        self.assignment_of = dict(zip(keys, ids, strict=True))
        self.assignment_info: dict[int, tuple[int, str, _Teacher, str]] = {
            aid: (
                ci,
                subject,
                self.teacher_of[ci, group_of[subject]],
                scale_code(subject, self.layout[ci][1]),
            )
            for (ci, subject), aid in self.assignment_of.items()
        }

    async def _people(self) -> None:
        """Students, guardians on file and the demo family's links."""
        families = await self._students()
        mother_id = await self._guardians(families)
        await self._demo_links(mother_id)

    async def _students(self) -> list[list[tuple[str, str, str]]]:
        """Every class's students (the demo child and sibling first in their classes) and their
        enrolments; returns each student's family on file, (name, phone, relation)."""
        rng, names = self.rng, self.names
        students: list[dict[str, Any]] = []
        self.student_class: list[int] = []
        self.ability: list[float] = []
        families: list[list[tuple[str, str, str]]] = []
        self.demo_student = self.demo_sibling = -1
        for ci, (name, level, size) in enumerate(self.layout):
            born = self.year_start.year - level - 7
            for k in range(size):
                birth = date(born, 9, 1) + timedelta(days=rng.randrange(365))
                ability = min(4.9, max(2.9, rng.gauss(4.1, 0.5)))
                if name == DEMO_CLASS and k == 0:
                    self.demo_student = len(students)
                    full, family, ability = NAMES["student"], demo_family(), 4.2
                elif name == SIBLING_CLASS and k == 0:
                    self.demo_sibling = len(students)
                    full, family, ability = NAMES["sibling"], demo_family(), 4.5
                else:
                    full, surname, father = names.student()
                    family = names.family(surname, father)
                students.append(
                    {
                        "school_id": self.school_id,
                        "account_id": None,
                        "full_name": full,
                        "birth_date": birth,
                    }
                )
                self.student_class.append(ci)
                self.ability.append(ability)
                families.append(family)
        students[self.demo_student]["account_id"] = self.account_ids["student"]
        self.student_ids = await self._insert(Student, students, ids=True)
        self.class_students: dict[int, list[int]] = defaultdict(list)
        for si, ci in enumerate(self.student_class):
            self.class_students[ci].append(si)
        await self._insert(
            Enrollment,
            [
                {
                    "student_id": self.student_ids[si],
                    "class_id": self.class_ids[ci],
                    "enrolled_on": self.year_start,
                }
                for si, ci in enumerate(self.student_class)
            ],
        )
        return families

    async def _guardians(self, families: list[list[tuple[str, str, str]]]) -> int:
        """The guardians on file (one row per phone: the demo parents are shared) and their
        links to the students; returns the demo mother's guardian id."""
        guardian_rows: list[dict[str, Any]] = []
        guardian_index: dict[str, int] = {}  # phone → row index
        links: list[tuple[int, int, str]] = []
        for si, family in enumerate(families):
            for full, phone, relation in family:
                if phone not in guardian_index:
                    guardian_index[phone] = len(guardian_rows)
                    guardian_rows.append(
                        {
                            "school_id": self.school_id,
                            "full_name": full,
                            "phone": phone,
                            "email": None,
                        }
                    )
                links.append((si, guardian_index[phone], relation))
        guardian_ids = await self._insert(Guardian, guardian_rows, ids=True)
        await self._insert(
            StudentGuardian,
            [
                {"student_id": self.student_ids[si], "guardian_id": guardian_ids[gi], "relation": r}
                for si, gi, r in links
            ],
        )
        return guardian_ids[guardian_index[PHONES["mother"]]]

    async def _demo_links(self, mother_id: int) -> None:
        """The demo parent confirmed for both children; the trusted grandmother for the first."""
        parent = self.account_ids["parent"]
        await self._insert(
            Guardianship,
            [
                {
                    "student_id": self.student_ids[si],
                    "account_id": parent,
                    "guardian_id": mother_id,
                    "method": LinkMethod.DEMO,
                    "confirmed_at": self.now,
                    "confirmed_by_id": None,
                }
                for si in (self.demo_student, self.demo_sibling)
            ],
        )
        await self._insert(
            TrustedAccess,
            [
                {
                    "student_id": self.student_ids[self.demo_student],
                    "granted_by_id": parent,
                    "account_id": self.account_ids["trusted"],
                    "invite_hash": None,
                    "label": TRUSTED_LABEL,
                    "scopes": int(TrustScope.GRADES | TrustScope.HOMEWORK),
                    "expires_at": utc(self.year_end, time(23, 59, 59)),
                    "created_at": self.now,
                    "accepted_at": self.now,
                }
            ],
        )

    async def _timetable(self) -> None:
        """Mon–Fri, 5–6 lessons a day, no teacher in two rooms at once when it can be helped."""
        busy: set[tuple[int, int, int]] = set()  # (teacher index, weekday, lesson number)
        rows: list[dict[str, Any]] = []
        self.clashes = 0
        for ci, items in enumerate(self.plans):
            for (weekday, number), item in sorted(self._place(ci, items, busy).items()):
                freqs = (
                    (SlotFrequency.WEEKLY,)
                    if len(item.subjects) == 1
                    else (SlotFrequency.ODD, SlotFrequency.EVEN)
                )
                starts, ends = BELLS[number - 1]
                for subject, freq in zip(item.subjects, freqs, strict=True):
                    rows.append(
                        {
                            "assignment_id": self.assignment_of[ci, subject],
                            "weekday": weekday,
                            "lesson_number": number,
                            "starts_at": starts,
                            "ends_at": ends,
                            "room": self.teacher_of[ci, self.group_of[subject]].room,
                            "frequency": freq,
                            "valid_from": self.year_start,
                            "valid_to": self.year_end,
                        }
                    )
        await self._insert(TimetableSlot, rows)

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

    # -- the journal ----------------------------------------------------------------------

    async def _journal(self) -> None:
        """Topics, homework, attendance exceptions and grades for the past lessons."""
        result = await self.session.execute(
            select(
                Lesson.id,
                Lesson.assignment_id,
                Lesson.class_id,
                Lesson.date,
                Lesson.lesson_number,
                Lesson.starts_at,
                Lesson.ends_at,
            )
            .where(Lesson.class_id.in_(self.class_ids))
            .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
        )
        lessons = result.all()
        by_assignment: dict[int, list[Any]] = defaultdict(list)
        for lesson in lessons:
            by_assignment[lesson.assignment_id].append(lesson)
        past_by_class_day: dict[tuple[int, date], list[Any]] = defaultdict(list)
        for lesson in lessons:
            if lesson.date < self.today:
                past_by_class_day[lesson.class_id, lesson.date].append(lesson)

        forced = self._forced_grade(by_assignment)
        attendance, absent = self._attendance(past_by_class_day, set(forced.items()))
        rows = _JournalRows()
        for aid, items in by_assignment.items():
            self._lessons_taught(aid, items, rows, absent=absent, forced=forced)
        if rows.topics:
            await self.session.execute(update(Lesson), rows.topics)
        await self._insert(Homework, rows.homework)
        await self._insert(Attendance, attendance)
        await self._insert(Grade, rows.grades)
        await self._period_grades(rows.grades)

    def _lessons_taught(
        self,
        aid: int,
        items: list[Any],
        rows: _JournalRows,
        *,
        absent: set[tuple[int, int]],
        forced: dict[int, int],
    ) -> None:
        """The past lessons of one assignment: a topic each, homework after about half of the
        ordinary ones, and grades for 3–5 students present (everyone present at a test)."""
        rng = self.rng
        ci, subject, teacher, _code = self.assignment_info[aid]
        level = self.layout[ci][1]
        past = [lesson for lesson in items if lesson.date < self.today]
        for i, lesson in enumerate(past):
            special = lesson_kind(subject, level, i)
            rows.topics.append({"id": lesson.id, "topic": lesson_topic(subject, i, special, level)})
            ended = utc(lesson.date, lesson.ends_at)
            if rng.random() < 0.5 and special is None:
                due = next(
                    (x.date for x in items[i + 1 :] if x.date > lesson.date),
                    lesson.date + timedelta(days=7),
                )
                rows.homework.append(
                    {
                        "lesson_id": lesson.id,
                        "class_id": lesson.class_id,
                        "subject_id": self.subject_ids[subject],
                        "due_date": due,
                        "text": homework_text(rng, subject),
                        "created_by_id": teacher.id,
                        "created_at": ended,
                    }
                )
            present = [si for si in self.class_students[ci] if (lesson.id, si) not in absent]
            if special is None:
                chosen = rng.sample(present, min(len(present), rng.randint(3, 5)))
            else:
                chosen = present
            must = forced.get(lesson.id)
            if must is not None and must not in chosen:
                chosen = [*chosen, must]
            rows.grades.extend(
                self._grade(si, lesson, aid, special, ended, force=si == must) for si in chosen
            )

    def _forced_grade(self, by_assignment: dict[int, list[Any]]) -> dict[int, int]:
        """The demo student's "3" in Математика a few days ago, the one with a comment thread."""
        aid = self.assignment_of.get((self.class_index[DEMO_CLASS], MATH))
        past = [x for x in by_assignment.get(aid or -1, []) if x.date < self.today]
        self.thread_lesson: int | None = None
        if not past:
            return {}
        lesson = past[-3] if len(past) >= 3 else past[0]
        self.thread_lesson = lesson.id
        return {lesson.id: self.demo_student}

    def _attendance(
        self, by_class_day: dict[tuple[int, date], list[Any]], keep: set[tuple[int, int]]
    ) -> tuple[list[dict[str, Any]], set[tuple[int, int]]]:
        """About 4% exceptions: sick days (excused), some lateness, a few absences.

        Returns the attendance rows and the (lesson id, student index) pairs of students who
        were not there; the pairs in `keep` stay present.
        """
        rng = self.rng
        rows: list[dict[str, Any]] = []
        away: set[tuple[int, int]] = set()
        days_of: dict[int, list[date]] = defaultdict(list)
        for cid, day in sorted(by_class_day):
            days_of[cid].append(day)
        for ci, cid in enumerate(self.class_ids):
            sick_left = dict.fromkeys(self.class_students[ci], 0)
            for day in days_of.get(cid, []):
                for si in self.class_students[ci]:
                    if sick_left[si] == 0 and rng.random() < 0.01:
                        sick_left[si] = rng.randint(1, 4)
                    sick = sick_left[si] > 0
                    if sick:
                        sick_left[si] -= 1
                    lessons = [x for x in by_class_day[cid, day] if (x.id, si) not in keep]
                    rows += self._marks(si, day, lessons, sick=sick, away=away)
        return rows, away

    def _marks(
        self, si: int, day: date, lessons: list[Any], *, sick: bool, away: set[tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """One student's attendance rows of one day (none when present); the lessons missed
        are added to `away`."""
        rows: list[dict[str, Any]] = []
        for lesson in lessons:
            mark = attendance_mark(self.rng, sick=sick)
            if mark is None:
                continue
            status, minutes, reason = mark
            if status is not AttendanceStatus.LATE:
                away.add((lesson.id, si))
            rows.append(
                {
                    "lesson_id": lesson.id,
                    "student_id": self.student_ids[si],
                    "status": status,
                    "minutes_late": minutes,
                    "reason": reason,
                    "marked_by_id": self.assignment_info[lesson.assignment_id][2].id,
                    "marked_at": utc(day, lesson.starts_at) + timedelta(minutes=5),
                }
            )
        return rows

    def _grade(
        self,
        si: int,
        lesson: Any,
        aid: int,
        special: GradeKind | None,
        ended: datetime,
        *,
        force: bool = False,
    ) -> dict[str, Any]:
        """A grade of student `si` in a past lesson, given within three hours of its end;
        `force`: the demo student's grade the comment thread is about."""
        rng = self.rng
        _ci, subject, teacher, code = self.assignment_info[aid]
        kind, weight = grade_kind(rng, special)
        value = grade_value(rng, code, self.ability[si], special is not None)
        comment: str | None = None
        if force:
            kind, weight = GradeKind.CLASSWORK, 1.0
            value, comment = THREAD_GRADE
        score = self._score(code, value)
        if not force and rng.random() < 0.04:
            comment = grade_comment(rng, code, score)
        return {
            "student_id": self.student_ids[si],
            "lesson_id": lesson.id,
            "assignment_id": aid,
            "subject_id": self.subject_ids[subject],
            "date": lesson.date,
            "value": value,
            "score": score,
            "weight": weight,
            "kind": kind,
            "comment": comment,
            "author_id": teacher.id,
            "created_at": ended + timedelta(minutes=rng.randint(0, 180)),
        }

    async def _period_grades(self, grades: list[dict[str, Any]]) -> None:
        """Quarter grades (and closed quarters) for quarters entirely in the past and covered."""
        done = [
            (pid, s, e)
            for pid, (s, e) in zip(self.period_ids, self.quarters, strict=False)
            if e < self.today and s >= self.lessons_from
        ]
        if not done:
            return
        pairs: dict[tuple[int, int, int], list[tuple[float, float]]] = defaultdict(list)
        for g in grades:
            for pid, s, e in done:
                if s <= g["date"] <= e:
                    key = (g["student_id"], g["assignment_id"], pid)
                    pairs[key].append((g["score"], g["weight"]))
        ends = {pid: e for pid, _, e in done}
        rows = []
        for (student_id, aid, pid), items in pairs.items():
            _ci, _subject, teacher, code = self.assignment_info[aid]
            total = sum(s * w for s, w in items) / sum(w for _, w in items)
            value = period_value(self.scale_specs[code], total)
            rows.append(
                {
                    "student_id": student_id,
                    "assignment_id": aid,
                    "period_id": pid,
                    "proposed_value": value,
                    "value": value,
                    "set_by_id": teacher.id,
                    "set_at": utc(ends[pid], time(18, 0)),
                }
            )
        await self._insert(PeriodGrade, rows)
        for pid, _s, e in done:
            await self.session.execute(
                update(Period)
                .where(Period.id == pid)
                .values(
                    closed_at=utc(e + timedelta(days=3), time(12, 0)),
                    closed_by_id=self.account_ids["admin"],
                )
            )

    async def _family_activity(self) -> None:
        """The demo parent's "Seen" marks, a comment thread, and a few homework submissions."""
        thread_grade = await self._acknowledgements()
        if thread_grade is not None:
            await self._thread(thread_grade)
        await self._submissions()

    async def _acknowledgements(self) -> Any:
        """The parent has seen most of the children's grades older than three days; returns
        the grade the comment thread is about (None if there is none)."""
        rng = self.rng
        children = [self.student_ids[self.demo_student], self.student_ids[self.demo_sibling]]
        rows = await self.session.execute(
            select(Grade.id, Grade.lesson_id, Grade.student_id, Grade.date, Grade.created_at)
            .where(Grade.student_id.in_(children))
            .order_by(Grade.date, Grade.id)
        )
        acks = []
        thread_grade: Any = None
        for grade in rows:
            if grade.lesson_id == self.thread_lesson and grade.student_id == children[0]:
                thread_grade = grade
            if grade.date <= self.today - timedelta(days=3) and rng.random() < 0.8:
                acks.append(
                    {
                        "grade_id": grade.id,
                        "account_id": self.account_ids["parent"],
                        "seen_at": min(grade.created_at + timedelta(hours=4), self.now),
                    }
                )
        await self._insert(Acknowledgement, acks)
        return thread_grade

    async def _thread(self, grade: Any) -> None:
        """The parent's question under the grade, the teacher's answer, the parent's thanks."""
        at = min(grade.created_at + timedelta(hours=3), self.now)
        reply_to: int | None = None
        for step, (author, text) in enumerate(THREAD):
            (reply_to,) = await self._insert(
                Comment,
                [
                    {
                        "grade_id": grade.id,
                        "author_id": self.account_ids[author],
                        "reply_to_id": reply_to,
                        "text": text,
                        "created_at": min(at + timedelta(hours=2 * step), self.now),
                    }
                ],
                ids=True,
            )

    async def _submissions(self) -> None:
        """The demo student's submissions of the class's three latest homework (one waiting,
        one accepted, one returned), and three classmates' of the latest."""
        ci = self.class_index[DEMO_CLASS]
        recent = (
            await self.session.execute(
                select(Homework.id, Homework.created_at, Homework.created_by_id)
                .where(Homework.class_id == self.class_ids[ci])
                .order_by(Homework.created_at.desc(), Homework.id.desc())
                .limit(3)
            )
        ).all()
        subs = []
        for hw, (status, comment, answer) in zip(recent, SUBMISSIONS, strict=False):
            submitted = min(hw.created_at + timedelta(hours=6), self.now)
            reviewer = hw.created_by_id if answer else None
            subs.append(
                _submission(hw.id, self.student_ids[self.demo_student], status, comment, submitted)
                | {
                    "teacher_comment": answer,
                    "reviewed_at": submitted + timedelta(hours=12) if answer else None,
                    "reviewed_by_id": reviewer,
                }
            )
        if recent:
            submitted = min(recent[0].created_at + timedelta(hours=5), self.now)
            subs += [
                _submission(
                    recent[0].id, self.student_ids[si], SubmissionStatus.SUBMITTED, None, submitted
                )
                for si in self.class_students[ci][1:4]
            ]
        await self._insert(HomeworkSubmission, subs)


def _submission(
    homework_id: int,
    student_id: int,
    status: SubmissionStatus,
    comment: str | None,
    submitted: datetime,
) -> dict[str, Any]:
    """A homework submission row, not reviewed."""
    return {
        "homework_id": homework_id,
        "student_id": student_id,
        "status": status,
        "comment": comment,
        "teacher_comment": None,
        "submitted_at": submitted,
        "reviewed_at": None,
        "reviewed_by_id": None,
    }
