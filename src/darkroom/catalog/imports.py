"""`darkroom import`'s checkpoint: how far each listing of a source got, and which assets were
copied and verified (`import_runs`, `import_items`), so a killed import resumes where it was.

Also the one write an import needs beyond an ordinary upload: the source's version and
creation time on the copied asset.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.db import upsert_insert
from darkroom.catalog.schema import assets, import_items, import_runs

__all__ = ["Checkpoint", "checkpoint", "imported_asset_ids", "imported_count", "keep_source_dates", "record_imported", "save_checkpoint"]

Checkpoint = tuple[str | None, bool]  # (the listing's next cursor, whether the listing is finished)


def checkpoint(engine: Engine, source: str, cloud: str, listing: str) -> Checkpoint:
    """Where the listing stands: (None, False) before its first page."""
    where = (import_runs.c.source == source) & (import_runs.c.cloud == cloud) & (import_runs.c.listing == listing)
    with engine.connect() as conn:
        row = conn.execute(sa.select(import_runs.c.next_cursor, import_runs.c.finished).where(where)).first()
    return (None, False) if row is None else (row.next_cursor, bool(row.finished))


def save_checkpoint(engine: Engine, source: str, cloud: str, listing: str, next_cursor: str | None, finished: bool) -> None:
    """Every asset of the pages before `next_cursor` is copied."""
    now = datetime.now(UTC)
    insert = upsert_insert(engine.dialect.name)(import_runs).values(
        source=source, cloud=cloud, listing=listing, next_cursor=next_cursor, finished=finished, updated_at=now
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[import_runs.c.source, import_runs.c.cloud, import_runs.c.listing],
        set_={"next_cursor": next_cursor, "finished": finished, "updated_at": now},
    )
    with engine.begin() as conn:
        conn.execute(upsert)


def imported_asset_ids(engine: Engine, source: str, cloud: str, asset_ids: list[str]) -> set[str]:
    """Which of the source's asset IDs are copied already."""
    if not asset_ids:
        return set()
    where = (import_items.c.source == source) & (import_items.c.cloud == cloud) & import_items.c.asset_id.in_(asset_ids)
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.select(import_items.c.asset_id).where(where))}


def record_imported(engine: Engine, source: str, cloud: str, asset_id: str, public_id: str, checksum: str, size: int) -> None:
    insert = upsert_insert(engine.dialect.name)(import_items).values(
        source=source, cloud=cloud, asset_id=asset_id, public_id=public_id, checksum=checksum, bytes=size, imported_at=datetime.now(UTC)
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[import_items.c.source, import_items.c.cloud, import_items.c.asset_id],
        set_={"public_id": public_id, "checksum": checksum, "bytes": size},
    )
    with engine.begin() as conn:
        conn.execute(upsert)


def imported_count(engine: Engine, source: str, cloud: str) -> int:
    """Assets of the source copied and verified so far, over every run."""
    where = (import_items.c.source == source) & (import_items.c.cloud == cloud)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(import_items).where(where)).scalar_one())


def keep_source_dates(engine: Engine, asset_pk: int, version: int, created_at: datetime) -> None:
    """The copied asset keeps the source's version number and creation time."""
    with engine.begin() as conn:
        conn.execute(sa.update(assets).where(assets.c.id == asset_pk).values(version=version, created_at=created_at, uploaded_at=created_at))
