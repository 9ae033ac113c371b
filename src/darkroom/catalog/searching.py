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
from darkroom.catalog.schema import asset_tags, assets, metadata_fields
from darkroom.catalog.search import SearchError, compile_where, parse
from darkroom.catalog.search.nodes import Match
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
    already holds every match, carried in the cursor to later pages, and taken from a value
    aggregation's groups when one is asked for (one scan instead of two).
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
            total = _count(conn, cloud, query.expression, where)
        cursor = cursor_after(keys, rows, more, total)
        found = assets_from_rows(conn, rows)
    return SearchResult(total, found, cursor, aggregations)


def _count(conn: Connection, cloud: str, expression: str, where: sa.ColumnElement[bool]) -> int:
    """The exact number of matches.

    One shortcut, exact under its condition: `tags=x` alone, in a database where this cloud
    owns every asset, is the number of `asset_tags` rows for x (each (asset, tag) pair is unique
    and every row belongs to a live asset, by foreign key) — a range count of the tag index,
    instead of checking the cloud of every tagged asset (90k probes for a popular tag at 1M).
    """
    tag = _single_exact_tag(expression)
    if tag is not None and _sole_cloud(conn, cloud):
        statement = sa.select(sa.func.count()).select_from(asset_tags).where(asset_tags.c.tag == tag)
        return int(conn.execute(statement).scalar_one())
    return int(conn.execute(sa.select(sa.func.count()).select_from(assets).where(where)).scalar_one())


def _single_exact_tag(expression: str) -> str | None:
    if "tags" not in expression:
        return None
    tree = parse(expression)
    if isinstance(tree, Match) and tree.field == "tags" and tree.op == "=" and not tree.value.wildcard:
        return tree.value.text
    return None


def _sole_cloud(conn: Connection, cloud: str) -> bool:
    """No asset belongs to another cloud: two probes of an index that leads with `cloud`."""
    before = sa.select(assets.c.id).where(assets.c.cloud < cloud).limit(1)
    after_ = sa.select(assets.c.id).where(assets.c.cloud > cloud).limit(1)
    return conn.execute(before).first() is None and conn.execute(after_).first() is None


def _aggregations(
    conn: Connection, where: sa.ColumnElement[bool], requested: Sequence[str | dict[str, Any]]
) -> tuple[dict[str, dict[str, int]], int | None]:
    """The requested aggregations, and the number of matches if a value aggregation gave it.

    Every value-aggregatable column is NOT NULL, so its groups (the empty value included, though
    not shown) partition the matches and their sum is the exact total_count.
    """
    out: dict[str, dict[str, int]] = {}
    total: int | None = None
    for item in requested:
        if isinstance(item, str) and item in AGGREGATABLE:
            column = assets.c[item]
            groups = conn.execute(sa.select(column, sa.func.count()).where(where).group_by(column)).all()
            total = sum(int(count) for _, count in groups)
            out[item] = {str(value): int(count) for value, count in groups if value not in (None, "")}
        elif isinstance(item, dict) and item.get("type") in RANGE_AGGREGATABLE:
            out[item["type"]] = _range_counts(conn, where, item["type"], item.get("ranges") or [])
        else:
            raise SearchError(f"Invalid aggregate: {item}")
    return out, total


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
