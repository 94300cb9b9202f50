"""A student's school calendar as iCalendar (RFC 5545): the lessons of a window around today
(generated lessons, else the timetable's slots) and the homework due in it.

Built with `icalendar`: one VEVENT per lesson (subject, room, teacher, times in the school's
time zone with its VTIMEZONE; a cancelled lesson has STATUS:CANCELLED, a replacement is
described) and one all-day VEVENT per homework due date with its text. UIDs are derived from
the lesson, slot or homework ids and the student, so a calendar app that fetches the file
again updates its events in place.

What goes in follows the access policy: lessons need the schedule scope, homework the
homework scope; a trusted person with neither gets nothing (`student_calendar` refuses).
The statements are a fixed handful per student whatever the window or the school's size:
the student's context, lessons, holidays, timetable slots, homework.

Texts inside the file (the calendar's name, "Cancelled", "Replacement teacher", …) are
translated by the `Gettext` the caller passes in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Account, CalendarFeed
from services.core.access import Action, denied
from services.core.actors import Actor, load_actor
from services.core.errors import DomainError
from services.diary.child import Child, Scopes, office_child, open_child
from services.diary.days import Day, LessonItem, _build_days
from services.diary.homework import HomeworkItem, _homework_item, _homework_rows

Gettext = Callable[[str], str]

#: days before today the calendar starts with
PAST_DAYS = 14
#: days after today the calendar reaches (about two months: the rest of most periods)
AHEAD_DAYS = 56
#: the domain of every UID (stable across hosts and restarts)
UID_DOMAIN = "parta.local"
#: how often a subscribed calendar app is asked to fetch the feed again
REFRESH = timedelta(minutes=15)
PRODID = "-//Parta//School diary//EN"
MEDIA_TYPE = "text/calendar"


@dataclass(frozen=True)
class Window:
    start: date
    end: date


def window_for(today: date) -> Window:
    return Window(today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS))


@dataclass(frozen=True)
class StudentEvents:
    """What one student's calendar holds: the child as the reader sees them, the days of the
    window with their lessons (empty without the schedule scope) and the homework due in it
    (empty without the homework scope)."""

    child: Child
    window: Window
    days: list[Day]
    homework: list[HomeworkItem]


def _readable(scopes: Scopes) -> bool:
    return scopes.schedule or scopes.homework


async def _events(session: AsyncSession, child: Child) -> StudentEvents:
    """The lessons and homework of the child's window: a fixed number of statements."""
    window = window_for(child.today)
    days: list[Day] = []
    homework: list[HomeworkItem] = []
    if child.class_id is None:
        return StudentEvents(child, window, days, homework)
    if child.scopes.schedule:
        days = await _build_days(session, child, window.start, window.end, with_news=False)
    if child.scopes.homework:
        rows = await _homework_rows(session, child, window.start, window.end)
        homework = [
            item
            for item in map(_homework_item, rows)
            if window.start <= item.due_date <= window.end
        ]
    return StudentEvents(child, window, days, homework)


async def student_events(
    session: AsyncSession, actor: Actor, student_id: int, *, now: datetime | None = None
) -> StudentEvents:
    """One student's calendar as `actor` may see it; refused (`DomainError`) when the actor
    does not follow the student, or follows them without the schedule and homework scopes."""
    child = await open_child(session, actor, student_id, now=now)
    if not _readable(child.scopes):
        raise denied(Action.VIEW_SCHEDULE, student_id)
    return await _events(session, child)


async def office_events(
    session: AsyncSession, student_id: int, *, now: datetime | None = None
) -> StudentEvents:
    """One student's whole calendar for the school's office (the console): no actor."""
    child = await office_child(session, student_id, now=now or utcnow())
    return await _events(session, child)


# --- the iCalendar file ---------------------------------------------------------------------


def _uid(kind: str, *parts: object) -> str:
    return "-".join([kind, *(str(p) for p in parts)]) + f"@{UID_DOMAIN}"


def _lesson_uid(child: Child, day: date, lesson: LessonItem) -> str:
    if lesson.id is not None:
        return _uid("lesson", lesson.id, f"s{child.student_id}")
    # a lesson not generated yet: its class, day, number and subject
    return _uid(
        "planned",
        child.class_id,
        day.strftime("%Y%m%d"),
        lesson.number,
        lesson.subject_id,
        f"s{child.student_id}",
    )


def _at(day: date, clock: time, child: Child) -> datetime:
    return datetime.combine(day, clock, tzinfo=child.zone)


def _lesson_event(
    child: Child, day: date, lesson: LessonItem, prefix: str, stamp: datetime, _: Gettext
) -> Event:
    event = Event()
    event.add("uid", _lesson_uid(child, day, lesson))
    event.add("dtstamp", stamp)
    summary = prefix + lesson.subject
    if lesson.cancelled:
        summary = _("Cancelled: %(subject)s") % {"subject": summary}
    event.add("summary", summary)
    event.add("dtstart", _at(day, lesson.starts_at, child))
    event.add("dtend", _at(day, max(lesson.ends_at, lesson.starts_at), child))
    if lesson.room:
        event.add("location", _("Room %(room)s") % {"room": lesson.room})
    lines = [_("Lesson %(number)d") % {"number": lesson.number}]
    if lesson.replacement:
        lines.append(_("Replacement teacher: %(name)s") % {"name": lesson.replacement})
        if lesson.teacher:
            lines.append(_("Instead of: %(name)s") % {"name": lesson.teacher})
    elif lesson.teacher:
        lines.append(_("Teacher: %(name)s") % {"name": lesson.teacher})
    if lesson.instead_of:
        lines.append(_("In place of %(subject)s") % {"subject": lesson.instead_of})
    if lesson.topic:
        lines.append(_("Topic: %(topic)s") % {"topic": lesson.topic})
    if lesson.cancelled and lesson.cancel_reason:
        lines.append(_("Reason: %(reason)s") % {"reason": lesson.cancel_reason})
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if lesson.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if lesson.cancelled else "OPAQUE")
    return event


def _homework_event(
    child: Child, item: HomeworkItem, prefix: str, stamp: datetime, _: Gettext
) -> Event:
    event = Event()
    event.add("uid", _uid("homework", item.id, f"s{child.student_id}"))
    event.add("dtstamp", stamp)
    event.add("summary", prefix + _("Homework: %(subject)s") % {"subject": item.subject})
    event.add("dtstart", item.due_date)
    event.add("dtend", item.due_date + timedelta(days=1))
    event.add("description", item.text)
    event.add("transp", "TRANSPARENT")
    event.add("categories", [_("Homework")])
    return event


def calendar_ics(
    students: Sequence[StudentEvents],
    _: Gettext,
    *,
    name: str,
    now: datetime | None = None,
) -> bytes:
    """The iCalendar file of one or more students (several: each event is prefixed with the
    student's name). Times are in the school's zone, with its VTIMEZONE."""
    stamp = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    several = len(students) > 1
    first, last = date.max, date.min
    for events in students:
        child = events.child
        prefix = f"{child.name.split()[0]}: " if several and child.name.split() else ""
        first, last = min(first, events.window.start), max(last, events.window.end)
        for day in events.days:
            for lesson in day.lessons:
                calendar.add_component(_lesson_event(child, day.date, lesson, prefix, stamp, _))
        for item in events.homework:
            calendar.add_component(_homework_event(child, item, prefix, stamp, _))
    if first <= last:
        calendar.add_missing_timezones(first - timedelta(days=1), last + timedelta(days=2))
    data: bytes = calendar.to_ical()
    return data


def calendar_name(students: Sequence[StudentEvents], _: Gettext) -> str:
    """ "School: Анна Петрова, 7Б" (one student), "School" (several)."""
    if len(students) == 1:
        child = students[0].child
        who = child.name + (f", {child.class_name}" if child.class_name else "")
        return _("School: %(name)s") % {"name": who}
    return _("School")


def file_name(events: StudentEvents) -> str:
    """The .ics file's name: "school-<student id>-<today>.ics" (no personal data)."""
    return f"school-{events.child.student_id}-{events.child.today.isoformat()}.ics"


# --- subscriptions ---------------------------------------------------------------------------

TOKEN_BYTES = 24


def new_token() -> str:
    """A URL-safe secret of 32 characters (192 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(value: str) -> bool:
    return 16 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


async def feed_token(session: AsyncSession, actor: Actor) -> str | None:
    """The actor's current subscription token (None: none made, or revoked)."""
    if actor.account_id is None:
        return None
    return await session.scalar(
        select(CalendarFeed.token).where(CalendarFeed.account_id == actor.account_id)
    )


def may_subscribe(actor: Actor) -> bool:
    """Anyone who follows a student (their own record, a child, a trusted grant)."""
    return actor.account_id is not None and bool(actor.children)


async def create_feed(session: AsyncSession, actor: Actor) -> str:
    """Make (or make anew) the actor's subscription: a new token; an older URL stops working.
    Commits."""
    if not may_subscribe(actor):
        raise denied(Action.VIEW_SCHEDULE, None)
    assert actor.account_id is not None
    await session.execute(delete(CalendarFeed).where(CalendarFeed.account_id == actor.account_id))
    token = new_token()
    session.add(CalendarFeed(account_id=actor.account_id, token=token))
    await session.commit()
    return token


async def revoke_feed(session: AsyncSession, actor: Actor) -> bool:
    """Delete the actor's subscription (its URL answers 404 from now on). Commits; False when
    there was none."""
    if actor.account_id is None:
        return False
    result = await session.execute(
        delete(CalendarFeed)
        .where(CalendarFeed.account_id == actor.account_id)
        .returning(CalendarFeed.id)
    )
    gone = bool(result.all())
    await session.commit()
    return gone


@dataclass(frozen=True)
class Feed:
    """What a subscription URL serves: the account's language and every student it follows
    with a readable scope."""

    locale: str | None
    students: list[StudentEvents]


async def feed_for_token(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> Feed | None:
    """The calendar behind a subscription token, read now from the database (None: no such
    token). An account that follows nobody any more gets an empty calendar, so the phone drops
    the events it had. Reads only: the caller rolls back."""
    if not looks_like_token(token):
        return None
    row = (
        await session.execute(
            select(Account.telegram_id, Account.locale, Account.language_code, CalendarFeed.id)
            .join(CalendarFeed, CalendarFeed.account_id == Account.id)
            .where(CalendarFeed.token == token)
        )
    ).first()
    if row is None:
        return None
    telegram_id, locale, language_code, _feed_id = row
    actor = await load_actor(session, telegram_id)
    now = now or utcnow()
    students: list[StudentEvents] = []
    for ref in actor.children:  # none left (links ended): an empty calendar, events removed
        try:
            child = await open_child(session, actor, ref.student_id, now=now)
        except DomainError:
            continue
        if _readable(child.scopes):
            students.append(await _events(session, child))
    return Feed(locale or language_code, students)
