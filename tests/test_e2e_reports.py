"""The staff's /reports end to end through the fake Telegram, on both databases, on the small
school of tests/reports_world.py (7B: Математика and Информатика taught by the teacher,
Физкультура by the class teacher; 5A: Математика by the class teacher).

* a teacher is offered the class reports of the classes they teach, their summary holds only
  their own subjects; an Excel workbook and a PDF arrive as documents, rendered in the worker
  process with an upload chat action;
* a class teacher gets every kind of their own class, the report cards of the whole class in
  one PDF, attendance as chat text (HTML-safe, the fake Telegram is strict);
* a head teacher gets the school summary and any class, a chart as a photo;
* forged presses (a teacher's for another class, for the school summary, for report cards, a
  period of no year; a parent's for anything) get the access-denied alert, send nothing and
  change nothing; a parent's /reports is refused and not in their command menu.
"""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.reports import ReportCb
from handlers.reports import file_name
from services.reports import Format, ReportKind, When
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App
from tests.reports_world import World, make_world
from tests.snapshot import assert_unchanged, db_snapshot

REFUSAL = "Sorry, you don't have access to this."
CLASS_KINDS = ["📋 Class summary", "🚸 Attendance", "⚠️ Students at risk", "🧮 Grade coverage"]
ALL_KINDS = [*CLASS_KINDS, "🎓 Report cards", "📈 Progress"]


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory)


def _last_with_buttons(user: FakeUser) -> ChatMessage:
    found = next((m for m in reversed(user.messages) if m.from_bot and m.buttons), None)
    assert found is not None
    return found


def _period_button(user: FakeUser, label: str) -> str:
    """The text of a period's button ("Q1" or "• Q1" when it is the current one)."""
    texts = _last_with_buttons(user).button_texts()
    found = next((t for t in texts if t.removeprefix("• ") == label), None)
    assert found is not None, texts
    return found


async def _choose(user: FakeUser, kind: str, class_name: str | None, period: str) -> None:
    await user.send("/reports")
    await user.press(text=kind)
    if class_name is not None:
        await user.press(text=class_name)
    await user.press(text=_period_button(user, period))


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def _sheet_values(content: bytes) -> list[str]:
    book = load_workbook(BytesIO(content))
    return [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]


async def test_a_teacher_gets_the_classes_they_teach_narrowed_to_their_subjects(
    app: App, world: World
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/start")
    assert "📊 Reports" in _last_with_buttons(teacher).button_texts()
    await teacher.press(text="📊 Reports")
    menu = _last_with_buttons(teacher)
    assert "Choose a report" in menu.content
    assert menu.button_texts() == [*CLASS_KINDS, "« Back"]

    await teacher.press(text="📋 Class summary")
    assert _last_with_buttons(teacher).button_texts() == ["7B", "« Back"]
    await teacher.press(text="7B")
    periods = _last_with_buttons(teacher).button_texts()
    assert [t.removeprefix("• ") for t in periods] == ["Q1", "Q2", "Q3", "Q4", "Year", "« Back"]
    await teacher.press(text=_period_button(teacher, "Q1"))
    formats = _last_with_buttons(teacher)
    assert "Only your subjects are in this report." in formats.content
    assert formats.button_texts()[:4] == ["💬 In the chat", "📗 Excel", "📄 PDF", "🖼 Chart"]

    app.fake.reset_records()
    await teacher.press(text="📗 Excel")
    methods = [call.method for call in app.fake.calls]
    assert methods.index("answerCallbackQuery") < methods.index("sendChatAction")
    assert methods.index("sendChatAction") < methods.index("sendDocument")
    assert {c["action"] for c in app.fake.calls_to("sendChatAction")} == {"upload_document"}
    await teacher.press(formats, text="📄 PDF")

    (xlsx_name, xlsx), (pdf_name, pdf) = teacher.sent_files()
    assert (xlsx_name, pdf_name) == ("class-7B-quarter1.xlsx", "class-7B-quarter1.pdf")
    values = _sheet_values(xlsx)
    assert "Пётр Иванов" in values
    assert any(v.startswith("Мария <Смирнова> (left") for v in values)  # moved to 5A on d3
    assert "Олег Петров" not in values  # 5A's
    headers = " ".join(values)
    assert "Информатика" in headers or "Инф" in headers
    assert "Физкультура" not in headers  # the class teacher's subject
    assert "Физ-ра" not in headers
    assert pdf.startswith(b"%PDF")
    assert "Пётр" in _pdf_text(pdf)
    caption = next(m for m in teacher.messages if m.document is not None).content
    assert "Class summary · class 7B · Quarter 1" in caption


async def test_a_teacher_is_refused_another_class_and_other_kinds(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    teacher = app.user(f.TEACHER, language_code="en")
    await teacher.send("/reports")
    before = await db_snapshot(session_factory)
    sent = len(teacher.messages)
    school = world.school
    forged = [
        ReportCb(kind=ReportKind.CLASS, class_id=school.class_5a),
        ReportCb(kind=ReportKind.CLASS, class_id=school.class_5a, period_id=world.q1_id),
        ReportCb(
            kind=ReportKind.CLASS, class_id=school.class_5a, period_id=world.q1_id, fmt=Format.XLSX
        ),
        ReportCb(
            kind=ReportKind.ATTENDANCE,
            class_id=school.class_5a,
            period_id=world.q1_id,
            fmt=Format.TEXT,
        ),
        ReportCb(kind=ReportKind.SCHOOL),
        ReportCb(kind=ReportKind.SCHOOL, period_id=world.year_id, fmt=Format.PDF),
        ReportCb(kind=ReportKind.CARD),
        ReportCb(kind=ReportKind.CARD, class_id=school.class_7b, period_id=world.q1_id),
        ReportCb(
            kind=ReportKind.CARD, class_id=school.class_7b, period_id=world.q1_id, fmt=Format.PDF
        ),
        # a period id of no year of this school
        ReportCb(kind=ReportKind.CLASS, class_id=school.class_7b, period_id=world.q1_id + 999),
        ReportCb(
            kind=ReportKind.CLASS,
            class_id=school.class_7b,
            period_id=world.q1_id + 999,
            fmt=Format.XLSX,
        ),
    ]
    for data in forged:
        await teacher.press(data=data.pack())
        answer = teacher.callback_answers[-1]
        assert (answer.get("text"), answer.get("show_alert")) == (REFUSAL, True), data
    assert len(teacher.messages) == sent
    assert not app.fake.calls_to("sendDocument")
    await assert_unchanged(session_factory, before)


async def test_a_class_teacher_gets_the_cards_of_the_whole_class_and_chat_text(
    app: App, world: World
) -> None:
    class_teacher = app.user(f.CLASS_TEACHER, language_code="en")
    await class_teacher.send("/reports")
    assert _last_with_buttons(class_teacher).button_texts() == [*ALL_KINDS, "« Back"]
    await class_teacher.press(text="🎓 Report cards")
    assert _last_with_buttons(class_teacher).button_texts() == ["7B", "« Back"]
    await class_teacher.press(text="7B")
    await class_teacher.press(text=_period_button(class_teacher, "Q1"))
    formats = _last_with_buttons(class_teacher)
    assert formats.button_texts()[:2] == ["📗 Excel", "📄 PDF"]
    await class_teacher.press(text="📄 PDF")
    [(name, pdf)] = class_teacher.sent_files()
    assert name == "card-7B-quarter1.pdf"
    text = _pdf_text(pdf)
    assert "Пётр Иванов" in text
    assert "Мария" not in text  # in 5A since d3: the class's students today get cards

    # attendance of the own class, in the chat: the names escaped, the fake's HTML check passes
    await _choose(class_teacher, "🚸 Attendance", "7B", "Q1")
    before = len(class_teacher.messages)
    await class_teacher.press(text="💬 In the chat")
    sent = class_teacher.messages[before:]
    assert sent
    assert any("<pre>" in (m.html or "") for m in sent)
    whole = "\n".join(m.content for m in sent)
    assert "Attendance" in whole
    assert "Мария <Смирнова>" in whole
    assert all(len(m.content) <= 4096 for m in sent)
    assert app.fake.errors == []


async def test_a_head_teacher_gets_the_school_summary_and_charts(app: App, world: World) -> None:
    head = app.user(f.HEAD, language_code="en")
    await head.send("/reports")
    assert _last_with_buttons(head).button_texts() == [*ALL_KINDS, "🏫 School summary", "« Back"]
    await head.press(text="🏫 School summary")  # no class to choose
    await head.press(text=_period_button(head, "Year"))
    await head.press(text="📗 Excel")
    [(name, xlsx)] = head.sent_files()
    assert name == "school-year.xlsx"
    values = _sheet_values(xlsx)
    assert {"7B", "5A"} <= set(values)

    await head.send("/reports")
    await head.press(text="📋 Class summary")
    assert _last_with_buttons(head).button_texts() == ["5A", "7B", "« Back"]
    await head.press(text="7B")
    await head.press(text=_period_button(head, "Q1"))
    formats = _last_with_buttons(head)
    assert "Only your subjects" not in formats.content
    await head.press(text="📗 Excel")
    summary = _sheet_values(head.sent_files()[-1][1])
    assert "Пётр Иванов" in summary
    assert any(v.startswith("Мария <Смирнова>") for v in summary)
    assert any("Физ" in v for v in summary)  # every subject of the class
    app.fake.reset_records()
    await head.press(formats, text="🖼 Chart")
    # a chart is sent as a photo: "sending a photo…" meanwhile
    assert {c["action"] for c in app.fake.calls_to("sendChatAction")} == {"upload_photo"}
    photo = next(m for m in reversed(head.messages) if m.photo)
    stored = app.fake.files[photo.photo[-1]["file_id"]]
    assert stored.content.startswith(b"\x89PNG")
    assert "Class summary · class 7B" in photo.content


async def test_a_parent_gets_no_reports(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    parent = app.user(f.PARENT, language_code="en")
    await parent.send("/start")
    assert "📊 Reports" not in _last_with_buttons(parent).button_texts()
    menus = [
        c for c in app.fake.calls_to("setMyCommands") if c.get("scope", {}).get("type") == "chat"
    ]
    assert menus
    assert all("reports" not in str(c["commands"]) for c in menus)
    before = await db_snapshot(session_factory)
    await parent.send("/reports")
    assert parent.last is not None
    assert parent.last.content == REFUSAL
    data = ReportCb(
        kind=ReportKind.CARD,
        class_id=world.school.class_7b,
        period_id=world.q1_id,
        fmt=Format.PDF,
    )
    await parent.press(parent.last, data=data.pack())
    answer = parent.callback_answers[-1]
    assert (answer.get("text"), answer.get("show_alert")) == (REFUSAL, True)
    assert not app.fake.calls_to("sendDocument")
    await assert_unchanged(session_factory, before)


def test_file_names_say_kind_class_and_period() -> None:
    from datetime import date

    from db.enums import PeriodKind
    from services.diary.periods import PeriodInfo

    quarter = PeriodInfo(5, PeriodKind.QUARTER, 2, date(2026, 11, 9), date(2026, 12, 28))
    year = PeriodInfo(6, PeriodKind.YEAR, 1, date(2026, 9, 1), date(2027, 5, 31))
    assert file_name(ReportKind.RISK, "7Б / <a>", quarter, Format.PDF) == "risk-7Б_a-quarter2.pdf"
    assert file_name(ReportKind.SCHOOL, None, year, Format.PNG) == "school-year.png"


async def test_a_class_teacher_and_another_schools_head_are_refused(
    app: App, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The class teacher of 7B teaches 5A's Математика: 5A's summary is theirs (narrowed),
    5A's report cards are not; the head teacher of another school gets nothing of this one."""
    await f.make_second_school(session_factory)
    class_teacher = app.user(f.CLASS_TEACHER, language_code="en")
    other_head = app.user(f.B_HEAD, language_code="en")
    school = world.school
    await class_teacher.send("/reports")
    await class_teacher.press(text="📋 Class summary")
    assert _last_with_buttons(class_teacher).button_texts() == ["5A", "7B", "« Back"]
    await class_teacher.send("/reports")
    await class_teacher.press(text="🎓 Report cards")
    assert _last_with_buttons(class_teacher).button_texts() == ["7B", "« Back"]
    await other_head.send("/reports")
    before = await db_snapshot(session_factory)
    cards_5a = ReportCb(
        kind=ReportKind.CARD, class_id=school.class_5a, period_id=world.q1_id, fmt=Format.PDF
    )
    presses = [
        (class_teacher, cards_5a),
        (class_teacher, ReportCb(kind=ReportKind.PROGRESS, class_id=school.class_5a)),
        (class_teacher, ReportCb(kind=ReportKind.SCHOOL)),
        (other_head, cards_5a),
        (
            other_head,
            ReportCb(
                kind=ReportKind.CLASS,
                class_id=school.class_7b,
                period_id=world.q1_id,
                fmt=Format.XLSX,
            ),
        ),
        # the other school's head asking for their own school with this school's period
        (other_head, ReportCb(kind=ReportKind.SCHOOL, period_id=world.year_id, fmt=Format.XLSX)),
    ]
    for user, data in presses:
        await user.press(data=data.pack())
        answer = user.callback_answers[-1]
        assert (answer.get("text"), answer.get("show_alert")) == (REFUSAL, True), (user, data)
    assert not app.fake.calls_to("sendDocument")
    await assert_unchanged(session_factory, before)


APOLOGY = {"ru": "что-то пошло не так", "en": "something went wrong"}
CLASS_SUMMARY = {"ru": "Сводная ведомость", "en": "Class summary"}


@pytest.mark.parametrize(
    "language",
    ["ru", pytest.param("en", marks=pytest.mark.undated)],  # English: once per run
)
async def test_every_demo_staff_account_gets_every_kind_in_every_format(
    app: App, session_factory: async_sessionmaker[AsyncSession], language: str
) -> None:
    """The crawl (tests/test_e2e_crawl.py) stops before the formats: here every staff account
    of the demo school takes each kind offered, its first class and the current period, in
    every format offered, in Russian and in English; each arrives (a document, a photo or
    messages), nothing apologises."""
    from services.demo import seed_demo

    result = await seed_demo(session_factory, weeks=2)
    roles = {"teacher", "class_teacher", "head_teacher", "admin"}
    staff = [a for a in result.accounts if a.role in roles]
    assert staff
    delivered = 0
    for account in staff:
        user = app.user(account.telegram_id, language_code=language)
        await user.send("/reports")
        kinds = _last_with_buttons(user).button_texts()[:-1]
        assert any(CLASS_SUMMARY[language] in kind for kind in kinds), kinds
        for kind in kinds:
            await user.send("/reports")
            await user.press(text=kind)
            first = _last_with_buttons(user).buttons[0]
            if not ReportCb.unpack(str(first["callback_data"])).period_id:  # a class list
                await user.press(text=str(first["text"]))  # the first class
            periods = _last_with_buttons(user).button_texts()
            await user.press(text=next((t for t in periods if t.startswith("•")), periods[0]))
            formats = _last_with_buttons(user)
            for label in formats.button_texts()[:-2]:  # « Back, « Main screen
                before = len(user.messages)
                await user.press(formats, text=label)
                arrived = user.messages[before:]
                assert arrived, (account.role, kind, label)
                assert arrived[-1].document or arrived[-1].photo or arrived[-1].text
                delivered += 1
        assert not any(APOLOGY[language] in t.lower() for t in user.texts())
    assert delivered >= 20
    assert app.fake.errors == []


async def test_a_teachers_summary_is_narrowed_with_its_figures(
    session: AsyncSession, world: World
) -> None:
    """Hand-computed (tests/reports_world.py, 7B, Q1): Пётр math "4", informatics 80, PE pass;
    Мария math "3", PE fail, no informatics. The whole class: успеваемость and качество 1/2.
    The teacher's (math, informatics): Мария is not graded in informatics, so 1/2 and 1/2; math
    alone: both pass, only Пётр is good, so 1 and 1/2."""
    from services.core.actors import load_actor
    from services.reports import ClassSummary, build_class_summary
    from services.reports.staff import build_staff_report, narrow_summary
    from tests import clock

    today = clock.school_today()
    teacher = await load_actor(session, f.TEACHER)
    head = await load_actor(session, f.HEAD)
    args = (ReportKind.CLASS, world.school.class_7b, world.q1_id)
    [mine] = await build_staff_report(session, teacher, *args, today=today)
    [whole] = await build_staff_report(session, head, *args, today=today)
    assert isinstance(mine, ClassSummary)
    assert isinstance(whole, ClassSummary)
    assert [s.subject for s in whole.subjects] == ["Информатика", "Математика", "Физкультура"]
    assert [s.subject for s in mine.subjects] == ["Информатика", "Математика"]
    assert mine.figures == whole.figures[:2]
    assert (whole.success, whole.quality) == (0.5, 0.5)
    assert (mine.success, mine.quality) == (0.5, 0.5)
    math_only = frozenset({whole.subjects[1].assignment_id})
    narrowed = narrow_summary(
        await build_class_summary(session, world.school.class_7b, _q1(world), today=today),
        math_only,
    )
    assert [len(row.cells) for row in narrowed.rows] == [1, 1]
    assert (narrowed.success, narrowed.quality) == (1.0, 0.5)
    assert {r.name: (r.successful, r.good) for r in narrowed.rows} == {
        "Мария <Смирнова>": (True, False),
        "Пётр Иванов": (True, True),
    }


def _q1(world: World) -> When:
    return When(period_id=world.q1_id)
