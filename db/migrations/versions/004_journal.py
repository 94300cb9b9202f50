"""journal: audit entries carry their lesson and student (audit screens per lesson/student)

Revision ID: 004
Revises: 003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "004"
down_revision: str | None = "003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lesson_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("student_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_lesson_id"), ["lesson_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_student_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_lesson_id"))
        batch_op.drop_column("student_id")
        batch_op.drop_column("lesson_id")
