"""Homework as families see it (upcoming, per subject, one task with its files) and the
student's submissions (hand in, hand in again after a return)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.enums import (
    AttachmentKind,
    SubmissionStatus,
)
from db.models import (
    Enrollment,
    Homework,
    HomeworkAttachment,
    HomeworkSubmission,
    Lesson,
    Subject,
    SubmissionFile,
    TeachingAssignment,
)
from services.core.access import Action, can, denied
from services.core.actors import Actor, Role
from services.core.errors import DomainError
from services.core.files import Attachment, NewFile, attachment_count
from services.diary.child import Child, open_child

UPCOMING_HOMEWORK_LIMIT = 25


SUBJECT_HOMEWORK_LIMIT = 15


SUBJECT_HOMEWORK_DAYS = 28


MAX_SUBMISSION_FILES = 10


COMMENT_LIMIT = 2000


ATTACHMENTS_PER_PRESS = 3


@dataclass(frozen=True)
class HomeworkItem:
    id: int
    subject_id: int
    subject: str
    text: str
    due_date: date
    given_on: date
    lesson_id: int
    attachments: int
    status: SubmissionStatus | None
    teacher_comment: str | None


def _homework_query(child: Child) -> Any:
    """Homework with its subject, the lesson's date, the number of files and the student's
    submission."""
    return _homework_select(child.student_id)


def _homework_select(student_id: Any) -> Any:
    """`_homework_query` for `student_id`: a value, or a bound parameter."""
    return (
        select(
            Homework.id,
            Homework.subject_id,
            Subject.name.label("subject"),
            Subject.short_name,
            Homework.text,
            Homework.due_date,
            Lesson.date.label("given_on"),
            Homework.lesson_id,
            attachment_count(),
            HomeworkSubmission.status,
            HomeworkSubmission.teacher_comment,
        )
        .join(Lesson, Lesson.id == Homework.lesson_id)
        .join(Subject, Subject.id == Homework.subject_id)
        .outerjoin(
            HomeworkSubmission,
            and_(
                HomeworkSubmission.homework_id == Homework.id,
                HomeworkSubmission.student_id == student_id,
            ),
        )
    )


def _homework_item(row: Any) -> HomeworkItem:
    return HomeworkItem(
        id=row.id,
        subject_id=row.subject_id,
        subject=row.subject,
        text=row.text,
        due_date=row.due_date,
        given_on=row.given_on,
        lesson_id=row.lesson_id,
        attachments=int(row.attachments or 0),
        status=SubmissionStatus(row.status) if row.status is not None else None,
        teacher_comment=row.teacher_comment,
    )


@functools.cache
def _homework_in_statement() -> Any:
    """`_homework_rows`' statement, built once with bound parameters (``student_id``,
    ``class_id``, ``start``, ``end``): every day and week screen runs it."""
    start: Any = bindparam("start")
    end: Any = bindparam("end")
    return (
        _homework_select(bindparam("student_id"))
        .where(
            Homework.class_id == bindparam("class_id"),
            or_(
                and_(Homework.due_date >= start, Homework.due_date <= end),
                and_(Lesson.date >= start, Lesson.date <= end),
            ),
        )
        .order_by(Homework.due_date, Subject.name, Homework.id)
    )


async def _homework_rows(
    session: AsyncSession, child: Child, start: date, end: date
) -> Sequence[Any]:
    """Homework given on a lesson in [start, end] or due in it."""
    params = {
        "student_id": child.student_id,
        "class_id": child.class_id,
        "start": start,
        "end": end,
    }
    result = await session.execute(_homework_in_statement(), params)
    rows: Sequence[Any] = result.all()
    return rows


@dataclass(frozen=True)
class SubjectItem:
    id: int
    name: str
    short_name: str


@dataclass(frozen=True)
class HomeworkListView:
    child: Child
    items: list[HomeworkItem]
    subjects: list[SubjectItem]
    subject: SubjectItem | None  # the filter, None: everything upcoming


async def homework_list(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    *,
    subject_id: int | None = None,
    now: datetime | None = None,
) -> HomeworkListView:
    """Upcoming homework by due date, or one subject's recent and upcoming homework."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    if child.class_id is None:
        return HomeworkListView(child, [], [], None)
    subject_rows = await session.execute(
        select(Subject.id, Subject.name, Subject.short_name)
        .join(TeachingAssignment, TeachingAssignment.subject_id == Subject.id)
        .where(TeachingAssignment.class_id == child.class_id)
        .distinct()
        .order_by(Subject.name)
    )
    subjects = [SubjectItem(i, n, s or n) for i, n, s in subject_rows]
    query = _homework_query(child).where(Homework.class_id == child.class_id)
    chosen = None
    if subject_id:
        chosen = next((s for s in subjects if s.id == subject_id), None)
        if chosen is None:
            raise denied(Action.VIEW_HOMEWORK, subject_id)
        since = child.today - timedelta(days=SUBJECT_HOMEWORK_DAYS)
        query = (
            query.where(Homework.subject_id == subject_id, Homework.due_date >= since)
            .order_by(Homework.due_date.desc(), Homework.id.desc())
            .limit(SUBJECT_HOMEWORK_LIMIT)
        )
    else:
        query = (
            query.where(Homework.due_date >= child.today)
            .order_by(Homework.due_date, Subject.name, Homework.id)
            .limit(UPCOMING_HOMEWORK_LIMIT)
        )
    items = [_homework_item(row) for row in (await session.execute(query)).all()]
    return HomeworkListView(child, items, subjects, chosen)


@dataclass(frozen=True)
class FileInfo:
    kind: AttachmentKind
    file_name: str | None


@dataclass(frozen=True)
class SubmissionInfo:
    status: SubmissionStatus
    comment: str | None
    teacher_comment: str | None
    submitted_at: datetime
    reviewed_at: datetime | None
    files: list[FileInfo]


@dataclass(frozen=True)
class HomeworkDetail:
    child: Child
    item: HomeworkItem
    submission: SubmissionInfo | None
    may_submit: bool  # the student may hand it in (or again) now
    refusal: str | None  # why not, for the student: "past_due" / "accepted"


def _submit_refusal(due: date, status: SubmissionStatus | None, today: date) -> str | None:
    """Students hand in until the end of the due day; returned work may always be handed in
    again; accepted work is final."""
    if status == SubmissionStatus.ACCEPTED:
        return "accepted"
    if status == SubmissionStatus.RETURNED:
        return None
    if today > due:
        return "past_due"
    return None


async def _homework_row(session: AsyncSession, child: Child, homework_id: int) -> Any:
    """A homework of one of the student's classes (else a refusal), with their submission."""
    enrolled = select(Enrollment.class_id).where(Enrollment.student_id == child.student_id)
    row = (
        await session.execute(
            _homework_query(child)
            .add_columns(
                HomeworkSubmission.id.label("submission_id"),
                HomeworkSubmission.comment.label("submission_comment"),
                HomeworkSubmission.submitted_at,
                HomeworkSubmission.reviewed_at,
            )
            .where(Homework.id == homework_id, Homework.class_id.in_(enrolled))
        )
    ).first()
    if row is None:
        raise denied(Action.VIEW_HOMEWORK, homework_id)
    return row


async def homework_detail(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    homework_id: int,
    *,
    now: datetime | None = None,
) -> HomeworkDetail:
    """One homework: its text and attachments, and the student's submission."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    row = await _homework_row(session, child, homework_id)
    item = _homework_item(row)
    submission = None
    files = await session.execute(  # always asked: the cost does not depend on the data
        select(SubmissionFile.kind, SubmissionFile.file_name)
        .join(HomeworkSubmission, HomeworkSubmission.id == SubmissionFile.submission_id)
        .where(
            HomeworkSubmission.homework_id == homework_id,
            HomeworkSubmission.student_id == student_id,
        )
        .order_by(SubmissionFile.id)
    )
    if row.submission_id is not None:
        submission = SubmissionInfo(
            status=SubmissionStatus(row.status),
            comment=row.submission_comment,
            teacher_comment=row.teacher_comment,
            submitted_at=row.submitted_at,
            reviewed_at=row.reviewed_at,
            files=[FileInfo(AttachmentKind(k), n) for k, n in files],
        )
    refusal = None
    may_submit = False
    if child.is_own and await can(session, actor, Action.SUBMIT_HOMEWORK, student_id):
        refusal = _submit_refusal(item.due_date, item.status, child.today)
        may_submit = refusal is None
    return HomeworkDetail(child, item, submission, may_submit, refusal)


async def homework_attachments(
    session: AsyncSession,
    actor: Actor,
    student_id: int,
    homework_id: int,
    *,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[HomeworkItem, list[Attachment], int]:
    """A homework's attachments to re-send by file_id: a page of `ATTACHMENTS_PER_PRESS`
    from `offset`, and how many there are in all."""
    child = await open_child(session, actor, student_id, Action.VIEW_HOMEWORK, now=now)
    item = _homework_item(await _homework_row(session, child, homework_id))
    rows = await session.execute(
        select(
            HomeworkAttachment.kind,
            HomeworkAttachment.file_id,
            HomeworkAttachment.file_name,
            HomeworkAttachment.file_unique_id,
        )
        .where(HomeworkAttachment.homework_id == homework_id)
        .order_by(HomeworkAttachment.id)
    )
    files = [Attachment(AttachmentKind(k), f, n, u) for k, f, n, u in rows]
    start = max(0, offset)
    return item, files[start : start + ATTACHMENTS_PER_PRESS], len(files)


async def _own_homework(
    session: AsyncSession, actor: Actor, homework_id: int, now: datetime
) -> tuple[Child, HomeworkItem, int | None]:
    own = actor.current_child(Role.STUDENT)
    if own is None:
        raise denied(Action.SUBMIT_HOMEWORK, homework_id)
    child = await open_child(session, actor, own.student_id, Action.SUBMIT_HOMEWORK, now=now)
    row = await _homework_row(session, child, homework_id)
    item = _homework_item(row)
    refusal = _submit_refusal(item.due_date, item.status, child.today)
    if refusal is not None:
        raise DomainError(f"submission.{refusal}")
    return child, item, row.submission_id


async def start_submission(
    session: AsyncSession, actor: Actor, homework_id: int, *, now: datetime | None = None
) -> HomeworkItem:
    """The student may hand in this homework now (else a `DomainError`: submission.*,
    access.*)."""
    _child, item, _submission_id = await _own_homework(session, actor, homework_id, now or utcnow())
    return item


async def submit_homework(
    session: AsyncSession,
    actor: Actor,
    homework_id: int,
    files: Sequence[NewFile],
    comment: str | None,
    *,
    now: datetime | None = None,
) -> int:
    """Hand in (or replace) the student's work: files and an optional comment. Committed.
    Returns the submission id."""
    now = now or utcnow()
    if not files:
        raise DomainError("submission.no_files")
    if len(files) > MAX_SUBMISSION_FILES:
        raise DomainError("submission.too_many_files")
    child, _item, submission_id = await _own_homework(session, actor, homework_id, now)
    text = (comment or "").strip()[:COMMENT_LIMIT] or None
    if submission_id is None:
        submission = HomeworkSubmission(
            homework_id=homework_id,
            student_id=child.student_id,
            status=SubmissionStatus.SUBMITTED,
            comment=text,
            submitted_at=now,
        )
        session.add(submission)
        await session.flush()
        submission_id = submission.id
    else:
        found = await session.get(HomeworkSubmission, submission_id)
        assert found is not None
        found.status = SubmissionStatus.SUBMITTED
        found.comment = text
        found.teacher_comment = None
        found.submitted_at = now
        found.reviewed_at = None
        found.reviewed_by_id = None
        await session.execute(
            delete(SubmissionFile).where(SubmissionFile.submission_id == submission_id)
        )
    session.add_all(SubmissionFile(submission_id=submission_id, **f.columns()) for f in files)
    await session.commit()
    return submission_id
