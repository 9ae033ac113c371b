"""Resource details on request: `colors`, `phash`, `faces`, `image_metadata` / `media_metadata`,
`quality_analysis`, `accessibility_analysis`, `cinemagraph_analysis` (`coordinates` are stored ones: api/admin.py).

Cloudinary computes these from the stored original only when the details call asks for them,
so a plain `resource()` never touches the blob. Here the original is read in place when the
store is a local folder, or copied to the spool folder otherwise, and analysed in a worker
thread (libvips and OpenCV are CPU-bound; the event loop must stay free).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio

from darkroom.api.admin_http import Admin, as_bool
from darkroom.catalog import Asset
from darkroom.imaging import insights, metrics
from darkroom.imaging.embedded import embedded_metadata
from darkroom.imaging.errors import InvalidImage

__all__ = ["ANALYSIS_PARAMS", "analysis_fields"]

log = logging.getLogger(__name__)

ANALYSIS_PARAMS = ("colors", "phash", "faces", "image_metadata", "media_metadata", "quality_analysis",
                   "accessibility_analysis", "cinemagraph_analysis")


async def analysis_fields(admin: Admin, asset: Asset) -> dict[str, Any]:
    """The extra reply fields the request asks for; {} (or empty values) for what cannot be analysed."""
    wanted = {name for name in ANALYSIS_PARAMS if as_bool(admin.param(name))}
    if not wanted:
        return {}
    if "media_metadata" in wanted:
        wanted = (wanted - {"media_metadata"}) | {"image_metadata"}
    empty: dict[str, Any] = {"image_metadata": {}} if "image_metadata" in wanted else {}
    if asset.resource_type != "image":
        return empty
    async with admin.services.local_file(asset.storage_key) as path:
        try:
            return await anyio.to_thread.run_sync(lambda: _analyse(path, wanted, asset))
        except InvalidImage as error:  # e.g. a PDF stored as an image that libvips cannot read
            log.info("no analysis for %s: %s", asset.public_id, error.detail or error.message)
            return empty


def _analyse(path: Path, wanted: set[str], asset: Asset) -> dict[str, Any]:
    """Runs in a worker thread: embedded metadata, what `metrics.analyse` measures, then
    darkroom's own measures in Cloudinary's shapes (`imaging.insights`)."""
    fields: dict[str, Any] = {}
    if "image_metadata" in wanted:
        fields["image_metadata"] = embedded_metadata(path)
    measured = metrics.analyse(path, wanted, source_width=asset.width, source_height=asset.height)
    if "accessibility_analysis" in wanted:
        fields["accessibility_analysis"] = insights.accessibility(metrics.load_for_analysis(path))
    if "cinemagraph_analysis" in wanted:
        fields["cinemagraph_analysis"] = {"cinemagraph_score": insights.cinemagraph_score(path)}
    return fields | measured
