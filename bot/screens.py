"""A screen — a message's text and its inline keyboard — and the one way to show it."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.telegram import show_for


@dataclass(frozen=True)
class Screen:
    """What one message shows: Telegram HTML (rendered from a template) and its buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


async def show_screen(
    event: CallbackQuery | Message, bot: Bot, screen: Screen, *, anew: bool = False
) -> None:
    """Show `screen` in answer to `event`.

    A button press edits the pressed message in place (`bot.telegram.show_for`: a new message
    when it can't be edited, nothing when it already shows this); a message is answered with a
    new one. `anew` sends a new message for a press too (the screen goes below the files just
    re-sent with it).
    """
    if isinstance(event, CallbackQuery) and not anew:
        await show_for(event, bot, screen.text, screen.keyboard)
    elif isinstance(event, CallbackQuery):
        await bot.send_message(event.from_user.id, screen.text, reply_markup=screen.keyboard)
    else:
        await event.answer(screen.text, reply_markup=screen.keyboard)
