"""What a notification says, decided when it is sent: the pure planner (no I/O).

`plan_batch` takes a batch of claimed outbox rows and the facts loaded about them
(`services.notify.facts`) and decides for each row whether it is void (cancel), must wait
(reschedule) or is sent, and coalesces the rows of one recipient and group into one message
(one per family, even for several children).

Rows are grouped by what their event is about (`NotificationEvent.group`): the three grade
events make one grades message; homework and attendance coalesce likewise; a submission's
review, a comment, a reply and each scheduled summary are a message of their own. Linking
and system events have no group: their payload is the whole context of their template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from db.enums import AttendanceStatus, DeliveryMode, OutboxStatus, SubmissionStatus
from services.core.grading import display_value
from services.core.visibility import is_held, released_at
from services.notify.events import (
    COALESCED,
    DIGEST_SUMMARIES,
    FAMILY_SUMMARIES,
    NotificationEvent,
)
from services.notify.model import (
    Button,
    ButtonAction,
    ChildBlock,
    CommentLine,
    Facts,
    GradeLine,
    Outbound,
    Outgoing,
    Plan,
    Relation,
    Via,
)
from services.notify.preferences import UNTUNED

NOTIFIED_ABSENCES = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.LATE})
MAX_GRADE_BUTTONS = 8


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
    context: dict[str, Any] = field(default_factory=dict)
    buttons: list[list[Button]] = field(default_factory=list)
    photo: Callable[[], bytes] | None = None


_Decision = _Drop | _Wait | _Item


def _hearing(row: Outgoing, facts: Facts, student_id: int) -> Relation | None:
    """How the row's recipient is linked to the student, if that lets them hear of the row's
    event now (a trusted person needs the event's scope)."""
    relation = facts.relation(row.account_id, student_id)
    if relation is None or not relation.allows(row.event.scope):
        return None
    return relation


def _grade_item(row: Outgoing, facts: Facts) -> _Decision:
    grade = facts.grades.get(row.payload.get("grade_id", -1))
    if grade is None:
        return _Drop("grade gone")
    relation = _hearing(row, facts, grade.student_id)
    if relation is None:
        return _Drop("no access")
    event = row.event
    if grade.deleted and event != NotificationEvent.GRADE_DELETED:
        return _Drop("grade deleted")
    if grade.hidden_until is not None and is_held(
        grade.hidden_until, facts.today(grade.student_id)
    ):
        return _Wait(released_at(grade.hidden_until, facts.zone_of(grade.student_id)))
    announced = facts.announced.get((grade.id, row.account_id))
    reason = row.payload.get("reason")
    old = row.payload.get("old_value")
    if event == NotificationEvent.GRADE:
        change, old_value = "new", None
        value = grade.value
    elif event == NotificationEvent.GRADE_CHANGED:
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
    if _hearing(row, facts, student_id) is None:
        return _Drop("no access")
    return _Item(student_id, homework.line)


def _attendance_item(row: Outgoing, facts: Facts) -> _Decision:
    mark = facts.attendance.get(row.payload.get("attendance_id", -1))
    if mark is None:
        return _Drop("attendance gone")
    if _hearing(row, facts, mark.student_id) is None:
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
    return _Item(submission.student_id, context={"submission": submission})


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
        "grade": grade.line(),
        "thread": _thread_lines(facts, grade.id, comment.id),
    }
    return _Item(
        grade.student_id, context=context, buttons=[[Button(ButtonAction.REPLY, comment.id)]]
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
        "grade": grade.line(),
    }
    return _Item(
        grade.student_id,
        context=context,
        buttons=[
            [
                Button(ButtonAction.COMMENT, grade.id),
                Button(ButtonAction.THREAD, grade.id),
            ]
        ],
    )


def _family_item(row: Outgoing, facts: Facts) -> _Decision:
    content = facts.family.get(row.id)
    if content is None:
        return _Drop("nothing to report")
    return _Item(content.student_id, context=content.context, photo=content.photo)


BUILDERS: dict[NotificationEvent, Callable[[Outgoing, Facts], _Decision]] = {
    NotificationEvent.GRADE: _grade_item,
    NotificationEvent.HOMEWORK: _homework_item,
    NotificationEvent.ATTENDANCE: _attendance_item,
    NotificationEvent.SUBMISSION_REVIEWED: _submission_item,
    NotificationEvent.COMMENT: _comment_item,
    NotificationEvent.REPLY: _reply_item,
    **dict.fromkeys(FAMILY_SUMMARIES, _family_item),
}


def _message(
    rows: list[Outgoing],
    event: NotificationEvent,
    context: dict[str, Any],
    buttons: list[list[Button]] | None = None,
    photo: Callable[[], bytes] | None = None,
) -> Outbound:
    """One message of `event` to the recipient of `rows` (one or more of theirs)."""
    first = rows[0]
    return Outbound(
        chat_id=first.chat_id,
        account_id=first.account_id,
        locale=first.locale,
        kind=first.kind,
        event=event,
        context=context,
        rows=[row.id for row in rows],
        attempts=max(row.attempts for row in rows),
        buttons=buttons or [],
        photo=photo,
    )


def self_contained_message(row: Outgoing) -> Outbound:
    """A row with a complete payload (linking, system): its payload is its template's
    context; a link request comes with the buttons to decide it."""
    buttons: list[list[Button]] = []
    if row.event == NotificationEvent.LINK_REQUEST:
        buttons = [[Button(ButtonAction.LINK_DECISION, int(row.payload["request_id"]))]]
    return _message([row], row.event, dict(row.payload), buttons)


@dataclass
class _Collected:
    """The coalesced rows of one recipient and group."""

    group: NotificationEvent
    rows: list[Outgoing] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)


def plan_batch(rows: list[Outgoing], facts: Facts, *, now: datetime, grace: timedelta) -> Plan:
    """Decide what becomes of every claimed row (pure; no I/O)."""
    plan = Plan()
    collected: dict[tuple[int, NotificationEvent], _Collected] = {}
    for row in rows:
        group = row.event.group
        if row.kind in UNTUNED or group is None:
            plan.messages.append(self_contained_message(row))
            continue
        prefs = facts.prefs.get(row.account_id)
        if prefs is None:
            plan.cancel[row.id] = "no account"
            continue
        mode = prefs.mode(row.kind)
        if mode == DeliveryMode.OFF:
            plan.cancel[row.id] = "preference: off"
            continue
        if mode == DeliveryMode.DIGEST and group not in DIGEST_SUMMARIES:
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
            bucket = collected.setdefault((row.account_id, group), _Collected(group))
            bucket.rows.append(row)
            bucket.items.append(decision)
            continue
        plan.messages.append(
            _message([row], group, decision.context, decision.buttons, decision.photo)
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
    grades = bucket.group == NotificationEvent.GRADE
    items = _collapse_grades(bucket.items) if grades else bucket.items
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
    buttons = _grade_buttons(items) if grades else []
    return _message(bucket.rows, bucket.group, {"children": list(children.values())}, buttons)


def _grade_buttons(items: list[_Item]) -> list[list[Button]]:
    """ "Seen" and "Comment" for the grades a parent was told of: one unlabelled pair for a
    single grade, else a labelled pair per grade (at most `MAX_GRADE_BUTTONS`)."""
    reactable = [item.line for item in items if item.parent and item.line.change != "deleted"]
    reactable = reactable[:MAX_GRADE_BUTTONS]
    if len(reactable) == 1:
        return [[Button(action, reactable[0].grade_id) for action in _REACTIONS]]
    return [
        [Button(action, line.grade_id, f"{line.subject} {line.value}") for action in _REACTIONS]
        for line in reactable
    ]


_REACTIONS = (ButtonAction.SEEN, ButtonAction.COMMENT)
