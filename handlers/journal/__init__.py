"""The teacher's journal: /journal, a day's lessons, the lesson card, one-tap grades and the
run-through, attendance, homework and submissions, topic / cancellation / replacement, period
grades, the history of changes and the "not seen by parents" list.

Handlers are thin: they call `services.journal` (with its `periods`) and `services.core.audit`
(which check the actor and commit), render a template and show it in place. The package:
`screens` builds the screens, `actions` handles buttons and /journal, `prompts` keeps the
typed questions waiting in FSM storage and `inputs` takes their answers; every handler gets a
`JournalCtx` built once per update.

Both routers belong to staff. Anyone else pressing a journal button (stale or forged) or
sending /journal is refused by the gate (`bot.filters.gated`), and nothing is read or changed.
"""

from __future__ import annotations

from aiogram import Router

from bot.filters import StaffOnly, gated
from handlers.context import context_middleware
from handlers.journal import actions, inputs
from handlers.journal.context import JournalCtx
from handlers.journal.prompts import INPUT, INPUT_TTL, JournalInput
from services.core.access import Action

__all__ = [
    "INPUT",
    "INPUT_TTL",
    "JournalCtx",
    "JournalInput",
    "create_input_router",
    "create_router",
]


def _with_context(router: Router) -> Router:
    ctx = context_middleware(JournalCtx)
    router.message.middleware(ctx)
    router.callback_query.middleware(ctx)
    return router


def create_input_router() -> Router:
    """The answers to the journal's prompts. Registered before every other router: while a
    prompt waits, the teacher's next message is its answer (even one that looks like an
    access code)."""
    router = Router(name="journal_input")
    router.message.filter(StaffOnly())
    router.include_router(inputs.create_router())
    return _with_context(router)


def create_router() -> Router:
    """The journal's buttons and /journal for staff, then the refusal of everyone else."""
    router = gated(
        "journal",
        StaffOnly(),
        actions.create_router(),
        refusal=Action.READ_CLASS,
    )
    return _with_context(router)
