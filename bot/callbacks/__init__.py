"""Callback-data factories: short prefixes, ids and enums only (never names or other
personal data); everything must pack to at most 64 bytes (tests/test_callbacks.py checks the
largest realistic values). Shared and linking factories live here; each area adds a module
(`bot.callbacks.diary`, `bot.callbacks.journal`, …) with prefixes unique across the package."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import AfterValidator, Field

from db.enums import CodeKind

# --- bounded integers: every int field of every factory is one of these ---------------------
# A Telegram client can send any callback_data it likes. A forged id ≥ 2**31 (the primary keys
# are 32-bit), a negative or an absurd number fails here, when the data is unpacked: the
# factory's filter does not match, and the fallback answers "this button is out of date"
# before anything reaches the database (tests/test_callbacks.py forges every field).

INT32_MAX = 2**31 - 1
FIRST_DAY = date(1970, 1, 1).toordinal()
LAST_DAY = date(2999, 12, 31).toordinal()
COUNT_MAX = 9999


def _day(value: int) -> int:
    if value != 0 and not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError("not a date ordinal of the diary")
    return value


Id = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""A primary key (0: none, or "the current one" where the factory says so)."""

Day = Annotated[int, Field(ge=0, le=LAST_DAY), AfterValidator(_day)]
"""A date as `date.toordinal()` (1970–2999), or 0: today."""

Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]
"""A page, an offset, an index into a keyboard's values, an option or a small bit mask."""


class Lang(enum.StrEnum):
    RU = "ru"
    EN = "en"


class LanguageCb(CallbackData, prefix="lng"):
    code: Lang


class Screen(enum.StrEnum):
    HOME = "home"
    ACCESS = "access"
    INVITE = "invite"
    CHILDREN = "children"
    REQUESTS = "requests"
    CLASSES = "classes"
    CODES = "codes"
    DIARY = "diary"
    JOURNAL = "journal"
    REPORTS = "reports"
    SETTINGS = "settings"
    SCHOOL = "school"


class MenuCb(CallbackData, prefix="mn"):
    """A top-level screen."""

    screen: Screen


class ChildCb(CallbackData, prefix="ch"):
    student_id: Id


class LinkDecisionCb(CallbackData, prefix="lr"):
    request_id: Id
    approve: bool


class InviteCb(CallbackData, prefix="ti"):
    """A trusted-person invitation being drafted: scopes mask and expiry option."""

    student_id: Id
    scopes: Count
    expiry: Count
    create: bool = False


class GrantOp(enum.StrEnum):
    OPEN = "o"
    SCOPES = "s"
    EXPIRY = "e"
    REVOKE = "r"


class GrantCb(CallbackData, prefix="tg"):
    """A trusted grant: open it, set its scopes, extend it, or revoke it (`REVOKE` asks first;
    `confirm` is the answer "yes")."""

    grant_id: Id
    op: GrantOp
    value: Count = 0
    confirm: bool = False


class UnlinkCb(CallbackData, prefix="ul"):
    guardianship_id: Id
    confirm: bool = False


class ClassCb(CallbackData, prefix="cl"):
    class_id: Id


class StudentAccessCb(CallbackData, prefix="sa"):
    student_id: Id


class CodesCb(CallbackData, prefix="cd"):
    """Letters for a class: no kind → choose one; `replace` → the newest live code id the
    admin confirmed cancelling (0: nothing confirmed)."""

    class_id: Id
    kind: CodeKind | None = None
    replace: Id = 0
