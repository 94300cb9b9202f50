"""Linking: access codes (deep link or typed), the parent's phone, link decisions."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LinkDecisionCb
from bot.config import Settings
from bot.keyboards import contact_keyboard, link_decision_keyboard
from bot.middlewares.domain_errors import error_text
from bot.rendering import Renderer
from bot.states import LinkStates
from bot.telegram import refuse, show_for
from services.core.actors import Actor
from services.core.errors import DomainError
from services.people import codes, linking

CODE_KEY = "code_id"


def _looks_like_code(text: str) -> bool:
    """A typed code: 10 (school code) or 12 (invitation) characters of the code alphabet,
    optionally grouped with spaces or dashes."""
    compact = re.sub(r"[\s\-]", "", text).upper()
    return len(compact) in (10, linking.INVITE_LENGTH) and all(c in codes.ALPHABET for c in compact)


async def _redeem(
    message: Message,
    code_text: str,
    session: AsyncSession,
    state: FSMContext,
    renderer: Renderer,
    settings: Settings,
    code_keys: codes.CodeKeys,
) -> None:
    user = message.from_user
    assert user is not None
    result = await linking.redeem(
        session,
        telegram_id=user.id,
        full_name=user.full_name,
        username=user.username,
        code_text=code_text,
        language_code=user.language_code,
        keys=code_keys,
        attempt_limit=settings.code_attempts_per_hour,
        school_attempt_limit=settings.code_failures_per_hour,
    )
    if result.outcome == linking.Outcome.NEED_CONTACT:
        await state.set_state(LinkStates.waiting_contact)
        await state.update_data({CODE_KEY: result.code_id})
        await message.answer(
            renderer.render("linking/need_contact.html.j2", reminder=False),
            reply_markup=contact_keyboard(),
        )
        return
    await message.answer(renderer.render("linking/linked.html.j2", result=result))


async def start_with_code(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    state: FSMContext,
    renderer: Renderer,
    settings: Settings,
    code_keys: codes.CodeKeys,
) -> None:
    await state.set_state(None)
    await _redeem(message, command.args or "", session, state, renderer, settings, code_keys)


async def typed_code(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    renderer: Renderer,
    settings: Settings,
    code_keys: codes.CodeKeys,
) -> None:
    await _redeem(message, message.text or "", session, state, renderer, settings, code_keys)


async def on_contact(
    message: Message, session: AsyncSession, state: FSMContext, renderer: Renderer
) -> None:
    user = message.from_user
    assert user is not None
    assert message.contact is not None
    code_id = (await state.get_data()).get(CODE_KEY)
    try:
        result = await linking.submit_contact(
            session,
            telegram_id=user.id,
            full_name=user.full_name,
            username=user.username,
            code_id=int(code_id or 0),
            contact_user_id=message.contact.user_id,
            phone=message.contact.phone_number,
            language_code=user.language_code,
        )
    except DomainError as exc:
        # kept: the answer also changes the reply keyboard (ask again, or take it away with
        # the conversation)
        if exc.area != "link":
            raise
        if exc.key in ("link.not_own_contact", "link.bad_phone"):
            await message.answer(error_text(renderer, exc), reply_markup=contact_keyboard())
            return
        await state.set_state(None)
        await message.answer(error_text(renderer, exc), reply_markup=ReplyKeyboardRemove())
        return
    await state.set_state(None)
    await message.answer(
        renderer.render("linking/linked.html.j2", result=result),
        reply_markup=ReplyKeyboardRemove(),
    )


async def cancel_contact(message: Message, state: FSMContext, renderer: Renderer) -> None:
    await state.set_state(None)
    await message.answer(
        renderer.render("linking/cancelled.html.j2"), reply_markup=ReplyKeyboardRemove()
    )


async def remind_contact(message: Message, renderer: Renderer) -> None:
    await message.answer(
        renderer.render("linking/need_contact.html.j2", reminder=True),
        reply_markup=contact_keyboard(),
    )


async def on_link_decision(
    query: CallbackQuery,
    callback_data: LinkDecisionCb,
    actor: Actor,
    session: AsyncSession,
    renderer: Renderer,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    markup = None
    try:
        view = await linking.decide(
            session, actor, callback_data.request_id, approve=callback_data.approve
        )
    except DomainError as exc:
        # kept: a request decided meanwhile, or the student's own, shows the request as it now
        # stands (more than the middleware's answer)
        if exc.key not in ("link.already_decided", "link.same_person"):
            raise
        current = await linking.request_view(session, callback_data.request_id)
        if current is None:
            raise
        view = current
        if exc.key == "link.already_decided":
            callback_answer.text = _("Someone has already decided on this request.")
        else:  # the student's own account: refused, nothing changed, only "Reject" is left
            refuse(callback_answer, error_text(renderer, exc))
            markup = link_decision_keyboard(view.id, approvable=False)
    await show_for(query, bot, renderer.render("linking/request.html.j2", request=view), markup)


def create_router() -> Router:
    router = Router(name="linking")
    router.message.filter(F.chat.type == "private")
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
    router.callback_query.register(on_link_decision, LinkDecisionCb.filter())
    return router
