"""Chunked uploads as the SDK's `upload_large` sends them.

Each chunk is a complete signed request with `X-Unique-Upload-Id` and
`Content-Range: bytes START-END/TOTAL` (`/-1` until the last chunk, from the Node SDK).
Chunks are kept in the blob store, so any darkroom process may receive any chunk, and
may arrive in any order; the request whose chunk completes the range assembles the file
and continues as an ordinary upload. Until then nothing is visible.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.api.multipart import SpooledFile
from darkroom.api.services import Services
from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import upload_chunks
from darkroom.errors import Invalid, TooLarge

__all__ = ["ChunkRange", "parse_content_range", "receive_chunk"]

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|-1|\*)$")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ChunkRange:
    start: int
    end: int  # inclusive
    total: int | None  # None until the client says (Node sends -1 before the last chunk)


def parse_content_range(header: str) -> ChunkRange:
    match = _RANGE.match(header.strip())
    if match is None:
        raise Invalid(f"Invalid Content-Range header - {header}")
    start, end = int(match.group(1)), int(match.group(2))
    total = int(match.group(3)) if match.group(3) not in ("-1", "*") else None
    if end < start or (total is not None and end >= total):
        raise Invalid(f"Invalid Content-Range header - {header}")
    return ChunkRange(start, end, total)


def _chunk_key(cloud: str, upload_id: str, start: int) -> str:
    return f"{cloud}/chunks/{upload_id}/{start:020d}"


async def receive_chunk(services: Services, cloud: str, upload_id: str, chunk: ChunkRange, part: SpooledFile) -> SpooledFile | None:
    """Keep one chunk; returns the whole file once every byte has arrived, else None."""
    if not _UPLOAD_ID.match(upload_id):
        raise Invalid("Invalid X-Unique-Upload-Id header")
    if part.size != chunk.end - chunk.start + 1:
        raise Invalid(f"Chunk size {part.size} does not match Content-Range {chunk.start}-{chunk.end}")
    if chunk.total is not None and chunk.total > services.settings.max_upload_bytes:
        raise TooLarge(f"File size too large. Got {chunk.total}. Maximum is {services.settings.max_upload_bytes}.")
    if chunk.end >= services.settings.max_upload_bytes:
        # Before the total is known (`/-1`), the offsets alone must stay within the limit (and the database's integers).
        raise TooLarge(f"File size too large. Got more than {chunk.end}. Maximum is {services.settings.max_upload_bytes}.")
    await services.store.put_file(_chunk_key(cloud, upload_id, chunk.start), part.path)
    starts = await services.db(_record_and_claim, cloud, upload_id, chunk)
    if starts is None:
        return None
    return await _assemble(services, cloud, upload_id, starts, part.filename)


def _record_and_claim(engine: Engine, cloud: str, upload_id: str, chunk: ChunkRange) -> list[int] | None:
    """Note the chunk; if the upload is now complete, claim it (one round trip from the loop)."""
    _record_chunk(engine, cloud, upload_id, chunk)
    return _claim_if_complete(engine, cloud, upload_id)


def _record_chunk(engine: Engine, cloud: str, upload_id: str, chunk: ChunkRange) -> None:
    with duplicate_is_conflict(), engine.begin() as conn:
        key = (upload_chunks.c.cloud == cloud) & (upload_chunks.c.upload_id == upload_id) & (upload_chunks.c.start == chunk.start)
        conn.execute(sa.delete(upload_chunks).where(key))
        conn.execute(
            sa.insert(upload_chunks).values(
                cloud=cloud, upload_id=upload_id, start=chunk.start, end=chunk.end, total=chunk.total, created_at=datetime.now(UTC)
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


async def _assemble(services: Services, cloud: str, upload_id: str, starts: list[int], filename: str) -> SpooledFile:
    services.spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="assembled-", dir=services.spool_dir)
    path = Path(name)
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for start in starts:
                blob = await services.store.open(_chunk_key(cloud, upload_id, start))
                async for data in blob.chunks():
                    digest.update(data)
                    size += len(data)
                    await anyio.to_thread.run_sync(handle.write, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    await services.store.delete_prefix(f"{cloud}/chunks/{upload_id}/")
    return SpooledFile(path, filename, size, digest.hexdigest())
