"""`eval` and `on_success` in an upload: what the scripts see, and applying what they ask.

`media.uploads.store_upload` calls these: `check_scripts` before anything is stored (a script
that does not parse is a 400 and nothing is stored), `apply_eval` inside ingest's
`before_storing` (after the probe and analyses, before the blob is written), and
`on_success_job` after the commit, under `kept_only_if_answered` (a script that fails there
removes the version just stored before its 400 is answered). The engine is `media.scripts`.

Cloudinary runs on_success after answering; here `on_success_job` runs before, so the reply
already shows its effect and a failing script is the caller's 400 (a documented difference).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import anyio
from anyio.lowlevel import RunVar

from darkroom.catalog import Asset
from darkroom.catalog.updates import AssetChanges, update_resource
from darkroom.imaging import MediaInfo
from darkroom.media.analysis import measure
from darkroom.media.ingest import UploadOptions
from darkroom.media.params import parse_context, parse_list
from darkroom.media.scripts import ScriptError, check_script, run_eval, run_on_success
from darkroom.media.services import Services

__all__ = ["check_scripts", "apply_eval", "on_success_job"]

# Upload parameters a script never sees: credentials and the file itself.
_HIDDEN = frozenset({"api_key", "signature", "signature_algorithm", "timestamp", "file", "eval", "on_success"})
_ANALYSES = ("colors", "phash", "faces", "quality_analysis")
# Scripts get their own threads, one per core: a burst of slow scripts must not fill the
# default thread pool that database calls wait on. One limiter per event loop (a RunVar).
_script_threads: RunVar[anyio.CapacityLimiter] = RunVar("darkroom_script_threads")


def _threads() -> anyio.CapacityLimiter:
    try:
        return _script_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(os.cpu_count() or 1)
        _script_threads.set(limiter)
        return limiter


async def check_scripts(params: dict[str, str]) -> None:
    for name in ("eval", "on_success"):
        if params.get(name):
            await anyio.to_thread.run_sync(check_script, name, params[name], limiter=_threads())


async def apply_eval(script: str, path: Path, resource_type: str, info: MediaInfo, size: int, options: UploadOptions,
                     params: dict[str, str], measured: dict[str, Any]) -> UploadOptions:
    """Run `eval` with `resource_info` from the probe and the analyses measured so far; returns the
    options it leaves. Analyses it turns on are measured now and added to `measured`, and to
    `params` (the caller's working copy) so the reply includes them."""
    resource_info = {"width": info.width, "height": info.height, "format": info.format, "bytes": size,
                     "pages": info.pages or 1, "resource_type": resource_type, **measured}
    shown = {name: value for name, value in params.items() if name not in _HIDDEN}
    changed = await anyio.to_thread.run_sync(run_eval, script, resource_info, shown, limiter=_threads())
    turned_on = {}
    for name in _ANALYSES:
        if name in changed:
            params[name] = "1" if _truthy(changed[name]) else "0"
            if params[name] == "1" and name not in measured:
                turned_on[name] = "1"
    if turned_on:
        measured.update(await measure(path, resource_type, info.width, info.height, turned_on))
    return dataclasses.replace(
        options,
        tags=tuple(_tags(changed["tags"])) if "tags" in changed else options.tags,
        context=_pairs(changed["context"], "context") if "context" in changed else options.context,
        metadata=_pairs(changed["metadata"], "metadata") if "metadata" in changed else options.metadata,
    )


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _tags(value: Any) -> list[str]:
    """`"a,b"` as the upload parameter takes it, or a JS array."""
    if isinstance(value, list):
        return [str(tag).strip() for tag in value if str(tag).strip()]
    return parse_list(str(value or ""))


def _pairs(value: Any, name: str) -> dict[str, Any]:
    """`k=v|k2=v2` as the upload parameter takes it, or a JS object."""
    if value in (None, ""):
        return {}
    if isinstance(value, (str, dict)):
        pairs = parse_context(value)
        return dict(pairs) if name == "metadata" else {k: str(v) for k, v in pairs.items()}
    raise ScriptError(f"eval: upload_options[{name!r}] must be a string or an object")


async def on_success_job(services: Services, cloud: str, asset: Asset, script: str, reply: dict[str, Any]) -> dict[str, Any]:
    """Run `on_success` on the upload's reply and apply its `current_asset.update(...)` calls;
    returns the reply with the tags, context and metadata they left."""
    event_info = {"event_type": "upload", "public_id": asset.public_id, "asset_id": asset.asset_id}
    updates = await anyio.to_thread.run_sync(run_on_success, script, reply, event_info, limiter=_threads())
    for update in updates:
        changes = AssetChanges(
            tags=_tags(update["tags"]) if "tags" in update else None,
            context=_pairs(update["context"], "context") if "context" in update else None,
            metadata=_pairs(update["metadata"], "metadata") if "metadata" in update else None,
        )
        asset = await services.db(update_resource, cloud, asset.resource_type, asset.type, asset.public_id, changes)
    if updates:
        services.caches.forget()
        reply = {**reply, "tags": list(asset.tags)}
        if asset.context:
            reply["context"] = {"custom": dict(asset.context)}
        if asset.metadata:
            reply["metadata"] = dict(asset.metadata)
    return reply
