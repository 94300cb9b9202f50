"""Black-box crawl of the demo school, as Telegram and real users would exercise the bot: every
demo account sends every command of its menu, presses every button it can reach, sends junk
and files, and replays other roles' buttons. Any API error, unanswered button or apology
(an unhandled exception) fails the test."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.demo import seed_demo
from tests.fakes.telegram_api import FakeUser
from tests.harness import App

MAX_PRESSES = 120
APOLOGY = ("something went wrong", "что-то пошло не так")


@pytest.fixture
async def demo_accounts(
    session_factory: async_sessionmaker[AsyncSession],
) -> list[dict[str, Any]]:
    result = await seed_demo(session_factory, weeks=2)
    return [account.as_json() for account in result.accounts]


def _buttons(user: FakeUser) -> list[tuple[int, str]]:
    found = []
    for message in user.messages:
        if message.deleted or not message.reply_markup:
            continue
        for row in message.reply_markup.get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    found.append((message.message_id, button["callback_data"]))
    return found


def _assert_no_apology(user: FakeUser) -> None:
    for text in user.texts():
        assert not any(a in text for a in APOLOGY), text


async def _crawl(app: App, user: FakeUser) -> set[str]:
    """Press every reachable button once (breadth first); returns the callback data seen."""
    seen: set[tuple[int, str]] = set()
    queue: deque[tuple[int, str]] = deque(_buttons(user))
    presses = 0
    while queue and presses < MAX_PRESSES:
        message_id, data = queue.popleft()
        if (message_id, data) in seen:
            continue
        seen.add((message_id, data))
        message = user.message(message_id)
        if message is None or message.deleted:
            continue
        await user.press(message, data=data)
        presses += 1
        for item in _buttons(user):
            if item not in seen:
                queue.append(item)
    return {data for _, data in seen}


#: the crawl is the suite's slowest test: each backend crawls in one of the two languages
#: (every template renders in both languages in tests/test_texts.py)
LANGUAGE_OF_BACKEND = {"sqlite": "ru", "postgresql": "en"}


async def test_every_demo_account_survives_a_crawl(
    app: App, demo_accounts: list[dict[str, Any]], db_url: str
) -> None:
    language = LANGUAGE_OF_BACKEND["sqlite" if db_url.startswith("sqlite") else "postgresql"]
    all_data: dict[int, set[str]] = {}
    users = {}
    for account in demo_accounts:
        user = app.user(account["telegram_id"], language_code=language)
        users[account["telegram_id"]] = user
        await user.send("/start")
        assert user.messages, account
        commands = {c["command"] for c in app.fake.commands({"type": "all_private_chats"}, "")}
        chat_scope = {"type": "chat", "chat_id": account["telegram_id"]}
        commands |= {c["command"] for c in app.fake.commands(chat_scope, "")}
        for command in sorted(commands):
            await user.send(f"/{command}")
            app.fake.advance(1)
        all_data[account["telegram_id"]] = await _crawl(app, user)
        # junk, files, a contact nobody asked for
        await user.send("<b>junk</b> & 😀 " + "ж" * 500)
        await user.send("/nonexistent_command")
        await user.send_document("homework.txt", b"hello", caption="<i>caption</i>")
        await user.send_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
        await user.send_contact("+79990000000", user_id=user.id + 1)
        _assert_no_apology(user)
        assert app.fake.unanswered_callbacks() == []
        assert app.fake.errors == [], app.fake.errors[:3]

    # every account replays every other account's buttons (forged callback data)
    for telegram_id, user in users.items():
        await user.send("/language")
        target = user.last
        foreign = set().union(*(d for t, d in all_data.items() if t != telegram_id))
        for data in sorted(foreign)[:60]:
            await user.press(target, data=data)
            app.fake.advance(1)
        _assert_no_apology(user)
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == [], app.fake.errors[:3]
