"""Jinja2 environment for Telegram HTML messages, translated through the current locale."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined

from bot import icons
from bot.dates import format_clock, format_day
from services.core.audit import AuditAction

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class Renderer:
    """Renders `<feature>/<view>.html.j2` templates with autoescaping and gettext."""

    def __init__(
        self, i18n: I18n, *, strict: bool = False, timezone: ZoneInfo | None = None
    ) -> None:
        self.i18n = i18n
        self.timezone = timezone or ZoneInfo("Europe/Moscow")
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined if strict else Undefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # templates ship with the code: no stat() of the file on every render
            auto_reload=False,
        )
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=self._gettext, ngettext=self._ngettext, newstyle=True
        )
        self.env.filters["date"] = self._format_date
        self.env.filters["datetime"] = self._format_datetime
        self.env.filters["clock"] = self._format_clock
        self.env.globals["icons"] = icons
        self.env.globals["AuditAction"] = AuditAction  # the audit screen names actions by member

    def _gettext(self, message: str) -> str:
        return self.i18n.gettext(message)

    def _ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.i18n.gettext(singular, plural, n)

    def _format_date(self, value: date, fmt: str = "medium") -> str:
        return format_day(value, fmt, locale=self.i18n.current_locale)

    def _format_clock(self, value: time) -> str:
        return format_clock(value, locale=self.i18n.current_locale)

    def _format_datetime(self, value: datetime | None, fmt: str = "d MMM, HH:mm") -> str:
        if value is None:
            return "—"
        return format_datetime(
            value, format=fmt, tzinfo=self.timezone, locale=self.i18n.current_locale
        )

    def render(self, name: str, /, **context: Any) -> str:
        """Render a template to Telegram HTML (surrounding blank lines trimmed)."""
        return self.env.get_template(name).render(**context).strip()

    def template_names(self) -> list[str]:
        return sorted(self.env.list_templates(filter_func=lambda n: n.endswith(".html.j2")))
