"""The TinaCMS media store contract, served natively (`next-tinacms-cloudinary`'s handler).

A TinaCMS site whose media store is Cloudinary's talks to darkroom with no code change,
either through a same-origin proxy of `/api/cloudinary/*` or cross-origin by `baseUrl`:

    GET    {base}?directory=&limit=&offset=&filesOnly=   -> {items: [...], offset?}
    POST   {base}  multipart file/directory/filename     -> 200 + the upload JSON
    DELETE {base}/{encodeURIComponent(public_id)}        -> 200 {public_id}

Wire details follow shared/reference/tinacms-media.md: a refusal is 401 `{"message": …}`
(the client shows its login wall on 401, so only bad credentials get it), a path escape is
400 `{"message": …}`, any other list failure is 500 `{"e": …}`, and upload success is
status exactly 200.

Who may call (`DARKROOM_MEDIA_STORE_AUTH`, comma-separated modes, default `token,session`):
- `token`: `Authorization: Bearer <t>` with a token from `darkroom tokens create --scope media`;
- `session`: a signed-in console operator, same origin only, writes need the CSRF token;
- `open`: anyone — an explicit development mode, never a default.
Cross-origin callers must be listed in `DARKROOM_MEDIA_STORE_CORS_ORIGINS`.

The route matches its base path from settings at request time (`DARKROOM_MEDIA_STORE_PATH`,
default `/api/cloudinary/media`), so the prefix is configurable while the app registers
this module like any other.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from darkroom import catalog
from darkroom.api.errors import status_for
from darkroom.media.ingest import UploadOptions, delete_blobs, ingest
from darkroom.media.links import Links, links_for
from darkroom.media.notifications import announce, asset_ref
from darkroom.api.multipart import read_upload_form
from darkroom.media.services import Services, services_of
from darkroom.api.shapes import asset_json, origin_of
from darkroom.api.proxies import client_address
from darkroom.media import throttling
from darkroom.media.sessions import find_access_token, same_origin, utcnow
from darkroom.catalog import library
from darkroom.errors import DarkroomError, Invalid, TooManyAttempts
from darkroom.vocabulary import STORED_RESOURCE_TYPES

__all__ = ["routes", "MediaStoreConfig", "THUMBNAILS", "validate_key"]

DEFAULT_PATH = "/api/cloudinary/media"
DEFAULT_AUTH = ("token", "session")
AUTH_MODES = frozenset({"token", "session", "open"})
TOKEN_SCOPE = "media"
UNAUTHORIZED = "sorry this user is unauthorized"
DEFAULT_LIMIT = 500
# The three sizes the TinaCMS media manager shows (list, grid, preview).
THUMBNAILS = {"75x75": "w_75,h_75,c_fit,q_auto", "400x400": "w_400,h_400,c_fit,q_auto", "1000x1000": "w_1000,h_1000,c_fit,q_auto"}
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"


@dataclass(frozen=True)
class MediaStoreConfig:
    """The media store's slice of the settings."""

    path: str = DEFAULT_PATH  # base path, no trailing slash
    auth: tuple[str, ...] = DEFAULT_AUTH  # enabled modes, in order
    cors_origins: frozenset[str] = frozenset()  # origins allowed to call cross-origin
    cloud: str | None = None  # which cloud; None = the console's default

    @classmethod
    def from_settings(cls, settings: Any) -> MediaStoreConfig:
        """Read the settings if darkroom declares them; the defaults otherwise."""
        path = "/" + str(getattr(settings, "media_store_path", "") or DEFAULT_PATH).strip("/")
        modes = _words(getattr(settings, "media_store_auth", "")) or DEFAULT_AUTH
        unknown = [mode for mode in modes if mode not in AUTH_MODES]
        if unknown:
            raise ValueError(f"unknown media store auth mode(s): {', '.join(unknown)}")
        origins = frozenset(o.rstrip("/") for o in _words(getattr(settings, "media_store_cors_origins", "")))
        cloud = getattr(settings, "media_store_cloud", "") or None
        return cls(path, modes, origins, cloud)


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple, frozenset, set)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in str(value or "").split(",") if part.strip())


# ---- validation -------------------------------------------------------------------------


class PathRefused(Invalid):
    """A folder or public ID that is not a safe relative path."""


def validate_key(text: str, what: str) -> str:
    """A relative folder or public ID: no NUL, backslash, drive letter, absolute path or `..`."""
    if "\x00" in text or "\\" in text or re.match(r"^[A-Za-z]:", text):
        raise PathRefused(f"Invalid {what}: {text!r}")
    if text.startswith("/") or any(part in ("..", ".") for part in text.split("/")):
        raise PathRefused(f"Invalid {what}: {text!r}")
    return text


def _directory(raw: str | None) -> str:
    """The listed folder; missing, empty, `/` and the literal `""` all mean the root."""
    text = (raw or "").strip()
    if text in ("", "/", '""'):
        return ""
    return validate_key(text.strip("/"), "directory")


# ---- URLs -------------------------------------------------------------------------------


def _thumbnails(links: Links, asset: catalog.Asset) -> dict[str, str]:
    """Images get the store's sizes; other files (a video, a PDF kept as raw) their own URL."""
    if asset.resource_type != "image":
        return {name: links.url(asset) for name in THUMBNAILS}
    return {name: links.url(asset, text) for name, text in THUMBNAILS.items()}


async def _links(request: Request, services: Services, cloud: str) -> Links:
    """The URLs content will embed: permanent, on the scheme darkroom is served on, signed for
    assets only signed URLs deliver (`media.links`)."""
    return await links_for(services, origin_of(request, services.settings), cloud)


# ---- auth and CORS ----------------------------------------------------------------------


async def _authorized(request: Request, config: MediaStoreConfig) -> bool:
    """True when one of the enabled modes admits this request."""
    header = request.headers.get("authorization", "")
    if "open" in config.auth:
        return True
    scheme, _, token = header.partition(" ")
    if "token" in config.auth and scheme.lower() == "bearer" and token.strip():
        services = services_of(request)
        found = await services.db(find_access_token, token.strip(), TOKEN_SCOPE)
        if found is not None:
            return True
        # TooManyAttempts (429) once this address has sent too many unknown tokens.
        await services.db(throttling.unknown_token, TOKEN_SCOPE, client_address(request), utcnow())
    if "session" in config.auth and same_origin(request.headers.get("origin"), request.headers.get("host", "")):
        auth = services_of(request).console_auth
        user = await anyio.to_thread.run_sync(auth.request_user, request.cookies, request.headers, request.method)
        return user is not None
    return False


def _cors_headers(request: Request, config: MediaStoreConfig) -> dict[str, str]:
    origin = request.headers.get("origin", "").rstrip("/")
    if origin and origin in config.cors_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def _preflight(request: Request, config: MediaStoreConfig) -> Response:
    headers = _cors_headers(request, config)
    if "Access-Control-Allow-Origin" not in headers:
        return Response(status_code=403, headers=headers)
    headers.update({
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": "600",
    })
    return Response(status_code=204, headers=headers)


# ---- list -------------------------------------------------------------------------------


def _dir_item(path: str) -> dict[str, str]:
    parent = posixpath.dirname(path)
    return {"id": path, "type": "dir", "filename": posixpath.basename(path), "directory": parent or "."}


def _file_item(links: Links, asset: catalog.Asset) -> dict[str, Any]:
    parent = posixpath.dirname(asset.public_id)
    return {
        "id": asset.public_id,
        "type": "file",
        "filename": posixpath.basename(asset.public_id),
        "directory": parent or ".",
        "src": links.url(asset),
        "thumbnails": _thumbnails(links, asset),
    }


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(value, DEFAULT_LIMIT))


async def list_media(request: Request, cloud: str) -> Response:
    services = services_of(request)
    query = request.query_params
    directory = _directory(query.get("directory"))
    try:
        page = await services.db(
            library.list_resources, cloud, folder=directory, exact_folder=True,
            sort="created_at:desc", cursor=query.get("offset") or None, limit=_limit(query.get("limit")),
        )
        folders: list[str] = []
        if query.get("filesOnly") != "true":
            folders = await services.db(_folder_paths, cloud, directory)
    except DarkroomError as exc:
        if status_for(exc) == 400:  # the client's own mistake (an offset not ours): 400, which TinaCMS shows like a 500
            return JSONResponse({"message": exc.message}, status_code=400)
        return JSONResponse({"e": exc.message}, status_code=500)
    links = await _links(request, services, cloud)
    items = [_dir_item(path) for path in folders] + [_file_item(links, a) for a in page.assets]
    body: dict[str, Any] = {"items": items}
    if page.next_cursor:
        body["offset"] = page.next_cursor
    return JSONResponse(body)


def _folder_paths(engine: Any, cloud: str, directory: str) -> list[str]:
    """Sub-folders of `directory`, as the reference handler gets them from root_folders/sub_folders."""
    return [folder["path"] for folder in library.list_folders(engine, cloud, directory)]


# ---- upload -----------------------------------------------------------------------------


async def upload_media(request: Request, cloud: str) -> Response:
    services = services_of(request)
    form = await read_upload_form(request, services.spool_dir, services.settings.max_upload_bytes)
    spooled = form.file
    try:
        if spooled is None:
            return _message(400, "file is required")
        folder = validate_key(form.get("directory").lstrip("/").rstrip("/"), "directory") if form.get("directory").strip("/") else ""
        validate_key(posixpath.basename(spooled.filename) or "file", "filename")
        options = UploadOptions(resource_type="auto", folder=folder, use_filename=True, unique_filename=True, overwrite=False)
        result = await ingest(services, cloud, spooled, options)
    finally:
        if spooled is not None:
            spooled.discard()
    # The store builds its Media from secure_url, so here it is the URL that really serves
    # (an https one from a plain-http darkroom would not load in the editor).
    body = asset_json(request, services.settings, result.asset)
    body["secure_url"] = (await _links(request, services, cloud)).url(result.asset)
    body.setdefault("original_filename", result.asset.original_filename)
    # The cloud's notification URL hears of every upload, whichever way it came (as Cloudinary's
    # does of uploads through its Media Library).
    await announce(services, cloud, "upload", body)
    return JSONResponse(body, status_code=200)


# ---- delete -----------------------------------------------------------------------------


async def delete_media(request: Request, cloud: str, public_id: str) -> Response:
    """Deletes whichever resource type holds the ID (the reference handler could only do images)."""
    services = services_of(request)
    validate_key(public_id, "id")
    for resource_type in STORED_RESOURCE_TYPES:
        found = await services.db(catalog.delete_asset, cloud, resource_type, "upload", public_id)
        if found is not None:
            await delete_blobs(services, found[1])
            await announce(services, cloud, "delete", {"resources": [asset_ref(found[0])]})
            break
    return JSONResponse({"public_id": public_id})


# ---- the route --------------------------------------------------------------------------


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _cloud(request: Request, config: MediaStoreConfig) -> str | None:
    services = services_of(request)
    configured = config.cloud or (services.settings.cloudinary_url.cloud_name if services.settings.cloudinary_url else None)
    return await services.db(library.default_cloud, configured)


async def handle(request: Request, item: str | None) -> Response:
    """Authorize first, whatever the method (as the reference handler does); then dispatch."""
    config: MediaStoreConfig = request.app.state.media_store_config  # built by create_app at start-up
    cors = _cors_headers(request, config)
    if request.method == "OPTIONS":
        return _preflight(request, config)
    response = await _dispatch(request, config, item)
    response.headers.update(cors)
    return response


async def _dispatch(request: Request, config: MediaStoreConfig, item: str | None) -> Response:
    try:
        authorized = await _authorized(request, config)
    except TooManyAttempts as exc:
        return JSONResponse({"message": exc.message}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    if not authorized:
        return _message(401, UNAUTHORIZED)
    cloud = await _cloud(request, config)
    if cloud is None:
        return JSONResponse({"e": "Must supply cloud_name"}, status_code=500)
    action = _ACTIONS.get((request.method, item is not None))
    if action is None:
        return _message(405, f"{request.method} is not supported here")
    try:
        return await action(request, cloud, item)
    except DarkroomError as exc:
        return _message(status_for(exc), exc.message)


Action = Callable[[Request, str, Any], Awaitable[Response]]
_ACTIONS: dict[tuple[str, bool], Action] = {
    ("GET", False): lambda request, cloud, _item: list_media(request, cloud),
    ("POST", False): lambda request, cloud, _item: upload_media(request, cloud),
    ("DELETE", True): delete_media,
}


class MediaStoreRoute(BaseRoute):
    """Matches `{base}` and `{base}/{id…}` where `base` comes from the app's settings."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or "app" not in scope:
            return Match.NONE, {}
        config: MediaStoreConfig | None = getattr(scope["app"].state, "media_store_config", None)
        if config is None:  # an app not made by create_app
            return Match.NONE, {}
        base = config.path
        path = scope["path"]
        if path == base or path == base + "/":
            return Match.FULL, {"media_item": None}
        if path.startswith(base + "/"):
            return Match.FULL, {"media_item": path[len(base) + 1 :]}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        from starlette.routing import NoMatchFound

        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await handle(request, scope.get("media_item"))
        await response(scope, receive, send)


routes: list[BaseRoute] = [MediaStoreRoute()]
