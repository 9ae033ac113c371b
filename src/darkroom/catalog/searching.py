"""Running Search API queries: the compiled expression, sort, keyset page, total and aggregations.

The language itself (parse, compile, paging clauses) is pure and lives in `catalog.search`;
this module is where those clauses meet a database connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.assets import Asset
from darkroom.catalog.rows import assets_from_rows, cursor_after, keyset_page
from darkroom.catalog.schema import COUNTED_COLUMNS, TAG_COPIED_COLUMNS, asset_counts, asset_tags, assets, metadata_fields
from darkroom.catalog.search import And, Match, Node, SearchError, compile_where, parse
from darkroom.catalog.search.rebase import rebase
from darkroom.catalog.search.paging import cursor_total, sort_keys

__all__ = ["SearchQuery", "SearchResult", "run_search", "AGGREGATABLE", "where_for"]

DEFAULT_MAX_RESULTS = 50
MAX_RESULTS = 500

# Aggregations by value, and the numeric fields that take {"type": f, "ranges": [...]}.
AGGREGATABLE = ("format", "resource_type", "type", "access_mode", "status", "asset_folder", "folder")
RANGE_AGGREGATABLE = ("bytes", "pixels", "duration", "width", "height", "aspect_ratio")


@dataclass(frozen=True)
class SearchQuery:
    """A Search API request, already split out of its JSON body."""

    expression: str = ""
    sort_by: tuple[tuple[str, str], ...] = ()
    max_results: int = DEFAULT_MAX_RESULTS
    next_cursor: str | None = None
    aggregate: tuple[str | dict[str, Any], ...] = ()


@dataclass
class SearchResult:
    total_count: int
    assets: list[Asset]
    next_cursor: str | None
    aggregations: dict[str, dict[str, int]] = field(default_factory=dict)


def where_for(conn: Connection, cloud: str, expression: str, now: datetime) -> sa.ColumnElement[bool]:
    """The cloud filter and, if any, the compiled expression (metadata typed by the cloud's field definitions)."""
    where = assets.c.cloud == cloud
    if expression.strip():
        types = _metadata_types(conn, cloud) if "metadata." in expression else {}
        where = sa.and_(where, compile_where(parse(expression), now=now, dialect=conn.dialect.name, metadata_types=types))
    return where


def _metadata_types(conn: Connection, cloud: str) -> dict[str, str]:
    rows = conn.execute(sa.select(metadata_fields.c.external_id, metadata_fields.c.type).where(metadata_fields.c.cloud == cloud))
    return {external_id: kind for external_id, kind in rows}


def run_search(engine: Engine, cloud: str, query: SearchQuery, now: datetime) -> SearchResult:
    """One page of matches, newest first unless sorted otherwise, with the exact total_count.

    The count is the expensive part on large libraries, so it is skipped when the first page
    already holds every match, carried in the cursor to later pages, taken from a value
    aggregation's groups when one is asked for (one scan instead of two), and otherwise read
    from the smallest table that can tell it exactly (`_count`).
    """
    if not 0 < query.max_results <= MAX_RESULTS:
        raise SearchError(f"max_results must be between 1 and {MAX_RESULTS}")
    keys = sort_keys(list(query.sort_by))
    with engine.connect() as conn:
        where = where_for(conn, cloud, query.expression, now)
        rows, more = keyset_page(conn, where, keys, query.next_cursor, query.max_results)
        total = cursor_total(query.next_cursor) if query.next_cursor else None
        aggregations, grouped_total = _aggregations(conn, where, query.aggregate)
        if total is None:
            total = len(rows) if not more and not query.next_cursor else grouped_total
        if total is None:
            total = _count(conn, cloud, query.expression, where, now)
        cursor = cursor_after(keys, rows, more, total)
        found = assets_from_rows(conn, rows)
    return SearchResult(total, found, cursor, aggregations)


def _count(conn: Connection, cloud: str, expression: str, where: sa.ColumnElement[bool], now: datetime) -> int:
    """The exact number of matches, from the smallest table that can tell it.

    - `asset_counts`, when the filters name only its columns (or nothing): a sum over groups;
    - `asset_tags`, when an exact tag is ANDed with filters on the columns each tag row copies
      from its asset: one row per (asset, tag), so counting the tag's rows counts the assets;
    - otherwise `assets` itself.
    """
    on_counters = rebase(where, asset_counts, COUNTED_COLUMNS)
    if on_counters is not None:
        statement = sa.select(sa.func.coalesce(sa.func.sum(asset_counts.c.assets), 0)).where(on_counters)
        return int(conn.execute(statement).scalar_one())
    on_tags = _tag_rows_where(cloud, expression, now, conn.dialect.name)
    if on_tags is not None:
        return int(conn.execute(sa.select(sa.func.count()).select_from(asset_tags).where(on_tags)).scalar_one())
    return int(conn.execute(sa.select(sa.func.count()).select_from(assets).where(where)).scalar_one())


def _tag_rows_where(cloud: str, expression: str, now: datetime, dialect: str) -> sa.ColumnElement[bool] | None:
    """`tags=x AND …` as a filter on x's rows of `asset_tags`, or None if the other filters need `assets`."""
    if "tags" not in expression:
        return None
    tree = parse(expression)
    children = list(tree.children) if isinstance(tree, And) else [tree]
    tag = next((child for child in children if _is_exact_tag(child)), None)
    if not isinstance(tag, Match):
        return None
    rest = [child for child in children if child is not tag]
    others = compile_where(And(tuple(rest)), now=now, dialect=dialect) if rest else sa.true()
    on_tags = rebase(sa.and_(assets.c.cloud == cloud, others), asset_tags, TAG_COPIED_COLUMNS)
    return None if on_tags is None else sa.and_(asset_tags.c.tag == tag.value.text, on_tags)


def _is_exact_tag(node: Node) -> bool:
    return isinstance(node, Match) and node.field == "tags" and node.op == "=" and not node.value.wildcard


def _aggregations(
    conn: Connection, where: sa.ColumnElement[bool], requested: Sequence[str | dict[str, Any]]
) -> tuple[dict[str, dict[str, int]], int | None]:
    """The requested aggregations, and the number of matches if a value aggregation gave it.

    Every value-aggregatable column is NOT NULL, so its groups (the empty value included, though
    not shown) partition the matches and their sum is the exact total_count.
    """
    out: dict[str, dict[str, int]] = {}
    total: int | None = None
    on_counters = rebase(where, asset_counts, COUNTED_COLUMNS) if requested else None
    for item in requested:
        if isinstance(item, str) and item in AGGREGATABLE:
            groups = _value_groups(conn, where, on_counters, item)
            total = sum(int(count) for _, count in groups)
            out[item] = {str(value): int(count) for value, count in groups if value not in (None, "")}
        elif isinstance(item, dict) and item.get("type") in RANGE_AGGREGATABLE:
            out[item["type"]] = _range_counts(conn, where, item["type"], item.get("ranges") or [])
        else:
            raise SearchError(f"Invalid aggregate: {item}")
    return out, total


def _value_groups(
    conn: Connection, where: sa.ColumnElement[bool], on_counters: sa.ColumnElement[bool] | None, name: str
) -> Sequence[sa.Row[Any, Any]]:
    """(value, number of matches) per value of `name`: summed from asset_counts when it can tell."""
    if on_counters is not None and name in COUNTED_COLUMNS:
        column = asset_counts.c[name]
        return conn.execute(sa.select(column, sa.func.sum(asset_counts.c.assets)).where(on_counters).group_by(column)).all()
    column = assets.c[name]
    return conn.execute(sa.select(column, sa.func.count()).where(where).group_by(column)).all()


def _range_counts(conn: Connection, where: sa.ColumnElement[bool], name: str, ranges: list[dict[str, Any]]) -> dict[str, int]:
    """Every named bucket counted in one scan: `from` inclusive, `to` exclusive, either optional."""
    column = assets.c[name]
    sums: list[sa.ColumnElement[Any]] = []
    keys: list[str] = []
    for bucket in ranges:
        conditions: list[sa.ColumnElement[bool]] = [column.is_not(None)]
        if bucket.get("from") is not None:
            conditions.append(column >= float(bucket["from"]))
        if bucket.get("to") is not None:
            conditions.append(column < float(bucket["to"]))
        keys.append(str(bucket.get("key") or f"{bucket.get('from', '*')}-{bucket.get('to', '*')}"))
        sums.append(sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0))
    if not sums:
        return {}
    counts = conn.execute(sa.select(*sums).select_from(assets).where(where)).one()
    return {key: int(count) for key, count in zip(keys, counts)}
