"""A strict fake Telegram Bot API server for tests.

The real aiogram ``Bot`` talks to it over HTTP (``TelegramAPIServer.from_base(fake.base_url)``).
It answers with Telegram's envelopes, shapes and error texts, and enforces Telegram's limits
(HTML subset, text and caption lengths, keyboards, callback deadlines, rate limits, files), so
what passes here passes on Telegram. Tests act as Telegram users through :class:`FakeUser`.

Usage::

    fake = FakeTelegram(token="123456:TEST-token")
    await fake.start()
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    fake.deliver = lambda update: dp.feed_raw_update(bot, update)  # default: getUpdates queue
    anna = fake.user(1001, first_name="Anna")
    await anna.send("/start")
    await anna.press(text="Yes")
    assert anna.last.text == "..." and fake.errors == []
    await fake.stop()

Only aiohttp and the standard library are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import mimetypes
import re
import secrets
import socket
import struct
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.html import HtmlParseError, detect_entities, finish_text, parse_html, utf16_len

__all__ = [
    "OWN_ID",
    "STARTED",
    "ApiCall",
    "ApiError",
    "ChatMessage",
    "FakeTelegram",
    "FakeUser",
    "StoredFile",
    "TelegramError",
    "UploadedFile",
    "tiny_png",
]

JsonDict = dict[str, Any]
Deliver = Callable[[JsonDict], Awaitable[Any]]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_CALLBACK_ANSWER = 200
MAX_COMMANDS = 100
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024
DELETE_WINDOW = 48 * 3600
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
LANGUAGE_RE = re.compile(r"[a-z]{2}")

INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "user_id",
        "message_thread_id",
        "reply_to_message_id",
        "max_connections",
    }
)
CHAT_PARAMS = frozenset({"chat_id", "from_chat_id"})
BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "menu_button",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "media",
        "message_ids",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
SCOPES_WITH_CHAT = frozenset({"chat", "chat_administrators", "chat_member"})
SCOPES = frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators"})
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage"})

STARTED: list[FakeTelegram] = []
"""Every fake started in this process, newest last (the test suite's checks after each test
look at the ones a test started, then clear the list)."""


# --------------------------------------------------------------------------- records and errors


class TelegramError(Exception):
    """An error answer of the Bot API: HTTP status = error_code, Telegram's description."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> JsonDict:
        body: JsonDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {reason}")


@dataclass
class ApiCall:
    """One request the bot made: canonical method name, decoded parameters, and when it
    arrived by the fake clock."""

    method: str
    params: JsonDict
    at: float = 0.0


@dataclass
class ApiError:
    """One error answer the fake gave."""

    method: str
    error_code: int
    description: str
    params: JsonDict


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class StoredFile:
    """A file known to the fake, addressable by file_id and by file_path."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    content: bytes = field(repr=False)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    sizes: list[JsonDict] = field(default_factory=list)  # a photo's PhotoSize list

    @property
    def size(self) -> int:
        return len(self.content)

    def as_document(self) -> JsonDict:
        doc: JsonDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name is not None:
            doc["file_name"] = self.file_name
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.size
        return doc

    def as_photo_size(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class ChatMessage:
    """A message of a private chat in its current (edited) state.

    ``text``/``caption`` are plain; ``html``/``caption_html`` are what the bot sent.
    ``reply_markup`` is the markup as sent (an inline keyboard is replaced by edits).
    """

    message_id: int
    chat_id: int
    date: int
    from_bot: bool
    sender: JsonDict
    text: str | None = None
    html: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    document: JsonDict | None = None
    photo: list[JsonDict] | None = None
    contact: JsonDict | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def inline_keyboard(self) -> list[list[JsonDict]]:
        if self.reply_markup is None:
            return []
        return list(self.reply_markup.get("inline_keyboard", []))

    @property
    def buttons(self) -> list[JsonDict]:
        """All inline buttons, row by row."""
        return [button for row in self.inline_keyboard for button in row]

    def button_texts(self) -> list[str]:
        return [str(button.get("text")) for button in self.buttons]

    def find_button(self, text: str) -> JsonDict | None:
        return next((b for b in self.buttons if b.get("text") == text), None)

    @property
    def content(self) -> str:
        """The visible text: text, or caption, or ''."""
        if self.text is not None:
            return self.text
        return self.caption or ""


class _OwnId:
    def __repr__(self) -> str:
        return "OWN_ID"


OWN_ID = _OwnId()
"""Default of ``FakeUser.send_contact(user_id=...)``: the contact is the sender's own."""


@dataclass
class _CallbackQuery:
    query_id: str
    user: FakeUser
    created: float
    answered: bool = False


class TokenBucket:
    """A token bucket on the fake clock."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


# --------------------------------------------------------------------------- images


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image, or None if it is not one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return int(width) & 0x3FFF, int(height) & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def tiny_png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid PNG of one colour (for photo tests)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _photo_dimensions(width: int, height: int) -> list[tuple[int, int]]:
    """The PhotoSize dimensions Telegram would make: thumbnails, then the (capped) original."""
    longest = max(width, height)
    sides = [side for side in (90, 320, 800) if side < longest] + [min(longest, 1280)]
    return [
        (max(1, round(width * side / longest)), max(1, round(height * side / longest)))
        for side in sides
    ]


# --------------------------------------------------------------------------- users


class FakeUser:
    """A Telegram user in a private chat with the bot; the test drives it."""

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        think_time: float,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.think_time = think_time
        self.blocked = False
        self.history: list[ChatMessage] = []
        self.callback_answers: list[JsonDict] = []
        self._next_message_id = 1

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    # ---- shapes

    def as_user(self) -> JsonDict:
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # ---- what the user sees

    @property
    def messages(self) -> list[ChatMessage]:
        """Bot messages of this chat in their current state, deleted ones flagged."""
        return [m for m in self.history if m.from_bot]

    @property
    def sent(self) -> list[ChatMessage]:
        """Messages this user sent."""
        return [m for m in self.history if not m.from_bot]

    @property
    def last(self) -> ChatMessage | None:
        """The last bot message that is not deleted."""
        return next((m for m in reversed(self.messages) if not m.deleted), None)

    def sent_files(self) -> list[tuple[str, bytes]]:
        """(file name, content) of the documents the bot sent to this user, in order."""
        out = []
        for message in self.messages:
            if message.document is not None:
                stored = self.fake.files[message.document["file_id"]]
                out.append((str(stored.file_name), stored.content))
        return out

    def texts(self, include_deleted: bool = False) -> list[str]:
        """Plain texts (or captions) of the bot messages."""
        return [m.content for m in self.messages if include_deleted or not m.deleted]

    @property
    def reply_keyboard(self) -> JsonDict | None:
        """The reply keyboard currently shown (last ReplyKeyboardMarkup not removed since)."""
        current: JsonDict | None = None
        for message in self.messages:
            markup = message.reply_markup or {}
            if "keyboard" in markup:
                current = markup
            elif markup.get("remove_keyboard"):
                current = None
        return current

    def message(self, message_id: int) -> ChatMessage | None:
        return next((m for m in self.history if m.message_id == message_id), None)

    # ---- actions

    def add_message(
        self, from_bot: bool, sender: JsonDict | None = None, **fields: Any
    ) -> ChatMessage:
        """Append a message to this chat (``sender``: who wrote it, default the chat's user)."""
        if sender is None:
            sender = self.fake.bot_user() if from_bot else self.as_user()
        message = ChatMessage(
            message_id=self._next_message_id,
            chat_id=self.id,
            date=self.fake.unix_time(),
            from_bot=from_bot,
            sender=sender,
            **fields,
        )
        self._next_message_id += 1
        self.history.append(message)
        return message

    async def _send_update(self, chat: FakeGroup | None = None, **fields: Any) -> JsonDict:
        self.fake.advance(self.think_time)
        if chat is None:
            self.blocked = False  # writing to a bot unblocks it, as the Telegram client does
        message = (chat or self).add_message(False, sender=self.as_user(), **fields)
        update = await self.fake.emit({"message": self.fake.message_dict(message)})
        return dict(update["message"])

    async def send(self, text: str, chat: FakeGroup | None = None) -> JsonDict:
        """Send a text message (``/command payload`` gets a bot_command entity); in the private
        chat, or in ``chat``, a group this user is a member of."""
        return await self._send_update(chat, text=text, entities=detect_entities(text, []))

    async def send_contact(
        self,
        phone_number: str,
        user_id: int | _OwnId | None = OWN_ID,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> JsonDict:
        """Share a contact; by default the user's own (``contact.user_id == from.id``)."""
        contact: JsonDict = {
            "phone_number": phone_number,
            "first_name": first_name or self.first_name,
        }
        if last_name or (first_name is None and self.last_name):
            contact["last_name"] = last_name or self.last_name
        owner = self.id if isinstance(user_id, _OwnId) else user_id
        if owner is not None:
            contact["user_id"] = owner
        return await self._send_update(None, contact=contact)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> JsonDict:
        """Send a file as a document."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.fake.store_file("document", content, file_name=filename, mime_type=mime)
        return await self._send_update(
            None,
            document=stored.as_document(),
            caption=caption,
            caption_entities=detect_entities(caption, []) if caption else [],
        )

    async def send_photo(self, content: bytes, caption: str | None = None) -> JsonDict:
        """Send a photo (non-images get 800x600 dimensions)."""
        width, height = image_size(content) or (800, 600)
        sizes = self.fake.store_photo(content, width, height)
        return await self._send_update(
            None,
            photo=sizes,
            caption=caption,
            caption_entities=detect_entities(caption, []) if caption else [],
        )

    def _press_target(self, message: ChatMessage | Mapping[str, Any] | int | None) -> ChatMessage:
        if message is None:
            target = next(
                (m for m in reversed(self.messages) if not m.deleted and m.inline_keyboard), None
            )
            if target is None:
                raise AssertionError(f"{self}: no bot message with an inline keyboard to press")
            return target
        if isinstance(message, ChatMessage):
            message_id = message.message_id
        elif isinstance(message, int):
            message_id = message
        else:
            message_id = int(message["message_id"])
        found = self.message(message_id)
        if found is None or not found.from_bot:
            raise AssertionError(f"{self}: no bot message {message_id} in this chat")
        if found.deleted:
            raise AssertionError(f"{self}: message {message_id} was deleted; it cannot be pressed")
        return found

    async def press(
        self,
        message: ChatMessage | Mapping[str, Any] | int | None = None,
        text: str | None = None,
        data: str | None = None,
        chat: FakeGroup | None = None,
    ) -> JsonDict:
        """Press an inline button (by visible ``text``) or send forged callback ``data``.

        The message defaults to the last bot message with an inline keyboard (of the private
        chat, or of ``chat``, a group). Returns the callback_query sent to the bot.
        """
        target = (chat or self)._press_target(message)
        if text is None and data is None:
            raise AssertionError("press() needs text= (a button label) or data= (callback_data)")
        payload = data
        if text is not None:
            button = target.find_button(text)
            if button is None:
                raise AssertionError(
                    f"{self}: no button {text!r} in message {target.message_id}; "
                    f"buttons: {target.button_texts()}"
                )
            if "callback_data" not in button:
                raise AssertionError(f"{self}: button {text!r} has no callback_data: {button}")
            if payload is None:
                payload = str(button["callback_data"])
        self.fake.advance(self.think_time)
        if chat is None:
            self.blocked = False
        query = self.fake.new_callback_query(self)
        callback: JsonDict = {
            "id": query.query_id,
            "from": self.as_user(),
            "message": self.fake.message_dict(target),
            "chat_instance": str(-(7_000_000_000_000_000 + self.id)),
            "data": payload,
        }
        update = await self.fake.emit({"callback_query": callback})
        return dict(update["callback_query"])


class FakeGroup(FakeUser):
    """A group chat the bot is a member of; users write and press buttons in it with
    ``user.send(text, chat=group)`` and ``user.press(..., chat=group)``."""

    def __init__(self, fake: FakeTelegram, chat_id: int, title: str) -> None:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        super().__init__(fake, chat_id, title, None, None, None, fake.think_time)
        self.title = title

    def __repr__(self) -> str:
        return f"FakeGroup({self.id}, {self.title!r})"

    def as_chat(self) -> JsonDict:
        kind = "supergroup" if self.id <= -1_000_000_000_000 else "group"
        return {"id": self.id, "type": kind, "title": self.title}


# --------------------------------------------------------------------------- the server


class FakeTelegram:
    """The fake Bot API server. ``await start()``, point aiogram at ``base_url``, ``stop()``."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "parta_test_bot",
        *,
        bot_first_name: str = "Parta Test",
        rate_limits: bool = True,
        chat_burst: int = 5,
        chat_rate: float = 1.0,
        global_rate: int = 30,
        callback_deadline: float = 15.0,
        think_time: float = 1.0,
        strict_html: bool = True,
        frozen_clock: bool = False,
        first_update_id: int = 500_000_001,
    ) -> None:
        """``frozen_clock``: the clock moves only by ``advance()``, not with real time."""
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rate_limits = rate_limits
        self.chat_burst = chat_burst
        self.chat_rate = chat_rate
        self.global_rate = global_rate
        self.callback_deadline = callback_deadline
        self.think_time = think_time
        self.strict_html = strict_html
        self.frozen_clock = frozen_clock

        self.calls: list[ApiCall] = []
        self.errors: list[ApiError] = []
        self.error_log: list[ApiError] = []  # every error answered; reset_records keeps it
        self.injected: list[ApiError] = []
        self.deliver: Deliver = self.enqueue
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        self.files: dict[str, StoredFile] = {}
        # getFile's limit (Telegram: 20 MB; raise it to play a local Bot API server)
        self.download_limit = MAX_DOWNLOAD
        # seconds every method but getUpdates takes to answer (work in flight at a shutdown)
        self.latency = 0.0
        self.commands_by_scope: dict[tuple[str, str], list[JsonDict]] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.webhook: JsonDict = {}

        self._offset = 0.0
        self._frozen_at = time.monotonic()
        self._wall_at = time.time()
        self._global_bucket = TokenBucket(global_rate, global_rate, self.now())
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._failures: dict[str, deque[TelegramError]] = {}
        self._broken: dict[str, int] = {}
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._ids = itertools.count(1)
        self._next_update_id = first_update_id
        self._queue: list[JsonDict] = []
        self._fetched: set[int] = set()
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, tuple[str, Callable[[JsonDict], Awaitable[Any]]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "editMessageCaption": self._edit_message_caption,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "copyMessage": self._copy_message,
            }.items()
        }

    # ---- lifecycle

    async def start(self) -> None:
        STARTED.append(self)
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/loop/{path:.+}", self._handle_loop)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    # ---- clock

    def now(self) -> float:
        """The fake clock (seconds, monotonic)."""
        base = self._frozen_at if self.frozen_clock else time.monotonic()
        return base + self._offset

    def unix_time(self) -> int:
        return int(self._wall_at + (self.now() - self._frozen_at))

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    # ---- test hooks

    def user(
        self,
        user_id: int,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> FakeUser:
        """The user with this id (created, with its private chat, on first use)."""
        if user_id not in self.users:
            self.users[user_id] = FakeUser(
                self, user_id, first_name, last_name, username, language_code, self.think_time
            )
        return self.users[user_id]

    def group(self, chat_id: int = -1_001_234_567_890, title: str = "7B parents") -> FakeGroup:
        """The group chat with this (negative) id, the bot a member (created on first use)."""
        if chat_id not in self.groups:
            self.groups[chat_id] = FakeGroup(self, chat_id, title)
        return self.groups[chat_id]

    def _known(self, user_id: int) -> FakeUser:
        if user_id not in self.users:
            raise KeyError(f"no fake user {user_id}; create it with fake.user({user_id})")
        return self.users[user_id]

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to it fail with 403 until unblocked or it writes."""
        self._known(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self._known(user_id).blocked = False

    def fail_next(
        self, method: str, error_code: int, description: str, retry_after: int | None = None
    ) -> None:
        """Make the next call of ``method`` fail with this answer (queued per method)."""
        error = TelegramError(error_code, description, retry_after)
        self._failures.setdefault(method.lower(), deque()).append(error)

    def break_next(self, method: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail at the network level: the answer is
        a redirect loop (a misconfigured proxy), so aiohttp gives up with TooManyRedirects,
        whose text carries the request URL, token included, and aiogram raises
        TelegramNetworkError. Recorded in ``injected`` with error code 0, not in ``errors``."""
        self._broken[method.lower()] = self._broken.get(method.lower(), 0) + times

    def reset_records(self) -> None:
        self.calls.clear()
        self.errors.clear()
        self.injected.clear()

    def calls_to(self, method: str) -> list[JsonDict]:
        """Parameters of every call of ``method``."""
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """Commands stored by setMyCommands for exactly this scope and language."""
        return list(self.commands_by_scope.get(self._scope_key(scope, language_code), []))

    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot never answered."""
        return [q.query_id for q in self._callbacks.values() if not q.answered]

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates."""
        return list(self._queue)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition, not for I/O
        interval: float = 0.01,
    ) -> None:
        """Wait until ``predicate()`` (sync or async) is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    async def wait_idle(self, timeout: float = 5.0, settle: float = 0.1) -> None:  # noqa: ASYNC109
        """Wait until every queued update was fetched and no request ran for ``settle`` s."""

        def idle() -> bool:
            unfetched = [u for u in self._queue if u["update_id"] not in self._fetched]
            quiet = time.monotonic() - self._last_activity >= settle
            return not unfetched and self._in_flight == 0 and quiet

        try:
            await self.wait_for(idle, timeout)
        except AssertionError:
            raise AssertionError(
                f"fake Telegram not idle after {timeout}s: {len(self._queue)} queued updates, "
                f"{self._in_flight} requests in flight"
            ) from None

    # ---- updates

    async def enqueue(self, update: JsonDict) -> None:
        """The default ``deliver``: keep the update for getUpdates."""
        self._queue.append(update)
        self._wake()

    async def emit(self, payload: JsonDict) -> JsonDict:
        """Give ``payload`` the next update_id and pass it to ``deliver``."""
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        await self.deliver(update)
        return update

    def new_callback_query(self, user: FakeUser) -> _CallbackQuery:
        query = _CallbackQuery(
            query_id=str(4_000_000_000_000_000_000 + next(self._ids)),
            user=user,
            created=self.now(),
        )
        self._callbacks[query.query_id] = query
        return query

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    # ---- shapes

    def bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def message_dict(self, message: ChatMessage, nested: bool = False) -> JsonDict:
        """The Bot API Message object of ``message``."""
        chat = self.users.get(message.chat_id) or self.groups[message.chat_id]
        result: JsonDict = {
            "message_id": message.message_id,
            "from": message.sender,
            "chat": chat.as_chat(),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None and not nested:
            replied = chat.message(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                result["reply_to_message"] = self.message_dict(replied, nested=True)
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
        for key in ("document", "photo", "contact"):
            value = getattr(message, key)
            if value is not None:
                result[key] = value
        if message.caption:
            result["caption"] = message.caption
            if message.caption_entities:
                result["caption_entities"] = message.caption_entities
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result

    # ---- files

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        prefix = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI"}[kind]
        number = next(self._ids)
        return f"{prefix}{number}{secrets.token_urlsafe(18)}", f"AQAD{secrets.token_urlsafe(8)}"

    def store_file(
        self,
        kind: str,
        content: bytes,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        """Register a file so that it has a file_id, a file_path and can be downloaded."""
        file_id, unique_id = self._new_file_id(kind)
        folder = "documents" if kind == "document" else "photos"
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1].lower()
        elif kind == "photo":
            suffix = ".jpg"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            content=content,
            file_path=f"{folder}/file_{next(self._ids)}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[file_id] = stored
        return stored

    def store_photo(self, content: bytes, width: int, height: int) -> list[JsonDict]:
        """Register a photo; returns its PhotoSize list (every size shares the bytes)."""
        parts = [
            self.store_file("photo", content, width=w, height=h)
            for w, h in _photo_dimensions(width, height)
        ]
        sizes = [part.as_photo_size() for part in parts]
        for part in parts:
            part.sizes = sizes
        return sizes

    def forget_files(self, *file_ids: str) -> None:
        """Telegram no longer knows these file_ids (all of them if none are given), as when
        the bot's token is of a new bot: sending or getFile by them fails with Telegram's
        answers, their file_path no longer downloads. The users' messages keep them."""
        for file_id in file_ids or list(self.files):
            self.files.pop(file_id, None)

    def _file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    def _input_file(self, value: Any, kind: str) -> StoredFile | list[JsonDict]:
        """A sent document (StoredFile) or photo (PhotoSize list) from an upload or file_id."""
        if isinstance(value, UploadedFile):
            if value.size == 0:
                raise bad_request("file must be non-empty")
            if kind == "photo":
                return self._upload_photo(value)
            if value.size > MAX_UPLOAD:
                raise TelegramError(413, "Request Entity Too Large")
            mime = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            return self.store_file("document", value.content, value.filename, mime)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored.sizes if kind == "photo" else stored

    def _upload_photo(self, upload: UploadedFile) -> list[JsonDict]:
        if upload.size > MAX_PHOTO:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        size = image_size(upload.content)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        return self.store_photo(upload.content, width, height)

    # ---- HTTP

    @staticmethod
    def _envelope(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _read_raw(self, request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
        raw: JsonDict = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method != "POST" or not request.can_read_body:
            return raw, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            raw.update(body)
            return raw, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
            else:
                raw[key] = value if isinstance(value, str) else bytes(value).decode()
        return raw, files

    @staticmethod
    def _decode_params(raw: JsonDict, files: Mapping[str, UploadedFile]) -> JsonDict:
        """Type the parameters like Telegram: numbers, booleans, nested JSON, attached files."""
        params: JsonDict = {}
        for key, value in raw.items():
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value[len("attach://") :])
                if attached is None:
                    raise bad_request(f"file {value} not found in the request")
                params[key] = attached
            elif key in JSON_PARAMS and isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    what = "reply keyboard markup" if key == "reply_markup" else key
                    raise bad_request(f"can't parse {what} JSON object") from None
            elif key in INT_PARAMS or key in CHAT_PARAMS:
                params[key] = _to_int(key, value)
            elif key in BOOL_PARAMS and isinstance(value, str):
                params[key] = value.lower() in ("true", "1")
            else:
                params[key] = value
        for key, upload in files.items():
            if key not in params and not any(
                isinstance(v, UploadedFile) and v is upload for v in params.values()
            ):
                params[key] = upload
        return params

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        is_poll = name.lower() == "getupdates"
        if not is_poll:
            self._in_flight += 1
        self._last_activity = time.monotonic()
        try:
            return await self._serve(request, name)
        finally:
            if not is_poll:
                self._in_flight -= 1
            self._last_activity = time.monotonic()

    async def _serve(self, request: web.Request, name: str) -> web.Response:
        method, handler = self._methods.get(name.lower(), (name, None))
        params: JsonDict = {}
        try:
            raw, files = await self._read_raw(request)
            params = {**raw, **files}
            if request.match_info["token"] != self.token:
                raise TelegramError(401, "Unauthorized")
            if handler is None:
                raise TelegramError(404, "Not Found")
            params = self._decode_params(raw, files)
        except TelegramError as error:
            self.calls.append(ApiCall(method, params, self.now()))
            return self._fail(method, params, error)
        self.calls.append(ApiCall(method, params, self.now()))
        if self._broken.get(method.lower()):
            self._broken[method.lower()] -= 1
            self.injected.append(ApiError(method, 0, "network error (redirect loop)", params))
            raise web.HTTPFound(f"/loop/bot{self.token}/{name}")
        queued = self._failures.get(method.lower())
        if queued:
            error = queued.popleft()
            self.injected.append(ApiError(method, error.error_code, error.description, params))
            return web.json_response(error.envelope(), status=error.error_code)
        if self.latency and method != "getUpdates":
            await asyncio.sleep(self.latency)
        try:
            result = await handler(params)
        except TelegramError as error:
            if error.error_code == 409 and _disconnected(request):
                # A superseded long poll whose client is gone: nobody sees this answer.
                return web.json_response(error.envelope(), status=error.error_code)
            return self._fail(method, params, error)
        return self._envelope(result)

    def _fail(self, method: str, params: JsonDict, error: TelegramError) -> web.Response:
        self.errors.append(ApiError(method, error.error_code, error.description, params))
        self.error_log.append(self.errors[-1])
        return web.json_response(error.envelope(), status=error.error_code)

    async def _handle_loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.path)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = None
        if request.match_info["token"] == self.token:
            stored = self._file_by_path(request.match_info["path"])
        if stored is None:
            return web.json_response(TelegramError(404, "Not Found").envelope(), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # ---- shared checks

    def _chat(self, params: JsonDict, key: str = "chat_id") -> FakeUser:
        """The chat (a private chat or a group) addressed by ``params[key]``; checks existence
        and blocking."""
        chat_id = params.get(key)
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        user: FakeUser | None = None
        if isinstance(chat_id, int):
            user = self.users.get(chat_id) or self.groups.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            user = next((u for u in self.users.values() if u.username == chat_id[1:]), None)
        if user is None:
            raise bad_request("chat not found")
        if user.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return user

    def _message(self, chat: FakeUser, params: JsonDict, not_found: str) -> ChatMessage:
        message_id = params.get("message_id")
        message = chat.message(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            raise bad_request(not_found)
        return message

    def _format(
        self, raw: Any, parse_mode: Any, entities: Any, *, caption: bool
    ) -> tuple[str, list[JsonDict], str]:
        """(plain text, entities, source) of a text or caption; Telegram's checks and errors."""
        source = "" if raw is None else str(raw)
        mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
        if source and mode and mode != "none":
            if mode != "html":
                if mode in ("markdown", "markdownv2"):
                    raise bad_request(
                        f"the fake Telegram does not implement parse_mode {parse_mode}; use HTML"
                    )
                raise bad_request("unsupported parse_mode")
            try:
                plain, found = parse_html(source, strict=self.strict_html)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        else:
            plain, found = source, _explicit_entities(entities)
        plain, found = finish_text(plain, found)
        found = [self._resolve_mention(entity) for entity in found]
        if not caption and not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > (MAX_CAPTION if caption else MAX_TEXT):
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, found, source

    def _resolve_mention(self, entity: JsonDict) -> JsonDict:
        if entity["type"] != "text_mention" or "user_id" not in entity:
            return entity
        result = {k: v for k, v in entity.items() if k != "user_id"}
        user = self.users.get(entity["user_id"])
        if user is None:
            result.update(type="text_link", url=f"tg://user?id={entity['user_id']}")
        else:
            result["user"] = {k: v for k, v in user.as_user().items() if k != "language_code"}
        return result

    def _markup(self, markup: Any, *, inline_only: bool = False) -> JsonDict | None:
        """Validate a reply_markup like Telegram; returns it (None if absent)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            _check_reply_keyboard(markup["keyboard"])
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _reply_to(self, chat: FakeUser, params: JsonDict) -> int | None:
        reply = params.get("reply_parameters")
        message_id: Any = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
        if message_id is None:
            return None
        found = chat.message(message_id) if isinstance(message_id, int) else None
        if found is None or found.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return found.message_id

    def _take_send_slot(self, chat_id: int) -> None:
        """The per-chat and global rate limits of sends; 429 when exceeded."""
        if not self.rate_limits:
            return
        now = self.now()
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            bucket = self._chat_buckets[chat_id] = TokenBucket(self.chat_rate, self.chat_burst, now)
        wait = max(bucket.wait_time(now), self._global_bucket.wait_time(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        bucket.take()
        self._global_bucket.take()

    # ---- methods: bot and updates

    async def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self.webhook.get("url"):
            raise TelegramError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(int(params.get("offset") or 0))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(int(params.get("timeout") or 0), 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll ends with a conflict
        deadline = time.monotonic() + timeout
        while True:
            event = self._wakeup
            if generation != self._poll_generation:
                raise TelegramError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = self._queue[:limit]
            remaining = deadline - time.monotonic()
            if ready or self._closing or remaining <= 0:
                self._fetched.update(u["update_id"] for u in ready)
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _set_webhook(self, params: JsonDict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {k: v for k, v in params.items() if not isinstance(v, UploadedFile)}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _delete_webhook(self, params: JsonDict) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook.get("url"):
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    # ---- methods: commands and menu

    def _scope_key(self, scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        if not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = scope.get("type")
        if kind in SCOPES_WITH_CHAT:
            if not isinstance(scope.get("chat_id"), int) or scope["chat_id"] not in self.users:
                raise bad_request("chat not found")
            if kind == "chat_member" and not isinstance(scope.get("user_id"), int):
                raise bad_request("user not found")
        elif kind not in SCOPES:
            raise bad_request("wrong BotCommandScope type specified")
        language = str(language_code or "")
        if language and not LANGUAGE_RE.fullmatch(language):
            raise bad_request("invalid language code specified")
        keys = ("type", "chat_id", "user_id")
        canonical = {k: scope[k] for k in keys if k in scope}
        return json.dumps(canonical, sort_keys=True), language

    async def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: BotCommand must be an Object")
            for key in ("command", "description"):
                if not isinstance(item.get(key), str):
                    raise bad_request(f"can't parse BotCommand: Can't find field \"{key}\"")
            command = item["command"].strip().removeprefix("/")
            description = item["description"].strip()
            if not command:
                raise bad_request("command must be non-empty")
            if len(command) > 32:
                raise bad_request("command length must not exceed 32")
            if not COMMAND_RE.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not description:
                raise bad_request("command description must be non-empty")
            if len(description) > 256:
                raise bad_request("command description length must not exceed 256")
            cleaned.append({"command": command, "description": description})
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        if cleaned:
            self.commands_by_scope[key] = cleaned
        else:
            self.commands_by_scope.pop(key, None)
        return True

    async def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return list(self.commands_by_scope.get(key, []))

    async def _delete_my_commands(self, params: JsonDict) -> bool:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self.commands_by_scope.pop(key, None)
        return True

    async def _set_chat_menu_button(self, params: JsonDict) -> bool:
        chat_id: int | None = None
        if params.get("chat_id") is not None:
            chat_id = self._chat(params).id
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        if button["type"] == "web_app":
            url = (button.get("web_app") or {}).get("url", "")
            if not button.get("text") or not str(url).startswith("https://"):
                raise bad_request("BUTTON_URL_INVALID")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JsonDict) -> JsonDict:
        chat_id = self._chat(params).id if params.get("chat_id") is not None else None
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    # ---- methods: messages

    async def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._chat(params)
        text, entities, source = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self._take_send_slot(chat.id)
        message = chat.add_message(
            True,
            text=text,
            html=source,
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self.message_dict(message)

    async def _send_media(self, params: JsonDict, kind: str) -> JsonDict:
        chat = self._chat(params)
        caption, entities, source = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        media = self._input_file(params.get(kind), kind)
        self._take_send_slot(chat.id)
        fields: JsonDict = {
            "caption": caption or None,
            "caption_html": source or None,
            "caption_entities": entities,
            "reply_markup": markup,
            "reply_to_message_id": reply_to,
        }
        if isinstance(media, StoredFile):
            fields["document"] = media.as_document()
        else:
            fields["photo"] = media
        return self.message_dict(chat.add_message(True, **fields))

    async def _send_photo(self, params: JsonDict) -> JsonDict:
        return await self._send_media(params, "photo")

    async def _send_document(self, params: JsonDict) -> JsonDict:
        return await self._send_media(params, "document")

    async def _copy_message(self, params: JsonDict) -> JsonDict:
        source_chat = self._chat(params, "from_chat_id")
        chat = self._chat(params)
        original = self._message(source_chat, params, "message to copy not found")
        fields: JsonDict = {
            "text": original.text,
            "html": original.html,
            "entities": list(original.entities),
            "caption": original.caption,
            "caption_html": original.caption_html,
            "caption_entities": list(original.caption_entities),
            "document": original.document,
            "photo": original.photo,
            "contact": original.contact,
        }
        if "caption" in params:
            if original.text is not None:
                raise bad_request("MEDIA_CAPTION_INVALID")
            caption, entities, source = self._format(
                params.get("caption"),
                params.get("parse_mode"),
                params.get("caption_entities"),
                caption=True,
            )
            fields.update(caption=caption or None, caption_html=source, caption_entities=entities)
        fields["reply_markup"] = self._markup(params.get("reply_markup"))
        fields["reply_to_message_id"] = self._reply_to(chat, params)
        self._take_send_slot(chat.id)
        return {"message_id": chat.add_message(True, **fields).message_id}

    def _editable(self, params: JsonDict) -> ChatMessage:
        if params.get("inline_message_id"):
            raise bad_request("the fake Telegram has no inline messages")
        chat = self._chat(params)
        message = self._message(chat, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: ChatMessage, markup: JsonDict | None, **fields: Any) -> JsonDict:
        """Store an edit, or fail with "message is not modified"."""
        current = {k: getattr(message, k) for k in fields}
        old_inline = message.reply_markup if message.inline_keyboard else None
        if _same(current, fields) and _same(old_inline, markup):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in fields.items():
            setattr(message, key, value)
        if markup is not None or message.inline_keyboard:
            message.reply_markup = markup
        message.edit_date = self.unix_time()
        message.edits += 1
        return self.message_dict(message)

    async def _edit_message_text(self, params: JsonDict) -> JsonDict:
        message = self._editable(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities, source = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._markup(params.get("reply_markup"), inline_only=True)
        result = self._apply_edit(message, markup, text=text, entities=entities)
        message.html = source
        return result

    async def _edit_message_caption(self, params: JsonDict) -> JsonDict:
        message = self._editable(params)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities, source = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = self._markup(params.get("reply_markup"), inline_only=True)
        result = self._apply_edit(
            message, markup, caption=caption or None, caption_entities=entities
        )
        message.caption_html = source or None
        return result

    async def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        message = self._editable(params)
        markup = self._markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(message, markup)

    async def _delete_message(self, params: JsonDict) -> bool:
        chat = self._chat(params)
        message = self._message(chat, params, "message to delete not found")
        if self.unix_time() - message.date > DELETE_WINDOW:
            raise bad_request("message can't be deleted for everyone")
        message.deleted = True
        return True

    async def _answer_callback_query(self, params: JsonDict) -> bool:
        query = self._callbacks.get(str(params.get("callback_query_id", "")))
        too_old = "query is too old and response timeout expired or query ID is invalid"
        if query is None or query.answered:
            raise bad_request(too_old)
        if self.now() - query.created > self.callback_deadline:
            raise bad_request(too_old)
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.user.callback_answers.append(params)
        return True

    async def _send_chat_action(self, params: JsonDict) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _get_file(self, params: JsonDict) -> JsonDict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > self.download_limit:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }


# --------------------------------------------------------------------------- helpers


def _to_int(key: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if key in CHAT_PARAMS:
        return text  # "@username"
    raise bad_request(f'field "{key}" must be of type Integer')


def _disconnected(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _same(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _explicit_entities(entities: Any) -> list[JsonDict]:
    if entities is None:
        return []
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    result: list[JsonDict] = []
    for entity in entities:
        if not (
            isinstance(entity, dict)
            and isinstance(entity.get("type"), str)
            and isinstance(entity.get("offset"), int)
            and isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse MessageEntity JSON object")
        result.append(dict(entity))
    return result


def _check_url(url: Any) -> None:
    if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url, re.IGNORECASE):
        raise bad_request("BUTTON_URL_INVALID")


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in buttons:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise bad_request(prefix + "InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise bad_request(prefix + 'Field "text" must be of type String')
        if not button["text"].strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        present = [
            key
            for key in INLINE_ACTIONS
            if key in button and (button[key] != "" or key.startswith("switch_inline"))
        ]
        if not present:
            raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if "callback_data" in present:
            data = button["callback_data"]
            if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in present:
            _check_url(button["url"])


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        text = button.get("text") if isinstance(button, dict) else button
        if not isinstance(text, str):
            raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
