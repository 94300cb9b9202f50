"""Printable code letters: one A4 page per code, Cyrillic text, the code, the link, both
languages, long names kept on the page; and the CSV of the same codes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

from bot.i18n import LOCALES_DIR, create_i18n
from bot.keyboards import contact_keyboard
from db.enums import CodeKind
from services.people.codes import IssuedCode, deep_link, format_code, generate_code, normalize_code
from services.people.letters import CSV_COLUMNS, _qr, render_codes_csv, render_letters_pdf

BOT = "parta_school_bot"
EXPIRES = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
LONG_NAME = ("Александра-Виктория Константиновна " * 10)[:300].strip()
SCHOOL = "Гимназия № 57 <имени А. & Б.>"
I18N = create_i18n("ru")
TRANSLATE = I18N.gettext


def _codes() -> list[IssuedCode]:
    return [
        IssuedCode(
            code=generate_code(),
            kind=CodeKind.STUDENT,
            person_name="Иванова Мария Петровна",
            class_name="7Б",
            expires_at=EXPIRES,
            student_id=1,
        ),
        IssuedCode(
            code=generate_code(),
            kind=CodeKind.PARENT,
            person_name=LONG_NAME,
            class_name="7B",
            expires_at=EXPIRES,
            student_id=2,
            guardian_id=3,
            guardian_name="Петров Пётр Ильич",
        ),
        IssuedCode(
            code=generate_code(),
            kind=CodeKind.STAFF,
            person_name="Сергеева Ольга Николаевна",
            class_name=None,
            expires_at=EXPIRES,
            staff_id=4,
        ),
    ]


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def codes() -> list[IssuedCode]:
    return _codes()


@pytest.fixture(scope="module")
def pages(codes: list[IssuedCode]) -> list[str]:
    pdf = render_letters_pdf(
        codes,
        school_name=SCHOOL,
        bot_username="@" + BOT,
        translate=TRANSLATE,
        timezone="Europe/Moscow",
    )
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:  # A4 portrait
        assert round(float(page.mediabox.width)) == 595
        assert round(float(page.mediabox.height)) == 842
    return [page.extract_text() for page in reader.pages]


def test_one_page_per_code(pages: list[str], codes: list[IssuedCode]) -> None:
    assert len(pages) == len(codes)


def test_each_page_has_person_code_link_and_both_languages(
    pages: list[str], codes: list[IssuedCode]
) -> None:
    names = ["Иванова Мария Петровна", "Петров Пётр Ильич", "Сергеева Ольга Николаевна"]
    for text, code, name in zip(pages, codes, names, strict=True):
        assert SCHOOL in text
        assert name in text  # Cyrillic renders and extracts
        assert format_code(code.code) in text
        assert deep_link(BOT, code.code) in text
        assert "2026-01-31 12:00" in text  # expiry in the school's time zone
        for word in ["Как подключиться", "QR-код", "Храните код в тайне", "одноразовый"]:
            assert word in text
        for word in ["How to connect", "scan the QR code", "share your phone", "Keep the code"]:
            assert word in text
        # No other letter's code leaks onto this page.
        others = [format_code(c.code) for c in codes if c is not code]
        assert not any(o in text for o in others)


def test_qr_code_and_clickable_link_carry_the_deep_link(codes: list[IssuedCode]) -> None:
    link = deep_link(BOT, codes[0].code)
    assert _qr(link, 100).contents[0].value == link
    pdf = render_letters_pdf(codes[:1], school_name=SCHOOL, bot_username=BOT, translate=TRANSLATE)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    uris = [a.get_object()["/A"]["/URI"] for a in page.get("/Annots", [])]
    assert uris == [link]


def test_labels_follow_the_kind(pages: list[str]) -> None:
    student, parent, staff = pages
    assert "Ученик / Student" in student
    assert "Класс / Class: 7Б" in student
    assert "For the parent of" in parent
    assert "Родитель / Parent: Петров Пётр Ильич" in parent
    assert "The school confirms parents" in parent
    assert "Сотрудник / Staff member" in staff
    assert "Класс" not in staff


def test_long_name_wraps_whole_on_its_page(pages: list[str]) -> None:
    text = pages[1]
    assert _squash(LONG_NAME) in _squash(text)  # nothing cut off
    assert max(len(line) for line in text.splitlines()) < 130  # wrapped, not one long line


def test_huge_texts_still_give_one_page_each() -> None:
    code = IssuedCode(
        code=generate_code(),
        kind=CodeKind.PARENT,
        person_name="Ж" * 300,
        class_name="11Б",
        expires_at=EXPIRES,
        student_id=1,
        guardian_name="Щ" * 300,
    )
    pdf = render_letters_pdf(
        [code, code], school_name="Ш" * 300, bot_username=BOT, translate=TRANSLATE
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    assert format_code(code.code) in reader.pages[1].extract_text()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="no codes"):
        render_letters_pdf([], school_name=SCHOOL, bot_username=BOT, translate=TRANSLATE)
    with pytest.raises(ValueError, match="username"):
        render_letters_pdf(
            _codes(), school_name=SCHOOL, bot_username="not a bot", translate=TRANSLATE
        )


def test_csv_round_trips(codes: list[IssuedCode]) -> None:
    text = render_codes_csv(codes, bot_username=BOT)
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(codes)
    student, parent, staff = rows
    assert student == {
        "kind": "student",
        "class": "7Б",
        "student": "Иванова Мария Петровна",
        "guardian": "",
        "staff": "",
        "code": format_code(codes[0].code),
        "link": f"https://t.me/{BOT}?start={codes[0].code}",
        "expires_at": "2026-01-31T09:00:00+00:00",
    }
    assert parent["student"] == LONG_NAME
    assert parent["guardian"] == "Петров Пётр Ильич"
    assert staff["staff"] == "Сергеева Ольга Николаевна"
    assert staff["student"] == staff["class"] == ""
    for row, code in zip(rows, codes, strict=True):
        assert normalize_code(row["code"]) == code.code
        assert datetime.fromisoformat(row["expires_at"]) == code.expires_at


def test_csv_keeps_texts_plain() -> None:
    code = IssuedCode(
        code=generate_code(),
        kind=CodeKind.STUDENT,
        person_name='О\'Нил, "Джо" <b>&amp;',
        class_name="7B",
        expires_at=EXPIRES,
        student_id=1,
    )
    (row,) = csv.DictReader(io.StringIO(render_codes_csv([code], bot_username=BOT)))
    assert row["student"] == 'О\'Нил, "Джо" <b>&amp;'


def test_csv_guards_against_formula_injection() -> None:
    code = IssuedCode(
        code=generate_code(),
        kind=CodeKind.PARENT,
        person_name='=HYPERLINK("http://evil","x")',
        class_name="7B",
        expires_at=EXPIRES,
        student_id=1,
        guardian_name="+7 916 000",
    )
    (row,) = csv.DictReader(io.StringIO(render_codes_csv([code], bot_username=BOT)))
    assert row["student"] == '\'=HYPERLINK("http://evil","x")'
    assert row["guardian"] == "'+7 916 000"
    assert row["class"] == "7B"


@pytest.mark.parametrize(
    ("locale", "label"), [("ru", "Поделиться номером"), ("en", "Share my phone number")]
)
def test_letter_names_the_contact_button_as_the_bot_labels_it(
    pages: list[str], locale: str, label: str
) -> None:
    """The letter tells parents which button to press: the very label the bot shows (less
    the 📱 icon, which the letter's font cannot draw)."""
    with I18N.context(), I18N.use_locale(locale):
        markup = contact_keyboard()
    shown = markup.keyboard[0][0]
    assert shown.request_contact
    assert shown.text == f"📱 {label}"
    quoted = f"«{label}»" if locale == "ru" else f'"{label}"'
    assert all(quoted in _squash_spaces(page) for page in pages)


#: the letter's instructions → the letters that carry them (student's, parent's, staff's)
INSTRUCTIONS = {
    "How to connect": (0, 1, 2),
    "Open the link on your phone or scan the QR code with the camera — the Telegram bot opens. "
    "You can also press Start and send the code to the bot.": (0, 1, 2),
    "The school confirms parents: if your number matches the one the school has on file, access "
    "opens at once; otherwise after the class teacher confirms you.": (1,),
    "The code itself confirms you: access opens at once.": (0, 2),
    "Keep the code private and do not forward it. It works once and only until the date shown; "
    "if it is lost, the school issues a new one and this one stops working.": (0, 1, 2),
}


def test_russian_instructions_come_from_the_catalog(codes: list[IssuedCode]) -> None:
    """The Russian steps are the ru catalog's translations, fetched through the translator the
    caller passes (marked here, so a text written into the letter itself would show unmarked)."""
    with (LOCALES_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale="ru")

    def marked(message: str, /, *, locale: str) -> str:
        text = TRANSLATE(message, locale=locale)
        return f"[{locale}]{text}" if message in INSTRUCTIONS else text

    pdf = render_letters_pdf(codes, school_name=SCHOOL, bot_username=BOT, translate=marked)
    pages = [_squash(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    for message, carried_by in INSTRUCTIONS.items():
        entry = catalog.get(message)
        assert entry is not None
        assert entry.string, f"no Russian for {message!r}"
        for index in carried_by:
            assert _squash(f"[ru]{entry.string}") in pages[index]
            assert _squash(f"[en]{message}") in pages[index]
        for index in set(range(3)) - set(carried_by):
            assert _squash(f"[ru]{entry.string}") not in pages[index]


def _squash_spaces(text: str) -> str:
    return " ".join(text.split())
