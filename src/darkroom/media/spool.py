"""Spool files: request bodies, fetched sources and assembled chunks on local disk.

libvips and the blob store both want files, and a 1 GB upload must not sit in memory, so
bytes on their way in are written to the data dir's `spool/` first. Whoever receives a
`SpooledFile` owns it and must `discard()` it; files a crash left behind are removed by the
integrity sweep (`media.integrity`), at start-up and on a schedule.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpooledFile", "spool_bytes"]


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
