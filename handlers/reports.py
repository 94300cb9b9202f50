"""The staff's /reports: a report kind, then the class (not for the school summary), the
period and the format, with buttons; then the report as chat messages, or as an Excel
workbook, a PDF or a chart rendered in the worker process (`bot.workers.report_file`) while
"sending a file…" shows.

The router belongs to staff (`bot.filters.gated`): anyone else is refused before any service
runs. Every press is checked again by `services.reports.staff` (the kind for the role, the
class for the actor, the period in the school's year): a forged or stale press of another
role or of another school's class gets the policy's refusal and changes nothing.
"""

from __future__ import annotations

import re
from datetime import date

from aiogram import F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb
from bot.callbacks import Screen as MenuScreen
from bot.callbacks.reports import ReportCb
from bot.filters import StaffOnly, gated, register_buttons
from bot.keyboards import reports as kb
from db.enums import PeriodKind
from handlers.context import Ctx
from services.core.access import Action, denied
from services.core.schooltime import local_today, zone_of
from services.diary.periods import PeriodInfo
from services.reports import Format, Report, ReportKind, chat_messages, document
from services.reports import staff as offer


def _narrowed_anywhere(ctx: Ctx) -> bool:
    """Whether some class summary of the actor's holds only their own subjects."""
    return not offer.school_wide(ctx.actor)


async def show_reports(event: Message | CallbackQuery, ctx: Ctx) -> None:
    """/reports and "Reports": the kinds the actor's roles allow."""
    kinds = offer.offered_kinds(ctx.actor)
    await ctx.show(
        ctx.screen(
            "reports/menu.html.j2", kb.kinds_keyboard(kinds), narrowed=_narrowed_anywhere(ctx)
        )
    )


async def on_report(query: CallbackQuery, callback_data: ReportCb, ctx: Ctx) -> None:
    """One step of the choice: the kinds, the classes, the periods, the formats, or (all
    chosen) the report itself; every step checks the actor again."""
    data = callback_data
    kind = data.kind
    if kind is None:
        await show_reports(query, ctx)
        return
    if kind is not ReportKind.SCHOOL and not data.class_id:
        await _show_classes(ctx, kind)
        return
    await offer.require_staff_report(ctx.session, ctx.actor, kind, data.class_id)
    class_name = (
        None if kind is ReportKind.SCHOOL else await offer.class_name(ctx.session, data.class_id)
    )
    periods = await offer.year_periods(ctx.session, ctx.actor)
    if not data.period_id:
        markup = kb.periods_keyboard(kind, data.class_id, periods, _today(ctx))
        await ctx.show(
            ctx.screen("reports/periods.html.j2", markup, kind=kind, class_name=class_name)
        )
        return
    period = next((p for p in periods if p.id == data.period_id), None)
    if period is None:  # a period of another year or school
        raise denied(Action.READ_CLASS, data.period_id)
    if data.fmt is None:
        await _show_formats(ctx, kind, data.class_id, class_name, period)
        return
    await _deliver(ctx, data, data.fmt, class_name, period)


async def _show_classes(ctx: Ctx, kind: ReportKind) -> None:
    classes = await offer.offered_classes(ctx.session, ctx.actor, kind)
    if not classes:
        ctx.alert(ctx.render("reports/no_classes.html.j2"))
        return
    markup = kb.classes_keyboard(kind, classes)
    await ctx.show(ctx.screen("reports/classes.html.j2", markup, kind=kind))


async def _show_formats(
    ctx: Ctx, kind: ReportKind, class_id: int, class_name: str | None, period: PeriodInfo
) -> None:
    markup = kb.formats_keyboard(kind, class_id, period.id, offer.formats_of(kind))
    narrowed = (
        kind in (ReportKind.CLASS, ReportKind.COVERAGE)
        and await offer.own_assignments(ctx.session, ctx.actor, class_id) is not None
    )
    screen = ctx.screen(
        "reports/formats.html.j2",
        markup,
        kind=kind,
        class_name=class_name,
        period=period,
        narrowed=narrowed,
    )
    await ctx.show(screen)


def _today(ctx: Ctx) -> date:
    return local_today(zone_of(ctx.actor.school_timezone))


async def _deliver(
    ctx: Ctx, data: ReportCb, fmt: Format, class_name: str | None, period: PeriodInfo
) -> None:
    assert data.kind is not None
    kind = data.kind
    if fmt not in offer.formats_of(kind):
        raise denied(Action.READ_CLASS, data.class_id)
    made = await offer.build_staff_report(
        ctx.session, ctx.actor, kind, data.class_id, period.id, today=_today(ctx)
    )
    await ctx.session.commit()  # read only: end the transaction before talking to Telegram
    if not made:
        ctx.alert(ctx.render("reports/empty.html.j2", class_name=class_name or ""))
        return
    if fmt is Format.TEXT:
        await ctx.answer_now()
        await _send_text(ctx, made)
        return
    # rendered in the worker process: the button answered first, "sending a file…" meanwhile
    action = ChatAction.UPLOAD_PHOTO if fmt is Format.PNG else ChatAction.UPLOAD_DOCUMENT
    content = await ctx.report_file(made, fmt.value, action)
    caption = ctx.render("reports/file.html.j2", kind=kind, class_name=class_name, period=period)
    upload = BufferedInputFile(content, file_name(kind, class_name, period, fmt))
    if fmt is Format.PNG:
        await ctx.bot.send_photo(ctx.chat_id, upload, caption=caption)
    else:
        await ctx.bot.send_document(ctx.chat_id, upload, caption=caption)


async def _send_text(ctx: Ctx, made: list[Report]) -> None:
    """Each report as Telegram HTML messages (`chat_messages` keeps each under the limit)."""
    for report in made:
        for text in chat_messages(document(report, _)):
            await ctx.bot.send_message(ctx.chat_id, text)


def file_name(kind: ReportKind, class_name: str | None, period: PeriodInfo, fmt: Format) -> str:
    """ "class-7Б-quarter1.xlsx", "school-year.pdf": the kind, the class, the period."""
    parts = [kind.value]
    if class_name:
        parts.append(re.sub(r"[^\w]+", "_", class_name).strip("_") or "class")
    parts.append(
        "year" if period.kind == PeriodKind.YEAR else f"{period.kind.value}{period.number}"
    )
    extension = "txt" if fmt is Format.TEXT else fmt.value
    return "-".join(parts) + "." + extension


def _staff_router() -> Router:
    router = Router(name="reports_staff")
    router.message.register(show_reports, Command("reports"))
    router.callback_query.register(show_reports, MenuCb.filter(F.screen == MenuScreen.REPORTS))
    register_buttons(router, on_report)
    return router


def create_router() -> Router:
    return gated(
        "reports",
        StaffOnly(),
        _staff_router(),
        refusal=Action.READ_CLASS,
    )
