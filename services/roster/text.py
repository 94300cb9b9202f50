"""Text cells as every roster reader keeps them."""

from __future__ import annotations

import re
import unicodedata


def nfc(text: str) -> str:
    """`text` in Unicode's composed form (NFC). Some tools (macOS ones among them) write
    ``й`` as ``и`` and a combining breve: it looks the same, but a name so written would not
    match the school's own (a subject "Русский язык" under a new id would be added beside the
    one the school has instead of being refused as taken), and re-importing would show a
    change from a name to itself."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}$")


def is_email(text: str) -> bool:
    """Whether `text` looks like one e-mail address (``name@domain.tld``): a sanity check
    that keeps two addresses in one cell, or a name, out of the school's data, not a
    delivery test. One rule for every reader, so what one format lets in another reads."""
    return len(text) <= 254 and _EMAIL.match(text) is not None
