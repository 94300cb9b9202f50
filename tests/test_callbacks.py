"""Every callback-data factory packs its largest realistic value into Telegram's 64 bytes,
carries no free text, has a prefix of its own, and refuses forged integers (≥ 2**31, negative,
absurd) when it is unpacked, so they never reach the database."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import typing
from typing import Any

import annotated_types
import pytest
from aiogram.filters.callback_data import CallbackData
from pydantic import ValidationError

import bot.callbacks
from bot.callbacks import INT32_MAX
from bot.telegram import CALLBACK_DATA_LIMIT

FORGED = [2**31, 2**32 + 5, 2**63, 2**64, 10**40, -(2**31) - 1, -(2**63), -3]


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


def _bounds(factory: type[CallbackData], name: str) -> tuple[int, int]:
    """The bounds an int field declares (ge, le); an unbounded one fails the test."""
    low = high = None
    for item in factory.model_fields[name].metadata:
        if isinstance(item, annotated_types.Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        if isinstance(item, annotated_types.Le):
            high = int(item.le)  # type: ignore[call-overload]
    assert low is not None, f"{factory.__name__}.{name}: an int without a lower bound"
    assert high is not None, f"{factory.__name__}.{name}: an int without an upper bound"
    assert -2 <= low <= high <= INT32_MAX, (factory.__name__, name, low, high)
    return low, high


def _int_fields(factory: type[CallbackData]) -> list[str]:
    hints = typing.get_type_hints(factory)
    return [name for name in factory.model_fields if hints[name] is int]


def _largest(annotation: Any, factory: type[CallbackData], name: str) -> Any:
    args = typing.get_args(annotation)
    if args:  # Optional[X] / X | None
        return _largest(next(a for a in args if a is not type(None)), factory, name)
    if annotation is bool:
        return True
    if annotation is int:
        return _bounds(factory, name)[1]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return max(annotation, key=lambda m: len(str(m.value)))
    raise AssertionError(f"callback field of type {annotation!r}: use ids, ints or enums")


def test_there_are_factories() -> None:
    assert len(_factories()) >= 10


def test_largest_values_fit_in_64_bytes() -> None:
    for factory in _factories():
        hints = typing.get_type_hints(factory)
        values = {name: _largest(hints[name], factory, name) for name in factory.model_fields}
        packed = factory(**values).pack()
        assert len(packed.encode()) <= CALLBACK_DATA_LIMIT, (factory.__name__, packed)
        assert factory.unpack(packed) == factory(**values)


def test_prefixes_are_unique_and_short() -> None:
    prefixes = [factory.__prefix__ for factory in _factories()]
    assert len(prefixes) == len(set(prefixes)), sorted(prefixes)
    assert all(2 <= len(p) <= 4 for p in prefixes), prefixes


def _forged(factory: type[CallbackData], name: str, value: object) -> str:
    """The packed data of a legitimate button with one field replaced by `value`."""
    hints = typing.get_type_hints(factory)
    values = {n: _largest(hints[n], factory, n) for n in factory.model_fields}
    parts = factory(**values).pack().split(factory.__separator__)
    parts[1 + list(factory.model_fields).index(name)] = str(value)
    return factory.__separator__.join(parts)


def test_every_int_field_is_bounded() -> None:
    """A factory with a plain `int` would let a forged 2**31 through to the database."""
    fields = [(factory, name) for factory in _factories() for name in _int_fields(factory)]
    assert len(fields) > 60
    for factory, name in fields:
        low, high = _bounds(factory, name)
        assert high <= INT32_MAX
        if name.endswith("_id"):
            assert low == 0, (factory.__name__, name)


@pytest.mark.parametrize("value", [*FORGED, "1e9", "0x10", "99999999999999999999999"])
def test_forged_integers_fail_to_unpack(value: object) -> None:
    for factory in _factories():
        for name in _int_fields(factory):
            low, high = _bounds(factory, name)
            if isinstance(value, int) and low <= value <= high:
                continue
            data = _forged(factory, name, value)
            with pytest.raises((ValueError, TypeError)):
                factory.unpack(data)


def test_day_ordinals_are_dates_of_the_diary_or_zero() -> None:
    from bot.callbacks.journal import JDayCb

    assert JDayCb.unpack("jd:0:0").day == 0
    assert JDayCb.unpack("jd:739000:0").day == 739000
    for absurd in (1, 7, 700000, 3652059, 3652060):
        with pytest.raises(ValidationError):
            JDayCb.unpack(f"jd:{absurd}:0")
