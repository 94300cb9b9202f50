"""Many linked parents at once: the crowd of a burst (tests/test_burst.py, bench/throughput.py)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.enums import LinkMethod
from db.models import Account, Enrollment, Guardianship

#: Telegram ids of the crowd: far from the demo accounts' and the factories'
FIRST_CROWD_ID = 880_000_001


async def link_crowd(
    session_factory: async_sessionmaker[AsyncSession],
    count: int,
    *,
    first_id: int = FIRST_CROWD_ID,
    locale: str | None = None,
    language_code: str | None = "en",
) -> list[int]:
    """`count` parent accounts, each confirmed for one enrolled student (round robin over the
    students); returns their Telegram ids. `language_code` is what their Telegram says (the
    bot records it when it changes)."""
    now = utcnow()
    async with session_factory() as session:
        students = list(
            await session.scalars(
                select(Enrollment.student_id).distinct().order_by(Enrollment.student_id)
            )
        )
        if not students:
            raise ValueError("no enrolled students to link the crowd to")
        ids = [first_id + i for i in range(count)]
        accounts = list(
            await session.scalars(
                insert(Account).returning(Account.id, sort_by_parameter_order=True),
                [
                    {
                        "telegram_id": telegram_id,
                        "full_name": f"Parent {telegram_id}",
                        "locale": locale,
                        "language_code": language_code,
                        "is_active": True,
                        "created_at": now,
                    }
                    for telegram_id in ids
                ],
            )
        )
        await session.execute(
            insert(Guardianship),
            [
                {
                    "student_id": students[i % len(students)],
                    "account_id": account_id,
                    "method": LinkMethod.DEMO,
                    "confirmed_at": now,
                }
                for i, account_id in enumerate(accounts)
            ],
        )
        await session.commit()
    return ids
