"""Sample contexts for every template: one module per area, each with a `SAMPLES` dict
(template name → list of contexts). `tests/test_texts.py` renders every template with each of
its samples in every locale; a template without samples fails that test."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def all_samples() -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        samples = importlib.import_module(f"{__name__}.{module.name}").SAMPLES
        overlap = set(merged) & set(samples)
        assert not overlap, f"templates sampled twice: {overlap}"
        merged.update(samples)
    return merged
