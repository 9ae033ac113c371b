"""Admin API, assets: ping, usage, config, listings, details, update, deletes, tags.

Thin handlers: authorize, read the parameters the SDK sends, call one catalog function,
shape the reply as Cloudinary does. Routes are ordered as Cloudinary resolves its shared
`/resources` prefix (reference §3.2): fixed words first, then the `{rt}/{t}/{public_id}` forms.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.api.admin_analysis import analysis_fields
from darkroom.auth.access_control import Rule, parse_access_control
from darkroom.api.admin_http import Admin, as_bool, as_list, authorize, canonical_transformation, guard_routes, list_item, reply, resource_type_of
from darkroom.api.callers import authenticate
from darkroom.media.addons import StoredAnalysis, addon_request, analyse_stored, moderation_decided, record_stored, stored_coordinates
from darkroom.media.ingest import delete_blobs
from darkroom.media.notifications import announce
from darkroom.api.multipart import read_upload_form
from darkroom.media.services import services_of
from darkroom.media.params import parse_context, parse_list
from darkroom.api.shapes import delivery_urls
from darkroom.catalog import listing, usage
from darkroom.catalog import backups, relations
from darkroom.catalog.errors import AssetNotFound
from darkroom.catalog.deletion import Deletion, Target, delete_by_asset_ids, delete_by_public_ids, delete_derived_ids, delete_matching
from darkroom.catalog.listing import Listing, max_results_from
from darkroom.catalog.named_transformations import delivery_rules
from darkroom.catalog.updates import AssetChanges, update_resource, update_metadata as update_metadata_of
from darkroom.errors import Invalid
from darkroom.vocabulary import STORED_RESOURCE_TYPES

__all__ = ["routes"]

PREFIX = "/v1_1/{cloud}"


async def ping(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply({"status": "ok"})


# Requests, bandwidth and transformations without a date: the last 30 days, Cloudinary's plan cycle.
USAGE_PERIOD_DAYS = 30


async def usage_report(request: Request) -> Response:
    admin = await authorize(request)
    today = datetime.now(UTC).date()
    asked = request.path_params.get("date")
    day = _usage_date(asked) if asked else None
    first_day, last_day = (day, day) if day else (today - timedelta(days=USAGE_PERIOD_DAYS - 1), today)
    report = await admin.db(usage.usage, first_day, last_day)
    settings = admin.services.settings
    return admin.reply({
        "plan": "Self-hosted",
        "last_updated": today.isoformat(),
        "date_requested": (day or today).isoformat(),
        "transformations": {"usage": report.transformations, "credits_usage": 0},
        "objects": {"usage": report.resources},
        "bandwidth": {"usage": report.bandwidth, "credits_usage": 0},
        "storage": {"usage": report.storage_bytes, "credits_usage": 0},
        "requests": report.requests,
        "resources": report.resources,
        "derived_resources": report.derived_resources,
        "media_limits": {"image_max_size_bytes": settings.max_upload_bytes,
                         "video_max_size_bytes": settings.max_upload_bytes,
                         "raw_max_size_bytes": settings.max_upload_bytes,
                         "image_max_px": settings.max_image_pixels},
    })


def _usage_date(text: str) -> date:
    """The SDK sends a `datetime.date` as dd-mm-yyyy and a string as given (yyyy-mm-dd in the docs)."""
    for layout in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise Invalid(f"Invalid date {text}; use yyyy-mm-dd or dd-mm-yyyy")


async def config(request: Request) -> Response:
    admin = await authorize(request)
    body: dict[str, Any] = {"cloud_name": admin.cloud}
    if as_bool(admin.param("settings")):
        body["settings"] = {"folder_mode": admin.folder_mode}
    return admin.reply(body)


async def resource_types(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply({"resource_types": list(STORED_RESOURCE_TYPES)})


# -- listings -------------------------------------------------------------------------------


def _listing(admin: Admin, **filters: Any) -> Listing:
    start_at = admin.param("start_at")
    return Listing(
        direction=admin.param("direction"),
        max_results=max_results_from(admin.param("max_results")),
        next_cursor=admin.param("next_cursor") or None,
        start_at=_moment(start_at) if start_at else None,
        **filters,
    )


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(f"Invalid start_at - {text}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _page(admin: Admin, filters: Listing) -> Response:
    page = await admin.db(listing.list_resources, filters)
    body: dict[str, Any] = {"resources": [list_item(admin, a) for a in page.assets]}
    if page.next_cursor:
        body["next_cursor"] = page.next_cursor
    return admin.reply(body)


async def resources_or_asset(request: Request) -> Response:
    """`/resources/{x}`: a listing when x is a resource type, else an asset_id's details."""
    if request.path_params["resource_type"] in STORED_RESOURCE_TYPES:
        return await list_by_type(request)
    admin = await authorize(request)
    asset, derived = await admin.db(listing.asset_by_asset_id, request.path_params["resource_type"])
    return admin.reply({**_details(admin, asset, derived), **await analysis_fields(admin, asset)})


async def list_by_type(request: Request) -> Response:
    admin = await authorize(request)
    filters = _listing(admin, resource_type=resource_type_of(request), type=request.path_params.get("type"),
                       prefix=admin.param("prefix") or None)
    return await _page(admin, filters)


async def by_type_and_delivery(request: Request) -> Response:
    """GET `/resources/{rt}/{t}`: `resources_by_ids` when public_ids are given, else a listing."""
    admin = await authorize(request)
    public_ids = as_list(admin.param("public_ids"))
    if not public_ids:
        filters = _listing(admin, resource_type=resource_type_of(request), type=request.path_params["type"],
                           prefix=admin.param("prefix") or None)
        return await _page(admin, filters)
    found = await admin.db(listing.resources_by_public_ids, resource_type_of(request), request.path_params["type"], public_ids)
    return admin.reply({"resources": [list_item(admin, a) for a in found]})


async def by_asset_ids(request: Request) -> Response:
    admin = await authorize(request)
    found = await admin.db(listing.resources_by_asset_ids, as_list(admin.param("asset_ids")))
    return admin.reply({"resources": [list_item(admin, a) for a in found]})


async def by_asset_folder(request: Request) -> Response:
    admin = await authorize(request)
    folder = str(admin.required("asset_folder")).strip("/")
    return await _page(admin, _listing(admin, resource_type=None, asset_folder=folder))


async def by_tag(request: Request) -> Response:
    admin = await authorize(request)
    return await _page(admin, _listing(admin, resource_type=resource_type_of(request), tag=request.path_params["tag"]))


async def by_context(request: Request) -> Response:
    admin = await authorize(request)
    key = str(admin.required("key"))
    value = admin.param("value")
    return await _page(admin, _listing(admin, resource_type=resource_type_of(request), context_key=key,
                                       context_value=None if value in (None, "") else str(value)))


async def by_moderation(request: Request) -> Response:
    """`resources_by_moderation(kind, status)`: assets a kind moderated, by their overall status."""
    admin = await authorize(request)
    filters = _listing(admin, resource_type=resource_type_of(request), moderation_status=request.path_params["status"],
                       moderation_kind=request.path_params["kind"])
    return await _page(admin, filters)


# -- one asset ------------------------------------------------------------------------------


def _details(admin: Admin, asset: Any, derived: list[listing.Derived]) -> dict[str, Any]:
    body = list_item(admin, asset, detail=True)
    body["tags"] = list(asset.tags)
    limit = max_results_from(admin.param("max_results"), default=500)
    body["derived"] = [_derived_json(admin, asset, d) for d in derived[:limit]]
    if len(derived) > limit:
        body["derived_next_cursor"] = str(limit)
    return body


def _derived_json(admin: Admin, asset: Any, item: listing.Derived) -> dict[str, Any]:
    url, secure_url = delivery_urls(admin.request, admin.services.settings, asset, item.transformation, item.format)
    return {"transformation": item.transformation, "format": item.format, "bytes": item.bytes, "id": str(item.id),
            "url": url, "secure_url": secure_url}


async def resource(request: Request) -> Response:
    admin = await authorize(request)
    path = request.path_params
    identity = (resource_type_of(request), path["type"], path["public_id"])
    try:
        asset, derived = await admin.db(listing.asset_details, *identity)
    except AssetNotFound:
        # Deleted, but a backup is kept: Cloudinary still answers, with a placeholder resource.
        asset, derived = await admin.db(backups.placeholder, *identity), []
    body = {**_details(admin, asset, derived), **await analysis_fields(admin, asset)}
    if as_bool(admin.param("faces")) and asset.annotations.get("faces"):
        body["faces"] = stored_coordinates(asset)["faces"]  # stored coordinates replace detected faces
    if as_bool(admin.param("coordinates")):
        body["coordinates"] = stored_coordinates(asset)
    if as_bool(admin.param("versions")):
        body["versions"] = await admin.db(backups.asset_versions, asset)
    if as_bool(admin.param("related")):
        body["related_assets"] = [_related_json(a) for a in await admin.db(relations.related_of, asset)]
    return admin.reply(body)


def _related_json(asset: Any) -> dict[str, Any]:
    return {"asset_id": asset.asset_id, "public_id": asset.public_id, "resource_type": asset.resource_type,
            "type": asset.type, "format": asset.format, "version": asset.version}


async def update(request: Request) -> Response:
    admin = await authorize(request)
    path = request.path_params
    params = admin.params
    wanted = addon_request({k: v for k, v in params.items() if k != "moderation"}, "update")  # `moderation` is no update parameter
    current = (await admin.db(listing.asset_details, resource_type_of(request), path["type"], path["public_id"]))[0] if wanted.analyses else None
    analysis = await analyse_stored(admin.services, current, wanted)
    try:
        return await _update(admin, request, analysis)
    finally:
        analysis.discard()


async def _update(admin: Admin, request: Request, analysis: StoredAnalysis) -> Response:
    path = request.path_params
    params = admin.params
    changes = AssetChanges(
        tags=_tags_param(params.get("tags")),
        context=parse_context(params["context"]) if params.get("context") is not None else None,
        metadata=_metadata_param(params.get("metadata")),
        clear_invalid=as_bool(params.get("clear_invalid")),
        display_name=params.get("display_name"),
        asset_folder=params.get("asset_folder"),
        moderation_status=params.get("moderation_status"),
        access_mode=params.get("access_mode"),
        access_control=_access_control_param(params.get("access_control")),
    )
    asset = await admin.db(update_resource, resource_type_of(request), path["type"], path["public_id"], changes)
    url = str(params.get("notification_url") or "") or None
    asset, addon_fields = await record_stored(admin.services, asset, analysis, url, api_key=admin.api_key)
    if changes.moderation_status is not None:
        entries = asset.annotations.get("moderation") or [{}]
        entry: dict[str, Any] = next((e for e in entries if e.get("kind") == "manual"), entries[-1])  # as with_moderation_status chose
        await moderation_decided(admin.services, asset, entry, url, api_key=admin.api_key, manual=True)
    derived = (await admin.db(listing.asset_details, asset.resource_type, asset.type, asset.public_id))[1]
    return admin.reply({**_details(admin, asset, derived), **addon_fields})


def _access_control_param(value: Any) -> list[Rule] | None:
    """`access_control` as the SDKs send it (JSON text), or already parsed from a JSON body; "" removes the rules."""
    if value is None:
        return None
    if value == "":
        return []
    return parse_access_control(value if isinstance(value, str) else json.dumps(value))


def _tags_param(value: Any) -> list[str] | None:
    """`tags` replaces the set: `"a,b"` as the SDK sends it, or a JSON array."""
    if value is None:
        return None
    return parse_list(value) if isinstance(value, str) else as_list(value)


def _metadata_param(value: Any) -> dict[str, Any] | None:
    """`metadata` as `k=v|k2=["a","b"]` text (reference §8.1) or a JSON object."""
    if value is None:
        return None
    if isinstance(value, dict):
        return dict(value)
    return dict(parse_context(str(value)))


# -- deletes --------------------------------------------------------------------------------


async def _target(admin: Admin) -> Target:
    texts = [t for t in str(admin.param("transformations") or "").split("|") if t]
    # Derivatives are recorded under their canonical, expanded form: `c_scale,w_100` finds
    # `w_100`, and `t_thumb` finds what delivery recorded for the thumb transformation.
    named = (await admin.db(delivery_rules)).named.get if any("t_" in t for t in texts) else None
    chosen = tuple(canonical_transformation(t, named) for t in texts)
    return Target(keep_original=as_bool(admin.param("keep_original")), transformations=chosen)


async def _deletion_reply(admin: Admin, outcome: Deletion, kind: dict[str, str] | None = None, id_field: str = "public_id") -> Response:
    await delete_blobs(admin.services, outcome.storage_keys)
    gone = [key for key, counts in outcome.counts.items() if counts.get("original")]
    if gone:  # Cloudinary's `delete` notification: the call's notification_url, else the cloud's
        resources = [{**(kind or {}), id_field: key} for key in gone]
        url = admin.param("notification_url") or None
        await announce(admin.services, admin.cloud, "delete", {"resources": resources}, url=url, api_key=admin.api_key)
    body: dict[str, Any] = {"deleted": outcome.deleted, "deleted_counts": outcome.counts, "partial": outcome.partial}
    if outcome.next_cursor:
        body["next_cursor"] = outcome.next_cursor
    return admin.reply(body)


async def delete_resources(request: Request) -> Response:
    """DELETE `/resources/{rt}/{t}`: by public_ids, by prefix, or all."""
    admin = await authorize(request)
    resource_type, type_ = resource_type_of(request), request.path_params["type"]
    target = await _target(admin)
    public_ids = as_list(admin.param("public_ids"))
    if public_ids:
        outcome = await admin.db(delete_by_public_ids, resource_type, type_, public_ids, target)
    elif admin.param("prefix") or as_bool(admin.param("all")):
        outcome = await admin.db(
            delete_matching, resource_type, type_, prefix=admin.param("prefix") or None,
            everything=as_bool(admin.param("all")), target=target, next_cursor=admin.param("next_cursor") or None,
        )
    else:
        raise Invalid("Missing required parameter - public_ids")
    return await _deletion_reply(admin, outcome, {"resource_type": resource_type, "type": type_})


async def delete_by_tag(request: Request) -> Response:
    admin = await authorize(request)
    outcome = await admin.db(delete_matching, resource_type_of(request), None, tag=request.path_params["tag"],
                             target=await _target(admin), next_cursor=admin.param("next_cursor") or None)
    return await _deletion_reply(admin, outcome)


async def delete_by_asset_id_list(request: Request) -> Response:
    admin = await authorize(request)
    outcome = await admin.db(delete_by_asset_ids, as_list(admin.param("asset_ids")), await _target(admin))
    return await _deletion_reply(admin, outcome, id_field="asset_id")


async def delete_derived(request: Request) -> Response:
    admin = await authorize(request)
    outcome = await admin.db(delete_derived_ids, as_list(admin.param("derived_resource_ids")))
    await delete_blobs(admin.services, outcome.storage_keys)
    return admin.reply({"deleted": outcome.deleted})


async def restore(request: Request) -> Response:
    """`restore`: deleted assets come back from their backups (a cloud setting), each id answered on its own."""
    admin = await authorize(request)
    path = request.path_params
    outcome = await admin.db(backups.restore_assets, path.get("resource_type", "image"), path.get("type", "upload"),
                             as_list(admin.param("public_ids")), as_list(admin.param("asset_ids")), datetime.now(UTC),
                             as_list(admin.param("versions")))
    await delete_blobs(admin.services, outcome.storage_keys)
    body: dict[str, Any] = {shown: {"error": {"message": message}} for shown, message in outcome.errors.items()}
    for shown, identity in outcome.assets.items():
        asset, derived = await admin.db(listing.asset_details, *identity)
        body[shown] = _details(admin, asset, derived)
    return admin.reply(body)


async def delete_backed_up(request: Request) -> Response:
    """`delete_backed_up_assets(asset_id, version_ids)`: drop kept versions of an asset."""
    admin = await authorize(request)
    asset_id = request.path_params["asset_id"]
    outcome = await admin.db(backups.delete_versions, asset_id, as_list(admin.param("version_ids")))
    await delete_blobs(admin.services, outcome.storage_keys)
    return admin.reply({"asset_id": asset_id, "deleted_version_ids": outcome.version_ids})


# -- tags -----------------------------------------------------------------------------------


async def tags(request: Request) -> Response:
    admin = await authorize(request)
    found, cursor = await admin.db(
        listing.list_tags, resource_type_of(request), admin.param("prefix") or None,
        max_results_from(admin.param("max_results")), admin.param("next_cursor") or None,
    )
    body: dict[str, Any] = {"tags": found}
    if cursor:
        body["next_cursor"] = cursor
    return admin.reply(body)


async def update_metadata(request: Request) -> Response:
    """`uploader.update_metadata`: signed multipart POST `/{rt}/metadata` (an Upload-API-style call).

    Values are validated against the cloud's metadata fields; unknown ids are skipped, as
    Cloudinary skips them, and the reply lists the public IDs that were updated.
    """
    services = services_of(request)
    cloud, resource_type = request.path_params["cloud"], resource_type_of(request)
    await services.require_cloud(cloud)
    form = await read_upload_form(request, services.spool_dir, services.settings.max_upload_bytes)
    params = form.flat()
    await authenticate(services, request, cloud, params, "metadata")
    public_ids = form.fields.get("public_ids") or []
    if not public_ids:
        raise Invalid("Missing required parameter - public_ids")
    updated = await services.db(
        update_metadata_of, cloud, resource_type, params.get("type") or "upload", public_ids,
        _metadata_param(params.get("metadata", "")) or {}, clear_invalid=as_bool(params.get("clear_invalid")),
    )
    return reply({"public_ids": updated}, cloud)


R = f"{PREFIX}/resources"

routes = guard_routes([
    Route(f"{PREFIX}/{{resource_type}}/metadata", update_metadata, methods=["POST"]),
    Route(f"{PREFIX}/ping", ping, methods=["GET"]),
    Route(f"{PREFIX}/usage", usage_report, methods=["GET"]),
    Route(f"{PREFIX}/usage/{{date}}", usage_report, methods=["GET"]),
    Route(f"{PREFIX}/config", config, methods=["GET"]),
    Route(f"{PREFIX}/derived_resources", delete_derived, methods=["DELETE"]),
    Route(f"{PREFIX}/tags/{{resource_type}}", tags, methods=["GET"]),
    Route(R, resource_types, methods=["GET"]),
    Route(R, delete_by_asset_id_list, methods=["DELETE"]),
    Route(f"{R}/by_asset_ids", by_asset_ids, methods=["GET"]),
    Route(f"{R}/by_asset_folder", by_asset_folder, methods=["GET"]),
    Route(f"{R}/restore", restore, methods=["POST"]),
    Route(f"{R}/backup/{{asset_id}}", delete_backed_up, methods=["DELETE"]),
    Route(f"{R}/{{resource_type}}/tags/{{tag:path}}", by_tag, methods=["GET"]),
    Route(f"{R}/{{resource_type}}/tags/{{tag:path}}", delete_by_tag, methods=["DELETE"]),
    Route(f"{R}/{{resource_type}}/context", by_context, methods=["GET"]),
    Route(f"{R}/{{resource_type}}/moderations/{{kind}}/{{status}}", by_moderation, methods=["GET"]),
    Route(f"{R}/{{resource_type}}/{{type}}/restore", restore, methods=["POST"]),
    Route(f"{R}/{{resource_type}}/{{type}}/{{public_id:path}}", resource, methods=["GET"]),
    Route(f"{R}/{{resource_type}}/{{type}}/{{public_id:path}}", update, methods=["POST"]),
    Route(f"{R}/{{resource_type}}/{{type}}", by_type_and_delivery, methods=["GET"]),
    Route(f"{R}/{{resource_type}}/{{type}}", delete_resources, methods=["DELETE"]),
    Route(f"{R}/{{resource_type}}", resources_or_asset, methods=["GET"]),
])
