"""What the integrity sweep (`media.integrity`) asks the catalog: which blobs rows point at.

Every question is asked for a bounded batch of keys or a page of rows, so a catalog of
millions of assets is never read into memory at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import asset_tags, assets, deleted_assets, derived, upload_chunks

__all__ = ["StoredRow", "abandon_idle_uploads", "referenced_storage_keys", "remove_version", "stored_rows_page", "uploads_in_progress"]


def referenced_storage_keys(engine: Engine, keys: Sequence[str]) -> set[str]:
    """The keys among `keys` that a row references: an asset's original, a derivative, or the
    original a backup (a tombstone in `deleted_assets`) keeps for `restore`."""
    if not keys:
        return set()
    wanted = list(keys)
    tombstone_key = deleted_assets.c.row["storage_key"].as_string()
    statement = sa.union(
        sa.select(assets.c.storage_key.label("key")).where(assets.c.storage_key.in_(wanted)),
        sa.select(derived.c.storage_key.label("key")).where(derived.c.storage_key.in_(wanted)),
        sa.select(tombstone_key.label("key")).where(tombstone_key.in_(wanted)),
    )
    with engine.connect() as conn:
        return {key for (key,) in conn.execute(statement)}


def uploads_in_progress(engine: Engine, uploads: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (cloud, upload_id) pairs among `uploads` whose chunked upload has chunks recorded
    and not yet claimed: still in progress, so their chunk blobs are kept."""
    if not uploads:
        return set()
    pairs = sa.tuple_(upload_chunks.c.cloud, upload_chunks.c.upload_id)
    statement = sa.select(upload_chunks.c.cloud, upload_chunks.c.upload_id).where(pairs.in_(list(uploads))).distinct()
    with engine.connect() as conn:
        return {(cloud, upload_id) for cloud, upload_id in conn.execute(statement)}


def abandon_idle_uploads(engine: Engine, idle_since: datetime, *, dry_run: bool = False) -> list[tuple[str, str]]:
    """Chunked uploads whose last chunk arrived before `idle_since`: the client gave up. Their
    rows are deleted (unless `dry_run`), so their chunk blobs become orphans; returns them."""
    last_chunk = sa.func.max(upload_chunks.c.created_at)
    idle = sa.select(upload_chunks.c.cloud, upload_chunks.c.upload_id).group_by(upload_chunks.c.cloud, upload_chunks.c.upload_id).having(last_chunk < idle_since)
    with engine.begin() as conn:
        uploads = [(cloud, upload_id) for cloud, upload_id in conn.execute(idle)]
        if uploads and not dry_run:
            pairs = sa.tuple_(upload_chunks.c.cloud, upload_chunks.c.upload_id)
            conn.execute(sa.delete(upload_chunks).where(pairs.in_(uploads)))
    return uploads


@dataclass(frozen=True)
class StoredRow:
    """A row that points at a blob: an asset's original or one of its derivatives."""

    id: int  # the row's id in its table, for paging
    kind: str  # "original" | "derived"
    cloud: str
    resource_type: str
    type: str
    public_id: str
    storage_key: str


def stored_rows_page(engine: Engine, kind: str, after_id: int, limit: int) -> list[StoredRow]:
    """The next `limit` rows of `kind` ("original": assets, "derived": derivatives) with an id
    above `after_id`, in id order (keyset paging: each page is one index range scan)."""
    columns = (assets.c.cloud, assets.c.resource_type, assets.c.type, assets.c.public_id)
    if kind == "original":
        statement = sa.select(assets.c.id, *columns, assets.c.storage_key).where(assets.c.id > after_id).order_by(assets.c.id)
    elif kind == "derived":
        statement = (
            sa.select(derived.c.id, *columns, derived.c.storage_key)
            .join(assets, assets.c.id == derived.c.asset_pk)
            .where(derived.c.id > after_id)
            .order_by(derived.c.id)
        )
    else:
        raise ValueError(f"unknown kind {kind!r}")
    with engine.connect() as conn:
        return [StoredRow(row[0], kind, *row[1:]) for row in conn.execute(statement.limit(limit))]


def remove_version(engine: Engine, asset_pk: int, version_id: str) -> list[str]:
    """Delete the asset row if it still holds version `version_id` (a later upload to the same
    public ID is left alone), with its tags and derivatives; returns the blob keys it owned."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(assets.c.storage_key).where(assets.c.id == asset_pk, assets.c.version_id == version_id).with_for_update()
        ).first()
        if row is None:
            return []
        keys = [row.storage_key, *conn.execute(sa.select(derived.c.storage_key).where(derived.c.asset_pk == asset_pk)).scalars()]
        conn.execute(sa.delete(derived).where(derived.c.asset_pk == asset_pk))
        conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == asset_pk))
        conn.execute(sa.delete(assets).where(assets.c.id == asset_pk))
    return keys
