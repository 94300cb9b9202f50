"""No bot token, phone number or access code in any log line or stored delivery error: the
redaction helpers, the logging filter, the engine's hidden parameters, and a whole end-to-end
run (linking, grading, a notification, a network error, a database error) captured at DEBUG."""

from __future__ import annotations

import logging
import re
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.logs import RedactingFilter, install_redaction
from db.models import Account, Grade, Lesson, OutboxMessage, TeachingAssignment
from services.core.redaction import redact, redact_secrets
from tests import clock
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage
from tests.harness import BOT_TOKEN, App

REAL_TOKEN = "7123456789:AAHd1hKx-EXAMPLE_tokenAbcdefghijklmnop"
PHONE_DIGITS = "9161234567"  # MOM_PHONE without the country code
# the phone's digits in any formatting: "+7 (916) 123-45-67", "89161234567", "916.123.45.67"
PHONE_ANYHOW = re.compile(r"[\s().+-]{0,3}".join(PHONE_DIGITS))


def _code_anyhow(code: str) -> re.Pattern[str]:
    return re.compile(r"[\s-]{0,2}".join(map(re.escape, code)), re.IGNORECASE)


# --- the pure helpers -------------------------------------------------------------------------


def test_redact_secrets_removes_tokens_in_every_form() -> None:
    url = f"http://127.0.0.1:1/bot{BOT_TOKEN}/sendMessage"
    assert redact_secrets(url) == "http://127.0.0.1:1/bot<token>/sendMessage"
    assert redact_secrets(f"token {BOT_TOKEN} leaked", [BOT_TOKEN]) == "token <token> leaked"
    assert redact_secrets(f"a real one: {REAL_TOKEN}.") == "a real one: <token>."
    assert redact_secrets(f"/file/bot{REAL_TOKEN}/photos/1.jpg") == "/file/bot<token>/photos/1.jpg"
    # ids, times and dates stay readable in logs
    plain = "update 500000001 from user 7123456789 at 12:30:45 on 2026-11-30"
    assert redact_secrets(plain) == plain


def test_redact_secrets_removes_database_row_values() -> None:
    error = (
        "duplicate key value violates unique constraint\n"
        "DETAIL:  Key (phone)=(+79161234567) already exists.\n"
        "[SQL: INSERT INTO accounts (phone) VALUES ($1)]\n"
        "[parameters: ('+79161234567',)]\n"
    )
    clean = redact_secrets(error)
    assert "9161234567" not in clean
    assert "DETAIL: <redacted>" in clean
    assert "[SQL: INSERT INTO accounts (phone) VALUES ($1)]" in clean


@pytest.mark.parametrize(
    "phone",
    ["+79161234567", "+7 (916) 123-45-67", "8 916 123 45 67", "8-916-123-45-67", "9161234567"],
)
def test_redact_removes_phones_and_emails(phone: str) -> None:
    text = f"Bad Request: contact {phone} of anna@example.org, chat 700000006"
    assert redact(text) == "Bad Request: contact <redacted> of <redacted>, chat 700000006"


# --- the logging filter ------------------------------------------------------------------------


@pytest.fixture
def redaction() -> RedactingFilter:
    """What `parta` installs at start-up (process-wide, as in production)."""
    return install_redaction([BOT_TOKEN])


def test_filter_redacts_message_arguments_and_exception(
    redaction: RedactingFilter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("parta.test")
    url = f"http://127.0.0.1:1/bot{BOT_TOKEN}/getMe"
    log.warning("cannot reach %s (%r)", url, {"token": BOT_TOKEN})
    try:
        try:
            raise OSError(f"ClientConnectorError: {url}")
        except OSError as exc:
            raise RuntimeError("Telegram is down") from exc
    except RuntimeError:
        log.exception("network error with %s", REAL_TOKEN)
    assert len(caplog.records) == 2
    assert BOT_TOKEN not in caplog.text
    assert REAL_TOKEN not in caplog.text
    assert "/bot<token>/getMe" in caplog.text
    assert "Telegram is down" in caplog.text, "the traceback itself is kept"
    for record in caplog.records:
        assert BOT_TOKEN not in record.getMessage()
        assert record.exc_info is None  # formatted (redacted) once, in exc_text


async def test_database_errors_carry_no_row_values(
    redaction: RedactingFilter, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """hide_parameters on the engine, and PostgreSQL's DETAIL line redacted in the log."""
    caplog.set_level(logging.DEBUG)
    row = {"telegram_id": int(PHONE_DIGITS), "full_name": "Анна +7 916 123-45-67"}
    async with engine.begin() as conn:
        await conn.execute(insert(Account), row)
    with pytest.raises(IntegrityError) as raised:
        async with engine.begin() as conn:
            await conn.execute(insert(Account), row)
    assert PHONE_DIGITS not in str(raised.value), "parameters are hidden"
    assert "hide_parameters" in str(raised.value)
    logging.getLogger("parta.errors").error("update failed", exc_info=raised.value)
    assert "IntegrityError" in caplog.text
    assert not PHONE_ANYHOW.search(caplog.text), caplog.text


# --- end to end --------------------------------------------------------------------------------


def _button_with(message: ChatMessage | None, fragment: str) -> str:
    assert message is not None
    for button in message.buttons:
        if fragment in str(button.get("text")):
            return str(button["text"])
    raise AssertionError(f"no button with {fragment!r}: {message.button_texts()}")


async def _today_lesson(session_factory: async_sessionmaker[AsyncSession], class_id: int) -> None:
    today = clock.school_today()
    async with session_factory() as session:
        assignment = await session.scalar(
            select(TeachingAssignment).where(TeachingAssignment.class_id == class_id)
        )
        assert assignment is not None
        session.add(
            Lesson(
                assignment_id=assignment.id,
                class_id=class_id,
                subject_id=assignment.subject_id,
                date=today,
                lesson_number=1,
                starts_at=time(9, 0),
                ends_at=time(9, 45),
            )
        )
        await session.commit()


class _BreakOnce:
    """Corrupts the first SQL statement that carries the phone, so the database itself fails
    on it (a syntax error): a real database error whose parameters hold the phone."""

    def __init__(self) -> None:
        self.broken: str | None = None

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        if self.broken is None and PHONE_DIGITS in re.sub(r"\D", "", repr(parameters)):
            self.broken = statement
            return statement + " BROKEN", parameters
        return statement, parameters


@pytest.mark.allow_telegram_errors("log")  # the database error it provokes is logged
async def test_a_whole_run_logs_no_token_phone_or_code(
    app: App,
    engine: AsyncEngine,
    redaction: RedactingFilter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    school = await f.make_small_school(app.session_factory)
    await _today_lesson(app.session_factory, school.class_7b)
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    breaker = _BreakOnce()
    event.listen(engine.sync_engine, "before_cursor_execute", breaker, retval=True)
    try:
        # the parent links with the code and her phone; a database error on the first try
        mom = app.user(5001, first_name="Анна", language_code="ru")
        await mom.send(f"/start {code}")
        await mom.send_contact("8 (916) 123-45-67")
        assert breaker.broken is not None, "the phone reached the database"
        assert "Мария" not in (mom.last.text if mom.last else "")
        await mom.send_contact("8 (916) 123-45-67")
        assert mom.last is not None
        assert "Мария" in mom.last.text
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", breaker)

    # a handler's send fails on the network: logged with its traceback
    app.fake.break_next("sendMessage")
    await mom.send("/start")
    assert [e.method for e in app.fake.injected] == ["sendMessage"]

    # the teacher grades Мария in today's lesson
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/journal")
    await teacher.press(teacher.last, text=_button_with(teacher.last, "7B"))
    await teacher.press(teacher.last, text="👥 Grades")
    await teacher.press(teacher.last, text=_button_with(teacher.last, "Смирнова"))
    await teacher.press(teacher.last, text="5")
    async with app.session_factory() as session:
        assert await session.scalar(select(Grade.value)) == "5"

    # the notification: its first send fails on the network, the retry goes through
    later = clock.now() + timedelta(seconds=app.settings.notify_grace_seconds + 1)
    app.fake.break_next("sendMessage")
    await app.deliver_notifications(later)
    async with app.session_factory() as session:
        errors = [e for e in await session.scalars(select(OutboxMessage.last_error)) if e]
    assert errors, "the failed send left its error"
    assert all(BOT_TOKEN not in e and "/bot<token>/" in e for e in errors), errors
    await app.deliver_notifications(later + timedelta(minutes=10))
    assert "5" in mom.last.text
    assert "Мария" in mom.last.text
    assert app.fake.errors == []

    # the log saw all of it, and none of the secrets
    text = caplog.text
    for line in text.splitlines():
        assert BOT_TOKEN not in line
        assert BOT_TOKEN.split(":")[1] not in line
        assert not PHONE_ANYHOW.search(line), line
        assert not _code_anyhow(code).search(line), line
    assert len(text.splitlines()) > 20
    assert "TelegramNetworkError" in text
    assert "/bot<token>/sendMessage" in text, "the network error was logged, redacted"
    assert "BROKEN" in text, "the database error was logged"
