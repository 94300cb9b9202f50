"""`json_rows`: the rows of a subquery as one JSON array value, on either backend.

A screen that needs a few small lists next to its main rows (a school's holidays, a class's
timetable, a year's periods) selects each as a scalar subquery column of `json_rows(...)`
instead of running one statement per list: ``[[a, b, c], …]`` (``[]`` without rows).
Values arrive as JSON scalars: dates and times as ISO strings, booleans as true/false on
PostgreSQL and 1/0 on SQLite; the caller converts them back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction


class json_rows(GenericFunction[Any]):  # noqa: N801 - used like a SQL function
    """An aggregate: one JSON array holding, per row, the array of the given columns."""

    type = JSON()
    inherit_cache = True


@compiles(json_rows, "postgresql")
def _postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    columns = compiler.process(element.clauses, **kw)
    return f"coalesce(json_agg(json_build_array({columns})), '[]'::json)"


@compiles(json_rows)
def _default(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    columns = compiler.process(element.clauses, **kw)
    return f"json_group_array(json_array({columns}))"
