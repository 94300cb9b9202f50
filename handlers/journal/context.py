"""The journal's per-update context: `Ctx` plus the school's today, the grace window and the
short confirmations every write answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from bot.telegram import plain_text
from handlers.context import Ctx
from services.core.errors import DomainError
from services.core.schooltime import local_date, utcnow, zone_of
from services.people.school import school_zone


@dataclass
class JournalCtx(Ctx):
    """`Ctx` for the journal's handlers (built by `context_middleware(JournalCtx)`)."""

    _today: date | None = field(default=None, init=False, repr=False)

    async def today(self) -> date:
        """Today in the school's time zone (looked up once per update)."""
        if self._today is None:
            if self.actor.school_timezone is not None:  # staff: read with the actor
                zone = zone_of(self.actor.school_timezone, self.settings.timezone)
            else:
                zone = await school_zone(self.session, self.actor.school_id, self.settings.timezone)
            self._today = local_date(utcnow(), zone)
        return self._today

    @property
    def grace(self) -> timedelta:
        """How long a new or fixed grade waits before the family is told."""
        return timedelta(seconds=self.settings.notify_grace_seconds)

    def toast(self, key: str, **details: Any) -> Markup:
        """A short confirmation (rendered, escaped HTML) to put on top of the next screen."""
        return Markup(self.render("journal/toast.html.j2", key=key, details=details))

    def say(self, key: str, **details: Any) -> Markup:
        """Confirm a write in the button's answer too; returns the notice for the screen."""
        notice = self.toast(key, **details)
        self.tell(plain_text(notice))
        return notice


def day_of(ordinal: int) -> date:
    """A date from callback data; 0 or nonsense is refused (`bad_date`)."""
    try:
        return date.fromordinal(ordinal)
    except (ValueError, OverflowError):
        raise DomainError("journal.bad_date") from None
