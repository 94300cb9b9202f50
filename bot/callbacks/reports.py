"""Callback data of the staff's /reports: one factory for every step of the choice (a report
kind, then the class, the period and the format); a field at its zero value is not chosen
yet. Ids only: every press is checked against the actor again (`services.reports.staff`)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from services.reports.formats import Format
from services.reports.model import ReportKind


class ReportCb(CallbackData, prefix="rep"):
    """`kind` None: the list of kinds; `class_id` 0: the classes (not asked for the school
    summary); `period_id` 0: the periods; `fmt` None: the formats; all set: the report."""

    kind: ReportKind | None = None
    class_id: Id = 0
    period_id: Id = 0
    fmt: Format | None = None
