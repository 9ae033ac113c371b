"""Resource details on request: `colors`, `phash`, `faces`, `image_metadata` / `media_metadata`.

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
from darkroom.imaging import metrics
from darkroom.imaging.embedded import embedded_metadata
from darkroom.imaging.errors import InvalidImage

__all__ = ["ANALYSIS_PARAMS", "analysis_fields"]

log = logging.getLogger(__name__)

ANALYSIS_PARAMS = ("colors", "phash", "faces", "image_metadata", "media_metadata")


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
            return await anyio.to_thread.run_sync(lambda: _analyse(path, wanted))
        except InvalidImage as error:  # e.g. a PDF stored as an image that libvips cannot read
            log.info("no analysis for %s: %s", asset.public_id, error.detail or error.message)
            return empty


def _analyse(path: Path, wanted: set[str]) -> dict[str, Any]:
    """Runs in a worker thread: embedded metadata, then what `metrics.analyse` measures."""
    fields: dict[str, Any] = {}
    if "image_metadata" in wanted:
        fields["image_metadata"] = embedded_metadata(path)
    return fields | metrics.analyse(path, wanted)
