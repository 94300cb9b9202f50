"""notifications: schema additions of the notifications area (reserved; filled in by that area's work)

Written 2026-11-28.
"""

revision = "005"
down_revision = "004"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
