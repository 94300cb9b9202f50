"""Routers, one module per area; `create_routers()` returns them in priority order."""

from __future__ import annotations

from aiogram import Router

from handlers import common, fallback, family, linking, school


def create_routers() -> list[Router]:
    return [
        linking.create_router(),
        common.create_router(),
        family.create_router(),
        school.create_router(),
        fallback.create_router(),
    ]
