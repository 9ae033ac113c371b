"""The Admin API's `update`: an asset's descriptive fields, in one transaction.

Only fields the request names change. Tags replace the set; context replaces the context;
metadata is merged field by field (an empty value clears one), validated against the
cloud's metadata field definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.assets import Asset, insert_tags, validate_path
from darkroom.catalog.cloud_settings import fixed_folders
from darkroom.catalog.errors import AssetNotFound, duplicate_is_conflict
from darkroom.catalog.moderation import kinds_text, overall_status, with_moderation_status
from darkroom.catalog.metadata_fields import fields_by_id, validated_values
from darkroom.catalog.rows import assets_from_rows
from darkroom.catalog.schema import asset_tags, assets
from darkroom.errors import Invalid

__all__ = ["AssetChanges", "update_resource", "update_metadata", "MODERATION_STATUSES", "ACCESS_MODES"]

MODERATION_STATUSES = ("pending", "approved", "rejected")
ACCESS_MODES = ("public", "authenticated")


@dataclass(frozen=True)
class AssetChanges:
    """What an `update` asks for; None leaves a field as it is."""

    tags: Sequence[str] | None = None
    context: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None
    clear_invalid: bool = False
    display_name: str | None = None
    asset_folder: str | None = None
    moderation_status: str | None = None
    access_mode: str | None = None
    access_control: list[dict[str, str]] | None = None  # auth/access_control.py's rules; [] removes them


def _column_values(changes: AssetChanges) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if changes.context is not None:
        values["context"] = dict(changes.context)
    if changes.display_name is not None:
        values["display_name"] = changes.display_name
    if changes.asset_folder is not None:
        folder = changes.asset_folder.strip("/")
        values["asset_folder"] = validate_path(folder, "asset_folder") if folder else ""
    if changes.moderation_status is not None:
        if changes.moderation_status not in MODERATION_STATUSES:
            raise Invalid(f"Invalid moderation_status - {changes.moderation_status}")
        values["moderation_status"] = changes.moderation_status
    if changes.access_mode is not None:
        if changes.access_mode not in ACCESS_MODES:
            raise Invalid(f"Invalid access_mode - {changes.access_mode}")
        values["access_mode"] = changes.access_mode
    return values


def _moderation_values(annotations: dict[str, Any], status: str) -> dict[str, Any]:
    """`moderation_status=…`: the manual verdict, kept in step in the moderation list (catalog/moderation.py)."""
    merged = with_moderation_status(annotations, status)
    return {"annotations": merged, "moderation_kinds": kinds_text(merged["moderation"]),
            "moderation_status": overall_status(merged["moderation"])}


def update_resource(engine: Engine, cloud: str, resource_type: str, type_: str, public_id: str, changes: AssetChanges) -> Asset:
    identity = sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == type_,
                       assets.c.public_id == public_id)
    values = _column_values(changes)
    with duplicate_is_conflict(), engine.begin() as conn:
        row = conn.execute(sa.select(assets).where(identity)).mappings().first()
        if row is None:
            raise AssetNotFound(f"Resource not found - {public_id}")
        if "asset_folder" in values and values["asset_folder"] != row["asset_folder"] and fixed_folders(conn, cloud):
            raise Invalid("asset_folder cannot be changed in fixed folder mode: the public ID's path is the folder (rename the asset)")
        if changes.metadata is not None:
            values["metadata"] = validated_values(
                conn, cloud, dict(row["metadata"] or {}), changes.metadata, clear_invalid=changes.clear_invalid
            )
        annotations = dict(row["annotations"] or {})
        if changes.access_control is not None:
            annotations = {key: value for key, value in annotations.items() if key != "access_control"}
            if changes.access_control:
                annotations["access_control"] = list(changes.access_control)
            values["annotations"] = annotations
        if changes.moderation_status is not None:
            values.update(_moderation_values(annotations, changes.moderation_status))
        if values:
            conn.execute(sa.update(assets).where(assets.c.id == row["id"]).values(**values))
        if changes.tags is not None:
            conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == row["id"]))
            insert_tags(conn, row["id"], [tag.strip() for tag in changes.tags])
        fresh = conn.execute(sa.select(assets).where(assets.c.id == row["id"])).mappings().all()
        return assets_from_rows(conn, fresh)[0]


def update_metadata(
    engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str], metadata: dict[str, Any],
    *, clear_invalid: bool = False,
) -> list[str]:
    """`uploader.update_metadata`: `metadata` merged into each named asset, in one transaction.

    Returns the public IDs updated, in the order asked; unknown ones are skipped, as
    Cloudinary skips them. The field definitions and the assets are read once, not per ID.
    """
    where = sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == type_,
                    assets.c.public_id.in_(list(public_ids)))
    with engine.begin() as conn:
        columns = sa.select(assets.c.id, assets.c.public_id, assets.c.metadata).where(where)
        found = {row["public_id"]: row for row in conn.execute(columns).mappings()}
        fields = fields_by_id(conn, cloud)
        updated = []
        for public_id in public_ids:
            row = found.get(public_id)
            if row is None:
                continue
            merged = validated_values(conn, cloud, dict(row["metadata"] or {}), metadata, clear_invalid=clear_invalid, fields=fields)
            conn.execute(sa.update(assets).where(assets.c.id == row["id"]).values(metadata=merged))
            updated.append(public_id)
    return updated
