"""The facts a batch of outbox rows is about, read when they are sent.

`load_facts` reads the current state of everything a batch is about — grades, homework,
attendance, submissions, comments, the recipients' preferences and their links to the
students, and the scheduled summaries (`services.notify.digests`) — in a fixed number of
queries, whatever the batch size. The planner (`services.notify.plan`) decides with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.enums import AttendanceStatus, OutboxStatus, SubmissionStatus
from db.models import (
    Account,
    Attendance,
    Comment,
    Grade,
    Guardianship,
    Homework,
    HomeworkSubmission,
    Lesson,
    OutboxMessage,
    School,
    Staff,
    Student,
    Subject,
    TrustedAccess,
)
from services.core import enrolment, links
from services.core.files import attachment_count
from services.core.schooltime import zone_of
from services.notify import digests
from services.notify.events import (
    COALESCED,
    FAMILY_SUMMARIES,
    GRADE_EVENTS,
    DedupKey,
    NotificationEvent,
)
from services.notify.model import (
    AttendanceFacts,
    AttendanceLine,
    CommentFacts,
    Facts,
    GradeFacts,
    HomeworkFacts,
    HomeworkLine,
    Outgoing,
    Relation,
    StudentInfo,
    SubmissionFacts,
    Via,
    int_ids,
    student_ids_of,
)
from services.notify.preferences import UNTUNED, PreferenceDefaults, load_preferences

_Ts = TypeVarTuple("_Ts")


async def _by_ids(
    session: AsyncSession,
    key: InstrumentedAttribute[int],
    ids: Iterable[int],
    query: Select[*_Ts],
) -> Sequence[Row[*_Ts]]:
    """The rows of `query` whose `key` is one of `ids`, asked in id order; no statement when
    there are none (every loader of a batch's facts reads this way)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return (await session.execute(query.where(key.in_(wanted)))).all()


async def load_students(
    session: AsyncSession, ids: Iterable[int], default_zone: ZoneInfo, now: datetime
) -> dict[int, StudentInfo]:
    """The students asked for, each with their school's zone (`default_zone` when it has none
    or an unknown one) and their current class at `now` (`services.core.enrolment`); one
    query."""
    stint = enrolment.stints()
    rows = await _by_ids(
        session,
        Student.id,
        ids,
        select(
            Student.id,
            Student.full_name,
            Student.account_id,
            Student.school_id,
            School.timezone,
            *enrolment.stint_columns(stint),
        )
        .join(School, School.id == Student.school_id)
        .outerjoin(stint, stint.c.student_id == Student.id),
    )
    zones: dict[str, ZoneInfo] = {}
    result: dict[int, StudentInfo] = {}
    for (sid, name, account_id, school_id, tz), stay in enrolment.with_current(rows, now):
        zone = zones.get(tz or "")
        if zone is None:
            zone = zones[tz or ""] = zone_of(tz, default_zone)
        class_id, class_name = (stay.class_id, stay.class_name) if stay else (None, None)
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
            links.trust_active(now),
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
            links.guardianship_active(),
        )
    ):
        relations[(account_id, student_id)] = Relation(Via.PARENT)
    return relations


async def load_grades(session: AsyncSession, ids: Iterable[int]) -> dict[int, GradeFacts]:
    rows = await _by_ids(
        session,
        Grade.id,
        ids,
        select(Grade, Subject.name, Staff.full_name)
        .join(Subject, Subject.id == Grade.subject_id)
        .outerjoin(Staff, Staff.id == Grade.author_id),
    )
    return {g.id: GradeFacts.of(g, subject, teacher) for g, subject, teacher in rows}


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
    facts = Facts(now=now, default_zone=default_zone)
    tuned = [r for r in rows if r.kind not in UNTUNED and r.event.group is not None]
    if not tuned:
        return facts
    accounts = {r.account_id for r in tuned}
    facts.prefs = await load_preferences(session, accounts, defaults)

    def ids_of(events: Iterable[NotificationEvent], key: str) -> set[int]:
        return int_ids(r.payload.get(key) for r in tuned if r.event in events)

    comment_ids = ids_of({NotificationEvent.COMMENT, NotificationEvent.REPLY}, "comment_id")
    facts.comments, facts.threads = await load_comments(session, comment_ids)
    grade_ids = ids_of(GRADE_EVENTS, "grade_id")
    grade_ids |= {c.grade_id for c in facts.comments.values()}
    facts.grades = await load_grades(session, grade_ids)

    student_ids: set[int] = {g.student_id for g in facts.grades.values()}
    for row in tuned:
        student_ids |= student_ids_of(row)
    facts.students = await load_students(session, student_ids, default_zone, now)
    facts.relations = await load_relations(session, accounts, facts.students, now)
    facts.announced = await _load_announced(
        session, [r for r in tuned if r.event in GRADE_EVENTS - {NotificationEvent.GRADE}]
    )
    facts.homework = await _load_homework(
        session, ids_of({NotificationEvent.HOMEWORK}, "homework_id")
    )
    facts.attendance = await _load_attendance(
        session, ids_of({NotificationEvent.ATTENDANCE}, "attendance_id")
    )
    facts.submissions = await _load_submissions(
        session, ids_of({NotificationEvent.SUBMISSION_REVIEWED}, "submission_id")
    )
    facts.later = await _load_later(
        session, [r for r in tuned if r.event.group in COALESCED], now, grace
    )
    family_rows = [r for r in tuned if r.event.group in FAMILY_SUMMARIES]
    if family_rows:
        facts.family = await digests.load_family(session, family_rows, facts)
    return facts


async def _load_announced(
    session: AsyncSession, rows: list[Outgoing]
) -> dict[tuple[int, int], OutboxStatus]:
    """For changed and deleted grades: what became of each recipient's announcement of the
    grade, by (grade, account)."""
    keys = {
        DedupKey.grade_new(grade_id).for_account(r.account_id): (grade_id, r.account_id)
        for r in rows
        for grade_id in int_ids([r.payload.get("grade_id")])
    }
    if not keys:
        return {}
    found = await session.execute(
        select(OutboxMessage.dedup_key, OutboxMessage.status).where(
            OutboxMessage.dedup_key.in_(list(keys))
        )
    )
    return {keys[key]: status for key, status in found}


async def _load_homework(session: AsyncSession, ids: set[int]) -> dict[int, HomeworkFacts]:
    rows = await _by_ids(
        session,
        Homework.id,
        ids,
        select(
            Homework.id,
            Homework.class_id,
            Homework.due_date,
            Homework.text,
            Subject.name,
            Staff.full_name,
            attachment_count(),
        )
        .join(Subject, Subject.id == Homework.subject_id)
        .outerjoin(Staff, Staff.id == Homework.created_by_id),
    )
    return {
        hid: HomeworkFacts(hid, class_id, HomeworkLine(subject, due, text, int(count or 0), who))
        for hid, class_id, due, text, subject, who, count in rows
    }


async def _load_attendance(session: AsyncSession, ids: set[int]) -> dict[int, AttendanceFacts]:
    rows = await _by_ids(
        session,
        Attendance.id,
        ids,
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
        .join(Subject, Subject.id == Lesson.subject_id),
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
    rows = await _by_ids(
        session,
        HomeworkSubmission.id,
        ids,
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
        .outerjoin(Staff, Staff.id == HomeworkSubmission.reviewed_by_id),
    )
    return {
        sid: SubmissionFacts(
            sid, student_id, SubmissionStatus(status), subject, due, task, comment, reviewer
        )
        for sid, student_id, status, comment, due, task, subject, reviewer in rows
    }


async def _load_later(
    session: AsyncSession, rows: list[Outgoing], now: datetime, grace: timedelta
) -> dict[tuple[int, NotificationEvent], datetime]:
    """For coalescing: the last not-yet-due row of each recipient and group, if it is due
    within two grace windows (a teacher still grading the family's children)."""
    if not rows:
        return {}
    found = await session.execute(
        select(OutboxMessage.account_id, OutboxMessage.event, OutboxMessage.not_before).where(
            OutboxMessage.account_id.in_(sorted({r.account_id for r in rows})),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.event.in_([e for e in NotificationEvent if e.group in COALESCED]),
            OutboxMessage.not_before > now,
            OutboxMessage.not_before <= now + 2 * grace,
        )
    )
    later: dict[tuple[int, NotificationEvent], datetime] = {}
    for account_id, event, not_before in found:
        group = NotificationEvent(event).group
        if group is not None:
            key = (account_id, group)
            later[key] = max(later.get(key, not_before), not_before)
    return later
