"""The teacher's journal: /journal, a day's lessons, the lesson card, one-tap grades and the
run-through, attendance, homework and submissions, topic / cancellation / replacement, period
grades, the history of changes and the "not seen by parents" list.

Handlers are thin: they call `services.journal` (with its `periods`) and `services.core.audit`
(which check the actor and commit), render a template and show it in place. The package:
`screens` builds the screens, `actions` handles buttons and /journal, `prompts` keeps the
typed questions waiting in FSM storage and `inputs` takes their answers; every handler gets a
`JournalCtx` built once per update.

Both routers belong to staff. Anyone else pressing a journal button (stale or forged) or
sending /journal is refused by `refuse_outsider`, and nothing is read or changed.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, or_f
from aiogram.types import TelegramObject

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks.journal import JOURNAL_CALLBACKS
from bot.filters import StaffOnly
from handlers.context import context_middleware
from handlers.journal import actions, inputs
from handlers.journal.context import JournalCtx
from handlers.journal.prompts import INPUT, INPUT_TTL, JournalInput
from services.core.access import Action, denied

__all__ = [
    "INPUT",
    "INPUT_TTL",
    "JournalCtx",
    "JournalInput",
    "create_input_router",
    "create_router",
]


async def refuse_outsider(event: TelegramObject) -> None:
    """A journal button or /journal from someone who is not staff: refused ("access.denied",
    answered by the domain-error middleware)."""
    raise denied(Action.READ_CLASS)


def _outsiders() -> Router:
    router = Router(name="journal_outsiders")
    router.message.register(refuse_outsider, Command("journal"))
    buttons = [factory.filter() for factory in JOURNAL_CALLBACKS]
    journal_menu = MenuCb.filter(F.screen == MenuScreen.JOURNAL)
    router.callback_query.register(refuse_outsider, or_f(journal_menu, *buttons))
    return router


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
    router.message.filter(F.chat.type == "private", StaffOnly())
    router.include_router(inputs.create_router())
    return _with_context(router)


def create_router() -> Router:
    """The journal's buttons and /journal for staff, then the refusal of everyone else."""
    router = Router(name="journal")
    router.message.filter(F.chat.type == "private")
    staff = actions.create_router()
    staff.message.filter(StaffOnly())
    staff.callback_query.filter(StaffOnly())
    router.include_routers(staff, _outsiders())
    return _with_context(router)
