"""Telegram's parse_mode=HTML subset and message entities, computed the way Telegram does.

The parser follows TDLib's ``parse_html`` (the code behind the Bot API): same tag set, same
attribute rules, same error texts and byte offsets. With ``strict=True`` (the default) it is
stricter than Telegram in one respect: every ``&`` must start ``&lt;``, ``&gt;``, ``&amp;``,
``&quot;`` or a numeric reference ending in ``;``. Telegram itself passes a bare ``&`` through
as text, but then ``&lt`` inside user data silently turns into ``<``: escaping is the only safe
rule, so the fake enforces it.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "HtmlParseError",
    "detect_entities",
    "finish_text",
    "parse_html",
    "sort_entities",
    "utf16_len",
]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
# TDLib's is_space(): the NUL terminator counts as a space.
SPACES = frozenset(b" \t\r\n\v\0")
# Order of entities starting at the same offset with the same length (TDLib's priorities).
PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
# Entities that auto-detected ones (url, mention, ...) must not intersect.
OPAQUE_TYPES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})
LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
TRIM_CHARS = " \t\n\r\v\f"


class HtmlParseError(ValueError):
    """A parse failure; ``str(error)`` is Telegram's reason (after "can't parse entities: ")."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(data: bytes, pos: int) -> tuple[int, int, bool]:
    """Decode a character reference at ``data[pos] == '&'``: (code or 0, end, had ';')."""
    end = pos + 1
    code = 0
    if data[end] == ord("#"):
        end += 1
        if data[end] == ord("x"):
            end += 1
            while chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while 0x30 <= data[end] <= 0x39:
                code = code * 10 + data[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos, False
    else:
        while chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        named = NAMED_ENTITIES.get(data[pos + 1 : end])
        if named is None:
            return 0, pos, False
        code = ord(named)
    if data[end] == ord(";"):
        return code, end + 1, True
    return code, end, False


def _checked_link(url: str) -> str | None:
    """A cut-down LinkManager::get_checked_link: the normalized URL, or None if invalid."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if match is None:
        if "." not in url or url.startswith(("/", ".")) or ":" in url.split("/", 1)[0]:
            return None
        url = "http://" + url
        match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
        assert match is not None
    scheme = match.group(1).lower()
    if scheme not in LINK_SCHEMES:
        return None
    rest = url[match.end() :]
    if scheme in {"http", "https"}:
        host = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if not host:
            return None
        if len(host) == len(rest):
            rest += "/"
    return f"{scheme}://{rest}"


def _link_entity(url: str, offset: int, length: int) -> dict[str, Any] | None:
    user = re.fullmatch(r"tg://user\?id=(\d{1,20})", url)
    if user is not None:
        return {"type": "text_mention", "offset": offset, "length": length, "user_id": int(user[1])}
    checked = _checked_link(url)
    if checked is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": checked}


class _Parser:
    """One run of TDLib's parse_html over the UTF-8 bytes of a text."""

    def __init__(self, text: str, *, strict: bool) -> None:
        self.data = text.replace("\0", "").encode("utf-8") + b"\0"
        self.size = len(self.data) - 1
        self.strict = strict
        self.out = bytearray()
        self.utf16 = 0
        self.entities: list[dict[str, Any]] = []
        # (tag name, argument, utf16 offset at start, byte position in output at start)
        self.stack: list[tuple[str, str, int, int]] = []

    def error(self, reason: str) -> HtmlParseError:
        return HtmlParseError(reason)

    def entity_at(self, pos: int) -> tuple[str, int]:
        """Decode ``&...`` at ``pos``: (character, next position); '' if it is not a reference."""
        code, end, semicolon = _decode_entity(self.data, pos)
        if code != 0 and 0xD800 <= code <= 0xDFFF:
            raise self.error(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        if self.strict and code and not semicolon:
            raise self.error(f'Character reference without ";" at byte offset {pos}')
        if self.strict and not code:
            name = re.match(rb"&#?[A-Za-z0-9]+;", self.data[pos : pos + 12])
            if name is not None:
                raise self.error(
                    f'Unsupported HTML entity "{name[0].decode()}" at byte offset {pos}; '
                    "only &lt; &gt; &amp; &quot; and numeric ones exist"
                )
            raise self.error(f'Unescaped "&" at byte offset {pos}; write it as &amp;')
        return (chr(code), end) if code else ("", pos)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        data = self.data
        i = 0
        while i < self.size:
            c = data[i]
            if c == ord("&"):
                char, end = self.entity_at(i)
                if char:
                    self.out += char.encode("utf-8")
                    self.utf16 += 2 if ord(char) > 0xFFFF else 1
                    i = end
                    continue
            if c != ord("<"):
                if c & 0xC0 != 0x80:
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
                continue
            i = self.end_tag(i) if data[i + 1] == ord("/") else self.start_tag(i)
        if self.stack:
            raise self.error(f"Can't find end tag corresponding to start tag {self.stack[-1][0]}")
        return self.out.decode("utf-8"), sort_entities(self.entities)

    def start_tag(self, begin: int) -> int:
        data = self.data
        i = begin + 1
        while data[i] not in SPACES and data[i] != ord(">"):
            i += 1
        if data[i] == 0:
            raise self.error(f"Unclosed start tag at byte offset {begin}")
        tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
        if tag not in ALLOWED_TAGS:
            raise self.error(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while data[i] != ord(">"):
            while data[i] != 0 and data[i] in SPACES:
                i += 1
            if data[i] == ord(">"):
                break
            name_begin = i
            while data[i] not in SPACES and data[i] not in b"=>":
                i += 1
            name = data[name_begin:i].decode("utf-8", "replace")
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
            while data[i] != 0 and data[i] in SPACES:
                i += 1
            if data[i] != ord("="):
                if tag == "blockquote" and name == "expandable":
                    argument = "1"
                    continue
                raise self.error(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {begin}'
                )
            i += 1
            while data[i] != 0 and data[i] in SPACES:
                i += 1
            if data[i] == 0:
                raise self.error(f'Unclosed start tag "{tag}" at byte offset {begin}')
            value, i = self.attribute_value(i)
            if data[i] == 0:
                raise self.error(f"Unclosed start tag at byte offset {begin}")
            if tag == "a" and name == "href":
                argument = value
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and name == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.stack.append((tag, argument, self.utf16, len(self.out)))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        data = self.data
        if data[i] not in b"'\"":
            token_begin = i
            while chr(data[i]).isascii() and (chr(data[i]).isalnum() or data[i] in b".-"):
                i += 1
            if data[i] not in SPACES and data[i] != ord(">"):
                raise self.error(f"Unexpected end of name token at byte offset {token_begin}")
            return data[token_begin:i].decode("ascii").lower(), i
        quote = data[i]
        i += 1
        value = bytearray()
        while data[i] != quote and data[i] != 0:
            if data[i] == ord("&"):
                char, end = self.entity_at(i)
                if char:
                    value += char.encode("utf-8")
                    i = end
                    continue
            value.append(data[i])
            i += 1
        if data[i] == quote:
            i += 1
        return value.decode("utf-8", "replace"), i

    def end_tag(self, begin: int) -> int:
        data = self.data
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {begin}")
        i = begin + 1
        while data[i] not in SPACES and data[i] != ord(">"):
            i += 1
        end_name = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while data[i] in SPACES and data[i] != 0:
            i += 1
        if data[i] != ord(">"):
            raise self.error(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_begin = self.stack.pop()
        if end_name and end_name != tag:
            raise self.error(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        if self.utf16 > offset:
            self.close_entity(tag, argument, offset, self.utf16 - offset, out_begin)
        return i + 1

    def close_entity(self, tag: str, argument: str, offset: int, length: int, begin: int) -> None:
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last["offset"] == offset and last["length"] == length
        if tag in SIMPLE_TAGS:
            self.entities.append({"type": SIMPLE_TAGS[tag], "offset": offset, "length": length})
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise self.error("Invalid custom emoji identifier specified")
            self.entities.append(
                {
                    "type": "custom_emoji",
                    "offset": offset,
                    "length": length,
                    "custom_emoji_id": argument,
                }
            )
        elif tag == "a":
            url = argument or self.out[begin:].decode("utf-8")
            entity = _link_entity(url, offset, length)
            if entity is not None:
                self.entities.append(entity)
        elif tag == "pre":
            if same_span and last is not None and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
            else:
                self.entities.append({"type": "pre", "offset": offset, "length": length})
        elif tag == "code":
            if same_span and last is not None and last["type"] == "pre" and argument:
                last["language"] = argument
            else:
                entity = {"type": "code", "offset": offset, "length": length}
                if argument:
                    entity["language"] = argument  # dropped below unless a <pre> claims it
                self.entities.append(entity)
        elif tag == "blockquote":
            kind = "expandable_blockquote" if argument else "blockquote"
            self.entities.append({"type": kind, "offset": offset, "length": length})


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Telegram's order: by offset, longer first, then by type priority."""
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return sorted(
        entities,
        key=lambda e: (e["offset"], -e["length"], PRIORITY.get(e["type"], 50)),
    )


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities); raise HtmlParseError like Telegram."""
    return _Parser(text, strict=strict).run()


_DETECTORS: list[tuple[str, re.Pattern[str]]] = [
    ("url", re.compile(r"(?<![\w@/])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "bot_command",
        re.compile(r"(?<![\w/<>@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"),
    ),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{3,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d])\w{1,256}")),
]


def _utf16_index(text: str) -> list[int]:
    """UTF-16 offset of every code point position (one extra item for the end)."""
    index = [0]
    for ch in text:
        index.append(index[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return index


def detect_entities(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best-effort version of Telegram's auto-detection (url, email, bot_command, mention, hashtag).

    Only links with an explicit http(s) scheme are found; detected entities never intersect
    code, pre, links or custom emoji, nor each other.
    """
    index = _utf16_index(text)
    taken: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in OPAQUE_TYPES
    ]
    found: list[dict[str, Any]] = []
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start, end = index[match.start()], index[match.end()]
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found


def finish_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace (as Telegram does), clip entities and add detected ones."""
    left = len(text) - len(text.lstrip(TRIM_CHARS))
    stripped = text.strip(TRIM_CHARS)
    shift = utf16_len(text[:left])
    total = utf16_len(stripped)
    clipped: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            clipped.append({**entity, "offset": start, "length": end - start})
    clipped += detect_entities(stripped, clipped)
    return stripped, sort_entities(clipped)
