"""Callback data of notifications: reactions on grade messages, comment threads, settings."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Count, Id
from db.enums import NotificationKind


class ReactOp(enum.StrEnum):
    SEEN = "s"
    COMMENT = "c"
    THREAD = "t"


class ReactCb(CallbackData, prefix="nr"):
    """A parent's reaction to a grade: seen, write a comment, read the thread."""

    grade_id: Id
    op: ReactOp


class ReplyCb(CallbackData, prefix="nrp"):
    """A teacher answers a parent's comment."""

    comment_id: Id


class NoteCancelCb(CallbackData, prefix="nx"):
    """Stop writing a comment or a reply."""


class PrefOp(enum.StrEnum):
    MODE = "m"
    URGENT = "u"
    QUIET = "q"
    DIGEST_TIME = "t"


class PrefCb(CallbackData, prefix="npf"):
    """A change on the settings screen; `value` is the option chosen (an index or 0/1)."""

    op: PrefOp
    kind: NotificationKind | None = None
    value: Count = 0


class DeadLetterCb(CallbackData, prefix="ndl"):
    """Admins: the undelivered notifications, and sending them again."""

    retry: bool = False


class EraseCb(CallbackData, prefix="npd"):
    """Settings → "Delete my data": the confirmation screen, then (`confirm`) the deletion.
    Names the account it was shown to; the service refuses any other account's press."""

    account_id: Id
    confirm: bool = False


class FeedOp(enum.StrEnum):
    SHOW = "s"
    CREATE = "c"
    REVOKE = "r"


class CalendarFeedCb(CallbackData, prefix="ncf"):
    """Settings → the calendar subscription: shown, made (anew), or revoked. Acts on the
    pressing account's own subscription only."""

    op: FeedOp = FeedOp.SHOW
