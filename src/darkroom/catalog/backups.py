"""Backups of deleted assets, and `restore`.

Off by default, as on Cloudinary's free plans. With a cloud's `{"backups": true}` setting, a
delete of an original writes a tombstone (the asset's row and tags) in the same transaction
and keeps the original blob; `restore` puts the newest tombstone of each public ID back as a
new version of the same asset (same asset_id, a higher version, its tags and context). Without
backups, or without a tombstone, restore answers "Backup not found" per ID as Cloudinary does.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.assets import insert_tags
from darkroom.catalog.cloud_settings import set_cloud_setting
from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import asset_tags, assets, clouds, deleted_assets
from darkroom.errors import Invalid

__all__ = ["BackedUpVersion", "Restored", "backed_up_version", "backups_enabled", "set_backups", "keep_tombstones",
           "restore_assets", "MAX_RESTORE"]

MAX_RESTORE = 100  # ids per call
_DATETIMES = ("created_at", "uploaded_at")


@dataclass(frozen=True)
class Restored:
    """Per requested id: the public_id now live again, or the error message to report."""

    assets: dict[str, tuple[str, str, str]]  # id → (resource_type, type, public_id)
    errors: dict[str, str]


def backups_enabled(conn: Connection, cloud: str) -> bool:
    row = conn.execute(sa.select(clouds.c.settings).where(clouds.c.name == cloud)).first()
    return bool(row and (row[0] or {}).get("backups"))


def set_backups(engine: Engine, cloud: str, enabled: bool) -> None:
    """Turn backups on or off for a cloud (kept in clouds.settings beside other settings)."""
    set_cloud_setting(engine, cloud, "backups", enabled)


def keep_tombstones(conn: Connection, pks: Sequence[int], now: datetime) -> None:
    """Record the assets `pks` (rows and tags) before they are deleted, as `restore_assets` reads
    them back; the caller keeps their blobs. Three statements for the whole batch."""
    tags: dict[int, list[str]] = defaultdict(list)
    tag_rows = sa.select(asset_tags.c.asset_pk, asset_tags.c.tag).where(asset_tags.c.asset_pk.in_(pks))
    for pk, tag in conn.execute(tag_rows.order_by(asset_tags.c.asset_pk, asset_tags.c.tag)):
        tags[pk].append(tag)
    rows = conn.execute(sa.select(assets).where(assets.c.id.in_(pks)).order_by(assets.c.id)).mappings().all()
    if rows:
        conn.execute(sa.insert(deleted_assets), [_tombstone(row, tags[row["id"]], now) for row in rows])


def _tombstone(row: Any, tags: list[str], now: datetime) -> dict[str, Any]:
    snapshot = {name: (value.isoformat() if isinstance(value, datetime) else value) for name, value in row.items() if name != "id"}
    return {"cloud": row["cloud"], "resource_type": row["resource_type"], "type": row["type"], "public_id": row["public_id"],
            "asset_id": row["asset_id"], "row": snapshot, "tags": tags, "deleted_at": now}


def restore_assets(engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str],
                   asset_ids: Sequence[str], now: datetime) -> Restored:
    """Bring back the newest tombstone of each id, in one transaction."""
    ids = list(public_ids) or list(asset_ids)
    if not ids:
        raise Invalid("Missing required parameter - public_ids")
    if len(ids) > MAX_RESTORE:
        raise Invalid(f"Too many public_ids (maximum is {MAX_RESTORE})")
    restored, errors = {}, {}
    with duplicate_is_conflict(), engine.begin() as conn:
        enabled = backups_enabled(conn, cloud)
        for shown in ids:
            tombstone = _newest_tombstone(conn, cloud, resource_type, type_, shown, by_asset_id=not public_ids) if enabled else None
            if tombstone is None:
                errors[shown] = "Backup not found"
            elif _live(conn, tombstone):
                errors[shown] = f"Resource already exists - {tombstone['public_id']}"
            else:
                restored[shown] = _bring_back(conn, tombstone, now)
    return Restored(restored, errors)


def _newest_tombstone(conn: Connection, cloud: str, resource_type: str, type_: str, shown: str, *, by_asset_id: bool) -> Any:
    where = [deleted_assets.c.cloud == cloud]
    if by_asset_id:
        where.append(deleted_assets.c.asset_id == shown)
    else:
        where += [deleted_assets.c.resource_type == resource_type, deleted_assets.c.type == type_, deleted_assets.c.public_id == shown]
    return conn.execute(sa.select(deleted_assets).where(*where).order_by(deleted_assets.c.id.desc()).limit(1)).mappings().first()


def _live(conn: Connection, tombstone: Any) -> bool:
    identity = sa.and_(assets.c.cloud == tombstone["cloud"], assets.c.resource_type == tombstone["resource_type"],
                       assets.c.type == tombstone["type"], assets.c.public_id == tombstone["public_id"])
    clash = sa.or_(identity, assets.c.asset_id == tombstone["asset_id"])
    return conn.execute(sa.select(assets.c.id).where(clash).limit(1)).first() is not None


def _bring_back(conn: Connection, tombstone: Any, now: datetime) -> tuple[str, str, str]:
    """Insert the row again as a new version, restore its tags, drop the tombstone; returns its identity."""
    row = dict(tombstone["row"])
    for name in _DATETIMES:
        row[name] = datetime.fromisoformat(row[name])
    row.update(version=max(int(now.timestamp()), int(row["version"]) + 1), version_id=secrets.token_hex(16), uploaded_at=now)
    known = {column.name for column in assets.columns if column.name != "id"}
    inserted = conn.execute(sa.insert(assets).values({k: v for k, v in row.items() if k in known})).inserted_primary_key
    assert inserted is not None  # a single-row insert always reports its key
    pk = inserted[0]
    insert_tags(conn, pk, tombstone["tags"] or [])
    conn.execute(sa.delete(deleted_assets).where(deleted_assets.c.id == tombstone["id"]))
    return str(row["resource_type"]), str(row["type"]), str(row["public_id"])


@dataclass(frozen=True)
class BackedUpVersion:
    """What `download_backup` streams: one kept version of an asset, live or deleted."""

    public_id: str
    resource_type: str
    format: str
    mime_type: str
    bytes: int
    storage_key: str


def backed_up_version(engine: Engine, cloud: str, asset_id: str, version_id: str) -> BackedUpVersion | None:
    """The version `version_id` of asset `asset_id` while the cloud keeps backups: the live
    asset's current version, or a deleted one's tombstone (its blob is kept); else None."""
    with engine.connect() as conn:
        if not backups_enabled(conn, cloud):
            return None
        live = conn.execute(sa.select(assets).where(assets.c.cloud == cloud, assets.c.asset_id == asset_id,
                                                    assets.c.version_id == version_id)).mappings().first()
        if live is not None:
            return _version(live)
        tombstones = sa.select(deleted_assets.c.row).where(deleted_assets.c.cloud == cloud, deleted_assets.c.asset_id == asset_id)
        for (row,) in conn.execute(tombstones.order_by(deleted_assets.c.id.desc())):
            if row.get("version_id") == version_id:
                return _version(row)
    return None


def _version(row: Any) -> BackedUpVersion:
    return BackedUpVersion(public_id=row["public_id"], resource_type=row["resource_type"], format=row["format"] or "",
                           mime_type=row["mime_type"] or "application/octet-stream", bytes=int(row["bytes"]),
                           storage_key=row["storage_key"])
