"""Telegram limits and safe sending: long HTML texts are split without breaking markup."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.callback_answer import CallbackAnswer

from bot.concurrency import stepped_aside
from db.enums import AttachmentKind
from services.core.files import FILE_NAME_LIMIT, MIME_TYPE_LIMIT, NewFile

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
ALERT_LIMIT = 200

_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]", re.S)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


#: what `_TOKEN` reads as markup: a tag, an entity, or a stray "<" or "&" (which it skips)
_MARKUP = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>|(&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);)|[<&]")


def _one_unit(match: re.Match[str]) -> str:
    return "x" if match.group(3) else ""  # an entity counts one, a tag or a stray mark none


def visible_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units of the text without tags), the same as
    the widths `split_html` cuts by, without a unit object per character (every diary screen
    measures its text)."""
    return len(_MARKUP.sub(_one_unit, text).encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Unit:
    raw: str
    width: int
    tag: str | None = None
    closing: bool = False


def _units(html: str) -> list[_Unit]:
    units: list[_Unit] = []
    for match in _TOKEN.finditer(html):
        raw = match.group(0)
        if match.group(2):
            units.append(_Unit(raw, 0, match.group(2).lower(), bool(match.group(1))))
        elif raw.startswith("&"):
            units.append(_Unit(raw, 1))
        else:
            units.append(_Unit(raw, len(raw.encode("utf-16-le")) // 2))
    return units


def _open_stack(units: Sequence[_Unit]) -> list[_Unit]:
    stack: list[_Unit] = []
    for unit in units:
        if unit.tag is None:
            continue
        if unit.closing:
            if stack and stack[-1].tag == unit.tag:
                stack.pop()
        else:
            stack.append(unit)
    return stack


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` visible characters.

    Cuts at the last line break that fits (else the last space, else anywhere outside a tag
    or entity); tags open at a cut are closed there and reopened in the next part.
    """
    units = _units(html)
    parts: list[str] = []
    prefix: list[_Unit] = []
    start = 0
    while start < len(units):
        width = 0
        end = start
        newline_cut = space_cut = None
        while end < len(units) and width + units[end].width <= limit:
            width += units[end].width
            if units[end].raw == "\n":
                newline_cut = end + 1
            elif units[end].raw == " ":
                space_cut = end + 1
            end += 1
        if end < len(units):
            end = newline_cut or space_cut or end
        chunk = prefix + list(units[start:end])
        stack = _open_stack(chunk)
        text = "".join(u.raw for u in chunk) + "".join(f"</{u.tag}>" for u in reversed(stack))
        if text.strip():
            parts.append(text.strip("\n"))
        prefix = stack
        start = end
    return parts or [html]


async def send_long(
    bot: Bot, chat_id: int, html: str, reply_markup: Markup | None = None
) -> list[Message]:
    """Send a text of any length; the keyboard goes with the last part."""
    parts = split_html(html)
    sent = []
    for index, part in enumerate(parts):
        markup = reply_markup if index == len(parts) - 1 else None
        sent.append(await bot.send_message(chat_id, part, reply_markup=markup))
    return sent


def _markup_dump(markup: InlineKeyboardMarkup | None) -> object:
    if markup is None or not markup.inline_keyboard:
        return None
    return markup.model_dump(exclude_none=True, exclude_defaults=True)


def is_unchanged(message: Message, html_text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Would editing `message` to this text and keyboard change nothing? (Telegram answers
    such an edit with 400 "message is not modified".)"""
    if (message.text or "") != plain_text(html_text, limit=MESSAGE_LIMIT * 2):
        return False
    return _markup_dump(message.reply_markup) == _markup_dump(markup)


def _state(text: str | None, dumped_markup: object) -> int:
    """A digest of what a message shows: its text (as Telegram holds it) and its keyboard
    (in `_markup_dump`'s form)."""
    return hash((text, repr(dumped_markup)))


class ShownEdits:
    """The screens `show` last put in place by an edit, per message: (chat id, message id) →
    (Telegram's edit date, a digest of the text and keyboard), the latest `limit` messages.

    A double tap sends two presses that both carry the message as it was before either was
    handled; once the first has edited it, the second must not edit it again to the same
    screen (Telegram answers 400 "message is not modified"). Dates are whole seconds: a press
    whose message state is of the same second as the edit counts as before it (the latest
    edit of each message is kept, so a different screen put there since is never skipped)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        #: (chat id, message id) -> (edit date, digest of the screen sent, digest of what the
        #: message shows after the edit: `_state`)
        self._edits: OrderedDict[tuple[int, int], tuple[int, int, int]] = OrderedDict()
        self._taps: OrderedDict[tuple[int, int, int, str], None] = OrderedDict()

    def repeated_tap(self, message: Message, data: str) -> bool:
        """Is this press of `data` a double tap's second one: a press of the same button on
        the same state of `message` came before it, and the bot has edited the message since
        to something else than the press carries? Telegram attaches the message as it is when
        the press arrives, so a press carrying an older text or keyboard than the bot's last
        edit left was made before that edit landed; a deliberate second tap carries what the
        first one left and runs, even within the same second (edit dates are whole seconds).
        Otherwise the press is noted. A press on a message the bot did not edit (it sent a
        file, an alert) is not a repeat."""
        seen_at = message.edit_date or int(message.date.timestamp())
        key = (message.chat.id, message.message_id, seen_at, data)
        if key in self._taps:
            kept = self._edits.get((message.chat.id, message.message_id))
            shown = _state(message.text, _markup_dump(message.reply_markup))
            return self.edited_since(message) and kept is not None and kept[2] != shown
        self._taps[key] = None
        if len(self._taps) > self.limit:
            self._taps.popitem(last=False)
        return False

    @staticmethod
    def _digest(html_text: str | None, markup: object) -> int:
        return hash((html_text, repr(markup)))

    def shown_since(self, message: Message, html_text: str, markup: object) -> bool:
        """Was `message` edited to this screen at or after the state the update carries?"""
        kept = self._edits.get((message.chat.id, message.message_id))
        return (
            kept is not None
            and self.edited_since(message)
            and kept[1] == self._digest(html_text, markup)
        )

    def edited_since(self, message: Message) -> bool:
        """Was `message` edited at all (to a screen or a keyboard) at or after the state the
        update carries?"""
        kept = self._edits.get((message.chat.id, message.message_id))
        if kept is None:
            return False
        seen_at = message.edit_date or int(message.date.timestamp())
        return seen_at <= kept[0]

    def remember(self, edited: Message | bool, html_text: str | None, markup: object) -> None:
        """Note an edit the bot made (`html_text` None: only its keyboard was edited; `markup`
        the keyboard sent, as `_markup_dump` gives it)."""
        if not isinstance(edited, Message) or edited.edit_date is None:
            return
        key = (edited.chat.id, edited.message_id)
        # the keyboard as sent (`markup`, dumped): the parsed answer leaves out its echo
        state = _state(edited.text, markup)
        self._edits[key] = (edited.edit_date, self._digest(html_text, markup), state)
        self._edits.move_to_end(key)
        if len(self._edits) > self.limit:
            self._edits.popitem(last=False)


#: Telegram's answers to editMessageText for a message whose text cannot become the screen:
#: gone, too old, or a file or photo (a button under a document: "📎 Next")
_NOT_EDITABLE = (
    "message to edit not found",
    "can't be edited",
    "there is no text in the message to edit",
)


def _holds_a_file(message: Message) -> bool:
    """A message with a file or photo (and at most a caption), not a text to edit."""
    return message.text is None and any(
        getattr(message, kind, None) is not None for kind in ("document", "photo", "video", "audio")
    )


async def show(
    target: Message | None,
    bot: Bot,
    chat_id: int,
    html_text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Show a screen in place: edit the pressed message, or send a new one when it can't be
    edited (too old, deleted, a document or photo). Nothing is sent when the screen is already
    what it shows, or was put there after the pressed message's state the update carries
    (`ShownEdits`)."""
    if target is not None and _holds_a_file(target):
        target = None  # a document's or photo's caption is not a screen: a new message
    if target is not None:
        if is_unchanged(target, html_text, reply_markup):
            return
        edits = bot.session.shown if isinstance(bot.session, KeptResponseSession) else None
        markup = _markup_dump(reply_markup)
        if edits is not None and edits.shown_since(target, html_text, markup):
            return
        try:
            edited = await target.edit_text(html_text, reply_markup=reply_markup)
            if edits is not None:
                edits.remember(edited, html_text, markup)
            return
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return
            if not any(reason in exc.message for reason in _NOT_EDITABLE):
                raise
    await bot.send_message(chat_id, html_text, reply_markup=reply_markup)


async def edit_keyboard(
    message: Message, bot: Bot, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Put `reply_markup` (None: no keyboard) under a pressed message, leaving its text.

    Nothing is edited when the message already has that keyboard, or when the bot edited it
    since the state the press carries (`ShownEdits`): a double tap's second press would
    otherwise edit to what the first put there (400 "message is not modified") or take the
    keyboard off the screen the first one showed. A message too old to edit, or deleted,
    keeps what it has."""
    markup = _markup_dump(reply_markup)
    if _markup_dump(message.reply_markup) == markup:
        return
    edits = bot.session.shown if isinstance(bot.session, KeptResponseSession) else None
    if edits is not None and edits.edited_since(message):
        return
    with suppress(TelegramBadRequest):
        edited = await bot.edit_message_reply_markup(
            chat_id=message.chat.id, message_id=message.message_id, reply_markup=reply_markup
        )
        if edits is not None:
            edits.remember(edited, None, markup)


def plain_text(html_text: str, limit: int = ALERT_LIMIT) -> str:
    """Telegram HTML as plain text (for callback alerts), cut to `limit` characters."""
    text = html.unescape(re.sub(r"<[^>]+>", "", html_text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refuse(answer: CallbackAnswer, html_text: str) -> None:
    """Answer a button press with an alert (the text is shown as plain text)."""
    answer.text = plain_text(html_text)
    answer.show_alert = True


class ChatPacer:
    """A token bucket per chat: about one message per second, short bursts allowed."""

    def __init__(self, rate: float = 1.0, burst: int = 3) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[int | str, tuple[float, float]] = {}

    def delay(self, chat_id: int | str, now: float) -> float:
        """Seconds to wait before sending to `chat_id` (and take the token)."""
        tokens, last = self._buckets.get(chat_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[chat_id] = (tokens - 1 + wait * self.rate, now + wait)
        if len(self._buckets) > 50_000:
            self._buckets = {c: b for c, b in self._buckets.items() if b[1] > now - 60}
        return wait


class KeptResponseSession(AiohttpSession):
    """aiogram's aiohttp session, keeping every parsed response type alive.

    aiogram parses each Bot API answer with ``Response[method.__returning__]``, a pydantic
    generic model built on first use; pydantic caches it only weakly, so once the garbage
    collector has taken it the next answer builds it again: about 35 ms of CPU for
    ``Response[Message]`` on every sent message under load (found profiling `/today` with
    bench/diary.py). Holding one strong reference per return type makes that a lookup.
    """

    _kept: ClassVar[dict[Any, Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.json_loads = _without_echoed_markup
        #: the screens `show` put in place with this bot (one session per bot)
        self.shown = ShownEdits()

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        returning = method.__returning__
        try:
            if returning not in self._kept:
                self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        except TypeError:  # an unhashable return type: parsed as aiogram does
            pass
        return super().check_response(bot, method, status_code, content)


#: what a sent or edited message's echo carries back of the request itself
_ECHOED = ("reply_markup", "entities", "caption_entities", "link_preview_options")


def _without_echoed_markup(content: str) -> Any:
    """The Bot API's answer, decoded, without what a sent message echoes of our own request.

    Telegram answers sendMessage, editMessageText and the like with the whole message, its
    keyboard and the entities of its formatting included; aiogram validates every button and
    entity into a pydantic model (0.30 ms for a day view's answer, 0.05 ms without them), and
    nothing reads them: a sent message's id, chat and date are what Parta keeps. Only the
    `result` of an answer is trimmed, and only when it is a message: updates (a list from
    getUpdates, a webhook's body) keep the keyboards of the messages pressed.
    """
    data = json.loads(content)
    if isinstance(data, dict):
        result = data.get("result")
        if isinstance(result, dict) and "message_id" in result:
            for key in _ECHOED:
                result.pop(key, None)
    return data


class FloodWaitMiddleware(BaseRequestMiddleware):
    """Keeps sends to one chat under Telegram's per-chat limit, and waits out a short 429.

    Messages to one chat are paced (about 1/s after a short burst), so a long text in several
    parts never provokes a 429. Should one come anyway, a short `retry_after` is waited out and
    the request repeated (aiogram itself does not retry); a long one is raised to the caller.
    """

    def __init__(
        self,
        max_wait: float = 5.0,
        attempts: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`clock` and `sleep` are injectable: tests run the pacing and the waits on the fake
        Bot API's virtual clock."""
        self.max_wait = max_wait
        self.attempts = attempts
        self.pacer = ChatPacer()
        self.clock = clock
        self.sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        if name.startswith(("send", "copyMessage")) and name != "sendChatAction" and chat_id:
            wait = self.pacer.delay(chat_id, self.clock())
            if wait > 0:
                async with stepped_aside():  # the update's slot serves another meanwhile
                    await self.sleep(wait)
        for _ in range(self.attempts - 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if exc.retry_after > self.max_wait:
                    raise
                async with stepped_aside():
                    await self.sleep(exc.retry_after)
        return await make_request(bot, method)


def pressed_message(query: CallbackQuery) -> Message | None:
    """The message whose button was pressed, if the bot can still edit it."""
    return query.message if isinstance(query.message, Message) else None


async def show_for(
    query: CallbackQuery,
    bot: Bot,
    html_text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """`show` a screen in answer to a button press: in place on the pressed message."""
    await show(pressed_message(query), bot, query.from_user.id, html_text, reply_markup)


def sent_file(message: Message) -> NewFile | None:
    """The document a message carries, or its photo (the largest size), as a service keeps it
    (name and type cut to what the database keeps; an empty one is None); None for a message
    without either."""
    if message.document is not None:
        doc = message.document
        name = (doc.file_name or "")[:FILE_NAME_LIMIT] or None
        mime = (doc.mime_type or "")[:MIME_TYPE_LIMIT] or None
        return NewFile(
            AttachmentKind.DOCUMENT, doc.file_id, doc.file_unique_id, name, mime, doc.file_size
        )
    if message.photo:
        photo = message.photo[-1]
        return NewFile(
            AttachmentKind.PHOTO,
            photo.file_id,
            photo.file_unique_id,
            None,
            "image/jpeg",
            photo.file_size,
        )
    return None
