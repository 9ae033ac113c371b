"""The `derived` table: one record per stored derivative of one asset version.

A derivative's identity within a version is (canonical transformation, variant), where the
variant says what else decides its bytes (the URL's extension, Accept class, client hints);
`media.derivatives` works both out and keeps the bytes in the blob store.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.assets import Asset
from darkroom.catalog.db import upsert_insert
from darkroom.catalog.schema import assets, derived

__all__ = ["DerivedIdentity", "find_derived", "record_derived"]

DerivedIdentity = tuple[str, str]  # (canonical transformation, variant): the derivative within one version


# What a derivative's record holds beside its identity (asset, version, transformation, variant).
_RECORD_FIELDS = ("format", "storage_key", "bytes", "width", "height", "created_at")


@functools.cache
def _find_statement() -> sa.Select[Any]:
    """Built once: constructing a statement costs more than running it on SQLite."""
    return sa.select(derived.c.storage_key, derived.c.format, derived.c.width, derived.c.height).where(
        derived.c.asset_pk == sa.bindparam("asset_pk"),
        derived.c.version == sa.bindparam("version"),
        derived.c.transformation == sa.bindparam("transformation"),
        derived.c.variant == sa.bindparam("variant"),
    )


def find_derived(engine: Engine, asset_pk: int, version: int, variant: DerivedIdentity) -> tuple[str, str, int | None, int | None] | None:
    """(storage_key, format, width, height) of the stored derivative, if there is one."""
    transformation, rest = variant
    identity = {"asset_pk": asset_pk, "version": version, "transformation": transformation, "variant": rest}
    with engine.connect() as conn:
        row = conn.execute(_find_statement(), identity).first()
    return None if row is None else (row.storage_key, row.format, row.width, row.height)


@functools.cache
def _record_statement(dialect: str) -> sa.Insert:
    """One upsert that takes the asset's id and version from the asset's row, so a destroyed
    or overwritten asset gives it no row to insert (version_id, random per saved version, also
    tells a re-upload that reused the pk and version number). Built once per dialect.

    On PostgreSQL the asset's row is read FOR SHARE: an overwrite or destroy holds it locked
    (`catalog.assets`), so this waits for it and then finds the new version_id, or no row,
    instead of recording a derivative for a version the overwrite has just swept away. The
    other order works too: the overwrite then waits for this insert and sweeps its row."""
    fields = ("transformation", "variant", *_RECORD_FIELDS)
    current = (
        sa.select(assets.c.id, assets.c.version, *(sa.bindparam(f"new_{name}", type_=derived.c[name].type) for name in fields))
        .where(assets.c.id == sa.bindparam("asset_pk"), assets.c.version_id == sa.bindparam("version_id"))
        .with_for_update(read=True)
    )
    insert = upsert_insert(dialect)(derived).from_select(["asset_pk", "version", *fields], current)
    return insert.on_conflict_do_update(
        index_elements=[derived.c.asset_pk, derived.c.version, derived.c.transformation, derived.c.variant],
        set_={name: insert.excluded[name] for name in _RECORD_FIELDS},
    ).returning(derived.c.id)


def record_derived(
    engine: Engine, asset: Asset, variant: DerivedIdentity, storage_key: str, size: int, fmt: str, width: int | None, height: int | None
) -> bool:
    """Insert the record, or replace one an earlier render (here or in another process) left,
    in one statement that records nothing unless the asset still exists at this version.

    False when nothing was recorded: the asset was destroyed or overwritten since the render.
    """
    transformation, rest = variant
    values = {
        "asset_pk": asset.pk,
        "version_id": asset.version_id,
        "new_transformation": transformation,
        "new_variant": rest,
        "new_format": fmt,
        "new_storage_key": storage_key,
        "new_bytes": size,
        "new_width": width,
        "new_height": height,
        "new_created_at": datetime.now(UTC),
    }
    try:
        with engine.begin() as conn:
            return conn.execute(_record_statement(engine.dialect.name), values).first() is not None
    except sa.exc.IntegrityError:
        # PostgreSQL: a destroy committed while this insert waited on the asset row's lock.
        return False
