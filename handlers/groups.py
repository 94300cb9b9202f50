"""Group chats: Parta lives in private chats only (`handlers.create_routers` keeps every other
router there). In a group a command gets one short pointer to the private chat, a button press
an alert; nothing is read, changed or shown."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.screens import Screen
from handlers.context import Ctx, context_middleware

ANY_COMMAND = Command(re.compile(r".+"))  # ours only: "/cmd@other_bot" is not answered


def in_private_chat(query: CallbackQuery) -> bool:
    """Was the button pressed in a private chat? (A button of an inline message, which has no
    chat, is not.)"""
    return query.message is not None and query.message.chat.type == ChatType.PRIVATE


def outside_private_chat(query: CallbackQuery) -> bool:
    return not in_private_chat(query)


async def _pointer(ctx: Ctx) -> str:
    me = await ctx.bot.me()
    return ctx.render("common/private_only.html.j2", bot_username=me.username)


async def on_group_command(message: Message, ctx: Ctx) -> None:
    await ctx.show(Screen(await _pointer(ctx)))


async def on_group_button(query: CallbackQuery, ctx: Ctx) -> None:
    ctx.alert(await _pointer(ctx))


def create_router() -> Router:
    router = Router(name="groups")
    router.message.middleware(context_middleware())
    router.callback_query.middleware(context_middleware())
    router.message.register(on_group_command, F.chat.type != ChatType.PRIVATE, ANY_COMMAND)
    router.callback_query.register(on_group_button, outside_private_chat)
    return router
