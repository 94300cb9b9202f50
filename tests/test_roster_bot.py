"""/school end to end through the fake Telegram, on both databases: the menu and its three
files; a workbook sent as a document is checked and shown with "Apply"/"Cancel" while nothing
is written; "Apply" writes it once (a second press is out of date); the same file again already
matches; junk, a .pdf and a long report; a teacher's /school and a teacher's or parent's forged
"Apply" are refused and change nothing.

The school is `tests.roster_factory.school_data` around today (tests/clock.py), imported by the
service, with its admin, a teacher and a parent linked to Telegram accounts.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import MenuCb
from bot.callbacks.roster import RosterAction, RosterCb
from bot.i18n import create_i18n
from db.enums import LinkMethod
from db.models import Account, Guardianship, Staff, Student
from services.roster import apply_import
from services.roster.model import SchoolData, StudentRow
from services.roster.workbook import read_school, write_workbook
from tests import clock
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App
from tests.roster_factory import school_data
from tests.snapshot import assert_unchanged, db_snapshot

ADMIN, TEACHER, PARENT = 9301, 9302, 9303
REFUSAL = "Sorry, you don't have access to this."
TRANSLATE = create_i18n("ru").gettext
BUTTONS = ["📄 Empty workbook", "📤 The school as a workbook", "📦 OneRoster 1.2 export"]


@dataclass(frozen=True)
class World:
    data: SchoolData  # what the database holds


async def _count(session_factory: async_sessionmaker[AsyncSession], model: type) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """The small school imported, "Админ Сидоров" on ADMIN, a teacher on TEACHER, the first
    student's parent on PARENT."""
    today = clock.school_today()
    data = school_data(today)
    async with session_factory() as session:
        await apply_import(session, data, today=today, actor_account_id=None)
        accounts = {
            tid: Account(telegram_id=tid, full_name=name, language_code="en")
            for tid, name in [(ADMIN, "Админ"), (TEACHER, "Учитель"), (PARENT, "Родитель")]
        }
        session.add_all(accounts.values())
        await session.flush()
        for tid, source_id in [(ADMIN, "admin"), (TEACHER, data.staff[0].source_id)]:
            member = await session.scalar(select(Staff).where(Staff.source_id == source_id))
            assert member is not None
            member.account_id = accounts[tid].id
        student = await session.scalar(
            select(Student).where(Student.source_id == data.students[0].source_id)
        )
        assert student is not None
        session.add(
            Guardianship(
                student_id=student.id, account_id=accounts[PARENT].id, method=LinkMethod.DEMO
            )
        )
        await session.commit()
    return World(data)


def xlsx(data: SchoolData) -> bytes:
    buffer = io.BytesIO()
    write_workbook(buffer, dataclasses.replace(data, origins={}), TRANSLATE)
    return buffer.getvalue()


def grown(data: SchoolData, extra: int = 3) -> SchoolData:
    """`data` with `extra` new students in its first class."""
    first = data.classes[0].source_id
    new = tuple(StudentRow(f"new-{n}", f"Новенький{n} Ученик", first) for n in range(extra))
    return dataclasses.replace(data, students=(*data.students, *new))


def report(user: FakeUser) -> ChatMessage:
    """The status message the last document was answered with (edited into the report)."""
    message = user.last
    assert message is not None
    return message


async def test_the_menu_sends_the_three_files(app: App, world: World, tmp_path: Path) -> None:
    admin = app.user(ADMIN, language_code="en")
    await admin.send("/school")
    menu = admin.last
    assert menu is not None
    assert "School data" in menu.content
    assert menu.button_texts()[:3] == BUTTONS
    assert len(menu.buttons) == 4
    assert MenuCb.unpack(str(menu.buttons[3]["callback_data"])).screen.name == "HOME"

    for text in BUTTONS:
        await admin.press(menu, text=text)
    files = admin.sent_files()
    assert [name.rsplit(".", 1)[1] for name, _ in files] == ["xlsx", "xlsx", "zip"]
    template, export, oneroster = (tmp_path / n for n in ("t.xlsx", "x.xlsx", "o.zip"))
    for path, (_, content) in zip((template, export, oneroster), files, strict=True):
        path.write_bytes(content)
    assert [p.key for p in read_school(template).problems] == ["roster.no_rows"]
    exported = read_school(export)
    assert exported.problems == ()
    assert exported.data is not None
    assert {s.source_id for s in exported.data.students} == {
        s.source_id for s in world.data.students
    }
    with zipfile.ZipFile(oneroster) as archive:
        assert {"manifest.csv", "users.csv", "enrollments.csv"} <= set(archive.namelist())


async def test_home_screen_button_opens_the_menu(app: App, world: World) -> None:
    admin = app.user(ADMIN, language_code="en")
    await admin.send("/start")
    await admin.press(text="🗂 School data")
    assert admin.last is not None
    assert admin.last.button_texts()[:3] == BUTTONS


async def test_check_apply_once_then_already_matches(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = app.user(ADMIN, language_code="en")
    content = xlsx(grown(world.data))
    before = await db_snapshot(session_factory)

    await admin.send_document("school.xlsx", content)
    checked = report(admin)
    assert "school.xlsx: what would change" in checked.content
    assert "Nothing is written until you press" in checked.content
    assert checked.button_texts() == ["✅ Apply", "✖️ Cancel"]
    await assert_unchanged(session_factory, before)

    await admin.press(checked, text="✅ Apply")
    assert await _count(session_factory, Student) == len(world.data.students) + 3
    done = admin.message(checked.message_id)
    assert done is not None
    assert "school.xlsx is imported" in done.content
    assert done.buttons == []
    after = await db_snapshot(session_factory)

    # the same button once more: out of date, nothing changes
    await admin.press(checked, data=RosterCb(action=RosterAction.APPLY).pack())
    assert "out of date" in admin.last.content if admin.last else False
    await assert_unchanged(session_factory, after)

    await admin.send_document("school.xlsx", content)
    again = report(admin)
    assert "the school already matches the file" in again.content
    assert again.buttons == []
    await assert_unchanged(session_factory, after)


async def test_cancel_forgets_the_file(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = app.user(ADMIN, language_code="en")
    before = await db_snapshot(session_factory)
    await admin.send_document("school.xlsx", xlsx(grown(world.data)))
    checked = report(admin)
    await admin.press(checked, text="✖️ Cancel")
    assert "Cancelled: nothing was changed." in admin.last.content if admin.last else False
    await admin.press(checked, data=RosterCb(action=RosterAction.APPLY).pack())
    assert admin.last is not None
    assert "out of date" in admin.last.content
    await assert_unchanged(session_factory, before)


async def test_junk_and_other_files_are_refused(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = app.user(ADMIN, language_code="en")
    before = await db_snapshot(session_factory)
    await admin.send_document("junk.xlsx", b"PK\x03\x04 this is no workbook at all")
    junk = report(admin)
    assert "junk.xlsx cannot be imported" in junk.content
    assert "•" in junk.content  # the problems, listed
    assert junk.buttons == []

    await admin.send_document("letter.pdf", b"%PDF-1.4 nothing to see")
    assert admin.last is not None
    assert "Send the school workbook (.xlsx) or a .zip" in admin.last.content
    assert admin.last.buttons == []
    await assert_unchanged(session_factory, before)


async def test_a_long_report_comes_as_a_file(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = app.user(ADMIN, language_code="en")
    before = await db_snapshot(session_factory)
    lost = tuple(
        StudentRow(f"lost-{n}", f"Потерянный{n} Ученик", f"no-such-class-{n}") for n in range(200)
    )
    broken = dataclasses.replace(world.data, students=(*world.data.students, *lost))
    await admin.send_document("many.xlsx", xlsx(broken))
    shown = next(m for m in reversed(admin.messages) if m.text is not None)
    assert "many.xlsx cannot be imported" in shown.content
    assert len(shown.content) <= 4096
    assert len(shown.html or "") <= 4096
    assert shown.buttons == []
    name, content = admin.sent_files()[-1]
    assert name == "many-report.txt"
    text = content.decode("utf-8")
    assert text.count("no-such-class-") == 200
    assert "no-such-class-199" not in shown.content
    await assert_unchanged(session_factory, before)


@pytest.mark.parametrize("telegram_id", [TEACHER, PARENT])
async def test_others_are_refused(
    app: App,
    world: World,
    session_factory: async_sessionmaker[AsyncSession],
    telegram_id: int,
) -> None:
    admin = app.user(ADMIN, language_code="en")
    await admin.send_document("school.xlsx", xlsx(grown(world.data)))  # a pending check
    before = await db_snapshot(session_factory)
    other = app.user(telegram_id, language_code="en")
    await other.send("/start")
    await other.send("/school")
    assert other.last is not None
    assert other.last.content == REFUSAL
    assert not any("School data" in m.content for m in other.messages)
    for action in RosterAction:
        await other.press(other.last, data=RosterCb(action=action).pack())
        answer = other.callback_answers[-1]
        assert (answer.get("text"), answer.get("show_alert")) == (REFUSAL, True), action
    assert other.sent_files() == []
    # their own workbook is not read either
    await other.send_document("school.xlsx", xlsx(grown(world.data, extra=5)))
    assert not any("what would change" in m.content for m in other.messages)
    await assert_unchanged(session_factory, before)


@pytest.mark.parametrize(
    "swap",
    ["other_bytes", pytest.param("gone", marks=pytest.mark.allow_telegram_errors("api"))],
)
async def test_apply_refuses_a_file_that_is_not_the_one_checked(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession], swap: str
) -> None:
    admin = app.user(ADMIN, language_code="en")
    sent = await admin.send_document("school.xlsx", xlsx(grown(world.data)))
    checked = report(admin)
    before = await db_snapshot(session_factory)
    file_id = sent["document"]["file_id"]
    if swap == "gone":
        app.fake.forget_files(file_id)
    else:  # same file id, other bytes (a valid workbook with even more students)
        app.fake.files[file_id].content = xlsx(grown(world.data, extra=7))
    await admin.press(checked, text="✅ Apply")
    assert admin.last is not None
    assert "The file is not the one checked: send it again." in admin.last.content
    assert admin.last.buttons == []
    await assert_unchanged(session_factory, before)


async def test_the_oneroster_export_sent_back_already_matches(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = app.user(ADMIN, language_code="en")
    await admin.send("/school")
    await admin.press(text=BUTTONS[2])
    name, content = admin.sent_files()[-1]
    before = await db_snapshot(session_factory)
    await admin.send_document(name, content)
    shown = report(admin)
    assert "OneRoster CSV" in shown.content
    assert "the school already matches the file" in shown.content, shown.content
    assert shown.buttons == []
    await assert_unchanged(session_factory, before)


async def test_a_problem_only_the_database_shows_gets_no_apply(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The file reads fine, but its year's name is held by the school's year "y1"."""
    admin = app.user(ADMIN, language_code="en")
    year = world.data.year
    assert year is not None
    other = dataclasses.replace(world.data, year=dataclasses.replace(year, source_id="y-other"))
    before = await db_snapshot(session_factory)
    await admin.send_document("other-year.xlsx", xlsx(other))
    shown = report(admin)
    assert "other-year.xlsx cannot be imported" in shown.content
    assert year.name in shown.content
    assert shown.buttons == []
    await admin.press(shown, data=RosterCb(action=RosterAction.APPLY).pack())
    await assert_unchanged(session_factory, before)


async def test_an_admin_of_another_school_on_the_server_reads_and_writes_only_their_own(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Two schools on one server (a city's Parta): the roster files of /school are the admin's
    own school. The roster read "the school" as the first one in the database, so the second
    school's admin downloaded the first school's whole roster (names, guardians' phones) and
    a file they sent was planned and applied against the first school."""
    from db.models import School
    from tests import factories as f

    second = await f.make_second_school(session_factory)
    admin = app.user(f.B_ADMIN, language_code="en")
    await admin.send("/school")
    menu = admin.last
    assert menu is not None
    await admin.press(menu, text=BUTTONS[1])
    [(_, content)] = admin.sent_files()
    export = tmp_path / "b.xlsx"
    export.write_bytes(content)
    exported = read_school(export)
    assert exported.data is not None
    assert exported.data.school.name == "Гимназия № 2"
    names = {p.full_name for p in (*exported.data.students, *exported.data.staff)}
    assert not names & {p.full_name for p in (*world.data.students, *world.data.staff)}
    assert not {g.phone for g in exported.data.guardians} & {
        g.phone for g in world.data.guardians if g.phone
    }

    async with session_factory() as session:
        first = await session.scalar(select(School.id).order_by(School.id).limit(1))
    assert first is not None
    assert first != second.school_id

    async def first_school_students() -> list[tuple[object, ...]]:
        async with session_factory() as session:
            rows = await session.execute(
                select(Student.id, Student.full_name, Student.source_id)
                .where(Student.school_id == first)
                .order_by(Student.id)
            )
            return [tuple(row) for row in rows]

    before = await first_school_students()
    await admin.send_document("school.xlsx", xlsx(grown(world.data)))
    checked = report(admin)
    if "✅ Apply" in checked.button_texts():
        await admin.press(checked, text="✅ Apply")
    assert await first_school_students() == before
    assert app.fake.errors == []
