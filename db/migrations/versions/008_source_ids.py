"""roster: source ids, the school's phone region, left dates and the bell schedule

A school's roster arrives from files (the school workbook, OneRoster CSV) whose rows carry
ids of their own. Each imported table keeps that id in ``source_id`` so importing the same
file again changes nothing and an edited file yields a diff. Grading scales need none: their
``code`` is their id. Rows written before this revision (the demo school) have no source id;
the importer names them ``#<id>`` (services.roster.snapshot).

Staff and guardians get ``left_on``: the day the school's file stopped listing them (history
kept, links ended). Schools get ``phone_region``, the ISO 3166 region phones without a
country code are read in ("RU" for the rows already there). ``bells`` holds the lesson times
(one schedule per school); timetable slots keep their own copy of the times, filled from it.

Downgrading drops all of it.

Written 2026-11-30.
"""

import sqlalchemy as sa
from alembic import op

from db.ddl import cascade_key, create_indexes, drop_indexes, id_column, primary_key, unique

revision = "008"
down_revision = "007"

#: table → the column a source id is unique within (None: no unique constraint)
SOURCE_IDS: dict[str, str | None] = {
    "academic_years": "school_id",
    "periods": "year_id",
    "holidays": "school_id",
    "subjects": "school_id",
    "staff": "school_id",
    "classes": "year_id",
    "students": "school_id",
    "guardians": "school_id",
    "teaching_assignments": None,  # unique within the file; no school column to scope it
    "timetable_slots": None,  # an ended slot and its successor may share an id
}
LEFT_ON = ("staff", "guardians")


def upgrade() -> None:
    for table, scope in SOURCE_IDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("source_id", sa.String(length=64), nullable=True))
            if table in LEFT_ON:
                batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
            if scope is not None:
                batch_op.create_unique_constraint(
                    f"uq_{table}_{scope}_source_id", [scope, "source_id"]
                )
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone_region", sa.String(length=2), nullable=False, server_default="RU")
        )
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.alter_column("phone_region", server_default=None)
    op.create_table(
        "bells",
        id_column(),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("lesson_number", sa.SmallInteger(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.CheckConstraint("lesson_number BETWEEN 0 AND 12", name=op.f("ck_bells_lesson_number")),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_bells_times")),
        cascade_key("bells", "school_id", "schools"),
        primary_key("bells"),
        unique("bells", "school_id", "lesson_number"),
    )
    create_indexes("bells", "school_id")


def downgrade() -> None:
    drop_indexes("bells", "school_id")
    op.drop_table("bells")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("phone_region")
    for table, scope in reversed(SOURCE_IDS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if scope is not None:
                batch_op.drop_constraint(f"uq_{table}_{scope}_source_id", type_="unique")
            if table in LEFT_ON:
                batch_op.drop_column("left_on")
            batch_op.drop_column("source_id")
