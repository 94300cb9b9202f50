"""calendar: private calendar subscriptions

One row per account that made a calendar subscription URL in /settings: the secret token in
the URL (shown again in /settings, so kept as is, like a bearer link). Revoking deletes the
row; the account's deletion takes it along.

Downgrading drops the table.

Written 2026-11-30.
"""

import sqlalchemy as sa
from alembic import op

from db.ddl import cascade_key, id_column, primary_key, unique

revision = "010"
down_revision = "009"


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        id_column(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        cascade_key("calendar_feeds", "account_id", "accounts"),
        primary_key("calendar_feeds"),
        unique("calendar_feeds", "account_id"),
        unique("calendar_feeds", "token"),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
