"""Keyboards of the school's data screen (/school)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks.roster import RosterAction, RosterCb
from bot.keyboards import back_button
from bot.keyboards.builder import KeyboardBuilder


def roster_menu_keyboard() -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(
        text=_("📄 Empty workbook"), callback_data=RosterCb(action=RosterAction.TEMPLATE)
    )
    builder.button(
        text=_("📤 The school as a workbook"), callback_data=RosterCb(action=RosterAction.EXPORT)
    )
    builder.button(
        text=_("📦 OneRoster 1.2 export"), callback_data=RosterCb(action=RosterAction.ONEROSTER)
    )
    builder.adjust(1)
    back_button(builder)
    return builder.as_markup()


def roster_apply_keyboard() -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    builder.button(text=_("✅ Apply"), callback_data=RosterCb(action=RosterAction.APPLY))
    builder.button(text=_("✖️ Cancel"), callback_data=RosterCb(action=RosterAction.CANCEL))
    builder.adjust(2)
    return builder.as_markup()
