"""Settings from the environment and `.env` (names are a stable interface, see DESIGN.md)."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.engine import normalize_url

SUPPORTED_LOCALES = ("ru", "en")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///parta.sqlite3"


class Settings(BaseSettings):
    """Everything Parta reads from its environment. Built once in `main()` and injected."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str | None = None
    redis_url: str | None = None
    webhook_url: str | None = None
    # required with WEBHOOK_URL: Telegram sends it with every update, anything else is refused
    webhook_secret: SecretStr | None = None
    # the webhook server listens here; a TLS proxy in front of it takes Telegram's requests
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    default_locale: str = "ru"
    timezone: str = "Europe/Moscow"
    # access codes: failed attempts allowed per Telegram account per hour
    code_attempts_per_hour: int = Field(default=5, ge=1, le=100)
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

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
