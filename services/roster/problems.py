"""What each roster problem says, in the admin's language.

`MESSAGES` maps a `Problem.key` to its English source text (a gettext message id with
``{name}`` placeholders filled from `Problem.params`). Readers, the planner and the OneRoster
code each add their keys here, so one function, `describe`, words every finding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.roster.model import Problem


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    return message


#: key → English message id; placeholders are `Problem.params` names
MESSAGES: Mapping[str, str] = {
    "roster.unknown_ref": N_("refers to {target} “{id}”, which is not in the file"),
}

#: sheet and column names are shown as the file has them; this words the location
LOCATION = N_("{sheet}, line {line}, column {column}")
LOCATION_NO_COLUMN = N_("{sheet}, line {line}")


def describe(problem: Problem, gettext: Callable[[str], str]) -> str:
    """``"students, line 4, column class_id: refers to classes “7Z”, which is not in the file"``.

    `gettext` translates a message id into the admin's language (identity for English). An
    unknown key is a programming error (`KeyError`).
    """
    params = dict(problem.params)
    where = problem.where
    location = gettext(LOCATION if where.column else LOCATION_NO_COLUMN).format(
        sheet=where.sheet, line=where.line, column=where.column
    )
    return f"{location}: {gettext(MESSAGES[problem.key]).format(**params)}"
