"""Reports a school files: class summary, attendance, students at risk, report cards (`build`),
as chat text, Excel and PDF (`render`). No aiogram: a handler or the CLI calls
``build_…(session, id, When(...), today=...)`` and ``render(report, fmt, gettext)``."""

from services.reports import model
from services.reports.build import (
    ReportNotFound,
    build_attendance,
    build_class_summary,
    build_coverage,
    build_progress,
    build_report_card,
    build_risk,
    build_school_summary,
    resolve_span,
)
from services.reports.formats import (
    MIME,
    Format,
    chat_messages,
    plain_text,
    render,
    render_async,
    render_many,
)
from services.reports.model import *  # noqa: F403  (the report objects: `model.__all__`)
from services.reports.views import Document, document

__all__ = [
    "MIME",
    "Document",
    "Format",
    "ReportNotFound",
    "build_attendance",
    "build_class_summary",
    "build_coverage",
    "build_progress",
    "build_report_card",
    "build_risk",
    "build_school_summary",
    "chat_messages",
    "document",
    "plain_text",
    "render",
    "render_async",
    "render_many",
    "resolve_span",
]
__all__ += model.__all__
