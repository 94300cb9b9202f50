"""Inline and reply keyboards (labels through gettext): shared and linking keyboards here,
one module per further area (`bot.keyboards.diary`, `bot.keyboards.journal`, …)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    ChildCb,
    ClassCb,
    CodesCb,
    GrantCb,
    GrantOp,
    InviteCb,
    Lang,
    LanguageCb,
    LinkDecisionCb,
    MenuCb,
    Screen,
    StudentAccessCb,
    UnlinkCb,
)
from bot.i18n import N_
from bot.keyboards.builder import KeyboardBuilder
from db.enums import CodeKind, TrustScope
from services.core.actors import Actor, Role
from services.people.linking import AccessHolder
from services.people.school import (
    EXPIRY_MONTH,
    EXPIRY_PERIOD,
    EXPIRY_WEEK,
    EXPIRY_YEAR,
    ClassItem,
    StudentAccess,
)


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """A button that sends `data` when pressed."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def one_button(text: str, data: CallbackData) -> InlineKeyboardMarkup:
    """A keyboard of one button."""
    return InlineKeyboardMarkup(inline_keyboard=[[button(text, data)]])


LANGUAGE_LABELS = {Lang.RU: "🇷🇺 Русский", Lang.EN: "🇬🇧 English"}


def language_keyboard() -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for code, label in LANGUAGE_LABELS.items():
        builder.button(text=label, callback_data=LanguageCb(code=code))
    return builder.as_markup()


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(text=_("Cancel"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def link_decision_buttons(
    request_id: int, *, approvable: bool = True
) -> list[InlineKeyboardButton]:
    """Approve and Reject (a row); only Reject for a request that cannot be approved (the
    applicant is the student themselves)."""
    reject = InlineKeyboardButton(
        text=_("❌ Reject"),
        callback_data=LinkDecisionCb(request_id=request_id, approve=False).pack(),
    )
    if not approvable:
        return [reject]
    approve = InlineKeyboardButton(
        text=_("✅ Approve"),
        callback_data=LinkDecisionCb(request_id=request_id, approve=True).pack(),
    )
    return [approve, reject]


def link_decision_keyboard(request_id: int, *, approvable: bool = True) -> InlineKeyboardMarkup:
    """The keyboard of `link_decision_buttons`."""
    return InlineKeyboardMarkup(
        inline_keyboard=[link_decision_buttons(request_id, approvable=approvable)]
    )


SCOPE_LABELS = {
    TrustScope.GRADES: N_("Grades"),
    TrustScope.HOMEWORK: N_("Homework"),
    TrustScope.ATTENDANCE: N_("Attendance"),
    TrustScope.SCHEDULE: N_("Schedule"),
}
EXPIRY_LABELS = {
    EXPIRY_WEEK: N_("1 week"),
    EXPIRY_MONTH: N_("1 month"),
    EXPIRY_PERIOD: N_("Until the period ends"),
    EXPIRY_YEAR: N_("Until the year ends"),
}


def _check(on: bool, label: str) -> str:
    return ("✅ " if on else "▫️ ") + _(label)


def home_keyboard(actor: Actor) -> InlineKeyboardMarkup | None:
    builder = KeyboardBuilder()
    if actor.children:
        builder.button(text=_("📖 Diary"), callback_data=MenuCb(screen=Screen.DIARY))
    if actor.is_staff:
        builder.button(text=_("📘 Journal"), callback_data=MenuCb(screen=Screen.JOURNAL))
        builder.button(text=_("📊 Reports"), callback_data=MenuCb(screen=Screen.REPORTS))
    if actor.has(Role.PARENT):
        builder.button(
            text=_("👥 Who can see my child"), callback_data=MenuCb(screen=Screen.ACCESS)
        )
    if len(actor.children) > 1:
        builder.button(text=_("🔄 Switch child"), callback_data=MenuCb(screen=Screen.CHILDREN))
    if actor.class_teacher_of or actor.has(Role.ADMIN):
        builder.button(text=_("📨 Link requests"), callback_data=MenuCb(screen=Screen.REQUESTS))
    if actor.class_teacher_of or actor.has(Role.ADMIN, Role.HEAD_TEACHER):
        builder.button(text=_("🏫 Access by class"), callback_data=MenuCb(screen=Screen.CLASSES))
    if actor.has(Role.ADMIN):
        builder.button(text=_("🔑 Access codes"), callback_data=MenuCb(screen=Screen.CODES))
        builder.button(text=_("🗂 School data"), callback_data=MenuCb(screen=Screen.SCHOOL))
    if actor.is_known:
        builder.button(text=_("⚙️ Settings"), callback_data=MenuCb(screen=Screen.SETTINGS))
    builder.adjust(1)
    return builder.as_markup() if builder.buttons else None


def back_button(builder: KeyboardBuilder, screen: Screen = Screen.HOME) -> None:
    builder.row(button(_("« Back"), MenuCb(screen=screen)))


def children_keyboard(actor: Actor) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for child in actor.children:
        mark = "• " if child.student_id == (actor.current_child() or child).student_id else ""
        label = f"{mark}{child.name}" + (f" ({child.class_name})" if child.class_name else "")
        builder.button(text=label[:60], callback_data=ChildCb(student_id=child.student_id))
    builder.adjust(1)
    back_button(builder)
    return builder.as_markup()


def access_keyboard(
    student_id: int, holders: list[AccessHolder], expiry: int
) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("➕ Invite a trusted person"),
        callback_data=InviteCb(
            student_id=student_id,
            scopes=int(TrustScope.GRADES | TrustScope.HOMEWORK),
            expiry=expiry,
        ),
    )
    for holder in holders:
        if holder.kind in ("trusted", "invited"):
            builder.button(
                text=("⚙️ " + holder.name)[:60] if holder.kind == "trusted" else _("⚙️ Invitation"),
                callback_data=GrantCb(grant_id=holder.id, op=GrantOp.OPEN),
            )
        elif holder.is_me:
            builder.button(
                text=_("🚪 Unlink me from this child"),
                callback_data=UnlinkCb(guardianship_id=holder.id),
            )
    builder.adjust(1)
    back_button(builder)
    return builder.as_markup()


def invite_keyboard(
    student_id: int, scopes: int, expiry: int, expiries: list[int]
) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for scope, label in SCOPE_LABELS.items():
        builder.button(
            text=_check(bool(scopes & scope), label),
            callback_data=InviteCb(student_id=student_id, scopes=scopes ^ scope, expiry=expiry),
        )
    for option in expiries:
        builder.button(
            text=_check(option == expiry, EXPIRY_LABELS[option]),
            callback_data=InviteCb(student_id=student_id, scopes=scopes, expiry=option),
        )
    builder.button(
        text=_("📨 Create the invitation"),
        callback_data=InviteCb(student_id=student_id, scopes=scopes, expiry=expiry, create=True),
    )
    builder.adjust(2, 2, *([2] * ((len(expiries) + 1) // 2)), 1)
    back_button(builder, Screen.ACCESS)
    return builder.as_markup()


def grant_keyboard(grant_id: int, scopes: int, expiries: list[int]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for scope, label in SCOPE_LABELS.items():
        builder.button(
            text=_check(bool(scopes & scope), label),
            callback_data=GrantCb(grant_id=grant_id, op=GrantOp.SCOPES, value=scopes ^ scope),
        )
    for option in expiries:
        builder.button(
            text="⏳ " + _(EXPIRY_LABELS[option]),
            callback_data=GrantCb(grant_id=grant_id, op=GrantOp.EXPIRY, value=option),
        )
    builder.button(
        text=_("🚫 Revoke access"), callback_data=GrantCb(grant_id=grant_id, op=GrantOp.REVOKE)
    )
    builder.adjust(2, 2, *([2] * ((len(expiries) + 1) // 2)), 1)
    back_button(builder, Screen.ACCESS)
    return builder.as_markup()


def revoke_confirm_keyboard(
    grant_id: int, student_id: int, *, by_manager: bool
) -> InlineKeyboardMarkup:
    """ "Yes, revoke" and "Cancel" (back to the grant for its parent, to the child's access
    list for an admin)."""
    builder = KeyboardBuilder()
    builder.button(
        text=_("Yes, revoke"),
        callback_data=GrantCb(grant_id=grant_id, op=GrantOp.REVOKE, confirm=True),
    )
    cancel = (
        GrantCb(grant_id=grant_id, op=GrantOp.OPEN)
        if by_manager
        else StudentAccessCb(student_id=student_id)
    )
    builder.button(text=_("Cancel"), callback_data=cancel)
    builder.adjust(1)
    return builder.as_markup()


def unlink_confirm_keyboard(guardianship_id: int, *, is_self: bool) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("Yes, unlink me") if is_self else _("Yes, revoke"),
        callback_data=UnlinkCb(guardianship_id=guardianship_id, confirm=True),
    )
    back_button(builder, Screen.ACCESS if is_self else Screen.CLASSES)
    return builder.as_markup()


def class_list_keyboard(classes: list[ClassItem], *, for_codes: bool) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for item in classes:
        data = CodesCb(class_id=item.id) if for_codes else ClassCb(class_id=item.id)
        builder.button(text=item.name, callback_data=data)
    builder.adjust(4)
    back_button(builder)
    return builder.as_markup()


def codes_kind_keyboard(class_id: int) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("👨‍👩‍👧 Parents' letters"),
        callback_data=CodesCb(class_id=class_id, kind=CodeKind.PARENT),
    )
    builder.button(
        text=_("🎒 Students' letters"),
        callback_data=CodesCb(class_id=class_id, kind=CodeKind.STUDENT),
    )
    builder.adjust(1)
    back_button(builder, Screen.CODES)
    return builder.as_markup()


def codes_reissue_keyboard(class_id: int, kind: CodeKind, newest_id: int) -> InlineKeyboardMarkup:
    """Confirm re-issuing a class's letters (cancelling the live codes up to `newest_id`)."""
    builder = KeyboardBuilder()
    builder.button(
        text=_("🔄 Issue new, cancel old"),
        callback_data=CodesCb(class_id=class_id, kind=kind, replace=newest_id),
    )
    builder.button(text=_("✖️ Keep the old ones"), callback_data=CodesCb(class_id=class_id))
    builder.adjust(1)
    return builder.as_markup()


def students_keyboard(rows: list[StudentAccess]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for row in rows[:90]:
        builder.button(text=row.name[:40], callback_data=StudentAccessCb(student_id=row.student_id))
    builder.adjust(2)
    back_button(builder, Screen.CLASSES)
    return builder.as_markup()


def student_access_keyboard(holders: list[AccessHolder]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for holder in holders:
        label = ("🚫 " + holder.name)[:60]
        if holder.kind == "guardian":
            builder.button(text=label, callback_data=UnlinkCb(guardianship_id=holder.id))
        else:
            builder.button(text=label, callback_data=GrantCb(grant_id=holder.id, op=GrantOp.REVOKE))
    builder.adjust(1)
    back_button(builder, Screen.CLASSES)
    return builder.as_markup()
