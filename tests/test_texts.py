"""Every template renders in every locale with hostile data as valid Telegram HTML, and the
catalogs hold every message of the code."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES
from bot.i18n import LOCALES_DIR, create_i18n
from bot.rendering import Renderer
from bot.telegram import MESSAGE_LIMIT, split_html, visible_length
from tests.fakes.html import parse_html, utf16_len
from tests.samples import all_samples

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = all_samples()


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(create_i18n("ru"), strict=True)


def _is_partial(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith("_")


def test_every_template_has_samples(renderer: Renderer) -> None:
    assert {n for n in renderer.template_names() if not _is_partial(n)} == set(SAMPLES)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders_valid_telegram_html(renderer: Renderer, name: str, locale: str) -> None:
    for context in SAMPLES[name]:
        with renderer.i18n.context(), renderer.i18n.use_locale(locale):
            html = renderer.render(name, **context)
        if name == "macros.html.j2":
            continue
        plain, _entities = parse_html(html)
        assert plain.strip(), f"{name} renders empty"
        assert "<b>Иванов" not in html, "user data must be escaped"
        for part in split_html(html):
            parse_html(part)
            assert utf16_len(parse_html(part)[0]) <= MESSAGE_LIMIT


def test_russian_is_the_default_and_english_differs(renderer: Renderer) -> None:
    with renderer.i18n.context():
        with renderer.i18n.use_locale("ru"):
            ru = renderer.render("common/welcome.html.j2")
        with renderer.i18n.use_locale("en"):
            en = renderer.render("common/welcome.html.j2")
    assert "Парта" in ru
    assert "Parta" in en
    assert ru != en


def _extracted_ids() -> set[str]:
    method_map = [
        ("bot/**.py", "python"),
        ("handlers/**.py", "python"),
        ("services/**.py", "python"),
        ("bot/templates/**.j2", "jinja2"),
    ]
    options = {
        "bot/templates/**.j2": {
            "extensions": "jinja2.ext.i18n",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
        }
    }
    ids: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "__": None}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_every_message(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = _extracted_ids() - known
    assert not missing, f"run pybabel extract/update: {sorted(missing)[:5]}"
    if locale == "ru":
        untranslated = [
            m.id
            for m in catalog
            if m.id and (m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))
        ]
        assert not untranslated, untranslated[:5]


def test_split_html_keeps_markup_balanced() -> None:
    line = "<b>Жирный &amp; текст</b> <i>курсив</i> 😀"
    html = "\n".join([line] * 400)
    parts = split_html(html)
    assert len(parts) > 1
    total = 0
    for part in parts:
        plain, _ = parse_html(part)
        assert utf16_len(plain) <= MESSAGE_LIMIT
        total += visible_length(part)
    assert total >= visible_length(html) - len(parts)  # only cut newlines are dropped


def test_split_html_cuts_a_single_long_line_inside_a_tag() -> None:
    html = "<b>" + "слово " * 1500 + "</b>"
    parts = split_html(html)
    assert len(parts) == 3
    for part in parts:
        assert part.startswith("<b>")
        assert part.endswith("</b>")
        _plain, entities = parse_html(part)
        assert entities[0]["type"] == "bold"


def test_visible_length_counts_as_the_splitter_does() -> None:
    """`visible_length` (a regex, measured on every diary screen) and the widths `split_html`
    cuts by (a unit per character) agree: tags count nothing, an entity one, an astral
    character two UTF-16 units, a stray "<" or "&" nothing; random strings of those pieces."""
    from bot.telegram import _units

    pieces = [*"ab <>&;#x1/тё😀\n\"'=", "<b>", "</b>", "&amp;", "&#65;", "&#x41;", "</a>"]
    pieces += ['<a href="u">', "<tg-spoiler>", "&bogus", "<1>"]
    rnd = random.Random(20261130)
    texts = ["".join(rnd.choices(pieces, k=rnd.randint(0, 40))) for _ in range(3000)]
    for text in ["", "<b>жирный</b> &amp; 😀", "a < b & c", *texts]:
        assert visible_length(text) == sum(u.width for u in _units(text)), text
