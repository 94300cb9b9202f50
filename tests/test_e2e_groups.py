"""Group chats end to end: Parta added to a group answers a command with one pointer to the
private chat and a button press with an alert; nothing of a child is posted there and nothing
in the database changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import InviteCb, MenuCb, Screen
from db.base import Base
from tests import factories as f
from tests.fakes.telegram_api import FakeGroup, FakeUser
from tests.harness import App

POINTER = {
    "ru": "Парта работает только в личном чате, чтобы ничего о детях не попало в группу. "
    "Напишите мне туда: @parta_test_bot",
    "en": "Parta works only in a private chat, so nothing about children reaches a group. "
    "Write to me there: @parta_test_bot",
}
# what a group must never see: the children, the family, the tutor, links and codes
PERSONAL = ["Пётр", "Иванов", "Мария", "Смирнов", "Ирина", "Репетитор", "start=", "t.me/"]


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


# what every update from a known user refreshes (the actor middleware), in a group too
BOOKKEEPING = {"accounts.last_seen_at", "accounts.language_code"}


async def _tables(session_factory: async_sessionmaker[AsyncSession]) -> dict[str, list[Any]]:
    """The contents of every table, row by row (bookkeeping columns aside)."""
    contents: dict[str, list[Any]] = {}
    async with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if f"{table.name}.{c.name}" not in BOOKKEEPING]
            rows = (await session.execute(select(*columns))).all()
            contents[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=str)
    return contents


def _assert_nothing_personal(group: FakeGroup) -> None:
    for message in group.messages:
        for fragment in PERSONAL:
            assert fragment not in message.content, (fragment, message.content)
        assert message.reply_markup is None, "no buttons in a group"


async def _members(app: App) -> tuple[FakeGroup, FakeUser, FakeUser]:
    group = app.fake.group(-1_001_000_000_777, title="7Б родители")
    parent = app.user(f.PARENT, first_name="Ирина", language_code="ru")
    teacher = app.user(f.TEACHER, first_name="Учитель", language_code="en")
    return group, parent, teacher


async def test_commands_in_a_group_reveal_and_change_nothing(
    app: App, school: f.SmallSchool
) -> None:
    group, parent, teacher = await _members(app)
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    before = await _tables(app.session_factory)

    for command in ["/access", "/today", "/grades", "/settings", "/start", f"/start {code}"]:
        await parent.send(command, chat=group)
        assert group.last is not None
        assert group.last.text == POINTER["ru"], command
    for command in ["/journal", "/requests@parta_test_bot", "/help"]:
        await teacher.send(command, chat=group)
        assert group.last is not None
        assert group.last.text == POINTER["en"], command
    assert len(group.messages) == 9
    # another bot's command, and plain talk, are not answered
    await parent.send("/start@some_other_bot", chat=group)
    await parent.send("Какая завтра погода?", chat=group)
    assert len(group.messages) == 9

    _assert_nothing_personal(group)
    assert parent.messages == [], "nothing sent privately either"
    assert teacher.messages == []
    assert await _tables(app.session_factory) == before, "the code is not used, nothing changes"
    assert app.fake.errors == []

    # the same command in the private chat does show the child's access (the control)
    await parent.send("/access")
    assert parent.last is not None
    assert "Репетитор" in parent.last.text


async def test_buttons_pressed_in_a_group_get_an_alert_and_change_nothing(
    app: App, school: f.SmallSchool
) -> None:
    group, parent, teacher = await _members(app)
    # a message with buttons in the group (posted before this fix, or forged by a client)
    old = group.add_message(
        True,
        text="Parta",
        reply_markup={
            "inline_keyboard": [
                [{"text": "Access", "callback_data": MenuCb(screen=Screen.ACCESS).pack()}],
                [{"text": "Diary", "callback_data": MenuCb(screen=Screen.DIARY).pack()}],
            ]
        },
    )
    before = await _tables(app.session_factory)

    await parent.press(old, text="Access", chat=group)
    await teacher.press(old, data=MenuCb(screen=Screen.JOURNAL).pack(), chat=group)
    invite = InviteCb(student_id=school.student_id, scopes=15, expiry=0, create=True)
    await parent.press(old, data=invite.pack(), chat=group)

    answers = parent.callback_answers + teacher.callback_answers
    assert len(answers) == 3
    assert all(a.get("show_alert") for a in answers)
    assert [a["text"] for a in parent.callback_answers] == [POINTER["ru"]] * 2
    assert teacher.callback_answers[0]["text"] == POINTER["en"]
    assert old.edits == 0, "the group's message is never edited"
    assert group.messages == [old]
    assert parent.messages == []
    assert teacher.messages == []
    assert await _tables(app.session_factory) == before, "no invitation, nothing changes"
    assert app.fake.errors == []
    assert app.fake.unanswered_callbacks() == []
