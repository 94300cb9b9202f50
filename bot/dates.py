"""Dates and times for buttons and screens, formatted by Babel in the current locale (the
update's, set by `bot.middlewares.LocaleMiddleware`; templates use the same through
`bot.rendering`)."""

from __future__ import annotations

from datetime import date, time
from functools import lru_cache

from aiogram.utils.i18n import get_i18n
from babel.dates import format_date, format_time

DAY_MONTH = "dd.MM"  # "27.11": a day on a narrow button
CLOCK = "HH:mm"


def _locale(locale: str | None) -> str:
    return locale if locale is not None else get_i18n().current_locale


def format_day(day: date, pattern: str = "EEE d", *, locale: str | None = None) -> str:
    """`day` by a Babel (CLDR) pattern, e.g. "EEE d" → "Mon 27", "dd.MM" → "27.11"."""
    return _formatted_day(day, pattern, _locale(locale))


def format_clock(moment: time, *, locale: str | None = None) -> str:
    """A wall-clock time as "09:25" (lesson times are local: nothing is converted)."""
    return _formatted_clock(moment, _locale(locale))


# Babel parses the pattern and walks the locale's data on every call (about 0.1 ms); a screen
# formats the same few days and lesson times again and again, so the results are kept.
@lru_cache(maxsize=4096)
def _formatted_day(day: date, pattern: str, locale: str) -> str:
    return format_date(day, format=pattern, locale=locale)


@lru_cache(maxsize=1024)
def _formatted_clock(moment: time, locale: str) -> str:
    return format_time(moment, format=CLOCK, locale=locale)
