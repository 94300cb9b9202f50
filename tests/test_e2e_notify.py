"""Notifications end to end: reactions on a grade message (seen, the comment thread with the
teacher), the settings screen, and what other roles' forged buttons get."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.journal import JMarkCb, JStudentCb
from bot.callbacks.notify import DeadLetterCb, PrefCb, PrefOp, ReactCb, ReactOp, ReplyCb
from db.enums import DeliveryMode, NotificationKind
from db.models import (
    Account,
    Acknowledgement,
    Comment,
    Grade,
    NotificationPreference,
    OutboxMessage,
)
from services.notify.preferences import DIGEST_TIMES, QUIET_OPTIONS
from services.notify.reactions import TEXT_LIMIT
from tests import factories as f
from tests import notify_world as w
from tests.fakes.telegram_api import FakeUser
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot

REFUSAL = "don't have access"


@pytest.fixture
async def world(app: App) -> w.World:
    world = await w.make_world(app.session_factory)
    for telegram_id in (f.PARENT, f.TRUSTED, f.STUDENT, f.TEACHER, f.OTHER_PARENT, f.ADMIN):
        app.user(telegram_id, language_code="en")
    return world


async def _graded(app: App, world: w.World, value: str = "3") -> tuple[int, FakeUser]:
    """A grade announced to the family; returns it and the parent holding its message."""
    grade_id = await w.grade(app.session_factory, world, value=value)
    await app.deliver_notifications(w.T0 + timedelta(seconds=61))
    parent = app.user(f.PARENT)
    assert parent.last is not None
    assert parent.last.button_texts() == ["👀 Seen", "💬 Comment"]
    return grade_id, parent


async def _count(
    session_factory: async_sessionmaker[AsyncSession], model: object, *where: object
) -> int:
    async with session_factory() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(*where))  # type: ignore[arg-type]
        )


async def test_seen_is_recorded_once_and_answered_with_an_alert(app: App, world: w.World) -> None:
    grade_id, parent = await _graded(app, world)
    message = parent.last
    await parent.press(message, text="👀 Seen")
    assert "teacher will see it" in parent.callback_answers[-1]["text"]
    assert parent.callback_answers[-1].get("show_alert") is True
    assert message.button_texts() == ["💬 Comment"]  # the push loses its "Seen"
    # a second press (a client that still shows the button)
    await parent.press(message, data=ReactCb(grade_id=grade_id, op=ReactOp.SEEN).pack())
    assert "already marked" in parent.callback_answers[-1]["text"]
    assert (
        await _count(app.session_factory, Acknowledgement, Acknowledgement.grade_id == grade_id)
        == 1
    )
    assert app.fake.errors == []


async def test_comment_reply_and_thread(app: App, world: w.World) -> None:
    grade_id, parent = await _graded(app, world)
    await parent.press(parent.last, text="💬 Comment")
    assert "Write your comment to the teacher" in parent.last.text  # type: ignore[union-attr]
    await parent.send("Почему <3>? Он & я готовились 😀")
    assert "Sent to the teacher" in parent.last.text  # type: ignore[union-attr]
    await parent.send("a stray message")  # the state is over: not a second comment
    assert await _count(app.session_factory, Comment) == 1

    teacher = app.user(f.TEACHER)
    await app.deliver_notifications()
    note = teacher.last
    assert note is not None
    assert "Ирина Иванова" in note.text
    assert "Пётр Иванов" in note.text
    assert "Почему <3>? Он & я готовились 😀" in note.text
    assert note.button_texts() == ["↩️ Reply"]
    await teacher.press(note, text="↩️ Reply")
    assert "Write your reply to the family" in teacher.last.text  # type: ignore[union-attr]
    await teacher.send("Нужно повторить § 12 <b>")
    assert "Sent to the family" in teacher.last.text  # type: ignore[union-attr]

    await app.deliver_notifications()
    reply = parent.last
    assert reply is not None
    assert "Учитель Математики" in reply.text
    assert "Нужно повторить § 12 <b>" in reply.text
    assert "Почему <3>?" in reply.text
    assert reply.button_texts() == ["💬 Comment", "🧵 Thread"]
    await parent.press(reply, text="🧵 Thread")
    thread = parent.last
    assert thread is not None
    assert thread.text.index("Почему") < thread.text.index("Нужно повторить")
    async with app.session_factory() as session:
        comments = list(await session.scalars(select(Comment).order_by(Comment.id)))
    assert [c.grade_id for c in comments] == [grade_id, grade_id]
    assert comments[1].reply_to_id == comments[0].id
    kinds = await _count(
        app.session_factory, OutboxMessage, OutboxMessage.kind == NotificationKind.REPLY
    )
    assert kinds == 2
    assert app.fake.errors == []


async def test_comment_can_be_cancelled_and_must_be_text(app: App, world: w.World) -> None:
    _grade_id, parent = await _graded(app, world)
    await parent.press(parent.last, text="💬 Comment")
    await parent.send_photo(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    assert "as text" in parent.last.text  # type: ignore[union-attr]
    prompt = next(m for m in reversed(parent.messages) if m.find_button("✖️ Cancel"))
    await parent.press(prompt, text="✖️ Cancel")
    assert "nothing was sent" in (prompt.text or ""), "the prompt turns into the answer"
    await parent.send("hello")
    assert await _count(app.session_factory, Comment) == 0
    assert app.fake.errors == []


async def test_other_roles_cannot_react_or_reply(app: App, world: w.World) -> None:
    grade_id, parent = await _graded(app, world)
    await parent.press(parent.last, text="💬 Comment")
    await parent.send("?")
    await app.deliver_notifications()
    comment_id = await _scalar(app, select(Comment.id))
    intruders = (f.TRUSTED, f.STUDENT, f.OTHER_PARENT, f.ADMIN, 4242, f.CLASS_TEACHER)
    for telegram_id in intruders:
        await app.user(telegram_id, language_code="en").send("/help")
    before = await db_snapshot(app.session_factory)
    for telegram_id in intruders[:-1]:
        user = app.user(telegram_id)
        target = user.last
        for data in (
            ReactCb(grade_id=grade_id, op=ReactOp.SEEN),
            ReactCb(grade_id=grade_id, op=ReactOp.COMMENT),
            ReactCb(grade_id=grade_id, op=ReactOp.THREAD),
            ReactCb(grade_id=999_999, op=ReactOp.SEEN),
            ReplyCb(comment_id=comment_id),
            *([] if telegram_id == f.ADMIN else [DeadLetterCb(retry=True)]),
        ):
            await user.press(target, data=data.pack())
            assert REFUSAL in user.callback_answers[-1]["text"], (telegram_id, data)
    other_teacher = app.user(f.CLASS_TEACHER)
    await other_teacher.press(other_teacher.last, data=ReplyCb(comment_id=comment_id).pack())
    assert REFUSAL in other_teacher.callback_answers[-1]["text"]
    await assert_unchanged(app.session_factory, before)
    assert await _count(app.session_factory, Acknowledgement) == 0
    assert await _count(app.session_factory, Comment) == 1
    assert app.fake.errors == []


async def _scalar(app: App, query: object) -> int:
    async with app.session_factory() as session:
        value = await session.scalar(query)  # type: ignore[call-overload]
    assert value is not None
    return int(value)


async def test_settings_screen_changes_only_ones_own_preferences(app: App, world: w.World) -> None:
    parent = app.user(f.PARENT)
    await parent.send("/start")
    await parent.press(parent.last, text="⚙️ Settings")
    screen = parent.last
    assert screen is not None
    assert "📝 Grades: instantly" in screen.text
    assert "Quiet hours: off" in screen.text, "the test app has no default quiet hours"
    await parent.press(screen, text="📝 Grades: instantly")
    assert "📝 Grades: only in the daily digest" in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text="📝 Grades: in the digest")
    await parent.press(parent.last, text="📝 Grades: off")
    assert "📝 Grades: instantly" in parent.last.text  # type: ignore[union-attr]
    urgent = parent.last.find_button("🌙 waits")  # type: ignore[union-attr]
    assert urgent is not None
    await parent.press(
        parent.last, data=PrefCb(op=PrefOp.URGENT, kind=NotificationKind.ATTENDANCE, value=1).pack()
    )
    assert "🚸 Attendance: instantly · 🚨 urgent" in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text="🌙 Quiet hours: off")
    assert "Quiet hours: 21:00–08:00" in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text="🌙 Quiet hours: 21:00–08:00")
    start, end = QUIET_OPTIONS[1]
    assert f"Quiet hours: {start:%H:%M}–{end:%H:%M}" in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text="🗓 Daily digest: on")
    assert "Daily digest: off" in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text=f"🕗 {DIGEST_TIMES[3]:%H:%M}")
    async with app.session_factory() as session:
        account = await session.scalar(select(Account).where(Account.telegram_id == f.PARENT))
        assert account is not None
        assert (account.quiet_start, account.quiet_end) == QUIET_OPTIONS[1]
        assert account.digest_time == DIGEST_TIMES[4]
        prefs = {
            p.kind: (p.mode, p.urgent)
            for p in await session.scalars(
                select(NotificationPreference).where(
                    NotificationPreference.account_id == account.id
                )
            )
        }
    assert prefs[NotificationKind.GRADE] == (DeliveryMode.INSTANT, False)
    assert prefs[NotificationKind.ATTENDANCE] == (DeliveryMode.INSTANT, True)
    assert prefs[NotificationKind.DIGEST] == (DeliveryMode.OFF, False)
    assert (
        await _count(
            app.session_factory,
            NotificationPreference,
            NotificationPreference.account_id != world.accounts[f.PARENT],
        )
        == 0
    )
    assert app.fake.errors == []


async def test_settings_differ_by_role(app: App, world: w.World) -> None:
    student = app.user(f.STUDENT)
    await student.send("/settings")
    assert "📝 Grades: off" in student.last.text  # type: ignore[union-attr]
    await student.press(student.last, text="📝 Grades: off")
    assert "📝 Grades: instantly" in student.last.text  # type: ignore[union-attr]
    teacher = app.user(f.TEACHER)
    await teacher.send("/settings")
    assert "Comments and replies" in teacher.last.text  # type: ignore[union-attr]
    assert "Grades" not in teacher.last.text  # type: ignore[union-attr]
    assert "could not be delivered" not in teacher.last.text  # type: ignore[union-attr]
    admin = app.user(f.ADMIN)
    await admin.send("/settings")
    assert "0 notifications could not be delivered" in admin.last.text  # type: ignore[union-attr]
    stranger = app.user(4343, language_code="en")
    await stranger.send("/settings")
    assert "Parta" in stranger.last.text  # type: ignore[union-attr]
    before = await db_snapshot(app.session_factory)
    await stranger.press(stranger.last, data=PrefCb(op=PrefOp.QUIET, value=1).pack())
    await assert_unchanged(app.session_factory, before)
    assert await _count(app.session_factory, NotificationPreference) == 1
    assert app.fake.errors == []
    await student.send("/start")
    menu = {c["command"] for c in app.fake.commands({"type": "chat", "chat_id": f.STUDENT})}
    assert "settings" in menu


async def _long_thread(app: App, world: w.World) -> tuple[int, list[str]]:
    """A grade with three rounds of comment and reply of the longest allowed length, made
    in the bot; returns the grade and the texts."""
    grade_id, _ = await _graded(app, world)
    parent, teacher = app.user(f.PARENT), app.user(f.TEACHER)
    texts = []
    for number in range(3):
        await parent.press(parent.last, text="💬 Comment")
        assert "Write your comment to the teacher" in parent.last.text  # type: ignore[union-attr]
        texts.append((f"P{number} " + "Ж&<" * 400)[:TEXT_LIMIT])
        await parent.send(texts[-1])
        assert "Sent to the teacher" in parent.last.text  # type: ignore[union-attr]
        await app.deliver_notifications()
        await teacher.press(teacher.last, text="↩️ Reply")
        assert "Write your reply to the family" in teacher.last.text  # type: ignore[union-attr]
        texts.append((f"T{number} " + "Ю>&" * 400)[:TEXT_LIMIT])
        await teacher.send(texts[-1])
        assert "Sent to the family" in teacher.last.text  # type: ignore[union-attr]
        await app.deliver_notifications()
    return grade_id, texts


async def test_a_thread_of_long_comments_fits_telegrams_messages(app: App, world: w.World) -> None:
    """Comments of the longest allowed length: the prompt shows the latest ones shortened
    (one message, its "Cancel" below), the thread shows them all whole in as many messages
    as it takes, its buttons under the last."""
    _, texts = await _long_thread(app, world)
    parent = app.user(f.PARENT)
    before = len(parent.messages)
    await parent.press(parent.last, text="🧵 Thread")
    shown = parent.messages[before:]
    assert len(shown) > 1
    assert all(not m.buttons for m in shown[:-1])
    assert shown[-1].button_texts() == ["💬 Comment"]
    whole = "\n".join(str(m.text) for m in shown)
    assert all(text in whole for text in texts)
    assert app.fake.errors == []


async def test_the_teachers_cards_shorten_long_comments(app: App, world: w.World) -> None:
    """The journal's grade card and student card list the grade's comments, shortened: each
    card stays one message."""
    grade_id, texts = await _long_thread(app, world)
    async with app.session_factory() as session:
        lesson_id = await session.scalar(select(Grade.lesson_id).where(Grade.id == grade_id))
    assert lesson_id is not None
    teacher = app.user(f.TEACHER)
    await teacher.send("/journal")
    await teacher.press(teacher.last, data=JMarkCb(grade_id=grade_id).pack())
    assert "Comments" in teacher.last.text  # type: ignore[union-attr]
    assert texts[-1][:100] in teacher.last.text  # type: ignore[union-attr]
    await teacher.press(
        teacher.last, data=JStudentCb(lesson_id=lesson_id, student_id=world.student).pack()
    )
    assert "Comments" in teacher.last.text  # type: ignore[union-attr]
    assert texts[0][:100] in teacher.last.text  # type: ignore[union-attr]
    assert app.fake.errors == []
