"""The bot's HTTP session: what it keeps of a Bot API answer, and the dates it formats."""

from __future__ import annotations

import json
from datetime import date, time

from aiogram import Bot
from aiogram.methods import EditMessageText, GetUpdates, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.dates import format_clock, format_day
from bot.telegram import KeptResponseSession, ShownEdits, _markup_dump

KEYBOARD = {"inline_keyboard": [[{"text": "Tomorrow", "callback_data": "d:day:1"}]]}


def _message(**extra: object) -> dict[str, object]:
    return {
        "message_id": 42,
        "date": 1_764_000_000,
        "chat": {"id": 7, "type": "private", "first_name": "Anna"},
        "text": "Today",
        "entities": [{"type": "bold", "offset": 0, "length": 5}],
        "reply_markup": KEYBOARD,
        **extra,
    }


async def test_a_sent_message_is_parsed_without_the_echo_of_its_own_keyboard() -> None:
    session = KeptResponseSession()
    bot = Bot("123456:TEST-token", session=session)
    try:
        method = SendMessage(
            chat_id=7,
            text="<b>Today</b>",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="Tomorrow", callback_data="d:day:1")]]
            ),
        )
        content = json.dumps({"ok": True, "result": _message()})
        sent = session.check_response(bot, method, 200, content).result
        assert isinstance(sent, Message)
        assert (sent.message_id, sent.chat.id, sent.text) == (42, 7, "Today")
        assert sent.reply_markup is None
        assert sent.entities is None
        edited = session.check_response(
            bot, EditMessageText(chat_id=7, message_id=42, text="x"), 200, content
        ).result
        assert isinstance(edited, Message)
        assert edited.reply_markup is None
        done = '{"ok": true, "result": true}'
        edit = EditMessageText(chat_id=7, message_id=42, text="x")
        assert session.check_response(bot, edit, 200, done).result is True
    finally:
        await session.close()


async def test_updates_keep_the_keyboards_of_the_messages_pressed() -> None:
    """getUpdates answers with a list, and a webhook's body is an update: neither is trimmed
    (a press is checked against the keyboard of the pressed message)."""
    session = KeptResponseSession()
    bot = Bot("123456:TEST-token", session=session)
    try:
        pressed = {
            "update_id": 1,
            "callback_query": {
                "id": "q1",
                "from": {"id": 7, "is_bot": False, "first_name": "Anna"},
                "chat_instance": "c",
                "data": "d:day:1",
                "message": _message(),
            },
        }
        content = json.dumps({"ok": True, "result": [pressed]})
        updates = session.check_response(bot, GetUpdates(), 200, content).result
        query = updates[0].callback_query
        assert query is not None
        assert isinstance(query.message, Message)
        assert query.message.reply_markup is not None
        assert query.message.reply_markup.inline_keyboard[0][0].text == "Tomorrow"
        body = session.json_loads(json.dumps(pressed))
        assert body["callback_query"]["message"]["reply_markup"] == KEYBOARD
    finally:
        await session.close()


def test_dates_are_formatted_in_the_locale_asked_for_each_time() -> None:
    """The formatted days and times are kept: the locale is part of what they are kept by."""
    day = date(2026, 12, 1)
    assert format_day(day, "EEE d", locale="en") == "Tue 1"
    assert format_day(day, "EEE d", locale="ru") == "вт 1"
    assert format_day(day, "EEE d", locale="en") == "Tue 1"
    assert format_day(day, "dd.MM", locale="en") == "01.12"
    assert format_clock(time(9, 5), locale="ru") == format_clock(time(9, 5), locale="en") == "09:05"


def _screen(text: str, edit_date: int | None, *buttons: str, message_id: int = 7) -> Message:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=b, callback_data=f"g:{b}") for b in buttons]]
    )
    return Message.model_validate(
        {
            "message_id": message_id,
            "date": 1_000,
            "chat": {"id": 42, "type": "private"},
            "text": text,
            "edit_date": edit_date,
            "reply_markup": keyboard,
        }
    )


def test_a_double_taps_second_press_is_dropped_a_deliberate_one_runs_in_the_same_second() -> None:
    """Both presses of a double tap carry the screen as it was before the first was handled;
    a deliberate second tap carries the screen the first one left, which Telegram may date in
    the very same second (edit dates are whole seconds): that one runs."""
    shown = ShownEdits()
    before = _screen("Anna", 1_010, "5", "4")
    after = _screen("Anna: 5", 1_010, "5", "4")  # the bot's edit, the same second
    assert not shown.repeated_tap(before, "g:5")
    shown.remember(after, "Anna: 5", _markup_dump(after.reply_markup))  # as `show` passes it
    assert shown.repeated_tap(before, "g:5"), "the double tap's second press"
    assert not shown.repeated_tap(after, "g:5"), "a deliberate tap on the new screen"
    # a press on a message the bot never edited is never a repeat
    untouched = _screen("Boris", None, "5", message_id=8)
    assert not shown.repeated_tap(untouched, "g:5")
    assert not shown.repeated_tap(untouched, "g:5")
