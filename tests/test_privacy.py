"""Personal data: a family deletes its data in the bot, an unlinked account forgets its name and
phone, and the nightly retention strips what is older than RETENTION_DAYS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import UnlinkCb
from bot.callbacks.notify import EraseCb
from bot.config import Settings
from bot.notifier import job_config
from bot.scheduler import SCHEDULE
from db.base import Base
from db.enums import LinkMethod, NotificationKind, RequestStatus
from db.models import (
    Account,
    AuditEntry,
    Guardian,
    Guardianship,
    LinkRequest,
    NotificationPreference,
    OutboxMessage,
    Student,
    TrustedAccess,
)
from services.core.audit import AuditAction
from services.notify import DedupKey, NotificationEvent, enqueue, jobs
from services.people.privacy import PERSONAL_KEYS, strip_personal
from tests import factories as f
from tests.harness import App

APPLICANT_PHONE = "+79001112233"  # the phone the parent shares: not the one on file
Rows = dict[str, dict[Any, tuple[Any, ...]]]


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


async def dump(session_factory: async_sessionmaker[AsyncSession]) -> Rows:
    """Every row of every table, by primary key: what a test compares before and after."""
    rows: Rows = {}
    async with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            key = [c.name for c in table.primary_key.columns]
            result = await session.execute(select(table))
            rows[table.name] = {
                tuple(row._mapping[k] for k in key): tuple(_plain(v) for v in row) for row in result
            }
    return rows


def changed_tables(before: Rows, after: Rows) -> set[str]:
    return {name for name in before if before[name] != after[name]}


async def _account(session: AsyncSession, telegram_id: int) -> Account:
    account = await session.scalar(select(Account).where(Account.telegram_id == telegram_id))
    assert account is not None
    return account


def _mentions(entry: AuditEntry, needle: str) -> bool:
    return needle in json.dumps([entry.old, entry.new, entry.reason], ensure_ascii=False)


async def _parent_with_everything(app: App, school: f.SmallSchool) -> int:
    """The factory's parent also asks to be Мария's parent with a phone the school does not
    have (a pending request, the class teacher's notification, an audit entry with the phone),
    sets a notification preference and has a notification waiting. Returns the account id."""
    code = await f.parent_code(app.session_factory, school.unlinked_student_id, None)
    parent = app.user(f.PARENT, first_name="Ирина", language_code="en")
    await parent.send(f"/start {code}")
    await parent.send_contact(APPLICANT_PHONE)
    assert "went to the class teacher" in parent.last.text
    await parent.send("/settings")
    await parent.press(text="🚸 Attendance: instantly")
    async with app.session_factory() as session:
        account = await _account(session, f.PARENT)
        account.username = "irina_i"
        await enqueue(
            session,
            account_ids=[account.id],
            event=NotificationEvent.GRADE,
            payload={},
            dedup_key=DedupKey("test:waiting"),
        )
        await session.commit()
        assert await session.scalar(
            select(NotificationPreference.id).where(NotificationPreference.account_id == account.id)
        )
        return account.id


# --- deleting one's data in the bot -------------------------------------------------------------


async def test_parent_deletes_their_data(app: App, school: f.SmallSchool) -> None:
    account_id = await _parent_with_everything(app, school)
    async with app.session_factory() as session:
        request = await session.scalar(select(LinkRequest))
        assert request is not None
        assert request.phone == APPLICANT_PHONE
        request_id = request.id
        other_ids = {
            tid: (await _account(session, tid)).id
            for tid in (f.ADMIN, f.CLASS_TEACHER, f.STUDENT, f.OTHER_PARENT, f.TRUSTED)
        }
    before = await dump(app.session_factory)
    # the request's audit entry never names the phone (services.people.linking keeps it on the
    # request only, for the class teacher's decision)
    assert not any(_plain_has(row, APPLICANT_PHONE) for row in before["audit_log"].values())
    assert any(_plain_has(row, APPLICANT_PHONE) for row in before["notification_outbox"].values())

    parent = app.user(f.PARENT)
    await parent.send("/settings")
    await parent.press(text="🗑 Delete my data")
    assert "Delete my data?" in parent.last.text
    assert "Пётр Иванов" in parent.last.text, "the children whose access ends are named"
    assert await dump(app.session_factory) == before, "the confirmation screen changes nothing"
    await parent.press(text="🗑 Yes, delete my data")
    assert "Your data has been deleted" in parent.last.text
    assert parent.last.inline_keyboard == []
    assert any(
        call["scope"] == {"type": "chat", "chat_id": f.PARENT}
        for call in app.fake.calls_to("deleteMyCommands")
    ), "the parent's own command menu is dropped"

    after = await dump(app.session_factory)
    assert changed_tables(before, after) == {
        "accounts",
        "guardianships",
        "trusted_access",
        "link_requests",
        "notification_preferences",
        "notification_outbox",
        "audit_log",
    }, "the roster (students, guardians) and the journal are the school's and stay"
    async with app.session_factory() as session:
        tomb = await session.get(Account, account_id)
        assert tomb is not None
        assert (tomb.telegram_id, tomb.full_name, tomb.username, tomb.phone) == (
            -account_id,
            "",
            None,
            None,
        )
        assert (tomb.locale, tomb.language_code, tomb.is_active) == (None, None, False)
        assert await session.scalar(select(Account).where(Account.telegram_id == f.PARENT)) is None
        link = await session.get(Guardianship, school.parent_guardianship_id)
        assert link is not None
        assert link.revoked_at is not None
        assert link.revoked_by_id == account_id
        grant = await session.get(TrustedAccess, school.trusted_grant_id)
        assert grant is not None
        assert grant.revoked_at is not None
        assert grant.label == "", "the parent's label for the tutor goes too"
        request = await session.get(LinkRequest, request_id)
        assert request is not None
        assert (request.status, request.phone) == (RequestStatus.CANCELLED, None)
        assert not list(
            await session.scalars(
                select(NotificationPreference).where(
                    NotificationPreference.account_id == account_id
                )
            )
        )
        outbox = list(await session.scalars(select(OutboxMessage)))
        assert [r for r in outbox if r.account_id == account_id] == []
        assert [r for r in outbox if r.dedup_key.startswith(f"linkreq:{request_id}:")] == []
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [e.action for e in audit if e.entity == "link_request"] == [
            AuditAction.LINK_REQUEST
        ], "the facts stay"
        assert not [e for e in audit if _mentions(e, APPLICANT_PHONE)]
        assert not [e for e in audit if e.telegram_id == f.PARENT]
        erase = [e for e in audit if e.action == AuditAction.PRIVACY_ERASE]
        assert len(erase) == 1
        assert (erase[0].actor_id, erase[0].telegram_id) == (account_id, None)
        # the school's roster is untouched: the guardian on file keeps name and phone
        irina = await session.scalar(select(Guardian).where(Guardian.phone == "+79990000001"))
        assert irina is not None
        assert irina.full_name == "Ирина Иванова"
        # the tutor the parent invited lost access and, with no link left, their name
        tutor = await session.get(Account, other_ids[f.TRUSTED])
        assert tutor is not None
        assert tutor.full_name == ""
        assert tutor.telegram_id == f.TRUSTED
    # every other account is exactly as it was
    for tid, other_id in other_ids.items():
        if tid != f.TRUSTED:
            assert after["accounts"][(other_id,)] == before["accounts"][(other_id,)], tid

    # the bot greets the user as a stranger now
    await parent.send("/start")
    assert "send me the access code" in parent.last.text
    await parent.send("/settings")
    assert "send me the access code" in parent.last.text
    # and a new code from the school makes a fresh account
    code = await f.parent_code(app.session_factory, school.student_id, None)
    await parent.send(f"/start {code}")
    await parent.send_contact("+79990000001")
    assert "Пётр Иванов" in parent.last.text
    async with app.session_factory() as session:
        fresh = await _account(session, f.PARENT)
        assert fresh.id != account_id
        assert fresh.full_name == "Ирина"
    assert app.fake.errors == []
    assert app.fake.unanswered_callbacks() == []


def _plain_has(row: tuple[Any, ...], needle: str) -> bool:
    return any(isinstance(v, str) and needle in v for v in row)


async def test_student_deletes_their_data(app: App, school: f.SmallSchool) -> None:
    pupil = app.user(f.STUDENT, language_code="en")
    await pupil.send("/settings")
    await pupil.press(text="🗑 Delete my data")
    assert "disconnect your diary" in pupil.last.text
    before = await dump(app.session_factory)
    await pupil.press(text="🗑 Yes, delete my data")
    assert "Your data has been deleted" in pupil.last.text
    after = await dump(app.session_factory)
    assert changed_tables(before, after) == {"accounts", "students", "audit_log"}
    async with app.session_factory() as session:
        student = await session.get(Student, school.student_id)
        assert student is not None
        assert (student.full_name, student.account_id) == ("Пётр Иванов", None)
    await pupil.send("/start")
    assert "send me the access code" in pupil.last.text
    assert app.fake.errors == []


async def test_staff_are_not_offered_deletion(app: App, school: f.SmallSchool) -> None:
    teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await teacher.send("/settings")
    assert "🗑 Delete my data" not in teacher.last.button_texts()
    async with app.session_factory() as session:
        own = (await _account(session, f.CLASS_TEACHER)).id
    before = await dump(app.session_factory)
    await teacher.press(data=EraseCb(account_id=own, confirm=True).pack())
    assert "managed by the school" in teacher.callback_answers[-1]["text"]
    assert await dump(app.session_factory) == before
    assert app.fake.errors == []


@pytest.mark.parametrize(
    ("case", "telegram_id"),
    [("another parent", f.OTHER_PARENT), ("the tutor", f.TRUSTED), ("a stranger", 5999)],
)
async def test_forged_delete_button_changes_nothing(
    app: App, school: f.SmallSchool, case: str, telegram_id: int
) -> None:
    account_id = await _parent_with_everything(app, school)
    user = app.user(telegram_id, language_code="en")
    await user.send("/language")  # (remembers the user's Telegram language: not part of it)
    before = await dump(app.session_factory)
    for confirm in (False, True):
        await user.press(data=EraseCb(account_id=account_id, confirm=confirm).pack())
        answer = user.callback_answers[-1]
        assert answer.get("show_alert") is True, case
        assert "not for your account" in answer["text"], case
    assert await dump(app.session_factory) == before, case
    victim = app.user(f.PARENT)
    await victim.send("/start")
    assert "Пётр Иванов" in victim.last.text, "the victim is still linked"
    assert app.fake.unanswered_callbacks() == []
    assert app.fake.errors == []


# --- an unlinked account forgets its name and phone ----------------------------------------------


async def test_parent_who_unlinks_keeps_no_name_or_phone(app: App, school: f.SmallSchool) -> None:
    async with app.session_factory() as session:
        await session.execute(
            update(Account).where(Account.telegram_id == f.PARENT).values(phone=APPLICANT_PHONE)
        )
        await session.commit()
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/access")
    await parent.press(
        data=UnlinkCb(guardianship_id=school.parent_guardianship_id, confirm=True).pack()
    )
    assert "no longer linked" in parent.last.text
    async with app.session_factory() as session:
        account = await _account(session, f.PARENT)
        assert (account.full_name, account.phone, account.username) == ("", None, None)
        tutor = await _account(session, f.TRUSTED)
        assert tutor.full_name == "", "the tutor lost their only link with the parent's"
        student = await _account(session, f.STUDENT)
        assert student.full_name == "Пётр Иванов"
    await parent.send("/start")
    assert "Hello!" in parent.last.text
    assert app.fake.errors == []


async def test_revoked_guardian_is_told_and_forgotten(app: App, school: f.SmallSchool) -> None:
    admin = app.user(f.ADMIN, language_code="en")
    other = app.user(f.OTHER_PARENT, language_code="en")
    await admin.send("/start")
    await admin.press(
        data=UnlinkCb(guardianship_id=school.other_guardianship_id, confirm=True).pack()
    )
    assert "revoked" in admin.last.text
    async with app.session_factory() as session:
        account = await _account(session, f.OTHER_PARENT)
        assert (account.full_name, account.phone) == ("", None)
    await app.deliver_notifications()
    assert "Олег Петров" in other.last.text, "the notice still reaches them"
    assert app.fake.errors == []


async def test_guardian_with_another_link_keeps_their_name(app: App, school: f.SmallSchool) -> None:
    async with app.session_factory() as session:
        parent = await _account(session, f.PARENT)
        session.add(
            Guardianship(
                student_id=school.unlinked_student_id,
                account_id=parent.id,
                method=LinkMethod.DEMO,
            )
        )
        await session.commit()
    user = app.user(f.PARENT, language_code="en")
    await user.send("/start")
    await user.press(
        data=UnlinkCb(guardianship_id=school.parent_guardianship_id, confirm=True).pack()
    )
    async with app.session_factory() as session:
        assert (await _account(session, f.PARENT)).full_name == "Ирина Иванова"
    assert app.fake.errors == []


# --- retention ------------------------------------------------------------------------------------

NOW = datetime(2031, 3, 3, 3, 37, tzinfo=UTC)  # any fixed moment: only the distances matter
DAY = timedelta(days=1)


async def _request(
    session: AsyncSession,
    school: f.SmallSchool,
    account_id: int,
    status: RequestStatus,
    created: datetime,
    decided: datetime | None,
) -> int:
    request = LinkRequest(
        student_id=school.unlinked_student_id,
        account_id=account_id,
        phone=APPLICANT_PHONE,
        status=status,
        created_at=created,
        decided_at=decided,
    )
    session.add(request)
    await session.flush()
    return request.id


async def test_retention_forgets_old_requests_and_audit_details(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    async with session_factory() as session:
        who = (await _account(session, f.OTHER_PARENT)).id
        old_rejected = await _request(
            session, school, who, RequestStatus.REJECTED, NOW - 200 * DAY, NOW - 181 * DAY
        )
        recent_rejected = await _request(
            session, school, who, RequestStatus.REJECTED, NOW - 200 * DAY, NOW - 179 * DAY
        )
        old_pending = await _request(
            session, school, who, RequestStatus.PENDING, NOW - 181 * DAY, None
        )
        recent_pending = await _request(
            session, school, who, RequestStatus.PENDING, NOW - 10 * DAY, None
        )
        # an applicant the class teacher turned down, and one still waiting
        rejected = Account(telegram_id=5101, full_name="Отказ", username="no", phone="+7999")
        waiting = Account(telegram_id=5102, full_name="Ждёт", username="wait", phone="+7998")
        session.add_all([rejected, waiting])
        await session.flush()
        turned_down = await _request(
            session, school, rejected.id, RequestStatus.REJECTED, NOW - 3 * DAY, NOW - 2 * DAY
        )
        still_waiting = await _request(
            session, school, waiting.id, RequestStatus.PENDING, NOW - DAY, None
        )
        details = {
            "student_id": school.unlinked_student_id,
            "phone": APPLICANT_PHONE,
            "nested": [{"parent_name": "Ирина", "status": "pending"}],
        }
        old_entry = AuditEntry(
            at=NOW - 181 * DAY,
            actor_id=who,
            telegram_id=f.OTHER_PARENT,
            action=AuditAction.LINK_REQUEST,
            entity="link_request",
            entity_id=old_rejected,
            new=details,
            old={"username": "irina_i", "scopes": 3},
        )
        stranger_entry = AuditEntry(
            at=NOW - 400 * DAY,
            telegram_id=5999,
            action=AuditAction.CODE_FAILED,
            entity="access_code",
            new={"status": "unknown"},
        )
        recent_entry = AuditEntry(
            at=NOW - 179 * DAY,
            actor_id=who,
            telegram_id=f.OTHER_PARENT,
            action=AuditAction.LINK_REQUEST,
            entity="link_request",
            entity_id=recent_rejected,
            new=details,
        )
        session.add_all([old_entry, stranger_entry, recent_entry])
        session.add_all(
            [
                OutboxMessage(
                    account_id=who,
                    kind=NotificationKind.LINK,
                    dedup_key=f"old:{who}",
                    event=NotificationEvent.LINK_REQUEST,
                    payload={"phone": APPLICANT_PHONE},
                    created_at=NOW - 181 * DAY,
                    not_before=NOW - 181 * DAY,
                ),
                OutboxMessage(
                    account_id=who,
                    kind=NotificationKind.LINK,
                    dedup_key=f"new:{who}",
                    event=NotificationEvent.LINK_REQUEST,
                    payload={"phone": APPLICANT_PHONE},
                    created_at=NOW - DAY,
                    not_before=NOW - DAY,
                ),
            ]
        )
        await session.commit()
        ids = (old_entry.id, stranger_entry.id, recent_entry.id)

    config = jobs.JobConfig(retention_days=180)
    assert await jobs.personal_data_retention(session_factory, now=NOW, config=config) == 6
    async with session_factory() as session:
        left = set(await session.scalars(select(LinkRequest.id)))
        assert left == {recent_rejected, recent_pending, turned_down, still_waiting}
        assert old_pending not in left, "a request pending for longer than that has expired"
        old, stranger, recent = [await session.get(AuditEntry, i) for i in ids]
        assert old is not None
        assert stranger is not None
        assert recent is not None
        # the facts stay ...
        assert (old.action, old.entity, old.entity_id, old.actor_id) == (
            AuditAction.LINK_REQUEST,
            "link_request",
            old_rejected,
            who,
        )
        assert old.new == {
            "student_id": school.unlinked_student_id,
            "nested": [{"status": "pending"}],
        }
        assert old.old == {"scopes": 3}
        # ... without the phone, names and Telegram ids
        assert old.telegram_id is None
        assert stranger.telegram_id is None
        assert stranger.new == {"status": "unknown"}
        assert (recent.telegram_id, recent.new) == (f.OTHER_PARENT, details)
        keys = [r.dedup_key for r in await session.scalars(select(OutboxMessage))]
        assert keys == [f"new:{who}"]
        # an account without any link keeps no name; linked and waiting ones keep theirs
        names = {
            a.telegram_id: (a.full_name, a.username, a.phone)
            for a in await session.scalars(select(Account))
        }
        assert names[5101] == ("", None, None)
        assert names[5102] == ("Ждёт", "wait", "+7998")
        assert names[f.OTHER_PARENT][0] == "Чужой Родитель"
        assert all(name for tid, (name, _u, _p) in names.items() if tid != 5101)
    # a second run finds nothing more
    assert await jobs.personal_data_retention(session_factory, now=NOW, config=config) == 0
    # a shorter retention reaches the recent ones
    short = jobs.JobConfig(retention_days=7)
    assert await jobs.personal_data_retention(session_factory, now=NOW, config=short) == 3
    async with session_factory() as session:
        assert (await _account(session, 5102)).full_name == "Ждёт", "still waiting"


def test_retention_is_a_setting_and_scheduled() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.retention_days == 180
    assert job_config(settings).retention_days == 180
    shorter = Settings(_env_file=None, retention_days=30)  # type: ignore[call-arg]
    assert job_config(shorter).retention_days == 30
    assert jobs.JOBS["retention"] is jobs.personal_data_retention
    assert "retention" in SCHEDULE


def test_strip_personal_removes_every_personal_key_at_any_depth() -> None:
    details = dict.fromkeys(PERSONAL_KEYS, "x") | {
        "kept": 1,
        "list": [{"phone": "+7", "id": 2}, "phone"],
    }
    assert strip_personal(details) == {"kept": 1, "list": [{"id": 2}, "phone"]}
    assert strip_personal(None) is None
