"""A small school with hand-computable reports (tests/test_reports*.py).

On the small school of tests/factories.py, in its first quarter (day k = the quarter's start
plus k days):

* 7B has Математика (five-point), Физкультура (pass/fail) and Информатика (hundred-point);
  5A has Математика. 7B's lessons: d1 math+PE, d2 math+PE, d3 math+informatics, d4 math, and a
  cancelled math lesson on d5 (never counted): 7 lessons. 5A's: math on d3 and d4.
* Мария moves from 7B to 5A on d3 (7B's stay ends, ``left_on`` = d3; 5A's begins).
* Пётр, math: 5 (d1), 4 (d2), 3 as a test, weight 2 (d3), and a 2 on d4 held back from the
  family until next year: staff see (5+4+6+2)/5 = 3.4 → "3", four grades; the family sees
  (5+4+6)/4 = 3.75 → "4", three grades. The teacher set the quarter grade "4" and the year
  grade "5". PE: pass, pass. Informatics: 80.
* Мария, 7B math: 2, 3 → 2.5 → "3" (borderline); PE: fail (d1); informatics: nothing.
  In 5A math: 5 (d4).
* Олег, 5A math: 4 (d3).
* Attendance in 7B: Пётр absent (d1 math), excused (d2 math), late 10 minutes (d3 math);
  Мария excused (d1 PE), absent (d2 PE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.enums import AttendanceStatus, GradeKind, PeriodKind, ScaleKind
from db.models import (
    Attendance,
    Enrollment,
    Grade,
    GradingScale,
    Lesson,
    Period,
    PeriodGrade,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core.grading import DEFAULT_SCALES, ScaleSpec, default_weight, parse_grade
from tests import clock
from tests import factories as f


@dataclass
class World:
    school: f.SmallSchool
    q1_id: int
    year_id: int  # the year's own period
    q1_start: date
    petr: int
    maria: int
    oleg: int

    def day(self, k: int) -> date:
        return self.q1_start + timedelta(days=k)


async def make_world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    school = await f.make_small_school(session_factory)
    today = clock.school_today()
    async with session_factory() as session:
        periods = {
            (kind, number): (pid, start)
            for pid, kind, number, start in await session.execute(
                select(Period.id, Period.kind, Period.number, Period.starts_on)
            )
        }
        q1_id, q1_start = periods[(PeriodKind.QUARTER, 1)]
        year_id = periods[(PeriodKind.YEAR, 1)][0]

        def d(k: int) -> date:
            return q1_start + timedelta(days=k)

        scales = {
            code: GradingScale(school_id=school.school_id, code=code, **DEFAULT_SCALES[code])
            for code in ("pass_fail", "hundred")
        }
        pe = Subject(school_id=school.school_id, name="Физкультура", short_name="Физ-ра")
        inf = Subject(school_id=school.school_id, name="Информатика", short_name="Инф")
        session.add_all([*scales.values(), pe, inf])
        await session.flush()
        math_7b = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_7b)
        )
        math_5a = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == school.class_5a)
        )
        assert math_7b is not None
        assert math_5a is not None
        pe_7b = TeachingAssignment(
            teacher_id=school.staff["class_teacher"],
            class_id=school.class_7b,
            subject_id=pe.id,
            scale_id=scales["pass_fail"].id,
        )
        inf_7b = TeachingAssignment(
            teacher_id=school.staff["teacher"],
            class_id=school.class_7b,
            subject_id=inf.id,
            scale_id=scales["hundred"].id,
        )
        session.add_all([pe_7b, inf_7b])
        await session.flush()
        specs = {
            math_7b.id: ScaleSpec.default("five"),
            math_5a.id: ScaleSpec.default("five"),
            pe_7b.id: ScaleSpec.default("pass_fail"),
            inf_7b.id: ScaleSpec.default("hundred"),
        }
        plan = [
            (math_7b, 1),
            (pe_7b, 1),
            (math_7b, 2),
            (pe_7b, 2),
            (math_7b, 3),
            (inf_7b, 3),
            (math_7b, 4),
            (math_5a, 3),
            (math_5a, 4),
        ]
        lessons: dict[tuple[int, int], Lesson] = {}
        for number, (a, k) in enumerate(plan, 1):
            lesson = Lesson(
                assignment_id=a.id,
                class_id=a.class_id,
                subject_id=a.subject_id,
                date=d(k),
                lesson_number=number,
                starts_at=time(8, 0),
                ends_at=time(8, 45),
            )
            session.add(lesson)
            lessons[(a.id, k)] = lesson
        session.add(
            Lesson(
                assignment_id=math_7b.id,
                class_id=school.class_7b,
                subject_id=math_7b.subject_id,
                date=d(5),
                lesson_number=1,
                starts_at=time(8, 0),
                ends_at=time(8, 45),
                cancelled=True,
            )
        )
        await session.flush()
        petr, maria, oleg = school.student_id, school.unlinked_student_id, school.other_student_id
        await session.execute(
            update(Enrollment)
            .where(Enrollment.student_id == maria, Enrollment.class_id == school.class_7b)
            .values(left_on=d(3))
        )
        session.add(Enrollment(student_id=maria, class_id=school.class_5a, enrolled_on=d(3)))

        def grade(
            student: int,
            a: TeachingAssignment,
            k: int,
            value: str,
            kind: GradeKind = GradeKind.CLASSWORK,
            hidden_until: date | None = None,
        ) -> None:
            parsed = parse_grade(specs[a.id], value)
            session.add(
                Grade(
                    student_id=student,
                    lesson_id=lessons[(a.id, k)].id,
                    assignment_id=a.id,
                    subject_id=a.subject_id,
                    date=d(k),
                    value=parsed.value,
                    score=parsed.score,
                    weight=default_weight(kind),
                    kind=kind,
                    hidden_until=hidden_until,
                )
            )

        grade(petr, math_7b, 1, "5")
        grade(petr, math_7b, 2, "4")
        grade(petr, math_7b, 3, "3", GradeKind.TEST)
        grade(petr, math_7b, 4, "2", hidden_until=today + timedelta(days=400))
        grade(petr, pe_7b, 1, "pass")
        grade(petr, pe_7b, 2, "pass")
        grade(petr, inf_7b, 3, "80")
        grade(maria, math_7b, 1, "2")
        grade(maria, math_7b, 2, "3")
        grade(maria, pe_7b, 1, "fail")
        grade(maria, math_5a, 4, "5")
        grade(oleg, math_5a, 3, "4")
        session.add_all(
            [
                PeriodGrade(student_id=petr, assignment_id=math_7b.id, period_id=q1_id, value="4"),
                PeriodGrade(
                    student_id=petr, assignment_id=math_7b.id, period_id=year_id, value="5"
                ),
            ]
        )
        for student, a, k, status, late in [
            (petr, math_7b, 1, AttendanceStatus.ABSENT, None),
            (petr, math_7b, 2, AttendanceStatus.EXCUSED, None),
            (petr, math_7b, 3, AttendanceStatus.LATE, 10),
            (petr, pe_7b, 1, AttendanceStatus.PRESENT, None),
            (maria, pe_7b, 1, AttendanceStatus.EXCUSED, None),
            (maria, pe_7b, 2, AttendanceStatus.ABSENT, None),
        ]:
            session.add(
                Attendance(
                    lesson_id=lessons[(a.id, k)].id,
                    student_id=student,
                    status=status,
                    minutes_late=late,
                )
            )
        await session.commit()
    return World(school, q1_id, year_id, q1_start, petr, maria, oleg)


async def add_students(
    session_factory: async_sessionmaker[AsyncSession], world: World, count: int
) -> None:
    """`count` more 7B students, each with a grade and an absence in every 7B lesson."""
    async with session_factory() as session:
        lessons = (
            await session.execute(
                select(Lesson.id, Lesson.assignment_id, Lesson.subject_id, Lesson.date).where(
                    Lesson.class_id == world.school.class_7b, Lesson.cancelled.is_(False)
                )
            )
        ).all()
        scales = dict(
            (
                await session.execute(
                    select(TeachingAssignment.id, GradingScale.kind).join(
                        GradingScale, GradingScale.id == TeachingAssignment.scale_id
                    )
                )
            ).all()
        )
        students = [
            Student(school_id=world.school.school_id, full_name=f"Ученик {i:03}")
            for i in range(count)
        ]
        session.add_all(students)
        await session.flush()
        for student in students:
            session.add(Enrollment(student_id=student.id, class_id=world.school.class_7b))
            for lesson_id, aid, subject_id, day in lessons:
                value = {ScaleKind.PASS_FAIL: "pass", ScaleKind.HUNDRED: "70"}.get(scales[aid], "4")
                spec = ScaleSpec.default(
                    {ScaleKind.PASS_FAIL: "pass_fail", ScaleKind.HUNDRED: "hundred"}.get(
                        scales[aid], "five"
                    )
                )
                session.add(
                    Grade(
                        student_id=student.id,
                        lesson_id=lesson_id,
                        assignment_id=aid,
                        subject_id=subject_id,
                        date=day,
                        value=value,
                        score=parse_grade(spec, value).score,
                        weight=1.0,
                        kind=GradeKind.CLASSWORK,
                    )
                )
                session.add(
                    Attendance(
                        lesson_id=lesson_id, student_id=student.id, status=AttendanceStatus.ABSENT
                    )
                )
        await session.commit()
