"""`parta demo seed`: a realistic demo school with accounts for every role.

`content` is what the school is made of (names, subjects, timetable shapes, topics, grade
distributions, the demo family's story), `builder` writes it into the database in one
transaction, `accounts` reads the demo accounts back.
"""

from services.demo.accounts import DemoAccount, SeedResult, demo_accounts
from services.demo.builder import seed_demo
from services.demo.content import DEMO_CLASS, DEMO_SCHOOL_NAME, DEMO_TELEGRAM_IDS, DEMO_TIMEZONE

__all__ = [
    "DEMO_CLASS",
    "DEMO_SCHOOL_NAME",
    "DEMO_TELEGRAM_IDS",
    "DEMO_TIMEZONE",
    "DemoAccount",
    "SeedResult",
    "demo_accounts",
    "seed_demo",
]
