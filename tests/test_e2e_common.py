"""/start, /help, /language and the fallbacks, end to end through the fake Telegram."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Account
from tests.harness import App


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
    await user.press(data="zz:forged:payload")
    assert user.callback_answers[-1].get("show_alert") is True
    await user.press(data="lng:xx")
    assert len(user.callback_answers) == 2
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
