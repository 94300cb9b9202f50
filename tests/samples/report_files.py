"""Sample contexts for the family's report card and progress chart captions (and the alerts
when there is nothing to send): hostile names, every kind of period, a year not the current
one, a card with and without attendance."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.samples.diary import CHILDREN, OLD_YEAR, PERIODS, TUTOR

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "diary/report_file.html.j2": [
        *(
            {"key": key, "child": child, "period": period, "attendance": attendance}
            for key in ("card", "progress")
            for child in (*CHILDREN, replace(TUTOR, year=OLD_YEAR, class_name=None))
            for period in PERIODS
            for attendance in (True, False)
        ),
        {"key": "no_card"},
        {"key": "no_progress"},
    ],
}
