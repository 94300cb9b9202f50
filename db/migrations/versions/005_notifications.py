"""notifications: schema additions of the notifications area (reserved; filled in by that area's work)

Revision ID: 005
Revises: 004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

revision: str = "005"
down_revision: str | None = "004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
