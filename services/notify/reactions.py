"""Reactions to a grade message: "Seen" and a comment thread between the family and the teacher.

A parent of the student (`Action.REACT_TO_GRADE`) marks a grade as seen (an `Acknowledgement`
the teacher sees in the journal) or writes a comment; the grade's teacher — its author, the
lesson's teacher or replacement, or the teacher of the subject in that class — gets it through
the outbox with a "Reply" button and answers; the parent gets the answer the same way. The
whole thread stays on the grade and either side can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import (
    Account,
    Acknowledgement,
    Comment,
    Grade,
    School,
    Staff,
    Student,
    Subject,
    TeachingAssignment,
)
from services.core.access import Action, can, denied, require
from services.core.actors import Actor
from services.core.errors import DomainError
from services.core.grading import display_value
from services.core.schooltime import local_today, zone_of
from services.core.visibility import family_sees
from services.notify.events import DedupKey, NotificationEvent
from services.notify.model import CommentLine
from services.notify.outbox import enqueue

TEXT_LIMIT = 1000
HOURLY_LIMIT = 20  # comments one account may write in an hour


@dataclass(frozen=True)
class GradeRef:
    id: int
    student_id: int
    student_name: str
    subject: str
    value: str
    kind: str
    date: date
    teacher: str | None


@dataclass(frozen=True)
class ThreadView:
    grade: GradeRef
    comments: list[CommentLine]
    can_comment: bool
    can_reply: bool


async def _grade(session: AsyncSession, grade_id: int) -> tuple[Grade, GradeRef, ZoneInfo] | None:
    """The grade, what the screens show of it, and its school's zone (one query)."""
    row = (
        await session.execute(
            select(Grade, Student.full_name, Subject.name, Staff.full_name, School.timezone)
            .join(Student, Student.id == Grade.student_id)
            .join(School, School.id == Student.school_id)
            .join(Subject, Subject.id == Grade.subject_id)
            .outerjoin(Staff, Staff.id == Grade.author_id)
            .where(Grade.id == grade_id)
        )
    ).first()
    if row is None:
        return None
    grade, student, subject, teacher, timezone = row
    ref = GradeRef(
        grade.id,
        grade.student_id,
        student,
        subject,
        display_value(grade.value),
        str(grade.kind),
        grade.date,
        teacher,
    )
    return grade, ref, zone_of(timezone)


async def _may_answer(session: AsyncSession, actor: Actor, grade: Grade) -> bool:
    """The grade's teacher: its author, the lesson's teacher or replacement, or the teacher
    of the subject in that class."""
    if actor.staff_id is None:
        return False
    if grade.author_id == actor.staff_id:
        return True
    return await can(session, actor, Action.WRITE_LESSON, grade.lesson_id) or await can(
        session, actor, Action.WRITE_ASSIGNMENT, grade.assignment_id
    )


async def _for_parent(
    session: AsyncSession, actor: Actor, grade_id: int, now: datetime
) -> tuple[Grade, GradeRef]:
    found = await _grade(session, grade_id)
    if found is None:
        raise denied(Action.REACT_TO_GRADE, grade_id)
    grade, ref, zone = found
    await require(session, actor, Action.REACT_TO_GRADE, grade.student_id)
    if not family_sees(grade, local_today(zone, now)):
        raise DomainError("reaction.grade_gone")
    return grade, ref


async def acknowledge(
    session: AsyncSession, actor: Actor, grade_id: int, *, now: datetime | None = None
) -> bool:
    """The parent saw the grade; True the first time (the teacher sees when)."""
    now = now or utcnow()
    await _for_parent(session, actor, grade_id, now)
    assert actor.account_id is not None
    existing = await session.scalar(
        select(Acknowledgement.id).where(
            Acknowledgement.grade_id == grade_id, Acknowledgement.account_id == actor.account_id
        )
    )
    if existing is not None:
        return False
    session.add(Acknowledgement(grade_id=grade_id, account_id=actor.account_id, seen_at=now))
    await session.commit()
    return True


async def _thread(session: AsyncSession, grade_id: int) -> list[CommentLine]:
    rows = await session.execute(
        select(Comment, Account.full_name, Staff.id)
        .join(Account, Account.id == Comment.author_id)
        .outerjoin(Staff, Staff.account_id == Comment.author_id)
        .where(Comment.grade_id == grade_id)
        .order_by(Comment.created_at, Comment.id)
    )
    return [
        CommentLine(name, comment.text, comment.created_at, staff_id is not None)
        for comment, name, staff_id in rows
    ]


async def thread(
    session: AsyncSession, actor: Actor, grade_id: int, *, now: datetime | None = None
) -> ThreadView:
    """The comments on a grade, for its student's parent or its teacher."""
    now = now or utcnow()
    found = await _grade(session, grade_id)
    if found is None:
        raise denied(Action.REACT_TO_GRADE, grade_id)
    grade, ref, zone = found
    is_parent = await can(session, actor, Action.REACT_TO_GRADE, grade.student_id)
    is_teacher = await _may_answer(session, actor, grade)
    if not (is_parent or is_teacher):
        raise denied(Action.REACT_TO_GRADE, grade_id)
    if is_parent and not is_teacher and not family_sees(grade, local_today(zone, now)):
        raise DomainError("reaction.grade_gone")
    return ThreadView(
        ref,
        await _thread(session, grade_id),
        can_comment=is_parent and grade.deleted_at is None,
        can_reply=is_teacher,
    )


def _clean(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise DomainError("reaction.empty")
    if len(cleaned) > TEXT_LIMIT:
        raise DomainError("reaction.too_long")
    return cleaned


async def _check_pace(session: AsyncSession, account_id: int, now: datetime) -> None:
    recent = await session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(Comment.author_id == account_id, Comment.created_at > now - timedelta(hours=1))
    )
    if (recent or 0) >= HOURLY_LIMIT:
        raise DomainError("reaction.too_many")


async def _teacher_accounts(session: AsyncSession, grade: Grade) -> list[int]:
    """Who hears a parent's comment: the grade's author, else the subject's teacher."""
    author = None
    if grade.author_id is not None:
        author = await session.scalar(select(Staff.account_id).where(Staff.id == grade.author_id))
    if author is None:
        author = await session.scalar(
            select(Staff.account_id)
            .join(TeachingAssignment, TeachingAssignment.teacher_id == Staff.id)
            .where(TeachingAssignment.id == grade.assignment_id)
        )
    return [author] if author is not None else []


async def _post(
    session: AsyncSession,
    actor: Actor,
    grade: Grade,
    text: str | None,
    now: datetime,
    reply_to_id: int | None,
    event: NotificationEvent,
    recipients: list[int],
) -> Comment:
    """Write the actor's comment on a grade (answering `reply_to_id`), tell `recipients` of
    it as `event` and commit."""
    assert actor.account_id is not None
    cleaned = _clean(text)
    await _check_pace(session, actor.account_id, now)
    comment = Comment(
        grade_id=grade.id,
        author_id=actor.account_id,
        reply_to_id=reply_to_id,
        text=cleaned,
        created_at=now,
    )
    session.add(comment)
    await session.flush()
    key = DedupKey.comment if event == NotificationEvent.COMMENT else DedupKey.reply
    await enqueue(
        session,
        account_ids=recipients,
        event=event,
        payload={"student_id": grade.student_id, "comment_id": comment.id},
        dedup_key=key(comment.id),
        now=now,
    )
    await session.commit()
    return comment


async def add_comment(
    session: AsyncSession,
    actor: Actor,
    grade_id: int,
    text: str | None,
    *,
    now: datetime | None = None,
) -> Comment:
    """A parent's comment on a grade; the teacher gets it with a "Reply" button."""
    now = now or utcnow()
    grade, _ref = await _for_parent(session, actor, grade_id, now)
    last = await session.scalar(
        select(Comment.id)
        .where(Comment.grade_id == grade_id)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(1)
    )
    teachers = await _teacher_accounts(session, grade)
    return await _post(session, actor, grade, text, now, last, NotificationEvent.COMMENT, teachers)


async def _answerable(
    session: AsyncSession, actor: Actor, comment_id: int
) -> tuple[Comment, Grade]:
    """A comment and its grade, for the grade's teacher (refused to anyone else)."""
    comment = await session.get(Comment, comment_id)
    grade = await session.get(Grade, comment.grade_id) if comment is not None else None
    if comment is None or grade is None or not await _may_answer(session, actor, grade):
        raise denied(Action.WRITE_LESSON, comment_id)
    return comment, grade


async def reply_target(session: AsyncSession, actor: Actor, comment_id: int) -> ThreadView:
    """The thread a teacher is about to answer (refused to anyone but the grade's teacher)."""
    _comment, grade = await _answerable(session, actor, comment_id)
    return await thread(session, actor, grade.id)


async def add_reply(
    session: AsyncSession,
    actor: Actor,
    comment_id: int,
    text: str | None,
    *,
    now: datetime | None = None,
) -> Comment:
    """The teacher answers a comment; its author gets the answer with "Answer"/"Thread"."""
    now = now or utcnow()
    comment, grade = await _answerable(session, actor, comment_id)
    if grade.deleted_at is not None:
        raise DomainError("reaction.grade_gone")
    author = [comment.author_id] if comment.author_id != actor.account_id else []
    return await _post(
        session, actor, grade, text, now, comment.id, NotificationEvent.REPLY, author
    )
