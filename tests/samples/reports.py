"""Sample contexts for the staff's /reports templates (the kinds, classes, periods and formats
screens, a file's caption, the refusals)."""

from __future__ import annotations

from datetime import date
from typing import Any

from db.enums import PeriodKind
from services.diary.periods import PeriodInfo
from services.reports import ReportKind
from tests.samples.base import HOSTILE

PERIODS = [
    PeriodInfo(1, PeriodKind.QUARTER, 2, date(2026, 11, 9), date(2026, 12, 28)),
    PeriodInfo(2, PeriodKind.SEMESTER, 1, date(2026, 9, 1), date(2026, 12, 28)),
    PeriodInfo(3, PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31)),
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "reports/menu.html.j2": [{"narrowed": True}, {"narrowed": False}],
    "reports/classes.html.j2": [{"kind": kind} for kind in ReportKind],
    "reports/periods.html.j2": [
        {"kind": ReportKind.CLASS, "class_name": HOSTILE},
        {"kind": ReportKind.SCHOOL, "class_name": None},
    ],
    "reports/formats.html.j2": [
        {"kind": kind, "class_name": HOSTILE, "period": period, "narrowed": narrowed}
        for kind in ReportKind
        for period in PERIODS
        for narrowed in (False, True)
    ]
    + [{"kind": ReportKind.SCHOOL, "class_name": None, "period": PERIODS[2], "narrowed": False}],
    "reports/file.html.j2": [
        {"kind": kind, "class_name": name, "period": period}
        for kind in ReportKind
        for name in (HOSTILE, None)
        for period in PERIODS
    ],
    "reports/empty.html.j2": [{"class_name": HOSTILE}],
    "reports/no_classes.html.j2": [{}],
}
