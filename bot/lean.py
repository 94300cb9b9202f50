"""aiogram's Bot API models built on first use instead of at import: about 90 MB less per
process and 2-3 s less start-up.

aiogram declares its ~300 types with pydantic's ``defer_build``, then undoes it at the end of
``aiogram/types/__init__.py``: it calls ``model_rebuild`` on every type with a namespace of
all the types (the modules import each other only under ``TYPE_CHECKING``, so forward
references need it). That builds every validator and serializer, some 90 MB of pydantic-core
structures, though a bot validates a handful of types (``Update``, ``Message``, the methods it
calls). `defer_model_builds` has aiogram imported with those calls turned into recording the
namespace; the methods, created while the types are still incomplete, are left incomplete too
(pydantic builds such a model on first use). Once the whole package is imported, the
namespace's names go into the type and method modules' globals, where pydantic looks for
forward references when it builds a model on first use. Nothing else changes: a model is
built by pydantic the same way, only later and only when used.

It must be installed before anything imports aiogram: ``bot/__init__.py`` installs it, so every
entry point (``parta``, ``python -m bot.notifier``, the tests, the benchmarks) gets it. It is an
import hook, not an import: a process that never imports aiogram (the rendering worker of
``bot/workers.py``) does not pay for it. If aiogram was imported already, it changes nothing.
``tests/test_lighter.py`` checks that the types stay unbuilt after the bot's start-up and that
the ones used parse and serialise; the whole suite runs with them deferred.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

PACKAGE = "aiogram"
MODEL_MODULES = ("aiogram.types.", "aiogram.methods.")


def defer_model_builds() -> bool:
    """Install the hook; False when aiogram was imported before (too late)."""
    if PACKAGE in sys.modules:
        return False
    if not any(isinstance(finder, _TypesFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TypesFinder())
    return True


class _TypesFinder(importlib.abc.MetaPathFinder):
    """Finds the ``aiogram`` package as the path finder does, with `_DeferringLoader` as its
    loader (once: then it steps aside)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PACKAGE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.abc.Loader):
            return spec
        spec.loader = _DeferringLoader(spec.loader)
        return spec


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def __getattr__(self, name: str) -> Any:
        """The rest is the path loader's (``get_source`` for tracebacks, resource readers)."""
        if name == "loader":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.loader, name)

    def exec_module(self, module: ModuleType) -> None:
        from pydantic import BaseModel

        rebuild = BaseModel.__dict__["model_rebuild"]  # the classmethod itself
        namespace: dict[str, Any] = {}

        def record(cls: type[BaseModel], /, *, _types_namespace: Any = None, **kw: Any) -> Any:
            if _types_namespace is not None and cls.__module__.startswith(MODEL_MODULES):
                namespace.update(_types_namespace)
                return None
            return rebuild.__func__(cls, _types_namespace=_types_namespace, **kw)

        setattr(BaseModel, "model_rebuild", classmethod(record))  # noqa: B010 (mypy: a method)
        try:
            self.loader.exec_module(module)
        finally:
            setattr(BaseModel, "model_rebuild", rebuild)  # noqa: B010
        for name, loaded in list(sys.modules.items()):
            if loaded is not None and name.startswith(MODEL_MODULES):
                for key, value in namespace.items():
                    loaded.__dict__.setdefault(key, value)
