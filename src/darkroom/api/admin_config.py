"""Admin API, configuration entities: upload presets, folders, named transformations,
structured metadata fields, streaming profiles.

Thin handlers over `catalog.presets`, `catalog.folders`, `catalog.named_transformations`,
`catalog.metadata_fields` and `catalog.streaming`; replies shaped as reference §3.4–3.5.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom import transform
from darkroom.api.admin_http import Admin, as_bool, as_list, authorize, canonical_transformation, guard_routes
from darkroom.catalog import folders, metadata_fields, named_transformations, presets, streaming
from darkroom.catalog.listing import max_results_from
from darkroom.errors import Invalid
from darkroom.transform.parser import NamedResolver

__all__ = ["routes", "transformation_info"]

PREFIX = "/v1_1/{cloud}"

# -- upload presets -------------------------------------------------------------------------

# Stored as the SDK sends them ("1"/"0"); shown as JSON booleans, as Cloudinary shows them.
_BOOLEAN_SETTINGS = frozenset({
    "overwrite", "unique_filename", "use_filename", "use_filename_as_display_name", "invalidate", "backup",
    "return_delete_token", "async", "discard_original_filename", "eager_async", "use_asset_folder_as_public_id_prefix",
    "faces", "colors", "image_metadata", "media_metadata", "phash", "unique_display_name", "quality_analysis",
})


def _preset_json(preset: dict[str, Any]) -> dict[str, Any]:
    settings = {k: (as_bool(v) if k in _BOOLEAN_SETTINGS else v) for k, v in preset["settings"].items()}
    if preset["disallow_public_id"]:
        settings["disallow_public_id"] = True
    if preset["live"]:
        settings["live"] = True
    return {"name": preset["name"], "unsigned": preset["unsigned"], "settings": settings}


async def list_presets(request: Request) -> Response:
    admin = await authorize(request)
    page, cursor = await admin.db(presets.list_presets, max_results_from(admin.param("max_results")), admin.param("next_cursor"))
    body: dict[str, Any] = {"presets": [_preset_json(p) for p in page]}
    if cursor:
        body["next_cursor"] = cursor
    return admin.reply(body)


async def get_preset(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(_preset_json(await admin.db(presets.get_preset, request.path_params["name"])))


async def create_preset(request: Request) -> Response:
    admin = await authorize(request)
    _check_preset_transformations(admin.params, (await admin.db(named_transformations.delivery_rules)).named.get)
    name = await admin.db(presets.create_preset, admin.params)
    return admin.reply({"message": "created", "name": name})


async def update_preset(request: Request) -> Response:
    admin = await authorize(request)
    _check_preset_transformations(admin.params, (await admin.db(named_transformations.delivery_rules)).named.get)
    await admin.db(presets.update_preset, request.path_params["name"], admin.params)
    return admin.reply({"message": "updated"})


async def delete_preset(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(presets.delete_preset, request.path_params["name"])
    return admin.reply({"message": "deleted"})


def _check_preset_transformations(params: dict[str, Any], named: NamedResolver | None) -> None:
    """An incoming or eager transformation that does not parse, or names an unknown `t_NAME`,
    is refused when the preset is saved."""
    for name in ("transformation", "eager"):
        text = params.get(name)
        if isinstance(text, str) and text:
            for part in text.split("|"):
                transform.parse(part.rsplit("/", 1)[0] if _has_format(part) else part, named=named)


def _has_format(text: str) -> bool:
    tail = text.rsplit("/", 1)[-1]
    return "/" in text and "_" not in tail and "," not in tail


# -- folders --------------------------------------------------------------------------------


def _folder_json(folder: folders.Folder) -> dict[str, Any]:
    return {"name": folder.name, "path": folder.path, "external_id": folder.external_id}


async def list_folders(request: Request) -> Response:
    admin = await authorize(request)
    page, total, cursor = await admin.db(
        folders.list_folders, request.path_params.get("path", ""), max_results_from(admin.param("max_results"), 500),
        admin.param("next_cursor"),
    )
    body: dict[str, Any] = {"folders": [_folder_json(f) for f in page], "total_count": total}
    if cursor:
        body["next_cursor"] = cursor
    return admin.reply(body)


async def create_folder(request: Request) -> Response:
    admin = await authorize(request)
    folder = await admin.db(folders.create_folder, request.path_params["path"])
    return admin.reply({"success": True, "path": folder.path, "name": folder.name})


async def rename_folder(request: Request) -> Response:
    admin = await authorize(request)
    source, target = await admin.db(folders.rename_folder, request.path_params["path"], str(admin.required("to_folder")))
    return admin.reply({"from": {"name": source.name, "path": source.path}, "to": {"name": target.name, "path": target.path}})


async def delete_folder(request: Request) -> Response:
    admin = await authorize(request)
    deleted = await admin.db(folders.delete_folder, request.path_params["path"])
    return admin.reply({"deleted": deleted})


# -- transformations ------------------------------------------------------------------------

# URL keys → the names Cloudinary's `info` uses.
_INFO_NAMES = {
    "a": "angle", "ar": "aspect_ratio", "b": "background", "bo": "border", "br": "bit_rate", "c": "crop",
    "co": "color", "dpr": "dpr", "du": "duration", "e": "effect", "eo": "end_offset", "f": "fetch_format",
    "fl": "flags", "fps": "fps", "g": "gravity", "h": "height", "l": "overlay", "o": "opacity", "pg": "page",
    "q": "quality", "r": "radius", "so": "start_offset", "t": "transformation", "u": "underlay",
    "vc": "video_codec", "w": "width", "x": "x", "y": "y", "z": "zoom",
}


def transformation_info(text: str) -> list[dict[str, Any]]:
    """`c_fill,w_100/e_sepia` → `[{"crop": "fill", "width": 100}, {"effect": "sepia"}]`."""
    info = []
    for component in text.split("/"):
        item: dict[str, Any] = {}
        for pair in component.split(","):
            key, _, value = pair.partition("_")
            if key and value:
                item[_INFO_NAMES.get(key, key)] = _number_or_text(value)
        if item:
            info.append(item)
    return info


def _number_or_text(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


async def transformations(request: Request) -> Response:
    """GET `/transformations`: the list, or one transformation's details when `transformation=` is given."""
    admin = await authorize(request)
    wanted = admin.param("transformation")
    if wanted:
        return await _transformation_details(admin, str(wanted))
    named = admin.param("named")
    items = await admin.db(named_transformations.list_transformations, None if named in (None, "") else as_bool(named))
    limit = max_results_from(admin.param("max_results"), 10)
    start = int(admin.param("next_cursor") or 0) if str(admin.param("next_cursor") or "0").isdigit() else 0
    body: dict[str, Any] = {"transformations": items[start : start + limit]}
    if start + limit < len(items):
        body["next_cursor"] = str(start + limit)
    return admin.reply(body)


async def _transformation_details(admin: Admin, wanted: str) -> Response:
    found = await admin.db(named_transformations.find_named, wanted)
    if found is not None:
        return admin.reply({**found, "info": transformation_info(found["transformation"]), "derived": []})
    try:
        canonical = canonical_transformation(wanted)
    except transform.ParseError as exc:  # e.g. t_gone: a name that no longer exists
        raise named_transformations.TransformationNotFound(f"Transformation {wanted} not found") from exc
    if not await admin.db(named_transformations.used_transformation, canonical):
        raise named_transformations.TransformationNotFound(f"Transformation {wanted} not found")
    # Found by its canonical form (`c_scale,w_103` is `w_103`), reported as the caller wrote it.
    return admin.reply({"name": wanted, "allowed_for_strict": False, "used": True, "named": False,
                        "info": transformation_info(wanted), "derived": []})


def _as_written(text: str) -> str:
    """A transformation as the caller wrote it, once it parses: Cloudinary reports a definition
    back as written (`c_scale,w_103` stays `crop: scale, width: 103`), while derivatives are
    keyed by the canonical form, since delivery parses the expanded text again."""
    canonical_transformation(text)
    return text.strip()


async def create_transformation(request: Request) -> Response:
    admin = await authorize(request)
    definition = _as_written(str(admin.required("transformation")))
    await admin.db(named_transformations.create_named, str(admin.required("name")), definition,
                   as_bool(admin.param("allowed_for_strict")))
    return admin.reply({"message": "created"})


async def update_transformation(request: Request) -> Response:
    admin = await authorize(request)
    unsafe = admin.param("unsafe_update")
    allowed = admin.param("allowed_for_strict")
    await admin.db(
        named_transformations.update_named, str(admin.required("transformation")),
        transformation=_as_written(str(unsafe)) if unsafe else None,
        allowed_for_strict=None if allowed is None else as_bool(allowed),
    )
    return admin.reply({"message": "updated"})


async def delete_transformation(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(named_transformations.delete_named, str(admin.required("transformation")))
    return admin.reply({"message": "deleted"})


# -- structured metadata fields -------------------------------------------------------------


async def list_metadata_fields(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply({"metadata_fields": await admin.db(metadata_fields.list_fields)})


async def get_metadata_field(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await admin.db(metadata_fields.get_field, request.path_params["field_id"]))


async def add_metadata_field(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await admin.db(metadata_fields.add_field, admin.params))


async def update_metadata_field(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await admin.db(metadata_fields.update_field, request.path_params["field_id"], admin.params))


async def delete_metadata_field(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(metadata_fields.delete_field, request.path_params["field_id"])
    return admin.reply({"message": "ok"})


async def update_datasource(request: Request) -> Response:
    admin = await authorize(request)
    values = admin.required("values")
    if not isinstance(values, list):
        raise Invalid("values must be a list")
    return admin.reply(await admin.db(metadata_fields.update_datasource, request.path_params["field_id"], values))


async def delete_datasource_entries(request: Request) -> Response:
    admin = await authorize(request)
    ids = as_list(admin.required("external_ids"))
    return admin.reply(await admin.db(metadata_fields.delete_datasource_entries, request.path_params["field_id"], ids))


async def restore_datasource_entries(request: Request) -> Response:
    admin = await authorize(request)
    ids = as_list(admin.required("external_ids"))
    return admin.reply(await admin.db(metadata_fields.restore_datasource_entries, request.path_params["field_id"], ids))


async def reorder_datasource(request: Request) -> Response:
    admin = await authorize(request)
    result = await admin.db(metadata_fields.reorder_datasource, request.path_params["field_id"],
                            str(admin.required("order_by")), admin.param("direction"))
    return admin.reply(result)


async def reorder_metadata_fields(request: Request) -> Response:
    admin = await authorize(request)
    fields = await admin.db(metadata_fields.reorder_fields, str(admin.required("order_by")), admin.param("direction"))
    return admin.reply({"metadata_fields": fields})


# -- streaming profiles ---------------------------------------------------------------------


def _profile_json(profile: dict[str, Any]) -> dict[str, Any]:
    reps = [{"transformation": transformation_info(r["transformation"])} for r in profile["representations"]]
    return {**profile, "representations": reps}


def _representations(value: Any) -> Any:
    """`representations` arrives as JSON text (reference §3.4) or, from other clients, as an array."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise Invalid("Invalid representations") from exc
    return value


async def list_streaming_profiles(request: Request) -> Response:
    admin = await authorize(request)
    profiles = await admin.db(streaming.list_profiles)
    return admin.reply({"data": [{k: p[k] for k in ("name", "display_name", "predefined")} for p in profiles]})


async def get_streaming_profile(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply({"data": _profile_json(await admin.db(streaming.get_profile, request.path_params["name"]))})


async def create_streaming_profile(request: Request) -> Response:
    admin = await authorize(request)
    profile = await admin.db(streaming.create_profile, str(admin.required("name")), admin.param("display_name"),
                             _representations(admin.required("representations")))
    return admin.reply({"message": "created", "data": _profile_json(profile)})


async def update_streaming_profile(request: Request) -> Response:
    admin = await authorize(request)
    reps = admin.param("representations")
    profile = await admin.db(streaming.update_profile, request.path_params["name"], admin.param("display_name"),
                             None if reps is None else _representations(reps))
    return admin.reply({"message": "updated", "data": _profile_json(profile)})


async def delete_streaming_profile(request: Request) -> Response:
    admin = await authorize(request)
    profile = await admin.db(streaming.delete_profile, request.path_params["name"])
    return admin.reply({"message": "deleted", "data": _profile_json(profile)})


M = f"{PREFIX}/metadata_fields"
S = f"{PREFIX}/streaming_profiles"

routes = guard_routes([
    Route(f"{PREFIX}/upload_presets", list_presets, methods=["GET"]),
    Route(f"{PREFIX}/upload_presets", create_preset, methods=["POST"]),
    Route(f"{PREFIX}/upload_presets/{{name}}", get_preset, methods=["GET"]),
    Route(f"{PREFIX}/upload_presets/{{name}}", update_preset, methods=["PUT"]),
    Route(f"{PREFIX}/upload_presets/{{name}}", delete_preset, methods=["DELETE"]),
    Route(f"{PREFIX}/folders", list_folders, methods=["GET"]),
    Route(f"{PREFIX}/folders/{{path:path}}", list_folders, methods=["GET"]),
    Route(f"{PREFIX}/folders/{{path:path}}", create_folder, methods=["POST"]),
    Route(f"{PREFIX}/folders/{{path:path}}", rename_folder, methods=["PUT"]),
    Route(f"{PREFIX}/folders/{{path:path}}", delete_folder, methods=["DELETE"]),
    Route(f"{PREFIX}/transformations", transformations, methods=["GET"]),
    Route(f"{PREFIX}/transformations", create_transformation, methods=["POST"]),
    Route(f"{PREFIX}/transformations", update_transformation, methods=["PUT"]),
    Route(f"{PREFIX}/transformations", delete_transformation, methods=["DELETE"]),
    Route(M, list_metadata_fields, methods=["GET"]),
    Route(M, add_metadata_field, methods=["POST"]),
    Route(f"{M}/order", reorder_metadata_fields, methods=["PUT"]),
    Route(f"{M}/{{field_id}}", get_metadata_field, methods=["GET"]),
    Route(f"{M}/{{field_id}}", update_metadata_field, methods=["PUT"]),
    Route(f"{M}/{{field_id}}", delete_metadata_field, methods=["DELETE"]),
    Route(f"{M}/{{field_id}}/datasource", update_datasource, methods=["PUT"]),
    Route(f"{M}/{{field_id}}/datasource", delete_datasource_entries, methods=["DELETE"]),
    Route(f"{M}/{{field_id}}/datasource_restore", restore_datasource_entries, methods=["POST"]),
    Route(f"{M}/{{field_id}}/datasource/order", reorder_datasource, methods=["POST"]),
    Route(S, list_streaming_profiles, methods=["GET"]),
    Route(S, create_streaming_profile, methods=["POST"]),
    Route(f"{S}/{{name}}", get_streaming_profile, methods=["GET"]),
    Route(f"{S}/{{name}}", update_streaming_profile, methods=["PUT"]),
    Route(f"{S}/{{name}}", delete_streaming_profile, methods=["DELETE"]),
])
