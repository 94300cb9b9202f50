"""A school's roster in and out: the workbook, OneRoster 1.2 CSV, a dry run and a diff.

Map (each module's docstring says more):
- `model`: `SchoolData`, the format-neutral picture of a school's setup that every reader
  produces and every writer consumes; `Problem`, one located validation finding.
- `problems`: what each problem says (`MESSAGES`, `describe`).
- readers and writers of each format turn files into `SchoolData` (with problems) and back;
  they never touch the database.
- `snapshot`: the school as it is now, as a `SchoolData` (`snapshot`, for the exporters), and
  the loader behind it that keeps the database ids (`load`); rows made here are ``#<id>``.
- `plan`: the dry run. `plan_import` compares `SchoolData` with the database by source id and
  yields an `ImportPlan`: problems only the database shows, and a `Change` per row (added,
  changed, moved between classes, left).
- `apply`: `apply_import` re-plans and writes it in one transaction, only when nothing is
  wrong; `leavers` ends the links and codes of who left; `lessons` generates the year's lessons
  from the timetable and remakes only future ones when it changes.
- `summary`: `summarize`, the dry run in the admin's language (counts, first lines, problems).
"""

from services.roster.apply import apply_import
from services.roster.plan import Change, ChangeAction, ImportPlan, plan_import
from services.roster.snapshot import snapshot

__all__ = [
    "Change",
    "ChangeAction",
    "ImportPlan",
    "apply_import",
    "plan_import",
    "snapshot",
]
