"""Keyboards of the staff's /reports: the kinds, the classes, the periods, the formats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCb, Screen
from bot.callbacks.reports import ReportCb
from bot.i18n import N_
from bot.keyboards import back_button, button
from bot.keyboards.builder import KeyboardBuilder
from bot.keyboards.diary import period_label
from db.enums import PeriodKind
from services.diary.periods import PeriodInfo, current_period
from services.reports.formats import Format
from services.reports.model import ReportKind
from services.reports.staff import ClassChoice

KIND_LABELS = {
    ReportKind.CLASS: N_("📋 Class summary"),
    ReportKind.ATTENDANCE: N_("🚸 Attendance"),
    ReportKind.RISK: N_("⚠️ Students at risk"),
    ReportKind.COVERAGE: N_("🧮 Grade coverage"),
    ReportKind.CARD: N_("🎓 Report cards"),
    ReportKind.PROGRESS: N_("📈 Progress"),
    ReportKind.SCHOOL: N_("🏫 School summary"),
}
FORMAT_LABELS = {
    Format.TEXT: N_("💬 In the chat"),
    Format.XLSX: N_("📗 Excel"),
    Format.PDF: N_("📄 PDF"),
    Format.PNG: N_("🖼 Chart"),
}


def kinds_keyboard(kinds: Sequence[ReportKind]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for kind in kinds:
        builder.button(text=_(KIND_LABELS[kind]), callback_data=ReportCb(kind=kind))
    builder.adjust(2)
    back_button(builder)
    return builder.as_markup()


def _back_to(builder: KeyboardBuilder, data: ReportCb) -> None:
    builder.row(button(_("« Back"), data))


def classes_keyboard(kind: ReportKind, classes: Sequence[ClassChoice]) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for choice in classes:
        builder.button(text=choice.name, callback_data=ReportCb(kind=kind, class_id=choice.id))
    builder.adjust(4)
    _back_to(builder, ReportCb())
    return builder.as_markup()


def periods_keyboard(
    kind: ReportKind, class_id: int, periods: Sequence[PeriodInfo], today: date
) -> InlineKeyboardMarkup:
    """The year's periods, four a row (the current one marked), and the year itself last."""
    now = current_period(list(periods), today)
    builder = KeyboardBuilder()
    fine = [p for p in periods if p.kind != PeriodKind.YEAR]
    year = [p for p in periods if p.kind == PeriodKind.YEAR]

    def period_button(period: PeriodInfo) -> InlineKeyboardButton:
        label = period_label(period)
        if now is not None and period.id == now.id and period.kind != PeriodKind.YEAR:
            label = f"• {label}"
        return button(label, ReportCb(kind=kind, class_id=class_id, period_id=period.id))

    for start in range(0, len(fine), 4):
        builder.row(*(period_button(p) for p in fine[start : start + 4]))
    for period in year:
        builder.row(period_button(period))
    back = ReportCb(kind=kind) if kind is not ReportKind.SCHOOL else ReportCb()
    _back_to(builder, back)
    return builder.as_markup()


def formats_keyboard(
    kind: ReportKind, class_id: int, period_id: int, formats: Sequence[Format]
) -> InlineKeyboardMarkup:
    builder = KeyboardBuilder()
    for fmt in formats:
        data = ReportCb(kind=kind, class_id=class_id, period_id=period_id, fmt=fmt)
        builder.button(text=_(FORMAT_LABELS[fmt]), callback_data=data)
    builder.adjust(2)
    _back_to(builder, ReportCb(kind=kind, class_id=class_id))
    builder.row(button(_("« Main screen"), MenuCb(screen=Screen.HOME)))
    return builder.as_markup()
