"""Callback data of the school's data screen (/school, admins only)."""

from __future__ import annotations

import enum

from aiogram.filters.callback_data import CallbackData


class RosterAction(enum.StrEnum):
    TEMPLATE = "t"  # send the empty school workbook
    EXPORT = "x"  # send the school as the workbook
    ONEROSTER = "o"  # send the school as OneRoster 1.2 CSV
    APPLY = "a"  # apply the file just checked
    CANCEL = "c"  # forget the file just checked


class RosterCb(CallbackData, prefix="ros"):
    action: RosterAction
