"""Printable access-code letters (PDF, one A4 page per code) and the CSV of the same codes.

Fonts are the DejaVu faces shipped inside matplotlib, so Cyrillic renders on any server without
system fonts. Every letter is laid out in a frame that shrinks its content if it would not fit,
so a very long name wraps and, at worst, scales the page down instead of spilling onto a second
page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import matplotlib
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepInFrame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from db.enums import CodeKind
from services.codes import IssuedCode, deep_link, format_code

SANS = "PartaSans"
SANS_BOLD = "PartaSans-Bold"
MONO = "PartaMono"
_FONT_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    MONO: "DejaVuSansMono.ttf",
}
MARGIN = 18 * mm
QR_SIZE = 52 * mm
CSV_COLUMNS = ("kind", "class", "student", "guardian", "staff", "code", "link", "expires_at")

# The bot's contact button as it is labelled in the chat (bot.keyboards.contact_keyboard: the
# msgid and its Russian translation), without the 📱 icon the letter's font has no glyph for.
# tests/test_letters.py checks that the letter and the button keep saying the same.
CONTACT_BUTTON_RU = "Поделиться номером"
CONTACT_BUTTON_EN = "Share my phone number"

_GREY = HexColor("#555555")
_RULE = HexColor("#BBBBBB")


def _font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def register_fonts() -> None:
    """Register the DejaVu faces with reportlab once per process."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    folder = _font_dir()
    for name, file_name in _FONT_FILES.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(folder / file_name)))
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=SANS, fontSize=10, leading=13, splitLongWords=True)
    return {
        "school": ParagraphStyle(
            "school", base, fontName=SANS_BOLD, fontSize=17, leading=21, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title", base, fontSize=11.5, leading=15, alignment=TA_CENTER, textColor=_GREY
        ),
        "person": ParagraphStyle("person", base, fontSize=13, leading=17, spaceAfter=3),
        "label": ParagraphStyle("label", base, fontSize=10, alignment=TA_CENTER, textColor=_GREY),
        "code": ParagraphStyle(
            "code", base, fontName=MONO, fontSize=34, leading=42, alignment=TA_CENTER
        ),
        "link": ParagraphStyle("link", base, fontName=MONO, fontSize=10, alignment=TA_CENTER),
        "expiry": ParagraphStyle("expiry", base, fontSize=11, leading=15, alignment=TA_CENTER),
        "heading": ParagraphStyle(
            "heading", base, fontName=SANS_BOLD, fontSize=10.5, leading=14, spaceBefore=4
        ),
        "step": ParagraphStyle(
            "step", base, fontSize=9.3, leading=12, leftIndent=12, firstLineIndent=-12
        ),
    }


class _Rule(Flowable):  # type: ignore[misc]  # reportlab ships no type hints
    """A thin horizontal line across the frame."""

    def __init__(self, space: float = 6) -> None:
        super().__init__()
        self.space = space
        self.line_width = 0.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.line_width = avail_width
        return avail_width, 2 * self.space

    def draw(self) -> None:
        self.canv.setStrokeColor(_RULE)
        self.canv.setLineWidth(0.6)
        self.canv.line(0, self.space, self.line_width, self.space)


def _scaled(style: ParagraphStyle, text: str) -> ParagraphStyle:
    """A smaller variant of `style` for long texts (very long names still wrap)."""
    if len(text) <= 60:
        return style
    factor = 0.85 if len(text) <= 150 else 0.72
    return ParagraphStyle(
        f"{style.name}-{factor}",
        style,
        fontSize=style.fontSize * factor,
        leading=style.leading * factor,
    )


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    drawing.hAlign = "CENTER"
    return drawing


def _who(code: IssuedCode) -> list[tuple[str, str]]:
    """(label, value) lines naming the person; labels are Russian / English."""
    lines: list[tuple[str, str]] = []
    if code.kind is CodeKind.PARENT:
        lines.append(("Для родителя ученика / For the parent of", code.person_name))
        if code.guardian_name:
            lines.append(("Родитель / Parent", code.guardian_name))
    elif code.kind is CodeKind.STAFF:
        lines.append(("Сотрудник / Staff member", code.person_name))
    else:
        lines.append(("Ученик / Student", code.person_name))
    if code.class_name:
        lines.append(("Класс / Class", code.class_name))
    return lines


def _steps_ru(kind: CodeKind) -> list[str]:
    confirm = (
        "Родителей подтверждает школа: если номер совпадает с номером в школьных данных, доступ "
        "откроется сразу, иначе — после подтверждения классным руководителем."
        if kind is CodeKind.PARENT
        else "Код сам подтверждает вас: доступ откроется сразу."
    )
    return [
        "Откройте ссылку на телефоне или отсканируйте QR-код камерой — откроется бот в "
        "Telegram. Можно также нажать «Старт» и отправить боту код.",
        f"Когда бот попросит, нажмите кнопку «{CONTACT_BUTTON_RU}» — бот получит ваш номер "
        "телефона.",
        confirm,
        "Храните код в тайне и никому его не пересылайте. Код одноразовый и действует до "
        "указанной даты; если он потерян, школа выдаст новый, а этот перестанет работать.",
    ]


def _steps_en(kind: CodeKind) -> list[str]:
    confirm = (
        "The school confirms parents: if your number matches the one the school has on file, "
        "access opens at once; otherwise after the class teacher confirms you."
        if kind is CodeKind.PARENT
        else "The code itself confirms you: access opens at once."
    )
    return [
        "Open the link on your phone or scan the QR code with the camera — the Telegram bot "
        "opens. You can also press Start and send the code to the bot.",
        f'When the bot asks, share your phone number with the "{CONTACT_BUTTON_EN}" button.',
        confirm,
        "Keep the code private and do not forward it. It works once and only until the date "
        "shown; if it is lost, the school issues a new one and this one stops working.",
    ]


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _letter(
    code: IssuedCode,
    *,
    school_name: str,
    bot_username: str,
    zone: tzinfo,
    zone_label: str,
    styles: dict[str, ParagraphStyle],
) -> list[Flowable]:
    link = deep_link(bot_username, code.code)
    story: list[Flowable] = [
        Paragraph(escape(school_name), _scaled(styles["school"], school_name)),
        Spacer(1, 2),
        Paragraph(
            "Доступ к электронному дневнику в Telegram / Access to the e-diary in Telegram",
            styles["title"],
        ),
        _Rule(),
    ]
    story += [
        Paragraph(f"{escape(label)}: <b>{escape(value)}</b>", _scaled(styles["person"], value))
        for label, value in _who(code)
    ]
    story += [
        _Rule(),
        Paragraph("Ваш код / Your code", styles["label"]),
        Paragraph(escape(format_code(code.code)), styles["code"]),
        Spacer(1, 6),
        _qr(link, QR_SIZE),
        Spacer(1, 4),
        Paragraph(
            f'<link href="{escape(link)}">{escape(link)}</link>',
            styles["link"],
        ),
        Spacer(1, 4),
        Paragraph(
            f"Действителен до / Valid until: <b>{_local(code.expires_at, zone)}</b>"
            f" ({escape(zone_label)})",
            styles["expiry"],
        ),
        _Rule(),
        Paragraph("Как подключиться", styles["heading"]),
    ]
    story += [
        Paragraph(f"{n}.&nbsp;{escape(step)}", styles["step"])
        for n, step in enumerate(_steps_ru(code.kind), 1)
    ]
    story.append(Paragraph("How to connect", styles["heading"]))
    story += [
        Paragraph(f"{n}.&nbsp;{escape(step)}", styles["step"])
        for n, step in enumerate(_steps_en(code.kind), 1)
    ]
    return story


def _footer(canvas: Canvas, _doc: BaseDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(SANS, 7.5)
    canvas.setFillColor(_GREY)
    canvas.drawCentredString(
        A4[0] / 2, MARGIN / 2, "Parta — школьный дневник в Telegram / school diary in Telegram"
    )
    canvas.restoreState()


def render_letters_pdf(
    codes: Sequence[IssuedCode],
    *,
    school_name: str,
    bot_username: str,
    timezone: str = "UTC",
) -> bytes:
    """One A4 letter per code: school, person and class, the code, a QR code of the deep link,
    the link, the expiry (in `timezone`, an IANA name such as the school's) and instructions in
    Russian and English. Raises ValueError for an empty list or a bad bot username."""
    if not codes:
        raise ValueError("no codes to print")
    deep_link(bot_username, codes[0].code)  # validate the username before any work
    register_fonts()
    zone: tzinfo = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    styles = _styles()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title="Parta access codes",
        author=school_name,
        creator="Parta",
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="letter",
    )
    doc.addPageTemplates([PageTemplate(id="letter", frames=[frame], onPage=_footer)])
    story: list[Flowable] = []
    for index, code in enumerate(codes):
        if index:
            story.append(PageBreak())
        content = _letter(
            code,
            school_name=school_name,
            bot_username=bot_username,
            zone=zone,
            zone_label=timezone,
            styles=styles,
        )
        story.append(KeepInFrame(doc.width, doc.height - 1, content, mode="shrink"))
    doc.build(story)
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A name as a spreadsheet cell: one starting with = + - @ (a formula when opened in a
    spreadsheet) gets a leading apostrophe, the usual CSV-injection guard."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_codes_csv(codes: Sequence[IssuedCode], *, bot_username: str) -> str:
    """The codes as CSV (header: kind, class, student, guardian, staff, code, link,
    expires_at); names guarded against formula injection, the code in its printed form,
    expiry in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for code in codes:
        is_staff = code.kind is CodeKind.STAFF
        writer.writerow(
            (
                code.kind.value,
                _cell(code.class_name or ""),
                "" if is_staff else _cell(code.person_name),
                _cell(code.guardian_name or ""),
                _cell(code.person_name) if is_staff else "",
                format_code(code.code),
                deep_link(bot_username, code.code),
                code.expires_at.astimezone(UTC).isoformat(),
            )
        )
    return out.getvalue()
