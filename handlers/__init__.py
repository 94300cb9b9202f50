"""Routers, one module per area; `create_routers()` returns them in priority order.

Every area router lives in private chats only: one parent router filters messages by their
chat and button presses by the chat of the pressed message, so no area can forget it (a group
would otherwise see a child's data, an invitation link, a journal). A router built for groups
would be returned next to it; today only `groups` is, and it only points to the private chat.

Every handler gets its update's `ctx` (`handlers.context.Ctx`, built by the private router's
middleware; the journal's routers build their own `JournalCtx`).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from handlers import (
    calendar,
    common,
    diary,
    fallback,
    family,
    groups,
    journal,
    linking,
    notify,
    reports,
    roster,
    school,
)
from handlers.context import context_middleware


def create_private_router() -> Router:
    """All the areas, in priority order, behind the private-chat filter."""
    private = Router(name="private")
    private.message.filter(F.chat.type == ChatType.PRIVATE)
    private.callback_query.filter(groups.in_private_chat)
    private.message.middleware(context_middleware())
    private.callback_query.middleware(context_middleware())
    private.include_routers(
        journal.create_input_router(),
        linking.create_router(),
        common.create_router(),
        family.create_router(),
        school.create_router(),
        roster.create_router(),
        reports.create_router(),
        diary.create_router(),
        calendar.create_router(),
        journal.create_router(),
        notify.create_router(),
        fallback.create_router(),
    )
    return private


def create_routers() -> list[Router]:
    return [create_private_router(), groups.create_router()]
