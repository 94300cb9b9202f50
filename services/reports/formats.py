"""A report's `Document` (services/reports/views.py) as chat text, Excel and PDF.

* **text**: monospace tables. `chat_messages` gives Telegram HTML: each message one ``<pre>``
  block (names and figures escaped), cut between rows so it stays under the message limit,
  the column header repeated in every part; `plain_text` is the same tables unescaped for a
  console or a file. Long names are shortened so a phone shows the table without wrapping.
* **xlsx** (openpyxl): a sheet per table, title lines above a frozen header, numbers kept as
  numbers with their formats, column widths from the content, failing grades coloured, A4
  print setup (landscape when wide, fit to one page wide, header row repeated).
* **pdf** (reportlab, the DejaVu faces of `services.people.letters`): A4, the title and lines
  on the first page, every table with its header repeated across pages, the report's title
  and "page N" on every page.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable, Sequence
from html import escape as html_escape
from typing import Any
from xml.sax.saxutils import escape

from services.reports.model import Report
from services.reports.views import Document, Sheet, Value, document
from services.roster.sheets import keep_as_text

Gettext = Callable[[str], str]

#: Telegram's limit on a message's text (bot/telegram.py keeps the same number)
MESSAGE_LIMIT = 4096
NAME_WIDTH = 18  # characters of a name in a chat table
CELL_WIDTH = 14  # of any other cell
HEADER_WIDTH = 6  # of a column's title above short values


class Format(enum.StrEnum):
    TEXT = "text"
    XLSX = "xlsx"
    PDF = "pdf"
    PNG = "png"


MIME = {
    Format.TEXT: "text/plain",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
    Format.PNG: "image/png",
}


# --- text ----------------------------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table_lines(sheet: Sheet) -> tuple[str, list[str]]:
    """The header line and one line per row: the names' column at most `NAME_WIDTH` wide,
    the others as wide as their values (at most `CELL_WIDTH`), headers shortened to fit."""
    rows = [*sheet.rows, *sheet.footer]
    widths = []
    for i, title in enumerate(sheet.header):
        values = [len(r[i].text) for r in rows if i < len(r)]
        if i == 0 and sheet.wide_first:
            widths.append(min(max([len(title), *values]), NAME_WIDTH))
        else:
            widest = min(max(values, default=1), CELL_WIDTH)
            widths.append(max(widest, min(len(title), HEADER_WIDTH)))

    def line(cells: Sequence[str], numbers: Sequence[bool]) -> str:
        parts = []
        for i, (text, width) in enumerate(zip(cells, widths, strict=False)):
            text = _clip(text, width)
            parts.append(text.rjust(width) if numbers[i] else text.ljust(width))
        return " ".join(parts).rstrip()

    def numeric(i: int) -> bool:
        if i == 0 and sheet.wide_first:
            return False
        return all(r[i].number is not None or r[i].text in ("—", "") for r in sheet.rows)

    kinds = [numeric(i) for i in range(len(sheet.header))]
    header = line(sheet.header, kinds)
    body = [line([v.text for v in r], kinds) for r in rows]
    return header, body


def _sheets_for_chat(doc: Document) -> list[Sheet]:
    return [s for s in doc.sheets if s.chat]


def plain_text(doc: Document) -> str:
    """Every table of the document as plain monospace text (the console's and a file's)."""
    out = [doc.title, *doc.lines, ""]
    for sheet in doc.sheets:
        header, body = _table_lines(sheet)
        out += [sheet.name, header, "-" * max(len(header), 1), *body, ""]
    out += list(doc.notes)
    return "\n".join(out).rstrip() + "\n"


def chat_messages(doc: Document, *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Telegram HTML messages: the title in bold, then each chat table in ``<pre>`` blocks of
    whole rows, each message under `limit` characters with the column header repeated."""
    intro = "<b>" + html_escape(doc.title) + "</b>\n" + html_escape("\n".join(doc.lines))
    messages: list[str] = []
    current = intro
    for sheet in _sheets_for_chat(doc):
        header, body = _table_lines(sheet)
        head = "\n<b>" + html_escape(sheet.name) + "</b>\n<pre>" + html_escape(header) + "\n"
        block = head
        for row in body:
            piece = html_escape(row) + "\n"
            if len(current) + len(block) + len(piece) + len("</pre>") > limit:
                if block != head:
                    current += block + "</pre>"
                messages.append(current)
                current, block = "", head.lstrip("\n")
            block += piece
        current += block + "</pre>"
    notes = "\n" + html_escape("\n".join(doc.notes)) if doc.notes else ""
    if len(current) + len(notes) > limit:
        messages.append(current)
        current = notes.lstrip("\n")
    else:
        current += notes
    messages.append(current)
    return [m for m in messages if m.strip()]


# --- Excel ---------------------------------------------------------------------------------------


def xlsx_bytes(docs: Sequence[Document]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bad_fill = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
    bad_font = Font(color="9C0006")
    bold = Font(bold=True)
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for doc, sheet in [(d, sheet) for d in docs for sheet in d.sheets]:
        label = sheet.name if len(docs) == 1 else f"{sheet.name} {len(used) + 1}"
        name = _sheet_name(label, used)
        ws = book.create_sheet(name)
        ws.append([doc.title])
        ws.cell(1, 1).font = Font(bold=True, size=13)
        for line in doc.lines:
            ws.append([line])
        ws.append([])
        header_row = len(doc.lines) + 3  # the title, the lines, a blank row
        ws.append(list(sheet.header))
        for cell in ws[header_row]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for r, row in enumerate([*sheet.rows, *sheet.footer]):
            ws.append([_xlsx_value(v) for v in row])
            excel_row = ws.max_row
            for c, value in enumerate(row, 1):
                cell = ws.cell(excel_row, c)
                if value.fmt and value.number is not None:
                    cell.number_format = value.fmt
                if value.bad:
                    cell.fill = bad_fill
                    cell.font = bad_font
                if r >= len(sheet.rows):
                    cell.font = bold
        ws.freeze_panes = ws.cell(header_row + 1, 2 if sheet.wide_first else 1)
        for c, title in enumerate(sheet.header, 1):
            texts = [title] + [row[c - 1].text for row in sheet.rows if c - 1 < len(row)]
            width = max(len(t) for t in texts) + 2
            ws.column_dimensions[get_column_letter(c)].width = min(max(width, 6), 45)
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape" if len(sheet.header) > 7 else "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.oddHeader.center.text = doc.title
        ws.oddFooter.center.text = "&P / &N"
        for row in ws.iter_rows():  # a name or title starting with =, +, - or @ stays text
            for cell in row:
                keep_as_text(cell)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value: Value) -> float | str | None:
    if value.number is not None:
        return value.number
    return None if value.text == "—" else value.text


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate in used:
        candidate = f"{clean[:28]} {n}"
        n += 1
    used.add(candidate)
    return candidate


# --- PDF -----------------------------------------------------------------------------------------


def pdf_bytes(docs: Sequence[Document], gettext: Gettext) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        LongTable,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    from services.people.letters import SANS, SANS_BOLD, register_fonts

    register_fonts()
    widest = max((len(s.header) for doc in docs for s in doc.sheets), default=1)
    size = landscape(A4) if widest > 7 else A4
    base = ParagraphStyle("base", fontName=SANS, fontSize=9, leading=11)
    title = ParagraphStyle("title", base, fontName=SANS_BOLD, fontSize=14, leading=18)
    heading = ParagraphStyle("heading", base, fontName=SANS_BOLD, fontSize=11, leading=14)
    cell_style = ParagraphStyle("cell", base, fontSize=8, leading=10)
    page_label = gettext("Page {number}")
    story: list[object] = []
    for number, doc in enumerate(docs):
        if number:
            story.append(PageBreak())
        story += [Paragraph(escape(doc.title), title)]
        story += [Paragraph(escape(line), base) for line in doc.lines]
        for sheet in doc.sheets:
            story += [Spacer(1, 4 * mm), Paragraph(escape(sheet.name), heading), Spacer(1, 2 * mm)]
            data = [[Paragraph(escape(h), cell_style) for h in sheet.header]]
            bad: list[tuple[int, int]] = []
            rows = [*sheet.rows, *sheet.footer]
            for r, row in enumerate(rows, 1):
                data.append([Paragraph(escape(v.text), cell_style) for v in row])
                bad += [(c, r) for c, v in enumerate(row) if v.bad]
            usable = size[0] - 30 * mm
            first = min(usable * 0.35, 60 * mm) if sheet.wide_first else usable / len(sheet.header)
            rest = (usable - first) / max(len(sheet.header) - 1, 1)
            table = LongTable(
                data, colWidths=[first] + [rest] * (len(sheet.header) - 1), repeatRows=1
            )
            style = [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8E8E8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
            style += [("BACKGROUND", (c, r), (c, r), colors.HexColor("#FFC7CE")) for c, r in bad]
            if sheet.footer:
                style.append(
                    ("BACKGROUND", (0, len(sheet.rows) + 1), (-1, -1), colors.HexColor("#F2F2F2"))
                )
            table.setStyle(TableStyle(style))
            story.append(table)
        if doc.notes:
            story.append(Spacer(1, 3 * mm))
            story += [Paragraph(escape(note), base) for note in doc.notes]

    def decorate(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(SANS, 8)
        canvas.drawString(15 * mm, 8 * mm, running)
        canvas.drawRightString(
            size[0] - 15 * mm,
            8 * mm,
            page_label.format(number=canvas.getPageNumber()),
        )
        canvas.restoreState()

    running = docs[0].title if len(docs) == 1 else docs[0].lines[0]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=size,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=running,
    ).build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


# --- one entry point -----------------------------------------------------------------------------


def render(report: Report, fmt: Format | str, gettext: Gettext) -> bytes:
    """The report in `fmt`, its labels in the language of `gettext`: text (plain, UTF-8),
    xlsx, pdf or png (`charts.NoChart` for a report without a chart). For the chat,
    `chat_messages(document(report, gettext))`. CPU-bound: a handler calls `render_async`."""
    return render_many([report], fmt, gettext)


def render_many(reports: Sequence[Report], fmt: Format | str, gettext: Gettext) -> bytes:
    """Several reports in one file (every report card of a class): one after another in text,
    sheets side by side in Excel, each from a new page in PDF."""
    fmt = Format(fmt)
    if fmt is Format.PNG:
        from services.reports.charts import chart_png

        if len(reports) != 1:
            raise ValueError("one chart per file")
        return chart_png(reports[0], gettext)
    docs = [document(report, gettext) for report in reports]
    if fmt is Format.XLSX:
        return xlsx_bytes(docs)
    if fmt is Format.PDF:
        return pdf_bytes(docs, gettext)
    return "\n\n".join(plain_text(doc) for doc in docs).encode("utf-8")


async def render_async(report: Report, fmt: Format | str, gettext: Gettext) -> bytes:
    """`render` in a worker thread, so the event loop keeps serving other updates."""
    import asyncio

    return await asyncio.to_thread(render, report, fmt, gettext)
