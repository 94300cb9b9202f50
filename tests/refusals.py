"""`raises_key`: `pytest.raises` for the one domain error, checking which refusal it is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.core.errors import DomainError


@contextmanager
def raises_key(key: str) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """Expect a `DomainError` with exactly this key ("area.reason")."""
    with pytest.raises(DomainError) as info:
        yield info
    assert info.value.key == key, f"refused with {info.value.key!r}, expected {key!r}"
