"""`parta demo seed`: a realistic demo school with accounts for every role.

`content` is what the school is made of (names, subjects, timetable shapes, topics, grade
distributions, the demo family's story), `roster` makes its roster (the workbook `school.xlsx`
shipped next to it), `builder` imports that roster through `services.roster` and adds the
accounts and the journal on top in one transaction, `accounts` reads the demo accounts back.
"""

from services.demo.accounts import DemoAccount, SeedResult, demo_accounts
from services.demo.builder import OtherSchool, seed_demo
from services.demo.content import DEMO_CLASS, DEMO_SCHOOL_NAME, DEMO_TELEGRAM_IDS, DEMO_TIMEZONE
from services.demo.roster import WorkbookError

__all__ = [
    "DEMO_CLASS",
    "DEMO_SCHOOL_NAME",
    "DEMO_TELEGRAM_IDS",
    "DEMO_TIMEZONE",
    "DemoAccount",
    "OtherSchool",
    "SeedResult",
    "WorkbookError",
    "demo_accounts",
    "seed_demo",
]
