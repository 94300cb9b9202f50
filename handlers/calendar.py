"""The school calendar: the diary's "Calendar file" button (the child's lessons and homework
due dates as an .ics document) and, in webhook mode, the private subscription link in
/settings (made, made anew, revoked)."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.calendar_feed import feed_url
from bot.callbacks.diary import CalendarFileCb
from bot.callbacks.notify import CalendarFeedCb, FeedOp
from bot.config import Settings
from bot.filters import register_buttons
from bot.keyboards import notify as kb
from bot.screens import Screen
from handlers.context import Ctx
from services.core.actors import Actor
from services.diary import calendar


def subscriptions_offered(settings: Settings, actor: Actor) -> bool:
    """The subscription link is served by the webhook server: webhook mode only, and only
    for someone who follows a student."""
    return settings.webhook_url is not None and calendar.may_subscribe(actor)


async def on_calendar_file(query: CallbackQuery, callback_data: CalendarFileCb, ctx: Ctx) -> None:
    """Send the student's calendar as a document (the diary menu's "Calendar file")."""
    events = await calendar.student_events(ctx.session, ctx.actor, callback_data.student_id)
    await ctx.session.commit()  # nothing to write: end the read before talking to Telegram
    await ctx.bot.send_chat_action(ctx.chat_id, ChatAction.UPLOAD_DOCUMENT)
    name = calendar.calendar_name([events], _)
    data = calendar.calendar_ics([events], _, name=name)
    caption = ctx.render(
        "calendar/file.html.j2",
        events=events,
        subscribe=subscriptions_offered(ctx.settings, ctx.actor),
    )
    document = BufferedInputFile(data, calendar.file_name(events))
    await ctx.bot.send_document(ctx.chat_id, document, caption=caption)


async def feed_screen(ctx: Ctx, *, revoked: bool = False) -> Screen:
    token = await calendar.feed_token(ctx.session, ctx.actor)
    url = feed_url(ctx.settings.webhook_url, token) if token else None
    markup = kb.calendar_feed_keyboard(url is not None)
    return ctx.screen("calendar/feed.html.j2", markup, url=url, revoked=revoked)


async def on_feed(query: CallbackQuery, callback_data: CalendarFeedCb, ctx: Ctx) -> None:
    """Settings → Calendar subscription: the link, and making or revoking it."""
    if not subscriptions_offered(ctx.settings, ctx.actor):
        ctx.alert(ctx.render("calendar/unavailable.html.j2"))
        return
    revoked = False
    if callback_data.op == FeedOp.CREATE:
        await calendar.create_feed(ctx.session, ctx.actor)
        ctx.tell(_("A new link is made."))
    elif callback_data.op == FeedOp.REVOKE:
        revoked = await calendar.revoke_feed(ctx.session, ctx.actor)
        if revoked:
            ctx.tell(_("The link is revoked."))
    await ctx.show(await feed_screen(ctx, revoked=revoked))


def create_router() -> Router:
    router = Router(name="calendar")
    register_buttons(router, on_calendar_file, on_feed)
    return router
