"""Backups: kept versions of assets, the placeholder of a deleted one, and `restore`.

An asset is backed up when its cloud's `{"backups": true}` setting is on (off by default, as on
Cloudinary's free plans) or when it was uploaded with `backup=true`. Then every version that
stops being current is kept as a snapshot (`catalog.tombstones`): an overwrite keeps the
replaced version (kind `version`), a delete keeps the last one (kind `deleted`, its tombstone),
and their blobs stay. From these:

- `asset_versions` lists the versions (`resource(versions=true)`), newest first;
- `placeholder` is what `resource()` answers for a deleted asset that has a tombstone: the
  asset with `placeholder: true` and `bytes: 0`, as Cloudinary answers;
- `restore_assets` brings back the tombstone (or a chosen `version_id`) as a new version of the
  same asset (same asset_id, a higher version); a live asset can be rolled back to a kept version;
- `delete_versions` removes chosen kept versions (`delete_backed_up_assets`);
- `backed_up_version` is what `download_backup` streams.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.assets import Asset, insert_tags
from darkroom.catalog.cloud_settings import set_cloud_setting
from darkroom.catalog.errors import AssetNotFound, duplicate_is_conflict
from darkroom.catalog.rows import AssetRecord
from darkroom.catalog.schema import asset_tags, assets, deleted_assets, derived
from darkroom.catalog.tombstones import backed_up_pks, backups_enabled, keep_snapshots, unreferenced_keys
from darkroom.errors import Invalid

__all__ = ["BackedUpVersion", "DeletedVersions", "Restored", "asset_versions", "backed_up_version", "backups_enabled",
           "delete_versions", "placeholder", "restore_assets", "set_backups", "MAX_RESTORE"]

MAX_RESTORE = 100  # ids per call
_DATETIMES = ("created_at", "uploaded_at")


@dataclass(frozen=True)
class Restored:
    """Per requested id: the public_id now live again, or the error message to report."""

    assets: dict[str, tuple[str, str, str]]  # id → (resource_type, type, public_id)
    errors: dict[str, str]
    storage_keys: list[str] = field(default_factory=list)  # derivative blobs of versions rolled back, to delete


def set_backups(engine: Engine, cloud: str, enabled: bool) -> None:
    """Turn backups on or off for a cloud (kept in clouds.settings beside other settings)."""
    set_cloud_setting(engine, cloud, "backups", enabled)


# -- restore --------------------------------------------------------------------------------


def restore_assets(engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str],
                   asset_ids: Sequence[str], now: datetime, versions: Sequence[str] = ()) -> Restored:
    """Bring back each id in one transaction: its tombstone, or the kept version `versions[i]`
    (a `version_id`; Cloudinary pairs the lists by position)."""
    ids = list(public_ids) or list(asset_ids)
    if not ids:
        raise Invalid("Missing required parameter - public_ids")
    if len(ids) > MAX_RESTORE:
        raise Invalid(f"Too many public_ids (maximum is {MAX_RESTORE})")
    outcome = Restored({}, {})
    with duplicate_is_conflict(), engine.begin() as conn:
        for index, shown in enumerate(ids):
            wanted = versions[index] if index < len(versions) and versions[index] else None
            _restore_one(conn, outcome, cloud, resource_type, type_, shown, by_asset_id=not public_ids, version_id=wanted, now=now)
    return outcome


def _restore_one(conn: Connection, outcome: Restored, cloud: str, resource_type: str, type_: str, shown: str, *,
                 by_asset_id: bool, version_id: str | None, now: datetime) -> None:
    kept = _snapshots(conn, cloud, resource_type, type_, shown, by_asset_id=by_asset_id)
    if version_id is None:
        chosen = next((row for row in kept if row["kind"] == "deleted"), None)
    else:
        chosen = next((row for row in kept if row["row"].get("version_id") == version_id), None)
    if chosen is None:
        outcome.errors[shown] = "Backup not found"
        return
    live = _live(conn, chosen)
    if live is not None and version_id is None:
        outcome.errors[shown] = f"Resource already exists - {chosen['public_id']}"
        return
    if live is not None:
        if live["asset_id"] != chosen["asset_id"]:
            outcome.errors[shown] = f"Resource already exists - {chosen['public_id']}"
            return
        outcome.storage_keys.extend(_set_aside(conn, live["id"], now))
    # The tombstone stays, as a kept version: restoring is no reason to lose a backup.
    conn.execute(sa.update(deleted_assets).where(deleted_assets.c.asset_id == chosen["asset_id"],
                                                 deleted_assets.c.kind == "deleted").values(kind="version"))
    outcome.assets[shown] = _bring_back(conn, chosen, now)


def _snapshots(conn: Connection, cloud: str, resource_type: str, type_: str, shown: str, *, by_asset_id: bool) -> list[Any]:
    """Every kept snapshot of the id, newest first."""
    where = [deleted_assets.c.cloud == cloud]
    if by_asset_id:
        where.append(deleted_assets.c.asset_id == shown)
    else:
        where += [deleted_assets.c.resource_type == resource_type, deleted_assets.c.type == type_, deleted_assets.c.public_id == shown]
    return list(conn.execute(sa.select(deleted_assets).where(*where).order_by(deleted_assets.c.id.desc())).mappings())


def _live(conn: Connection, snapshot: Any) -> Any:
    """The live asset in the snapshot's place (same identity or same asset_id), if any."""
    identity = sa.and_(assets.c.cloud == snapshot["cloud"], assets.c.resource_type == snapshot["resource_type"],
                       assets.c.type == snapshot["type"], assets.c.public_id == snapshot["public_id"])
    clash = sa.or_(identity, assets.c.asset_id == snapshot["asset_id"])
    return conn.execute(sa.select(assets.c.id, assets.c.asset_id).where(clash).limit(1)).mappings().first()


def _set_aside(conn: Connection, pk: int, now: datetime) -> list[str]:
    """Make room for a restored version: keep the current one as a version (an asset with kept
    versions is a backed-up one) and remove its row; returns its derivative blobs."""
    keep_snapshots(conn, [pk], now, kind="version")
    keys = list(conn.execute(sa.delete(derived).where(derived.c.asset_pk == pk).returning(derived.c.storage_key)).scalars())
    conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == pk))
    conn.execute(sa.delete(assets).where(assets.c.id == pk))
    return keys


def _bring_back(conn: Connection, snapshot: Any, now: datetime) -> tuple[str, str, str]:
    """Insert the snapshot's row again as a new version and restore its tags; returns its identity."""
    row = dict(snapshot["row"])
    for name in _DATETIMES:
        row[name] = datetime.fromisoformat(row[name])
    newest_version = max([int(row["version"]), *_kept_versions(conn, snapshot["asset_id"])])
    row.update(version=max(int(now.timestamp()), newest_version + 1), version_id=secrets.token_hex(16), uploaded_at=now)
    known = {column.name for column in assets.columns if column.name != "id"}
    inserted = conn.execute(sa.insert(assets).values({k: v for k, v in row.items() if k in known})).inserted_primary_key
    assert inserted is not None  # a single-row insert always reports its key
    insert_tags(conn, inserted[0], snapshot["tags"] or [])
    return str(row["resource_type"]), str(row["type"]), str(row["public_id"])


def _kept_versions(conn: Connection, asset_id: str) -> list[int]:
    rows = conn.execute(sa.select(deleted_assets.c.row).where(deleted_assets.c.asset_id == asset_id))
    return [int(row["version"]) for (row,) in rows]


# -- versions, placeholders, deleting kept versions -------------------------------------------


def asset_versions(engine: Engine, cloud: str, asset: Asset) -> list[dict[str, Any]]:
    """`versions` of `resource(versions=true)`: the kept versions and, when the asset is backed
    up, its current one; newest first, each once."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(deleted_assets.c.row).where(deleted_assets.c.cloud == cloud,
                                                                  deleted_assets.c.asset_id == asset.asset_id)).scalars().all()
        current = asset.pk and backed_up_pks(conn, cloud, [asset.pk])
    listed: dict[str, dict[str, Any]] = {}
    if current:
        listed[asset.version_id] = _version_json(asset.version_id, asset.version, asset.format, asset.bytes, asset.uploaded_at.isoformat())
    for row in rows:
        listed.setdefault(row["version_id"], _version_json(row["version_id"], int(row["version"]), row["format"] or "",
                                                           int(row["bytes"]), str(row["uploaded_at"])))
    return sorted(listed.values(), key=lambda v: v["version"], reverse=True)


def _version_json(version_id: str, version: int, fmt: str, size: int, uploaded_at: str) -> dict[str, Any]:
    moment = datetime.fromisoformat(uploaded_at)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return {"version_id": version_id, "version": version, "format": fmt, "size": size,
            "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"), "restorable": True}


def placeholder(engine: Engine, cloud: str, resource_type: str, type_: str, public_id: str) -> Asset:
    """The deleted asset `public_id` as `resource()` answers while a backup of it is kept:
    `placeholder: true`, `bytes: 0`; AssetNotFound (Cloudinary's wording) without one."""
    with engine.connect() as conn:
        tombstone = conn.execute(
            sa.select(deleted_assets).where(deleted_assets.c.cloud == cloud, deleted_assets.c.resource_type == resource_type,
                                            deleted_assets.c.type == type_, deleted_assets.c.public_id == public_id,
                                            deleted_assets.c.kind == "deleted")
            .order_by(deleted_assets.c.id.desc()).limit(1)).mappings().first()
    if tombstone is None:
        raise AssetNotFound(f"Resource not found - {public_id}")
    row = tombstone["row"]
    names = {f for f in AssetRecord.__dataclass_fields__ if f not in ("pk", "tags")}
    values = {name: row.get(name) for name in names}
    for name in _DATETIMES:
        moment = datetime.fromisoformat(row[name])
        values[name] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    values.update(placeholder=True, bytes=0, context=dict(row.get("context") or {}), metadata=dict(row.get("metadata") or {}),
                  video_metadata=dict(row.get("video_metadata") or {}), annotations=dict(row.get("annotations") or {}),
                  status=row.get("status") or "active")
    return AssetRecord(pk=0, tags=tuple(tombstone["tags"] or ()), **values)


@dataclass(frozen=True)
class DeletedVersions:
    version_ids: list[str]  # the kept versions removed
    storage_keys: list[str]  # their blobs that nothing names any more


def delete_versions(engine: Engine, cloud: str, asset_id: str, version_ids: Sequence[str]) -> DeletedVersions:
    """`delete_backed_up_assets`: drop the kept versions `version_ids` of an asset (the current
    version is not a kept one and stays)."""
    if not version_ids:
        raise Invalid("Missing required parameter - version_ids")
    with engine.begin() as conn:
        rows = conn.execute(sa.select(deleted_assets.c.id, deleted_assets.c.row).where(
            deleted_assets.c.cloud == cloud, deleted_assets.c.asset_id == asset_id)).all()
        chosen = [(pk, row) for pk, row in rows if row.get("version_id") in set(version_ids)]
        if not rows:
            raise AssetNotFound(f"Resource not found - {asset_id}")
        if chosen:
            conn.execute(sa.delete(deleted_assets).where(deleted_assets.c.id.in_([pk for pk, _ in chosen])))
        keys = unreferenced_keys(conn, sorted({row["storage_key"] for _, row in chosen}))
    return DeletedVersions(sorted({row["version_id"] for _, row in chosen}), keys)


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
    """The version `version_id` of asset `asset_id`: the live asset's current version while it is
    backed up, or a kept snapshot (its blob is kept); else None."""
    with engine.connect() as conn:
        live = conn.execute(sa.select(assets).where(assets.c.cloud == cloud, assets.c.asset_id == asset_id,
                                                    assets.c.version_id == version_id)).mappings().first()
        if live is not None:
            return _version(live) if backed_up_pks(conn, cloud, [live["id"]]) else None
        kept = sa.select(deleted_assets.c.row).where(deleted_assets.c.cloud == cloud, deleted_assets.c.asset_id == asset_id)
        for (row,) in conn.execute(kept.order_by(deleted_assets.c.id.desc())):
            if row.get("version_id") == version_id:
                return _version(row)
    return None


def _version(row: Any) -> BackedUpVersion:
    return BackedUpVersion(public_id=row["public_id"], resource_type=row["resource_type"], format=row["format"] or "",
                           mime_type=row["mime_type"] or "application/octet-stream", bytes=int(row["bytes"]),
                           storage_key=row["storage_key"])
