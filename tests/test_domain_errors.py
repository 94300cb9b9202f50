"""The one domain error and its one middleware: a `DomainError` raised by a handler after it
wrote to the database rolls the write back and is answered as the error says (a short alert,
an alert with the reason, or the screen in place; a reply to a message), on both databases."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.domain_errors import AREA_TEMPLATES, REFUSED_TEMPLATE
from bot.rendering import TEMPLATES_DIR
from db.models import Account
from services.core.access import Action, denied
from services.core.errors import SHOWN_BY_AREA, DomainError, Shown
from services.diary import EndedAccess
from tests import factories as f
from tests.harness import App

# --- the error itself -----------------------------------------------------------------------


def test_key_names_a_known_area_and_a_reason() -> None:
    error = DomainError("journal.invalid_value", value="7")
    assert (error.area, error.reason, error.details) == ("journal", "invalid_value", {"value": "7"})
    assert str(error) == "journal.invalid_value"
    for bad in ("journal", "journal.", "nowhere.bad_date", ".bad_date"):
        with pytest.raises(ValueError, match="not a domain error key"):
            DomainError(bad)


def test_shown_by_area_unless_the_raise_site_says() -> None:
    assert denied(Action.VIEW_GRADES, 5).shown == Shown.ALERT
    assert DomainError("link.code_used").shown == Shown.REASON
    assert DomainError("access.ended", shown=Shown.SCREEN).shown == Shown.SCREEN


def test_every_area_has_a_template() -> None:
    assert set(AREA_TEMPLATES) == set(SHOWN_BY_AREA)
    for name in [REFUSED_TEMPLATE, *AREA_TEMPLATES.values()]:
        assert (TEMPLATES_DIR / name).is_file(), name


# --- the middleware, end to end ---------------------------------------------------------------

WRITTEN = "Written before the refusal"
ENDED = EndedAccess("Маша Тестова", None, revoked=True, trusted=False)

ERRORS: dict[str, Callable[[], DomainError]] = {
    "alert": lambda: denied(Action.VIEW_GRADES, 4242),
    "reason": lambda: DomainError("journal.invalid_value", value="9½"),
    "screen": lambda: DomainError("access.ended", shown=Shown.SCREEN, ended=ENDED),
}
TEXTS = {
    "alert": "Sorry, you don't have access to this.",
    "reason": "“9½” is not a grade on this scale.",
    "screen": "Your link to Маша Тестова's diary was revoked by the school.",
}


async def _write_then_refuse(session: AsyncSession, telegram_id: int, shown: str) -> None:
    """What a buggy or half-done handler does: write, then refuse (without committing)."""
    await session.execute(
        update(Account).where(Account.telegram_id == telegram_id).values(full_name=WRITTEN)
    )
    raise ERRORS[shown]()


def _planted_router() -> Router:
    router = Router(name="planted")

    @router.callback_query(F.data.startswith("boom:"))
    async def on_press(query: CallbackQuery, session: AsyncSession) -> None:
        await _write_then_refuse(session, query.from_user.id, str(query.data).split(":")[1])

    @router.message(Command("boom"))
    async def on_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
        assert message.from_user is not None
        await _write_then_refuse(session, message.from_user.id, command.args or "")

    return router


@pytest.fixture
async def planted(app: App) -> App:
    """The production app with a router that writes and refuses, ahead of all the others."""
    app.dp.include_router(_planted_router())
    app.dp.sub_routers.insert(0, app.dp.sub_routers.pop())
    return app


async def _names(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with session_factory() as session:
        rows = await session.execute(select(Account.telegram_id, Account.full_name))
        return sorted((int(tid), str(name)) for tid, name in rows)


@pytest.mark.parametrize("shown", list(ERRORS))
async def test_a_refused_press_rolls_back_and_is_answered_as_the_error_says(
    planted: App,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
    shown: str,
) -> None:
    await f.make_small_school(session_factory)
    parent = planted.user(f.PARENT, language_code="en")
    await parent.send("/start")
    home = parent.last
    assert home is not None
    before = await _names(session_factory)
    assert f.PARENT in dict(before)
    caplog.set_level(logging.INFO)

    await parent.press(home, data=f"boom:{shown}")

    assert await _names(session_factory) == before, "the handler's write was rolled back"
    answer = parent.callback_answers[-1]
    if shown == "screen":
        assert parent.last is home
        assert TEXTS[shown] in home.content, "the pressed screen explains, in place"
        assert not answer.get("text")
    else:
        assert answer["text"] == TEXTS[shown]
        assert answer["show_alert"] is True
        assert parent.last is home, "an alert, no new message"
    warnings = [r.getMessage() for r in caplog.records if r.name == "parta.refusals"]
    assert len(warnings) == 1
    assert str(ERRORS[shown]()) in warnings[0]
    assert "Маша" not in warnings[0], "names stay out of the log"
    if shown == "alert":
        assert "action=view_grades target_id=4242" in warnings[0]


@pytest.mark.parametrize("shown", list(ERRORS))
async def test_a_refused_message_rolls_back_and_is_answered_with_a_reply(
    planted: App, session_factory: async_sessionmaker[AsyncSession], shown: str
) -> None:
    await f.make_small_school(session_factory)
    parent = planted.user(f.PARENT, language_code="en")
    before = await _names(session_factory)

    await parent.send(f"/boom {shown}")

    assert await _names(session_factory) == before, "the handler's write was rolled back"
    assert parent.last is not None
    assert TEXTS[shown] in parent.last.content
    assert len(parent.messages) == 1
