"""The integrity sweep: blobs reconciled with the rows that point at them, crash leftovers removed.

A write stores its blob first and records the row after (`media.ingest`), and a delete
removes the row first and the blob after, so a crash (`kill -9`, power loss) between the two
steps leaves a blob no row references: never served, but never removed either. Request
bodies on their way in (the spool) are likewise left behind. `sweep` finds and removes them:

- orphan blobs: originals, derivatives and chunks of chunked uploads whose key no row
  references (chunks: whose upload is no longer in progress in `upload_chunks`; an upload
  that received no chunk for `IDLE_UPLOAD_SECONDS` was abandoned by its client);
- half-written blobs a local store's interrupted copies left (`remove_stale_staging`);
- spool files: a request holds its spool file only while it runs;
- rows whose blob is missing are reported, never deleted (the blob may come back from a
  backup; deleting the row would lose the metadata for good).

Safe while other servers run against the same store: only what was last written more than
`grace_seconds` ago is a candidate (an upload in flight elsewhere has written its blob but
not yet its row), and each batch of orphans is checked against the catalog again right
before it is deleted. Used by `darkroom fsck`, by each server at start-up and on a schedule
(`SweepThread`); a job can call `sweep` as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from darkroom.catalog.integrity import StoredRow, abandon_idle_uploads, referenced_storage_keys, stored_rows_page, uploads_in_progress
from darkroom.media.services import Services
from darkroom.storage import BlobEntry, InvalidKey, check_key

__all__ = ["SweepReport", "SweepThread", "sweep"]

log = logging.getLogger("darkroom.integrity")

ROW_PAGE = 500  # rows checked for their blob per catalog query
CONCURRENT_CHECKS = 16  # blob look-ups at once (S3: HEAD requests in flight)
IDLE_UPLOAD_SECONDS = 24 * 3600  # a chunked upload with no chunk for this long is abandoned
# The kinds of key darkroom writes (`{cloud}/{kind}/…`); anything else in the store is not ours to judge.
SWEPT_KINDS = ("originals", "derived", "chunks")


@dataclass
class SweepReport:
    """What one sweep found and did (with `dry_run`, what it would have removed)."""

    dry_run: bool
    orphan_blobs: list[str] = field(default_factory=list)  # removed (or, dry run, removable)
    abandoned_uploads: list[str] = field(default_factory=list)  # "cloud/upload_id" of chunked uploads given up
    staging_files: int = 0  # half-written blobs of a local store removed
    spool_files: list[str] = field(default_factory=list)  # spool file names removed
    missing_blobs: list[dict[str, str]] = field(default_factory=list)  # rows whose blob is gone
    kept_young: int = 0  # unreferenced blobs within the grace period, left alone
    blobs_seen: int = 0
    rows_seen: int = 0

    @property
    def clean(self) -> bool:
        """No row lacks its blob (orphans and leftovers are repaired, or reported in a dry run)."""
        return not self.missing_blobs

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "orphan_blobs": self.orphan_blobs,
            "abandoned_uploads": self.abandoned_uploads,
            "staging_files": self.staging_files,
            "spool_files": self.spool_files,
            "missing_blobs": self.missing_blobs,
            "kept_within_grace": self.kept_young,
            "blobs_seen": self.blobs_seen,
            "rows_seen": self.rows_seen,
            "clean": self.clean,
        }


async def sweep(services: Services, *, grace_seconds: float | None = None, dry_run: bool = False) -> SweepReport:
    """Reconcile the blob store with the catalog and clear crash leftovers (module docstring)."""
    grace = services.settings.orphan_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = datetime.now(UTC) - timedelta(seconds=grace)
    report = SweepReport(dry_run=dry_run)
    idle_since = datetime.now(UTC) - timedelta(seconds=max(grace, IDLE_UPLOAD_SECONDS))
    abandoned = set(await services.db(abandon_idle_uploads, idle_since, dry_run=dry_run))
    report.abandoned_uploads = sorted(f"{cloud}/{upload_id}" for cloud, upload_id in abandoned)
    # Once their rows are deleted, abandoned uploads need no special case; a dry run kept them.
    await _sweep_orphans(services, cutoff, report, abandoned if dry_run else set())
    if not dry_run:
        report.staging_files = await services.store.remove_stale_staging(cutoff)
    report.spool_files = await anyio.to_thread.run_sync(_clear_spool, services.spool_dir, cutoff.timestamp(), dry_run)
    for kind in ("original", "derived"):
        await _find_missing_blobs(services, kind, report)
    return report


async def _sweep_orphans(services: Services, cutoff: datetime, report: SweepReport, abandoned: set[tuple[str, str]]) -> None:
    """Page through the store; candidates are checked per page, orphans deleted after the
    listing (deleting under a listing in progress could make it skip keys)."""
    orphans: list[str] = []
    async for page in services.store.list_blobs():
        report.blobs_seen += len(page)
        unreferenced = await _unreferenced(services, [entry for entry in page if _ours(entry.key)], abandoned)
        for entry in unreferenced:
            if entry.modified < cutoff:
                orphans.append(entry.key)
            else:
                report.kept_young += 1
    if report.dry_run:
        report.orphan_blobs = orphans
        return
    for start in range(0, len(orphans), ROW_PAGE):
        batch = orphans[start : start + ROW_PAGE]
        # Again, just before deleting: a row written since the listing keeps its blob.
        still = await _unreferenced(services, [BlobEntry(key, 0, cutoff) for key in batch], abandoned)
        for entry in still:
            await services.store.delete(entry.key)
            report.orphan_blobs.append(entry.key)
            log.info("removed orphan blob %s", entry.key)


async def _unreferenced(services: Services, entries: list[BlobEntry], abandoned: set[tuple[str, str]]) -> list[BlobEntry]:
    """The entries no row references: originals and derivatives by key, chunks by their upload
    (`abandoned` uploads count as gone: a dry run has not deleted their rows)."""
    chunks = [entry for entry in entries if _kind(entry.key) == "chunks"]
    blobs = [entry for entry in entries if _kind(entry.key) != "chunks"]
    referenced = await services.db(referenced_storage_keys, [entry.key for entry in blobs])
    uploads = {_upload_of(entry.key) for entry in chunks}
    running = await services.db(uploads_in_progress, sorted(uploads - abandoned))
    return [entry for entry in blobs if entry.key not in referenced] + [
        entry for entry in chunks if _upload_of(entry.key) not in running
    ]


def _ours(key: str) -> bool:
    """A key darkroom writes: `{cloud}/{kind}/…` of a swept kind, and a valid key (a file
    someone put in a local store's folder by hand may be neither)."""
    try:
        check_key(key)
    except InvalidKey:
        return False
    return _kind(key) in SWEPT_KINDS


def _kind(key: str) -> str:
    """`originals`, `derived` or `chunks` for the keys darkroom writes (`{cloud}/{kind}/…`)."""
    parts = key.split("/", 2)
    return parts[1] if len(parts) == 3 else ""


def _upload_of(chunk_key: str) -> tuple[str, str]:
    """(cloud, upload_id) of a chunk's key, `{cloud}/chunks/{upload_id}/{start}`."""
    cloud, _chunks, rest = chunk_key.split("/", 2)
    return cloud, rest.split("/", 1)[0]


async def _find_missing_blobs(services: Services, kind: str, report: SweepReport) -> None:
    after = 0
    while True:
        rows = await services.db(stored_rows_page, kind, after, ROW_PAGE)
        if not rows:
            return
        report.rows_seen += len(rows)
        for start in range(0, len(rows), CONCURRENT_CHECKS):
            batch = rows[start : start + CONCURRENT_CHECKS]
            sizes = await asyncio.gather(*(services.store.size(row.storage_key) for row in batch))
            report.missing_blobs.extend(_described(row) for row, size in zip(batch, sizes, strict=True) if size is None)
        after = rows[-1].id


def _described(row: StoredRow) -> dict[str, str]:
    return {
        "kind": row.kind,
        "cloud": row.cloud,
        "resource_type": row.resource_type,
        "type": row.type,
        "public_id": row.public_id,
        "storage_key": row.storage_key,
    }


def _clear_spool(spool_dir: Path, cutoff: float, dry_run: bool) -> list[str]:
    """Spool files last written before `cutoff`: a request holds its spool file only while it
    runs, and writes it as the body arrives, so an old one belongs to no request (blocking)."""
    if not spool_dir.is_dir():
        return []
    removed = []
    for path in _files(spool_dir.iterdir()):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            if not dry_run:
                path.unlink()
            removed.append(path.name)
        except FileNotFoundError:
            pass  # its request finished meanwhile
        except OSError:
            log.warning("could not remove spool file %s", path, exc_info=True)
    return removed


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    return (path for path in paths if path.is_file())


class SweepThread:
    """A server's sweeps: one at start-up, then every `sweep_interval_seconds` (0: only the
    first), in a daemon thread with its own event loop, so a long sweep of a large store
    neither delays start-up nor takes turns with requests on the server's loop. A failed
    sweep is logged and the schedule goes on."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="darkroom-sweep", daemon=True)

    def start(self) -> SweepThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the schedule to end; a sweep under way is given `timeout` seconds to finish
        (after that the daemon thread ends with the process: every step is safe to cut off)."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        interval = self._services.settings.sweep_interval_seconds
        with _one_sweeper_per_data_folder(self._services.settings.data_dir) as chosen:
            if chosen:  # the other worker processes of this server leave the sweeps to it
                self._sweep_on_schedule(interval)

    def _sweep_on_schedule(self, interval: int) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                report = asyncio.run(sweep(self._services))
            except Exception:  # noqa: BLE001 - a sweep must never take the server down
                log.warning("integrity sweep failed", exc_info=True)
            else:
                _log_report(report, time.monotonic() - started)
            if not interval or self._stopping.wait(interval):
                return


@contextlib.contextmanager
def _one_sweeper_per_data_folder(data_dir: Path) -> Iterator[bool]:
    """Whether this process is the one of its server's workers that sweeps: `--workers 8`
    would otherwise list the whole store (a HEAD per row on S3) eight times an hour. The
    holder of an exclusive lock on `sweep.lock` in the data folder sweeps; the lock goes
    with the process, so a restarted worker can take over."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "sweep.lock", "a+b") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _log_report(report: SweepReport, seconds: float) -> None:
    for row in report.missing_blobs:
        log.warning("%s of %s/%s/%s/%s has no blob (%s)", row["kind"], row["cloud"], row["resource_type"], row["type"], row["public_id"], row["storage_key"])
    log.info(
        "integrity sweep in %.1fs (pid %d): %d orphan blobs, %d staging files, %d spool files removed; %d rows without blob",
        seconds, os.getpid(), len(report.orphan_blobs), report.staging_files, len(report.spool_files), len(report.missing_blobs),
    )
