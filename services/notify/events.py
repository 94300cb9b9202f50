"""Notification events: what happened, and everything that follows from it, in one place.

An outbox row names its event (`NotificationEvent`) and carries a payload of ids and of the
facts that cannot be re-read later; it never names a template. From the event follow:

* `template` — what the message is rendered with, resolved when it is sent (renaming a
  template never orphans a waiting row);
* `kind` — the preference kind the recipient tunes it by (instantly, in the digest, off);
* `scope` — what a trusted person must be allowed to see to hear of it (journal events);
* `group` — the message the planner builds it into: the three grade events make one grades
  message; linking and system events have none and are rendered from their payload as it is.

`DedupKey` builds the keys that make a notification unique; nothing else writes or matches
their format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from db.enums import AttendanceStatus, NotificationKind, TrustScope


class NotificationEvent(enum.StrEnum):
    """Every notification the outbox carries (the values are stored in its rows)."""

    # journal events about one student, sent when the grace window has passed
    GRADE = "grade"
    GRADE_CHANGED = "grade_changed"
    GRADE_DELETED = "grade_deleted"
    HOMEWORK = "homework"
    ATTENDANCE = "attendance"
    SUBMISSION_REVIEWED = "submission_reviewed"
    COMMENT = "comment"  # a parent's comment on a grade, to its teacher
    REPLY = "reply"  # the teacher's answer, to the parent
    # the scheduled family summaries (services.notify.jobs)
    DIGEST = "digest"
    WEEKLY = "weekly"
    HOMEWORK_DUE = "homework_due"
    TIMETABLE = "timetable"
    PERIOD_SUMMARY = "period_summary"
    # linking and the system: the payload is the whole context
    LINK_REQUEST = "link_request"
    LINK_DECISION = "link_decision"
    TRUSTED_ACCEPTED = "trusted_accepted"
    ACCESS_REVOKED = "access_revoked"
    CODE_WAVE = "code_wave"

    @property
    def kind(self) -> NotificationKind:
        """The preference kind the recipient tunes this event by."""
        return _KIND[self]

    @property
    def scope(self) -> TrustScope | None:
        """What a trusted person must be allowed to see to hear of it (None: never told)."""
        return _SCOPE.get(self)

    @property
    def group(self) -> NotificationEvent | None:
        """The event whose message this one becomes part of (None: rendered from its own
        payload, as it is)."""
        if self in _SELF_CONTAINED:
            return None
        return NotificationEvent.GRADE if self in GRADE_EVENTS else self

    @property
    def template(self) -> str:
        """The template of the message this event is told in."""
        group = self.group
        if group is not None:
            return f"notify/{group}.html.j2"
        return _SELF_CONTAINED[self]


_E = NotificationEvent

GRADE_EVENTS = frozenset({_E.GRADE, _E.GRADE_CHANGED, _E.GRADE_DELETED})
#: Messages that gather one recipient's rows into one (a family's grades of one round).
COALESCED = frozenset({_E.GRADE, _E.HOMEWORK, _E.ATTENDANCE})
#: The scheduled summaries, built from the journal when they are sent.
FAMILY_SUMMARIES = frozenset(
    {_E.DIGEST, _E.WEEKLY, _E.HOMEWORK_DUE, _E.TIMETABLE, _E.PERIOD_SUMMARY}
)
#: Summaries are what "only in the digest" means, so that mode never holds them back.
DIGEST_SUMMARIES = frozenset({_E.DIGEST, _E.WEEKLY, _E.PERIOD_SUMMARY})

_SELF_CONTAINED: dict[NotificationEvent, str] = {
    _E.LINK_REQUEST: "linking/request_staff.html.j2",
    _E.LINK_DECISION: "linking/decision_parent.html.j2",
    _E.TRUSTED_ACCEPTED: "linking/trusted_accepted.html.j2",
    _E.ACCESS_REVOKED: "linking/access_revoked.html.j2",
    _E.CODE_WAVE: "linking/code_wave.html.j2",
}
_KIND: dict[NotificationEvent, NotificationKind] = {
    **dict.fromkeys(GRADE_EVENTS, NotificationKind.GRADE),
    _E.HOMEWORK: NotificationKind.HOMEWORK,
    _E.ATTENDANCE: NotificationKind.ATTENDANCE,
    _E.SUBMISSION_REVIEWED: NotificationKind.HOMEWORK,
    _E.COMMENT: NotificationKind.REPLY,
    _E.REPLY: NotificationKind.REPLY,
    _E.DIGEST: NotificationKind.DIGEST,
    _E.WEEKLY: NotificationKind.DIGEST,
    _E.PERIOD_SUMMARY: NotificationKind.DIGEST,
    _E.HOMEWORK_DUE: NotificationKind.HOMEWORK,
    _E.TIMETABLE: NotificationKind.TIMETABLE,
    **dict.fromkeys(
        [_E.LINK_REQUEST, _E.LINK_DECISION, _E.TRUSTED_ACCEPTED, _E.ACCESS_REVOKED],
        NotificationKind.LINK,
    ),
    _E.CODE_WAVE: NotificationKind.SYSTEM,
}
_SCOPE: dict[NotificationEvent, TrustScope] = {
    **dict.fromkeys(GRADE_EVENTS, TrustScope.GRADES),
    _E.HOMEWORK: TrustScope.HOMEWORK,
    _E.ATTENDANCE: TrustScope.ATTENDANCE,
}


def parse_event(value: str) -> NotificationEvent | None:
    """The event a stored value names (None: none we know, e.g. written by a newer version)."""
    try:
        return NotificationEvent(value)
    except ValueError:
        return None


# --- dedup keys ---------------------------------------------------------------------------------


def _by_id(template: str) -> classmethod[DedupKey, [int], DedupKey]:
    """The constructor of the keys that `template` makes of one id."""

    def build(cls: type[DedupKey], id_: int, /) -> DedupKey:
        return cls(template.format(id_))

    return classmethod(build)


def _by_ids(template: str) -> classmethod[DedupKey, [int, int], DedupKey]:
    """The constructor of the keys that `template` makes of two ids."""

    def build(cls: type[DedupKey], first: int, second: int, /) -> DedupKey:
        return cls(template.format(first, second))

    return classmethod(build)


def _by_day(template: str) -> classmethod[DedupKey, [date], DedupKey]:
    """The constructor of the keys that `template` makes of a day (ISO 8601)."""

    def build(cls: type[DedupKey], day: date, /) -> DedupKey:
        return cls(template.format(day.isoformat()))

    return classmethod(build)


_Part = TypeVar("_Part", int, str)


def _by_day_and(
    template: str, _second: type[_Part]
) -> classmethod[DedupKey, [date, _Part], DedupKey]:
    """The constructor of the keys that `template` makes of a day and one more part (of
    type `_second`)."""

    def build(cls: type[DedupKey], day: date, second: _Part, /) -> DedupKey:
        return cls(template.format(day.isoformat(), second))

    return classmethod(build)


@dataclass(frozen=True)
class DedupKey:
    """What makes a notification unique: each recipient's row stores `<key>:<account id>`
    (unique in the outbox), so writing the same event again adds nothing.

    Build keys with the constructors below, never by hand: the stored format is a contract
    with the rows already waiting (a changed format would send them twice).
    """

    key: str

    def for_account(self, account_id: int) -> str:
        """The stored key of one recipient's row."""
        return f"{self.key}:{account_id}"

    @property
    def prefix(self) -> str:
        """What the stored keys of every recipient start with."""
        return f"{self.key}:"

    # journal events

    grade_new = _by_id("grade:{}:new")

    #: One per change: (the grade's id, the id of the audit entry of the change).
    grade_changed = _by_ids("grade:{}:chg:{}")

    grade_deleted = _by_id("grade:{}:del")

    @classmethod
    def attendance(cls, attendance_id: int, status: AttendanceStatus) -> DedupKey:
        """One per status: marked absent, then late, the family hears of each once."""
        return cls(f"att:{attendance_id}:{status.value}")

    #: Per student, (homework id, student id): a family with two children in the class hears
    #: of each.
    homework = _by_ids("hw:{}:new:s{}")
    #: One per review: (submission id, how many reviews it has had, this one too).
    submission_reviewed = _by_ids("sub:{}:rev:{}")

    comment = _by_id("comment:{}")  # the comment's id
    reply = _by_id("reply:{}")  # the id of the comment answered

    # scheduled summaries: the key names the day or period, so a job run twice adds nothing

    digest = _by_day("digest:{}")
    weekly = _by_day("weekly:{}")  # the Monday of the week

    homework_due = _by_day_and("hwdue:{}:{}", int)  # (the day, the student's id)
    #: (the day, a signature naming the set of changes): a later change sends an updated
    #: message.
    timetable = _by_day_and("tt:{}:{}", str)

    period_summary = _by_id("period:{}")

    # linking and the system

    link_request = _by_id("linkreq:{}")
    link_decision = _by_id("linkdec:{}")  # the request's id
    trusted_accepted = _by_id("trustacc:{}")  # the grant's id

    @classmethod
    def access_revoked(cls, guardianship_id: int, at: datetime) -> DedupKey:
        """A guardianship revoked: one per revocation (a guardian linked again can be revoked
        again)."""
        return cls(f"guardrev:{guardianship_id}:{int(at.timestamp())}")

    trust_revoked = _by_id("trustrev:{}")  # the grant's id
    #: One per alert window (the id: the number of the window since the epoch).
    code_wave = _by_id("codewave:{}")
