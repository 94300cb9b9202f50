"""bot.keyboards.builder: aiogram's builder without its deep copies builds the same keyboards."""

from __future__ import annotations

from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.diary import DayCb
from bot.keyboards.builder import KeyboardBuilder


def _fill(builder: InlineKeyboardBuilder) -> InlineKeyboardBuilder:
    for i in range(14):
        builder.button(text=f"b{i}", callback_data=DayCb(student_id=i, day=739_000 + i))
    builder.adjust(3, 3, 2)
    builder.row(*list(builder.buttons)[:2], width=1)
    return builder


def test_the_same_keyboard_as_aiogram_builds() -> None:
    ours, theirs = _fill(KeyboardBuilder()), _fill(InlineKeyboardBuilder())
    assert ours.as_markup().model_dump() == theirs.as_markup().model_dump()
    assert [len(row) for row in ours.export()] == [3, 3, 2, 2, 2, 2, 1, 1]
