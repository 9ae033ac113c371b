"""Moderation and the add-ons' findings as the catalog keeps them.

An asset's `annotations` column (JSON) holds what the add-ons found or the API was told:
`faces` and `custom` coordinates, `ocr` text boxes, the `moderation` list
(`[{kind, status, response?, updated_at}]`, in the order the kinds run) and the `info`
blocks replies repeat. `moderation_status` is the overall status (`overall_status`) and
`moderation_kinds` each kind with its own status, `|aws_rek:approved|manual:pending|`, so
`resources_by_moderation(kind, status)` filters on plain columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.assets import Asset, insert_tags
from darkroom.catalog.errors import AssetNotFound
from darkroom.catalog.rows import assets_from_rows
from darkroom.catalog.schema import asset_tags, assets, derived

__all__ = ["HIDE_REJECTED", "kinds_text", "moderated_by", "overall_status", "record_findings", "with_moderation_status"]


# The cloud setting (clouds.settings) that makes rejected assets undeliverable until approved.
HIDE_REJECTED = "moderation_hides_rejected"


def kinds_text(entries: Sequence[Mapping[str, Any]]) -> str | None:
    kinds = [f"{entry['kind']}:{entry.get('status')}" for entry in entries]
    return f"|{'|'.join(kinds)}|" if kinds else None


def overall_status(entries: Sequence[Mapping[str, Any]]) -> str | None:
    """The chain's status: pending while a kind waits, else the last decision (a human's
    manual verdict, last in the chain, overrides a machine's)."""
    statuses = [str(entry.get("status")) for entry in entries]
    if not statuses:
        return None
    if "pending" in statuses or "queued" in statuses:
        return "pending"
    decided = [status for status in statuses if status in ("approved", "rejected")]
    return decided[-1] if decided else "rejected"


def moderated_by(kind: str, status: str | None) -> sa.ColumnElement[bool]:
    """Assets whose `kind` moderation has `status` (any status when None); for `manual`, also
    those whose status was set before kinds were kept."""
    by_kind = (
        assets.c.moderation_kinds.contains(f"|{kind}:{status}|", autoescape=True) if status
        else assets.c.moderation_kinds.contains(f"|{kind}:", autoescape=True)
    )
    if kind != "manual":
        return by_kind
    legacy = assets.c.moderation_status == status if status else assets.c.moderation_status.is_not(None)
    return sa.or_(by_kind, sa.and_(assets.c.moderation_kinds.is_(None), legacy))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_moderation_status(annotations: Mapping[str, Any], status: str) -> dict[str, Any]:
    """`update(moderation_status=…)`: the manual kind gets `status` (a human override of the
    last kind when there is no manual one; a manual entry when there was no moderation)."""
    entries = [dict(entry) for entry in annotations.get("moderation") or []]
    chosen = next((entry for entry in entries if entry["kind"] == "manual"), entries[-1] if entries else None)
    if chosen is None:
        chosen = {"kind": "manual"}
        entries.append(chosen)
    chosen["status"] = status
    if chosen["kind"] != "manual":  # a human's override of a machine verdict says when; manual entries are {kind, status}
        chosen["updated_at"] = _now()
    return {**annotations, "moderation": entries}


# Annotations that change how renders look: when they change, the asset's derivatives go.
AREAS = ("faces", "custom", "ocr")


def record_findings(
    engine: Engine, pk: int, changes: Mapping[str, Any], add_tags: Sequence[str] = ()
) -> tuple[Asset, list[str]]:
    """Merge `changes` into asset `pk`'s annotations (a None value removes a key), keep the
    moderation columns in step, add `add_tags`; one transaction. When stored areas (faces,
    custom coordinates, OCR text) change, the derivatives rendered with the old ones are
    removed: returns the asset and their blobs' storage keys, for the caller to delete."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(assets).where(assets.c.id == pk)).mappings().first()
        if row is None:
            raise AssetNotFound("Resource not found")
        annotations = {**dict(row["annotations"] or {}), **changes}
        annotations = {key: value for key, value in annotations.items() if value is not None}
        values: dict[str, Any] = {"annotations": annotations or None}
        if "moderation" in changes:
            entries = annotations.get("moderation") or []
            values["moderation_status"] = overall_status(entries)
            values["moderation_kinds"] = kinds_text(entries)
        conn.execute(sa.update(assets).where(assets.c.id == pk).values(**values))
        stale: list[str] = []
        if any(key in changes for key in AREAS):
            stale = list(conn.execute(sa.select(derived.c.storage_key).where(derived.c.asset_pk == pk)).scalars())
            conn.execute(sa.delete(derived).where(derived.c.asset_pk == pk))
        if add_tags:
            present = set(conn.execute(sa.select(asset_tags.c.tag).where(asset_tags.c.asset_pk == pk)).scalars())
            insert_tags(conn, pk, [tag for tag in add_tags if tag not in present])
        fresh = conn.execute(sa.select(assets).where(assets.c.id == pk)).mappings().all()
        return assets_from_rows(conn, fresh)[0], stale
