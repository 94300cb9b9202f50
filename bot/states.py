"""FSM states (kept small: only multi-message conversations need them) and the typed payloads
that wait with them.

A conversation keeps what it needs in FSM storage as a `Payload` (a frozen pydantic model)
under one `Slot`, the one way to store and load it. Storage keeps JSON, so a payload is stored
as its `model_dump(mode="json")` and read back with validation: a value that does not validate
(written by an older version, or garbage) loads as None — the conversation has expired.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, ValidationError


class LinkStates(StatesGroup):
    waiting_contact = State()


class SubmitStates(StatesGroup):
    """A student hands in homework: files and photos are collected until "Done"."""

    collecting = State()


class Payload(BaseModel):
    """What a conversation keeps between messages: typed, immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=Payload)


class Slot(Generic[P]):
    """One FSM data key holding one kind of payload."""

    def __init__(self, key: str, model: type[P]) -> None:
        self.key = key
        self.model = model

    def parse(self, value: Any) -> P | None:
        """A stored value as the payload, or None when it is not one (missing, another
        version's format, garbage)."""
        if not isinstance(value, dict):
            return None
        try:
            return self.model.model_validate(value)
        except ValidationError:
            return None

    async def load(self, state: FSMContext) -> P | None:
        """The payload kept in `state`, or None (see `parse`)."""
        return self.parse((await state.get_data()).get(self.key))

    async def save(self, state: FSMContext, payload: P | None) -> None:
        """Keep `payload` in `state` (None: forget it)."""
        value = payload.model_dump(mode="json") if payload is not None else None
        await state.update_data({self.key: value})

    async def clear(self, state: FSMContext) -> None:
        """Leave the conversation: no state, no payload."""
        await state.set_state(None)
        await self.save(state, None)
