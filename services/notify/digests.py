"""Scheduled family summaries, built when they are sent from the journal as it is then: the
daily digest, the weekly summary with its chart, homework-due reminders, tomorrow's timetable
changes and period-end summaries.

The scheduler jobs (`services.notify.jobs`) only write outbox rows naming the recipient,
the students and the day or period; `load_family` turns a batch of such rows into contexts for
their templates in a fixed number of queries, re-checking what each recipient may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from io import BytesIO
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import (
    AttendanceStatus,
    DeliveryMode,
    NotificationKind,
    PeriodKind,
    ScaleKind,
    TrustScope,
)
from db.models import (
    Attendance,
    Grade,
    GradingScale,
    Homework,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    Staff,
    Subject,
    TeachingAssignment,
)
from services.core.grading import display_value, weighted_average
from services.core.schooltime import day_bounds
from services.core.visibility import family_sees
from services.notify.events import NotificationEvent
from services.notify.model import (
    AttendanceLine,
    ChildBlock,
    Facts,
    FamilyContent,
    GradeFacts,
    GradeLine,
    HomeworkLine,
    Outgoing,
    Relation,
    StudentInfo,
    student_ids_of,
)
from services.notify.preferences import Preferences

ABSENCES = (AttendanceStatus.ABSENT, AttendanceStatus.LATE)
#: A summary of grades is a digest and needs the grades on too.
_GRADE_SUMMARY = (NotificationKind.DIGEST, NotificationKind.GRADE)


# --- what the templates get -------------------------------------------------------------------


@dataclass
class DigestChild:
    name: str
    class_name: str | None
    grades: list[GradeLine] = field(default_factory=list)
    absences: list[AttendanceLine] = field(default_factory=list)
    homework: list[HomeworkLine] = field(default_factory=list)
    homework_date: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.grades or self.absences or self.homework)


@dataclass(frozen=True)
class SubjectAverage:
    """A subject's grades over a week or a period, and their weighted average."""

    subject: str
    values: list[str]
    average: str  # formatted for people ("4.33", "75%")
    share: float  # the average as a share of the scale (0..1), for the chart
    final: str | None = None  # the period grade, when the teacher has set it


@dataclass
class SummaryChild:
    name: str
    class_name: str | None
    subjects: list[SubjectAverage] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(s.values) for s in self.subjects)


@dataclass(frozen=True)
class DueLine:
    subject: str
    text: str
    attachments: int
    submitted: bool


@dataclass(frozen=True)
class LessonChange:
    number: int
    starts_at: time
    subject: str
    cancelled: bool
    reason: str | None
    replacement: str | None
    room: str | None


@dataclass(frozen=True)
class PeriodInfo:
    id: int
    kind: str
    number: int
    starts_on: date
    ends_on: date


# --- loading ---------------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _visible(
    facts: Facts, row: Outgoing, scope: TrustScope | None, *kinds: NotificationKind
) -> list[StudentInfo]:
    """The row's students this recipient still may hear about in `scope` (None: in any), by
    name; none if the recipient turned any of `kinds` off."""
    prefs = facts.prefs.get(row.account_id)
    if prefs is None or any(prefs.mode(kind) == DeliveryMode.OFF for kind in kinds):
        return []
    result = []
    for sid in sorted(student_ids_of(row)):
        relation = facts.relation(row.account_id, sid)
        info = facts.students.get(sid)
        if relation is None or info is None:
            continue
        if scope is None or relation.allows(scope):
            result.append(info)
    return sorted(result, key=lambda s: s.name)


def _wants(
    relation: Relation, prefs: Preferences, scope: TrustScope, kind: NotificationKind
) -> bool:
    """A part of a child's day goes into the digest: the member may see `scope` of the child
    and has not turned `kind` off."""
    return relation.allows(scope) and prefs.mode(kind) != DeliveryMode.OFF


def _by_day(
    facts: Facts,
    rows: list[Outgoing],
    key: str,
    scope: TrustScope | None,
    *kinds: NotificationKind,
) -> dict[int, tuple[date, list[StudentInfo]]]:
    """Per row: the day its payload names under `key` and its visible students (`_visible`);
    rows with neither are left out."""
    wanted: dict[int, tuple[date, list[StudentInfo]]] = {}
    for row in rows:
        day = _day(row.payload.get(key))
        students = _visible(facts, row, scope, *kinds)
        if day is not None and students:
            wanted[row.id] = (day, students)
    return wanted


async def load_family(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """Contexts for a batch of summary rows (None: nothing to say, the row is dropped)."""
    by_event: dict[NotificationEvent, list[Outgoing]] = defaultdict(list)
    for row in rows:
        by_event[row.event].append(row)
    result: dict[int, FamilyContent | None] = {}
    for event, load in _LOADERS.items():
        if by_event[event]:
            result |= await load(session, by_event[event], facts)
    return result


async def _grades_between(
    session: AsyncSession,
    student_ids: Iterable[int],
    *,
    dated: tuple[date, date] | None = None,
    created: tuple[datetime, datetime] | None = None,
) -> list[Any]:
    """Live (not deleted) grades of students, by lesson date or by creation time, with their
    subject, teacher and scale."""
    query = (
        select(
            Grade,
            Subject.name,
            Staff.full_name,
            GradingScale.kind,
            GradingScale.min_score,
            GradingScale.max_score,
            GradingScale.pass_score,
        )
        .join(Subject, Subject.id == Grade.subject_id)
        .join(TeachingAssignment, TeachingAssignment.id == Grade.assignment_id)
        .join(GradingScale, GradingScale.id == TeachingAssignment.scale_id)
        .outerjoin(Staff, Staff.id == Grade.author_id)
        .where(Grade.student_id.in_(sorted(set(student_ids))), Grade.deleted_at.is_(None))
        .order_by(Grade.date, Grade.id)
    )
    if dated is not None:
        query = query.where(Grade.date >= dated[0], Grade.date <= dated[1])
    if created is not None:
        query = query.where(Grade.created_at >= created[0], Grade.created_at < created[1])
    return list(await session.execute(query))


async def _digests(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """The day's grades and absences and the homework for the next school day."""
    wanted = _by_day(facts, rows, "date", None, NotificationKind.DIGEST)
    result: dict[int, FamilyContent | None] = {r.id: None for r in rows}
    if not wanted:
        return result
    days = [day for day, _ in wanted.values()]
    first, last = min(days), max(days)
    student_ids = {s.id for _, students in wanted.values() for s in students}
    class_ids = {s.class_id for _, ss in wanted.values() for s in ss if s.class_id is not None}
    any_student = facts.students[next(iter(student_ids))]
    span_start = day_bounds(first, any_student.zone)[0] - timedelta(days=1)
    span_end = day_bounds(last, any_student.zone)[1] + timedelta(days=1)
    grades = await _grades_between(session, student_ids, created=(span_start, span_end))
    absences = list(
        await session.execute(
            select(Attendance, Lesson.date, Lesson.lesson_number, Subject.name)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .join(Subject, Subject.id == Lesson.subject_id)
            .where(
                Attendance.student_id.in_(sorted(student_ids)),
                Lesson.date >= first,
                Lesson.date <= last,
                Attendance.status.in_(ABSENCES),
            )
            .order_by(Lesson.date, Lesson.lesson_number)
        )
    )
    school_days: dict[int, list[date]] = defaultdict(list)
    homework: list[Any] = []
    if class_ids:
        for class_id, day in await session.execute(
            select(Lesson.class_id, Lesson.date)
            .where(
                Lesson.class_id.in_(sorted(class_ids)),
                Lesson.date > first,
                Lesson.date <= last + timedelta(days=8),
                Lesson.cancelled.is_(False),
            )
            .distinct()
            .order_by(Lesson.date)
        ):
            school_days[class_id].append(day)
        homework = list(
            await session.execute(
                select(Homework, Subject.name, Staff.full_name)
                .join(Subject, Subject.id == Homework.subject_id)
                .outerjoin(Staff, Staff.id == Homework.created_by_id)
                .where(
                    Homework.class_id.in_(sorted(class_ids)),
                    Homework.due_date > first,
                    Homework.due_date <= last + timedelta(days=8),
                )
                .order_by(Homework.id)
            )
        )
    for row in rows:
        if row.id not in wanted:
            continue
        day, students = wanted[row.id]
        prefs = facts.prefs[row.account_id]
        children = []
        for info in students:
            relation = facts.relation(row.account_id, info.id)
            assert relation is not None
            child = DigestChild(info.name, info.class_name)
            start, end = day_bounds(day, info.zone)
            if _wants(relation, prefs, TrustScope.GRADES, NotificationKind.GRADE):
                child.grades = [
                    GradeFacts.of(g, subject, teacher).line()
                    for g, subject, teacher, *_scale in grades
                    if g.student_id == info.id
                    and start <= g.created_at < end
                    and family_sees(g, day)
                ]
            if _wants(relation, prefs, TrustScope.ATTENDANCE, NotificationKind.ATTENDANCE):
                child.absences = [
                    AttendanceLine(
                        subject, on, number, str(mark.status), mark.minutes_late, mark.reason
                    )
                    for mark, on, number, subject in absences
                    if mark.student_id == info.id and on == day
                ]
            if info.class_id is not None and _wants(
                relation, prefs, TrustScope.HOMEWORK, NotificationKind.HOMEWORK
            ):
                next_day = next((d for d in school_days[info.class_id] if d > day), None)
                child.homework_date = next_day
                child.homework = [
                    HomeworkLine(subject, hw.due_date, hw.text, 0, teacher)
                    for hw, subject, teacher in homework
                    if hw.class_id == info.class_id and hw.due_date == next_day
                ]
            if not child.empty:
                children.append(child)
        if children:
            result[row.id] = FamilyContent({"date": day, "children": children}, students[0].id)
    return result


def _average(rows: list[tuple[Grade, Any]]) -> tuple[str, float]:
    """(formatted weighted average, its share of the scale) of one subject's grades."""
    kind, low, high, _pass = rows[0][1]
    average = weighted_average((g.score, g.weight) for g, _ in rows)
    if average is None:
        return "—", 0.0
    share = (average - low) / (high - low) if high > low else 0.0
    if ScaleKind(kind) is ScaleKind.PASS_FAIL:
        return f"{round(average * 100)}%", share
    if ScaleKind(kind) is ScaleKind.HUNDRED:
        return f"{average:.0f}", share
    return f"{average:.2f}", share


def _subject_averages(
    grades: list[Any], student_id: int, finals: dict[str, str] | None = None
) -> list[SubjectAverage]:
    by_subject: dict[str, list[tuple[Grade, Any]]] = defaultdict(list)
    for grade, subject, _teacher, kind, low, high, pass_score in grades:
        if grade.student_id == student_id:
            by_subject[subject].append((grade, (kind, low, high, pass_score)))
    result = []
    for subject in sorted(by_subject):
        items = by_subject[subject]
        average, share = _average(items)
        result.append(
            SubjectAverage(
                subject,
                [display_value(g.value) for g, _ in items],
                average,
                max(0.0, min(1.0, share)),
                (finals or {}).get(subject),
            )
        )
    return result


async def _weekly(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """The week's grades, their averages per subject, and a chart of them."""
    wanted = _by_day(facts, rows, "week_start", TrustScope.GRADES, *_GRADE_SUMMARY)
    result: dict[int, FamilyContent | None] = {r.id: None for r in rows}
    if not wanted:
        return result
    first = min(start for start, _ in wanted.values())
    last = max(start for start, _ in wanted.values()) + timedelta(days=6)
    student_ids = {s.id for _, students in wanted.values() for s in students}
    grades = await _grades_between(session, student_ids, dated=(first, last))
    for row_id, (start, students) in wanted.items():
        end = start + timedelta(days=6)
        week = [g for g in grades if start <= g[0].date <= end and family_sees(g[0], end)]
        children = [
            SummaryChild(info.name, info.class_name, _subject_averages(week, info.id))
            for info in students
        ]
        children = [c for c in children if c.subjects]
        if not children:
            continue
        result[row_id] = FamilyContent(
            {"week_start": start, "week_end": end, "children": children},
            students[0].id,
            photo=partial(weekly_chart, children, start, end),
        )
    return result


async def _homework_due(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """A student's homework due on a day (sent the evening before), marked when handed in."""
    wanted = {
        row_id: (day, students[0])
        for row_id, (day, students) in _by_day(
            facts, rows, "date", TrustScope.HOMEWORK, NotificationKind.HOMEWORK
        ).items()
        if students[0].class_id is not None
    }
    result: dict[int, FamilyContent | None] = {r.id: None for r in rows}
    if not wanted:
        return result
    class_ids = sorted({info.class_id for _, info in wanted.values() if info.class_id})
    days = sorted({day for day, _ in wanted.values()})
    homework = list(
        await session.execute(
            select(Homework, Subject.name)
            .join(Subject, Subject.id == Homework.subject_id)
            .where(Homework.class_id.in_(class_ids), Homework.due_date.in_(days))
            .order_by(Homework.id)
        )
    )
    submitted = await session.execute(
        select(HomeworkSubmission.homework_id, HomeworkSubmission.student_id).where(
            HomeworkSubmission.homework_id.in_([hw.id for hw, _ in homework] or [-1]),
            HomeworkSubmission.student_id.in_(sorted({info.id for _, info in wanted.values()})),
        )
    )
    handed_in = {(homework_id, student_id) for homework_id, student_id in submitted}
    for row_id, (day, info) in wanted.items():
        lines = [
            DueLine(subject, hw.text, 0, (hw.id, info.id) in handed_in)
            for hw, subject in homework
            if hw.class_id == info.class_id and hw.due_date == day
        ]
        if lines:
            result[row_id] = FamilyContent(
                {"date": day, "student_name": info.name, "items": lines},
                info.id,
            )
    return result


async def _timetable(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """Tomorrow's cancelled and replaced lessons, as they stand now."""
    lesson_ids: set[int] = set()
    for row in rows:
        listed = row.payload.get("lesson_ids")
        if isinstance(listed, list):
            lesson_ids |= {i for i in listed if isinstance(i, int)}
    result: dict[int, FamilyContent | None] = {r.id: None for r in rows}
    if not lesson_ids:
        return result
    lessons = list(
        await session.execute(
            select(Lesson, Subject.name, Staff.full_name)
            .join(Subject, Subject.id == Lesson.subject_id)
            .outerjoin(Staff, Staff.id == Lesson.replacement_teacher_id)
            .where(Lesson.id.in_(sorted(lesson_ids)))
            .order_by(Lesson.date, Lesson.lesson_number)
        )
    )
    for row in rows:
        day = _day(row.payload.get("date"))
        students = _visible(facts, row, TrustScope.SCHEDULE, NotificationKind.TIMETABLE)
        listed = set(row.payload.get("lesson_ids") or [])
        children = []
        for info in students:
            changes = [
                LessonChange(
                    lesson.lesson_number,
                    lesson.starts_at,
                    subject,
                    lesson.cancelled,
                    lesson.cancel_reason,
                    replacement,
                    lesson.room,
                )
                for lesson, subject, replacement in lessons
                if lesson.id in listed
                and lesson.class_id == info.class_id
                and lesson.date == day
                and (lesson.cancelled or lesson.replacement_teacher_id is not None)
            ]
            if changes:
                children.append(ChildBlock(info.name, info.class_name, changes))
        if children and day is not None:
            result[row.id] = FamilyContent({"date": day, "children": children}, students[0].id)
    return result


async def _period_summaries(
    session: AsyncSession, rows: list[Outgoing], facts: Facts
) -> dict[int, FamilyContent | None]:
    """A period's averages per subject and the period grades set so far."""
    result: dict[int, FamilyContent | None] = {r.id: None for r in rows}
    period_ids = sorted(
        {r.payload["period_id"] for r in rows if isinstance(r.payload.get("period_id"), int)}
    )
    if not period_ids:
        return result
    periods = {
        p.id: PeriodInfo(p.id, str(p.kind), p.number, p.starts_on, p.ends_on)
        for p in await session.scalars(select(Period).where(Period.id.in_(period_ids)))
    }
    wanted: dict[int, tuple[PeriodInfo, list[StudentInfo]]] = {}
    for row in rows:
        period = periods.get(row.payload.get("period_id", -1))
        students = _visible(facts, row, TrustScope.GRADES, *_GRADE_SUMMARY)
        if period is not None and students:
            wanted[row.id] = (period, students)
    if not wanted:
        return result
    first = min(p.starts_on for p, _ in wanted.values())
    last = max(p.ends_on for p, _ in wanted.values())
    student_ids = {s.id for _, students in wanted.values() for s in students}
    grades = await _grades_between(session, student_ids, dated=(first, last))
    finals: dict[tuple[int, int, str], str] = {}
    for student_id, period_id, subject, value in await session.execute(
        select(PeriodGrade.student_id, PeriodGrade.period_id, Subject.name, PeriodGrade.value)
        .join(TeachingAssignment, TeachingAssignment.id == PeriodGrade.assignment_id)
        .join(Subject, Subject.id == TeachingAssignment.subject_id)
        .where(
            PeriodGrade.student_id.in_(sorted(student_ids)),
            PeriodGrade.period_id.in_(period_ids),
            PeriodGrade.value.is_not(None),
        )
    ):
        if value is not None:  # excluded by the query; the column is nullable
            finals[(student_id, period_id, subject)] = display_value(value)
    for row_id, (period, students) in wanted.items():
        inside = [
            g
            for g in grades
            if period.starts_on <= g[0].date <= period.ends_on and family_sees(g[0], period.ends_on)
        ]
        children = []
        for info in students:
            mine = {
                s: v for (sid, pid, s), v in finals.items() if sid == info.id and pid == period.id
            }
            subjects = _subject_averages(inside, info.id, mine)
            if subjects:
                children.append(SummaryChild(info.name, info.class_name, subjects))
        if children:
            result[row_id] = FamilyContent(
                {"period": period, "children": children},
                students[0].id,
            )
    return result


_Loader = Callable[
    [AsyncSession, list[Outgoing], Facts], Awaitable[dict[int, FamilyContent | None]]
]
_LOADERS: dict[NotificationEvent, _Loader] = {
    NotificationEvent.DIGEST: _digests,
    NotificationEvent.WEEKLY: _weekly,
    NotificationEvent.HOMEWORK_DUE: _homework_due,
    NotificationEvent.TIMETABLE: _timetable,
    NotificationEvent.PERIOD_SUMMARY: _period_summaries,
}


# --- the weekly chart ---------------------------------------------------------------------------


def weekly_chart(children: list[SummaryChild], start: date, end: date) -> bytes:
    """A PNG: one panel per child, a bar per subject (the week's average as a share of the
    subject's scale, labelled with the average itself). No words to translate."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = sum(max(1, len(c.subjects)) for c in children)
    height = 0.9 + 0.38 * rows + 0.55 * len(children)
    figure = Figure(figsize=(7.5, min(height, 60.0)), dpi=110)
    FigureCanvasAgg(figure)
    ratios = [max(1, len(c.subjects)) + 1 for c in children]
    axes = figure.subplots(len(children), 1, squeeze=False, gridspec_kw={"height_ratios": ratios})
    palette = ["#d9534f", "#f0ad4e", "#5bc0de", "#5cb85c"]
    for ax, child in zip(axes[:, 0], children, strict=True):
        subjects = list(reversed(child.subjects))
        shares = [s.share for s in subjects]
        colors = [palette[min(3, int(share * 4 - 1e-9)) if share > 0 else 0] for share in shares]
        positions = range(len(subjects))
        ax.barh(list(positions), [max(0.02, s) for s in shares], color=colors, height=0.6)
        ax.set_yticks(list(positions), [_short(s.subject) for s in subjects], fontsize=9)
        ax.set_xlim(0, 1.18)
        ax.set_xticks([])
        for position, subject in zip(positions, subjects, strict=True):
            ax.text(
                max(0.02, subject.share) + 0.01,
                position,
                f"{subject.average}  ({' '.join(_symbol(v) for v in subject.values[:8])})",
                va="center",
                fontsize=8,
            )
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        title = child.name if not child.class_name else f"{child.name} · {child.class_name}"
        ax.set_title(_short(title, 60), loc="left", fontsize=10, fontweight="bold")
    figure.suptitle(f"{start:%d.%m}–{end:%d.%m.%Y}", fontsize=11, x=0.02, ha="left")
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _symbol(value: str) -> str:
    """Pass/fail as symbols (the chart has no words to translate)."""
    return {"pass": "✓", "fail": "✗"}.get(value, value)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def period_kind_order(kind: PeriodKind | str) -> int:
    """Longer periods first (a year summary replaces a quarter ending the same day)."""
    order = [PeriodKind.YEAR, PeriodKind.SEMESTER, PeriodKind.TRIMESTER, PeriodKind.QUARTER]
    return order.index(PeriodKind(kind))
