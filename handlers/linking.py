"""Linking: access codes (deep link or typed) and the parent's phone.

A parent code asks for the parent's own phone number: while the contact is awaited
(`LinkStates.waiting_contact`), the `CONTACT` slot keeps the code it was asked for (a missing,
older or garbled payload counts as an expired code). The staff's decisions on link requests
live with the other staff screens in `handlers.school`.
"""

from __future__ import annotations

from typing import TypedDict

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.types import Message, ReplyKeyboardRemove
from aiogram.utils.i18n import lazy_gettext as __

from bot.keyboards import contact_keyboard
from bot.middlewares.domain_errors import error_text
from bot.states import LinkStates, Payload, Slot
from handlers.context import Ctx
from services.core.errors import DomainError
from services.people import codes, linking


class AwaitedContact(Payload):
    """The parent code whose holder is asked for their phone number."""

    code_id: int


CONTACT = Slot("link_contact", AwaitedContact)


class _Applicant(TypedDict):
    telegram_id: int
    full_name: str
    username: str | None
    language_code: str | None


def _applicant(message: Message) -> _Applicant:
    """Who is linking: the sender as Telegram describes them."""
    user = message.from_user
    assert user is not None
    return _Applicant(
        telegram_id=user.id,
        full_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
    )


def _looks_like_code(text: str) -> bool:
    """A typed code: 10 (school code) or 12 (invitation) characters of the code alphabet,
    optionally grouped, as the service reads them (`codes.normalize_code`: Cyrillic
    look-alikes of a Russian keyboard layout count as the Latin letters)."""
    return any(
        codes.normalize_code(text, length) is not None
        for length in (codes.CODE_LENGTH, linking.INVITE_LENGTH)
    )


async def _redeem(message: Message, ctx: Ctx, code_text: str, keys: codes.CodeKeys) -> None:
    result = await linking.redeem(
        ctx.session,
        **_applicant(message),
        code_text=code_text,
        keys=keys,
        attempt_limit=ctx.settings.code_attempts_per_hour,
        school_attempt_limit=ctx.settings.code_failures_per_hour,
    )
    if result.outcome == linking.Outcome.NEED_CONTACT:
        assert result.code_id is not None
        await ctx.state.set_state(LinkStates.waiting_contact)
        await CONTACT.save(ctx.state, AwaitedContact(code_id=result.code_id))
        await message.answer(
            ctx.render("linking/need_contact.html.j2", reminder=False),
            reply_markup=contact_keyboard(),
        )
        return
    await ctx.show(ctx.screen("linking/linked.html.j2", result=result))


async def start_with_code(
    message: Message, command: CommandObject, ctx: Ctx, code_keys: codes.CodeKeys
) -> None:
    await ctx.state.set_state(None)
    await _redeem(message, ctx, command.args or "", code_keys)


async def typed_code(message: Message, ctx: Ctx, code_keys: codes.CodeKeys) -> None:
    await _redeem(message, ctx, message.text or "", code_keys)


async def on_contact(message: Message, ctx: Ctx) -> None:
    assert message.contact is not None
    awaited = await CONTACT.load(ctx.state)
    try:
        result = await linking.submit_contact(
            ctx.session,
            **_applicant(message),
            code_id=awaited.code_id if awaited is not None else 0,  # 0: no code (expired)
            contact_user_id=message.contact.user_id,
            phone=message.contact.phone_number,
        )
    except DomainError as exc:
        # kept: the answer also changes the reply keyboard (ask again, or take it away with
        # the conversation)
        if exc.area != "link":
            raise
        if exc.key in ("link.not_own_contact", "link.bad_phone"):
            await message.answer(error_text(ctx.renderer, exc), reply_markup=contact_keyboard())
            return
        await CONTACT.clear(ctx.state)
        await message.answer(error_text(ctx.renderer, exc), reply_markup=ReplyKeyboardRemove())
        return
    await CONTACT.clear(ctx.state)
    await message.answer(
        ctx.render("linking/linked.html.j2", result=result), reply_markup=ReplyKeyboardRemove()
    )


async def cancel_contact(message: Message, ctx: Ctx) -> None:
    await CONTACT.clear(ctx.state)
    await message.answer(
        ctx.render("linking/cancelled.html.j2"), reply_markup=ReplyKeyboardRemove()
    )


async def remind_contact(message: Message, ctx: Ctx) -> None:
    await message.answer(
        ctx.render("linking/need_contact.html.j2", reminder=True), reply_markup=contact_keyboard()
    )


def create_router() -> Router:
    router = Router(name="linking")
    router.message.register(start_with_code, CommandStart(deep_link=True))
    router.message.register(on_contact, StateFilter(LinkStates.waiting_contact), F.contact)
    router.message.register(
        cancel_contact, StateFilter(LinkStates.waiting_contact), F.text == __("Cancel")
    )
    router.message.register(
        remind_contact, StateFilter(LinkStates.waiting_contact), ~F.text.startswith("/")
    )
    # a typed code only outside other conversations (a 10-letter reason is not a code)
    router.message.register(typed_code, StateFilter(None), F.text.func(_looks_like_code))
    return router
