"""The family's report card (PDF) and progress chart (picture) from the diary's report screen,
end to end: rendered in the worker process, read back (the PDF's text, the picture's size and
pixels) in Russian and English; a trusted person's scopes honoured (a card without attendance,
no buttons and a refused press without the grades scope); forged presses for another family's
student or a foreign period refused with nothing sent and nothing written. The diary world of
tests/test_e2e_diary.py: Пётр Иванов, 7B, on Wednesday 11 November 2026 (the second quarter)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import update

from bot.callbacks.diary import ProgressChartCb, ReportCardCb
from db.enums import TrustScope
from db.models import Student, TrustedAccess
from tests import factories as f
from tests.fakes.telegram_api import ChatMessage, FakeUser
from tests.harness import App
from tests.snapshot import assert_unchanged, db_snapshot
from tests.test_e2e_diary import DIARY_CLOCKS, NOW, Clock, World, make_diary_world

CARD = "🖨 Report card (PDF)"
CHART = "📈 Progress chart"
WHOLE_YEAR = "🖨 Report card: whole year"
CARD_RU = "🖨 Табель (PDF)"
CHART_RU = "📈 График успеваемости"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    frozen = Clock(NOW)
    for module in (*DIARY_CLOCKS, "services.diary.report_files"):
        monkeypatch.setattr(f"{module}.utcnow", frozen)
    return frozen


@pytest.fixture
async def world(app: App, clock: Clock) -> World:
    return await make_diary_world(app.session_factory, app.fake)


async def _report_screen(user: FakeUser) -> ChatMessage:
    """/start, the diary, the report screen (of the current period)."""
    russian = user.language_code == "ru"
    await user.send("/start")
    await user.press(text="📖 Дневник" if russian else "📖 Diary")
    await user.press(text="📄 Отчёт" if russian else "📄 Report")
    screen = user.last
    assert screen is not None
    return screen


def _documents(user: FakeUser) -> list[ChatMessage]:
    return [m for m in user.messages if m.document]


def _photos(user: FakeUser) -> list[ChatMessage]:
    return [m for m in user.messages if m.photo]


def _pdf_text(app: App, message: ChatMessage) -> str:
    assert message.document is not None
    content = app.fake.files[message.document["file_id"]].content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _sent_files(app: App) -> list[str]:
    return [c.method for c in app.fake.calls if c.method in ("sendDocument", "sendPhoto")]


def _ok(app: App) -> None:
    assert app.fake.errors == [], app.fake.errors[:3]
    assert app.fake.unanswered_callbacks() == []


async def _set_scopes(app: App, world: World, scopes: TrustScope) -> None:
    async with app.session_factory() as session:
        await session.execute(
            update(TrustedAccess)
            .where(TrustedAccess.id == world.school.trusted_grant_id)
            .values(scopes=int(scopes))
        )
        await session.commit()


# --- a parent ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "labels"),
    [
        ("en", (CARD, "Report card", "Attendance", "Quarter 2", "Q2")),
        ("ru", (CARD_RU, "Табель успеваемости", "Посещаемость", "2-я четверть", "2 четв")),
    ],
)
async def test_a_parent_gets_the_report_card_as_a_pdf(
    app: App, world: World, locale: str, labels: tuple[str, ...]
) -> None:
    card_button, title, attendance, period, short = labels
    parent = app.user(f.PARENT, language_code=locale)
    screen = await _report_screen(parent)
    app.fake.reset_records()
    await parent.press(screen, text=card_button)

    methods = [call.method for call in app.fake.calls]
    assert methods.index("answerCallbackQuery") < methods.index("sendChatAction")
    assert methods.index("sendChatAction") < methods.index("sendDocument")
    actions = {call["action"] for call in app.fake.calls_to("sendChatAction")}
    assert actions == {"upload_document"}
    [card] = _documents(parent)
    assert card.document is not None
    name = card.document["file_name"]
    assert name.endswith(".pdf")
    assert "Пётр Иванов" in name
    assert short in name
    assert "2026-2027" in name
    assert title in card.content
    assert period in card.content
    assert "Пётр Иванов" in card.content

    text = _pdf_text(app, card)
    assert "Пётр Иванов" in text
    assert "Математика" in text
    assert "Русский язык" in text
    assert title in text  # the labels in the chat's language: the catalogs reached the worker
    assert attendance in text
    assert parent.last is not None
    assert parent.last.message_id == card.message_id
    _ok(app)


async def test_the_whole_year_card_and_the_period_cards(app: App, world: World) -> None:
    parent = app.user(f.PARENT, language_code="en")
    screen = await _report_screen(parent)
    assert {CARD, CHART, WHOLE_YEAR} <= set(screen.button_texts())
    await parent.press(screen, text=WHOLE_YEAR)
    [year] = _documents(parent)
    assert year.document is not None
    assert "Year" in year.document["file_name"]
    assert "School year" in year.content
    assert "Математика" in _pdf_text(app, year)

    await parent.press(screen, text="Q1")
    q1 = parent.message(screen.message_id)  # edited in place, above the card
    assert q1 is not None
    assert q1.text is not None
    assert "Report · Quarter 1" in q1.text
    await parent.press(q1, text=CARD)
    card = _documents(parent)[-1]
    assert card.document is not None
    assert "Q1" in card.document["file_name"]
    assert "Quarter 1" in card.content

    await parent.press(q1, text="Year")
    year_screen = parent.message(screen.message_id)
    assert year_screen is not None
    assert CARD in year_screen.button_texts()
    assert WHOLE_YEAR not in year_screen.button_texts(), "the year's card is the card already"
    _ok(app)


@pytest.mark.parametrize(("locale", "label"), [("en", CHART), ("ru", CHART_RU)])
async def test_a_parent_gets_the_progress_chart_as_a_picture(
    app: App, world: World, locale: str, label: str
) -> None:
    parent = app.user(f.PARENT, language_code=locale)
    screen = await _report_screen(parent)
    app.fake.reset_records()
    await parent.press(screen, text=label)

    actions = {call["action"] for call in app.fake.calls_to("sendChatAction")}
    assert actions == {"upload_photo"}
    [chart] = _photos(parent)
    assert chart.photo is not None
    largest = max(chart.photo, key=lambda size: size["width"])
    content = app.fake.files[largest["file_id"]].content
    image = Image.open(io.BytesIO(content)).convert("RGB")
    assert image.size == (990, 550)
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 20, "lines and labels, not blank"
    assert "Пётр Иванов" in chart.content
    assert ("Progress chart" if locale == "en" else "График успеваемости") in chart.content
    _ok(app)


async def test_no_chart_for_a_period_without_grades(app: App, world: World) -> None:
    parent = app.user(f.PARENT, language_code="en")
    screen = await _report_screen(parent)
    await parent.press(screen, text="Q4")
    app.fake.reset_records()
    await parent.press(parent.last, text=CHART)
    assert parent.callback_answers[-1]["show_alert"] is True
    assert "no grades in this period yet" in parent.callback_answers[-1]["text"]
    assert _sent_files(app) == []
    _ok(app)


# --- trusted persons ---------------------------------------------------------------------------


async def test_a_tutor_without_attendance_gets_a_card_without_it(app: App, world: World) -> None:
    tutor = app.user(f.TRUSTED, language_code="en")  # grades and homework
    screen = await _report_screen(tutor)
    assert {CARD, CHART} <= set(screen.button_texts())
    await tutor.press(screen, text=CARD)
    [card] = _documents(tutor)
    text = _pdf_text(app, card)
    assert "Математика" in text
    assert "Attendance" not in text
    assert "Excused" not in text
    assert "Without attendance: your access does not include it." in card.content
    await tutor.press(screen, text=CHART)
    assert len(_photos(tutor)) == 1
    _ok(app)


async def test_a_tutor_without_the_grades_scope_gets_neither(app: App, world: World) -> None:
    await _set_scopes(app, world, TrustScope.HOMEWORK | TrustScope.ATTENDANCE)
    tutor = app.user(f.TRUSTED, language_code="en")
    screen = await _report_screen(tutor)
    assert "Attendance" in screen.text, "the report screen itself stays (attendance)"
    assert CARD not in screen.button_texts()
    assert CHART not in screen.button_texts()
    assert WHOLE_YEAR not in screen.button_texts()

    database = await db_snapshot(app.session_factory)
    app.fake.reset_records()
    sid = world.student
    for data in (
        ReportCardCb(student_id=sid),
        ReportCardCb(student_id=sid, period_id=world.periods["q2"], whole_year=True),
        ProgressChartCb(student_id=sid, period_id=world.periods["q2"]),
    ):
        await tutor.press(screen, data=data.pack())
        assert tutor.callback_answers[-1]["show_alert"] is True, data
        assert "don't have access" in tutor.callback_answers[-1]["text"], data
    assert _sent_files(app) == []
    assert app.fake.calls_to("sendChatAction") == []
    assert tutor.last is not None
    assert tutor.last.message_id == screen.message_id
    await assert_unchanged(app.session_factory, database)
    _ok(app)


# --- forged presses ----------------------------------------------------------------------------


async def test_forged_presses_for_another_family_send_nothing(app: App, world: World) -> None:
    parent = app.user(f.PARENT, language_code="en")
    screen = await _report_screen(parent)
    other = world.school.other_student_id
    unlinked = world.school.unlinked_student_id
    forged = [
        ReportCardCb(student_id=other),
        ReportCardCb(student_id=other, whole_year=True),
        ProgressChartCb(student_id=other),
        ReportCardCb(student_id=unlinked),
        ProgressChartCb(student_id=unlinked),
        ReportCardCb(student_id=world.student, period_id=999_999),
        ProgressChartCb(student_id=world.student, period_id=999_999),
    ]
    database = await db_snapshot(app.session_factory)
    app.fake.reset_records()
    for data in forged:
        await parent.press(screen, data=data.pack())
        assert parent.callback_answers[-1].get("show_alert") is True, data
        assert "don't have access" in parent.callback_answers[-1]["text"], data
    assert _sent_files(app) == []
    assert parent.last is not None
    assert parent.last.message_id == screen.message_id
    await assert_unchanged(app.session_factory, database)
    # the same buttons on the other family's own screen give their child's card
    other_parent = app.user(f.OTHER_PARENT, language_code="en")
    other_screen = await _report_screen(other_parent)
    await other_parent.press(other_screen, text=CARD)
    [card] = _documents(other_parent)
    text = _pdf_text(app, card)
    assert "Олег Петров" in text
    assert "Пётр" not in text
    assert card.document is not None
    assert "Пётр" not in card.document["file_name"]
    _ok(app)


async def test_a_card_of_a_name_with_semicolons_is_sent(app: App, world: World) -> None:
    """The card's file name carries the student's name as the school spelled it; a name with
    semicolons (a roster typo) must not break the upload's Content-Disposition header (the
    multipart parser of aiohttp, which the fake Bot API runs on, refuses two of them)."""
    async with app.session_factory() as session:
        await session.execute(
            update(Student)
            .where(Student.id == world.school.student_id)
            .values(full_name="Пётр; Иванов; Петрович")
        )
        await session.commit()
    parent = app.user(f.PARENT, language_code="en")
    await parent.press(await _report_screen(parent), text=CARD)
    [card] = _documents(parent)
    assert card.document is not None
    assert card.document["file_name"].startswith("Report card Пётр Иванов Петрович")
    _ok(app)
