"""A school's roster in and out: the workbook, OneRoster 1.2 CSV, a dry run and a diff.

Map (each module's docstring says more):
- `model`: `SchoolData`, the format-neutral picture of a school's setup that every reader
  produces and every writer consumes; `Problem`, one located validation finding.
- readers and writers of each format turn files into `SchoolData` (with problems) and back;
  they never touch the database.
- the planner compares `SchoolData` with the database by source id and yields a diff; the
  applier writes it in one transaction, only when nothing is wrong.
"""
