"""The strict fake Telegram Bot API, driven by the real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from tests.fakes.html import parse_html
from tests.fakes.telegram_api import FakeTelegram, FakeUser, tiny_png

TOKEN = "123456:TEST-token"
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="parta_test_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(fake)
    yield bot
    await bot.session.close()


@pytest.fixture
def anna(fake: FakeTelegram) -> FakeUser:
    return fake.user(1001, first_name="Anna", username="anna_k")


# --------------------------------------------------------------------------- formatting


async def test_get_me_returns_the_bot_user(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "parta_test_bot")
    assert fake.calls[0].method == "getMe"


async def test_valid_html_round_trips_with_utf16_entities(
    bot: Bot, fake: FakeTelegram, anna: FakeUser
) -> None:
    html = (
        "<b>Оценки</b> 😀 <i>Anna &amp; Co</i>\n"
        '<a href="https://example.com/x?a=1&amp;b=2">link</a> <code>x&lt;y</code>'
    )
    sent = await bot.send_message(anna.id, html)
    assert sent.text == "Оценки 😀 Anna & Co\nlink x<y"
    assert sent.from_user is not None
    assert sent.from_user.username == "parta_test_bot"
    assert sent.chat.type == "private"
    assert sent.chat.first_name == "Anna"
    got = [(e.type, e.offset, e.length, e.url) for e in sent.entities or []]
    assert got == [
        ("bold", 0, 6, None),
        ("italic", 10, 9, None),  # the emoji takes two UTF-16 code units
        ("text_link", 20, 4, "https://example.com/x?a=1&b=2"),
        ("code", 25, 3, None),
    ]
    assert anna.last is not None
    assert (anna.last.text, anna.last.html) == (sent.text, html)
    assert anna.texts() == [sent.text]
    assert fake.errors == []


async def test_pre_with_language_and_spoiler(bot: Bot, anna: FakeUser) -> None:
    sent = await bot.send_message(
        anna.id,
        '<pre><code class="language-python">print(1)</code></pre>'
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>',
    )
    types = [(e.type, e.language) for e in sent.entities or []]
    assert types == [("pre", "python"), ("spoiler", None), ("spoiler", None)]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("Hello<br>world", 'Unsupported start tag "br" at byte offset 5'),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4; write it as &amp;'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("2 < 3", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold<i>both</b></i>", 'Unmatched end tag at byte offset 14, expected "</i>"'),
        ("<b>never closed", "Can't find end tag corresponding to start tag b"),
        ("Ёж</b>", "Unexpected end tag at byte offset 4"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_invalid_html_is_rejected_like_telegram(
    bot: Bot, fake: FakeTelegram, anna: FakeUser, html: str, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(anna.id, html)
    assert caught.value.message.startswith(f"Bad Request: can't parse entities: {reason}")
    assert [(e.method, e.error_code) for e in fake.errors] == [("sendMessage", 400)]
    assert anna.messages == []


def test_html_parser_matches_telegram_on_details() -> None:
    assert parse_html("<B>x</B> &#128512;&#x41;&quot;") == (
        'x 😀A"',
        [{"type": "bold", "offset": 0, "length": 1}],
    )
    text, entities = parse_html(
        '<a href="tg://user?id=5">u</a><blockquote expandable>q</blockquote>'
    )
    assert text == "uq"
    assert [e["type"] for e in entities] == ["text_mention", "expandable_blockquote"]
    assert parse_html("a & b", strict=False) == ("a & b", [])  # what Telegram itself accepts


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_text_length_is_measured_after_entity_parsing(
    bot: Bot, fake: FakeTelegram, anna: FakeUser
) -> None:
    sent = await bot.send_message(anna.id, "<b>" + "x" * 4000 + "</b><i>" + "y" * 96 + "</i>")
    assert sent.text is not None
    assert len(sent.text) == 4096
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(anna.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(anna.id, " <b> </b>\n")
    assert [e.description for e in fake.errors] == [
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
    ]


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_caption_limit(bot: Bot, anna: FakeUser) -> None:
    file = BufferedInputFile(b"data", filename="a.txt")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(anna.id, file, caption="c" * 1025)
    sent = await bot.send_document(anna.id, file, caption="<i>" + "c" * 1024 + "</i>")
    assert sent.caption == "c" * 1024


# --------------------------------------------------------------------------- keyboards


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_callback_data_is_limited_to_64_bytes(bot: Bot, anna: FakeUser) -> None:
    await bot.send_message(anna.id, "ok", reply_markup=keyboard(("Да", "д" * 32)))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(anna.id, "no", reply_markup=keyboard(("Да", "x" + "д" * 32)))


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_keyboard_rules(bot: Bot, anna: FakeUser) -> None:
    many = [(str(i), str(i)) for i in range(101)]
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(anna.id, "x", reply_markup=keyboard(*many))
    text_only = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="t")]])
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(anna.id, "x", reply_markup=text_only)
    with pytest.raises(TelegramBadRequest, match="BUTTON_TEXT_INVALID"):
        await bot.send_message(anna.id, "x", reply_markup=keyboard(("", "d")))


async def test_reply_keyboard_is_tracked(bot: Bot, anna: FakeUser) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 Share", request_contact=True)]], resize_keyboard=True
    )
    sent = await bot.send_message(anna.id, "Share your phone", reply_markup=markup)
    assert sent.reply_markup is None  # Telegram returns only inline keyboards
    assert anna.reply_keyboard is not None
    assert anna.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    await bot.send_message(anna.id, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert anna.reply_keyboard is None


# --------------------------------------------------------------------------- edits and callbacks


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_edits(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    markup = keyboard(("Yes", "yes"))
    sent = await bot.send_message(anna.id, "<b>Question</b>", reply_markup=markup)
    not_modified = (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            "<strong>Question</strong>",
            chat_id=anna.id,
            message_id=sent.message_id,
            reply_markup=markup,
        )
    assert caught.value.message == not_modified
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=anna.id, message_id=sent.message_id, reply_markup=markup
        )
    edited = await bot.edit_message_text("Answered", chat_id=anna.id, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert anna.last is not None
    assert anna.last.text == "Answered"
    assert anna.last.edits == 1
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("x", chat_id=anna.id, message_id=999)
    assert len(fake.errors) == 3


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_delete_message(bot: Bot, anna: FakeUser) -> None:
    sent = await bot.send_message(anna.id, "bye")
    assert await bot.delete_message(anna.id, sent.message_id) is True
    assert anna.messages[0].deleted
    assert anna.last is None
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(anna.id, sent.message_id)


@pytest.mark.allow_telegram_errors("api", "callbacks")  # a query answered too late
async def test_callback_query_answered_once_within_deadline(
    bot: Bot, fake: FakeTelegram, anna: FakeUser
) -> None:
    queries: list[dict[str, Any]] = []

    async def deliver(update: dict[str, Any]) -> None:
        queries.append(update["callback_query"])

    fake.deliver = deliver
    await bot.send_message(anna.id, "Pick", reply_markup=keyboard(("A", "a"), ("B", "b")))
    first = await anna.press(text="A")
    assert await bot.answer_callback_query(first["id"], text="ok") is True
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.answer_callback_query(first["id"])
    assert caught.value.message == TOO_OLD
    second = await anna.press(text="B")
    fake.advance(20)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(second["id"])
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    assert [q["data"] for q in queries] == ["a", "b"]
    assert anna.callback_answers == [{"callback_query_id": first["id"], "text": "ok"}]
    assert fake.unanswered_callbacks() == [second["id"]]


async def test_press_drives_a_dispatcher(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    router = Router()
    seen: list[str | None] = []

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        seen.append(command.args)
        await message.answer("Ready?", reply_markup=keyboard(("Да ✅", "ready:1")))

    @router.callback_query(F.data.startswith("ready:"))
    async def ready(query: CallbackQuery) -> None:
        seen.append(query.data)
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"<b>Go!</b> {query.data}")

    dp = Dispatcher()
    dp.include_router(router)
    fake.deliver = lambda update: dp.feed_raw_update(bot, update)

    sent = await anna.send("/start invite_42")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    callback = await anna.press(text="Да ✅")
    assert callback["data"] == "ready:1"
    await anna.press(anna.last, data="ready:forged")
    assert seen == ["invite_42", "ready:1", "ready:forged"]
    assert anna.texts() == ["Go! ready:forged"]
    assert [m.message_id for m in anna.history] == [1, 2]  # user and bot share the sequence
    assert len(anna.callback_answers) == 2
    with pytest.raises(AssertionError, match="no button 'Nope'"):
        await anna.press(anna.last, text="Nope")
    assert fake.errors == []


# --------------------------------------------------------------------------- chats and limits


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_unknown_and_blocked_chats(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "hi")
    fake.block(anna.id)
    with pytest.raises(TelegramForbiddenError) as caught:
        await bot.send_message(anna.id, "hi")
    assert caught.value.message == "Forbidden: bot was blocked by the user"
    fake.unblock(anna.id)
    await bot.send_message(anna.id, "hi again")
    assert [e.error_code for e in fake.errors] == [400, 403]


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_per_chat_burst_then_retry_after(
    bot: Bot, fake: FakeTelegram, anna: FakeUser
) -> None:
    for i in range(5):
        await bot.send_message(anna.id, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(anna.id, "one too many")
    assert caught.value.retry_after >= 1
    assert (
        fake.errors[-1].description == f"Too Many Requests: retry after {caught.value.retry_after}"
    )
    assert fake.errors[-1].error_code == 429
    other = fake.user(1002, first_name="Boris")
    await bot.send_message(other.id, "another chat is fine")
    await bot.edit_message_text("edits are not sends", chat_id=anna.id, message_id=1)
    fake.advance(caught.value.retry_after)
    await bot.send_message(anna.id, "after waiting")
    assert len(anna.messages) == 6


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_global_rate_across_chats() -> None:
    async with FakeTelegram(token=TOKEN, frozen_clock=True) as fake:
        bot = make_bot(fake)
        try:
            users = [fake.user(2000 + i) for i in range(31)]
            for user in users[:30]:
                await bot.send_message(user.id, "news")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(users[30].id, "news")
            assert caught.value.retry_after == 1
            fake.advance(1)
            await bot.send_message(users[30].id, "news")
        finally:
            await bot.session.close()


async def test_rate_limits_can_be_disabled() -> None:
    async with FakeTelegram(token=TOKEN, rate_limits=False) as fake:
        bot = make_bot(fake)
        try:
            user = fake.user(1)
            for _ in range(40):
                await bot.send_message(user.id, "spam")
            assert fake.errors == []
        finally:
            await bot.session.close()


async def test_fail_next_injects_one_failure(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramServerError):
        await bot.send_message(anna.id, "a")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(anna.id, "b")
    assert caught.value.retry_after == 7
    await bot.send_message(anna.id, "c")
    assert fake.errors == []
    assert [(e.error_code, e.params["text"]) for e in fake.injected] == [(500, "a"), (429, "b")]
    assert anna.texts() == ["c"]
    assert [p["text"] for p in fake.calls_to("sendMessage")] == ["a", "b", "c"]


# --------------------------------------------------------------------------- files


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_document_upload_get_file_and_download(
    bot: Bot, fake: FakeTelegram, anna: FakeUser
) -> None:
    content = bytes(range(256)) * 100
    sent = await bot.send_document(
        anna.id, BufferedInputFile(content, filename="report.pdf"), caption="<b>Отчёт</b>"
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("report.pdf", len(content))
    assert sent.document.mime_type == "application/pdf"
    assert sent.caption == "Отчёт"
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download(sent.document)
    assert isinstance(downloaded, io.BytesIO)
    assert downloaded.getvalue() == content
    again = await bot.send_document(anna.id, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == sent.document.file_unique_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_document(anna.id, "no-such-file-id")
    call = fake.calls_to("sendDocument")[0]
    assert call["document"].filename == "report.pdf"
    assert call["document"].content == content


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_photos(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    sent = await bot.send_photo(anna.id, BufferedInputFile(tiny_png(400, 300), "p.png"))
    assert sent.photo is not None
    assert [(p.width, p.height) for p in sent.photo] == [(90, 68), (320, 240), (400, 300)]
    downloaded = await bot.download(sent.photo[-1])
    assert downloaded is not None
    assert downloaded.getvalue() == tiny_png(400, 300)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(anna.id, BufferedInputFile(b"not an image", "x.jpg"))
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_document(anna.id, sent.photo[-1].file_id)


async def test_user_sends_files_and_contact(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    doc = await anna.send_document("hw.txt", b"homework", caption="my homework")
    assert doc["document"]["mime_type"] == "text/plain"
    file = await bot.get_file(doc["document"]["file_id"])
    assert file.file_size == len(b"homework")
    photo = await anna.send_photo(tiny_png(10, 10))
    assert photo["photo"][-1]["width"] == 10
    contact = await anna.send_contact("+79001234567")
    assert contact["contact"]["user_id"] == anna.id
    foreign = await anna.send_contact("+79000000000", user_id=None, first_name="Mom")
    assert "user_id" not in foreign["contact"]
    ids = [u["update_id"] for u in fake.pending_updates]
    assert ids == list(range(ids[0], ids[0] + 4))


# --------------------------------------------------------------------------- commands and menu


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_my_commands_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    teacher = fake.user(3001, first_name="Irina")
    ru = [
        BotCommand(command="start", description="Начать"),
        BotCommand(command="help", description="Помощь"),
    ]
    teacher_en = [BotCommand(command="journal", description="Class journal")]
    assert await bot.set_my_commands(ru, scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    chat_scope = BotCommandScopeChat(chat_id=teacher.id)
    await bot.set_my_commands(teacher_en, scope=chat_scope, language_code="en")
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [(c.command, c.description) for c in got] == [("start", "Начать"), ("help", "Помощь")]
    assert await bot.get_my_commands() == []
    assert fake.commands({"type": "chat", "chat_id": teacher.id}, "en") == [
        {"command": "journal", "description": "Class journal"}
    ]
    await bot.delete_my_commands(scope=chat_scope, language_code="en")
    assert fake.commands({"type": "chat", "chat_id": teacher.id}, "en") == []
    bad = {
        "Start": "Bad Request: BOT_COMMAND_INVALID",
        "x" * 33: "Bad Request: command length must not exceed 32",
    }
    for name, description in bad.items():
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.set_my_commands([BotCommand(command=name, description="d")])
        assert caught.value.message == description
    with pytest.raises(TelegramBadRequest, match="command description must be non-empty"):
        await bot.set_my_commands([BotCommand(command="ok", description="  ")])
    with pytest.raises(TelegramBadRequest, match="command description length must not exceed"):
        await bot.set_my_commands([BotCommand(command="ok", description="d" * 257)])


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_menu_button_and_chat_action(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    from aiogram.types import MenuButtonCommands

    assert await bot.set_chat_menu_button(chat_id=anna.id, menu_button=MenuButtonCommands())
    assert fake.menu_buttons[anna.id] == {"type": "commands"}
    assert await bot.send_chat_action(anna.id, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(anna.id, "dancing")


# --------------------------------------------------------------------------- updates


async def test_get_updates_long_polling_and_offset(bot: Bot, fake: FakeTelegram) -> None:
    anna = fake.user(1001)
    await anna.send("one")
    await anna.send("two")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["one", "two"]
    assert updates[1].update_id == updates[0].update_id + 1
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in updates]  # not confirmed yet
    last = updates[-1].update_id
    assert await bot.get_updates(offset=last + 1, timeout=0) == []
    assert fake.pending_updates == []

    poll = asyncio.create_task(bot.get_updates(offset=last + 1, timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await anna.send("three")
    fresh = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in fresh if u.message] == ["three"]
    assert fresh[0].update_id == last + 1

    await anna.send("four")
    await anna.send("five")
    limited = await bot.get_updates(offset=last + 2, limit=1, timeout=0)
    assert [u.message.text for u in limited if u.message] == ["four"]


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_webhook_blocks_get_updates(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook"
    assert fake.webhook["secret_token"] == "s3cret"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []


async def test_dispatcher_polling(bot: Bot, fake: FakeTelegram) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(f"<i>{message.text}</i>")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        anna = fake.user(1001)
        await anna.send("hello")
        await anna.send("world")
        await fake.wait_for(lambda: len(anna.messages) == 2)
        await fake.wait_idle()
        assert sorted(anna.texts()) == ["hello", "world"]
    finally:
        await dp.stop_polling()
        await polling
    assert fake.errors == []


# --------------------------------------------------------------------------- raw protocol


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_raw_protocol_envelopes(fake: FakeTelegram) -> None:
    user = fake.user(1001)
    async with aiohttp.ClientSession() as http:
        url = f"{fake.base_url}/bot{TOKEN}"
        async with http.post(f"{url}/sendMessage", json={"chat_id": user.id, "text": "hi"}) as r:
            body = await r.json()
        assert r.status == 200
        assert body["ok"] is True
        assert body["result"]["text"] == "hi"
        async with http.post(f"{url}/noSuchMethod") as r:
            assert (r.status, await r.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found"},
            )
        async with http.get(f"{fake.base_url}/bot1:wrong/getMe") as r:
            assert r.status == 401
            assert (await r.json())["description"] == "Unauthorized"
        async with http.get(f"{url}/sendMessage", params={"chat_id": "1001", "text": "q"}) as r:
            assert (await r.json())["result"]["chat"]["id"] == 1001


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_wrong_token_raises_unauthorized(fake: FakeTelegram) -> None:
    bot = make_bot(fake, token="999:nope")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_caption_edit_copy_and_misc(bot: Bot, fake: FakeTelegram, anna: FakeUser) -> None:
    doc = await bot.send_document(anna.id, BufferedInputFile(b"x", "a.txt"), caption="old")
    edited = await bot.edit_message_caption(
        chat_id=anna.id, message_id=doc.message_id, caption="<b>new</b>"
    )
    assert isinstance(edited, Message)
    assert edited.caption == "new"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("t", chat_id=anna.id, message_id=doc.message_id)
    copy = await bot.copy_message(anna.id, from_chat_id=anna.id, message_id=doc.message_id)
    assert anna.messages[-1].message_id == copy.message_id
    assert anna.messages[-1].caption == "new"
    by_username = await bot.send_message("@anna_k", "by username")
    assert by_username.chat.id == anna.id
    plain = await bot.send_message(anna.id, "<b>not markup</b> /help", parse_mode=None)
    assert plain.text == "<b>not markup</b> /help"
    assert [(e.type, e.offset) for e in plain.entities or []] == [("bot_command", 18)]
    fake.advance(5)  # six sends in a row would hit the per-chat burst limit
    mention = await bot.send_message(anna.id, f'<a href="tg://user?id={anna.id}">Anna</a>')
    assert mention.entities is not None
    assert mention.entities[0].type == "text_mention"
    assert mention.entities[0].user is not None
    assert mention.entities[0].user.id == anna.id
    reply = await bot.send_message(anna.id, "re", reply_to_message_id=by_username.message_id)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "by username"
    assert fake.errors[0].method == "editMessageText"
    fake.reset_records()
    assert (fake.calls, fake.errors, fake.injected) == ([], [], [])


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_get_file_refuses_files_over_20_mb(bot: Bot, fake: FakeTelegram) -> None:
    big = fake.store_file("document", b"\0" * (20 * 1024 * 1024 + 1), "big.bin")
    with pytest.raises(TelegramBadRequest, match="Bad Request: file is too big"):
        await bot.get_file(big.file_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: invalid file_id"):
        await bot.get_file("nope")


@pytest.mark.allow_telegram_errors("api")  # the fake's error answers under test
async def test_second_poller_terminates_the_first(bot: Bot, fake: FakeTelegram) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    assert [e.error_code for e in fake.errors] == [409]
