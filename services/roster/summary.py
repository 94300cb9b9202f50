"""The dry run in the admin's language: problems first, then counts and the first lines.

`summarize` returns plain text (no markup: the CLI prints it, the bot escapes it into a
template or sends it as a file). Its messages are gettext ids marked with `N_`, translated by
the `gettext` the caller passes in (identity for English).
"""

from __future__ import annotations

from collections.abc import Callable

from services.roster.plan import KINDS, ChangeAction, ImportPlan
from services.roster.problems import N_, describe

#: the kinds of rows as the summary names them, in the order it lists them
KIND_NAMES = {
    "school": N_("School"),
    "year": N_("Academic year"),
    "periods": N_("Periods"),
    "holidays": N_("Holidays"),
    "bells": N_("Bell times"),
    "scales": N_("Grading scales"),
    "subjects": N_("Subjects"),
    "staff": N_("Staff"),
    "classes": N_("Classes"),
    "students": N_("Students"),
    "guardians": N_("Guardians"),
    "assignments": N_("Teaching assignments"),
    "timetable": N_("Timetable"),
    "grades": N_("Grades"),
}
ACTION_NAMES = {
    ChangeAction.ADDED: N_("added: {n}"),
    ChangeAction.CHANGED: N_("changed: {n}"),
    ChangeAction.MOVED: N_("moved to another class: {n}"),
    ChangeAction.LEFT: N_("left: {n}"),
}
MARKS = {
    ChangeAction.ADDED: "+",
    ChangeAction.CHANGED: "~",
    ChangeAction.MOVED: "→",
    ChangeAction.LEFT: "−",
}
NOTHING = N_("Nothing to change: the school already matches the file.")
PROBLEMS = N_("Problems found: {n}. Nothing will be changed until they are fixed.")
CHANGES = N_("What the import changes:")
MORE = N_("… and {n} more")


def summarize(plan: ImportPlan, gettext: Callable[[str], str], *, first: int = 5) -> str:
    """The plan as text: its problems (the first `first`), or the counts per kind and action
    with the first `first` lines of each kind (``+`` added, ``~`` changed, ``→`` moved,
    ``−`` left, with what changed)."""
    if plan.problems:
        lines = [gettext(PROBLEMS).format(n=len(plan.problems))]
        lines += [f"• {describe(p, gettext)}" for p in plan.problems[:first]]
        if len(plan.problems) > first:
            lines.append(gettext(MORE).format(n=len(plan.problems) - first))
        return "\n".join(lines)
    if plan.is_noop:
        return gettext(NOTHING)
    lines = [gettext(CHANGES)]
    counts = plan.counts()
    for kind in ("school", "year", *KINDS, "grades"):
        changes = [c for c in plan.changes if c.kind == kind]
        if not changes:
            continue
        parts = [
            gettext(ACTION_NAMES[action]).format(n=counts[kind, action])
            for action in ChangeAction
            if (kind, action) in counts
        ]
        lines.append("")
        lines.append(f"{gettext(KIND_NAMES[kind])}: {', '.join(parts)}")
        for change in changes[:first]:
            details = "; ".join(f"{gettext(name)}: {value}" for name, value in change.details)
            tail = f" ({details})" if details else ""
            lines.append(f"  {MARKS[change.action]} {change.label}{tail}")
        if len(changes) > first:
            lines.append("  " + gettext(MORE).format(n=len(changes) - first))
    return "\n".join(lines)
