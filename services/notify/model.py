"""What the notification area passes around: the claimed outbox rows (`Outgoing`), the facts
loaded about them (`Facts`, built by `services.notify.facts`), and the messages the planner
makes of them (`Outbound` with the lines and buttons their templates show).

Plain data, no I/O: the planner (`services.notify.plan`) is a pure function of these.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from db.enums import AttendanceStatus, NotificationKind, OutboxStatus, SubmissionStatus, TrustScope
from db.models import Grade
from services.core.grading import display_value
from services.core.schooltime import local_date
from services.notify.events import NotificationEvent
from services.notify.preferences import Preferences


@dataclass(frozen=True)
class Outgoing:
    """A claimed row with what the sender needs: where, in which language, what."""

    id: int
    chat_id: int
    locale: str | None
    event: NotificationEvent
    payload: dict[str, Any]
    attempts: int
    account_id: int = 0
    kind: NotificationKind = NotificationKind.SYSTEM
    dedup_key: str = ""
    created_at: datetime | None = None
    not_before: datetime | None = None


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
    event: NotificationEvent  # the message's event (its group): it names the template
    context: dict[str, Any]
    rows: list[int]
    attempts: int = 0
    buttons: list[list[Button]] = field(default_factory=list)
    photo: Callable[[], bytes] | None = None  # built in a worker thread right before sending
    photo_bytes: bytes | None = None

    @property
    def template(self) -> str:
        return self.event.template


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


# --- facts: the current state of what a batch is about -----------------------------------------


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

    @classmethod
    def of(cls, grade: Grade, subject: str, teacher: str | None) -> GradeFacts:
        return cls(
            id=grade.id,
            student_id=grade.student_id,
            subject=subject,
            value=grade.value,
            kind=str(grade.kind),
            weight=grade.weight,
            date=grade.date,
            comment=grade.comment,
            deleted=grade.deleted_at is not None,
            hidden_until=grade.hidden_until,
            lesson_id=grade.lesson_id,
            assignment_id=grade.assignment_id,
            author_id=grade.author_id,
            teacher=teacher,
        )

    def line(self) -> GradeLine:
        """The grade as it stands, with no change to tell (a comment's thread, a digest)."""
        return GradeLine(
            self.id,
            "new",
            self.subject,
            display_value(self.value),
            None,
            self.kind,
            self.weight,
            self.date,
            self.comment,
            None,
            self.teacher,
        )


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
    """A scheduled summary, ready to render (`services.notify.digests` builds these); the
    row's event names its template."""

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
    #: (grade, account) → what became of the announcement of a grade to an account
    announced: dict[tuple[int, int], OutboxStatus] = field(default_factory=dict)
    homework: dict[int, HomeworkFacts] = field(default_factory=dict)
    attendance: dict[int, AttendanceFacts] = field(default_factory=dict)
    submissions: dict[int, SubmissionFacts] = field(default_factory=dict)
    comments: dict[int, CommentFacts] = field(default_factory=dict)
    threads: dict[int, list[CommentFacts]] = field(default_factory=dict)
    later: dict[tuple[int, NotificationEvent], datetime] = field(default_factory=dict)
    family: dict[int, FamilyContent | None] = field(default_factory=dict)

    def zone_of(self, student_id: int | None) -> ZoneInfo:
        info = self.students.get(student_id) if student_id is not None else None
        return info.zone if info is not None else self.default_zone

    def today(self, student_id: int | None) -> date:
        """The school-local today of the student (of the deployment's zone without one)."""
        return local_date(self.now, self.zone_of(student_id))

    def relation(self, account_id: int, student_id: int) -> Relation | None:
        return self.relations.get((account_id, student_id))


def int_ids(values: Iterable[Any]) -> set[int]:
    """The integers among payload values (ids written by us; anything else is ignored)."""
    return {int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)}


def student_ids_of(row: Outgoing) -> set[int]:
    """The students a row is about (`student_id`, and `student_ids` of a family summary)."""
    ids = int_ids([row.payload.get("student_id")])
    listed = row.payload.get("student_ids")
    if isinstance(listed, list):
        ids |= int_ids(listed)
    return ids
