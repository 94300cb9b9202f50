"""`parta demo seed`: a realistic demo school with accounts for every role."""

from services.demo.builder import (
    DEMO_CLASS,
    DEMO_SCHOOL_NAME,
    DEMO_TELEGRAM_IDS,
    DEMO_TIMEZONE,
    DemoAccount,
    SeedResult,
    demo_accounts,
    seed_demo,
)

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
