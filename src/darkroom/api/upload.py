"""The Upload API: `POST /v1_1/{cloud}/{resource_type}/{action}`.

Thin handlers: read the form, establish the caller, call ingest or the catalog, shape the
reply. Actions: upload (incl. chunked), destroy, rename, tags, context, explicit.
"""

from __future__ import annotations

from typing import Any

import anyio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.actions import Action, ActionContext, required, resource_reply
from darkroom.api.callers import apply_preset, authenticate
from darkroom.media.chunks import parse_content_range, receive_chunk
from darkroom.api import generate
from darkroom.media.eager import EagerItem, cloud_named, defer_eager, eager_deferred, parse_eager, render_eager
from darkroom.media.addons import addon_request, analyse_stored, record_stored
from darkroom.media.analysis import analysis_fields, check_analysis_params
from darkroom.media.ingest import UploadOptions, base_public_id, delete_blobs
from darkroom.media.notifications import announce, asset_ref, context_changed_body, renamed_body, tags_changed_body
from darkroom.media.uploads import store_upload
from darkroom.api.multipart import read_upload_form
from darkroom.media.spool import SpooledFile
from darkroom.media.params import parse_bool, parse_context, parse_list
from darkroom.media.purge import Cached, purge_cached
from darkroom.media.services import services_of
from darkroom.api.shapes import origin_of
from darkroom.media.sources import decode_data_uri, fetch_remote, is_remote_source
from darkroom.auth import MissingParameter
from darkroom.auth.signing import TAG_ACTIONS
from darkroom.catalog.updates import AssetChanges, update_resource
from darkroom.errors import Invalid, NotFound
from darkroom.vocabulary import UPLOAD_RESOURCE_TYPES
from darkroom.transform import parse

__all__ = ["routes"]


async def upload_api(request: Request) -> Response:
    cloud = request.path_params["cloud"]
    resource_type = request.path_params["resource_type"]
    action = request.path_params["action"]
    services = services_of(request)
    if resource_type not in UPLOAD_RESOURCE_TYPES:
        raise NotFound(f"Invalid resource type - {resource_type}")
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"Unsupported action - {action}")
    await services.require_cloud(cloud)
    form = await read_upload_form(request, services.spool_dir, services.settings.max_upload_bytes)
    try:
        params = form.flat()
        caller = await authenticate(services, request, cloud, params, action)
        context = ActionContext(request, services, cloud, resource_type, action, form, params, caller)
        return await handler(context)
    finally:
        if form.file is not None:
            form.file.discard()


async def upload(ctx: ActionContext) -> Response:
    params = apply_preset(ctx.params, ctx.caller)
    named = await cloud_named(ctx.services, ctx.cloud, params.get("eager", ""), params.get("transformation", ""))
    if named is not None and params.get("transformation"):
        # The incoming transformation is rendered by ingest, which knows no clouds' names: it gets the expansion.
        params = {**params, "transformation": parse(params["transformation"], named=named).canonical()}
    options = UploadOptions.from_params(params, ctx.resource_type, signed=ctx.caller.signed)
    check_analysis_params(params)
    addon_request(params, "upload")  # a bad add-on value refuses even the first chunk
    eager = parse_eager(params.get("eager", ""), named)  # parsed before anything is stored, so a bad one stores nothing
    content_range = ctx.request.headers.get("content-range")
    if content_range:
        return await _upload_chunk(ctx, options, params, eager, content_range)
    spooled = await _source_file(ctx, params)
    try:
        return await _store_and_reply(ctx, spooled, options, params, eager)
    finally:
        if spooled is not ctx.form.file:
            spooled.discard()


async def _upload_chunk(
    ctx: ActionContext, options: UploadOptions, params: dict[str, str], eager: list[EagerItem], content_range: str
) -> Response:
    upload_id = ctx.request.headers.get("x-unique-upload-id", "")
    if ctx.form.file is None or not upload_id:
        raise Invalid("Chunked uploads need a file part and an X-Unique-Upload-Id header")
    whole = await receive_chunk(ctx.services, ctx.cloud, upload_id, parse_content_range(content_range), ctx.form.file)
    if whole is None:
        # The SDK sends the next chunk with the public_id it reads here.
        public_id = base_public_id(options, options.filename_override or ctx.form.file.filename, ctx.resource_type)
        return JSONResponse({"done": False, "upload_id": upload_id, "public_id": public_id})
    try:
        return await _store_and_reply(ctx, whole, options, params, eager)
    finally:
        whole.discard()


async def _source_file(ctx: ActionContext, params: dict[str, str]) -> SpooledFile:
    if ctx.form.file is not None:
        return ctx.form.file
    source = params.get("file", "")
    settings = ctx.services.settings
    if not source:
        raise MissingParameter("Missing required parameter - file")
    if source.startswith("data:"):
        return await anyio.to_thread.run_sync(
            lambda: decode_data_uri(source, ctx.services.spool_dir, max_bytes=settings.max_upload_bytes)
        )
    if is_remote_source(source):
        return await fetch_remote(
            source, ctx.services.spool_dir, max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout, allow=settings.fetch_allow
        )
    raise Invalid("Invalid file parameter: expected a file, a data: URI or an http(s) URL")


async def _store_and_reply(
    ctx: ActionContext, spooled: SpooledFile, options: UploadOptions, params: dict[str, str], eager: list[EagerItem]
) -> Response:
    # media.uploads holds the invariant: this request stores nothing, or stores and answers 2xx.
    body = await store_upload(
        ctx.services, ctx.cloud, spooled, options, params, eager, _origin(ctx), lambda asset: resource_reply(ctx, asset), api_key=_key(ctx)
    )
    if _invalidate(ctx) and body.get("overwritten"):  # a new public ID has nothing cached to drop
        await purge_cached(ctx.services, Cached(ctx.cloud, str(body["resource_type"]), str(body["type"]), str(body["public_id"]), str(body.get("asset_id", ""))))
    await _announce(ctx, "upload", body, params)
    return JSONResponse(body)


def _invalidate(ctx: ActionContext) -> bool:
    """`invalidate=true`: drop the CDN's copies of what this call changes (`media.purge`)."""
    return parse_bool(ctx.params.get("invalidate"), False)


def _key(ctx: ActionContext) -> str | None:
    """The key that signed the call: its secret signs the call's notifications."""
    return ctx.caller.key.api_key if ctx.caller.key is not None else None


async def _announce(ctx: ActionContext, notification_type: str, body: dict[str, Any], params: dict[str, str] | None = None) -> None:
    """Cloudinary's notification of a change this call made (media.notifications).

    On tags/context/metadata the SDK sends `notification_url` outside the signature, so there
    it is ignored (the cloud's URL and triggers serve): else anyone replaying a signed call
    could send its webhook, signed with the caller's key, wherever they liked."""
    url = None if ctx.action in TAG_ACTIONS else (params or ctx.params).get("notification_url") or None
    await announce(ctx.services, ctx.cloud, notification_type, body, url=url, api_key=_key(ctx))


def _asset_resource_type(ctx: ActionContext) -> str:
    # Actions other than upload address one resource type; "auto" means image, as Cloudinary's SDK defaults.
    return "image" if ctx.resource_type == "auto" else ctx.resource_type


async def destroy(ctx: ActionContext) -> Response:
    public_id = required(ctx.params, "public_id")
    found = await ctx.services.db(
        catalog.delete_asset, ctx.cloud, _asset_resource_type(ctx), _type(ctx), public_id
    )
    if found is None:
        return JSONResponse({"result": "not found"})
    await delete_blobs(ctx.services, found[1])
    if _invalidate(ctx):
        gone = found[0]
        await purge_cached(ctx.services, Cached(ctx.cloud, gone.resource_type, gone.type, gone.public_id, gone.asset_id))
    await _announce(ctx, "delete", {"resources": [asset_ref(found[0])]})
    return JSONResponse({"result": "ok"})


async def rename(ctx: ActionContext) -> Response:
    from_type = _type(ctx)
    renamed, freed = await ctx.services.db(
        catalog.rename_asset,
        ctx.cloud,
        _asset_resource_type(ctx),
        from_type,
        required(ctx.params, "from_public_id"),
        ctx.params.get("to_type") or from_type,
        required(ctx.params, "to_public_id"),
        overwrite=parse_bool(ctx.params.get("overwrite"), False),
    )
    await delete_blobs(ctx.services, freed)
    if _invalidate(ctx):  # the old public ID's copies: it now names nothing (or another asset)
        await purge_cached(ctx.services, Cached(ctx.cloud, renamed.resource_type, from_type, required(ctx.params, "from_public_id"), renamed.asset_id))
    await _announce(ctx, "rename", renamed_body(renamed, ctx.params["from_public_id"]))
    return JSONResponse(await resource_reply(ctx, renamed))


def _type(ctx: ActionContext) -> str:
    return ctx.params.get("type") or "upload"


def _public_ids(ctx: ActionContext) -> list[str]:
    """The `public_ids[]` an action applies to (sent as repeated fields)."""
    public_ids = ctx.form.fields.get("public_ids") or []
    if not public_ids:
        raise MissingParameter("Missing required parameter - public_ids")
    return public_ids


TAG_COMMANDS = ("add", "remove", "replace", "remove_all", "set_exclusive")


async def tags(ctx: ActionContext) -> Response:
    command = required(ctx.params, "command")
    if command not in TAG_COMMANDS:
        raise Invalid(f"Invalid command - {command}")
    tag_list = parse_list(ctx.params.get("tag"))
    if command != "remove_all" and not tag_list:
        raise MissingParameter("Missing required parameter - tag")
    updated = await ctx.services.db(
        catalog.update_tags, ctx.cloud, _asset_resource_type(ctx), _type(ctx), _public_ids(ctx), command, tag_list
    )
    if updated:
        body = tags_changed_body(updated, _asset_resource_type(ctx), _type(ctx), command, tag_list)
        await _announce(ctx, "resource_tags_changed", body)
    return JSONResponse({"public_ids": updated})


async def context(ctx: ActionContext) -> Response:
    command = required(ctx.params, "command")
    if command not in ("add", "remove_all"):
        raise Invalid(f"Invalid command - {command}")
    values = parse_context(ctx.params.get("context"))
    if command == "add" and not values:
        raise MissingParameter("Missing required parameter - context")
    updated = await ctx.services.db(
        catalog.update_context, ctx.cloud, _asset_resource_type(ctx), _type(ctx), _public_ids(ctx), command, values
    )
    if updated:
        body = context_changed_body(updated, _asset_resource_type(ctx), _type(ctx), command, values)
        await _announce(ctx, "resource_context_changed", body)
    return JSONResponse({"public_ids": updated})


async def explicit(ctx: ActionContext) -> Response:
    public_id = required(ctx.params, "public_id")
    eager_text = ctx.params.get("eager", "")
    eager = parse_eager(eager_text, await cloud_named(ctx.services, ctx.cloud, eager_text))  # before any change, so a bad one changes nothing
    params = ctx.params
    changes = AssetChanges(
        tags=parse_list(params["tags"]) if "tags" in params else None,
        context=parse_context(params["context"]) if "context" in params else None,
        metadata=parse_context(params["metadata"]) if "metadata" in params else None,
        display_name=params.get("display_name"),
    )
    # Analyses and eager renders first, so one that fails changes nothing (renders are cached
    # derivatives, not changes); then the Admin API's update (validated metadata, tags
    # replaced) in one transaction.
    current = await ctx.services.db(catalog.get_asset, ctx.cloud, _asset_resource_type(ctx), _type(ctx), public_id)
    if current is None:
        raise catalog.AssetNotFound(f"Resource not found - {public_id}")
    analysis = await analyse_stored(ctx.services, current, addon_request(params, "upload"))
    try:
        fields = await analysis_fields(ctx.services, _origin(ctx), current, None, ctx.params)
        if eager and eager_deferred(params, current):
            fields["eager"] = await defer_eager(ctx.services, _origin(ctx), current, eager, params, api_key=_key(ctx))
        elif eager:
            fields["eager"] = await render_eager(ctx.services, _origin(ctx), current, eager)
        asset = await ctx.services.db(update_resource, ctx.cloud, _asset_resource_type(ctx), _type(ctx), public_id, changes)
        asset, addon_fields = await record_stored(ctx.services, asset, analysis, params.get("notification_url"), api_key=_key(ctx))
    finally:
        analysis.discard()
    if _invalidate(ctx):
        await purge_cached(ctx.services, Cached(ctx.cloud, asset.resource_type, asset.type, asset.public_id, asset.asset_id))
    body = await resource_reply(ctx, asset)
    body.update(fields)
    body.update(addon_fields)
    await _announce(ctx, "explicit", body)
    return JSONResponse(body)


ACTIONS: dict[str, Action] = {
    "upload": upload,
    "destroy": destroy,
    "rename": rename,
    "tags": tags,
    "context": context,
    "explicit": explicit,
    "text": generate.text,
    "sprite": generate.sprite,
    "multi": generate.multi,
    "explode": generate.explode,
}

def _origin(ctx: ActionContext) -> str:
    """Where this reply's delivery URLs start (`media.shapes.delivery_origin`)."""
    return origin_of(ctx.request, ctx.services.settings)


routes = [Route("/v1_1/{cloud}/{resource_type}/{action}", upload_api, methods=["POST"]), *generate.routes]
