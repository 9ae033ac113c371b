"""Blobs: originals and derivatives, behind one small object-store interface.

Every other part stores bytes through `BlobStore` and never learns whether they land in
a local folder, in memory (tests) or in an S3-compatible bucket; `open_store` picks the
implementation from a URL, so switching is configuration only:

    file:///srv/darkroom/blobs        a local folder (created if missing)
    memory://                         process memory, for tests
    s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1
        &access_key_id=…&secret_access_key=…   any S3-compatible store

Keys are relative paths that darkroom builds (``demo/originals/<asset_id>/<version>``).
They are still checked (`check_key`), so a bug upstream cannot write outside the store.

Writes are atomic from a reader's view: a blob is either absent or complete. Large blobs
are streamed in both directions, never held whole in memory.

Errors:

    DarkroomError
    ├── NotFound
    │   └── BlobNotFound          the key holds no blob
    ├── Invalid
    │   └── InvalidKey            a key that is not a safe relative path
    └── StorageError              the backend failed (I/O, network, credentials)
        └── InvalidStorageUrl     open_store could not understand the URL (also a ValueError)
"""

from __future__ import annotations

import abc
import pathlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from darkroom.errors import DarkroomError, Invalid, NotFound

__all__ = [
    "Blob",
    "BlobEntry",
    "BlobNotFound",
    "BlobStore",
    "InvalidKey",
    "InvalidStorageUrl",
    "StorageError",
    "check_key",
    "open_store",
]

# S3 allows keys up to 1024 bytes; most filesystems allow 255 bytes per path segment.
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255


class StorageError(DarkroomError):
    """The blob backend failed; the message is generic, the detail names the cause."""


class BlobNotFound(NotFound):
    """No blob is stored under the key."""


class InvalidKey(Invalid):
    """The key is not a safe relative path (absolute, `..`, control characters, …)."""


class InvalidStorageUrl(StorageError, ValueError):
    """`open_store` was given a URL it cannot turn into a store."""


def check_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative path, else raise `InvalidKey`.

    Why so strict when darkroom builds the keys itself: a key is a filesystem path in the
    local store, so one bad join upstream must not become a write outside the folder.
    `#` is refused because the local store names its staging files `<key>#<n>`.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("Invalid storage key", detail=f"empty key: {key!r}")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey("Invalid storage key", detail=f"leading or trailing '/': {key!r}")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey("Invalid storage key", detail=f"longer than {MAX_KEY_BYTES} bytes")
    if _FORBIDDEN_CHARS.search(key):
        raise InvalidKey("Invalid storage key", detail=f"forbidden character in {key!r}")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


# Control characters (C0, DEL, C1), lone surrogates, and `#`, `\\`: one regex search instead
# of a Python loop per character (keys are checked on every read and write).
_FORBIDDEN_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff#\\\\]")


def _check_segment(key: str, segment: str) -> None:
    """One path segment: not empty, not `.` or `..`, short enough for a filesystem."""
    if segment in ("", ".", ".."):
        raise InvalidKey("Invalid storage key", detail=f"bad segment {segment!r} in {key!r}")
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise InvalidKey("Invalid storage key", detail=f"segment too long in {key!r}")


class Blob(abc.ABC):
    """A stored blob opened for reading: its size is known before the first byte."""

    size: int  # total length in bytes, even when only a range was opened

    @abc.abstractmethod
    def chunks(self) -> AsyncIterator[bytes]:
        """Yield the blob's bytes (or the opened range's) in order, in chunks of bounded size."""


@dataclass(frozen=True)
class BlobEntry:
    """One blob as a listing sees it."""

    key: str
    size: int
    modified: datetime  # when it was last written (timezone-aware, UTC)


class BlobStore(abc.ABC):
    """Where darkroom keeps bytes. All methods take keys that pass `check_key`."""

    @abc.abstractmethod
    async def put_file(self, key: str, path: pathlib.Path) -> None:
        """Store the file at `path` under `key`, streamed (multipart for large files)."""

    @abc.abstractmethod
    async def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""

    @abc.abstractmethod
    async def get_bytes(self, key: str) -> bytes:
        """Return the whole blob; only for blobs known to be small. Raises `BlobNotFound`."""

    @abc.abstractmethod
    async def open(self, key: str, byte_range: tuple[int, int] | None = None) -> Blob:
        """Open the blob for streaming. Raises `BlobNotFound`.

        With `byte_range` (start, end), both inclusive and within the blob, only those bytes
        are fetched and streamed (an S3 ranged GET): a video player seeking in a large
        original costs the bytes it asked for. `Blob.size` stays the whole blob's length.
        """

    @abc.abstractmethod
    async def download_to(self, key: str, path: pathlib.Path) -> None:
        """Copy the blob into the file at `path` (libvips and ffmpeg want files).

        Raises `BlobNotFound` before creating `path` when the key holds no blob.
        """

    @abc.abstractmethod
    async def size(self, key: str) -> int | None:
        """Return the blob's length in bytes, or None when there is none."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error (deletes are retried)."""

    @abc.abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under `prefix` (whole path segments) and return how many.

        An empty prefix is refused (`InvalidKey`): emptying a store is never one call.
        """

    @abc.abstractmethod
    def list_blobs(self, prefix: str = "") -> AsyncIterator[list[BlobEntry]]:
        """Yield every blob under `prefix` (whole path segments; "" is the whole store) in
        pages of bounded size, so a store of millions of blobs is never held in memory."""

    async def remove_stale_staging(self, older_than: datetime) -> int:
        """Remove half-written blobs a crash left behind, last written before `older_than`;
        returns how many. Only a store whose writes leave such files has any (a local
        folder's `<key>#<n>` staging files); S3 discards unfinished writes itself."""
        return 0

    def local_path(self, key: str) -> pathlib.Path | None:
        """Return the file that holds the blob when the store is a local folder.

        Lets libvips read an original in place instead of copying it. None for every
        store that is not a folder on this machine. The file may not exist.
        """
        check_key(key)
        return None


def open_store(url: str) -> BlobStore:
    """Build the store a URL names (see the module docstring for the forms)."""
    from darkroom.storage.urls import store_from_url

    return store_from_url(url)
