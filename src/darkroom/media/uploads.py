"""One upload from a spooled file to its reply — where the upload invariant is enforced.

THE INVARIANT: a request either stores nothing, or stores and answers 2xx. A client told
"500" believes its upload failed and retries or gives up; an asset stored behind that answer
is one nobody knows of. So, here and only here:

1. everything that can refuse the request is checked, or run, BEFORE the asset is committed:
   the options and eager transformations are parsed by the caller, ingest probes and
   validates, and the analyses (`colors`, `phash`, `quality_analysis`, `faces`) are measured
   on the file about to be stored (`ingest`'s `before_storing`);
2. what can only run once the asset exists (the reply's own fields, `responsive_breakpoints`
   and `eager` renders, which store derivatives of the asset) runs after the commit under
   `kept_only_if_answered`: if it fails, the version just stored is removed (row, tags,
   derivatives, blobs) before the error goes back to the client. (An overwrite replaced the
   previous version in place, so after a rollback the public ID holds no asset: nothing of
   this request is stored, and the client, told it failed, still has its file.)

Every edge that uploads (the Upload API; the media store and the console through `ingest`
without options that can fail later) goes through `store_upload` or `ingest` alone.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from darkroom.addons import AddonRequest
from darkroom.catalog import Asset, SaveResult
from darkroom.catalog.relations import set_visual_features
from darkroom.imaging import insights
from darkroom.media.params import parse_bool
from darkroom.catalog.integrity import remove_version
from darkroom.imaging import MediaInfo
from darkroom.media.analysis import analysis_fields, measure
from darkroom.catalog.moderation import kinds_text, overall_status
from darkroom.media.addons import Findings, addon_request, analyse, clamped_faces, cut_out, moderation_decided, reply_fields
from darkroom.media.eager import EagerItem, defer_eager, eager_deferred, render_eager
from darkroom.media.ingest import StoredExtras, UploadOptions, delete_blobs, ingest
from darkroom.media.services import Services
from darkroom.media.spool import SpooledFile
from darkroom.media.upload_scripts import apply_eval, check_scripts, on_success_job

__all__ = ["index_for_visual_search", "kept_only_if_answered", "store_upload"]

log = logging.getLogger("darkroom.ingest")


async def store_upload(
    services: Services,
    cloud: str,
    spooled: SpooledFile,
    options: UploadOptions,
    params: dict[str, str],
    eager: list[EagerItem],
    origin: str,
    describe: Callable[[Asset], Awaitable[dict[str, Any]]],
    *,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Store `spooled` and return the reply: `describe(asset)` (the edge's JSON of the asset),
    the analyses, breakpoints and eager renders asked for (`eager_async`: enqueued, signed
    later with `api_key`'s secret), the add-ons' `moderation` and `info`, `existing`/`overwritten`."""
    params = dict(params)  # `eval` may turn analyses on: the reply then includes them
    await check_scripts(params)
    run = _UploadRun(services, cloud, options, params, eager, origin, describe, api_key, addon_request(params, "upload"))
    if run.request.background_removal:
        cut, removal = await cut_out(services, spooled.path, spooled.filename)
        run.findings.info.update(removal.info)
        try:
            return await run.store(cut)
        finally:
            cut.discard()
    return await run.store(spooled)


@dataclass
class _UploadRun:
    """One upload request: what it asked for, and what it found out on the way to the reply."""

    services: Services
    cloud: str
    options: UploadOptions
    params: dict[str, str]
    eager: list[EagerItem]
    origin: str
    describe: Callable[[Asset], Awaitable[dict[str, Any]]]
    api_key: str | None
    request: AddonRequest
    measured: dict[str, Any] = field(default_factory=dict)  # the analyses, measured before storing
    findings: Findings = field(default_factory=Findings)

    async def before_storing(self, path: Path, resource_type: str, info: MediaInfo, chosen: UploadOptions) -> StoredExtras:
        params = self.params
        self.measured.update(await measure(path, resource_type, info.width, info.height, params))
        if params.get("eval"):
            chosen = await apply_eval(params["eval"], path, resource_type, info, path.stat().st_size, chosen, params, self.measured)
        found = await analyse(self.services, path, self.request, resource_type=resource_type, width=info.width)
        self.findings.info.update(found.info)
        moderation = found.annotations.get("moderation") or []
        annotations = {key: value for key, value in found.annotations.items() if value is not None}
        return StoredExtras(tuple(found.tags), annotations, overall_status(moderation), kinds_text(moderation), chosen)

    async def store(self, spooled: SpooledFile) -> dict[str, Any]:
        services, params, origin = self.services, self.params, self.origin
        result = await ingest(services, self.cloud, spooled, self.options, before_storing=self.before_storing)
        async with kept_only_if_answered(services, result):
            body = await self.describe(result.asset)
            if result.existing:  # nothing stored: the stored asset is described, not the file sent
                body.update(await analysis_fields(services, origin, result.asset, None, params))
                body.update(reply_fields(result.asset))
                body["existing"] = True
                return body
            body.update(await analysis_fields(services, origin, result.asset, spooled.path, params, measured=self.measured))
            body.update(reply_fields(result.asset, self.findings))
            faces = clamped_faces(result.asset)
            if faces is not None and "faces" in body:
                body["faces"] = faces  # stored coordinates, cut to the image, replace detected faces
            if parse_bool(params.get("visual_search"), False) and result.asset.resource_type == "image":
                await index_for_visual_search(services, result.asset, spooled.path)
            if self.eager and eager_deferred(params, result.asset):
                body["eager"] = await defer_eager(services, origin, result.asset, self.eager, params, api_key=self.api_key)
            elif self.eager:
                body["eager"] = await render_eager(services, origin, result.asset, self.eager)
            if result.overwritten:
                body["overwritten"] = True
            if params.get("on_success"):
                body = await on_success_job(services, self.cloud, result.asset, params["on_success"], body)
        for entry in result.asset.annotations.get("moderation") or []:  # once the upload is answered: never rolled back
            if entry["kind"] != "manual" and entry["status"] in ("approved", "rejected"):
                await moderation_decided(services, result.asset, entry, params.get("notification_url"), api_key=self.api_key)
        return body


async def index_for_visual_search(services: Services, asset: Asset, path: Path) -> None:
    """Keep the features `visual_search` ranks this image by (upload's `visual_search=true`)."""
    features = await anyio.to_thread.run_sync(insights.visual_features, path)
    await services.db(set_visual_features, asset.pk, features)


@contextlib.asynccontextmanager
async def kept_only_if_answered(services: Services, result: SaveResult) -> AsyncIterator[None]:
    """Run the work after the commit; if it fails, remove the version this request stored
    (not an asset that already existed) and let the error through (module docstring)."""
    try:
        yield
    except BaseException:
        if not result.existing:
            await _roll_back(services, result.asset)
        raise


async def _roll_back(services: Services, asset: Asset) -> None:
    try:
        keys = await services.db(remove_version, asset.pk, asset.version_id)
    except Exception:  # noqa: BLE001 - the original error is the one to answer; fsck reports the rest
        log.warning("could not roll back %s/%s after a failed upload", asset.cloud, asset.public_id, exc_info=True)
        return
    services.caches.forget()
    await delete_blobs(services, keys)
    log.info("rolled back %s/%s: the upload failed after it was stored", asset.cloud, asset.public_id)
