"""Write the demo school's workbook: `python -m bot.demo_workbook [OUT]`.

The workbook shipped as `services/demo/school.xlsx` (what `parta demo seed` imports) is
`services.demo.roster.demo_roster()` written by the school workbook writer, with its notes
and instructions in Russian and English. Run this after changing the demo's content, without
arguments to rewrite the shipped file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.i18n import create_i18n
from services.demo.roster import WORKBOOK, demo_roster
from services.roster.workbook import write_workbook


def write_demo_workbook(target: Path = WORKBOOK) -> Path:
    write_workbook(target, demo_roster(), create_i18n().gettext)
    return target


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = write_demo_workbook(Path(args[0]) if args else WORKBOOK)
    print(f"demo workbook written: {target}")


if __name__ == "__main__":
    main()
