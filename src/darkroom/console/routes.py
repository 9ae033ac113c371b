"""The console's routes: sign-in, the library, asset pages, settings pages and their JSON API.

Handlers are thin: check the operator (pages.py), call `media` or the catalog (`catalog.library`
holds the console's listings),
shape the answer. The console's JSON endpoints live under /console/api and answer only a
signed-in operator; writes also need the session's CSRF token.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from darkroom.catalog.updates import AssetChanges, update_resource
from darkroom import catalog
from darkroom.media.effect_presets import available_effects
from darkroom.media.ingest import delete_blobs
from darkroom.media.services import services_of
from darkroom.media.shapes import asset_json, delivery_origin, needs_signed_url
from darkroom.media.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AccountLocked,
    UNKNOWN_CLIENT,
    AuthError,
    authenticate,
)
from darkroom.auth.policy import signed_timestamp
from darkroom.auth.signing import sign_params
from darkroom.catalog import library
from darkroom.console import video
from darkroom.media.links import Links, links_for
from darkroom.console.pages import (
    SECURITY_HEADERS,
    Context,
    clear_cookies,
    error_reply,
    json_reply,
    operator_api,
    operator_page,
    page,
    safe_next,
    set_login_cookie,
    set_session_cookie,
    signed_in_user,
)
from darkroom.errors import DarkroomError, Invalid

__all__ = ["routes"]

STATIC = Path(__file__).parent / "static"
SIGN_SKEW_SECONDS = 3600  # how far a console upload's timestamp may be from now


# ---- sign in / out ----------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    if await signed_in_user(request):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request, error="", username="", status=200)


def _login_page(request: Request, *, error: str, username: str, status: int, next_url: str | None = None) -> Response:
    auth = services_of(request).console_auth
    cookie, token = auth.login_nonce()
    values = {"title": "Sign in", "error": error, "login_token": token, "username": username,
              "next": safe_next(next_url or request.query_params.get("next"))}
    response = page("login.html", values, status)
    set_login_cookie(response, request, cookie)
    return response


async def login_submit(request: Request) -> Response:
    auth = services_of(request).console_auth
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = str(form.get("next") or "")
    if not auth.login_nonce_ok(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf_token") or "")):
        return _login_page(request, error="The form expired; please try again.", username=username, status=403, next_url=next_url)
    engine = services_of(request).engine
    try:
        client = request.client.host if request.client else UNKNOWN_CLIENT  # the real one behind trusted proxies
        await anyio.to_thread.run_sync(functools.partial(authenticate, engine, username, password, client=client))
    except AccountLocked as exc:
        return _login_page(request, error=exc.message, username=username, status=429, next_url=next_url)
    except AuthError as exc:
        return _login_page(request, error=exc.message, username=username, status=401, next_url=next_url)
    cookie = await anyio.to_thread.run_sync(auth.start_session, username)
    response = RedirectResponse(safe_next(next_url), status_code=303, headers=SECURITY_HEADERS)
    set_session_cookie(response, request, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


async def logout(request: Request) -> Response:
    """Ends the session server-side; needs the CSRF token so no other site can sign you out.

    Without it nothing changes, cookies included: a sign-out that clears the cookie but keeps
    the session would leave a live session behind while the operator believes it ended.
    """
    auth = services_of(request).console_auth
    form = await request.form()
    session_id = auth.session_id(request.cookies.get(SESSION_COOKIE))
    if session_id is not None:
        if not auth.csrf_ok(session_id, str(form.get("csrf_token") or "")):
            return page("login.html", {"error": "The sign-out form expired; reload the page and sign out again.",
                                       "login_token": "", "next": "", "username": ""}, 403)
        await anyio.to_thread.run_sync(auth.end_session, session_id)
    response = RedirectResponse("/console/login", status_code=303, headers=SECURITY_HEADERS)
    clear_cookies(response)
    return response


# ---- pages ------------------------------------------------------------------------------


@operator_page
async def library_page(ctx: Context) -> Response:
    presets = await ctx.services.db(library.presets_for_upload, ctx.cloud) if ctx.cloud else []
    values = ctx.template_values(title="Library", nav="/console", presets=presets, effects=available_effects(ctx.services.settings.models_dir),
                                 search_native=_search_available(), max_upload_bytes=ctx.services.settings.max_upload_bytes)
    return page("library.html", values)


def _search_available() -> bool:
    try:
        import darkroom.catalog.search  # noqa: F401
    except ImportError:
        return False
    return True


@operator_page
async def asset_page(ctx: Context) -> Response:
    """An asset's page; POST approves or rejects it (its moderation status, as the Admin API's update)."""
    params = ctx.request.path_params
    if ctx.request.method == "POST" and ctx.cloud:
        form = await ctx.request.form()
        status = str(form.get("moderation_status") or "")
        if status in ("approved", "rejected"):
            await ctx.services.db(update_resource, ctx.cloud, params["resource_type"], params["type"], params["public_id"],
                                  AssetChanges(moderation_status=status))
    asset = await ctx.services.db(catalog.get_asset, ctx.cloud or "", params["resource_type"], params["type"], params["public_id"])
    if asset is None:
        return page("message.html", ctx.template_values(title="Not found", message="No such asset."), 404)
    derived = await ctx.services.db(library.derived_versions, asset.pk)
    links = await _links(ctx)
    resource = _resource(links, asset)
    player = None
    if asset.resource_type == "video":
        player = await video.player_for(ctx.services, links, asset, ctx.request.query_params.getlist("track"))
    values = ctx.template_values(title=asset.public_id, nav="/console", asset=asset, resource=resource, derived=derived,
                                 effects=available_effects(ctx.services.settings.models_dir), player=player)
    return page("asset.html", values)


@operator_page
async def presets_page(ctx: Context) -> Response:
    """Lists presets; POST creates one (signed or unsigned) or deletes one."""
    message, error = "", ""
    if ctx.request.method == "POST" and ctx.cloud:
        form = await ctx.request.form()
        try:
            message = await _change_preset(ctx, {k: str(v) for k, v in form.items()})
        except DarkroomError as exc:
            error = exc.message
    presets = await ctx.services.db(library.presets_for_upload, ctx.cloud) if ctx.cloud else []
    values = ctx.template_values(title="Upload presets", nav="/console/presets", presets=presets, message=message, error=error)
    return page("presets.html", values, 400 if error else 200)


async def _change_preset(ctx: Context, form: dict[str, str]) -> str:
    from darkroom.catalog import presets

    name = form.get("name", "").strip()
    if form.get("action") == "delete":
        await ctx.services.db(presets.delete_preset, ctx.cloud, name)
        return f"Deleted preset {name}."
    if not name:
        raise Invalid("Give the preset a name")
    body = {"name": name, "unsigned": "1" if form.get("mode") == "unsigned" else "0"}
    for field in ("folder", "allowed_formats", "tags"):
        if form.get(field, "").strip():
            body[field] = ",".join(part.strip() for part in form[field].split(",") if part.strip()) if field != "folder" else form[field].strip().strip("/")
    if form.get("use_filename"):
        body["use_filename"] = "1"
    await ctx.services.db(presets.create_preset, ctx.cloud, body)
    return f"Created preset {name}."


@operator_page
async def policies_page(ctx: Context) -> Response:
    """Lists signing policies; POST creates one and shows its bearer token on this response only."""
    token, error = None, ""
    if ctx.request.method == "POST" and ctx.cloud:
        form = await ctx.request.form()
        try:
            token = await _create_policy(ctx, {k: str(v) for k, v in form.multi_items()})
        except (DarkroomError, ValueError) as exc:
            error = getattr(exc, "message", str(exc))
    policies = await ctx.services.db(catalog.list_signing_policies, ctx.cloud) if ctx.cloud else []
    values = ctx.template_values(title="Signing policies", nav="/console/policies", policies=policies, token=token, error=error)
    return page("policies.html", values, 400 if error else 200)


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.replace("\n", ",").split(",") if word.strip()]


async def _create_policy(ctx: Context, form: dict[str, str]) -> str | None:
    name = form.get("name", "").strip()
    if not name:
        raise Invalid("Give the policy a name")
    allowed = _words(form.get("allowed_params", "")) or ["folder", "upload_preset", "public_id", "tags", "context"]
    _policy, token = await ctx.services.db(
        catalog.create_signing_policy, ctx.cloud, name, allowed_params=allowed,
        folder_prefix=form.get("folder_prefix", "").strip().strip("/"),
        allowed_presets=_words(form.get("allowed_presets", "")),
        max_skew_seconds=int(form.get("max_skew_seconds") or 300),
        allow_console=bool(form.get("allow_console")),
    )
    return token


@operator_page
async def keys_page(ctx: Context) -> Response:
    """Lists keys; POST creates one (its secret is shown on this one response only) or revokes one."""
    created = None
    message = ""
    if ctx.request.method == "POST" and ctx.cloud:
        form = await ctx.request.form()
        if form.get("action") == "create":
            created = await ctx.services.db(catalog.create_key, ctx.cloud, str(form.get("label") or "")[:255])
        elif form.get("action") == "revoke":
            revoked = await ctx.services.db(catalog.revoke_key, str(form.get("api_key") or ""))
            message = "Key revoked." if revoked else "That key was already revoked."
    keys = await ctx.services.db(catalog.list_keys, ctx.cloud) if ctx.cloud else []
    values = ctx.template_values(title="API keys", nav="/console/keys", keys=keys, created=created, message=message)
    return page("keys.html", values)


@operator_page
async def example_page(ctx: Context) -> Response:
    """The seed's demo app: sign, upload straight to darkroom, gallery via search, lightbox effects."""
    query = ctx.request.query_params
    endpoint = query.get("signatureEndpoint") or await _default_sign_endpoint(ctx)
    if not endpoint.startswith("/") or endpoint.startswith("//"):
        endpoint = "/api/sign"
    api_key = await _signing_key(ctx)
    values = ctx.template_values(
        title="Secure upload example", nav="/examples/secure-upload",
        folder=query.get("folder") or "secure-demo", preset=query.get("preset") or "",
        signature_endpoint=endpoint, api_key=api_key.api_key if api_key else "",
        # The session's CSRF token goes only to darkroom's own signers, never to a path a link chose.
        send_csrf=endpoint in ("/api/sign", "/console/api/sign"),
        effects=available_effects(ctx.services.settings.models_dir),
    )
    return page("example.html", values)


async def _default_sign_endpoint(ctx: Context) -> str:
    """darkroom's `/api/sign` once a policy admits console sessions; the console's own signer until then."""
    policies = await ctx.services.db(catalog.list_signing_policies, ctx.cloud) if ctx.cloud else []
    return "/api/sign" if any(policy.allow_console for policy in policies) else "/console/api/sign"


# ---- JSON API ---------------------------------------------------------------------------


def _origin(request: Request, ctx: Context) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return delivery_origin(ctx.services.settings, request.url.scheme, host)


async def _links(ctx: Context) -> Links:
    return await links_for(ctx.services, _origin(ctx.request, ctx), ctx.cloud or "")


# What the console's scripts put in front of an image (static/common.js, static/lightbox.js).
IMAGE_THUMBNAIL = "c_fill,g_auto,w_320,h_320/f_auto,q_auto"
IMAGE_PREVIEW = "c_limit,w_1600,h_1200/f_auto,q_auto"


def _resource(links: Links, asset: catalog.Asset) -> dict[str, Any]:
    """The Search API's resource shape, plus `delivery_url` (and a video's `thumbnail_url`) for
    the console's scripts. A signed asset's URLs come signed, and the scripts use them as they
    are (`signed`, with an image's `thumbnail_url` and `preview_url`): a transformation added
    in the browser would need a signature of its own."""
    body = asset_json(links.origin, asset)
    body["delivery_url"] = links.url(asset)  # the scheme darkroom is reached by, whatever url/secure_url say
    body["context"] = dict(asset.context)
    if asset.resource_type == "video":
        body["thumbnail_url"] = video.frame_url(links, asset)
    if needs_signed_url(asset):
        body["signed"] = True
        if asset.resource_type == "image":
            body["thumbnail_url"] = links.url(asset, IMAGE_THUMBNAIL)
            body["preview_url"] = links.url(asset, IMAGE_PREVIEW)
    return body


@operator_api
async def api_resources(ctx: Context) -> Response:
    query = ctx.request.query_params
    found = await ctx.services.db(
        library.list_resources, ctx.cloud,
        folder=query.get("folder", ""), expression=query.get("expression", ""),
        sort=query.get("sort", "created_at:desc"), cursor=query.get("next_cursor"),
        limit=_int(query.get("max_results"), 30),
    )
    links = await _links(ctx)
    body: dict[str, Any] = {"total_count": found.total_count, "resources": [_resource(links, a) for a in found.assets]}
    if found.next_cursor:
        body["next_cursor"] = found.next_cursor
    return json_reply(body)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        raise Invalid(f"Not a number: {text}") from None


@operator_api
async def api_folders(ctx: Context) -> Response:
    folders = await ctx.services.db(library.list_folders, ctx.cloud, ctx.request.query_params.get("path", ""))
    return json_reply({"folders": folders})


async def _signing_key(ctx: Context) -> catalog.ApiKey | None:
    keys = await ctx.services.db(catalog.list_keys, ctx.cloud) if ctx.cloud else []
    return next((key for key in keys if key.active), None)


@operator_api
async def api_sign(ctx: Context) -> Response:
    """Signs the console's own uploads for the operator: `{paramsToSign}` -> `{signature, apiKey}`.

    The operator may upload anything, so no policy narrows the parameters; the timestamp
    must still be current, so a signature cannot be kept for later.
    """
    body = await _json_body(ctx.request)
    params = body.get("paramsToSign")
    if not isinstance(params, dict) or not params:
        raise Invalid("paramsToSign must be an object")
    timestamp = signed_timestamp(params.get("timestamp"))
    if abs(time.time() - timestamp) > SIGN_SKEW_SECONDS:
        raise Invalid("paramsToSign.timestamp is not current")
    key = await _signing_key(ctx)
    if key is None:
        return error_reply("This cloud has no active API key", 409)
    signature = sign_params(params, str(key.api_secret))
    return json_reply({"signature": signature, "apiKey": key.api_key})


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Invalid("Expected a JSON body") from None
    if not isinstance(body, dict):
        raise Invalid("Expected a JSON object")
    return body


def _targets(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    items = body.get("assets")
    if not isinstance(items, list) or not items:
        raise Invalid("Select at least one asset")
    targets = []
    for item in items[:1000]:
        if not isinstance(item, dict) or not item.get("public_id"):
            raise Invalid("Each asset needs resource_type, type and public_id")
        targets.append((str(item.get("resource_type") or "image"), str(item.get("type") or "upload"), str(item["public_id"])))
    return targets


@operator_api
async def api_delete(ctx: Context) -> Response:
    deleted: dict[str, str] = {}
    for resource_type, type_, public_id in _targets(await _json_body(ctx.request)):
        found = await ctx.services.db(catalog.delete_asset, ctx.cloud, resource_type, type_, public_id)
        deleted[public_id] = "deleted" if found else "not_found"
        if found:
            await _delete_blobs(ctx, found[1])
    return json_reply({"deleted": deleted})


async def _delete_blobs(ctx: Context, keys: list[str]) -> None:
    """Blobs go after the record, so nothing served ever points at a missing blob."""
    await delete_blobs(ctx.services, keys)


@operator_api
async def api_tags(ctx: Context) -> Response:
    body = await _json_body(ctx.request)
    tag = str(body.get("tag") or "").strip()
    command = body.get("command")
    if not tag or command not in ("add", "remove"):
        raise Invalid("Give a tag, and a command of add or remove")
    # update_tags takes many public IDs: one call per (resource_type, type), not one per asset.
    groups: dict[tuple[str, str], list[str]] = {}
    for resource_type, type_, public_id in _targets(body):
        groups.setdefault((resource_type, type_), []).append(public_id)
    updated: list[str] = []
    for (resource_type, type_), public_ids in groups.items():
        updated += await ctx.services.db(catalog.update_tags, ctx.cloud, resource_type, type_, public_ids, command, [tag])
    return json_reply({"public_ids": updated})


@operator_api
async def api_move(ctx: Context) -> Response:
    body = await _json_body(ctx.request)
    folder = str(body.get("folder") or "").strip().strip("/")
    moved: dict[str, str] = {}
    for resource_type, type_, public_id in _targets(body):
        name = public_id.rsplit("/", 1)[-1]
        target = f"{folder}/{name}" if folder else name
        # The folder tree follows asset_folder (dynamic folders); it moves with the public ID.
        renamed, freed = await ctx.services.db(
            catalog.rename_asset, ctx.cloud, resource_type, type_, public_id, type_, target, overwrite=False, asset_folder=folder
        )
        await _delete_blobs(ctx, freed)
        moved[public_id] = renamed.public_id
    return json_reply({"moved": moved})


@operator_api
async def example_gallery(ctx: Context) -> Response:
    """The seed's gallery route: `folder=<folder>`, newest first, with tags, up to 100."""
    folder = ctx.request.query_params.get("folder", "secure-demo").replace('"', "")
    found = await ctx.services.db(
        library.list_resources, ctx.cloud, folder=folder, exact_folder=True, sort="created_at:desc", limit=100
    )
    links = await _links(ctx)
    return json_reply({"resources": [_resource(links, a) for a in found.assets], "total_count": found.total_count})


# ---- static -----------------------------------------------------------------------------


async def widget_js(request: Request) -> Response:
    """The drop-in widget; public, since third-party pages include it, and cacheable for a while."""
    return FileResponse(
        STATIC / "widget.js", media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"},
    )


async def console_root(request: Request) -> Response:
    return RedirectResponse("/console", status_code=308)


def _route(path: str, endpoint: Any, methods: list[str] | None = None) -> Route:
    return Route(path, endpoint, methods=methods or ["GET"])


routes: list[BaseRoute] = [
    _route("/console", library_page),
    _route("/console/", console_root),
    _route("/console/login", login_form),
    _route("/console/login", login_submit, ["POST"]),
    _route("/console/logout", logout, ["POST"]),
    _route("/console/assets/{resource_type}/{type}/{public_id:path}", asset_page, ["GET", "POST"]),
    _route("/console/presets", presets_page, ["GET", "POST"]),
    _route("/console/policies", policies_page, ["GET", "POST"]),
    _route("/console/keys", keys_page, ["GET", "POST"]),
    _route("/console/api/resources", api_resources),
    _route("/console/api/folders", api_folders),
    _route("/console/api/sign", api_sign, ["POST"]),
    _route("/console/api/delete", api_delete, ["POST"]),
    _route("/console/api/tags", api_tags, ["POST"]),
    _route("/console/api/move", api_move, ["POST"]),
    _route("/examples/secure-upload", example_page),
    _route("/examples/secure-upload/gallery", example_gallery),
    _route("/widget.js", widget_js),
    Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
]
