"""Phone numbers as the school's files write them, to E.164: one rule for every reader."""

from __future__ import annotations

import phonenumbers


def e164(text: str, region: str) -> str | None:
    """`text` as an E.164 number (``+79161234567``), None when it is not a valid number.

    A number without a country code is read in the school's `region` (``8 (916) 123-45-67``
    in RU). Bare digits that are no valid number there are tried once more as written with a
    ``+``: a spreadsheet turns a typed ``+375 29 123-45-67`` into the number 375291234567,
    which a Russian school would otherwise refuse although the country code is all there.
    """
    candidates = [text]
    if text.isdigit():
        candidates.append("+" + text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
