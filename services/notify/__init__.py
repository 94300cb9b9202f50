"""Notifications: what the journal, linking and the scheduler tell people through Telegram.

The public API for the other areas — write an event to the outbox in the caller's
transaction, and change what is still waiting:

* `NotificationEvent` names what happened (its template, preference kind and trust scope
  follow from it) and `DedupKey` builds the key that makes it unique;
* `notify_family` writes a student's event for everyone who may hear of it; `enqueue`
  writes it for given accounts;
* `cancel_pending`, `retime_pending`, `revive_cancelled` and `rows_of` act on the rows of a key.

Inside, by responsibility: `events`, `recipients` (who hears), `outbox` (the rows and their
states), `model` (the data passed around), `facts` (what a batch is about, read at send time),
`plan` (the pure planner), `dispatcher` (sending under Telegram's limits), `digests` (the
scheduled summaries), `preferences`, `reactions` (seen, comments and replies on a grade) and
`jobs` (the scheduled jobs; imported by itself, as it builds on other areas).
"""

from services.notify.events import DedupKey, NotificationEvent
from services.notify.outbox import (
    cancel_pending,
    enqueue,
    retime_pending,
    revive_cancelled,
    rows_of,
)
from services.notify.recipients import family_recipients, notify_family

__all__ = [
    "DedupKey",
    "NotificationEvent",
    "cancel_pending",
    "enqueue",
    "family_recipients",
    "notify_family",
    "retime_pending",
    "revive_cancelled",
    "rows_of",
]
