"""Move a compiled WHERE clause from `assets` onto a table that holds copies of the columns it reads.

The catalog keeps a few columns of `assets` elsewhere so that large counts need not touch
`assets`: per-group counters (`asset_counts`) and each tag row's copy of its asset's filter
columns (`asset_tags`). A clause that reads only copied columns selects, on the copy, exactly
the rows that stand for the assets it selects on `assets`: same values, same types, same SQL.
A clause that reads anything else (another column, a tag or context subquery, a JSON
function over a column) cannot be moved, and the caller counts on `assets` as usual.

    rebase(assets.c.format == "png", asset_counts, COUNTED_COLUMNS)  # asset_counts.format = :p
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Exists, FromClause, ScalarSelect, SelectBase

from darkroom.catalog.schema import assets

__all__ = ["rebase"]

_SUBQUERIES = (SelectBase, ScalarSelect, Exists)


def rebase(clause: ColumnElement[bool], table: sa.Table, columns: Collection[str]) -> ColumnElement[bool] | None:
    """`clause` over `table`'s same-named columns, or None if it reads anything but `columns` of assets."""
    if not _reads_only(clause, columns):
        return None

    def onto_table(element: object, **_: Any) -> ColumnElement[Any] | None:
        if isinstance(element, sa.Column) and element.table is assets:
            return table.c[element.name]
        return None

    return visitors.replacement_traverse(clause, {}, onto_table)


def _reads_only(clause: ColumnElement[bool], columns: Collection[str]) -> bool:
    for element in visitors.iterate(clause):
        if isinstance(element, _SUBQUERIES) or (isinstance(element, FromClause) and not isinstance(element, FunctionElement)):
            return False  # a subquery (tags, context entries) reads tables of its own
        if isinstance(element, ColumnClause) and not (
            isinstance(element, sa.Column) and element.table is assets and element.name in columns
        ):
            return False
    return True
