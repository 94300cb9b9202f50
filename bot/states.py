"""FSM states (kept small: only multi-message conversations need them)."""

from aiogram.fsm.state import State, StatesGroup


class LinkStates(StatesGroup):
    waiting_contact = State()
