"""Admin API reads: resource listings (by type, prefix, tag, context, moderation, folder), lookups by id, tags.

Every listing pages by keyset (see `catalog.search.paging`), so a `next_cursor` stays valid
and exact while assets are added: no duplicates, no gaps, and page N costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.assets import Asset
from darkroom.catalog.errors import AssetNotFound
from darkroom.catalog.rows import assets_from_rows, cursor_after, keyset_page, name_cursor, name_from_cursor
from darkroom.catalog.moderation import moderated_by
from darkroom.catalog.schema import asset_tags, assets, derived
from darkroom.catalog.search.compiler import starts_with
from darkroom.catalog.search.paging import SortKey
from darkroom.errors import Invalid

__all__ = [
    "Listing",
    "Page",
    "Derived",
    "DEFAULT_MAX_RESULTS",
    "MAX_RESULTS",
    "list_resources",
    "resources_by_public_ids",
    "resources_by_asset_ids",
    "asset_details",
    "asset_by_asset_id",
    "list_tags",
    "max_results_from",
]

DEFAULT_MAX_RESULTS = 10
MAX_RESULTS = 500


@dataclass(frozen=True)
class Listing:
    """Which assets of a cloud an Admin listing wants; unset filters do not apply."""

    resource_type: str | None = "image"
    type: str | None = None
    prefix: str | None = None  # public_id starts with
    start_at: datetime | None = None  # created at or after
    tag: str | None = None
    context_key: str | None = None
    context_value: str | None = None
    moderation_status: str | None = None
    moderation_kind: str | None = None  # "manual", "aws_rek" … (catalog/moderation.py)
    asset_folder: str | None = None
    direction: str | None = None  # None: newest first; with a prefix, public_id A→Z
    max_results: int = DEFAULT_MAX_RESULTS
    next_cursor: str | None = None


@dataclass(frozen=True)
class Page:
    assets: list[Asset]
    next_cursor: str | None


@dataclass(frozen=True)
class Derived:
    id: int
    transformation: str
    format: str
    bytes: int
    width: int | None
    height: int | None


def max_results_from(value: Any, default: int = DEFAULT_MAX_RESULTS, maximum: int = MAX_RESULTS) -> int:
    """`max_results` as the SDK sends it (int or numeric string), checked against Cloudinary's bounds."""
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: JSON's Infinity
        raise Invalid(f"Invalid max_results - {str(value)[:32]}") from exc
    if not 1 <= number <= maximum:
        raise Invalid(f"max_results must be between 1 and {maximum}")
    return number


def _where(cloud: str, listing: Listing) -> sa.ColumnElement[bool]:
    clauses: list[sa.ColumnElement[bool]] = [assets.c.cloud == cloud]
    if listing.resource_type:
        clauses.append(assets.c.resource_type == listing.resource_type)
    if listing.type:
        clauses.append(assets.c.type == listing.type)
    if listing.prefix:
        clauses.append(starts_with(assets.c.public_id, listing.prefix))
    if listing.start_at:
        clauses.append(assets.c.created_at >= listing.start_at.astimezone(UTC))
    if listing.tag is not None:
        clauses.append(assets.c.id.in_(sa.select(asset_tags.c.asset_pk).where(asset_tags.c.tag == listing.tag)))
    if listing.context_key:
        value = assets.c.context[listing.context_key].as_string()
        clauses.append(value.is_not(None) if listing.context_value is None else value == listing.context_value)
    if listing.moderation_kind:
        clauses.append(moderated_by(listing.moderation_kind, listing.moderation_status))
    elif listing.moderation_status:
        clauses.append(assets.c.moderation_status == listing.moderation_status)
    if listing.asset_folder is not None:
        clauses.append(assets.c.asset_folder == listing.asset_folder)
    return sa.and_(*clauses)


def _keys(listing: Listing) -> list[SortKey]:
    """Newest first by default; a prefix listing goes by public_id A→Z (Cloudinary's orders)."""
    field = "public_id" if listing.prefix else "created_at"
    if listing.direction in (None, ""):
        return [SortKey(field, descending=field == "created_at")]
    direction = str(listing.direction).lower()
    if direction not in ("asc", "desc", "1", "-1"):
        raise Invalid(f"Invalid direction - {listing.direction}")
    return [SortKey(field, descending=direction in ("desc", "-1"))]


def list_resources(engine: Engine, cloud: str, listing: Listing) -> Page:
    keys = _keys(listing)
    where = _where(cloud, listing)
    with engine.connect() as conn:
        rows, more = keyset_page(conn, where, keys, listing.next_cursor, listing.max_results)
        return Page(assets_from_rows(conn, rows), cursor_after(keys, rows, more))


def resources_by_public_ids(engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str]) -> list[Asset]:
    """The named assets that exist, in the order asked."""
    _check_id_count(public_ids, "public_ids")
    return _by(engine, sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == type_,
                               assets.c.public_id.in_(list(public_ids))), "public_id", public_ids)


def resources_by_asset_ids(engine: Engine, cloud: str, asset_ids: Sequence[str]) -> list[Asset]:
    _check_id_count(asset_ids, "asset_ids")
    return _by(engine, sa.and_(assets.c.cloud == cloud, assets.c.asset_id.in_(list(asset_ids))), "asset_id", asset_ids)


def _check_id_count(ids: Sequence[str], name: str) -> None:
    if not ids:
        raise Invalid(f"Missing required parameter - {name}")
    if len(ids) > 100:
        raise Invalid(f"Too many {name} (maximum is 100)")


def _by(engine: Engine, where: sa.ColumnElement[bool], field: str, order: Sequence[str]) -> list[Asset]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(assets).where(where)).mappings().all()
        found = {getattr(a, field): a for a in assets_from_rows(conn, rows)}
    return [found[i] for i in dict.fromkeys(order) if i in found]


def asset_details(engine: Engine, cloud: str, resource_type: str, type_: str, public_id: str) -> tuple[Asset, list[Derived]]:
    """One asset and its derivatives, or AssetNotFound worded as Cloudinary words it."""
    where = sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == type_,
                    assets.c.public_id == public_id)
    return _details(engine, where, public_id)


def asset_by_asset_id(engine: Engine, cloud: str, asset_id: str) -> tuple[Asset, list[Derived]]:
    return _details(engine, sa.and_(assets.c.cloud == cloud, assets.c.asset_id == asset_id), asset_id)


def _details(engine: Engine, where: sa.ColumnElement[bool], shown: str) -> tuple[Asset, list[Derived]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(assets).where(where)).mappings().all()
        if not rows:
            raise AssetNotFound(f"Resource not found - {shown}")
        asset = assets_from_rows(conn, rows)[0]
        return asset, _derived(conn, asset)


def _derived(conn: Connection, asset: Asset) -> list[Derived]:
    statement = (
        sa.select(derived)
        .where(derived.c.asset_pk == asset.pk, derived.c.version == asset.version)
        .order_by(derived.c.created_at.desc(), derived.c.id.desc())
    )
    return [
        Derived(r["id"], r["transformation"], r["format"], r["bytes"], r["width"], r["height"])
        for r in conn.execute(statement).mappings()
    ]


def list_tags(engine: Engine, cloud: str, resource_type: str, prefix: str | None, max_results: int, next_cursor: str | None) -> tuple[list[str], str | None]:
    """Distinct tags in use, alphabetical; the cursor is the last tag shown."""
    # Tag rows carry their asset's cloud and resource_type: no join to assets.
    statement = sa.select(asset_tags.c.tag).where(asset_tags.c.cloud == cloud, asset_tags.c.resource_type == resource_type).distinct()
    if prefix:
        statement = statement.where(starts_with(asset_tags.c.tag, prefix))
    if next_cursor:
        statement = statement.where(asset_tags.c.tag > name_from_cursor(next_cursor))
    with engine.connect() as conn:
        tags = [t for (t,) in conn.execute(statement.order_by(asset_tags.c.tag).limit(max_results + 1))]
    more = len(tags) > max_results
    tags = tags[:max_results]
    return tags, (name_cursor(tags[-1]) if more else None)


