"""Callback-data factories: short prefixes, ids and enums only (never names or other
personal data); everything must pack to at most 64 bytes (tests/test_callbacks.py checks the
largest realistic values). Shared and linking factories live here; each area adds a module
(`bot.callbacks.diary`, `bot.callbacks.journal`, …) with prefixes unique across the package."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData

from db.enums import CodeKind


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
    SETTINGS = "settings"


class MenuCb(CallbackData, prefix="mn"):
    """A top-level screen."""

    screen: Screen


class ChildCb(CallbackData, prefix="ch"):
    student_id: int


class LinkDecisionCb(CallbackData, prefix="lr"):
    request_id: int
    approve: bool


class InviteCb(CallbackData, prefix="ti"):
    """A trusted-person invitation being drafted: scopes mask and expiry option."""

    student_id: int
    scopes: int
    expiry: int
    create: bool = False


class GrantOp(enum.StrEnum):
    OPEN = "o"
    SCOPES = "s"
    EXPIRY = "e"
    REVOKE = "r"


class GrantCb(CallbackData, prefix="tg"):
    """A trusted grant: open it, set its scopes, extend it, or revoke it (`REVOKE` asks first;
    `confirm` is the answer "yes")."""

    grant_id: int
    op: GrantOp
    value: int = 0
    confirm: bool = False


class UnlinkCb(CallbackData, prefix="ul"):
    guardianship_id: int
    confirm: bool = False


class ClassCb(CallbackData, prefix="cl"):
    class_id: int


class StudentAccessCb(CallbackData, prefix="sa"):
    student_id: int


class CodesCb(CallbackData, prefix="cd"):
    """Letters for a class: no kind → choose one; `replace` → the newest live code id the
    admin confirmed cancelling (0: nothing confirmed)."""

    class_id: int
    kind: CodeKind | None = None
    replace: int = 0
