"""Printable access-code letters (PDF, one A4 page per code) and the CSV of the same codes.

Every letter speaks Russian and English (`LETTER_LOCALES`), both on the same page. Its texts
are gettext messages translated through the `Translate` the caller passes in (the bot's
catalogs), so no service loads catalogs or imports aiogram; dates go through Babel.

Fonts are the DejaVu faces shipped inside matplotlib, so Cyrillic renders on any server without
system fonts. Every letter is laid out in a frame that shrinks its content if it would not fit,
so a very long name wraps and, at worst, scales the page down instead of spilling onto a second
page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
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
from services.people.codes import IssuedCode, deep_link, format_code

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

#: the languages of every letter, in the order they are printed
LETTER_LOCALES = ("ru", "en")

_GREY = HexColor("#555555")
_RULE = HexColor("#BBBBBB")

#: one language's gettext
Gettext = Callable[[str], str]


class Translate(Protocol):
    """A message translated into `locale` (aiogram's `I18n.gettext` is one)."""

    def __call__(self, message: str, /, *, locale: str) -> str: ...


def _languages(translate: Translate) -> list[Gettext]:
    return [partial(translate, locale=locale) for locale in LETTER_LOCALES]


def _bilingual(languages: Sequence[Gettext]) -> Gettext:
    """A gettext giving every language's text at once, "Ученик / Student"."""
    return lambda message: " / ".join(gettext(message) for gettext in languages)


def _font_dir() -> Path:
    """matplotlib's bundled DejaVu fonts, found without importing matplotlib (~60 MB)."""
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships the letters' DejaVu fonts) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


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


def _who(code: IssuedCode, _: Gettext) -> list[tuple[str, str]]:
    """(label, value) lines naming the person."""
    lines: list[tuple[str, str]] = []
    if code.kind is CodeKind.PARENT:
        lines.append((_("For the parent of"), code.person_name))
        if code.guardian_name:
            lines.append((_("Parent"), code.guardian_name))
    elif code.kind is CodeKind.STAFF:
        lines.append((_("Staff member"), code.person_name))
    else:
        lines.append((_("Student"), code.person_name))
    if code.class_name:
        lines.append((_("Class"), code.class_name))
    return lines


def _steps(kind: CodeKind, _: Gettext) -> list[str]:
    """How to connect, in one language. The contact button is named as the bot labels it (the
    same message), less the 📱 icon the letter's font has no glyph for."""
    button = _("📱 Share my phone number").replace("📱", "").strip()
    confirm = (
        _(
            "The school confirms parents: if your number matches the one the school has on "
            "file, access opens at once; otherwise after the class teacher confirms you."
        )
        if kind is CodeKind.PARENT
        else _("The code itself confirms you: access opens at once.")
    )
    return [
        _(
            "Open the link on your phone or scan the QR code with the camera — the Telegram bot "
            "opens. You can also press Start and send the code to the bot."
        ),
        _('When the bot asks, share your phone number with the "%(button)s" button.')
        % {"button": button},
        confirm,
        _(
            "Keep the code private and do not forward it. It works once and only until the "
            "date shown; if it is lost, the school issues a new one and this one stops working."
        ),
    ]


def _instructions(kind: CodeKind, _: Gettext, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The heading and the numbered steps in one language."""
    story: list[Flowable] = [Paragraph(escape(_("How to connect")), styles["heading"])]
    story += [
        Paragraph(f"{n}.&nbsp;{escape(step)}", styles["step"])
        for n, step in enumerate(_steps(kind, _), 1)
    ]
    return story


def _local(moment: datetime, zone: tzinfo) -> str:
    """A moment as the school reads it, in the same digits in every language."""
    return format_datetime(moment, "yyyy-MM-dd HH:mm", tzinfo=zone, locale=LETTER_LOCALES[0])


@dataclass(frozen=True)
class _Batch:
    """What every letter of one print run shares."""

    school_name: str
    bot_username: str
    zone: tzinfo
    zone_label: str  # the zone's name as printed
    styles: dict[str, ParagraphStyle]
    languages: Sequence[Gettext]


def _letter(code: IssuedCode, batch: _Batch) -> list[Flowable]:
    school_name, styles, languages = batch.school_name, batch.styles, batch.languages
    link = deep_link(batch.bot_username, code.code)
    _ = _bilingual(languages)
    story: list[Flowable] = [
        Paragraph(escape(school_name), _scaled(styles["school"], school_name)),
        Spacer(1, 2),
        Paragraph(escape(_("Access to the e-diary in Telegram")), styles["title"]),
        _Rule(),
    ]
    story += [
        Paragraph(f"{escape(label)}: <b>{escape(value)}</b>", _scaled(styles["person"], value))
        for label, value in _who(code, _)
    ]
    story += [
        _Rule(),
        Paragraph(escape(_("Your code")), styles["label"]),
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
            escape(_("Valid until"))
            + f": <b>{_local(code.expires_at, batch.zone)}</b> ({escape(batch.zone_label)})",
            styles["expiry"],
        ),
        _Rule(),
    ]
    for language in languages:
        story += _instructions(code.kind, language, styles)
    return story


def _footer(canvas: Canvas, _doc: BaseDocTemplate, *, text: str) -> None:
    canvas.saveState()
    canvas.setFont(SANS, 7.5)
    canvas.setFillColor(_GREY)
    canvas.drawCentredString(A4[0] / 2, MARGIN / 2, text)
    canvas.restoreState()


def render_letters_pdf(
    codes: Sequence[IssuedCode],
    *,
    school_name: str,
    bot_username: str,
    translate: Translate,
    timezone: str = "UTC",
) -> bytes:
    """One A4 letter per code: school, person and class, the code, a QR code of the deep link,
    the link, the expiry (in `timezone`, an IANA name such as the school's) and instructions,
    each text in every one of `LETTER_LOCALES` through `translate`. Raises ValueError for an
    empty list or a bad bot username."""
    if not codes:
        raise ValueError("no codes to print")
    deep_link(bot_username, codes[0].code)  # validate the username before any work
    register_fonts()
    zone: tzinfo = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    languages = _languages(translate)
    batch = _Batch(school_name, bot_username, zone, timezone, _styles(), languages)
    _ = _bilingual(languages)
    footer = "Parta — " + _("school diary in Telegram")
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
    doc.addPageTemplates(
        [PageTemplate(id="letter", frames=[frame], onPage=partial(_footer, text=footer))]
    )
    story: list[Flowable] = []
    for index, code in enumerate(codes):
        if index:
            story.append(PageBreak())
        content = _letter(code, batch)
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
