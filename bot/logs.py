"""Logging set-up: one format, and no bot token (nor PostgreSQL row values) in any record.

The redaction is a `logging.Filter` applied to every record as it is created (through the
log-record factory), so it holds for every logger and every handler, including handlers added
later (a test's capture, an error tracker): the message, its arguments and the exception text
are redacted before any handler sees them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from services.core.redaction import redact_secrets

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose DEBUG lines quote every SQL parameter (phones, names): never below INFO.
PARAMETER_LOGGERS = ("aiosqlite",)


class RedactingFilter(logging.Filter):
    """Removes bot tokens (known ones and token-shaped strings, `bot<token>` in URLs) and
    PostgreSQL DETAIL lines from a record's message, arguments and exception text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s}

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        return redact_secrets(text, sorted(self.secrets, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            message = None
        if message is not None:
            clean = self.redact(message)
            if clean != message:
                record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            # the formatted traceback replaces the exception object, which would otherwise be
            # formatted again (unredacted) by each handler
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_filter: RedactingFilter | None = None


def install_redaction(secrets: Iterable[str | None] = ()) -> RedactingFilter:
    """Redact every log record created from now on in this process, and keep the loggers
    that would print SQL parameters at INFO (idempotent; further calls add secrets)."""
    global _filter
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    if _filter is None:
        _filter = RedactingFilter()
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
        active = _filter

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            active.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    for secret in secrets:
        _filter.add_secret(secret)
    return _filter


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message and, for an
    error, the traceback as ``exc``. The record is already redacted (see above)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class Demote(logging.Filter):
    """Turns a chatty library's INFO lines into DEBUG ones (shown only at LOG_LEVEL=DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


#: loggers whose INFO lines are routine (APScheduler: two lines per job run)
DEMOTED_LOGGERS = ("apscheduler.executors.default", "apscheduler.scheduler")
_handler: logging.Handler | None = None
_demote = Demote()


def formatter(fmt: str = "text") -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT)


def configure_logging(
    level: int | str | None = logging.INFO,
    secrets: Iterable[str | None] = (),
    fmt: str | None = None,
) -> None:
    """Parta's logging: one line per record on stderr (text, or JSON with ``fmt="json"``),
    aiogram's per-update lines quiet, APScheduler's per-job lines at DEBUG, and every record
    redacted. Call it again once settings are known: `level` and `fmt` replace the earlier
    ones (None keeps them), `secrets` are added. A process whose root logger already has
    handlers of someone else's (a test run) keeps them and their level."""
    global _handler
    install_redaction(secrets)
    root = logging.getLogger()
    if _handler is None and not root.handlers:
        _handler = logging.StreamHandler()
        _handler.setFormatter(formatter(fmt or "text"))
        root.addHandler(_handler)
        root.setLevel(level if level is not None else logging.INFO)
    elif _handler is not None:
        if fmt is not None:
            _handler.setFormatter(formatter(fmt))
        if level is not None:
            root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    for name in DEMOTED_LOGGERS:
        demoted = logging.getLogger(name)
        if _demote not in demoted.filters:
            demoted.addFilter(_demote)
