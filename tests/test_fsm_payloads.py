"""Typed FSM payloads (`bot.states.Slot`): each survives JSON storage unchanged, and a payload
that is not one (written by an older version, or garbage) counts as expired: the conversation
asks again or says it is over, and never crashes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select

from bot.states import LinkStates, Payload, Slot, SubmitStates
from db.base import utcnow
from db.enums import AttachmentKind
from db.models import Comment
from handlers import diary, linking, notify
from handlers.diary import SubmitDraft
from handlers.linking import AwaitedContact
from handlers.notify import AwaitedNote, NoteStates
from services.core.files import NewFile
from tests import factories as f
from tests.harness import App

EXPIRED_NOTE = "That took too long, so nothing was sent."
STALE_DRAFT = "This handing-in is no longer active."
EXPIRED_CODE = "This code has expired."

PAYLOADS: list[tuple[Slot[Any], Payload]] = [
    (notify.NOTE, AwaitedNote(on="grade", target_id=7, at=1_800_000_000)),
    (notify.NOTE, AwaitedNote(on="comment", target_id=8, at=1_800_000_000)),
    (linking.CONTACT, AwaitedContact(code_id=9)),
    (
        diary.SUBMIT,
        SubmitDraft(
            homework_id=3,
            subject="Математика",
            text="№ 1–5 <b>",
            files=(
                NewFile(AttachmentKind.DOCUMENT, "f1", "u1", "work.pdf", "application/pdf", 10),
                NewFile(AttachmentKind.PHOTO, "f2", "u2", None, "image/jpeg", None),
            ),
            comment="готово & проверьте",
            replacing=True,
        ),
    ),
]


def _state() -> FSMContext:
    return FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=2, user_id=2))


@pytest.mark.parametrize(("slot", "payload"), PAYLOADS, ids=lambda p: type(p).__name__)
async def test_every_payload_survives_json_storage(slot: Slot[Any], payload: Payload) -> None:
    state = _state()
    await slot.save(state, payload)
    stored = (await state.get_data())[slot.key]
    assert slot.parse(json.loads(json.dumps(stored))) == payload
    assert await slot.load(state) == payload
    await slot.clear(state)
    assert await slot.load(state) is None


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        42,
        "3",
        [],
        {},
        {"code_id": "not a number"},
        {"code_id": 9, "extra": 1},  # another version's field
        {"homework_id": 3, "subject": "x", "text": "y", "files": [{"kind": "video"}]},
    ],
)
def test_garbage_is_no_payload(garbage: object) -> None:
    for slot, _payload in PAYLOADS:
        assert slot.parse(garbage) is None


def _context(app: App, telegram_id: int) -> FSMContext:
    return app.dp.fsm.get_context(bot=app.bot, chat_id=telegram_id, user_id=telegram_id)


async def test_an_older_comment_prompt_has_expired(app: App) -> None:
    """The format before typed payloads (two loose keys) is no prompt: nothing is sent."""
    user = app.user(f.PARENT, language_code="en")
    state = _context(app, f.PARENT)
    await state.set_state(NoteStates.comment)
    await state.update_data({"note_target": 1, "note_asked_at": utcnow().timestamp()})
    await user.send("a comment for the teacher")
    assert EXPIRED_NOTE in user.last.text
    assert await state.get_state() is None
    await user.send("a stray message")  # the conversation is over
    assert EXPIRED_NOTE not in user.last.text
    async with app.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0


async def test_a_reply_prompt_left_too_long_has_expired(app: App) -> None:
    user = app.user(f.TEACHER, language_code="en")
    state = _context(app, f.TEACHER)
    await state.set_state(NoteStates.reply)
    asked = int(utcnow().timestamp()) - notify.PROMPT_TTL - 1
    await notify.NOTE.save(state, AwaitedNote(on="comment", target_id=1, at=asked))
    await user.send("a reply to the parent")
    assert EXPIRED_NOTE in user.last.text
    assert await notify.NOTE.load(state) is None


async def test_an_older_contact_payload_is_an_expired_code(app: App) -> None:
    """A phone number shared while an older version's payload waits: the code counts as
    expired, the reply keyboard goes away and the conversation ends."""
    school = await f.make_small_school(app.session_factory)
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    mom = app.user(5001, first_name="Анна", language_code="en")
    await mom.send(f"/start {code}")
    state = _context(app, 5001)
    awaited = await linking.CONTACT.load(state)
    assert awaited is not None
    assert await state.get_state() == LinkStates.waiting_contact.state
    await state.set_data({"code_id": awaited.code_id})  # as the version before stored it
    await mom.send_contact("8 (916) 123-45-67")
    assert EXPIRED_CODE in mom.last.text
    assert mom.last.reply_markup == {"remove_keyboard": True}
    assert await state.get_state() is None


async def test_a_garbled_draft_is_stale(app: App) -> None:
    user = app.user(f.STUDENT, language_code="en")
    state = _context(app, f.STUDENT)
    await state.set_state(SubmitStates.collecting)
    await state.update_data({diary.SUBMIT.key: {"homework_id": "three", "files": "none"}})
    await user.send("my comment")
    assert STALE_DRAFT in user.last.text
    assert await state.get_state() is None
