"""A local folder as a `BlobStore`: the embedded default, one file per blob.

It is obstore's LocalStore (atomic writes through a `<key>#<n>` staging file that
listings ignore) plus what only a folder can offer: the blob's path, so libvips can read
an original in place, and kernel-side copies for `put_file` and `download_to` (obstore's
multipart path would hold several 5 MiB parts in memory to copy a file to a file).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import secrets
import shutil
from datetime import datetime

from obstore.store import LocalStore

from darkroom.storage import BlobNotFound, check_key
from darkroom.storage.object_store import ObjectBlobStore


class LocalBlobStore(ObjectBlobStore):
    """Blobs as files under `root` (created if missing)."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = pathlib.Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # automatic_cleanup removes directories left empty by deletes.
        store = LocalStore(self.root, automatic_cleanup=True)
        super().__init__(store, description=f"file://{self.root}")

    def local_path(self, key: str) -> pathlib.Path:
        return self.root / check_key(key)

    async def put_file(self, key: str, path: pathlib.Path) -> None:
        """Copy to a staging file beside the target, then rename: atomic, zero-copy.

        The staging name follows obstore's `<name>#<digits>` convention, so a listing
        (and thus `delete_prefix`) never sees a half-written blob.
        """
        target = self.local_path(key)
        await asyncio.to_thread(_copy_atomically, pathlib.Path(path), target)

    async def remove_stale_staging(self, older_than: datetime) -> int:
        """Staging files (`<key>#<n>`) of copies a crash interrupted: listings never show
        them, so only this walk of the folder finds them."""
        return await asyncio.to_thread(_remove_staging_files, self.root, older_than.timestamp())

    async def download_to(self, key: str, path: pathlib.Path) -> None:
        """A plain file copy: the kernel moves the bytes, Python never holds them."""
        source = self.local_path(key)
        try:
            await asyncio.to_thread(shutil.copyfile, source, path)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFound("Resource not found", detail=f"{key}: {exc}") from exc


def _copy_atomically(source: pathlib.Path, target: pathlib.Path) -> None:
    """shutil.copyfile uses copy_file_range/sendfile; os.replace makes it appear at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}#{secrets.randbelow(10**12)}")
    try:
        shutil.copyfile(source, staging)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


# obstore's and _copy_atomically's staging names: the blob's name, `#`, digits.
_STAGING_NAME = re.compile(r"#\d+$")


def _remove_staging_files(root: pathlib.Path, cutoff: float) -> int:
    removed = 0
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            if not _STAGING_NAME.search(name):
                continue
            path = pathlib.Path(directory) / name
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # finished (renamed) or removed meanwhile
    return removed
