"""Notification preferences: per account and kind (instantly / only in the digest / off), the
kinds the account marks urgent, quiet hours and the time of the daily digest.

Nothing is stored until the account changes something: defaults depend on who the account is
(a student hears about their own grades only after opting in; parents hear about everything)
and on the deployment (`PreferenceDefaults`, built from the settings). Times are local times
of the school's time zone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import DeliveryMode, NotificationKind
from db.models import Account, Guardianship, NotificationPreference, Student, TrustedAccess
from services.core.actors import FAMILY_ROLES, Actor
from services.core.links import guardianship_active, trust_standing

#: The kinds a person can tune, in the order the settings screen shows them.
KINDS: tuple[NotificationKind, ...] = (
    NotificationKind.GRADE,
    NotificationKind.HOMEWORK,
    NotificationKind.ATTENDANCE,
    NotificationKind.TIMETABLE,
    NotificationKind.REPLY,
    NotificationKind.DIGEST,
)
#: Kinds that are never tuned: answers to the person's own actions (link decisions) and
#: messages from the system are sent at once, whatever the hour.
UNTUNED = frozenset({NotificationKind.LINK, NotificationKind.SYSTEM})
#: The digest itself is on (INSTANT) or off; "only in the digest" makes no sense for it.
MODES: tuple[DeliveryMode, ...] = (DeliveryMode.INSTANT, DeliveryMode.DIGEST, DeliveryMode.OFF)

QUIET_OPTIONS: tuple[tuple[time, time], ...] = (
    (time(21), time(8)),
    (time(22), time(7)),
    (time(22), time(8)),
    (time(23), time(7)),
    (time(20), time(7)),
)
QUIET_OFF = len(QUIET_OPTIONS)  # the option index that turns quiet hours off
DIGEST_TIMES: tuple[time, ...] = (time(17), time(18), time(19), time(20), time(21))
_MIDNIGHT = time(0)


class Audience(enum.StrEnum):
    """Whose defaults apply: a student's own account, a family member, or staff only."""

    FAMILY = "family"
    STUDENT = "student"
    STAFF = "staff"


DEFAULT_MODES: dict[Audience, dict[NotificationKind, DeliveryMode]] = {
    Audience.FAMILY: dict.fromkeys(KINDS, DeliveryMode.INSTANT),
    Audience.STUDENT: {
        NotificationKind.GRADE: DeliveryMode.OFF,  # a student opts in to their own grades
        NotificationKind.HOMEWORK: DeliveryMode.INSTANT,
        NotificationKind.ATTENDANCE: DeliveryMode.OFF,
        NotificationKind.TIMETABLE: DeliveryMode.INSTANT,
        NotificationKind.REPLY: DeliveryMode.INSTANT,
        NotificationKind.DIGEST: DeliveryMode.OFF,
    },
    Audience.STAFF: dict.fromkeys(KINDS, DeliveryMode.INSTANT),
}


@dataclass(frozen=True)
class PreferenceDefaults:
    """Deployment-wide defaults (settings NOTIFY_QUIET_START/END, NOTIFY_DIGEST_TIME)."""

    quiet_start: time | None = time(21)
    quiet_end: time | None = time(8)
    digest_time: time = time(20)

    @property
    def quiet(self) -> tuple[time, time] | None:
        if self.quiet_start is None or self.quiet_end is None:
            return None
        if self.quiet_start == self.quiet_end:
            return None
        return self.quiet_start, self.quiet_end


@dataclass(frozen=True)
class Preferences:
    """What one account wants, with the defaults filled in."""

    account_id: int
    audience: Audience
    modes: Mapping[NotificationKind, DeliveryMode]
    urgent: frozenset[NotificationKind]
    quiet: tuple[time, time] | None
    digest_time: time
    custom_quiet: bool = False
    custom_digest_time: bool = False

    def mode(self, kind: NotificationKind) -> DeliveryMode:
        if kind in UNTUNED:
            return DeliveryMode.INSTANT
        return self.modes.get(kind, DeliveryMode.INSTANT)

    @property
    def digest_on(self) -> bool:
        return self.mode(NotificationKind.DIGEST) != DeliveryMode.OFF

    def quiet_until(self, kind: NotificationKind, local: datetime) -> datetime | None:
        """The end of the quiet hours `local` falls in (None: send now). Digests come at the
        time the person chose, so quiet hours never hold them."""
        if kind in UNTUNED or kind == NotificationKind.DIGEST or kind in self.urgent:
            return None
        return quiet_end_after(self.quiet, local)


def quiet_end_after(quiet: tuple[time, time] | None, local: datetime) -> datetime | None:
    """If the aware local time is inside the quiet window, the local moment it ends."""
    if quiet is None:
        return None
    start, end = quiet
    now = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:  # a window inside one day, e.g. 13:00–15:00
        inside = start <= now < end
        end_day = local.date()
    else:  # over midnight, e.g. 21:00–08:00
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def _quiet_of(
    start: time | None, end: time | None, defaults: PreferenceDefaults
) -> tuple[tuple[time, time] | None, bool]:
    if start is None or end is None:
        return defaults.quiet, False
    if start == end:
        return None, True
    return (start, end), True


async def _audiences(session: AsyncSession, account_ids: list[int]) -> dict[int, Audience]:
    """Family if the account guards or is trusted with a student; else student; else staff."""
    links = await session.execute(
        select(Guardianship.account_id, literal("family"))
        .where(Guardianship.account_id.in_(account_ids), guardianship_active())
        .union(
            select(TrustedAccess.account_id, literal("family")).where(
                TrustedAccess.account_id.in_(account_ids), trust_standing()
            ),
            select(Student.account_id, literal("student")).where(
                Student.account_id.in_(account_ids)
            ),
        )
    )
    found: dict[int, set[str]] = {}
    for account_id, what in links:
        found.setdefault(account_id, set()).add(what)
    result = {}
    for account_id in account_ids:
        kinds = found.get(account_id, set())
        if "family" in kinds:
            result[account_id] = Audience.FAMILY
        elif "student" in kinds:
            result[account_id] = Audience.STUDENT
        else:
            result[account_id] = Audience.STAFF
    return result


async def load_preferences(
    session: AsyncSession,
    account_ids: Iterable[int],
    defaults: PreferenceDefaults,
) -> dict[int, Preferences]:
    """Preferences of many accounts in three queries, whatever their number."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    accounts = {
        row.id: row
        for row in await session.execute(
            select(Account.id, Account.quiet_start, Account.quiet_end, Account.digest_time).where(
                Account.id.in_(ids)
            )
        )
    }
    stored: dict[int, list[NotificationPreference]] = {}
    for pref in await session.scalars(
        select(NotificationPreference).where(NotificationPreference.account_id.in_(ids))
    ):
        stored.setdefault(pref.account_id, []).append(pref)
    audiences = await _audiences(session, ids)
    result: dict[int, Preferences] = {}
    for account_id in ids:
        row = accounts.get(account_id)
        if row is None:
            continue
        audience = audiences[account_id]
        modes = dict(DEFAULT_MODES[audience])
        urgent: set[NotificationKind] = set()
        for pref in stored.get(account_id, []):
            modes[pref.kind] = pref.mode
            if pref.urgent:
                urgent.add(pref.kind)
        quiet, custom_quiet = _quiet_of(row.quiet_start, row.quiet_end, defaults)
        result[account_id] = Preferences(
            account_id=account_id,
            audience=audience,
            modes=modes,
            urgent=frozenset(urgent),
            quiet=quiet,
            digest_time=row.digest_time or defaults.digest_time,
            custom_quiet=custom_quiet,
            custom_digest_time=row.digest_time is not None,
        )
    return result


# --- the settings screen ------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsView:
    """What the settings screen shows to one actor."""

    preferences: Preferences
    kinds: tuple[NotificationKind, ...]
    quiet_option: int  # index into QUIET_OPTIONS, QUIET_OFF, or -1 for a custom window
    digest_option: int  # index into DIGEST_TIMES, or -1 for a custom time
    dead_letters: int | None = None  # for admins: undelivered notifications of their school


def kinds_for(actor: Actor) -> tuple[NotificationKind, ...]:
    """Family members tune everything; staff only hear replies from parents."""
    if actor.roles & FAMILY_ROLES:
        return KINDS
    return (NotificationKind.REPLY,)


def next_mode(kind: NotificationKind, mode: DeliveryMode) -> DeliveryMode:
    """The mode a tap on the kind's button switches to."""
    if kind == NotificationKind.DIGEST:
        return DeliveryMode.OFF if mode != DeliveryMode.OFF else DeliveryMode.INSTANT
    return MODES[(MODES.index(mode) + 1) % len(MODES)]


def quiet_option_of(prefs: Preferences) -> int:
    if prefs.quiet is None:
        return QUIET_OFF
    return QUIET_OPTIONS.index(prefs.quiet) if prefs.quiet in QUIET_OPTIONS else -1


async def settings_view(
    session: AsyncSession,
    actor: Actor,
    defaults: PreferenceDefaults,
    *,
    dead_letters: int | None = None,
) -> SettingsView:
    """The actor's own preferences (nobody reads or changes anyone else's)."""
    if actor.account_id is None:
        raise LookupError("unknown account")
    prefs = (await load_preferences(session, [actor.account_id], defaults))[actor.account_id]
    digest_option = (
        DIGEST_TIMES.index(prefs.digest_time) if prefs.digest_time in DIGEST_TIMES else -1
    )
    return SettingsView(
        preferences=prefs,
        kinds=kinds_for(actor),
        quiet_option=quiet_option_of(prefs),
        digest_option=digest_option,
        dead_letters=dead_letters,
    )


async def _stored(
    session: AsyncSession, account_id: int, kind: NotificationKind, defaults: PreferenceDefaults
) -> NotificationPreference:
    pref = await session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.account_id == account_id, NotificationPreference.kind == kind
        )
    )
    if pref is None:
        current = (await load_preferences(session, [account_id], defaults))[account_id]
        pref = NotificationPreference(
            account_id=account_id, kind=kind, mode=current.mode(kind), urgent=False
        )
        session.add(pref)
    return pref


def _own_account(actor: Actor) -> int:
    if actor.account_id is None:
        raise LookupError("unknown account")
    return actor.account_id


async def set_mode(
    session: AsyncSession,
    actor: Actor,
    kind: NotificationKind,
    mode: DeliveryMode,
    defaults: PreferenceDefaults,
) -> None:
    """Set how the actor hears about a kind; "only in the digest" turns the digest on."""
    account_id = _own_account(actor)
    if kind not in KINDS:
        raise ValueError(f"{kind} is not tunable")
    if kind == NotificationKind.DIGEST and mode == DeliveryMode.DIGEST:
        mode = DeliveryMode.INSTANT
    pref = await _stored(session, account_id, kind, defaults)
    pref.mode = mode
    if mode == DeliveryMode.DIGEST:
        digest = await _stored(session, account_id, NotificationKind.DIGEST, defaults)
        digest.mode = DeliveryMode.INSTANT
    await session.commit()


async def set_urgent(
    session: AsyncSession,
    actor: Actor,
    kind: NotificationKind,
    urgent: bool,
    defaults: PreferenceDefaults,
) -> None:
    """Urgent kinds are sent during quiet hours too."""
    account_id = _own_account(actor)
    if kind not in KINDS or kind == NotificationKind.DIGEST:
        raise ValueError(f"{kind} cannot be urgent")
    pref = await _stored(session, account_id, kind, defaults)
    pref.urgent = urgent
    await session.commit()


async def set_quiet(session: AsyncSession, actor: Actor, option: int) -> None:
    """Choose one of `QUIET_OPTIONS`, or `QUIET_OFF`."""
    account_id = _own_account(actor)
    if not 0 <= option <= QUIET_OFF:
        raise ValueError("no such quiet-hours option")
    account = await session.get(Account, account_id)
    assert account is not None
    start, end = (_MIDNIGHT, _MIDNIGHT) if option == QUIET_OFF else QUIET_OPTIONS[option]
    account.quiet_start, account.quiet_end = start, end
    await session.commit()


async def set_digest_time(session: AsyncSession, actor: Actor, option: int) -> None:
    """Choose one of `DIGEST_TIMES`."""
    account_id = _own_account(actor)
    if not 0 <= option < len(DIGEST_TIMES):
        raise ValueError("no such digest time")
    account = await session.get(Account, account_id)
    assert account is not None
    account.digest_time = DIGEST_TIMES[option]
    await session.commit()
