"""Routers, one module per area; `create_routers()` returns them in priority order."""

from __future__ import annotations

from aiogram import Router

from handlers import common, fallback


def create_routers() -> list[Router]:
    return [common.create_router(), fallback.create_router()]
