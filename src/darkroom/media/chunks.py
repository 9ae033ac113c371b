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
from pathlib import Path

import anyio

from darkroom.catalog.chunks import record_and_claim
from darkroom.errors import Invalid, TooLarge
from darkroom.media.services import Services
from darkroom.media.spool import SpooledFile

__all__ = ["ChunkRange", "parse_content_range", "receive_chunk"]

# At most 18 digits: past any upload limit, and within the database's 64-bit integers.
_RANGE = re.compile(r"^bytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|-1|\*)$")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ChunkRange:
    start: int
    end: int  # inclusive
    total: int | None  # None until the client says (Node sends -1 before the last chunk)


def parse_content_range(header: str) -> ChunkRange:
    match = _RANGE.match(header.strip())
    if match is None:
        raise Invalid(f"Invalid Content-Range header - {header[:64]}")
    start, end = int(match.group(1)), int(match.group(2))
    total = int(match.group(3)) if match.group(3) not in ("-1", "*") else None
    if end < start or (total is not None and end >= total):
        raise Invalid(f"Invalid Content-Range header - {header[:64]}")
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
    starts = await services.db(record_and_claim, cloud, upload_id, chunk.start, chunk.end, chunk.total)
    if starts is None:
        return None
    return await _assemble(services, cloud, upload_id, starts, part.filename)


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
