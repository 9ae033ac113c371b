"""Spool files: request bodies, fetched sources and assembled chunks on local disk.

libvips and the blob store both want files, and a 1 GB upload must not sit in memory, so
bytes on their way in are written to the data dir's `spool/` first. Whoever receives a
`SpooledFile` owns it and must `discard()` it; files a crash left behind are removed at the
next start (`remove_stale_spool_files`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpooledFile", "remove_stale_spool_files", "spool_bytes"]

log = logging.getLogger("darkroom")

STALE_SPOOL_SECONDS = 24 * 3600


@dataclass
class SpooledFile:
    """A file written to the spool dir; the caller owns it and must `discard()` it."""

    path: Path
    filename: str
    size: int
    md5: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def spool_bytes(spool_dir: Path, prefix: str, filename: str, data: bytes) -> SpooledFile:
    """Write bytes already in memory to a new spool file (blocking: call it in a worker thread)."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, dir=spool_dir)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return SpooledFile(Path(name), filename, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())


def remove_stale_spool_files(spool_dir: Path) -> None:
    """Spool files left by a crash; a day old means no live request (of any worker) still owns them."""
    if not spool_dir.is_dir():
        return
    cutoff = time.time() - STALE_SPOOL_SECONDS
    for path in spool_dir.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            log.warning("could not remove stale spool file %s", path)
