"""Snapshots of asset versions that backups keep: written when an asset is deleted (its
tombstone) or overwritten (an earlier version), read back by `catalog.backups`.

A snapshot is the asset's row as JSON (datetimes as ISO text) and its tags, in
`deleted_assets`; the blob it names is kept (`catalog.integrity` counts it as referenced).
Kept apart from `backups` so that `assets` (which snapshots on overwrite) need not import it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from darkroom.catalog.schema import asset_tags, assets, clouds, deleted_assets

__all__ = ["backed_up_pks", "backups_enabled", "keep_snapshots", "kept_by_snapshots", "unreferenced_keys"]


def backups_enabled(conn: Connection, cloud: str) -> bool:
    """Whether the cloud backs up every asset (its `{"backups": true}` setting)."""
    row = conn.execute(sa.select(clouds.c.settings).where(clouds.c.name == cloud)).first()
    return bool(row and (row[0] or {}).get("backups"))


def backed_up_pks(conn: Connection, cloud: str, pks: Sequence[int]) -> set[int]:
    """Those of `pks` whose versions are backed up: all of them in a cloud with backups,
    else the assets uploaded with `backup=true`."""
    if not pks:
        return set()
    if backups_enabled(conn, cloud):
        return set(pks)
    chosen = sa.select(assets.c.id).where(assets.c.id.in_(list(pks)), assets.c.backup.is_(True))
    return set(conn.execute(chosen).scalars())


def keep_snapshots(conn: Connection, pks: Sequence[int], now: datetime, kind: str = "deleted") -> None:
    """Record the assets `pks` (rows and tags) as they are now, before they are deleted (`deleted`)
    or replaced by a new version (`version`); the caller keeps their blobs. Three statements."""
    tags: dict[int, list[str]] = defaultdict(list)
    tag_rows = sa.select(asset_tags.c.asset_pk, asset_tags.c.tag).where(asset_tags.c.asset_pk.in_(pks))
    for pk, tag in conn.execute(tag_rows.order_by(asset_tags.c.asset_pk, asset_tags.c.tag)):
        tags[pk].append(tag)
    rows = conn.execute(sa.select(assets).where(assets.c.id.in_(pks)).order_by(assets.c.id)).mappings().all()
    if rows:
        conn.execute(sa.insert(deleted_assets), [_snapshot(row, tags[row["id"]], now, kind) for row in rows])


def _snapshot(row: Any, tags: list[str], now: datetime, kind: str) -> dict[str, Any]:
    snapshot = {name: (value.isoformat() if isinstance(value, datetime) else value) for name, value in row.items() if name != "id"}
    return {"cloud": row["cloud"], "resource_type": row["resource_type"], "type": row["type"], "public_id": row["public_id"],
            "asset_id": row["asset_id"], "row": snapshot, "tags": tags, "kind": kind, "deleted_at": now}


def kept_by_snapshots(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Those of `keys` a snapshot names (a restored version shares its blob with its backup)."""
    if not keys:
        return set()
    kept_key = deleted_assets.c.row["storage_key"].as_string()
    return set(conn.execute(sa.select(kept_key).where(kept_key.in_(list(keys)))).scalars())


def unreferenced_keys(conn: Connection, keys: Sequence[str]) -> list[str]:
    """Those of `keys` no live asset and no snapshot names any more: the blobs safe to delete."""
    if not keys:
        return []
    live = set(conn.execute(sa.select(assets.c.storage_key).where(assets.c.storage_key.in_(list(keys)))).scalars())
    kept = kept_by_snapshots(conn, keys)
    return [key for key in keys if key not in live and key not in kept]
