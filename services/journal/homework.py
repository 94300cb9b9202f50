"""The lesson's homework (text, files, due date) and the students' submissions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    SubmissionStatus,
)
from db.models import (
    AuditEntry,
    Enrollment,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    Student,
    SubmissionFile,
)
from services.core import audit
from services.core.access import Action, can, denied, require
from services.core.actors import Actor
from services.core.audit import AuditAction
from services.core.errors import DomainError
from services.core.files import NewFile
from services.journal.context import (
    REASON_LIMIT,
    LessonContext,
    ReasonRequired,
    clean_text,
    count_of,
    enrolled_on,
    period_closed,
    readable,
    writable_open,
)
from services.journal.views import (
    AttachmentView,
    HomeworkBrief,
    generate_missing,
    homework_with_files,
)
from services.notify import (
    DedupKey,
    NotificationEvent,
    enqueue,
    notify_family,
)

TEXT_LIMIT = 3000


# --- homework and submissions ---------------------------------------------------------------


@dataclass
class HomeworkScreen:
    lesson: LessonContext
    homework: HomeworkBrief | None
    attachments: list[AttachmentView]
    due_choices: list[date]
    can_write: bool


async def _due_choices(session: AsyncSession, ctx: LessonContext) -> list[date]:
    """The dates of the next three lessons of this subject in this class."""
    start = ctx.date + timedelta(days=1)
    await generate_missing(session, [ctx.class_id], start, start + timedelta(days=20))
    dates = await session.scalars(
        select(Lesson.date)
        .where(
            Lesson.assignment_id == ctx.assignment_id,
            Lesson.date > ctx.date,
            Lesson.cancelled.is_(False),
        )
        .distinct()
        .order_by(Lesson.date)
        .limit(3)
    )
    return list(dates) or [ctx.date + timedelta(days=7)]


async def homework_screen(session: AsyncSession, actor: Actor, lesson_id: int) -> HomeworkScreen:
    """The lesson's homework with its files and submissions count, and due-date choices."""
    ctx = await readable(session, actor, lesson_id)
    can_write = await can(session, actor, Action.WRITE_LESSON, lesson_id)
    can_write = can_write and not await period_closed(session, ctx)  # see `require_open`
    briefs, files = await homework_with_files(session, lesson_id)
    homework = briefs[-1] if briefs else None
    choices = await _due_choices(session, ctx) if can_write else []
    return HomeworkScreen(ctx, homework, files, choices, can_write)


async def save_homework(
    session: AsyncSession,
    actor: Actor,
    lesson_id: int,
    *,
    text: str | None = None,
    attachments: Sequence[NewFile] = (),
    grace: timedelta,
    now: datetime | None = None,
) -> int:
    """Post the lesson's homework (text and files), or add to / rewrite the posted one.

    New homework is due on the next lesson of the subject and announced to every family of
    the class after the grace window. Returns the homework id.
    """
    now = now or utcnow()
    ctx = await writable_open(session, actor, lesson_id)
    text = clean_text(text, TEXT_LIMIT)
    homework = await session.scalar(
        select(Homework).where(Homework.lesson_id == lesson_id).order_by(Homework.id.desc())
    )
    created = homework is None
    if homework is None:
        if not text and not attachments:
            raise DomainError("journal.empty_homework")
        due = (await _due_choices(session, ctx))[0]
        homework = Homework(
            lesson_id=ctx.id,
            class_id=ctx.class_id,
            subject_id=ctx.subject_id,
            due_date=due,
            text=text or "",
            created_by_id=actor.staff_id,
            created_at=now,
        )
        session.add(homework)
        await session.flush()
    elif text is not None:
        old_text = homework.text
        homework.text = text
        homework.updated_at = now
        audit.record(
            session,
            actor,
            AuditAction.HOMEWORK_UPDATE,
            audit.Target(audit.HOMEWORK, homework.id, ctx.id),
            at=now,
            old={"text": old_text},
            new={"text": text},
        )
    session.add_all(
        HomeworkAttachment(homework_id=homework.id, **item.columns()) for item in attachments
    )
    if created:
        audit.record(
            session,
            actor,
            AuditAction.HOMEWORK_CREATE,
            audit.Target(audit.HOMEWORK, homework.id, ctx.id),
            at=now,
            new={"text": homework.text, "due_date": homework.due_date.isoformat()},
        )
        students = await session.scalars(
            select(Enrollment.student_id).where(enrolled_on(ctx.class_id, ctx.date))
        )
        for student_id in students.all():
            await notify_family(
                session,
                student_id=student_id,
                event=NotificationEvent.HOMEWORK,
                payload={"homework_id": homework.id},
                dedup_key=DedupKey.homework(homework.id, student_id),
                delay=grace,
                now=now,
            )
    elif attachments:
        homework.updated_at = now
    await session.commit()
    return homework.id


async def set_due_date(
    session: AsyncSession, actor: Actor, lesson_id: int, due: date, *, now: datetime | None = None
) -> None:
    """Move the homework's due date (after the lesson, within two months)."""
    now = now or utcnow()
    ctx = await writable_open(session, actor, lesson_id)
    if not ctx.date < due <= ctx.date + timedelta(days=60):
        raise DomainError("journal.bad_date")
    homework = await session.scalar(
        select(Homework).where(Homework.lesson_id == lesson_id).order_by(Homework.id.desc())
    )
    if homework is None:
        raise DomainError("journal.no_homework")
    if homework.due_date != due:
        audit.record(
            session,
            actor,
            AuditAction.HOMEWORK_DUE,
            audit.Target(audit.HOMEWORK, homework.id, ctx.id),
            at=now,
            old={"due_date": homework.due_date.isoformat()},
            new={"due_date": due.isoformat()},
        )
        homework.due_date = due
        homework.updated_at = now
        await session.commit()


@dataclass(frozen=True)
class SubmissionItem:
    id: int
    student_id: int
    student_name: str
    status: SubmissionStatus
    submitted_at: datetime
    files: int
    comment: str | None
    teacher_comment: str | None


@dataclass
class SubmissionList:
    lesson: LessonContext
    homework_id: int | None
    items: list[SubmissionItem]
    missing: list[str]


def _submission_query() -> Any:
    files = count_of(
        SubmissionFile.id,
        SubmissionFile.submission_id == HomeworkSubmission.id,
        parent=HomeworkSubmission,
    )
    return select(HomeworkSubmission, Student.full_name, files).join(
        Student, Student.id == HomeworkSubmission.student_id
    )


def _submission_item(sub: HomeworkSubmission, name: str, files: int) -> SubmissionItem:
    return SubmissionItem(
        sub.id,
        sub.student_id,
        name,
        SubmissionStatus(sub.status),
        sub.submitted_at,
        int(files or 0),
        sub.comment,
        sub.teacher_comment,
    )


async def submissions(session: AsyncSession, actor: Actor, lesson_id: int) -> SubmissionList:
    """Who handed in the lesson's homework (waiting for review first) and who did not."""
    ctx = await readable(session, actor, lesson_id)
    homework_id = await session.scalar(
        select(func.max(Homework.id)).where(Homework.lesson_id == lesson_id)
    )
    if homework_id is None:
        return SubmissionList(ctx, None, [], [])
    rows = await session.execute(
        _submission_query()
        .where(HomeworkSubmission.homework_id == homework_id)
        .order_by(HomeworkSubmission.submitted_at)
    )
    items = [_submission_item(s, n, f) for s, n, f in rows]
    order = {SubmissionStatus.SUBMITTED: 0, SubmissionStatus.RETURNED: 1}
    items.sort(key=lambda i: order.get(i.status, 2))
    handed = {i.student_id for i in items}
    roster = await session.execute(
        select(Student.id, Student.full_name)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(enrolled_on(ctx.class_id, ctx.date))
        .order_by(Student.full_name)
    )
    missing = [name for sid, name in roster if sid not in handed]
    return SubmissionList(ctx, homework_id, items, missing)


@dataclass
class SubmissionDetail:
    lesson: LessonContext
    item: SubmissionItem
    files: list[AttachmentView]
    can_write: bool


async def _submission_lesson(session: AsyncSession, submission_id: int) -> int:
    lesson_id = await session.scalar(
        select(Homework.lesson_id)
        .join(HomeworkSubmission, HomeworkSubmission.homework_id == Homework.id)
        .where(HomeworkSubmission.id == submission_id)
    )
    if lesson_id is None:
        raise denied(Action.READ_LESSON, submission_id)
    return lesson_id


async def submission_detail(
    session: AsyncSession, actor: Actor, submission_id: int
) -> SubmissionDetail:
    """A submission with its files (the bot re-sends them by file_id)."""
    ctx = await readable(session, actor, await _submission_lesson(session, submission_id))
    sub, name, count = (
        await session.execute(_submission_query().where(HomeworkSubmission.id == submission_id))
    ).one()
    rows = await session.execute(
        select(*AttachmentView.columns(SubmissionFile))
        .where(SubmissionFile.submission_id == submission_id)
        .order_by(SubmissionFile.id)
    )
    return SubmissionDetail(
        ctx,
        _submission_item(sub, name, count),
        [AttachmentView.of(row) for row in rows],
        await can(session, actor, Action.WRITE_LESSON, ctx.id),
    )


async def review_submission(
    session: AsyncSession,
    actor: Actor,
    submission_id: int,
    *,
    accept: bool,
    comment: str | None = None,
    now: datetime | None = None,
) -> SubmissionItem:
    """Accept a submission or return it with a comment; the student is told."""
    now = now or utcnow()
    lesson_id = await _submission_lesson(session, submission_id)
    await require(session, actor, Action.WRITE_LESSON, lesson_id)
    sub = await session.scalar(
        select(HomeworkSubmission).where(HomeworkSubmission.id == submission_id).with_for_update()
    )
    assert sub is not None
    comment = clean_text(comment, REASON_LIMIT)
    if not accept and not comment:
        raise ReasonRequired("journal.return_comment")
    old = {"status": SubmissionStatus(sub.status).value, "teacher_comment": sub.teacher_comment}
    sub.status = SubmissionStatus.ACCEPTED if accept else SubmissionStatus.RETURNED
    sub.teacher_comment = comment
    sub.reviewed_at = now
    sub.reviewed_by_id = actor.staff_id
    reviews = await session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == audit.SUBMISSION,
            AuditEntry.entity_id == sub.id,
            AuditEntry.action == AuditAction.SUBMISSION_REVIEW,
        )
    )
    audit.record(
        session,
        actor,
        AuditAction.SUBMISSION_REVIEW,
        audit.Target(audit.SUBMISSION, sub.id, lesson_id, sub.student_id),
        at=now,
        old=old,
        new={"status": sub.status.value, "teacher_comment": comment},
    )
    student_account = await session.scalar(
        select(Student.account_id).where(Student.id == sub.student_id)
    )
    if student_account is not None:
        await enqueue(
            session,
            account_ids=[student_account],
            event=NotificationEvent.SUBMISSION_REVIEWED,
            payload={"submission_id": sub.id, "student_id": sub.student_id},
            dedup_key=DedupKey.submission_reviewed(sub.id, int(reviews or 0) + 1),
            now=now,
        )
    await session.commit()
    row = (
        await session.execute(_submission_query().where(HomeworkSubmission.id == submission_id))
    ).one()
    return _submission_item(*row)
