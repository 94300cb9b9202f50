"""Sample contexts for the calendar templates (the diary's file, the subscription screen)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.diary.calendar import StudentEvents, Window
from tests.samples.diary import CHILDREN

WINDOW = Window(date(2026, 10, 28), date(2027, 1, 6))
EVENTS = [StudentEvents(child, WINDOW, [], []) for child in CHILDREN]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "calendar/file.html.j2": [
        {"events": events, "subscribe": subscribe}
        for events in EVENTS
        for subscribe in (False, True)
    ],
    "calendar/feed.html.j2": [
        {"url": "https://school.example.org/calendar/" + "A" * 32 + ".ics", "revoked": False},
        {"url": None, "revoked": True},
        {"url": None, "revoked": False},
    ],
    "calendar/unavailable.html.j2": [{}],
}
