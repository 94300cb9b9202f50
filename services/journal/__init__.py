"""The teacher's journal (being split into modules by responsibility)."""

from services.journal.context import *  # noqa: F403
