"""Every callback-data factory packs its largest realistic value into Telegram's 64 bytes,
carries no free text, and has a prefix of its own."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import typing
from typing import Any

from aiogram.filters.callback_data import CallbackData

import bot.callbacks
from bot.telegram import CALLBACK_DATA_LIMIT

BIG_ID = 2**31 - 1  # ids are 32-bit integer primary keys


def _factories() -> list[type[CallbackData]]:
    for module in pkgutil.iter_modules(bot.callbacks.__path__):
        importlib.import_module(f"bot.callbacks.{module.name}")
    found: list[type[CallbackData]] = []
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("bot.callbacks"):
            found.append(cls)
    return found


def _largest(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if args:  # Optional[X] / X | None
        return _largest(next(a for a in args if a is not type(None)))
    if annotation is bool:
        return True
    if annotation is int:
        return BIG_ID
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return max(annotation, key=lambda m: len(str(m.value)))
    raise AssertionError(f"callback field of type {annotation!r}: use ids, ints or enums")


def test_there_are_factories() -> None:
    assert len(_factories()) >= 10


def test_largest_values_fit_in_64_bytes() -> None:
    for factory in _factories():
        hints = typing.get_type_hints(factory)
        values = {name: _largest(hints[name]) for name in factory.model_fields}
        packed = factory(**values).pack()
        assert len(packed.encode()) <= CALLBACK_DATA_LIMIT, (factory.__name__, packed)
        assert factory.unpack(packed) == factory(**values)


def test_prefixes_are_unique_and_short() -> None:
    prefixes = [factory.__prefix__ for factory in _factories()]
    assert len(prefixes) == len(set(prefixes)), sorted(prefixes)
    assert all(2 <= len(p) <= 4 for p in prefixes), prefixes
