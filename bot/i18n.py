"""Gettext catalogs: `locales/<lang>/LC_MESSAGES/messages.po`, compiled at start-up.

A fresh clone needs no build step: a `.mo` file missing or older than its `.po` is compiled
with Babel next to it (or, on a read-only install, into a private temporary folder).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def _compile(po_path: Path, mo_path: Path) -> None:
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=po_path.parent.parent.name, domain=DOMAIN)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = mo_path.with_suffix(".mo.tmp")
    with tmp.open("wb") as fp:
        write_mo(fp, catalog, use_fuzzy=False)
    tmp.replace(mo_path)


def compile_catalogs(source: Path = LOCALES_DIR) -> Path:
    """Make sure every `.po` has an up-to-date `.mo`; return the folder that holds them."""
    stale = [
        locale
        for locale in SUPPORTED_LOCALES
        if _is_stale(source / locale / "LC_MESSAGES" / f"{DOMAIN}.po")
    ]
    if not stale:
        return source
    try:
        for locale in stale:
            po = source / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            _compile(po, po.with_suffix(".mo"))
        return source
    except OSError:
        target = Path(tempfile.mkdtemp(prefix="parta-locales-"))
        for locale in SUPPORTED_LOCALES:
            po = source / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            _compile(po, target / locale / "LC_MESSAGES" / f"{DOMAIN}.mo")
        return target


def _is_stale(po_path: Path) -> bool:
    mo_path = po_path.with_suffix(".mo")
    return not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime


def create_i18n(default_locale: str = "ru") -> I18n:
    return I18n(path=compile_catalogs(), default_locale=default_locale, domain=DOMAIN)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message
