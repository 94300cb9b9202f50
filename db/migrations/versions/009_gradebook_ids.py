"""gradebook: source ids on lessons and grades

A OneRoster gradebook (lineItems and results) imported into the journal keeps its ids: a
grade keeps its result's ``sourcedId`` and a lesson made for a line item keeps the line
item's lesson key, so importing the same file again changes nothing and an export names
them as the file did. Lessons generated from the timetable and grades given in the bot have
none. Both columns are indexed (not unique: ids are unique within one file).

Downgrading drops both columns.

Written 2026-11-30.
"""

import sqlalchemy as sa
from alembic import op

revision = "009"
down_revision = "008"

TABLES = ("lessons", "grades")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("source_id", sa.String(length=64), nullable=True))
            batch_op.create_index(f"ix_{table}_source_id", ["source_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_source_id")
            batch_op.drop_column("source_id")
