"""Staff screens for linking: pending link requests and the decisions on them, access by
class, revoking, codes and letters.

The router belongs to staff (`bot.filters.gated`): anyone else sending /requests, /classes or
/codes, or pressing one of these screens' buttons (stale or forged), is refused before any
service runs. The services still check every read and write (a teacher without a class sees
no classes; only admins issue codes).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import workers
from bot.callbacks import ClassCb, CodesCb, LinkDecisionCb, MenuCb, StudentAccessCb
from bot.callbacks import Screen as MenuScreen
from bot.filters import StaffOnly, gated, register_buttons
from bot.keyboards import (
    class_list_keyboard,
    codes_kind_keyboard,
    codes_reissue_keyboard,
    link_decision_keyboard,
    student_access_keyboard,
    students_keyboard,
)
from bot.middlewares.domain_errors import error_text
from bot.screens import Screen
from bot.telegram import send_long
from db.enums import CodeKind
from handlers.context import Ctx
from services.core.access import Action, denied, require
from services.core.actors import Role
from services.core.errors import DomainError
from services.core.schooltime import utcnow
from services.people import codes, linking, school

# --- link requests ----------------------------------------------------------------------------


async def show_requests(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/requests and "Link requests": each pending request as a message of its own."""
    requests = await linking.pending_requests(ctx.session, ctx.actor)
    if not requests:
        await ctx.bot.send_message(ctx.chat_id, ctx.render("school/no_requests.html.j2"))
        return
    for request in requests:
        await ctx.bot.send_message(
            ctx.chat_id,
            ctx.render("linking/request.html.j2", request=request),
            reply_markup=link_decision_keyboard(request.id, approvable=not request.own_account),
        )


async def on_link_decision(query: CallbackQuery, callback_data: LinkDecisionCb, ctx: Ctx) -> None:
    """Approve or reject a request; one decided meanwhile, or the student's own, shows the
    request as it now stands."""
    request_id = callback_data.request_id
    markup = None
    try:
        view = await linking.decide(
            ctx.session, ctx.actor, request_id, approve=callback_data.approve
        )
    except DomainError as exc:
        # kept: more than the middleware's answer (the request is shown as it now stands)
        current = None
        if exc.key in ("link.already_decided", "link.same_person"):
            current = await linking.request_view(ctx.session, request_id)
        if current is None:
            raise
        view = current
        if exc.key == "link.already_decided" and ctx.answer is not None:
            ctx.answer.text = _("Someone has already decided on this request.")
        elif exc.key == "link.same_person":  # refused, nothing changed, only "Reject" is left
            ctx.alert(error_text(ctx.renderer, exc))
            markup = link_decision_keyboard(view.id, approvable=False)
    await ctx.show(ctx.screen("linking/request.html.j2", markup, request=view))


# --- access by class --------------------------------------------------------------------------


async def _class_menu(ctx: Ctx, *, for_codes: bool) -> Screen:
    classes = await school.visible_classes(ctx.session, ctx.actor)
    if not classes:
        raise denied(Action.READ_CLASS)
    template = "school/codes_classes.html.j2" if for_codes else "school/classes.html.j2"
    return ctx.screen(template, class_list_keyboard(classes, for_codes=for_codes))


async def show_classes(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/classes and "Access by class"."""
    await ctx.show(await _class_menu(ctx, for_codes=False))


async def on_class(query: CallbackQuery, callback_data: ClassCb, ctx: Ctx) -> None:
    class_name, rows = await school.class_access(
        ctx.session, ctx.actor, callback_data.class_id, now=utcnow()
    )
    text = ctx.render("school/class_access.html.j2", class_name=class_name, rows=rows)
    await send_long(ctx.bot, ctx.chat_id, text, reply_markup=students_keyboard(rows))


async def on_student_access(query: CallbackQuery, callback_data: StudentAccessCb, ctx: Ctx) -> None:
    holders = await linking.who_can_see(ctx.session, ctx.actor, callback_data.student_id)
    name = await school.student_name(ctx.session, callback_data.student_id)
    markup = student_access_keyboard(holders) if ctx.actor.has(Role.ADMIN) else None
    await ctx.show(
        ctx.screen("school/student_access.html.j2", markup, name=name or "", holders=holders)
    )


# --- access codes and letters -----------------------------------------------------------------


async def show_codes(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/codes and "Access codes": the classes to issue codes for."""
    await require(ctx.session, ctx.actor, Action.ISSUE_CODES)
    await ctx.show(await _class_menu(ctx, for_codes=True))


async def on_codes(
    query: CallbackQuery, callback_data: CodesCb, ctx: Ctx, code_keys: codes.CodeKeys
) -> None:
    """A class's codes: which letters (parents' or students'), a confirmation before codes
    still unused are replaced, then the letters (PDF) and the list (CSV)."""
    data = callback_data
    if data.kind is None or data.kind == CodeKind.STAFF:
        class_name = await school.class_name_for_codes(ctx.session, ctx.actor, data.class_id)
        markup = codes_kind_keyboard(data.class_id)
        await ctx.show(ctx.screen("school/codes_kind.html.j2", markup, class_name=class_name))
        return
    batch = await school.issue_class_codes(
        ctx.session, ctx.actor, data.class_id, data.kind, keys=code_keys, replacing=data.replace
    )
    if isinstance(batch, school.ReissueNeeded):
        markup = codes_reissue_keyboard(data.class_id, batch.kind, batch.newest_id)
        screen = ctx.screen(
            "school/codes_reissue.html.j2",
            markup,
            class_name=batch.class_name,
            kind=batch.kind.value,
            count=batch.unused,
            again=bool(data.replace),
        )
        await ctx.show(screen)
        return
    if not batch.codes:
        ctx.alert(ctx.render("school/codes_error.html.j2", key="empty"))
        return
    await _send_letters(ctx, data, batch)


async def _send_letters(ctx: Ctx, data: CodesCb, batch: school.IssuedBatch) -> None:
    assert data.kind is not None
    username = (await ctx.bot.me()).username or "bot"
    # the PDF takes seconds of CPU: rendered in the worker process, the button answered first
    # and "sending a file…" shown (renewed every 5 s) meanwhile
    pdf, csv_text = await ctx.in_worker(
        workers.letters_files,
        batch.codes,
        school_name=batch.school_name,
        bot_username=username,
        timezone=batch.timezone,
        catalogs=str(ctx.renderer.i18n.path),
        domain=ctx.renderer.i18n.domain,
    )
    stem = f"codes-{data.class_id}-{data.kind.value}"
    caption = ctx.render(
        "school/codes_issued.html.j2",
        class_name=batch.class_name,
        kind=data.kind.value,
        count=len(batch.codes),
    )
    if data.replace:  # the confirmation screen: no button on it may act again
        await ctx.show(Screen(caption))
    pdf_file = BufferedInputFile(pdf, f"{stem}.pdf")
    await ctx.bot.send_document(ctx.chat_id, pdf_file, caption=caption)
    csv_file = BufferedInputFile(csv_text.encode("utf-8"), f"{stem}.csv")
    await ctx.bot.send_document(ctx.chat_id, csv_file)


BUTTONS = (on_link_decision, on_class, on_student_access, on_codes)


def _staff_router() -> Router:
    router = Router(name="school_staff")
    router.message.register(show_requests, Command("requests"))
    router.message.register(show_classes, Command("classes"))
    router.message.register(show_codes, Command("codes"))
    menu = router.callback_query
    menu.register(show_requests, MenuCb.filter(F.screen == MenuScreen.REQUESTS))
    menu.register(show_classes, MenuCb.filter(F.screen == MenuScreen.CLASSES))
    menu.register(show_codes, MenuCb.filter(F.screen == MenuScreen.CODES))
    register_buttons(router, *BUTTONS)
    return router


def create_router() -> Router:
    return gated(
        "school",
        StaffOnly(),
        _staff_router(),
        refusal=Action.READ_CLASS,
    )
