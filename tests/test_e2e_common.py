"""/start, /help, /language and the fallbacks, end to end through the fake Telegram."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db.models import Account
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot


async def test_unknown_user_gets_welcome_in_russian_by_default(app: App) -> None:
    user = app.user(111, language_code="de")
    await user.send("/start")
    assert "Парта" in user.last.text
    assert app.fake.errors == []
    async with app.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0


async def test_unknown_user_with_english_telegram_gets_english(app: App) -> None:
    user = app.user(112, language_code="en")
    await user.send("/start")
    assert "electronic diary" in user.last.text
    await user.send("/help")
    assert "not linked to the school yet" in user.last.text
    assert app.fake.errors == []


async def test_language_choice_is_remembered_for_unknown_user(app: App) -> None:
    user = app.user(113, language_code="ru")
    await user.send("/language")
    await user.press(text="🇬🇧 English")
    assert user.last.text.startswith("Done")
    assert user.callback_answers, "the button press must be answered"
    await user.send("/start")
    assert "electronic diary" in user.last.text
    assert app.fake.errors == []


async def test_junk_text_and_forged_button_get_an_answer(app: App) -> None:
    user = app.user(114, language_code="en")
    await user.send("/start")
    await user.send("hello there")
    assert "did not recognise" in user.last.text
    await user.send("/language")
    before = await db_snapshot(app.session_factory)
    await user.press(data="zz:forged:payload")
    assert user.callback_answers[-1].get("show_alert") is True
    await user.press(data="lng:xx")
    assert len(user.callback_answers) == 2
    await assert_unchanged(app.session_factory, before)
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []


async def test_default_menus_registered_per_language(app: App) -> None:
    scope = {"type": "all_private_chats"}
    ru = app.fake.commands(scope, "ru")
    en = app.fake.commands(scope, "en")
    default = app.fake.commands(scope, "")
    assert [c["command"] for c in en] == ["start", "help", "language"]
    assert en[0]["description"] == "Main screen"
    assert ru[0]["description"] == "Главный экран"
    assert default == ru


@pytest.mark.allow_telegram_errors("log")  # the crash is logged, on purpose
async def test_a_crashing_handler_apologizes_and_changes_nothing(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.core.actors

    async def broken(*_args: object, **_kwargs: object) -> None:
        async with app.session_factory() as session:  # a write that must not survive
            session.add(Account(telegram_id=999, full_name="ghost"))
            await session.flush()
        raise RuntimeError("boom")

    user = app.user(115, language_code="en")
    await user.send("/language")
    monkeypatch.setattr(services.core.actors, "set_locale", broken)
    monkeypatch.setattr("handlers.common.set_locale", broken)
    await user.press(text="🇬🇧 English")
    assert "something went wrong" in user.last.text
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []
    async with app.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0


async def test_storage_follows_configuration() -> None:
    from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    from bot.config import Settings
    from bot.factory import create_storage

    storage, isolation = create_storage(Settings(_env_file=None, redis_url=None))  # type: ignore[call-arg]
    assert isinstance(storage, MemoryStorage)
    assert isinstance(isolation, SimpleEventIsolation)
    settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/5")  # type: ignore[call-arg]
    storage, isolation = create_storage(settings)
    assert isinstance(storage, RedisStorage)
    assert isinstance(isolation, RedisEventIsolation)
    await storage.close()


async def test_long_text_is_split_into_valid_messages(app: App) -> None:
    from bot.telegram import send_long

    user = app.user(116, language_code="en")
    await user.send("/start")
    html = "\n".join(f"<b>Строка {i}</b> &amp; " + "текст " * 20 for i in range(80))
    sent = await send_long(app.bot, user.id, html)
    assert len(sent) > 1
    assert all(len(m.text or "") <= 4096 for m in sent)
    assert app.fake.errors == []


def test_chat_pacer_allows_a_burst_then_one_per_second() -> None:
    from bot.telegram import ChatPacer

    pacer = ChatPacer(rate=1.0, burst=3)
    waits = [pacer.delay(7, 100.0) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0)
    assert waits[4] == pytest.approx(2.0)
    assert pacer.delay(8, 100.0) == 0.0  # another chat is independent
    assert pacer.delay(7, 110.0) == 0.0  # tokens refill with time


@pytest.mark.undated
async def test_a_button_tapped_twice_at_once_edits_the_screen_once(app: App) -> None:
    """A double tap: both presses carry the message as it was before either was handled, so
    the second must not edit it again to the same screen (400 "message is not modified")."""
    user = app.user(115, language_code="en")
    await user.send("/start")
    await user.send("/language")
    screen = user.last
    data = screen.buttons[0]["callback_data"]
    await asyncio.gather(user.press(screen, data=data), user.press(screen, data=data))
    assert screen.edits == 1
    assert len(user.callback_answers) == 2
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []


#: what a client can send besides text, documents, photos and contacts (the crawl's share)
OTHER_CONTENT: dict[str, dict[str, object]] = {
    "sticker": {
        "file_id": "CAACAgIAAxkBAAIstk",
        "file_unique_id": "AgADstk",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    },
    "voice": {"file_id": "AwACAgIAAxkBAAIvoi", "file_unique_id": "AgADvoi", "duration": 2},
    "video_note": {
        "file_id": "DQACAgIAAxkBAAIvn",
        "file_unique_id": "AgADvn",
        "length": 240,
        "duration": 2,
    },
    "location": {"latitude": 55.75, "longitude": 37.61},
}


@pytest.mark.undated
async def test_every_kind_of_junk_from_a_stranger_gets_one_clean_answer(app: App) -> None:
    user = app.user(116, language_code="en")
    junk = [
        "ж" * 5000,
        "<b>&amp;<",
        "😀👍🏽🇷🇺",
        "\u200b",
        "/today foo",
        "/start garbage",
        "/start " + "A" * 65,
        "/start <b>",
        "/start@parta_test_bot",
        "/start@other_bot",
        "/START",
    ]
    for text in junk:
        before = len(user.messages)
        await user.send(text)
        assert len(user.messages) == before + 1, text
    for kind, content in OTHER_CONTENT.items():
        before = len(user.messages)
        message = app.fake.message_dict(user.add_message(False))
        await app.fake.emit({"message": {**message, kind: content}})
        assert len(user.messages) == before + 1, kind
    for text in user.texts():
        assert "went wrong" not in text
    assert app.fake.errors == []
