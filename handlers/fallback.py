"""Last resort: anything no other router took gets an answer, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.context import Ctx


async def on_unknown_message(message: Message, ctx: Ctx) -> None:
    await ctx.show(ctx.screen("common/unknown_message.html.j2", actor=ctx.actor))


async def on_unknown_button(query: CallbackQuery, ctx: Ctx) -> None:
    ctx.alert(_("This button is out of date. Send /start to get a fresh screen."))


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_unknown_message)
    router.callback_query.register(on_unknown_button)
    return router
