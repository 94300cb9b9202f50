"""Redis FSM storage for real: two bot instances (two production dispatchers, each with its own
Redis connection built by `create_storage`) share one conversation through the Redis server,
as several webhook instances behind a load balancer do. A conversation begun on one instance
is finished on the other.

Keys live under a prefix unique to the test and are deleted afterwards. The Redis URL is
``PARTA_TEST_REDIS_URL`` (default the local server); without a server the tests are skipped,
except under CI, where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.factory import create_storage
from bot.states import LinkStates
from db.enums import LinkMethod
from db.models import Account, Guardianship
from tests import factories as f
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import App

REDIS_URL = os.environ.get("PARTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MOM = 5001


@dataclass
class RedisFsm:
    prefix: str
    storages: list[RedisStorage]

    def instance(self) -> tuple[RedisStorage, RedisEventIsolation]:
        """Storage and isolation of one more bot instance: built by the production factory
        from REDIS_URL (a connection of its own), keys under this test's prefix."""
        settings = Settings(_env_file=None, redis_url=REDIS_URL)  # type: ignore[call-arg]
        storage, isolation = create_storage(settings)
        assert isinstance(storage, RedisStorage)
        assert isinstance(isolation, RedisEventIsolation)
        storage.key_builder = DefaultKeyBuilder(prefix=self.prefix)
        isolation.key_builder = DefaultKeyBuilder(prefix=self.prefix)
        self.storages.append(storage)
        return storage, isolation

    async def keys(self) -> list[str]:
        redis = self.storages[0].redis
        return sorted([k.decode() async for k in redis.scan_iter(match=f"{self.prefix}:*")])


@pytest.fixture
async def redis_fsm() -> AsyncIterator[RedisFsm]:
    fsm = RedisFsm(prefix=f"parta-test-{os.getpid()}-{secrets.token_hex(4)}", storages=[])
    probe, _ = fsm.instance()
    try:
        await probe.redis.ping()
    except Exception as exc:  # any failure to connect means "not available"
        await probe.close()
        message = f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires the Redis tests", pytrace=False)
        pytest.skip(message)
    try:
        yield fsm
    finally:
        keys = await fsm.keys()
        if keys:
            await probe.redis.delete(*keys)
        for storage in fsm.storages:
            await storage.close()


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def _two_instances(
    fake: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    backends: list[tuple[BaseStorage, BaseEventIsolation]],
) -> list[App]:
    apps = []
    for storage, isolation in backends:
        apps.append(
            await App.start(fake, db_url, session_factory, storage=storage, isolation=isolation)
        )
    return apps


def _route(fake: FakeTelegram, app: App) -> None:
    """The next updates reach this instance (as a load balancer would decide)."""
    assert app.deliver_update is not None
    fake.deliver = app.deliver_update


async def _linked(session_factory: async_sessionmaker[AsyncSession]) -> Guardianship | None:
    async with session_factory() as session:
        return await session.scalar(
            select(Guardianship)
            .join(Account, Account.id == Guardianship.account_id)
            .where(Account.telegram_id == MOM)
        )


async def test_a_conversation_begun_on_one_instance_is_finished_on_another(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    redis_fsm: RedisFsm,
) -> None:
    first, second = await _two_instances(
        fake_telegram, db_url, session_factory, [redis_fsm.instance(), redis_fsm.instance()]
    )
    try:
        code = await f.parent_code(session_factory, school.unlinked_student_id, None)
        mom = fake_telegram.user(MOM, first_name="Анна", language_code="en")
        _route(fake_telegram, first)
        await mom.send(f"/start {code}")
        assert "share" in mom.last.text.lower()
        # the state is in Redis, under this test's prefix, and the other instance reads it
        key = StorageKey(bot_id=fake_telegram.bot_id, chat_id=MOM, user_id=MOM)
        assert await redis_fsm.storages[1].get_state(key) == LinkStates.waiting_contact.state
        assert await redis_fsm.keys(), "the conversation is kept in Redis"
        _route(fake_telegram, second)
        await mom.send_contact("8 (916) 123-45-67")
        assert "Мария &lt;Смирнова&gt;" in mom.last.html
        link = await _linked(session_factory)
        assert link is not None
        assert link.student_id == school.unlinked_student_id
        assert link.method == LinkMethod.PHONE_MATCH
        # finished on the second instance: the first one sees the conversation closed
        assert await redis_fsm.storages[0].get_state(key) is None
        _route(fake_telegram, first)
        await mom.send("/start")
        assert "Мария" in mom.last.text
    finally:
        for app in (first, second):
            await app.stop()


async def test_without_shared_storage_the_other_instance_does_not_know_the_conversation(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
) -> None:
    """The control: with each instance's memory storage, the contact sent to the second
    instance is not part of any conversation there, and nobody is linked."""
    first, second = await _two_instances(
        fake_telegram,
        db_url,
        session_factory,
        [(MemoryStorage(), SimpleEventIsolation()), (MemoryStorage(), SimpleEventIsolation())],
    )
    try:
        code = await f.parent_code(session_factory, school.unlinked_student_id, None)
        mom = fake_telegram.user(MOM, first_name="Анна", language_code="en")
        _route(fake_telegram, first)
        await mom.send(f"/start {code}")
        _route(fake_telegram, second)
        await mom.send_contact("8 (916) 123-45-67")
        assert "Мария" not in mom.last.text
        assert await _linked(session_factory) is None
    finally:
        for app in (first, second):
            await app.stop()
