"""Routers, one module per area; `create_routers()` returns them in priority order."""

from __future__ import annotations

from aiogram import Router

from handlers import common, diary, fallback, family, journal, linking, notify, school


def create_routers() -> list[Router]:
    return [
        journal.create_input_router(),
        linking.create_router(),
        common.create_router(),
        family.create_router(),
        school.create_router(),
        diary.create_router(),
        journal.create_router(),
        notify.create_router(),
        fallback.create_router(),
    ]
