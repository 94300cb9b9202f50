"""Callback-data factories: short prefixes, ids and enums only (never names or other
personal data); everything here must pack to at most 64 bytes."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData


class Lang(enum.StrEnum):
    RU = "ru"
    EN = "en"


class LanguageCb(CallbackData, prefix="lng"):
    code: Lang
