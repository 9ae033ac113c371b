"""The general `BlobStore`: any obstore backend (S3-compatible, memory, GCS, Azure, local).

obstore does the heavy lifting in Rust: multipart uploads, streamed reads, atomic
writes. This module only bounds memory (part size x concurrency), translates errors into
darkroom's, and keeps blocking file I/O off the event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import pathlib
import time
from collections.abc import AsyncIterator, Iterator

import obstore
from obstore.exceptions import BaseError as ObstoreError

from darkroom.storage import Blob, BlobEntry, BlobNotFound, BlobStore, StorageError, check_key

# Multipart part size: S3's minimum (5 MiB), so each part in flight costs little memory.
PART_BYTES = 5 * 1024 * 1024
# Parts uploaded at once; memory held by one put_file is about PART_BYTES * this.
PUT_CONCURRENCY = 2
# Size of the chunks handed to readers: big enough for throughput, small enough to stream.
READ_CHUNK_BYTES = 1024 * 1024
# Keys deleted per request by delete_prefix (S3 bulk delete accepts up to 1000).
DELETE_BATCH = 1000
# Blobs per page of list_blobs (one S3 LIST request returns up to 1000).
LIST_PAGE = 1000
# How long interpreter exit waits for obstore's runtime threads (see _settle_at_exit).
EXIT_SETTLE_SECONDS = 0.05


@contextlib.contextmanager
def translate_errors(key: str) -> Iterator[None]:
    """Turn obstore's exceptions into darkroom's, keeping the original as detail."""
    try:
        yield
    except FileNotFoundError as exc:
        raise BlobNotFound("Resource not found", detail=f"{key}: {exc}") from exc
    except ObstoreError as exc:
        raise StorageError("Storage failure", detail=f"{key}: {exc}") from exc


class ObjectBlob(Blob):
    """A blob read through obstore's streaming GET."""

    def __init__(self, key: str, result: obstore.GetResult) -> None:
        self.key = key
        self.size = int(result.meta["size"])
        self._result = result

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield chunks of at most READ_CHUNK_BYTES.

        obstore's chunks are at least `min_chunk_size` but may be much larger (the memory
        store hands over the whole blob), so they are cut to keep each copy small.
        """
        with translate_errors(self.key):
            async for chunk in self._result.stream(min_chunk_size=READ_CHUNK_BYTES):
                view = memoryview(chunk)
                for start in range(0, len(view), READ_CHUNK_BYTES):
                    yield bytes(view[start : start + READ_CHUNK_BYTES])


@functools.cache
def _settle_at_exit() -> None:
    """Keep short-lived processes from dying with SIGABRT after their last await.

    When an obstore `*_async` call completes, a tokio thread still briefly holds Python
    objects; if the interpreter is finalizing by then, Rust aborts the process (the
    pyo3-async-runtimes shutdown race, PyO3/pyo3-async-runtimes#40). Measured here:
    about half of `asyncio.run(one head_async); exit` runs ended in SIGABRT; with this
    wait, none did. A CLI command exiting 134 after doing its work would break scripts.
    Registered once, on the first store built.
    """
    atexit.register(time.sleep, EXIT_SETTLE_SECONDS)


class ObjectBlobStore(BlobStore):
    """A `BlobStore` over any obstore store."""

    def __init__(self, store: obstore.store.ObjectStore, *, description: str) -> None:
        _settle_at_exit()
        self._store = store
        # Safe to log: never contains credentials.
        self.description = description

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    async def put_file(self, key: str, path: pathlib.Path) -> None:
        """obstore reads the file part by part; at most PUT_CONCURRENCY parts in memory."""
        check_key(key)
        with translate_errors(key):
            await obstore.put_async(
                self._store,
                key,
                pathlib.Path(path),
                chunk_size=PART_BYTES,
                max_concurrency=PUT_CONCURRENCY,
            )

    async def put_bytes(self, key: str, data: bytes) -> None:
        check_key(key)
        with translate_errors(key):
            await obstore.put_async(
                self._store,
                key,
                data,
                chunk_size=PART_BYTES,
                max_concurrency=PUT_CONCURRENCY,
            )

    async def get_bytes(self, key: str) -> bytes:
        check_key(key)
        with translate_errors(key):
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())

    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> ObjectBlob:
        check_key(key)
        # obstore's range end is exclusive; ours is inclusive, as in HTTP's Range header.
        options: obstore.GetOptions | None = None if byte_range is None else {"range": (byte_range[0], byte_range[1] + 1)}
        with translate_errors(key):
            return ObjectBlob(key, await obstore.get_async(self._store, key, options=options))

    async def download_to(self, key: str, path: pathlib.Path) -> None:
        """Open first (so a missing blob creates no file), then write chunks in a thread."""
        blob = await self.open(key)
        target = pathlib.Path(path)
        fd = await asyncio.to_thread(os.open, target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            async for chunk in blob.chunks():
                await asyncio.to_thread(_write_all, fd, chunk)
        finally:
            await asyncio.to_thread(os.close, fd)

    async def size(self, key: str) -> int | None:
        check_key(key)
        try:
            with translate_errors(key):
                meta = await obstore.head_async(self._store, key)
        except BlobNotFound:
            return None
        return int(meta["size"])

    async def delete(self, key: str) -> None:
        check_key(key)
        with contextlib.suppress(BlobNotFound), translate_errors(key):
            await obstore.delete_async(self._store, key)

    async def list_blobs(self, prefix: str = "") -> AsyncIterator[list[BlobEntry]]:
        if prefix:
            check_key(prefix.rstrip("/"))
        with translate_errors(prefix or "/"):
            async for batch in obstore.list(self._store, prefix or None, chunk_size=LIST_PAGE):
                yield [BlobEntry(meta["path"], int(meta["size"]), meta["last_modified"]) for meta in batch]

    async def delete_prefix(self, prefix: str) -> int:
        """Lists everything first (deleting while paging could skip keys), then deletes
        in batches (one bulk DELETE per batch on S3)."""
        check_key(prefix.rstrip("/"))
        with translate_errors(prefix):
            paths = [
                meta["path"]
                async for batch in obstore.list(self._store, prefix, chunk_size=DELETE_BATCH)
                for meta in batch
            ]
        for start in range(0, len(paths), DELETE_BATCH):
            await self._delete_many(paths[start : start + DELETE_BATCH])
        return len(paths)

    async def _delete_many(self, paths: list[str]) -> None:
        """Bulk delete; if a blob vanished meanwhile, fall back to one by one."""
        try:
            with translate_errors(paths[0]):
                await obstore.delete_async(self._store, paths)
        except BlobNotFound:
            for path in paths:
                await self.delete(path)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked; loop until the chunk is on disk."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
