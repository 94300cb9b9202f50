"""Table shapes the migrations share (db/migrations/versions), named as our naming convention
(`db.base`) names them, so a migration that uses them creates what autogenerate would write.

Migrations are history: what these return must never change (a new shape is a new function),
or an old revision would build another schema than the one it built before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def id_column() -> sa.Column[int]:
    """The integer primary-key column `id` of every table (its constraint: `primary_key`)."""
    return sa.Column("id", sa.Integer(), nullable=False)


def primary_key(table: str) -> sa.PrimaryKeyConstraint:
    """`table`'s primary key on `id`, named pk_<table>."""
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def cascade_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table.column` → `target.id`, deleted with its target; named fk_<table>_<column>_<target>."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def unique(table: str, *columns: str) -> sa.UniqueConstraint:
    """A unique constraint on `columns`, named uq_<table>_<columns joined by _>."""
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def create_indexes(table: str, *columns: str) -> None:
    """An index of each of `columns` (every foreign key of `db.models` has one), named
    ix_<table>_<column>."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_indexes(table: str, *columns: str) -> None:
    """Undo `create_indexes(table, *columns)` (last index first)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in reversed(columns):
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
