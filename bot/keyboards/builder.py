"""The inline keyboard builder every keyboard here uses."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder


class KeyboardBuilder(InlineKeyboardBuilder):
    """aiogram's `InlineKeyboardBuilder` without its deep copies.

    aiogram's `export()` deep-copies the whole keyboard, and `add()` (so every `button()`)
    and `adjust()` call it: building a keyboard of n buttons copies O(n²) pydantic models,
    about 3 ms of a diary screen's ~14 ms of CPU. A keyboard here is filled, turned into a
    markup once and never changed after, so the rows are copied (a new list each) and the
    buttons shared. Everything else is aiogram's.
    """

    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]
