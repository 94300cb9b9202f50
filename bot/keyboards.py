"""Inline and reply keyboards (labels through gettext)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import Lang, LanguageCb

LANGUAGE_LABELS = {Lang.RU: "🇷🇺 Русский", Lang.EN: "🇬🇧 English"}


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in LANGUAGE_LABELS.items():
        builder.button(text=label, callback_data=LanguageCb(code=code))
    return builder.as_markup()
