"""What a notification says, decided when it is sent.

`load_facts` reads the current state of everything a batch of outbox rows is about — grades,
homework, attendance, submissions, comments, the recipients' preferences and their links to
the students — in a fixed number of queries, whatever the batch size. `plan_batch` is pure: it
decides for each row whether it is void (cancel), must wait (reschedule) or is sent, and
coalesces the rows of one recipient and kind into one message (one per family, even for
several children).

Journal events (the contract in `services.notifications`) are grouped by what they are about:
"grade", "grade_changed", "grade_deleted" → one grades message (`notify/grade.html.j2`);
"homework" → `notify/homework.html.j2`; "attendance" → `notify/attendance.html.j2`;
"submission_reviewed", "comment", "reply" and the scheduled family summaries ("digest",
"weekly", "homework_due", "timetable", "period_summary") each have their own template. Rows
without an event (linking) are rendered from their own template with their payload, as ever.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import (
    AttendanceStatus,
    DeliveryMode,
    NotificationKind,
    OutboxStatus,
    SubmissionStatus,
    TrustScope,
)
from db.models import (
    AcademicYear,
    Account,
    Attendance,
    Comment,
    Enrollment,
    Grade,
    Guardianship,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    OutboxMessage,
    School,
    SchoolClass,
    Staff,
    Student,
    Subject,
    TrustedAccess,
)
from services.grading import display_value
from services.notify.outbox import Outgoing
from services.notify.preferences import UNTUNED, PreferenceDefaults, Preferences, load_preferences

GROUP_OF_EVENT: dict[str, str] = {
    "grade": "grade",
    "grade_changed": "grade",
    "grade_deleted": "grade",
    "homework": "homework",
    "attendance": "attendance",
    "submission_reviewed": "submission_reviewed",
    "comment": "comment",
    "reply": "reply",
    "digest": "digest",
    "weekly": "weekly",
    "homework_due": "homework_due",
    "timetable": "timetable",
    "period_summary": "period_summary",
}
COALESCED = frozenset({"grade", "homework", "attendance"})
FAMILY_GROUPS = frozenset({"digest", "weekly", "homework_due", "timetable", "period_summary"})
#: Summaries are what "only in the digest" means, so that mode never holds them back.
DIGEST_GROUPS = frozenset({"digest", "weekly", "period_summary"})
NOTIFIED_ABSENCES = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.LATE})
MAX_GRADE_BUTTONS = 8


def template_of(group: str) -> str:
    return f"notify/{group}.html.j2"


# --- what the messages carry ------------------------------------------------------------------


class ButtonAction(enum.StrEnum):
    SEEN = "seen"
    COMMENT = "comment"
    THREAD = "thread"
    REPLY = "reply"
    LINK_DECISION = "link_decision"


@dataclass(frozen=True)
class Button:
    """A button of a notification; the transport turns it into callback data and a label."""

    action: ButtonAction
    target_id: int
    label: str = ""  # plain data shown on the button (subject and value), never markup


@dataclass
class Outbound:
    """One message to one chat, built from one or more outbox rows."""

    chat_id: int
    account_id: int
    locale: str | None
    kind: NotificationKind
    template: str
    context: dict[str, Any]
    rows: list[int]
    attempts: int = 0
    buttons: list[list[Button]] = field(default_factory=list)
    photo: Callable[[], bytes] | None = None  # built in a worker thread right before sending
    photo_bytes: bytes | None = None


@dataclass
class Plan:
    messages: list[Outbound] = field(default_factory=list)
    cancel: dict[int, str] = field(default_factory=dict)
    reschedule: dict[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class GradeLine:
    grade_id: int
    change: str  # "new", "changed" or "deleted"
    subject: str
    value: str
    old_value: str | None
    kind: str
    weight: float
    date: date
    comment: str | None
    reason: str | None
    teacher: str | None


@dataclass(frozen=True)
class HomeworkLine:
    subject: str
    due_date: date
    text: str
    attachments: int
    teacher: str | None


@dataclass(frozen=True)
class AttendanceLine:
    subject: str
    date: date
    lesson_number: int
    status: str
    minutes_late: int | None
    reason: str | None


@dataclass
class ChildBlock:
    """One child's part of a family message."""

    name: str
    class_name: str | None
    lines: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class CommentLine:
    author: str
    text: str
    at: datetime
    from_teacher: bool


# --- facts: the current state, for a whole batch -------------------------------------------------


class Via(enum.StrEnum):
    PARENT = "parent"
    TRUSTED = "trusted"
    STUDENT = "student"


@dataclass(frozen=True)
class Relation:
    via: Via
    scopes: int = 15

    def allows(self, scope: TrustScope | None) -> bool:
        return self.via != Via.TRUSTED or (scope is not None and bool(self.scopes & scope))


@dataclass(frozen=True)
class StudentInfo:
    id: int
    name: str
    account_id: int | None
    school_id: int
    class_id: int | None
    class_name: str | None
    zone: ZoneInfo


@dataclass(frozen=True)
class GradeFacts:
    id: int
    student_id: int
    subject: str
    value: str
    kind: str
    weight: float
    date: dt.date
    comment: str | None
    deleted: bool
    hidden_until: dt.date | None
    lesson_id: int
    assignment_id: int
    author_id: int | None
    teacher: str | None


@dataclass(frozen=True)
class HomeworkFacts:
    id: int
    class_id: int
    line: HomeworkLine


@dataclass(frozen=True)
class AttendanceFacts:
    id: int
    student_id: int
    status: AttendanceStatus
    line: AttendanceLine


@dataclass(frozen=True)
class SubmissionFacts:
    id: int
    student_id: int
    status: SubmissionStatus
    subject: str
    due_date: date
    task: str
    teacher_comment: str | None
    reviewer: str | None


@dataclass(frozen=True)
class CommentFacts:
    id: int
    grade_id: int
    author_id: int
    author: str
    reply_to_id: int | None
    text: str
    created_at: datetime
    from_teacher: bool = False


@dataclass
class FamilyContent:
    """A scheduled summary, ready to render (`services.digests` builds these)."""

    template: str
    context: dict[str, Any]
    student_id: int | None = None
    photo: Callable[[], bytes] | None = None


@dataclass
class Facts:
    now: datetime
    default_zone: ZoneInfo
    prefs: dict[int, Preferences] = field(default_factory=dict)
    students: dict[int, StudentInfo] = field(default_factory=dict)
    relations: dict[tuple[int, int], Relation] = field(default_factory=dict)
    grades: dict[int, GradeFacts] = field(default_factory=dict)
    announced: dict[str, OutboxStatus] = field(default_factory=dict)
    homework: dict[int, HomeworkFacts] = field(default_factory=dict)
    attendance: dict[int, AttendanceFacts] = field(default_factory=dict)
    submissions: dict[int, SubmissionFacts] = field(default_factory=dict)
    comments: dict[int, CommentFacts] = field(default_factory=dict)
    threads: dict[int, list[CommentFacts]] = field(default_factory=dict)
    later: dict[tuple[int, str], datetime] = field(default_factory=dict)
    family: dict[int, FamilyContent | None] = field(default_factory=dict)

    def zone_of(self, student_id: int | None) -> ZoneInfo:
        info = self.students.get(student_id) if student_id is not None else None
        return info.zone if info is not None else self.default_zone

    def today(self, student_id: int | None) -> date:
        return self.now.astimezone(self.zone_of(student_id)).date()

    def relation(self, account_id: int, student_id: int) -> Relation | None:
        return self.relations.get((account_id, student_id))


def _ints(values: Iterable[Any]) -> set[int]:
    return {int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)}


def student_ids_of(row: Outgoing) -> set[int]:
    ids = _ints([row.payload.get("student_id")])
    listed = row.payload.get("student_ids")
    if isinstance(listed, list):
        ids |= _ints(listed)
    return ids


def current_class() -> Any:
    """Students' current class (this academic year), as a subquery."""
    return (
        select(
            Enrollment.student_id,
            SchoolClass.id.label("class_id"),
            SchoolClass.name.label("class_name"),
        )
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_current, Enrollment.left_on.is_(None))
        .subquery()
    )


async def load_students(
    session: AsyncSession, ids: Iterable[int], default_zone: ZoneInfo
) -> dict[int, StudentInfo]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    cur = current_class()
    rows = await session.execute(
        select(
            Student.id,
            Student.full_name,
            Student.account_id,
            Student.school_id,
            School.timezone,
            cur.c.class_id,
            cur.c.class_name,
        )
        .join(School, School.id == Student.school_id)
        .outerjoin(cur, cur.c.student_id == Student.id)
        .where(Student.id.in_(wanted))
    )
    zones: dict[str, ZoneInfo] = {}
    result: dict[int, StudentInfo] = {}
    for sid, name, account_id, school_id, tz, class_id, class_name in rows:
        zone = zones.get(tz or "")
        if zone is None:
            try:
                zone = ZoneInfo(tz) if tz else default_zone
            except (KeyError, ValueError):
                zone = default_zone
            zones[tz or ""] = zone
        result[sid] = StudentInfo(sid, name, account_id, school_id, class_id, class_name, zone)
    return result


async def load_relations(
    session: AsyncSession,
    account_ids: Iterable[int],
    students: dict[int, StudentInfo],
    now: datetime,
) -> dict[tuple[int, int], Relation]:
    """How each account is linked to each student right now (two queries)."""
    accounts = sorted(set(account_ids))
    student_ids = sorted(students)
    relations: dict[tuple[int, int], Relation] = {}
    if not accounts or not student_ids:
        return relations
    for account_id, student_id, scopes in await session.execute(
        select(TrustedAccess.account_id, TrustedAccess.student_id, TrustedAccess.scopes).where(
            TrustedAccess.account_id.in_(accounts),
            TrustedAccess.student_id.in_(student_ids),
            TrustedAccess.revoked_at.is_(None),
            or_(TrustedAccess.expires_at.is_(None), TrustedAccess.expires_at > now),
        )
    ):
        if account_id is None:  # excluded by the query; an unaccepted invitation has none
            continue
        previous = relations.get((account_id, student_id))
        relations[(account_id, student_id)] = Relation(
            Via.TRUSTED, scopes | (previous.scopes if previous else 0)
        )
    for info in students.values():
        if info.account_id in accounts:
            relations[(info.account_id, info.id)] = Relation(Via.STUDENT)
    for account_id, student_id in await session.execute(
        select(Guardianship.account_id, Guardianship.student_id).where(
            Guardianship.account_id.in_(accounts),
            Guardianship.student_id.in_(student_ids),
            Guardianship.revoked_at.is_(None),
        )
    ):
        relations[(account_id, student_id)] = Relation(Via.PARENT)
    return relations


async def load_grades(session: AsyncSession, ids: Iterable[int]) -> dict[int, GradeFacts]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Grade, Subject.name, Staff.full_name)
        .join(Subject, Subject.id == Grade.subject_id)
        .outerjoin(Staff, Staff.id == Grade.author_id)
        .where(Grade.id.in_(wanted))
    )
    return {
        g.id: GradeFacts(
            id=g.id,
            student_id=g.student_id,
            subject=subject,
            value=g.value,
            kind=str(g.kind),
            weight=g.weight,
            date=g.date,
            comment=g.comment,
            deleted=g.deleted_at is not None,
            hidden_until=g.hidden_until,
            lesson_id=g.lesson_id,
            assignment_id=g.assignment_id,
            author_id=g.author_id,
            teacher=teacher,
        )
        for g, subject, teacher in rows
    }


async def load_comments(
    session: AsyncSession, ids: Iterable[int]
) -> tuple[dict[int, CommentFacts], dict[int, list[CommentFacts]]]:
    """The comments asked for, and every comment of their grades' threads (one query)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}, {}
    grades = select(Comment.grade_id).where(Comment.id.in_(wanted))
    rows = await session.execute(
        select(Comment, Account.full_name, Staff.id)
        .join(Account, Account.id == Comment.author_id)
        .outerjoin(Staff, Staff.account_id == Comment.author_id)
        .where(Comment.grade_id.in_(grades))
        .order_by(Comment.created_at, Comment.id)
    )
    by_id: dict[int, CommentFacts] = {}
    threads: dict[int, list[CommentFacts]] = {}
    for comment, author, staff_id in rows:
        facts = CommentFacts(
            comment.id,
            comment.grade_id,
            comment.author_id,
            author,
            comment.reply_to_id,
            comment.text,
            comment.created_at,
            staff_id is not None,
        )
        by_id[comment.id] = facts
        threads.setdefault(comment.grade_id, []).append(facts)
    return by_id, threads


async def load_facts(
    session: AsyncSession,
    rows: list[Outgoing],
    *,
    now: datetime,
    default_zone: ZoneInfo,
    defaults: PreferenceDefaults,
    grace: timedelta = timedelta(seconds=60),
) -> Facts:
    """Everything `plan_batch` needs, in a bounded number of queries."""
    from services.notify import digests  # the summaries build on the loaders above

    facts = Facts(now=now, default_zone=default_zone)
    tuned = [r for r in rows if r.kind not in UNTUNED and r.event in GROUP_OF_EVENT]
    if not tuned:
        return facts
    accounts = {r.account_id for r in tuned}
    facts.prefs = await load_preferences(session, accounts, defaults)

    def ids_of(events: set[str], key: str) -> set[int]:
        return _ints(r.payload.get(key) for r in tuned if r.event in events)

    comment_ids = ids_of({"comment", "reply"}, "comment_id")
    facts.comments, facts.threads = await load_comments(session, comment_ids)
    grade_ids = ids_of({"grade", "grade_changed", "grade_deleted"}, "grade_id")
    grade_ids |= {c.grade_id for c in facts.comments.values()}
    facts.grades = await load_grades(session, grade_ids)

    student_ids: set[int] = {g.student_id for g in facts.grades.values()}
    for row in tuned:
        student_ids |= student_ids_of(row)
    facts.students = await load_students(session, student_ids, default_zone)
    facts.relations = await load_relations(session, accounts, facts.students, now)

    keys = [
        f"grade:{r.payload.get('grade_id')}:new:{r.account_id}"
        for r in tuned
        if r.event in ("grade_changed", "grade_deleted")
    ]
    if keys:
        found = await session.execute(
            select(OutboxMessage.dedup_key, OutboxMessage.status).where(
                OutboxMessage.dedup_key.in_(keys)
            )
        )
        facts.announced = dict(found.all())
    facts.homework = await _load_homework(session, ids_of({"homework"}, "homework_id"))
    facts.attendance = await _load_attendance(session, ids_of({"attendance"}, "attendance_id"))
    facts.submissions = await _load_submissions(
        session, ids_of({"submission_reviewed"}, "submission_id")
    )
    facts.later = await _load_later(
        session, [r for r in tuned if _group(r) in COALESCED], now, grace
    )
    family_rows = [r for r in tuned if _group(r) in FAMILY_GROUPS]
    if family_rows:
        facts.family = await digests.load_family(session, family_rows, facts)
    return facts


async def _load_homework(session: AsyncSession, ids: set[int]) -> dict[int, HomeworkFacts]:
    if not ids:
        return {}
    attachments = (
        select(func.count(HomeworkAttachment.id))
        .where(HomeworkAttachment.homework_id == Homework.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Homework.id,
            Homework.class_id,
            Homework.due_date,
            Homework.text,
            Subject.name,
            Staff.full_name,
            attachments,
        )
        .join(Subject, Subject.id == Homework.subject_id)
        .outerjoin(Staff, Staff.id == Homework.created_by_id)
        .where(Homework.id.in_(sorted(ids)))
    )
    return {
        hid: HomeworkFacts(hid, class_id, HomeworkLine(subject, due, text, int(count or 0), who))
        for hid, class_id, due, text, subject, who, count in rows
    }


async def _load_attendance(session: AsyncSession, ids: set[int]) -> dict[int, AttendanceFacts]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Attendance.id,
            Attendance.student_id,
            Attendance.status,
            Attendance.minutes_late,
            Attendance.reason,
            Lesson.date,
            Lesson.lesson_number,
            Subject.name,
        )
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Subject, Subject.id == Lesson.subject_id)
        .where(Attendance.id.in_(sorted(ids)))
    )
    return {
        aid: AttendanceFacts(
            aid,
            student_id,
            AttendanceStatus(status),
            AttendanceLine(subject, day, number, str(status), late, reason),
        )
        for aid, student_id, status, late, reason, day, number, subject in rows
    }


async def _load_submissions(session: AsyncSession, ids: set[int]) -> dict[int, SubmissionFacts]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            HomeworkSubmission.id,
            HomeworkSubmission.student_id,
            HomeworkSubmission.status,
            HomeworkSubmission.teacher_comment,
            Homework.due_date,
            Homework.text,
            Subject.name,
            Staff.full_name,
        )
        .join(Homework, Homework.id == HomeworkSubmission.homework_id)
        .join(Subject, Subject.id == Homework.subject_id)
        .outerjoin(Staff, Staff.id == HomeworkSubmission.reviewed_by_id)
        .where(HomeworkSubmission.id.in_(sorted(ids)))
    )
    return {
        sid: SubmissionFacts(
            sid, student_id, SubmissionStatus(status), subject, due, task, comment, reviewer
        )
        for sid, student_id, status, comment, due, task, subject, reviewer in rows
    }


async def _load_later(
    session: AsyncSession, rows: list[Outgoing], now: datetime, grace: timedelta
) -> dict[tuple[int, str], datetime]:
    """For coalescing: the last not-yet-due row of each recipient and group, if it is due
    within two grace windows (a teacher still grading the family's children)."""
    if not rows:
        return {}
    found = await session.execute(
        select(OutboxMessage.account_id, OutboxMessage.payload, OutboxMessage.not_before).where(
            OutboxMessage.account_id.in_(sorted({r.account_id for r in rows})),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind.in_(
                [NotificationKind.GRADE, NotificationKind.HOMEWORK, NotificationKind.ATTENDANCE]
            ),
            OutboxMessage.not_before > now,
            OutboxMessage.not_before <= now + 2 * grace,
        )
    )
    later: dict[tuple[int, str], datetime] = {}
    for account_id, payload, not_before in found:
        group = GROUP_OF_EVENT.get(str((payload or {}).get("event")))
        if group in COALESCED:
            key = (account_id, group)
            later[key] = max(later.get(key, not_before), not_before)
    return later


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drop:
    reason: str


@dataclass(frozen=True)
class _Wait:
    at: datetime


@dataclass
class _Item:
    student_id: int | None
    line: Any = None
    parent: bool = False
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    buttons: list[list[Button]] = field(default_factory=list)
    photo: Callable[[], bytes] | None = None


_Decision = _Drop | _Wait | _Item


def _group(row: Outgoing) -> str | None:
    return GROUP_OF_EVENT.get(row.event or "")


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def _grade_item(row: Outgoing, facts: Facts) -> _Decision:
    grade = facts.grades.get(row.payload.get("grade_id", -1))
    if grade is None:
        return _Drop("grade gone")
    relation = facts.relation(row.account_id, grade.student_id)
    if relation is None or not relation.allows(TrustScope.GRADES):
        return _Drop("no access")
    event = row.event
    if grade.deleted and event != "grade_deleted":
        return _Drop("grade deleted")
    zone = facts.zone_of(grade.student_id)
    if grade.hidden_until is not None and grade.hidden_until > facts.today(grade.student_id):
        return _Wait(_start_of(grade.hidden_until, zone))
    announced = facts.announced.get(f"grade:{grade.id}:new:{row.account_id}")
    reason = row.payload.get("reason")
    old = row.payload.get("old_value")
    if event == "grade":
        change, old_value = "new", None
        value = grade.value
    elif event == "grade_changed":
        if announced in (OutboxStatus.PENDING, OutboxStatus.CANCELLED):
            return _Drop("merged: the family has not been told of this grade yet")
        change, old_value, value = "changed", str(old) if old is not None else None, grade.value
    else:
        if announced in (OutboxStatus.PENDING, OutboxStatus.CANCELLED):
            return _Drop("deleted before it was announced")
        change, old_value = "deleted", None
        value = str(old) if old is not None else grade.value
    line = GradeLine(
        grade_id=grade.id,
        change=change,
        subject=grade.subject,
        value=display_value(value),
        old_value=display_value(old_value) if old_value is not None else None,
        kind=grade.kind,
        weight=grade.weight,
        date=grade.date,
        comment=grade.comment,
        reason=str(reason) if reason else None,
        teacher=grade.teacher,
    )
    return _Item(grade.student_id, line, parent=relation.via == Via.PARENT)


def _homework_item(row: Outgoing, facts: Facts) -> _Decision:
    homework = facts.homework.get(row.payload.get("homework_id", -1))
    student_id = row.payload.get("student_id")
    if homework is None:
        return _Drop("homework gone")
    if not isinstance(student_id, int):
        return _Drop("no student")
    relation = facts.relation(row.account_id, student_id)
    if relation is None or not relation.allows(TrustScope.HOMEWORK):
        return _Drop("no access")
    return _Item(student_id, homework.line)


def _attendance_item(row: Outgoing, facts: Facts) -> _Decision:
    mark = facts.attendance.get(row.payload.get("attendance_id", -1))
    if mark is None:
        return _Drop("attendance gone")
    relation = facts.relation(row.account_id, mark.student_id)
    if relation is None or not relation.allows(TrustScope.ATTENDANCE):
        return _Drop("no access")
    if mark.status not in NOTIFIED_ABSENCES:
        return _Drop(f"now {mark.status}")
    if mark.line.date < facts.today(mark.student_id) - timedelta(days=1):
        return _Drop("not on the day")
    return _Item(mark.student_id, mark.line)


def _submission_item(row: Outgoing, facts: Facts) -> _Decision:
    submission = facts.submissions.get(row.payload.get("submission_id", -1))
    if submission is None or submission.status == SubmissionStatus.SUBMITTED:
        return _Drop("not reviewed")
    relation = facts.relation(row.account_id, submission.student_id)
    if relation is None or relation.via != Via.STUDENT:
        return _Drop("not the student")
    return _Item(
        submission.student_id,
        template=template_of("submission_reviewed"),
        context={"submission": submission},
    )


def _thread_lines(facts: Facts, grade_id: int, upto: int) -> list[CommentLine]:
    """The last few comments of a thread before comment `upto`."""
    return [
        CommentLine(c.author, c.text, c.created_at, c.from_teacher)
        for c in facts.threads.get(grade_id, [])
        if c.id < upto
    ][-5:]


def _comment_item(row: Outgoing, facts: Facts) -> _Decision:
    comment = facts.comments.get(row.payload.get("comment_id", -1))
    grade = facts.grades.get(comment.grade_id) if comment is not None else None
    if comment is None or grade is None or grade.deleted:
        return _Drop("comment or grade gone")
    student = facts.students.get(grade.student_id)
    context = {
        "author": comment.author,
        "text": comment.text,
        "student_name": student.name if student else "",
        "class_name": student.class_name if student else None,
        "grade": _plain_grade_line(grade),
        "thread": _thread_lines(facts, grade.id, comment.id),
    }
    return _Item(
        grade.student_id,
        template=template_of("comment"),
        context=context,
        buttons=[[Button(ButtonAction.REPLY, comment.id)]],
    )


def _reply_item(row: Outgoing, facts: Facts) -> _Decision:
    reply = facts.comments.get(row.payload.get("comment_id", -1))
    grade = facts.grades.get(reply.grade_id) if reply is not None else None
    if reply is None or grade is None or grade.deleted:
        return _Drop("reply or grade gone")
    relation = facts.relation(row.account_id, grade.student_id)
    if relation is None or relation.via != Via.PARENT:
        return _Drop("no access")
    original = facts.comments.get(reply.reply_to_id) if reply.reply_to_id else None
    student = facts.students.get(grade.student_id)
    context = {
        "teacher": reply.author,
        "text": reply.text,
        "question": original.text if original is not None else None,
        "student_name": student.name if student else "",
        "grade": _plain_grade_line(grade),
    }
    return _Item(
        grade.student_id,
        template=template_of("reply"),
        context=context,
        buttons=[
            [
                Button(ButtonAction.COMMENT, grade.id),
                Button(ButtonAction.THREAD, grade.id),
            ]
        ],
    )


def _plain_grade_line(grade: GradeFacts) -> GradeLine:
    return GradeLine(
        grade.id,
        "new",
        grade.subject,
        display_value(grade.value),
        None,
        grade.kind,
        grade.weight,
        grade.date,
        grade.comment,
        None,
        grade.teacher,
    )


def _family_item(row: Outgoing, facts: Facts) -> _Decision:
    content = facts.family.get(row.id)
    if content is None:
        return _Drop("nothing to report")
    return _Item(
        content.student_id,
        template=content.template,
        context=content.context,
        photo=content.photo,
    )


BUILDERS: dict[str, Callable[[Outgoing, Facts], _Decision]] = {
    "grade": _grade_item,
    "homework": _homework_item,
    "attendance": _attendance_item,
    "submission_reviewed": _submission_item,
    "comment": _comment_item,
    "reply": _reply_item,
    **dict.fromkeys(FAMILY_GROUPS, _family_item),
}


def legacy_message(row: Outgoing) -> Outbound:
    """A row with a complete payload (linking): its own template, its payload as context."""
    buttons: list[list[Button]] = []
    if row.payload.get("keyboard") == "link_decision":
        buttons = [[Button(ButtonAction.LINK_DECISION, int(row.payload["request_id"]))]]
    return Outbound(
        chat_id=row.chat_id,
        account_id=row.account_id,
        locale=row.locale,
        kind=row.kind,
        template=row.template,
        context=dict(row.payload),
        rows=[row.id],
        attempts=row.attempts,
        buttons=buttons,
    )


@dataclass
class _Collected:
    """The coalesced rows of one recipient and group."""

    first: Outgoing
    group: str
    rows: list[Outgoing] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)


def plan_batch(rows: list[Outgoing], facts: Facts, *, now: datetime, grace: timedelta) -> Plan:
    """Decide what becomes of every claimed row (pure; no I/O)."""
    plan = Plan()
    collected: dict[tuple[int, str], _Collected] = {}
    for row in rows:
        group = _group(row)
        if row.kind in UNTUNED or group is None:
            plan.messages.append(legacy_message(row))
            continue
        prefs = facts.prefs.get(row.account_id)
        if prefs is None:
            plan.cancel[row.id] = "no account"
            continue
        mode = prefs.mode(row.kind)
        if mode == DeliveryMode.OFF:
            plan.cancel[row.id] = "preference: off"
            continue
        if mode == DeliveryMode.DIGEST and group not in DIGEST_GROUPS:
            plan.cancel[row.id] = "preference: digest"
            continue
        decision = BUILDERS[group](row, facts)
        if isinstance(decision, _Drop):
            plan.cancel[row.id] = decision.reason
            continue
        if isinstance(decision, _Wait):
            plan.reschedule[row.id] = decision.at
            continue
        local = now.astimezone(facts.zone_of(decision.student_id))
        until = prefs.quiet_until(row.kind, local)
        if until is not None:
            plan.reschedule[row.id] = until.astimezone(UTC)
            continue
        if group in COALESCED:
            later = facts.later.get((row.account_id, group))
            created = row.created_at or now
            if later is not None and later <= created + 2 * grace:
                plan.reschedule[row.id] = later
                continue
            bucket = collected.setdefault((row.account_id, group), _Collected(row, group))
            bucket.rows.append(row)
            bucket.items.append(decision)
            continue
        plan.messages.append(
            Outbound(
                chat_id=row.chat_id,
                account_id=row.account_id,
                locale=row.locale,
                kind=row.kind,
                template=decision.template,
                context=decision.context,
                rows=[row.id],
                attempts=row.attempts,
                buttons=decision.buttons,
                photo=decision.photo,
            )
        )
    for bucket in collected.values():
        message = _coalesce(bucket, facts)
        if message is None:
            for row in bucket.rows:
                plan.cancel[row.id] = "nothing changed"
        else:
            plan.messages.append(message)
    return plan


def _collapse_grades(items: list[_Item]) -> list[_Item]:
    """Several events of one grade become one line: new (current value), deleted, or one
    change from the value the family last saw to the current one."""
    by_grade: dict[int, list[_Item]] = {}
    for item in items:
        by_grade.setdefault(item.line.grade_id, []).append(item)
    result: list[_Item] = []
    for group in by_grade.values():
        changes = {item.line.change: item for item in group}
        if "deleted" in changes:
            result.append(changes["deleted"])
        elif "new" in changes:
            result.append(changes["new"])
        else:
            first, last = group[0], group[-1]
            old = first.line.old_value
            if old == last.line.value:
                continue
            reason = next((i.line.reason for i in reversed(group) if i.line.reason), None)
            line = GradeLine(**{**last.line.__dict__, "old_value": old, "reason": reason})
            result.append(_Item(last.student_id, line, parent=last.parent))
    return result


def _order(item: _Item, facts: Facts) -> tuple[str, date, int]:
    """Children by name, then their lines by date and creation."""
    info = facts.students.get(item.student_id) if item.student_id is not None else None
    line = item.line
    return (
        info.name if info else "",
        getattr(line, "date", None) or getattr(line, "due_date", None) or date.min,
        getattr(line, "grade_id", 0),
    )


def _coalesce(bucket: _Collected, facts: Facts) -> Outbound | None:
    items = _collapse_grades(bucket.items) if bucket.group == "grade" else bucket.items
    if not items:
        return None
    items = sorted(items, key=lambda item: _order(item, facts))
    children: dict[int | None, ChildBlock] = {}
    for item in items:
        info = facts.students.get(item.student_id) if item.student_id is not None else None
        block = children.setdefault(
            item.student_id,
            ChildBlock(info.name if info else "", info.class_name if info else None),
        )
        block.lines.append(item.line)
    buttons: list[list[Button]] = []
    if bucket.group == "grade":
        reactable = [item.line for item in items if item.parent and item.line.change != "deleted"][
            :MAX_GRADE_BUTTONS
        ]
        if len(reactable) == 1:
            buttons = [
                [
                    Button(ButtonAction.SEEN, reactable[0].grade_id),
                    Button(ButtonAction.COMMENT, reactable[0].grade_id),
                ]
            ]
        else:
            for line in reactable:
                label = f"{line.subject} {line.value}"
                buttons.append(
                    [
                        Button(ButtonAction.SEEN, line.grade_id, label),
                        Button(ButtonAction.COMMENT, line.grade_id, label),
                    ]
                )
    first = bucket.first
    return Outbound(
        chat_id=first.chat_id,
        account_id=first.account_id,
        locale=first.locale,
        kind=first.kind,
        template=template_of(bucket.group),
        context={"children": list(children.values())},
        rows=[row.id for row in bucket.rows],
        attempts=max(row.attempts for row in bucket.rows),
        buttons=buttons,
    )
