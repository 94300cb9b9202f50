"""Gettext catalogs: `locales/<lang>/LC_MESSAGES/messages.po`, compiled in memory at start-up.

A fresh clone needs no build step: when no up-to-date `.mo` file sits next to a `.po`, the
catalog is compiled with Babel in memory.
"""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def load_catalog(po_path: Path) -> gettext.GNUTranslations:
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=po_path.parent.parent.name, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class PartaI18n(I18n):
    """aiogram's I18n that reads `.po` catalogs directly (see module docstring)."""

    def __init__(self, default_locale: str = "ru", path: Path = LOCALES_DIR) -> None:
        super().__init__(path=path, default_locale=default_locale, domain=DOMAIN)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale in SUPPORTED_LOCALES:
            po_path = self.path / locale / "LC_MESSAGES" / f"{self.domain}.po"
            if po_path.exists():
                translations[locale] = load_catalog(po_path)
        return translations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message
