"""Keyboards of notifications (reactions, replies, link decisions) and of the settings screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import Screen
from bot.callbacks.notify import (
    CalendarFeedCb,
    DeadLetterCb,
    EraseCb,
    FeedOp,
    NoteCancelCb,
    PrefCb,
    PrefOp,
    ReactCb,
    ReactOp,
    ReplyCb,
)
from bot.dates import format_clock
from bot.i18n import N_
from bot.keyboards import back_button, link_decision_buttons, one_button
from bot.keyboards.builder import KeyboardBuilder
from db.enums import DeliveryMode, NotificationKind
from services.notify.model import Button, ButtonAction
from services.notify.preferences import (
    DIGEST_TIMES,
    MODES,
    QUIET_OFF,
    SettingsView,
    next_mode,
)

KIND_LABELS = {
    NotificationKind.GRADE: N_("📝 Grades"),
    NotificationKind.HOMEWORK: N_("📚 Homework"),
    NotificationKind.ATTENDANCE: N_("🚸 Attendance"),
    NotificationKind.TIMETABLE: N_("🔁 Timetable changes"),
    NotificationKind.REPLY: N_("💬 Comments and replies"),
    NotificationKind.DIGEST: N_("🗓 Daily digest"),
}
MODE_LABELS = {
    DeliveryMode.INSTANT: N_("instantly"),
    DeliveryMode.DIGEST: N_("in the digest"),
    DeliveryMode.OFF: N_("off"),
}
LABEL_LIMIT = 40


def _labelled(prefix: str, label: str) -> str:
    return f"{prefix} {label[:LABEL_LIMIT]}" if label else prefix


def _button(button: Button) -> list[InlineKeyboardButton]:
    if button.action == ButtonAction.LINK_DECISION:
        return link_decision_buttons(button.target_id)
    if button.action == ButtonAction.REPLY:
        text, data = _("↩️ Reply"), ReplyCb(comment_id=button.target_id).pack()
    else:
        op = {
            ButtonAction.SEEN: ReactOp.SEEN,
            ButtonAction.COMMENT: ReactOp.COMMENT,
            ButtonAction.THREAD: ReactOp.THREAD,
        }[button.action]
        if button.action == ButtonAction.SEEN:
            text = _labelled("👀", button.label) if button.label else _("👀 Seen")
        elif button.action == ButtonAction.COMMENT:
            text = _labelled("💬", button.label) if button.label else _("💬 Comment")
        else:
            text = _("🧵 Thread")
        data = ReactCb(grade_id=button.target_id, op=op).pack()
    return [InlineKeyboardButton(text=text, callback_data=data)]


def notification_keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    """The buttons a notification carries (labels in the current locale)."""
    keyboard = [[b for button in row for b in _button(button)] for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None


def cancel_keyboard() -> InlineKeyboardMarkup:
    return one_button(_("✖️ Cancel"), NoteCancelCb())


def thread_keyboard(grade_id: int, *, can_comment: bool) -> InlineKeyboardMarkup | None:
    if not can_comment:
        return None
    return one_button(_("💬 Comment"), ReactCb(grade_id=grade_id, op=ReactOp.COMMENT))


def settings_keyboard(
    view: SettingsView, erase_account: int | None = None, *, calendar: bool = False
) -> InlineKeyboardMarkup:
    """The settings screen; `erase_account`: the account offered "Delete my data" (families);
    `calendar`: the calendar subscription is offered (webhook mode, someone who follows a
    student)."""
    prefs = view.preferences
    builder = KeyboardBuilder()
    widths: list[int] = []
    for kind in view.kinds:
        mode = prefs.mode(kind)
        if kind == NotificationKind.DIGEST:
            state = _("on") if mode != DeliveryMode.OFF else _("off")
            builder.button(
                text=f"{_(KIND_LABELS[kind])}: {state}",
                callback_data=PrefCb(
                    op=PrefOp.MODE, kind=kind, value=MODES.index(next_mode(kind, mode))
                ),
            )
            option = (view.digest_option + 1) % len(DIGEST_TIMES)
            builder.button(
                text=f"🕗 {format_clock(prefs.digest_time)}",
                callback_data=PrefCb(op=PrefOp.DIGEST_TIME, value=option),
            )
            widths.append(2)
            continue
        builder.button(
            text=f"{_(KIND_LABELS[kind])}: {_(MODE_LABELS[mode])}",
            callback_data=PrefCb(
                op=PrefOp.MODE, kind=kind, value=MODES.index(next_mode(kind, mode))
            ),
        )
        urgent = kind in prefs.urgent
        builder.button(
            text=_("🚨 urgent") if urgent else _("🌙 waits"),
            callback_data=PrefCb(op=PrefOp.URGENT, kind=kind, value=int(not urgent)),
        )
        widths.append(2)
    option = view.quiet_option
    next_option = 0 if option < 0 or option >= QUIET_OFF else option + 1
    if prefs.quiet is None:
        quiet = _("🌙 Quiet hours: off")
    else:
        quiet = _("🌙 Quiet hours: %(start)s–%(end)s") % {
            "start": format_clock(prefs.quiet[0]),
            "end": format_clock(prefs.quiet[1]),
        }
    builder.button(text=quiet, callback_data=PrefCb(op=PrefOp.QUIET, value=next_option))
    widths.append(1)
    if view.dead_letters is not None:
        builder.button(
            text=_("📮 Undelivered: %(count)d") % {"count": view.dead_letters},
            callback_data=DeadLetterCb(),
        )
        widths.append(1)
    if calendar:
        builder.button(text=_("📆 Calendar subscription"), callback_data=CalendarFeedCb())
        widths.append(1)
    if erase_account is not None:
        builder.button(text=_("🗑 Delete my data"), callback_data=EraseCb(account_id=erase_account))
        widths.append(1)
    builder.adjust(*widths)
    back_button(builder)
    return builder.as_markup()


def erase_confirm_keyboard(account_id: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("🗑 Yes, delete my data"), callback_data=EraseCb(account_id=account_id, confirm=True)
    )
    back_button(builder, Screen.SETTINGS)
    return builder.as_markup()


def dead_letters_keyboard(count: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    if count:
        builder.button(text=_("🔁 Send them again"), callback_data=DeadLetterCb(retry=True))
    builder.adjust(1)
    back_button(builder, Screen.SETTINGS)
    return builder.as_markup()


def calendar_feed_keyboard(has_feed: bool) -> InlineKeyboardMarkup:
    """Make a subscription link (anew), revoke it, back to the settings."""
    builder = KeyboardBuilder()
    make = _("🔁 New link") if has_feed else _("🔗 Make a link")
    builder.button(text=make, callback_data=CalendarFeedCb(op=FeedOp.CREATE))
    if has_feed:
        builder.button(text=_("🚫 Revoke the link"), callback_data=CalendarFeedCb(op=FeedOp.REVOKE))
    builder.adjust(1)
    back_button(builder, Screen.SETTINGS)
    return builder.as_markup()
