"""FSM states (kept small: only multi-message conversations need them)."""

from aiogram.fsm.state import State, StatesGroup


class LinkStates(StatesGroup):
    waiting_contact = State()


class SubmitStates(StatesGroup):
    """A student hands in homework: files and photos are collected until "Done"."""

    collecting = State()
