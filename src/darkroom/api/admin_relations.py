"""Admin API: related assets, publishing, access mode and visual search (reference
cloudinary-api-breadth §7). Thin handlers over `catalog.relations`; replies as Cloudinary's.

Routes here come before `admin.routes`, whose `/resources/{rt}/{t}/{public_id}` would
otherwise take `/resources/related_assets/…`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.api.admin_http import Admin, as_bool, as_list, authorize, guard_routes, list_item, resource_type_of
from darkroom.api.multipart import read_upload_form
from darkroom.catalog import relations
from darkroom.catalog.listing import asset_by_asset_id
from darkroom.errors import Invalid
from darkroom.imaging import insights
from darkroom.imaging.errors import InvalidImage
from darkroom.media.sources import fetch_remote, is_remote_source
from darkroom.media.spool import SpooledFile
from darkroom.media.visual_search import visually_nearest

__all__ = ["routes"]

PREFIX = "/v1_1/{cloud}/resources"


def _relation_reply(admin: Admin, result: relations.RelationResult) -> Response:
    return admin.reply({"success": result.success, "failed": result.failed})


async def related_by_public_id(request: Request) -> Response:
    """POST/DELETE `/resources/related_assets/{rt}/{t}/{public_id}`: `assets_to_relate`/`assets_to_unrelate`."""
    admin = await authorize(request)
    path = request.path_params
    source = f"{path['resource_type']}/{path['type']}/{path['public_id']}"
    return await _relate(admin, source)


async def related_by_asset_id(request: Request) -> Response:
    admin = await authorize(request)
    return await _relate(admin, request.path_params["asset_id"])


async def _relate(admin: Admin, source: str) -> Response:
    add = admin.request.method == "POST"
    targets = as_list(admin.param("assets_to_relate" if add else "assets_to_unrelate"))
    return _relation_reply(admin, await admin.db(relations.relate, source, targets, add=add))


async def publish(request: Request) -> Response:
    """`publish_by_ids/prefix/tag`: POST `/resources/{rt}/publish_resources`."""
    admin = await authorize(request)
    outcome = await admin.db(
        relations.publish, resource_type_of(request), admin.param("type") or None, as_list(admin.param("public_ids")),
        admin.param("prefix") or None, admin.param("tag") or None, overwrite=as_bool(admin.param("overwrite")),
    )
    return admin.reply({"published": [list_item(admin, asset) for asset in outcome.changed],
                        "failed": [{"public_id": public_id, "error": message} for public_id, message in outcome.failed]})


async def access_mode(request: Request) -> Response:
    """`update_resources_access_mode_by_ids/prefix/tag` (the Node SDK): POST `/resources/{rt}/{t}/update_access_mode`."""
    admin = await authorize(request)
    outcome = await admin.db(
        relations.update_access_mode, resource_type_of(request), request.path_params["type"], str(admin.required("access_mode")),
        as_list(admin.param("public_ids")), admin.param("prefix") or None, admin.param("tag") or None,
    )
    return admin.reply({"updated": [{"public_id": a.public_id, "access_mode": a.access_mode} for a in outcome.changed],
                        "failed": [{"public_id": public_id, "error": message} for public_id, message in outcome.failed]})


async def visual_search(request: Request) -> Response:
    """POST `/resources/visual_search` with one of `image_url`, `image_asset_id`, `image_file`:
    the cloud's images uploaded with `visual_search=true`, nearest first by darkroom's own
    ranking (`media.visual_search`). `text` needs a language model darkroom does
    not ship: a 400 that says so."""
    admin = await authorize(request, read_body=False)
    services = admin.services
    form = await read_upload_form(request, services.spool_dir, services.settings.max_upload_bytes)
    try:
        params: dict[str, Any] = {**admin.params, **form.flat()}
        query = await _query_features(admin, params, form.file)
    finally:
        if form.file is not None:
            form.file.discard()
    itself = str(params.get("image_asset_id") or "")  # among equally close images, the asked one first
    nearest = await visually_nearest(services, admin.cloud, query, itself)
    return admin.reply({"resources": [list_item(admin, asset) for asset in nearest]})


async def _query_features(admin: Admin, params: dict[str, Any], upload: SpooledFile | None) -> dict[str, Any]:
    given = [name for name in ("image_url", "image_asset_id", "text") if params.get(name)] + (["image_file"] if upload else [])
    if len(given) != 1:
        raise Invalid("Exactly one of image_url, image_asset_id, text or image_file is required")
    if given == ["text"]:
        raise Invalid("Visual search by text is not supported: search by image_url, image_asset_id or image_file")
    if given == ["image_asset_id"]:
        asset, _ = await admin.db(asset_by_asset_id, str(params["image_asset_id"]))
        async with admin.services.local_file(asset.storage_key) as path:
            return await _features(path)
    if upload is not None:
        return await _features(upload.path)
    url = str(params["image_url"])
    if not is_remote_source(url):
        raise Invalid(f"Invalid image_url - {url}")
    settings = admin.services.settings
    fetched = await fetch_remote(url, admin.services.spool_dir, max_bytes=settings.max_upload_bytes,
                                 timeout=settings.fetch_timeout, allow=settings.fetch_allow)
    try:
        return await _features(fetched.path)
    finally:
        fetched.discard()


async def _features(path: Path) -> dict[str, Any]:
    try:
        return await anyio.to_thread.run_sync(insights.visual_features, path)
    except InvalidImage as error:
        raise Invalid("The image for visual search could not be read") from error


routes = guard_routes([
    Route(f"{PREFIX}/visual_search", visual_search, methods=["POST"]),
    Route(f"{PREFIX}/related_assets/{{resource_type}}/{{type}}/{{public_id:path}}", related_by_public_id, methods=["POST", "DELETE"]),
    Route(f"{PREFIX}/related_assets/{{asset_id}}", related_by_asset_id, methods=["POST", "DELETE"]),
    Route(f"{PREFIX}/{{resource_type}}/publish_resources", publish, methods=["POST"]),
    Route(f"{PREFIX}/{{resource_type}}/{{type}}/update_access_mode", access_mode, methods=["POST"]),
])
