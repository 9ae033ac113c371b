"""`darkroom import --from cloudinary://KEY:SECRET@CLOUD` (or DARKROOM_IMPORT_FROM): copy a Cloudinary library into this
darkroom's database and store (`media.importing`), with progress and a final report."""

from __future__ import annotations

import asyncio
import sys

import click

from darkroom.cli.options import data_dir_option, settings_for
from darkroom.config import Settings
from darkroom.errors import Invalid
from darkroom.media.importing import ImportReport, Source, import_library
from darkroom.media.services import build_services

__all__ = ["import_command"]


@click.command("import")
@click.option("--from", "source_url", required=True, metavar="CLOUDINARY_URL", envvar="DARKROOM_IMPORT_FROM",
              help="The source account: cloudinary://KEY:SECRET@CLOUD[?upload_prefix=https://…] (an Admin API key). "
                   "Or set DARKROOM_IMPORT_FROM, which keeps the secret out of the process list.")
@click.option("--cloud", default=None, metavar="NAME", help="Destination cloud (created if new); default: the source's cloud name.")
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 64), metavar="N", help="Downloads at once.")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
@data_dir_option
def import_command(source_url: str, cloud: str | None, parallel: int, dry_run: bool, data_dir: str | None) -> None:
    """Copy a Cloudinary library into this darkroom.

    Assets, metadata fields, named transformations and upload presets are copied; each asset
    keeps its tags, context, structured metadata, asset folder, moderation status,
    version and creation time.

    Resumable: run the same command again after an interruption and it continues from its
    last page, skipping what it copied (the checkpoint is in the database). Every original is
    checked against the source's MD5. Exit status 1 if any asset failed (listed at the end).
    """
    try:
        source = Source.parse(source_url)
    except Invalid as error:
        raise click.BadParameter(error.message, param_hint="--from") from None
    report = asyncio.run(_run(settings_for(data_dir), source, cloud or source.cloud, parallel, dry_run))
    click.echo(_text(report, dry_run, cloud or source.cloud))
    sys.exit(1 if report.failed else 0)


async def _run(settings: Settings, source: Source, cloud: str, parallel: int, dry_run: bool) -> ImportReport:
    services = build_services(settings)
    try:
        return await import_library(services, source, cloud, parallel=parallel, dry_run=dry_run, progress=lambda line: click.echo(line, err=True))
    finally:
        services.engine.dispose()


def _text(report: ImportReport, dry_run: bool, cloud: str) -> str:
    listed = ", ".join(f"{name} {count}" for name, count in report.listed.items() if count) or "nothing"
    if dry_run:
        return f"would copy {report.listed_total} assets ({listed}) into {cloud}"
    lines = [f"failed: {line}" for line in report.failed]
    definitions = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.definitions.items())
    lines.append(f"definitions created: {definitions or 'none'}")
    lines.append(
        f"listed {report.listed_total} ({listed}); copied {report.copied} ({report.bytes} bytes), "
        f"{report.skipped} copied by an earlier run, {len(report.failed)} failed"
    )
    lines.append(f"verified: {report.verified_total} assets in {cloud} match the source's checksums")
    return "\n".join(lines)
