"""The one domain error: a request a service refuses, with a stable key and its details.

Services raise `DomainError`; one bot middleware rolls the update's work back and turns the
error into a localized answer, shown as the error says (`Shown`). Nothing here knows about
Telegram or templates: the bot maps each area to the template that explains its keys.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class Shown(enum.StrEnum):
    """How the user is told."""

    #: a short refusal that names no reason (the reason stays in the log): an alert on a
    #: pressed button, a plain reply to a message
    ALERT = "alert"
    #: the reason, rendered from the key and details: an alert on a pressed button, a reply
    #: to a message
    REASON = "reason"
    #: the reason replaces the pressed screen in place (a reply to a message)
    SCREEN = "screen"


#: how each area's errors are shown unless the raise site says otherwise; a key's area (the
#: part before the first dot) must be one of these
SHOWN_BY_AREA: Mapping[str, Shown] = MappingProxyType(
    {
        "access": Shown.ALERT,  # the policy's refusal: saying why could disclose the object
        "codes": Shown.REASON,  # issuing access codes
        "journal": Shown.REASON,  # the teacher's journal
        "link": Shown.REASON,  # linking accounts, trusted access, guardianships
        "privacy": Shown.REASON,  # deleting one's own data
        "reaction": Shown.REASON,  # seen marks and comments on grades
        "roster": Shown.REASON,  # importing a school's roster (the report lists the problems)
        "submission": Shown.REASON,  # handing in homework
        "year": Shown.REASON,  # starting a new school year
    }
)


class DomainError(Exception):
    """A request that cannot be done as asked; the caller keeps nothing of what it wrote.

    `key` is ``"<area>.<reason>"`` (``"journal.bad_date"``); `details` fill the explanation
    (never a result of the operation). `shown` overrides the area's default presentation
    (`SHOWN_BY_AREA`). An unknown area is a programming error (`ValueError`).
    """

    def __init__(self, key: str, /, *, shown: Shown | None = None, **details: Any) -> None:
        area, dot, reason = key.partition(".")
        if not dot or not reason or area not in SHOWN_BY_AREA:
            raise ValueError(f"not a domain error key: {key!r}")
        super().__init__(key)
        self.key = key
        self.details = details
        self.shown = shown or SHOWN_BY_AREA[area]

    @property
    def area(self) -> str:
        """The part of the key before the first dot (which template explains it)."""
        return self.key.partition(".")[0]

    @property
    def reason(self) -> str:
        """The part of the key after the area (what the area's template switches on)."""
        return self.key.partition(".")[2]
