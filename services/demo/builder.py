"""Writes the demo school into the database: its roster through the importer, then the rest.

The roster (school, year, periods, holidays, bells, scales, subjects, staff, classes,
students, guardians, assignments and the timetable) is the workbook shipped with the package
(`services.demo.roster`), read, planned and applied by `services.roster` exactly as a school's
own file is, lessons of the year included. On top of the imported rows, looked up by their
source ids, the builder adds what a roster file does not carry: the demo accounts and their
links (staff and the demo student to their accounts, the demo parent's confirmed
guardianships, the trusted grandmother), the lessons trimmed to the journal's window, and the
journal itself (topics, homework, attendance, grades, quarter grades, the family's "Seen"
marks, a comment thread and homework submissions), with a few bulk INSERTs. Everything is one
transaction; the content is deterministic for a given `rng_seed` and `today`.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base, utcnow
from db.enums import (
    AttendanceStatus,
    GradeKind,
    LinkMethod,
    PeriodKind,
    SubmissionStatus,
    TrustScope,
)
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    Comment,
    Grade,
    GradingScale,
    Guardian,
    Guardianship,
    Homework,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
    TrustedAccess,
)
from services.core.grading import DEFAULT_SCALES, ScaleSpec, parse_grade, period_value
from services.demo.accounts import SeedResult, demo_accounts
from services.demo.content import (
    DEFAULT_STUDENTS,
    DEMO_CLASS,
    DEMO_SCHOOL_NAME,
    DEMO_TELEGRAM_IDS,
    MATH,
    NAMES,
    PHONES,
    SUBMISSIONS,
    THREAD,
    THREAD_GRADE,
    TRUSTED_LABEL,
    attendance_mark,
    calendar_of,
    grade_comment,
    grade_kind,
    grade_value,
    homework_text,
    lesson_kind,
    lesson_topic,
    moscow_today,
    school_day,
    utc,
)
from services.demo.roster import (
    DEFAULT_SEED,
    MOTHER_ID,
    STAFF_IDS,
    STUDENT_IDS,
    load_roster,
)
from services.roster.apply import apply_import
from services.roster.model import SchoolData


class OtherSchool(RuntimeError):
    """The database already holds a school that is not the demo: the demo's import would be
    planned against it (renaming it, its people leaving), so the demo is not seeded."""


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    students: int | None = None,
    weeks: int = 4,
    today: date | None = None,
    rng_seed: int = DEFAULT_SEED,
) -> SeedResult:
    """Create the demo school in one transaction, or return its accounts if it exists.

    `students` (default 75, the shipped workbook) are spread over classes of ~25; lessons
    cover `weeks` weeks before `today` (default: today in Moscow; in the summer holidays and
    early September the last day of the school year that ended) and two weeks after it.
    Raises `OtherSchool` when the database holds another school, `WorkbookError` when the
    shipped workbook does not read cleanly.
    """
    if weeks < 0:
        raise ValueError("weeks must not be negative")
    total = DEFAULT_STUDENTS if students is None else students
    if total < 1:
        raise ValueError("students must be positive")
    day = school_day(today or moscow_today(), weeks)
    async with session_factory() as session, session.begin():
        schools = list(await session.scalars(select(School.name).order_by(School.id)))
        if DEMO_SCHOOL_NAME in schools:
            return SeedResult(await demo_accounts(session, day), created=False, counts={})
        if schools:
            raise OtherSchool(
                f"the database already holds a school ({schools[0]}): "
                "the demo school needs an empty database"
            )
        roster = await asyncio.to_thread(load_roster, total, rng_seed, calendar_of(day).first)
        before = await _table_counts(session)
        await apply_import(session, roster, today=day, actor_account_id=None, commit=False)
        builder = _Builder(session, random.Random(rng_seed), day, weeks, roster)
        await builder.build()
        after = await _table_counts(session)
        counts = {t: n - before[t] for t, n in after.items() if n != before[t]}
        return SeedResult(await demo_accounts(session, day), created=True, counts=counts)


async def _table_counts(session: AsyncSession) -> dict[str, int]:
    """Rows of every table, in one statement."""
    tables = Base.metadata.sorted_tables
    row = (
        await session.execute(
            select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
        )
    ).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}


@dataclass
class _JournalRows:
    """The rows the journal's past lessons add (topics are updates of the lessons)."""

    topics: list[dict[str, Any]] = field(default_factory=list)
    homework: list[dict[str, Any]] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    """Adds the demo's accounts and journal to the imported roster: `build` runs the steps in
    order, each reading what the earlier ones left on `self` (ids, classes, students)."""

    def __init__(
        self,
        session: AsyncSession,
        rng: random.Random,
        today: date,
        weeks: int,
        roster: SchoolData,
    ) -> None:
        assert roster.year is not None
        self.session = session
        self.rng = rng
        self.today = today
        self.weeks = weeks
        self.roster = roster
        self.year_start, self.year_end = roster.year.starts_on, roster.year.ends_on
        quarters = sorted(
            (p for p in roster.periods if p.kind is PeriodKind.QUARTER), key=lambda p: p.number
        )
        self.quarters = [(p.starts_on, p.ends_on) for p in quarters]
        self.quarter_sids = [p.source_id for p in quarters]
        self.counts: dict[str, int] = {}
        self.now = utcnow()
        self.scale_specs = {code: ScaleSpec(**kw) for code, kw in DEFAULT_SCALES.items()}
        self.score_cache: dict[tuple[str, str], float] = {}

    # -- helpers --------------------------------------------------------------------------

    async def _insert(
        self, model: type[Base], rows: Sequence[dict[str, Any]], *, ids: bool = False
    ) -> list[int]:
        if not rows:
            return []
        if ids:
            column = model.__table__.c.id
            stmt = insert(model).returning(column, sort_by_parameter_order=True)
            return list((await self.session.scalars(stmt, rows)).all())
        await self.session.execute(insert(model), rows)
        return []

    async def _ids(self, column: Any, source_id: Any, *where: Any) -> dict[str, int]:
        """source id → database id of the imported rows of one table."""
        rows = await self.session.execute(select(source_id, column).where(*where))
        return {sid: row_id for sid, row_id in rows.all() if sid is not None}

    def _score(self, code: str, value: str) -> float:
        key = (code, value)
        if key not in self.score_cache:
            self.score_cache[key] = parse_grade(self.scale_specs[code], value).score
        return self.score_cache[key]

    # -- build ----------------------------------------------------------------------------

    async def build(self) -> None:
        await self._lookup()
        await self._accounts()
        await self._demo_links()
        self.lessons_from = max(self.today - timedelta(weeks=self.weeks), self.year_start)
        await self.session.execute(
            delete(Lesson)
            .where(
                Lesson.class_id.in_(self.class_ids),
                or_(Lesson.date < self.lessons_from, Lesson.date > self.today + timedelta(days=14)),
            )
            .execution_options(synchronize_session=False)
        )
        await self._journal()
        await self._family_activity()

    async def _lookup(self) -> None:
        """The imported rows the journal needs, by their source ids, in the roster's order;
        and each student's ability (on the five-point scale) the grades are drawn around."""
        roster = self.roster
        self.school_id = await self.session.scalar(
            select(School.id).where(School.name == DEMO_SCHOOL_NAME)
        )
        year = select(AcademicYear.id).where(
            AcademicYear.school_id == self.school_id, AcademicYear.is_current
        )
        classes = await self._ids(
            SchoolClass.id, SchoolClass.source_id, SchoolClass.year_id.in_(year.scalar_subquery())
        )
        self.class_ids = [classes[c.source_id] for c in roster.classes]
        self.levels = [c.grade_level for c in roster.classes]
        self.class_index = {c.name: ci for ci, c in enumerate(roster.classes)}
        index_of_class = {c.source_id: ci for ci, c in enumerate(roster.classes)}

        students = await self._ids(
            Student.id, Student.source_id, Student.school_id == self.school_id
        )
        self.student_ids = [students[s.source_id] for s in roster.students]
        self.class_students: dict[int, list[int]] = defaultdict(list)
        for si, s in enumerate(roster.students):
            self.class_students[index_of_class[s.class_id]].append(si)
        position = {s.source_id: si for si, s in enumerate(roster.students)}
        self.demo_student = position[STUDENT_IDS["student"]]
        self.demo_sibling = position[STUDENT_IDS["sibling"]]
        self.ability = [min(4.9, max(2.9, self.rng.gauss(4.1, 0.5))) for _ in roster.students]
        self.ability[self.demo_student], self.ability[self.demo_sibling] = 4.2, 4.5

        self.staff_ids = await self._ids(
            Staff.id, Staff.source_id, Staff.school_id == self.school_id
        )
        self.mother_id = (
            await self._ids(Guardian.id, Guardian.source_id, Guardian.source_id == MOTHER_ID)
        )[MOTHER_ID]
        periods = await self._ids(
            Period.id, Period.source_id, Period.year_id.in_(year.scalar_subquery())
        )
        self.period_ids = [periods[sid] for sid in self.quarter_sids]
        subjects = await self._ids(Subject.id, Subject.name, Subject.school_id == self.school_id)
        self.subject_ids = subjects

        rows = await self.session.execute(
            select(
                TeachingAssignment.id,
                TeachingAssignment.class_id,
                TeachingAssignment.teacher_id,
                Subject.name,
                GradingScale.code,
            )
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
            .where(TeachingAssignment.class_id.in_(self.class_ids))
        )
        ci_of = {cid: ci for ci, cid in enumerate(self.class_ids)}
        #: assignment id → (class index, subject, teacher's staff id, scale code)
        self.assignment_info: dict[int, tuple[int, str, int, str]] = {}
        self.assignment_of: dict[tuple[int, str], int] = {}
        for aid, cid, teacher_id, subject, code in rows.all():
            self.assignment_info[aid] = (ci_of[cid], subject, teacher_id, code)
            self.assignment_of[ci_of[cid], subject] = aid

    async def _accounts(self) -> None:
        """The seven demo accounts (an account already holding a demo id is reused), and the
        staff members and the demo student behind them linked to theirs."""
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
        await self.session.execute(
            update(Staff),
            [
                {"id": self.staff_ids[sid], "account_id": self.account_ids[role]}
                for role, sid in STAFF_IDS.items()
            ],
        )
        await self.session.execute(
            update(Student)
            .where(Student.id == self.student_ids[self.demo_student])
            .values(account_id=self.account_ids["student"])
        )

    async def _demo_links(self) -> None:
        """The demo parent confirmed for both children; the trusted grandmother for the first."""
        parent = self.account_ids["parent"]
        await self._insert(
            Guardianship,
            [
                {
                    "student_id": self.student_ids[si],
                    "account_id": parent,
                    "guardian_id": self.mother_id,
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
        level = self.levels[ci]
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
                        "created_by_id": teacher,
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
                    "marked_by_id": self.assignment_info[lesson.assignment_id][2],
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
            "author_id": teacher,
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
                    "set_by_id": teacher,
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
