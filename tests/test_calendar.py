"""The school calendar (services.diary.calendar): the .ics of a student read back with
`icalendar` (lessons in the school's zone, a cancelled lesson, a replacement, homework due
dates, Cyrillic), who may have it, the diary's "Calendar file" button, `parta calendar`, the
subscription link in /settings and its URL served by the webhook server, and the statements
it costs on a small and a bigger school. The school of `tests.test_e2e_diary` (frozen on
11 November 2026)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.calendar_feed import HideTokens, add_routes, feed_url
from bot.callbacks.diary import CalendarFileCb
from bot.i18n import create_i18n
from db.enums import LinkMethod
from db.models import Account, CalendarFeed, Guardianship, TrustedAccess
from services.core.actors import Actor, load_actor
from services.demo import DEMO_TELEGRAM_IDS, seed_demo
from services.diary import calendar
from services.diary.days import DayKind
from tests import factories as f
from tests.conftest import clear_tables
from tests.harness import App
from tests.refusals import raises_key
from tests.test_diary_queries import counting
from tests.test_e2e_diary import DIARY_CLOCKS, NOW, TODAY, Clock, World, make_diary_world

MOSCOW = ZoneInfo("Europe/Moscow")
TOMORROW = TODAY + timedelta(days=1)
WEBHOOK = "https://school.example.org/telegram/hook"


def _english(message: str) -> str:
    return message


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOW)
    for module in (*DIARY_CLOCKS, "services.diary.calendar"):
        monkeypatch.setattr(f"{module}.utcnow", clock)
    return clock


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession], frozen: Clock) -> World:
    return await make_diary_world(session_factory)


async def _actor(session_factory: async_sessionmaker[AsyncSession], telegram_id: int) -> Actor:
    async with session_factory() as session:
        return await load_actor(session, telegram_id)


async def _events(
    session_factory: async_sessionmaker[AsyncSession], telegram_id: int, student_id: int
) -> calendar.StudentEvents:
    actor = await _actor(session_factory, telegram_id)
    async with session_factory() as session:
        return await calendar.student_events(session, actor, student_id, now=NOW)


def _parse(data: bytes) -> tuple[Calendar, list[Any]]:
    parsed = Calendar.from_ical(data)
    return parsed, list(parsed.walk("VEVENT"))


def _lessons_on(events: list[Any], day: date) -> dict[str, Any]:
    found = {}
    for event in events:
        start = event.decoded("dtstart")
        if isinstance(start, datetime) and start.date() == day:
            found[str(event["summary"])] = event
    return found


def _homework(events: list[Any]) -> dict[str, Any]:
    return {str(e["description"]): e for e in events if str(e["uid"]).startswith("homework-")}


# --- the file -------------------------------------------------------------------------------


async def test_parents_calendar_reads_back_with_lessons_cancellations_and_homework(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    events = await _events(session_factory, f.PARENT, world.student)
    assert events.window == calendar.Window(TODAY - timedelta(days=14), TODAY + timedelta(days=56))
    name = calendar.calendar_name([events], _english)
    assert name == "School: Пётр Иванов, 7B"
    parsed, vevents = _parse(calendar.calendar_ics([events], _english, name=name, now=NOW))
    assert str(parsed["x-wr-calname"]) == "School: Пётр Иванов, 7B"
    assert [str(tz["tzid"]) for tz in parsed.walk("VTIMEZONE")] == ["Europe/Moscow"]

    today = _lessons_on(vevents, TODAY)
    assert set(today) == {"Математика", "Русский язык", "Физическая культура"}
    math = today["Математика"]
    start, end = math.decoded("dtstart"), math.decoded("dtend")
    assert start == datetime.combine(TODAY, time(8, 30), tzinfo=MOSCOW)
    assert end == datetime.combine(TODAY, time(9, 15), tzinfo=MOSCOW)
    assert start.utcoffset() == timedelta(hours=3)
    assert str(start.tzinfo) == "Europe/Moscow"
    assert str(math["location"]) == "Room 101"
    assert str(math["uid"]) == f"lesson-{world.lessons[TODAY, 'math']}-s{world.student}@parta.local"
    assert "Topic: Дроби & <проценты>" in str(math["description"])
    assert "Teacher: Учитель Математики" in str(math["description"])
    assert str(math["status"]) == "CONFIRMED"

    tomorrow = _lessons_on(vevents, TOMORROW)
    cancelled = tomorrow["Cancelled: Русский язык"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert "Reason: Учитель заболел" in str(cancelled["description"])
    replaced = str(tomorrow["Математика"]["description"])
    assert "Replacement teacher: Новый Учитель" in replaced
    assert "Instead of: Учитель Математики" in replaced

    assert _lessons_on(vevents, date(2026, 11, 13)) == {}, "a holiday has no lessons"
    # a week without generated lessons: the timetable's slots, with an odd-week PE lesson
    planned = _lessons_on(vevents, date(2026, 11, 18))  # Wednesday of an even week
    assert set(planned) == {"Математика", "Русский язык"}
    assert str(planned["Математика"]["uid"]).startswith("planned-")
    assert set(_lessons_on(vevents, date(2026, 11, 25))) == {
        "Математика",
        "Русский язык",
        "Физическая культура",
    }
    first = min(e.decoded("dtstart") for e in vevents if isinstance(e.decoded("dtstart"), datetime))
    assert first.date() >= events.window.start

    homework = _homework(vevents)
    assert set(homework) == {"Упр. 5 <b>с разбором</b>", "№ 1–5", "Повторить § 3", "№ 6–9, § 4"}
    rus = homework["Упр. 5 <b>с разбором</b>"]
    assert rus.decoded("dtstart") == TOMORROW, "an all-day event on the due date"
    assert rus.decoded("dtend") == TOMORROW + timedelta(days=1)
    assert str(rus["summary"]) == "Homework: Русский язык"
    assert str(rus["uid"]) == f"homework-{world.homework['rus_today']}-s{world.student}@parta.local"
    assert "Чужое задание" not in homework, "another class's homework"


async def test_the_same_calendar_twice_has_the_same_uids(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    once = await _events(session_factory, f.PARENT, world.student)
    again = await _events(session_factory, f.STUDENT, world.student)
    uids = [
        sorted(str(e["uid"]) for e in _parse(calendar.calendar_ics([x], _english, name="x"))[1])
        for x in (once, again)
    ]
    assert uids[0] == uids[1]
    assert len(set(uids[0])) == len(uids[0])


async def test_calendar_texts_in_russian(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    i18n = create_i18n("ru")

    def russian(message: str) -> str:
        return i18n.gettext(message, locale="ru")

    events = await _events(session_factory, f.PARENT, world.student)
    name = calendar.calendar_name([events], russian)
    _parsed, vevents = _parse(calendar.calendar_ics([events], russian, name=name))
    assert name == "Школа: Пётр Иванов, 7B"
    assert "Отменён: Русский язык" in _lessons_on(vevents, TOMORROW)
    assert "Домашнее задание: Русский язык" in {str(e["summary"]) for e in vevents}


# --- who may have it ------------------------------------------------------------------------


async def test_another_family_is_refused(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    with raises_key("access.denied"):
        await _events(session_factory, f.OTHER_PARENT, world.student)


async def test_trusted_person_gets_only_what_the_grant_allows(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    tutor = await _events(session_factory, f.TRUSTED, world.student)  # grades and homework
    assert tutor.days == []
    assert {h.text for h in tutor.homework} >= {"№ 1–5", "№ 6–9, § 4"}
    _parsed, vevents = _parse(calendar.calendar_ics([tutor], _english, name="x"))
    assert all(str(e["uid"]).startswith("homework-") for e in vevents)

    async with session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == world.school.trusted_grant_id)
            .values(scopes=1)  # grades only
        )
        await session.commit()
    with raises_key("access.denied"):
        await _events(session_factory, f.TRUSTED, world.student)


# --- the diary's button ---------------------------------------------------------------------


async def test_diary_button_sends_the_calendar_file(app: App, world: World, frozen: Clock) -> None:
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/start")
    await parent.press(text="📖 Diary")
    menu = parent.last
    assert menu is not None
    await parent.press(menu, text="📆 Calendar file")
    actions = app.fake.calls_to("sendChatAction")
    assert actions[-1]["action"] == "upload_document"
    sent = app.fake.calls_to("sendDocument")
    assert len(sent) == 1
    document = parent.last
    assert document is not None
    assert document.document is not None
    assert document.document["file_name"] == f"school-{world.student}-{TODAY.isoformat()}.ics"
    assert "School calendar" in (document.caption or "")
    assert "Пётр Иванов" in (document.caption or "")
    assert "Calendar subscription" not in (document.caption or ""), "polling: no subscriptions"
    content = app.fake.files[document.document["file_id"]].content
    _parsed, vevents = _parse(content)
    assert "Cancelled: Русский язык" in _lessons_on(vevents, TOMORROW)

    # another family's child, by forged button data: refused, nothing sent
    other = app.user(f.OTHER_PARENT, language_code="en")
    await other.send("/start")
    await other.press(data=CalendarFileCb(student_id=world.student).pack())
    assert other.callback_answers[-1].get("show_alert") is True
    assert len(app.fake.calls_to("sendDocument")) == 1


async def test_tutor_without_timetable_or_homework_has_no_calendar_button(
    app: App, world: World
) -> None:
    async with app.session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == world.school.trusted_grant_id)
            .values(scopes=1 | 4)  # grades and attendance
        )
        await session.commit()
    tutor = app.user(f.TRUSTED, language_code="en")
    await tutor.send("/start")
    await tutor.press(text="📖 Diary")
    assert tutor.last is not None
    assert "📆 Calendar file" not in tutor.last.button_texts()
    await tutor.press(data=CalendarFileCb(student_id=world.student).pack())
    assert tutor.callback_answers[-1].get("show_alert") is True
    assert app.fake.calls_to("sendDocument") == []


# --- the subscription -----------------------------------------------------------------------


async def test_settings_make_show_and_revoke_the_subscription_link(app: App, world: World) -> None:
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/settings")
    assert parent.last is not None
    assert "📆 Calendar subscription" not in parent.last.button_texts(), "polling mode"

    app.settings.webhook_url = WEBHOOK
    await parent.send("/settings")
    await parent.press(text="📆 Calendar subscription")
    screen = parent.last
    assert screen is not None
    assert "https://" not in screen.text
    await parent.press(screen, text="🔗 Make a link")
    async with app.session_factory() as session:
        token = await session.scalar(select(CalendarFeed.token))
    assert token is not None
    url = f"https://school.example.org/calendar/{token}.ics"
    assert url in parent.last.text  # type: ignore[union-attr]
    await parent.press(parent.last, text="🔁 New link")
    async with app.session_factory() as session:
        tokens = list(await session.scalars(select(CalendarFeed.token)))
    assert len(tokens) == 1
    assert tokens[0] != token, "a new link replaces the old one"
    await parent.press(parent.last, text="🚫 Revoke the link")
    assert "revoked" in parent.last.text  # type: ignore[union-attr]
    async with app.session_factory() as session:
        assert list(await session.scalars(select(CalendarFeed.token))) == []


@pytest.fixture
async def feed_client(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    application = web.Application()
    add_routes(application, session_factory, create_i18n("ru"))
    client = TestClient(TestServer(application))
    await client.start_server()
    yield client
    await client.close()


async def test_subscription_url_serves_the_current_calendar_until_revoked(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    feed_client: TestClient[web.Request, web.Application],
) -> None:
    parent = await _actor(session_factory, f.PARENT)
    async with session_factory() as session:
        token = await calendar.create_feed(session, parent)
    assert calendar.looks_like_token(token)
    assert feed_url(WEBHOOK, token) == f"https://school.example.org/calendar/{token}.ics"
    assert feed_url(None, token) is None

    response = await feed_client.get(f"/calendar/{token}.ics")
    assert response.status == 200
    assert response.content_type == "text/calendar"
    assert response.charset == "utf-8"
    parsed, vevents = _parse(await response.read())
    assert str(parsed["x-wr-calname"]) == "Школа: Пётр Иванов, 7B"  # the default language
    assert "Отменён: Русский язык" in _lessons_on(vevents, TOMORROW)

    # a change in the journal shows at the next fetch
    async with session_factory() as session:
        await session.execute(
            update(Account).where(Account.telegram_id == f.PARENT).values(locale="en")
        )
        await session.commit()
    response = await feed_client.get(f"/calendar/{token}.ics")
    parsed, _vevents = _parse(await response.read())
    assert str(parsed["x-wr-calname"]) == "School: Пётр Иванов, 7B"

    async with session_factory() as session:
        assert await calendar.revoke_feed(session, parent)
    assert (await feed_client.get(f"/calendar/{token}.ics")).status == 404
    assert (await feed_client.get("/calendar/" + "x" * 32 + ".ics")).status == 404
    assert (await feed_client.get("/calendar/%27%20or%201=1.ics")).status == 404


async def test_a_flood_of_feed_requests_cannot_take_the_pool_from_the_bot(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The route needs no secret: anyone may send it thousands of requests. Text that cannot
    be a token opens no session; at most two feeds are read at once, each holding one of the
    bot's update slots (so, with every slot taken by updates, a feed waits without a database
    connection); a request that cannot get its turn in time is told to come back (503).
    Before, every request opened a session at once: a flood took every pool connection and
    the bot's updates failed waiting for one."""
    import contextlib
    import secrets

    from bot.concurrency import UpdateSlots

    opened: list[int] = []
    now_open = 0

    @contextlib.asynccontextmanager
    async def counting_sessions() -> AsyncIterator[AsyncSession]:
        nonlocal now_open
        now_open += 1
        opened.append(now_open)
        try:
            async with session_factory() as session:
                await asyncio.sleep(0.02)
                yield session
        finally:
            now_open -= 1

    slots = UpdateSlots(1)
    application = web.Application()
    add_routes(
        application,
        counting_sessions,  # type: ignore[arg-type]
        create_i18n("ru"),
        slots,
        concurrency=2,
        wait=0.3,
    )
    async with TestClient(TestServer(application)) as client:

        async def fetch(token: str) -> int:
            return (await client.get(f"/calendar/{token}.ics")).status

        assert await fetch("x") == 404
        assert await fetch("%27%20or%201=1") == 404
        assert opened == []  # garbage is refused before any query
        tokens = [secrets.token_urlsafe(24) for _ in range(20)]
        statuses = await asyncio.gather(*(fetch(t) for t in tokens))
        assert set(statuses) <= {404, 503}
        assert len(opened) == statuses.count(404) >= 2
        assert max(opened) <= 1  # one update slot: one read at a time

        opened.clear()
        async with slots.hold():  # an update holds the only slot
            waiting = [asyncio.create_task(fetch(t)) for t in tokens[:3]]
            await asyncio.sleep(0.5)
            assert opened == []  # the feeds wait for a slot without a connection
            done = [t for t in waiting if t.done()]
            assert [t.result() for t in done] == [503]  # no turn within the wait
        assert sorted(await asyncio.gather(*waiting)) == [404, 404, 503]
        assert len(opened) == 2


async def test_a_parent_of_two_children_gets_both_in_one_feed(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_factory() as session:
        account_id = await session.scalar(select(Account.id).where(Account.telegram_id == f.PARENT))
        assert account_id is not None
        session.add(
            Guardianship(
                student_id=world.school.unlinked_student_id,
                account_id=account_id,
                method=LinkMethod.DEMO,
            )
        )
        await session.commit()
    parent = await _actor(session_factory, f.PARENT)
    async with session_factory() as session:
        token = await calendar.create_feed(session, parent)
        feed = await calendar.feed_for_token(session, token, now=NOW)
    assert feed is not None
    assert [s.child.name for s in feed.students] == ["Мария <Смирнова>", "Пётр Иванов"]
    name = calendar.calendar_name(feed.students, _english)
    assert name == "School"
    _parsed, vevents = _parse(calendar.calendar_ics(feed.students, _english, name=name))
    today = {str(e["summary"]) for e in vevents if e.decoded("dtstart") == TOMORROW}
    assert today >= {"Мария: Homework: Русский язык", "Пётр: Homework: Русский язык"}
    uids = [str(e["uid"]) for e in vevents]
    assert len(uids) == len(set(uids)), "the same lesson twice, once per child"


async def test_a_tutors_feed_follows_the_grant(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    tutor = await _actor(session_factory, f.TRUSTED)
    async with session_factory() as session:
        token = await calendar.create_feed(session, tutor)
        feed = await calendar.feed_for_token(session, token, now=NOW)
    assert feed is not None
    [only] = feed.students
    assert only.days == []
    assert only.homework
    async with session_factory() as session:
        await session.execute(update(TrustedAccess).values(scopes=1))
        await session.commit()
        feed = await calendar.feed_for_token(session, token, now=NOW)
    assert feed is not None
    assert feed.students == [], "a grant without those scopes: nothing"
    async with session_factory() as session:
        await session.execute(update(TrustedAccess).values(revoked_at=NOW - timedelta(days=1)))
        await session.commit()
        feed = await calendar.feed_for_token(session, token, now=NOW)
    assert feed is not None, "the link stays valid: it serves an empty calendar"
    assert feed.students == []
    _parsed, vevents = _parse(calendar.calendar_ics(feed.students, _english, name="x"))
    assert vevents == []


def test_tokens_never_reach_the_access_log() -> None:
    import logging

    record = logging.LogRecord(
        "aiohttp.access",
        logging.INFO,
        "",
        0,
        '1.2.3.4 "GET /calendar/%s.ics HTTP/1.1" 200',
        ("s3cr3t",),
        None,
    )
    HideTokens().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/calendar/….ics" in record.getMessage()


# --- the console ------------------------------------------------------------------------------


async def _parta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`parta ARGS` in this process (its own event loop, in a thread): exit code, out, err."""
    from bot.cli import main

    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_writes_the_calendar_and_refuses_an_unknown_student(
    tmp_path: Path,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "ru")
    school = await f.make_small_school(session_factory)
    out = tmp_path / "пётр.ics"
    code, printed, err = await _parta(capsys, "calendar", "--student", "пётр", "--out", str(out))
    assert code == 0, err
    assert f"calendar of #{school.student_id} Пётр Иванов written" in printed
    parsed, _vevents = _parse(out.read_bytes())
    assert str(parsed["x-wr-calname"]) == "Школа: Пётр Иванов, 7B"

    wanted = f"#{school.other_student_id}"
    args = ("calendar", "--student", wanted, "--out", str(out), "--lang", "en")
    code, printed, err = await _parta(capsys, *args)
    assert code == 0, err
    assert str(Calendar.from_ical(out.read_bytes())["x-wr-calname"]) == "School: Олег Петров, 5A"

    code, printed, err = await _parta(capsys, "calendar", "--student", "Никто", "--out", "x.ics")
    assert code == 1
    assert err.strip().splitlines()[-1] == "parta: no student named 'Никто'"
    assert not (tmp_path / "x.ics").exists()
    code, printed, err = await _parta(capsys, "calendar", "--student", "ов", "--out", "x.ics")
    assert code == 1
    assert "several students match 'ов'" in err


# --- statements -------------------------------------------------------------------------------


async def _demo_counts(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for role in ("parent", "student"):
        actor = await _actor(session_factory, DEMO_TELEGRAM_IDS[role])
        student_id = actor.children[0].student_id
        async with session_factory() as session:
            with counting(engine) as statements:
                events = await calendar.student_events(session, actor, student_id)
            counts[f"{role}:file"] = len(statements)
            assert events.days
            if any(d.kind is DayKind.LESSONS for d in events.days):  # in term (not in July)
                assert events.homework
            token = await calendar.create_feed(session, actor)
            with counting(engine) as statements:
                feed = await calendar.feed_for_token(session, token)
            assert feed is not None
            assert feed.students
            counts[f"{role}:feed"] = len(statements)
    return counts


async def test_statements_do_not_grow_with_the_school(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await seed_demo(session_factory, students=30, weeks=1)
    small = await _demo_counts(session_factory, engine)
    await clear_tables(engine)
    await seed_demo(session_factory, students=90, weeks=5)
    big = await _demo_counts(session_factory, engine)
    assert small == big
    assert max(small.values()) <= 16, small
