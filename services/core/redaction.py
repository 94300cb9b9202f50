"""Redaction of secrets and personal data from texts that end up in logs or stored errors.

Pure functions, no I/O: the logging filter (bot/logs.py) and the outbox dispatcher (stored
`last_error`, which admins see) both use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TOKEN_MARK = "<token>"
PERSONAL_MARK = "<redacted>"

# A Bot API token: the bot's numeric id, a colon, the secret (35 characters today). The id alone
# is public (it is the bot's user id), the whole token is not.
_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
# The token in a Bot API URL (`…/bot<token>/<method>`, `…/file/bot<token>/<path>`), whatever
# its shape (test and self-hosted tokens are often short).
_TOKEN_IN_URL = re.compile(r"(?<=/bot)\d+:[^/\s'\"?#]+")
# PostgreSQL quotes row values in an error's DETAIL line ("Key (phone)=(+7…) already exists",
# "Failing row contains (…)"): the whole line goes.
_PG_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
# SQLAlchemy's "[parameters: …]" part of a DBAPIError (when parameters are not hidden).
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)
# A phone number in any usual formatting: 10 to 15 digits with spaces, dashes, dots or
# brackets between them, an optional leading +.
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,3}\d){9,14}(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without bot tokens (the given `secrets` verbatim, anything token-shaped, and the
    token part of `/bot<token>/` URLs) or PostgreSQL DETAIL lines and SQL parameters (they quote
    row values: phones, names). For log records, where ids and numbers must stay readable."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, TOKEN_MARK)
    text = _TOKEN_IN_URL.sub(TOKEN_MARK, text)
    text = _TOKEN.sub(TOKEN_MARK, text)
    text = _PG_DETAIL.sub(r"\1 " + PERSONAL_MARK, text)
    return _SQL_PARAMETERS.sub(f"[parameters: {PERSONAL_MARK}]", text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`redact_secrets`, and also anything that looks like a phone number or an e-mail
    address: for error texts stored in the database and shown to admins."""
    text = redact_secrets(text, secrets)
    text = _EMAIL.sub(PERSONAL_MARK, text)
    return _PHONE.sub(PERSONAL_MARK, text)
