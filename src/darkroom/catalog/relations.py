"""Related assets, publishing, access mode and the features `visual_search` ranks by: the
Admin API's asset-to-asset and bulk-state calls (reference cloudinary-api-breadth §7).

- A relation links two assets both ways (each lists the other), is dropped with either
  asset (foreign keys), and is named by `resource_type/type/public_id` or by asset_id.
- Publishing turns `private`/`authenticated` assets into public `upload` ones (and
  `access_mode` authenticated into public); `update_access_mode` sets `access_mode`.
- Visual features are stored per asset when it was uploaded with `visual_search=true`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.assets import Asset
from darkroom.catalog.errors import AssetNotFound
from darkroom.catalog.rows import assets_from_rows
from darkroom.catalog.schema import asset_tags, assets, related_assets
from darkroom.catalog.search.compiler import starts_with
from darkroom.errors import Invalid

__all__ = ["MAX_RELATED", "Outcome", "RelationResult", "related_of", "relate", "publish", "update_access_mode",
           "set_visual_features", "visual_candidates", "ACCESS_MODES"]

MAX_RELATED = 10  # assets per call, as Cloudinary allows
MAX_BULK = 1000  # assets one publish or access-mode call changes
MAX_CANDIDATES = 10_000  # indexed assets one visual search compares
ACCESS_MODES = ("public", "authenticated")


@dataclass
class RelationResult:
    """Per asset named: `success` or `failed` as Cloudinary lists them."""

    success: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def _by_name(cloud: str, name: str) -> sa.ColumnElement[bool]:
    """`image/upload/a/b` (a fully qualified public ID) or, without two slashes, an asset_id."""
    parts = name.split("/", 2)
    if len(parts) == 3:
        return sa.and_(assets.c.cloud == cloud, assets.c.resource_type == parts[0], assets.c.type == parts[1],
                       assets.c.public_id == parts[2])
    return sa.and_(assets.c.cloud == cloud, assets.c.asset_id == name)


def _pk(conn: Connection, where: sa.ColumnElement[bool], shown: str) -> int:
    pk = conn.execute(sa.select(assets.c.id).where(where)).scalar()
    if pk is None:
        raise AssetNotFound(f"Resource not found - {shown}")
    return int(pk)


def relate(engine: Engine, cloud: str, source: str, targets: Sequence[str], *, add: bool) -> RelationResult:
    """Relate (or, `add=False`, unrelate) the asset `source` (a fully qualified public ID or an
    asset_id) with each of `targets`; unknown targets are listed as failed."""
    if not targets:
        raise Invalid(f"Missing required parameter - {'assets_to_relate' if add else 'assets_to_unrelate'}")
    if len(targets) > MAX_RELATED:
        raise Invalid(f"Too many assets (maximum is {MAX_RELATED})")
    result = RelationResult()
    with engine.begin() as conn:
        own = _pk(conn, _by_name(cloud, source), source)
        for name in targets:
            other = conn.execute(sa.select(assets.c.id).where(_by_name(cloud, name))).scalar()
            if other is None or other == own:
                result.failed.append({"message": "Asset not found" if other is None else "An asset cannot be related to itself",
                                      "code": "invalid_asset", "asset": name, "status": 404 if other is None else 400})
                continue
            _link(conn, own, int(other), add=add)
            result.success.append({"message": "success", "code": "success_ids", "asset": name, "status": 200})
    return result


def _link(conn: Connection, first: int, second: int, *, add: bool) -> None:
    for a, b in ((first, second), (second, first)):
        pair = sa.and_(related_assets.c.asset_pk == a, related_assets.c.related_pk == b)
        exists = conn.execute(sa.select(related_assets.c.asset_pk).where(pair)).first() is not None
        if add and not exists:
            conn.execute(sa.insert(related_assets).values(asset_pk=a, related_pk=b, created_at=datetime.now(UTC)))
        elif not add and exists:
            conn.execute(sa.delete(related_assets).where(pair))


def related_of(engine: Engine, cloud: str, asset: Asset) -> list[Asset]:
    """The assets related to `asset`, in the order they were related."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(assets).join(related_assets, related_assets.c.related_pk == assets.c.id)
            .where(related_assets.c.asset_pk == asset.pk, assets.c.cloud == cloud)
            .order_by(related_assets.c.created_at, assets.c.id)).mappings().all()
        return assets_from_rows(conn, rows)


# -- publish and access mode --------------------------------------------------------------------


@dataclass
class Outcome:
    """Assets changed, and (public_id, message) of those that could not be."""

    changed: list[Asset] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _chosen(cloud: str, resource_type: str, type_: str | None, public_ids: Sequence[str], prefix: str | None,
            tag: str | None) -> sa.ColumnElement[bool]:
    where = [assets.c.cloud == cloud, assets.c.resource_type == resource_type]
    if type_:
        where.append(assets.c.type == type_)
    if public_ids:
        where.append(assets.c.public_id.in_(list(public_ids)))
    elif prefix:
        where.append(starts_with(assets.c.public_id, prefix))
    elif tag:
        where.append(assets.c.id.in_(sa.select(asset_tags.c.asset_pk).where(asset_tags.c.tag == tag)))
    else:
        raise Invalid("Missing required parameter - public_ids, prefix or tag")
    return sa.and_(*where)


def publish(engine: Engine, cloud: str, resource_type: str, type_: str | None, public_ids: Sequence[str],
            prefix: str | None, tag: str | None, *, overwrite: bool) -> Outcome:
    """Make the chosen assets public: `private`/`authenticated` ones become `upload` (refused when
    an `upload` asset has that public ID, unless `overwrite`), and `access_mode` becomes public."""
    outcome = Outcome()
    with engine.begin() as conn:
        rows = conn.execute(sa.select(assets.c.id, assets.c.public_id, assets.c.type)
                            .where(_chosen(cloud, resource_type, type_, public_ids, prefix, tag)).limit(MAX_BULK)).all()
        found = {public_id for _, public_id, _ in rows}
        outcome.failed += [(public_id, "Resource not found") for public_id in public_ids if public_id not in found]
        done: list[int] = []
        for pk, public_id, current_type in rows:
            if current_type != "upload":
                clash = sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == "upload",
                                assets.c.public_id == public_id)
                taken = conn.execute(sa.select(assets.c.id).where(clash)).scalar()
                if taken is not None and not overwrite:
                    outcome.failed.append((public_id, f"Resource already exists - {public_id}"))
                    continue
                if taken is not None:
                    conn.execute(sa.delete(assets).where(assets.c.id == taken))
            conn.execute(sa.update(assets).where(assets.c.id == pk).values(type="upload", access_mode="public"))
            done.append(pk)
        outcome.changed = _assets(conn, done)
    return outcome


def update_access_mode(engine: Engine, cloud: str, resource_type: str, type_: str, access_mode: str, public_ids: Sequence[str],
                       prefix: str | None, tag: str | None) -> Outcome:
    """Set `access_mode` (`public` or `authenticated`) on the chosen assets."""
    if access_mode not in ACCESS_MODES:
        raise Invalid(f"Invalid access_mode - {access_mode}")
    outcome = Outcome()
    with engine.begin() as conn:
        rows = conn.execute(sa.select(assets.c.id, assets.c.public_id)
                            .where(_chosen(cloud, resource_type, type_, public_ids, prefix, tag)).limit(MAX_BULK)).all()
        found = {public_id for _, public_id in rows}
        outcome.failed += [(public_id, "Resource not found") for public_id in public_ids if public_id not in found]
        pks = [pk for pk, _ in rows]
        if pks:
            conn.execute(sa.update(assets).where(assets.c.id.in_(pks)).values(access_mode=access_mode))
        outcome.changed = _assets(conn, pks)
    return outcome


def _assets(conn: Connection, pks: list[int]) -> list[Asset]:
    if not pks:
        return []
    return assets_from_rows(conn, conn.execute(sa.select(assets).where(assets.c.id.in_(pks)).order_by(assets.c.public_id)).mappings().all())


# -- visual search ------------------------------------------------------------------------------


def set_visual_features(engine: Engine, pk: int, features: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(assets).where(assets.c.id == pk).values(visual_features=features))


def visual_candidates(engine: Engine, cloud: str) -> list[tuple[Asset, dict[str, Any]]]:
    """The cloud's indexed images (uploaded with `visual_search=true`) and their features."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(assets).where(assets.c.cloud == cloud, assets.c.visual_features.is_not(None))
                            .order_by(assets.c.id).limit(MAX_CANDIDATES)).mappings().all()
        found = assets_from_rows(conn, rows)
    return [(asset, dict(row["visual_features"])) for asset, row in zip(found, rows) if row["visual_features"]]
