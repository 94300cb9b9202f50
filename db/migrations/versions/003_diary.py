"""diary: grades_seen, when an account last opened a student's grades ("new" marks)

Revision ID: 003
Revises: 002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "003"
down_revision: str | None = "002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grades_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_grades_seen_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_grades_seen_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grades_seen")),
        sa.UniqueConstraint(
            "account_id", "student_id", name=op.f("uq_grades_seen_account_id_student_id")
        ),
    )
    with op.batch_alter_table("grades_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grades_seen_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grades_seen_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grades_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grades_seen_student_id"))
        batch_op.drop_index(batch_op.f("ix_grades_seen_account_id"))
    op.drop_table("grades_seen")
