"""The `upload_chunks` table: which byte ranges of a chunked upload have arrived.

The bytes themselves are blobs (`media.chunks`); these rows let any process see the others'
chunks and let exactly one of them claim a complete upload.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import upload_chunks

__all__ = ["record_and_claim"]


def record_and_claim(engine: Engine, cloud: str, upload_id: str, start: int, end: int, total: int | None) -> list[int] | None:
    """Note the chunk of bytes start..end (inclusive; `total` None until the client says); if
    the upload is now complete, claim it (one round trip from the loop) and return the
    starts of its chunks in order."""
    _record_chunk(engine, cloud, upload_id, start, end, total)
    return _claim_if_complete(engine, cloud, upload_id)


def _record_chunk(engine: Engine, cloud: str, upload_id: str, start: int, end: int, total: int | None) -> None:
    with duplicate_is_conflict(), engine.begin() as conn:
        key = (upload_chunks.c.cloud == cloud) & (upload_chunks.c.upload_id == upload_id) & (upload_chunks.c.start == start)
        conn.execute(sa.delete(upload_chunks).where(key))
        conn.execute(
            sa.insert(upload_chunks).values(
                cloud=cloud, upload_id=upload_id, start=start, end=end, total=total, created_at=datetime.now(UTC)
            )
        )


def _claim_if_complete(engine: Engine, cloud: str, upload_id: str) -> list[int] | None:
    """If the chunks cover 0..total-1, take them (delete their rows) and return their starts in order."""
    with engine.begin() as conn:
        where = (upload_chunks.c.cloud == cloud) & (upload_chunks.c.upload_id == upload_id)
        rows = conn.execute(sa.select(upload_chunks.c.start, upload_chunks.c.end, upload_chunks.c.total).where(where).order_by(upload_chunks.c.start)).all()
        totals = {row.total for row in rows if row.total is not None}
        if len(totals) != 1:
            return None
        (total,) = totals
        position = 0
        for row in rows:
            if row.start != position:
                return None
            position = row.end + 1
        if position != total:
            return None
        # Whoever deletes the rows first assembles; a concurrent duplicate sees rowcount 0.
        if conn.execute(sa.delete(upload_chunks).where(where)).rowcount != len(rows):
            return None
        return [row.start for row in rows]
