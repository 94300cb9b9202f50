"""A whole school tapping at once: pool and concurrency settings, at most N updates at work,
no update lost under a burst bigger than the pool, "last opened" stamps written in batches,
per-user throttling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.callbacks.journal import JGradeCb
from bot.concurrency import UpdateSlotMiddleware, UpdateSlots, stepped_aside
from bot.config import Settings
from bot.middlewares.throttle import Throttle, Verdict
from db.base import utcnow
from db.engine import PoolLimits, create_engine, create_session_factory
from db.enums import GradeKind
from db.models import Account, AuditEntry, Grade, Guardianship, OutboxMessage
from services.core.actors import load_actor
from services.core.audit import AuditAction
from services.demo import seed_demo
from services.people.opened import OpenedStamps, attach
from services.people.privacy import erase_account
from tests import factories as f
from tests.crowd import link_crowd, link_teachers
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.harness import BOT_TOKEN, App
from tests.snapshot import assert_unchanged, db_snapshot

#: the same figures on any day: run once, not on each date CI travels to
pytestmark = pytest.mark.undated

SQLITE = "sqlite+aiosqlite:///parta.sqlite3"
POSTGRES = "postgresql+asyncpg://parta@db/parta"
APOLOGY = "Sorry, something went wrong"


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# --- settings -----------------------------------------------------------------------------------


def test_pool_and_concurrency_defaults_per_database() -> None:
    sqlite = _settings(database_url=SQLITE)
    assert sqlite.db_pool == PoolLimits(5, 10, 30.0)
    assert sqlite.concurrent_updates == 5
    postgres = _settings(database_url=POSTGRES)
    assert postgres.db_pool == PoolLimits(10, 10, 30.0)
    assert postgres.concurrent_updates == 10
    assert (postgres.throttle_rate, postgres.throttle_burst) == (4.0, 40)


def test_pool_concurrency_and_throttle_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "DATABASE_URL": POSTGRES,
        "DB_POOL_SIZE": "4",
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT": "2.5",
        "MAX_CONCURRENT_UPDATES": "3",
        "THROTTLE_RATE": "0.5",
        "THROTTLE_BURST": "7",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.db_pool == PoolLimits(4, 0, 2.5)
    assert settings.concurrent_updates == 3
    assert (settings.throttle_rate, settings.throttle_burst) == (0.5, 7)
    monkeypatch.setenv("THROTTLE_RATE", "0")  # off
    assert Settings(_env_file=None).throttle_rate == 0  # type: ignore[call-arg]


def test_more_updates_at_once_than_the_pool_holds_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"MAX_CONCURRENT_UPDATES .* more than the pool"):
        _settings(database_url=POSTGRES, max_concurrent_updates=21)
    with pytest.raises(ValidationError, match="more than the pool"):
        _settings(database_url=SQLITE, db_pool_size=2, db_max_overflow=0, max_concurrent_updates=3)
    assert _settings(database_url=POSTGRES, max_concurrent_updates=20).concurrent_updates == 20
    with pytest.raises(ValidationError):
        _settings(database_url=SQLITE, db_pool_size=0)


async def test_the_engine_takes_the_pool_settings(db_url: str) -> None:
    engine = create_engine(db_url, pool=PoolLimits(3, 1, 4.0))
    try:
        pool: Any = engine.sync_engine.pool
        assert (pool.size(), pool.timeout(), pool._max_overflow) == (3, 4.0, 1)
    finally:
        await engine.dispose()


# --- at most N updates at work ------------------------------------------------------------------


def _message_update(update_id: int, user_id: int, text: str = "hi") -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                "text": text,
            },
        }
    )


async def _until(predicate: Any) -> None:
    for _ in range(2000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never met")


async def test_at_most_the_limit_of_updates_run_at_once() -> None:
    slots = UpdateSlots(2)
    dp = Dispatcher()
    dp.update.outer_middleware(UpdateSlotMiddleware(slots))
    gate = asyncio.Event()
    running: list[int] = []
    most = 0
    done: list[int] = []

    @dp.message()
    async def hold(message: Any) -> None:
        nonlocal most
        running.append(message.message_id)
        most = max(most, len(running))
        await gate.wait()
        running.remove(message.message_id)
        done.append(message.message_id)

    bot = Bot(BOT_TOKEN)
    # six users at once (different users: no per-user isolation in play)
    tasks = [
        asyncio.create_task(dp.feed_update(bot, _message_update(i, 100 + i))) for i in range(6)
    ]
    await _until(lambda: len(running) == 2)
    for _ in range(20):
        await asyncio.sleep(0)  # give the four others every chance to start
    assert len(running) == 2
    assert slots.in_flight == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert sorted(done) == list(range(6))
    assert most == 2
    assert slots.peak == 2
    assert slots.in_flight == 0
    await bot.session.close()


async def test_an_update_waiting_for_pacing_lends_its_slot() -> None:
    slots = UpdateSlots(1)
    dp = Dispatcher()
    dp.update.outer_middleware(UpdateSlotMiddleware(slots))
    paced = asyncio.Event()
    order: list[str] = []

    @dp.message()
    async def handle(message: Any) -> None:
        if message.text == "slow":
            order.append("slow starts")
            async with stepped_aside():  # e.g. the pacing of its chat
                await paced.wait()
            order.append("slow ends")
        else:
            order.append("quick")

    bot = Bot(BOT_TOKEN)
    slow = asyncio.create_task(dp.feed_update(bot, _message_update(1, 101, "slow")))
    await _until(lambda: order == ["slow starts"])
    assert slots.in_flight == 0, "its slot is lent while it waits"
    await dp.feed_update(bot, _message_update(2, 102, "quick"))  # runs to the end meanwhile
    assert order == ["slow starts", "quick"]
    paced.set()
    await slow
    assert order == ["slow starts", "quick", "slow ends"]
    assert slots.peak == 1
    await bot.session.close()


# --- a burst bigger than the pool ---------------------------------------------------------------


@pytest.fixture
async def small_pool(db_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The test database (emptied by `engine`) behind a pool of 2 connections, no overflow,
    and a short wait for one: any update waiting for the pool would fail soon."""
    small = create_engine(db_url, pool=PoolLimits(2, 0, 2.0))
    yield small
    await small.dispose()


@pytest.fixture
async def quiet_telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API without its rate limits (the burst is about the bot, not Telegram)."""
    async with FakeTelegram(token=BOT_TOKEN, rate_limits=False) as fake:
        yield fake


def _bot_texts(user: FakeUser) -> list[str]:
    return [m.text or "" for m in user.messages if m.from_bot]


async def test_a_burst_bigger_than_the_pool_is_answered_whole_and_reads_write_nothing(
    db_url: str, small_pool: AsyncEngine, quiet_telegram: FakeTelegram
) -> None:
    factory = create_session_factory(small_pool)
    await f.make_small_school(factory)
    crowd = await link_crowd(factory, 15)
    app = await App.start(
        quiet_telegram,
        db_url,
        factory,
        virtual_time=True,  # the pacing of each chat (4 replies) sleeps on the fake's clock
        db_pool_size=2,
        db_max_overflow=0,
        max_concurrent_updates=2,
    )
    try:
        users = [app.user(telegram_id, language_code="en") for telegram_id in crowd]
        before = await db_snapshot(factory)
        # 15 parents × 4 /today = 60 updates at once, against 2 connections
        await asyncio.gather(*(user.send("/today") for user in users for _ in range(4)))
        await quiet_telegram.wait_idle()
        for user in users:
            texts = _bot_texts(user)
            assert len(texts) == 4, (user, texts)
            assert not any(APOLOGY in t for t in texts)
            assert all(m.inline_keyboard for m in user.messages if m.from_bot)
        slots: UpdateSlots = app.dp["update_slots"]
        assert slots.peak == 2
        assert slots.in_flight == 0
        # the day views wrote nothing: the "last opened" stamps wait in memory
        await assert_unchanged(factory, before, "60 day views")
        assert await app.flush_opened() == 15
        async with factory() as session:
            stamped = await session.scalar(
                select(Guardianship.id)
                .join(Account, Account.id == Guardianship.account_id)
                .where(Account.telegram_id.in_(crowd), Guardianship.last_opened_at.is_(None))
            )
            assert stamped is None, "every parent's link is stamped"
    finally:
        await app.stop()


async def test_teachers_grading_at_once_against_a_small_pool_lose_no_grade(
    db_url: str, small_pool: AsyncEngine
) -> None:
    """Every teacher of a school taps three grades at the same moment, against 2 connections:
    every tap is answered without an alert or an apology, and each wrote its grade, its audit
    entry and the family's notification."""
    factory = create_session_factory(small_pool)
    await seed_demo(factory, students=30, weeks=2)
    teachers = await link_teachers(factory)
    assert len(teachers) >= 5
    counts = await _grade_counts(factory)
    async with FakeTelegram(token=BOT_TOKEN, rate_limits=False, think_time=0.0) as fake:
        app = await App.start(
            fake,
            db_url,
            factory,
            virtual_time=True,
            db_pool_size=2,
            db_max_overflow=0,
            max_concurrent_updates=2,
        )
        try:
            users = [app.user(t.telegram_id, language_code="en") for t in teachers]
            await asyncio.gather(*(user.send("/journal") for user in users))
            await fake.wait_idle()
            taps = {  # three students of the teacher's latest lesson each
                user: [
                    JGradeCb(lesson_id=t.lesson_id, student_id=s, value=0, kind=GradeKind.CLASSWORK)
                    for s in t.student_ids[:3]
                ]
                for t, user in zip(teachers, users, strict=True)
            }
            await asyncio.gather(
                *(user.press(data=tap.pack()) for user, own in taps.items() for tap in own)
            )
            await fake.wait_idle()
            assert fake.errors == []
            assert fake.unanswered_callbacks() == []
            for user in users:
                assert len(user.callback_answers) == 3, user
                assert not any(a.get("show_alert") for a in user.callback_answers), user
                assert not any(APOLOGY in t for t in _bot_texts(user))
            grades, audit, outbox = await _grade_counts(factory)
            assert grades - counts[0] == audit - counts[1] == 3 * len(teachers)
            assert outbox > counts[2]
        finally:
            await app.stop()


async def _grade_counts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    """Grades, grade audit entries, notifications waiting."""
    async with factory() as session:
        grades = await session.scalar(select(func.count()).select_from(Grade))
        audit = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == AuditAction.GRADE_CREATE)
        )
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(grades or 0), int(audit or 0), int(outbox or 0)


# --- "last opened" stamps ------------------------------------------------------------------------


async def _opened(session: AsyncSession, guardianship_id: int) -> Any:
    link = await session.get(Guardianship, guardianship_id, populate_existing=True)
    assert link is not None
    return link.last_opened_at


async def test_stamps_are_written_by_the_flush_never_backwards_nor_on_revoked_links(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    stamps = OpenedStamps()
    async with session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        other = await load_actor(session, f.OTHER_PARENT)
    assert parent.account_id is not None
    assert other.account_id is not None
    now = utcnow().replace(microsecond=0)
    stamps.note(parent.account_id, school.student_id, now - timedelta(hours=1))
    stamps.note(parent.account_id, school.student_id, now)  # the latest wins
    stamps.note(parent.account_id, school.student_id, now - timedelta(hours=2))
    assert len(stamps) == 1
    async with session_factory() as session:
        assert await _opened(session, school.parent_guardianship_id) is None
    assert await stamps.flush(session_factory) == 1
    assert len(stamps) == 0
    assert await stamps.flush(session_factory) == 0
    async with session_factory() as session:
        assert await _opened(session, school.parent_guardianship_id) == now

    # another process wrote an older stamp later: the newer one stays
    stamps.note(parent.account_id, school.student_id, now - timedelta(minutes=5))
    await stamps.flush(session_factory)
    async with session_factory() as session:
        assert await _opened(session, school.parent_guardianship_id) == now

    # a revoked link is not stamped again
    async with session_factory() as session:
        link = await session.get(Guardianship, school.other_guardianship_id)
        assert link is not None
        link.revoked_at = now
        await session.commit()
    stamps.note(other.account_id, school.other_student_id, now)
    await stamps.flush(session_factory)
    async with session_factory() as session:
        assert await _opened(session, school.other_guardianship_id) is None


async def test_erasing_an_account_drops_its_unwritten_stamps(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    school = await f.make_small_school(session_factory)
    stamps = OpenedStamps()
    async with session_factory() as session:
        parent = await load_actor(session, f.PARENT)
        other = await load_actor(session, f.OTHER_PARENT)
    assert parent.account_id is not None
    assert other.account_id is not None
    stamps.note(parent.account_id, school.student_id, utcnow())
    stamps.note(other.account_id, school.other_student_id, utcnow())
    async with session_factory() as session:
        attach(session, stamps)
        await erase_account(session, parent, parent.account_id)
    assert len(stamps) == 1, "only the other family's stamp is left"
    await stamps.flush(session_factory)
    async with session_factory() as session:
        assert await _opened(session, school.parent_guardianship_id) is None
        assert await _opened(session, school.other_guardianship_id) is not None


# --- per-user throttling ------------------------------------------------------------------------


def test_a_token_bucket_per_user_warns_once_per_flood() -> None:
    now = [0.0]
    throttle = Throttle(rate=1.0, burst=2, clock=lambda: now[0])
    assert [throttle.check(1) for _ in range(4)] == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.DROP,
    ]
    assert throttle.check(2) is Verdict.ALLOW, "another user has a bucket of their own"
    now[0] += 1.0  # one token back: one update through, no second notice
    assert [throttle.check(1), throttle.check(1)] == [Verdict.ALLOW, Verdict.DROP]
    now[0] += 10.0  # calm again (bucket full): a new flood gets a new notice
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.WARN]


async def test_a_flooding_user_gets_one_slow_down_and_others_are_answered(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], quiet_telegram: FakeTelegram
) -> None:
    await f.make_small_school(session_factory)
    flooder_id, calm_id = await link_crowd(session_factory, 2)
    app = await App.start(
        quiet_telegram,
        db_url,
        session_factory,
        virtual_time=True,
        throttle_rate=0.001,  # no token comes back while the test runs
        throttle_burst=3,
    )
    try:
        flooder = app.user(flooder_id, language_code="en")
        calm = app.user(calm_id, language_code="en")
        await asyncio.gather(
            *(flooder.send("/today") for _ in range(12)), calm.send("/today"), calm.send("/today")
        )
        await quiet_telegram.wait_idle()
        texts = _bot_texts(flooder)
        slow_down = [t for t in texts if "sending a lot at once" in t]
        assert len(slow_down) == 1, texts
        assert len(texts) == 4, "three answered, one notice, eight dropped silently"
        assert len(_bot_texts(calm)) == 2
        assert not any("sending a lot" in t for t in calm.texts())

        # button presses over the limit are still answered, with the short alert
        screen = next(m for m in flooder.messages if m.from_bot and m.inline_keyboard)
        button = screen.button_texts()[0]
        for _ in range(3):
            await flooder.press(screen, text=button)
        answers = flooder.callback_answers[-3:]
        assert len(answers) == 3
        assert all("Too many taps" in a["text"] for a in answers)
        assert len(_bot_texts(flooder)) == 4, "no second notice in the same flood"
    finally:
        await app.stop()


async def test_the_notice_speaks_russian_to_a_russian_user(
    db_url: str, session_factory: async_sessionmaker[AsyncSession], quiet_telegram: FakeTelegram
) -> None:
    await f.make_small_school(session_factory)
    (flooder_id,) = await link_crowd(session_factory, 1)
    app = await App.start(
        quiet_telegram, db_url, session_factory, throttle_rate=0.001, throttle_burst=1
    )
    try:
        flooder = app.user(flooder_id, language_code="ru")
        await flooder.send("/today")
        await flooder.send("/today")
        await flooder.send("/today")
        texts = _bot_texts(flooder)
        assert len(texts) == 2
        assert "Вы отправляете слишком много сразу" in texts[-1]
    finally:
        await app.stop()
