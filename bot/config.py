"""Settings from the environment and `.env` (names are a stable interface, see DESIGN.md)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import secrets
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from db.engine import PoolLimits, default_pool, normalize_url
from services.people.codes import MIN_SECRET_LENGTH, CodeKeys

logger = logging.getLogger("parta.config")

SUPPORTED_LOCALES = ("ru", "en")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///parta.sqlite3"
DEFAULT_FILES_DIR = "parta-files"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    """`value` as it is spelled in `choices`, whatever its case and surrounding spaces."""
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise ValueError(f"must be one of {', '.join(choices)}")


class Settings(BaseSettings):
    """Everything Parta reads from its environment. Built once in `main()` and injected."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str | None = None
    # the server at TELEGRAM_API_URL runs in --local mode: no 20 MB limit on downloads
    telegram_api_local: bool = False
    redis_url: str | None = None
    webhook_url: str | None = None
    # required with WEBHOOK_URL: Telegram sends it with every update, anything else is refused
    webhook_secret: SecretStr | None = None
    # the webhook server listens here; a TLS proxy in front of it takes Telegram's requests
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # on SIGTERM/SIGINT: how long updates in flight may take to finish (then the notifier's
    # sends in flight get what is left, at least a second); keep it below the supervisor's
    # own limit (Docker: 10 s by default, systemd: 90 s)
    shutdown_timeout: float = Field(default=8.0, ge=0, le=600)
    default_locale: str = "ru"
    timezone: str = "Europe/Moscow"
    # access codes: failed attempts allowed per Telegram account per hour
    code_attempts_per_hour: int = Field(default=5, ge=1, le=100)
    # ... and across all accounts per hour (a guessing wave: code entry pauses, admins told)
    code_failures_per_hour: int = Field(default=200, ge=1, le=100_000)
    # the server-side key of the code and invitation hashes (HMAC-SHA256), kept outside the
    # database and its backups; earlier keys (comma-separated) still verify old rows
    code_secret: SecretStr | None = None
    code_secret_previous: SecretStr | None = None
    # how long a trusted-person invitation can be accepted (the grant may last longer)
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    # notifications: a grade fixed within the grace window sends one correct message or none
    notify_grace_seconds: int = Field(default=60, ge=0, le=3600)
    # overall sending ceiling (Telegram: about 30 messages/s; paid broadcasts up to 1000/s)
    notify_rate: float = Field(default=30.0, gt=0, le=1000)
    notify_paid_broadcast: bool = False
    # messages in flight at once (also the most a killed process can send twice)
    notify_concurrency: int = Field(default=8, ge=1, le=64)
    # default quiet hours (school time; equal times or empty: none) and digest time
    notify_quiet_start: time | None = time(21)
    notify_quiet_end: time | None = time(8)
    notify_digest_time: time = time(20)
    # when the evening jobs run: homework reminders, tomorrow's changes, weekly summaries
    notify_evening_time: time = time(18)
    # personal data: link requests, personal audit details and stale notifications are
    # forgotten after this many days (see services/privacy.py)
    retention_days: int = Field(default=180, ge=1, le=3650)
    # the school's copies of homework files and submitted work (docs/files.md); default:
    # `parta-files` next to the SQLite file, or in the working folder with PostgreSQL
    files_dir: Path = Path(DEFAULT_FILES_DIR)

    # scheduled backups (docs/backup.md): the folder (empty: no scheduled backups), the local
    # time of TIMEZONE they are taken at, and how many are kept (the oldest beyond are removed)
    backup_dir: Path | None = None
    backup_time: time = time(3)
    backup_keep: int = Field(default=7, ge=1, le=1000)

    # operations (docs/deployment.md): the log level and format (text lines or JSON objects,
    # one per line), and the port of /healthz, /readyz and /metrics of their own (the webhook
    # server has them anyway; with long polling this is the only way to reach them)
    log_level: str = "INFO"
    log_format: str = "text"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # the database pool (empty: per database, PostgreSQL 10 + 10, SQLite 5 + 10) and how long
    # a session waits for a connection before it fails
    db_pool_size: int | None = Field(default=None, ge=1, le=1000)
    db_max_overflow: int | None = Field(default=None, ge=0, le=1000)
    db_pool_timeout: float = Field(default=30.0, gt=0, le=3600)
    # updates processed at once (empty: DB_POOL_SIZE, leaving the overflow to the notifier and
    # the scheduler); the others wait their turn in memory, never for a pool connection
    max_concurrent_updates: int | None = Field(default=None, ge=1, le=1000)
    # per-user throttling: updates per second one user may sustain, after a burst of
    # THROTTLE_BURST; beyond it one "slow down" and the rest dropped (0: no throttling). Well
    # above a person tapping and reading: a flood of scripted updates is what it stops

    throttle_rate: float = Field(default=4.0, ge=0, le=1000)
    throttle_burst: int = Field(default=40, ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _default_files_dir(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("files_dir"):
            url = data.get("database_url") or DEFAULT_DATABASE_URL
            with contextlib.suppress(Exception):  # a bad URL is reported by its own check
                data = {**data, "files_dir": files_dir_for(str(url))}
        return data

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            normalize_url(value)
        except Exception as exc:
            raise ValueError(
                "must look like sqlite+aiosqlite:///parta.sqlite3 or "
                f"postgresql+asyncpg://user:password@host/db ({exc})"
            ) from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Moscow") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if not 1 <= len(raw) <= 256 or not all(c.isalnum() or c in "_-" for c in raw):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("code_secret", "code_secret_previous")
    @classmethod
    def _check_code_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        for raw in value.get_secret_value().split(","):
            if len(raw.strip()) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"must be at least {MIN_SECRET_LENGTH} characters (e.g. the output of "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                )
        return value

    @field_validator("log_level", "log_format")
    @classmethod
    def _check_choice(cls, value: str, info: ValidationInfo) -> str:
        return _one_of(value, LOG_LEVELS if info.field_name == "log_level" else LOG_FORMATS)

    @field_validator("telegram_api_url", "redis_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value and not value.startswith("https://"):
            raise ValueError("must be a public https:// URL (Telegram delivers only over HTTPS)")
        return value or None

    @model_validator(mode="after")
    def _check_concurrency(self) -> Settings:
        pool = self.db_pool
        if self.concurrent_updates > pool.capacity:
            raise ValueError(
                f"MAX_CONCURRENT_UPDATES ({self.concurrent_updates}) is more than the pool holds "
                f"(DB_POOL_SIZE + DB_MAX_OVERFLOW = {pool.capacity}): updates would wait for "
                "connections and fail after DB_POOL_TIMEOUT"
            )
        return self

    @property
    def db_pool(self) -> PoolLimits:
        """The pool's limits: the DB_POOL_* settings over the database's defaults."""
        default = default_pool(self.database_url)
        return PoolLimits(
            size=self.db_pool_size if self.db_pool_size is not None else default.size,
            overflow=(
                self.db_max_overflow if self.db_max_overflow is not None else default.overflow
            ),
            timeout=self.db_pool_timeout,
        )

    @property
    def concurrent_updates(self) -> int:
        """How many updates are processed at once (MAX_CONCURRENT_UPDATES, else the pool's
        size)."""
        if self.max_concurrent_updates is not None:
            return self.max_concurrent_updates
        return self.db_pool.size

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def production(self) -> bool:
        """Served for real: a PostgreSQL database or a webhook (not the embedded default)."""
        return make_url(normalize_url(self.database_url)).get_backend_name() != "sqlite" or bool(
            self.webhook_url
        )


def version() -> str:
    """The installed package's version (`parta --version`, the start-up line, /healthz)."""
    try:
        return importlib.metadata.version("parta")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"


def _masked_url(url: str) -> str:
    """A URL with its password (and any token-like user info) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None and not parts.username:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    userinfo = f"{user}:***" if parts.password is not None else "***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def settings_summary(settings: Settings) -> str:
    """Every setting as ``NAME=value`` on one line, secrets as *** (or - when unset) and
    passwords in URLs masked: logged at start-up."""
    items = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "***"
        elif value is None:
            shown = "-"
        elif name.endswith("_url"):
            shown = _masked_url(str(value))
        else:
            shown = str(value)
        items.append(f"{name.upper()}={shown}")
    return " ".join(items)


class ConfigError(ValueError):
    """A configuration that cannot work; the CLI prints it as one line (exit code 2)."""


def secret_file_for(database_url: str) -> Path | None:
    """Where the embedded default keeps its generated code secret: next to the SQLite file
    (``parta.sqlite3`` → ``parta.code-secret``, a name a copy of ``parta.sqlite3*`` misses);
    None for an in-memory database."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    return database.with_name(database.stem + ".code-secret")


def files_dir_for(database_url: str) -> Path:
    """The default files folder: ``parta-files`` next to the SQLite file (``data/parta.sqlite3``
    → ``data/parta-files``), else (PostgreSQL, an in-memory database) in the working folder."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return Path(DEFAULT_FILES_DIR)
    return Path(url.database).with_name(DEFAULT_FILES_DIR)


def _generated_secret(path: Path) -> str:
    """The secret kept in `path`, created (owner-only, 0600) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    logger.warning("generated the access-code secret %s: back it up apart from the database", path)
    return secret


def _read_secret(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
        logger.warning("%s was readable by others; made it owner-only (0600)", path)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} does not hold a code secret; remove it or set CODE_SECRET")
    return secret


def code_keys(settings: Settings) -> CodeKeys:
    """The keys of the code and invitation hashes: CODE_SECRET (and CODE_SECRET_PREVIOUS), or
    for the embedded default a secret generated once next to the SQLite file. Production
    (PostgreSQL or a webhook) without CODE_SECRET is a `ConfigError`: a generated secret on
    one server would not be shared by the others, nor survive a rebuilt container."""
    previous = (
        [p.strip() for p in settings.code_secret_previous.get_secret_value().split(",")]
        if settings.code_secret_previous
        else []
    )
    if settings.code_secret is not None:
        return CodeKeys.from_secrets(settings.code_secret.get_secret_value(), previous)
    if settings.production:
        raise ConfigError(
            "CODE_SECRET is not set: production (PostgreSQL or a webhook) needs the access-code "
            "secret; generate one with `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'` and keep it apart from the database backups"
        )
    path = secret_file_for(settings.database_url)
    secret = secrets.token_urlsafe(32) if path is None else _generated_secret(path)
    return CodeKeys.from_secrets(secret, previous)
