"""Many asset rows to `Asset` values with two queries, not one per row.

Listings and searches return up to 500 assets a page; their tags are fetched with a single
`IN (…)` query instead of one query per asset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from darkroom.catalog.assets import Asset
from darkroom.catalog.schema import asset_tags, assets
from darkroom.catalog.search.paging import (
    SortKey,
    after,
    cursor_values,
    decode_cursor,
    encode_cursor,
    order_by,
)
from darkroom.errors import Invalid

__all__ = ["AssetRecord", "assets_from_rows", "cursor_after", "keyset_page", "name_cursor", "name_from_cursor", "tags_of"]


@dataclass(frozen=True)
class AssetRecord(Asset):
    """An `Asset` plus the columns only the Admin and Search APIs show."""

    moderation_status: str | None = None  # pending | approved | rejected, None when never moderated
    status: str = "active"


_COLUMN_FIELDS = tuple(f.name for f in fields(AssetRecord) if f.name not in ("pk", "tags"))


def tags_of(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(pks), 500):
        chunk = list(pks[start : start + 500])
        statement = sa.select(asset_tags.c.asset_pk, asset_tags.c.tag).where(asset_tags.c.asset_pk.in_(chunk))
        for pk, tag in conn.execute(statement.order_by(asset_tags.c.asset_pk, asset_tags.c.tag)):
            found[pk].append(tag)
    return {pk: tuple(tags) for pk, tags in found.items()}


def assets_from_rows(conn: Connection, rows: Sequence[Any]) -> list[Asset]:
    """`Asset` values (`AssetRecord`s) for `assets` table rows (mappings), tags included, order kept."""
    tags = tags_of(conn, [row["id"] for row in rows])
    return [_asset(row, tags.get(row["id"], ())) for row in rows]


def keyset_page(
    conn: Connection, where: sa.ColumnElement[bool], keys: list[SortKey], cursor: str | None, limit: int
) -> tuple[Sequence[RowMapping], bool]:
    """Up to `limit` asset rows matching `where` after `cursor`, in `keys` order, and whether more follow."""
    if cursor:
        values, last_id = decode_cursor(cursor, keys)
        where = sa.and_(where, after(keys, values, last_id))
    rows = conn.execute(sa.select(assets).where(where).order_by(*order_by(keys)).limit(limit + 1)).mappings().all()
    return rows[:limit], len(rows) > limit


def cursor_after(keys: list[SortKey], rows: Sequence[Any], more: bool, total: int | None = None) -> str | None:
    """The `next_cursor` for a page from `keyset_page`: None on the last page."""
    return encode_cursor(keys, cursor_values(keys, rows[-1]), rows[-1]["id"], total) if more and rows else None


def name_cursor(name: str) -> str:
    """The `next_cursor` of a listing ordered by one unique name (tags, folders, presets,
    upload mappings): the page's last name, hex-encoded."""
    return name.encode().hex()


def name_from_cursor(cursor: str) -> str:
    """The last name shown, from a `name_cursor`; a cursor that is not one is a 400."""
    try:
        return bytes.fromhex(cursor).decode()
    except ValueError as exc:
        raise Invalid("Invalid next_cursor") from exc


def _asset(row: Any, tags: tuple[str, ...]) -> AssetRecord:
    values = {name: row[name] for name in _COLUMN_FIELDS}
    values["placeholder"] = bool(values["placeholder"])
    values["context"] = dict(values["context"] or {})
    values["metadata"] = dict(values["metadata"] or {})
    values["video_metadata"] = dict(values["video_metadata"] or {})
    values["annotations"] = dict(values["annotations"] or {})
    for name in ("created_at", "uploaded_at"):
        moment: datetime = values[name]
        values[name] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return AssetRecord(pk=row["id"], tags=tags, **values)
