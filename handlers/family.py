"""Parents' screens: who can see my child, trusted persons, unlinking, switching child."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChildCb, GrantCb, GrantOp, InviteCb, MenuCb, UnlinkCb
from bot.callbacks import Screen as MenuScreen
from bot.filters import register_buttons
from bot.keyboards import (
    access_keyboard,
    children_keyboard,
    grant_keyboard,
    invite_keyboard,
    revoke_confirm_keyboard,
    unlink_confirm_keyboard,
)
from bot.screens import Screen
from handlers.common import home_screen
from handlers.context import Ctx
from services.core.access import Action, require
from services.core.actors import Role, load_actor
from services.core.errors import DomainError
from services.core.schooltime import utcnow
from services.people import linking
from services.people.codes import CodeKeys
from services.people.school import EXPIRY_PERIOD, expiry_choices, school_zone


async def _expiries(ctx: Ctx) -> dict[int, datetime]:
    zone = await school_zone(ctx.session, ctx.actor.school_id, ctx.settings.timezone)
    return await expiry_choices(ctx.session, ctx.actor.school_id, now=utcnow(), zone=zone)


async def access_screen(ctx: Ctx) -> Screen:
    """Who can see the parent's current child, with the buttons to invite and manage."""
    child = ctx.actor.current_child(Role.PARENT)
    if child is None:
        return ctx.screen("family/no_child.html.j2")
    holders = await linking.who_can_see(ctx.session, ctx.actor, child.student_id)
    expiries = await _expiries(ctx)
    default_expiry = EXPIRY_PERIOD if EXPIRY_PERIOD in expiries else min(expiries)
    markup = access_keyboard(child.student_id, holders, default_expiry)
    return ctx.screen("family/access.html.j2", markup, child=child, holders=holders)


async def show_access(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/access and the main screen's "Who can see my child"."""
    await ctx.show(await access_screen(ctx))


async def open_children(query: CallbackQuery, ctx: Ctx) -> None:
    await ctx.show(
        ctx.screen("family/children.html.j2", children_keyboard(ctx.actor), actor=ctx.actor)
    )


async def on_child_chosen(query: CallbackQuery, callback_data: ChildCb, ctx: Ctx) -> None:
    await linking.choose_child(ctx.session, ctx.actor, callback_data.student_id)
    ctx.actor = await load_actor(ctx.session, ctx.actor.telegram_id)  # with the child chosen
    await ctx.show(home_screen(ctx))


async def on_invite(
    query: CallbackQuery, callback_data: InviteCb, ctx: Ctx, code_keys: CodeKeys
) -> None:
    """Draft an invitation for a trusted person (scopes and expiry), or create it."""
    data = callback_data
    await require(ctx.session, ctx.actor, Action.MANAGE_TRUSTED, data.student_id)
    expiries = await _expiries(ctx)
    expiry = data.expiry if data.expiry in expiries else min(expiries)
    child = next(c for c in ctx.actor.children if c.student_id == data.student_id)
    if not data.create:
        markup = invite_keyboard(data.student_id, data.scopes, expiry, sorted(expiries))
        await ctx.show(
            ctx.screen(
                "family/invite.html.j2",
                markup,
                child=child,
                scopes=data.scopes,
                expires_at=expiries[expiry],
            )
        )
        return
    grant, code = await linking.create_invitation(
        ctx.session,
        ctx.actor,
        data.student_id,
        scopes=data.scopes,
        expires_at=expiries[expiry],
        label=_("Invitation"),
        keys=code_keys,
        invite_ttl=timedelta(hours=ctx.settings.invite_ttl_hours),
    )
    me = await ctx.bot.me()
    screen = ctx.screen(
        "family/invite_created.html.j2",
        child=child,
        link=f"https://t.me/{me.username}?start={code}",
        code=code,
        scopes=grant.scopes,
        expires_at=grant.expires_at,
        invite_expires_at=grant.invite_expires_at,
    )
    await ctx.show(screen)


async def on_grant(query: CallbackQuery, callback_data: GrantCb, ctx: Ctx) -> None:
    """A trusted grant: open it, change its scopes or expiry, revoke it (asked first)."""
    data, session, actor = callback_data, ctx.session, ctx.actor
    expiries = await _expiries(ctx)
    if data.op == GrantOp.SCOPES:
        await linking.update_grant(session, actor, data.grant_id, scopes=data.value)
    elif data.op == GrantOp.EXPIRY:
        if data.value not in expiries:
            raise DomainError("link.not_found")
        await linking.update_grant(session, actor, data.grant_id, expires_at=expiries[data.value])
    elif data.op == GrantOp.REVOKE:
        await ctx.show(await _revoke(ctx, data))
        return
    view = await linking.grant_view(session, actor, data.grant_id)
    markup = None if view.revoked else grant_keyboard(view.id, view.scopes, sorted(expiries))
    await ctx.show(ctx.screen("family/grant.html.j2", markup, grant=view))


async def _revoke(ctx: Ctx, data: GrantCb) -> Screen:
    """Ask whether to revoke a grant, or (confirmed) revoke it."""
    if not data.confirm:
        preview = await linking.revoke_preview(ctx.session, ctx.actor, data.grant_id)
        markup = revoke_confirm_keyboard(
            preview.grant_id, preview.student_id, by_manager=preview.by_manager
        )
        return ctx.screen("family/revoke_confirm.html.j2", markup, grant=preview)
    grant = await linking.revoke_grant(ctx.session, ctx.actor, data.grant_id)
    if ctx.answer is not None:
        ctx.answer.text = _("Access revoked.")
    if any(c.student_id == grant.student_id and c.via == Role.PARENT for c in ctx.actor.children):
        return await access_screen(ctx)
    return ctx.screen("family/unlinked.html.j2", is_self=False)  # an admin, from the child's list


async def on_unlink(query: CallbackQuery, callback_data: UnlinkCb, ctx: Ctx) -> None:
    gid = callback_data.guardianship_id
    is_self, name = await linking.describe_guardianship(ctx.session, ctx.actor, gid)
    if not callback_data.confirm:
        markup = unlink_confirm_keyboard(gid, is_self=is_self)
        await ctx.show(
            ctx.screen("family/unlink_confirm.html.j2", markup, is_self=is_self, name=name)
        )
        return
    await linking.unlink_guardian(ctx.session, ctx.actor, gid)
    await ctx.show(ctx.screen("family/unlinked.html.j2", is_self=is_self))


def create_router() -> Router:
    router = Router(name="family")
    router.message.register(show_access, Command("access"))
    router.callback_query.register(show_access, MenuCb.filter(F.screen == MenuScreen.ACCESS))
    router.callback_query.register(open_children, MenuCb.filter(F.screen == MenuScreen.CHILDREN))
    register_buttons(router, on_child_chosen, on_invite, on_grant, on_unlink)
    return router
