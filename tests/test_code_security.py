"""Access codes and invitations against a leaked database and a guessing wave (issue 9):
keyed hashes and key rotation, the embedded secret file, legacy rows and migration 006, expiry
of every kind of code, the school-wide attempt limit and its alert, and re-issuing a class's
letters only after the admin confirmed cancelling the printed ones. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import stat
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import column, func, insert, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CodesCb
from bot.config import ConfigError, Settings, code_keys, secret_file_for
from db.base import Base, utcnow
from db.engine import create_engine
from db.enums import CodeKind
from db.migrate import upgrade
from db.models import (
    AccessCode,
    Account,
    CodeAttempt,
    Guardianship,
    OutboxMessage,
    Staff,
    Student,
    TrustedAccess,
)
from services.core.actors import load_actor
from services.core.errors import DomainError
from services.notify import NotificationEvent
from services.people import codes, linking
from services.people import school as school_service
from services.people.codes import CodeKeys, issue_code_for
from tests import factories as f
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import CODE_KEYS, CODE_SECRET, App

NOW = datetime(2026, 3, 3, 9, 50, tzinfo=UTC)  # any fixed moment: nothing here reads the date


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _contents(
    session_factory: async_sessionmaker[AsyncSession], models: Sequence[type[Base]]
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of these tables, every column: what a refused action must leave alone."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with session_factory() as session:
        for model in models:
            table = model.__table__
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


LINKS: list[type[Base]] = [AccessCode, TrustedAccess, Guardianship, Account, Student, Staff]


async def _issue(
    session_factory: async_sessionmaker[AsyncSession],
    kind: CodeKind,
    *,
    keys: CodeKeys = CODE_KEYS,
    now: datetime = NOW,
    ttl_days: int = 30,
    **target: int,
) -> codes.IssuedCode:
    async with session_factory() as session:
        issued = await issue_code_for(
            session,
            kind=kind,
            created_by_id=None,
            keys=keys,
            now=now,
            ttl_days=ttl_days,
            **target,
        )
        await session.commit()
    return issued


async def _invite(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    keys: CodeKeys = CODE_KEYS,
    now: datetime = NOW,
    ttl: timedelta = linking.INVITE_TTL,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    async with session_factory() as session:
        actor = await load_actor(session, f.PARENT)
        grant, code = await linking.create_invitation(
            session,
            actor,
            actor.children[0].student_id,
            scopes=3,
            expires_at=expires_at,
            label="Бабушка",
            keys=keys,
            invite_ttl=ttl,
            now=now,
        )
    return grant.id, code


async def _redeem(
    session_factory: async_sessionmaker[AsyncSession],
    telegram_id: int,
    code: str,
    *,
    keys: CodeKeys = CODE_KEYS,
    now: datetime = NOW,
    **limits: int,
) -> linking.LinkResult:
    async with session_factory() as session:
        return await linking.redeem(
            session,
            telegram_id=telegram_id,
            full_name=f"User {telegram_id}",
            username=None,
            code_text=code,
            keys=keys,
            now=now,
            **limits,
        )


async def _refusal(
    session_factory: async_sessionmaker[AsyncSession], telegram_id: int, code: str, **kw: Any
) -> str:
    with pytest.raises(DomainError) as info:
        await _redeem(session_factory, telegram_id, code, **kw)
    assert info.value.area == "link"
    return info.value.reason


# --- keyed hashes -------------------------------------------------------------------------


async def test_codes_and_invitations_are_stored_as_hmac_under_the_secret(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    issued = await _issue(session_factory, CodeKind.STUDENT, student_id=school.unlinked_student_id)
    grant_id, invite = await _invite(session_factory)
    secret = CODE_SECRET.encode()
    async with session_factory() as session:
        row = await session.get(AccessCode, issued.code_id)
        grant = await session.get(TrustedAccess, grant_id)
    assert row is not None
    assert grant is not None
    code_mac = hmac.new(secret, f"code:{issued.code}".encode(), hashlib.sha256).hexdigest()
    invite_mac = hmac.new(secret, f"invite:{invite}".encode(), hashlib.sha256).hexdigest()
    assert (row.code_hash, row.key_id) == (code_mac, CODE_KEYS.current.id)
    assert (grant.invite_hash, grant.invite_key_id) == (invite_mac, CODE_KEYS.current.id)
    assert row.code_hash != hashlib.sha256(issued.code.encode()).hexdigest()
    assert CODE_SECRET not in CODE_KEYS.current.id
    assert CODE_SECRET not in repr(CODE_KEYS)

    # whoever holds the database but not the secret cannot tell a code from a guess
    thief = CodeKeys.from_secrets(secrets.token_urlsafe(32))
    async with session_factory() as session:
        status, _ = await codes.check_code(session, issued.code, now=NOW, keys=thief)
        assert status is codes.CodeStatus.UNKNOWN
        status, _ = await codes.check_code(session, issued.code, now=NOW, keys=CODE_KEYS)
        assert status is codes.CodeStatus.OK
    assert await _refusal(session_factory, 9001, invite, keys=thief) == "code_unknown"


async def test_keys_rotate_old_rows_verify_with_the_previous_key(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    old_secret, new_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    old = CodeKeys.from_secrets(old_secret)
    rotated = CodeKeys.from_secrets(new_secret, [old_secret])
    dropped = CodeKeys.from_secrets(new_secret)
    assert rotated.current.id != old.current.id
    issued = await _issue(
        session_factory, CodeKind.STUDENT, keys=old, student_id=school.unlinked_student_id
    )
    staff = await _issue(
        session_factory, CodeKind.STAFF, keys=rotated, staff_id=school.staff["unlinked"]
    )
    _grant_id, invite = await _invite(session_factory, keys=old)
    async with session_factory() as session:
        rows = (await session.execute(select(AccessCode.id, AccessCode.key_id))).all()
    key_ids = {row.id: row.key_id for row in rows}
    assert key_ids == {issued.code_id: old.current.id, staff.code_id: rotated.current.id}

    # once the old key is removed, its rows are dead; while listed as previous, they work
    assert await _refusal(session_factory, 9002, issued.code, keys=dropped) == "code_unknown"
    assert await _refusal(session_factory, 9002, invite, keys=dropped) == "code_unknown"
    result = await _redeem(session_factory, 9003, issued.code, keys=rotated)
    assert result.outcome is linking.Outcome.LINKED_STUDENT
    result = await _redeem(session_factory, 9004, invite, keys=rotated)
    assert result.outcome is linking.Outcome.TRUSTED
    result = await _redeem(session_factory, 9005, staff.code, keys=rotated)
    assert result.outcome is linking.Outcome.LINKED_STAFF


async def test_legacy_sha256_rows_are_accepted_only_as_legacy(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """What migration 006 leaves: old rows keep their plain SHA-256 under key id ``legacy``."""
    student_code, staff_code, invite = codes.generate_code(), codes.generate_code(), "ABCDEFGHJKLM"
    async with session_factory() as session:
        parent = await session.scalar(select(Account.id).where(Account.telegram_id == f.PARENT))
        assert parent is not None
        session.add_all(
            [
                AccessCode(
                    school_id=school.school_id,
                    code_hash=hashlib.sha256(student_code.encode()).hexdigest(),
                    key_id=codes.LEGACY_KEY_ID,
                    kind=CodeKind.STUDENT,
                    student_id=school.unlinked_student_id,
                    expires_at=NOW + timedelta(days=3),
                ),
                AccessCode(  # a plain SHA-256 claiming to be under the current key: no match
                    school_id=school.school_id,
                    code_hash=hashlib.sha256(staff_code.encode()).hexdigest(),
                    key_id=CODE_KEYS.current.id,
                    kind=CodeKind.STAFF,
                    staff_id=school.staff["unlinked"],
                    expires_at=NOW + timedelta(days=3),
                ),
                TrustedAccess(
                    student_id=school.student_id,
                    granted_by_id=parent,
                    invite_hash=hashlib.sha256(f"invite:{invite}".encode()).hexdigest(),
                    invite_key_id=codes.LEGACY_KEY_ID,
                    invite_expires_at=NOW + timedelta(hours=72),
                    label="Дедушка",
                    scopes=1,
                ),
            ]
        )
        await session.commit()
    result = await _redeem(session_factory, 9010, student_code)
    assert result.outcome is linking.Outcome.LINKED_STUDENT
    assert (await _redeem(session_factory, 9011, invite)).outcome is linking.Outcome.TRUSTED
    assert await _refusal(session_factory, 9012, staff_code) == "code_unknown"
    strict = CodeKeys(CODE_KEYS.current, accept_legacy=False)
    async with session_factory() as session:
        status, _ = await codes.check_code(session, student_code, now=NOW, keys=strict)
    assert status is codes.CodeStatus.UNKNOWN


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_006_marks_old_rows_legacy(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        asyncio.run(_migration_006_case(f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3"))
        return
    from tests.conftest import PG_ADMIN_URL, _pg_admin

    request.getfixturevalue("pg_url")  # skips (or fails in CI) without PostgreSQL
    name = f"parta_m006_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        asyncio.run(_migration_006_case(url))
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migration_006_case(url: str) -> None:
    """Rows written at revision 005 (plain SHA-256), then the upgrade to 006."""
    await upgrade(url, "005")
    engine = create_engine(url)
    code_hash = hashlib.sha256(b"ABCDEFGHJK").hexdigest()
    invite_hash = hashlib.sha256(b"invite:ABCDEFGHJKLM").hexdigest()
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            # the schools table as revision 005 had it (later revisions add columns)
            schools_005 = table(
                "schools", column("id"), column("name"), column("timezone"), column("created_at")
            )
            await conn.execute(
                insert(schools_005).values(
                    id=1, name="S", timezone="Europe/Moscow", created_at=long_ago
                )
            )
            await conn.execute(
                insert(Student.__table__).values(
                    id=1, school_id=1, full_name="A", grades_spoiler=False
                )
            )
            await conn.execute(insert(Account.__table__).values(id=1, telegram_id=1, full_name="P"))
            await conn.execute(
                insert(AccessCode.__table__).values(
                    id=1,
                    school_id=1,
                    code_hash=code_hash,
                    kind=CodeKind.STUDENT,
                    student_id=1,
                    expires_at=NOW,
                )
            )
            for grant_id, digest in [(1, invite_hash), (2, None)]:
                await conn.execute(
                    insert(TrustedAccess.__table__).values(
                        id=grant_id,
                        student_id=1,
                        granted_by_id=1,
                        invite_hash=digest,
                        label="T",
                        scopes=1,
                        created_at=long_ago,
                    )
                )
        before = utcnow()
        await upgrade(url)
        after = utcnow()
        async with engine.connect() as conn:
            code = (await conn.execute(select(AccessCode.code_hash, AccessCode.key_id))).one()
            grants = (
                await conn.execute(
                    select(
                        TrustedAccess.id,
                        TrustedAccess.invite_key_id,
                        TrustedAccess.invite_expires_at,
                    ).order_by(TrustedAccess.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert tuple(code) == (code_hash, codes.LEGACY_KEY_ID)
    (first, invite_key, invite_until), (second, no_key, no_until) = grants
    assert (first, invite_key) == (1, codes.LEGACY_KEY_ID)
    assert invite_until is not None
    assert before + timedelta(hours=72) - timedelta(seconds=5) <= invite_until
    assert invite_until <= after + timedelta(hours=72) + timedelta(seconds=5)
    assert (second, no_key, no_until) == (2, None, None)


# --- the secret: settings, the embedded file, production --------------------------------------


def test_embedded_default_generates_an_owner_only_secret_next_to_the_database(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/parta.sqlite3"
    path = secret_file_for(url)
    assert path == tmp_path / "parta.code-secret"
    first = code_keys(_settings(database_url=url))
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert code_keys(_settings(database_url=url)) == first  # kept, not regenerated
    path.chmod(0o644)
    assert code_keys(_settings(database_url=url)) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # a configured secret wins; the generated one can be kept as a previous key
    configured = code_keys(
        _settings(
            database_url=url,
            code_secret=CODE_SECRET,
            code_secret_previous=path.read_text().strip(),
        )
    )
    assert configured.current == CODE_KEYS.current
    assert configured.previous == (first.current,)
    assert secret_file_for("sqlite+aiosqlite://") is None
    assert code_keys(_settings(database_url="sqlite+aiosqlite://")).current.id  # in memory


@pytest.mark.parametrize(
    "values",
    [
        {"database_url": "postgresql://u@db.example.org/parta"},
        {
            "webhook_url": "https://bot.example.org/hook",
            "webhook_secret": "s3cret",
            "database_url": "sqlite:///never-created.sqlite3",
        },
    ],
    ids=["postgresql", "webhook"],
)
def test_production_without_a_secret_is_a_configuration_error(
    values: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="CODE_SECRET is not set"):
        code_keys(_settings(**values))
    assert list(tmp_path.iterdir()) == []  # nothing generated
    assert code_keys(_settings(code_secret=CODE_SECRET, **values)).current == CODE_KEYS.current


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValidationError, match="code_secret"):
        _settings(code_secret="short")
    with pytest.raises(ValidationError, match="code_secret_previous"):
        _settings(code_secret=CODE_SECRET, code_secret_previous=CODE_SECRET + ",short")


# --- expiry of every kind -----------------------------------------------------------------


EXPIRED_KINDS = ["parent", "student", "staff", "invitation", "invitation_of_a_lasting_grant"]


@pytest.mark.parametrize("kind", EXPIRED_KINDS)
async def test_expired_codes_of_every_kind_are_refused(
    app: App, school: f.SmallSchool, kind: str
) -> None:
    """Each kind, issued long enough ago to have expired whatever today is: refused with a
    clear message, nothing linked, used or accepted; the failure counts as an attempt."""
    past = utcnow() - timedelta(days=40)
    if kind == "parent":
        code = (
            await _issue(
                app.session_factory,
                CodeKind.PARENT,
                now=past,
                student_id=school.unlinked_student_id,
                guardian_id=school.unlinked_guardian_id,
            )
        ).code
    elif kind == "student":
        code = (
            await _issue(
                app.session_factory,
                CodeKind.STUDENT,
                now=past,
                student_id=school.unlinked_student_id,
            )
        ).code
    elif kind == "staff":
        code = (
            await _issue(
                app.session_factory, CodeKind.STAFF, now=past, staff_id=school.staff["unlinked"]
            )
        ).code
    else:
        # the invitation's own short life is over; the grant itself would last a year
        lasting = utcnow() + timedelta(days=365) if kind.endswith("grant") else None
        _grant_id, code = await _invite(
            app.session_factory, now=past, ttl=timedelta(hours=72), expires_at=lasting
        )
    before = await _contents(app.session_factory, LINKS)
    user = app.user(6100, language_code="en")
    await user.send(f"/start {code}")
    assert user.last is not None
    if kind.startswith("invitation"):
        assert "This invitation has expired" in user.last.text
        assert "/access" in user.last.text
    else:
        assert "This code has expired" in user.last.text
    assert await _contents(app.session_factory, LINKS) == before
    async with app.session_factory() as session:
        attempts = list(await session.scalars(select(CodeAttempt.success)))
    assert attempts == [False]
    assert app.fake.errors == []


async def test_invitation_lives_a_short_configurable_time_of_its_own(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    grant_end = NOW + timedelta(days=90)
    grant_id, code = await _invite(session_factory, ttl=timedelta(hours=5), expires_at=grant_end)
    async with session_factory() as session:
        grant = await session.get(TrustedAccess, grant_id)
    assert grant is not None
    assert (grant.invite_expires_at, grant.expires_at) == (NOW + timedelta(hours=5), grant_end)
    key = await _refusal(session_factory, 6200, code, now=NOW + timedelta(hours=5))
    assert key == "invite_expired"
    # nobody accepted it in time: it is not listed as someone who can see the child
    async with session_factory() as session:
        actor = await load_actor(session, f.PARENT)
        holders = await linking.who_can_see(
            session, actor, school.student_id, now=NOW + timedelta(hours=6)
        )
    assert grant_id not in {h.id for h in holders if h.kind == "invited"}
    result = await _redeem(session_factory, 6201, code, now=NOW + timedelta(hours=4))
    assert result.outcome is linking.Outcome.TRUSTED
    # accepted, it opens nothing more: whoever comes later is told it was taken (its keyed
    # hash stays on the grant for that, see services.people.linking._accept_invitation)
    late = await _refusal(session_factory, 6202, code, now=NOW + timedelta(hours=4))
    assert late == "invite_used"
    async with session_factory() as session:
        holder = await session.scalar(
            select(Account.telegram_id)
            .join(TrustedAccess, TrustedAccess.account_id == Account.id)
            .where(TrustedAccess.id == grant_id)
        )
    assert holder == 6201


async def test_invite_ttl_setting_reaches_the_invitation(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
) -> None:
    assert _settings().invite_ttl_hours == 72
    strict = await App.start(fake_telegram, db_url, session_factory, invite_ttl_hours=2)
    try:
        parent = strict.user(f.PARENT, language_code="en")
        await parent.send("/access")
        await parent.press(text="➕ Invite a trusted person")
        await parent.press(text="📨 Create the invitation")
        assert parent.last is not None
        assert "It works once, for one Telegram account, until" in parent.last.text
        async with session_factory() as session:
            grant = await session.scalar(
                select(TrustedAccess).where(TrustedAccess.invite_key_id.is_not(None))
            )
        assert grant is not None
        assert grant.invite_expires_at is not None
        assert grant.invite_expires_at - grant.created_at == timedelta(hours=2)
        assert strict.fake.errors == []
    finally:
        await strict.stop()


# --- the school-wide attempt limit ----------------------------------------------------------


async def _alerts(session_factory: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with session_factory() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.event == NotificationEvent.CODE_WAVE)
                .order_by(OutboxMessage.id)
            )
        )


async def test_two_hundred_accounts_guessing_are_stopped_school_wide(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """200 accounts, each within its own limit of 5, try 2 codes a minute apart: only the
    school-wide limit (100 an hour here) stands between them and 400 guesses. The wave starts
    at 9:50, so "once per window" is also checked across a clock hour."""
    valid = await _issue(session_factory, CodeKind.STUDENT, student_id=school.unlinked_student_id)
    limit = 100
    outcomes: list[str] = []
    for round_ in range(2):
        for account in range(200):
            at = NOW + timedelta(minutes=round_, seconds=account / 10)
            key = await _refusal(
                session_factory,
                700_000 + account,
                codes.generate_code(),
                now=at,
                school_attempt_limit=limit,
            )
            outcomes.append(key)
    assert outcomes.count("code_unknown") == limit
    assert outcomes.count("too_many_attempts_school") == 400 - limit
    async with session_factory() as session:
        failures = await session.scalar(select(func.count()).select_from(CodeAttempt))
        admins = list(
            await session.scalars(select(Account.id).where(Account.telegram_id == f.ADMIN))
        )
    assert failures == limit  # refused attempts are not even checked
    alerts = await _alerts(session_factory)
    assert [a.account_id for a in alerts] == admins  # each admin told once
    assert alerts[0].payload == {"limit": limit, "minutes": 60}

    # meanwhile even a valid letter waits (checking it is what the wave wants) ...
    during = NOW + timedelta(minutes=30)
    key = await _refusal(session_factory, 8001, valid.code, now=during, school_attempt_limit=limit)
    assert key == "too_many_attempts_school"
    assert len(await _alerts(session_factory)) == len(admins)  # still one alert per window
    # ... and works once the wave has left the window
    after = NOW + timedelta(hours=1, minutes=1)
    result = await _redeem(session_factory, 8001, valid.code, now=after, school_attempt_limit=limit)
    assert result.outcome is linking.Outcome.LINKED_STUDENT
    # a new wave after the window is a new alert
    for account in range(limit):
        await _refusal(
            session_factory,
            710_000 + account,
            codes.generate_code(),
            now=after + timedelta(seconds=account),
            school_attempt_limit=limit,
        )
    assert len(await _alerts(session_factory)) == 2 * len(admins)


async def test_garbled_links_cost_no_attempt_and_a_real_code_still_works(
    session_factory: async_sessionmaker[AsyncSession], school: f.SmallSchool
) -> None:
    """Text that cannot be a code (a deep link cut short, letters codes never use) tests no
    code: it is refused as invalid without using up the account's attempts; a well-formed
    wrong code does use one."""
    valid = await _issue(session_factory, CodeKind.STUDENT, student_id=school.unlinked_student_id)
    garbled = ["x", "ABCD-EF", "0000-0000-00", "OOOO-IIII-11", "ABCD-EFGH-JKLM-NPQ", "💥" * 9]
    for text in garbled * 2:
        assert await _refusal(session_factory, 8100, text) == "code_malformed"
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(CodeAttempt)) == 0
    assert await _refusal(session_factory, 8100, codes.generate_code()) == "code_unknown"
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(CodeAttempt)) == 1
    result = await _redeem(session_factory, 8100, valid.code)
    assert result.outcome is linking.Outcome.LINKED_STUDENT


async def test_a_guessing_wave_pauses_code_entry_and_tells_the_admin_once(
    fake_telegram: FakeTelegram,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
) -> None:
    code = await f.parent_code(session_factory, school.unlinked_student_id, None)
    strict = await App.start(fake_telegram, db_url, session_factory, code_failures_per_hour=3)
    try:
        admin = strict.user(f.ADMIN)
        for guesser in range(3):
            user = strict.user(6300 + guesser, language_code="en")
            await user.send(f"/start {codes.generate_code()}")
            assert user.last is not None
            assert "not valid" in user.last.text
        # the failure that reaches the limit tells the admin, even if the wave stops there
        await strict.deliver_notifications()
        # the admin's account has no language of its own: the school's default, Russian
        alerts = [t for t in admin.texts() if "подбирает коды доступа" in t]
        assert len(alerts) == 1
        assert "За 60 мин. со всех аккаунтов введено 3 неверных кода" in alerts[0]
        mom = strict.user(6400, language_code="en")
        await mom.send(f"/start {code}")
        assert mom.last is not None
        assert "code entry is paused for everyone" in mom.last.text
        assert mom.last.reply_markup is None  # not asked for her phone: the code was not read
        late = strict.user(6500, language_code="en")
        await late.send(f"/start {codes.generate_code()}")
        await strict.deliver_notifications()
        assert len([t for t in admin.texts() if "подбирает коды доступа" in t]) == 1
        assert strict.fake.errors == []
    finally:
        await strict.stop()


# --- letters for a class: re-issuing asks first -----------------------------------------------


async def test_letters_twice_ask_before_cancelling_printed_codes(
    app: App, school: f.SmallSchool
) -> None:
    admin = app.user(f.ADMIN, language_code="en")
    await admin.send("/codes")
    await admin.press(text="7B")
    menu = admin.last
    assert menu is not None
    await admin.press(menu, text="👨‍👩‍👧 Parents' letters")
    assert len([m for m in admin.messages if m.document]) == 2  # PDF and CSV
    first_codes = await _contents(app.session_factory, [AccessCode])
    assert len(first_codes["access_codes"]) == 2

    # the same button again (or a replay of it): nothing is revoked, the admin is asked
    await admin.press(menu, text="👨‍👩‍👧 Parents' letters")
    question = admin.message(menu.message_id)  # asked in place, on the pressed menu
    assert question is not None
    assert "2 parent codes are still unused and may already be printed" in question.text
    assert "cancel those codes?" in question.text
    assert await _contents(app.session_factory, [AccessCode]) == first_codes
    await admin.press(question, text="✖️ Keep the old ones")
    assert await _contents(app.session_factory, [AccessCode]) == first_codes
    replay_first = CodesCb(class_id=school.class_7b, kind=CodeKind.PARENT).pack()
    await admin.press(question, data=replay_first)
    question = admin.message(menu.message_id)
    assert question is not None
    assert "still unused" in question.text
    assert await _contents(app.session_factory, [AccessCode]) == first_codes
    assert len([m for m in admin.messages if m.document]) == 2

    # confirmed: new letters, the old codes cancelled, the question gone
    confirm = question.find_button("🔄 Issue new, cancel old")
    assert confirm is not None
    await admin.press(question, text="🔄 Issue new, cancel old")
    assert len([m for m in admin.messages if m.document]) == 4
    assert admin.message(question.message_id).reply_markup in (None, {})  # type: ignore[union-attr]
    async with app.session_factory() as session:
        rows = list(await session.scalars(select(AccessCode).order_by(AccessCode.id)))
    old_ids = {row[0] for row in first_codes["access_codes"]}
    assert {r.id for r in rows if r.revoked_at is not None} == old_ids
    live = [r for r in rows if r.revoked_at is None]
    assert len(live) == 2
    after_confirm = await _contents(app.session_factory, [AccessCode])

    # a replayed confirmation names codes already replaced: it asks again, issues nothing
    await admin.press(question, data=str(confirm["callback_data"]))
    assert await _contents(app.session_factory, [AccessCode]) == after_confirm
    assert len([m for m in admin.messages if m.document]) == 4
    asked_again = admin.message(question.message_id)
    assert asked_again is not None
    assert "The codes changed since you confirmed" in asked_again.text
    assert "2 parent codes are still unused" in asked_again.text
    assert app.fake.errors == []
    assert app.fake.unanswered_callbacks() == []


async def test_concurrent_confirmations_issue_once(
    session_factory: async_sessionmaker[AsyncSession],
    school: f.SmallSchool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with session_factory() as session:
        admin = await load_actor(session, f.ADMIN)
        first = await school_service.issue_class_codes(
            session, admin, school.class_7b, CodeKind.PARENT, keys=CODE_KEYS, now=NOW
        )
        assert isinstance(first, school_service.IssuedBatch)
        asked = await school_service.issue_class_codes(
            session, admin, school.class_7b, CodeKind.PARENT, keys=CODE_KEYS, now=NOW
        )
    assert isinstance(asked, school_service.ReissueNeeded)
    assert asked.unused == 2

    async def confirm() -> object:
        async with session_factory() as session:
            return await school_service.issue_class_codes(
                session,
                admin,
                school.class_7b,
                CodeKind.PARENT,
                keys=CODE_KEYS,
                replacing=asked.newest_id,
                now=NOW,
            )

    if session_factory.kw["bind"].dialect.name == "sqlite":
        results = [await confirm(), await confirm()]  # SQLite has one writer: in turn
    else:
        # the worst interleaving: each confirmation waits (up to a second) after reading the
        # live codes until the other has read them too; the class row lock makes the second
        # read only after the first committed
        real = school_service.live_class_codes
        both_read = asyncio.Event()
        readers: list[int] = []

        async def read_then_wait(*args: Any, **kwargs: Any) -> codes.LiveCodes:
            found = await real(*args, **kwargs)
            readers.append(1)
            if len(readers) == 2:
                both_read.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both_read.wait(), timeout=1)
            return found

        monkeypatch.setattr(school_service, "live_class_codes", read_then_wait)
        results = list(await asyncio.gather(confirm(), confirm()))
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["IssuedBatch", "ReissueNeeded"]
    async with session_factory() as session:
        live = await session.scalar(
            select(func.count()).select_from(AccessCode).where(AccessCode.revoked_at.is_(None))
        )
    assert live == 2
