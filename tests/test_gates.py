"""A router that belongs to one audience (`bot.filters.gated`): the gate reads the commands and
buttons to refuse off the router it guards, so a handler added there is gated with it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.filters import gated
from services.core.access import Action
from services.core.errors import DomainError

ALICE = User(id=7, is_bot=False, first_name="Alice")


class SecretCb(CallbackData, prefix="tgs"):
    n: int


class OtherCb(CallbackData, prefix="tgo"):
    n: int


class Insiders(Filter):
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    async def __call__(self, event: TelegramObject) -> bool:
        return self.allowed


async def handled(event: TelegramObject) -> str:
    return "handled"


def guarded(allowed: bool) -> Router:
    inside = Router(name="inside")
    inside.message.register(handled, Command("secret"))
    inside.message.register(handled, F.text == "plain words")  # not a command
    deeper = Router(name="deeper")
    deeper.callback_query.register(handled, SecretCb.filter(F.n > 0))
    inside.include_router(deeper)
    return gated("area", Insiders(allowed), inside, refusal=Action.READ_CLASS)


def message(text: str) -> Message:
    chat = Chat(id=ALICE.id, type="private")
    return Message(message_id=1, date=datetime.now(UTC), chat=chat, from_user=ALICE, text=text)


def press(data: str) -> CallbackQuery:
    return CallbackQuery(id="1", from_user=ALICE, chat_instance="c", data=data)


async def route(router: Router, kind: str, event: TelegramObject) -> Any:
    bot = Bot(token="42:TEST")
    try:
        return await router.propagate_event(kind, event, bot=bot)
    finally:
        await bot.session.close()


async def test_insiders_reach_the_handlers() -> None:
    router = guarded(allowed=True)
    assert await route(router, "message", message("/secret")) == "handled"
    assert await route(router, "callback_query", press(SecretCb(n=1).pack())) == "handled"


async def test_outsiders_are_refused_each_command_and_button_of_the_router_and_below() -> None:
    router = guarded(allowed=False)
    for kind, event in (
        ("message", message("/secret")),
        ("callback_query", press(SecretCb(n=1).pack())),  # a sub-router's button, never listed
    ):
        with pytest.raises(DomainError) as refused:
            await route(router, kind, event)
        assert refused.value.key == "access.denied"


async def test_what_the_router_does_not_take_goes_on_to_the_next_routers() -> None:
    router = guarded(allowed=False)
    assert await route(router, "message", message("plain words")) is UNHANDLED
    assert await route(router, "message", message("/other")) is UNHANDLED
    assert await route(router, "callback_query", press(OtherCb(n=1).pack())) is UNHANDLED
    # the button's own rule is the gate's too: a press the handler would not take either
    assert await route(router, "callback_query", press(SecretCb(n=0).pack())) is UNHANDLED
