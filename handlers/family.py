"""Parents' screens: who can see my child, trusted persons, unlinking, switching child."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChildCb, GrantCb, GrantOp, InviteCb, MenuCb, Screen, UnlinkCb
from bot.config import Settings
from bot.keyboards import (
    access_keyboard,
    children_keyboard,
    grant_keyboard,
    invite_keyboard,
    revoke_confirm_keyboard,
    unlink_confirm_keyboard,
)
from bot.rendering import Renderer
from bot.telegram import show_for
from db.base import utcnow
from handlers.common import render_home
from services.core.access import Action, require
from services.core.actors import Actor, Role, load_actor
from services.core.errors import DomainError
from services.people import linking
from services.people.codes import CodeKeys
from services.people.school import EXPIRY_PERIOD, expiry_choices, school_zone


async def _expiries(session: AsyncSession, actor: Actor, settings: Settings) -> dict[int, datetime]:
    zone = await school_zone(session, actor.school_id, settings.timezone)
    return await expiry_choices(session, actor.school_id, now=utcnow(), zone=zone)


async def render_access(
    session: AsyncSession, actor: Actor, renderer: Renderer, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    child = actor.current_child(Role.PARENT)
    if child is None:
        return renderer.render("family/no_child.html.j2"), None
    holders = await linking.who_can_see(session, actor, child.student_id)
    expiries = await _expiries(session, actor, settings)
    default_expiry = EXPIRY_PERIOD if EXPIRY_PERIOD in expiries else min(expiries)
    text = renderer.render("family/access.html.j2", child=child, holders=holders)
    return text, access_keyboard(child.student_id, holders, default_expiry)


async def access_command(
    message: Message, session: AsyncSession, actor: Actor, renderer: Renderer, settings: Settings
) -> None:
    text, markup = await render_access(session, actor, renderer, settings)
    await message.answer(text, reply_markup=markup)


async def open_access(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
) -> None:
    text, markup = await render_access(session, actor, renderer, settings)
    await show_for(query, bot, text, markup)


async def open_children(query: CallbackQuery, actor: Actor, renderer: Renderer, bot: Bot) -> None:
    await show_for(
        query,
        bot,
        renderer.render("family/children.html.j2", actor=actor),
        children_keyboard(actor),
    )


async def on_child_chosen(
    query: CallbackQuery,
    callback_data: ChildCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    await linking.choose_child(session, actor, callback_data.student_id)
    actor = await load_actor(session, actor.telegram_id)
    text, markup = render_home(actor, renderer)
    await show_for(query, bot, text, markup)


async def on_invite(
    query: CallbackQuery,
    callback_data: InviteCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    code_keys: CodeKeys,
    bot: Bot,
) -> None:
    await require(session, actor, Action.MANAGE_TRUSTED, callback_data.student_id)
    expiries = await _expiries(session, actor, settings)
    expiry = callback_data.expiry if callback_data.expiry in expiries else min(expiries)
    child = next(c for c in actor.children if c.student_id == callback_data.student_id)
    if callback_data.create:
        grant, code = await linking.create_invitation(
            session,
            actor,
            callback_data.student_id,
            scopes=callback_data.scopes,
            expires_at=expiries[expiry],
            label=_("Invitation"),
            keys=code_keys,
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
        )
        me = await bot.me()
        link = f"https://t.me/{me.username}?start={code}"
        await show_for(
            query,
            bot,
            renderer.render(
                "family/invite_created.html.j2",
                child=child,
                link=link,
                code=code,
                scopes=grant.scopes,
                expires_at=grant.expires_at,
                invite_expires_at=grant.invite_expires_at,
            ),
        )
        return
    await show_for(
        query,
        bot,
        renderer.render(
            "family/invite.html.j2",
            child=child,
            scopes=callback_data.scopes,
            expires_at=expiries[expiry],
        ),
        invite_keyboard(callback_data.student_id, callback_data.scopes, expiry, sorted(expiries)),
    )


async def on_grant(
    query: CallbackQuery,
    callback_data: GrantCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    expiries = await _expiries(session, actor, settings)
    if callback_data.op == GrantOp.SCOPES:
        await linking.update_grant(
            session, actor, callback_data.grant_id, scopes=callback_data.value
        )
    elif callback_data.op == GrantOp.EXPIRY:
        if callback_data.value not in expiries:
            raise DomainError("link.not_found")
        await linking.update_grant(
            session, actor, callback_data.grant_id, expires_at=expiries[callback_data.value]
        )
    elif callback_data.op == GrantOp.REVOKE and not callback_data.confirm:
        preview = await linking.revoke_preview(session, actor, callback_data.grant_id)
        await show_for(
            query,
            bot,
            renderer.render("family/revoke_confirm.html.j2", grant=preview),
            revoke_confirm_keyboard(
                preview.grant_id, preview.student_id, by_manager=preview.by_manager
            ),
        )
        return
    elif callback_data.op == GrantOp.REVOKE:
        grant = await linking.revoke_grant(session, actor, callback_data.grant_id)
        callback_answer.text = _("Access revoked.")
        if any(c.student_id == grant.student_id and c.via == Role.PARENT for c in actor.children):
            text, markup = await render_access(session, actor, renderer, settings)
        else:  # an admin, from the child's access list
            text, markup = renderer.render("family/unlinked.html.j2", is_self=False), None
        await show_for(query, bot, text, markup)
        return
    view = await linking.grant_view(session, actor, callback_data.grant_id)
    markup = None if view.revoked else grant_keyboard(view.id, view.scopes, sorted(expiries))
    await show_for(
        query,
        bot,
        renderer.render("family/grant.html.j2", grant=view),
        markup,
    )


async def on_unlink(
    query: CallbackQuery,
    callback_data: UnlinkCb,
    session: AsyncSession,
    actor: Actor,
    renderer: Renderer,
    bot: Bot,
) -> None:
    is_self, name = await linking.describe_guardianship(
        session, actor, callback_data.guardianship_id
    )
    if not callback_data.confirm:
        await show_for(
            query,
            bot,
            renderer.render("family/unlink_confirm.html.j2", is_self=is_self, name=name),
            unlink_confirm_keyboard(callback_data.guardianship_id, is_self=is_self),
        )
        return
    await linking.unlink_guardian(session, actor, callback_data.guardianship_id)
    await show_for(
        query,
        bot,
        renderer.render("family/unlinked.html.j2", is_self=is_self),
    )


def create_router() -> Router:
    router = Router(name="family")
    router.message.register(access_command, Command("access"))
    router.callback_query.register(open_access, MenuCb.filter(F.screen == Screen.ACCESS))
    router.callback_query.register(open_children, MenuCb.filter(F.screen == Screen.CHILDREN))
    router.callback_query.register(on_child_chosen, ChildCb.filter())
    router.callback_query.register(on_invite, InviteCb.filter())
    router.callback_query.register(on_grant, GrantCb.filter())
    router.callback_query.register(on_unlink, UnlinkCb.filter())
    return router
