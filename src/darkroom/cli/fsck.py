"""`darkroom fsck`: the integrity sweep (`media.integrity`) on demand, with a report."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from darkroom.cli.options import data_dir_option, settings_for
from darkroom.config import Settings
from darkroom.media.integrity import SweepReport, sweep
from darkroom.media.services import build_services

__all__ = ["fsck"]


@click.command()
@click.option("--dry-run", is_flag=True, help="Report what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Only blobs and spool files older than this are removed (default: $DARKROOM_ORPHAN_GRACE_SECONDS, 3600).",
)
@data_dir_option
def fsck(dry_run: bool, as_json: bool, grace: int | None, data_dir: str | None) -> None:
    """Reconcile blobs with rows; remove crash leftovers.

    Walks the blob store (the local folder or the S3 bucket of DARKROOM_STORAGE_URL) and the
    catalog, and:

    \b
    - removes orphan blobs: originals, derivatives and chunks of chunked uploads that no
      row references (chunks: whose upload is no longer in progress, or received no chunk
      for 24 hours), older than the grace;
    - removes half-written blobs of a local store and spool files older than the grace;
    - reports rows whose blob is missing (never deletes them).

    Safe while servers run against the same store: younger blobs may belong to uploads in
    flight and are kept, and each orphan is checked against the catalog again just before
    it is deleted. Servers run the same sweep at start-up and every
    DARKROOM_SWEEP_INTERVAL_SECONDS.

    Exit status: 0 when the store is clean or was repaired, 1 when rows with missing blobs
    remain (listed in the report).
    """
    report = asyncio.run(_run(settings_for(data_dir), grace, dry_run))
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else _text(report))
    sys.exit(0 if report.clean else 1)


async def _run(settings: Settings, grace: int | None, dry_run: bool) -> SweepReport:
    services = build_services(settings)
    try:
        return await sweep(services, grace_seconds=grace, dry_run=dry_run)
    finally:
        services.engine.dispose()


def _text(report: SweepReport) -> str:
    removed = "would remove" if report.dry_run else "removed"
    lines = [f"{'would abandon' if report.dry_run else 'abandoned'} chunked upload {name}" for name in report.abandoned_uploads]
    lines += [f"{removed} orphan blob {key}" for key in report.orphan_blobs]
    lines += [f"{removed} spool file {name}" for name in report.spool_files]
    lines += [
        f"missing blob: {row['kind']} of {row['cloud']}/{row['resource_type']}/{row['type']}/{row['public_id']} ({row['storage_key']})"
        for row in report.missing_blobs
    ]
    lines.append(
        f"{report.blobs_seen} blobs, {report.rows_seen} rows checked: {len(report.orphan_blobs)} orphan blobs, "
        f"{report.staging_files} half-written blobs, {len(report.spool_files)} spool files {removed}; "
        f"{report.kept_young} unreferenced blobs within the grace period kept; {len(report.missing_blobs)} rows without their blob"
    )
    return "\n".join(lines)
