"""diary: grades_seen, when an account last opened a student's grades ("new" marks)

Written 2026-11-28.
"""

import sqlalchemy as sa
from alembic import op

from db.ddl import cascade_key, create_indexes, drop_indexes, id_column, primary_key, unique

revision = "003"
down_revision = "002"


def upgrade() -> None:
    op.create_table(
        "grades_seen",
        id_column(),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        cascade_key("grades_seen", "account_id", "accounts"),
        cascade_key("grades_seen", "student_id", "students"),
        primary_key("grades_seen"),
        unique("grades_seen", "account_id", "student_id"),
    )
    create_indexes("grades_seen", "account_id", "student_id")


def downgrade() -> None:
    drop_indexes("grades_seen", "account_id", "student_id")
    op.drop_table("grades_seen")
