"""aiogram's Bot API models built on first use instead of at import: about 90 MB less per
process and 2-3 s less start-up.

aiogram declares its ~300 types with pydantic's ``defer_build``, then undoes it at the end of
``aiogram/types/__init__.py``: it calls ``model_rebuild`` on every type with a namespace of
all the types (the modules import each other only under ``TYPE_CHECKING``, so forward
references need it). That builds every validator and serializer, some 150 MB of pydantic-core
structures, though a bot validates a handful of types (``Update``, ``Message``, the methods it
calls). `defer_model_builds` imports ``aiogram.types`` with those calls turned into recording
the namespace, and puts the namespace's names into the type and method modules' globals,
where pydantic looks for forward references when it builds a model on first use. Nothing else
changes: a model is built by pydantic the same way, only later and only when used.

It must run before anything imports aiogram: ``bot/__init__.py`` calls it, so every entry point
(``parta``, ``python -m bot.notifier``, the tests, the benchmarks) gets it; if aiogram was
imported already, it changes nothing. ``tests/test_lighter.py`` checks that the types stay
unbuilt after the bot's start-up and that the whole suite runs with them deferred.
"""

from __future__ import annotations

import sys
from typing import Any

MODEL_MODULES = ("aiogram.types.", "aiogram.methods.")


def defer_model_builds() -> bool:
    """Import ``aiogram.types`` with its models' builds deferred; False when it was imported
    before (too late to defer anything)."""
    if "aiogram.types" in sys.modules:
        return False
    from pydantic import BaseModel

    rebuild = BaseModel.__dict__["model_rebuild"]  # the classmethod itself
    namespace: dict[str, Any] = {}

    def record(cls: type[BaseModel], /, *, _types_namespace: Any = None, **kwargs: Any) -> Any:
        if _types_namespace is not None and cls.__module__.startswith(MODEL_MODULES):
            namespace.update(_types_namespace)
            return None
        return rebuild.__func__(cls, _types_namespace=_types_namespace, **kwargs)

    setattr(BaseModel, "model_rebuild", classmethod(record))  # noqa: B010 (mypy: a method)
    try:
        import aiogram.types  # noqa: F401
    finally:
        setattr(BaseModel, "model_rebuild", rebuild)  # noqa: B010
    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith(MODEL_MODULES):
            for key, value in namespace.items():
                module.__dict__.setdefault(key, value)
    return True
