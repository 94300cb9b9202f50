"""Samples for the new school year's templates (services.people.newyear)."""

from __future__ import annotations

from datetime import date
from typing import Any

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "school/year_error.html.j2": [
        {
            "key": "not_over",
            "details": {
                "name": "<2026/2027>",
                "ends_on": date(2027, 5, 31),
                "ready_on": date(2027, 6, 1),
            },
        },
        {"key": "next_exists", "details": {"name": "<2027/2028> & Co"}},
        {"key": "no_current_year", "details": {"count": 0}},
        {"key": "name_clash", "details": {"names": "<8Б>, 8Б"}},
        {"key": "bad_last_grade", "details": {"last_grade": 13}},
        {"key": "choose_school", "details": {}},
        {"key": "no_school", "details": {}},
    ],
}
