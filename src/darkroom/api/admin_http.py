"""What every Admin and Search API handler shares: Basic auth, reading parameters, replying, resource JSON.

The SDK sends GET parameters in the query string (lists as repeated `key[]=`), and every
other method as a JSON body, DELETE included (reference §1.2). Replies carry Cloudinary's
rate-limit headers, which the SDK copies onto its response object.
"""

from __future__ import annotations

import email.utils
import json
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from darkroom import catalog, transform
from darkroom.api.errors import RateLimited, status_for
from darkroom.media.services import Services, services_of
from darkroom.api.shapes import asset_json, delivery_urls, iso_time
from darkroom.auth import ADMIN_API_REFUSALS, parse_basic_auth, verify_basic_auth
from darkroom.catalog import Asset
from darkroom.catalog.cloud_settings import cloud_settings, folder_mode_of
from darkroom.errors import DarkroomError, Invalid
from darkroom.vocabulary import STORED_RESOURCE_TYPES

__all__ = [
    "settings_of",
    "Admin",
    "authorize",
    "read_params",
    "reply",
    "as_list",
    "as_bool",
    "list_item",
    "resource_type_of",
    "search_item",
    "RATE_LIMIT",
    "RateLimit",
    "RateLimitExceeded",
    "Quota",
    "guard_routes",
]

RATE_LIMIT = 5000  # calls per hour reported in X-FeatureRateLimit-* when a cloud sets no limit of its own


@dataclass(frozen=True)
class RateLimit:
    """Calls allowed per API key and window; refused (420) only when `enforced`.

    A cloud enforces one by its setting `{"rate_limit": {"limit": 500, "window_seconds": 3600}}`;
    without it darkroom reports RATE_LIMIT per hour and refuses nothing.
    """

    limit: int
    window_seconds: int
    enforced: bool

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RateLimit:
        chosen = settings.get("rate_limit")
        if not isinstance(chosen, dict):
            return cls(RATE_LIMIT, 3600, False)
        try:
            limit, window = int(chosen.get("limit", RATE_LIMIT)), int(chosen.get("window_seconds", 3600))
        except (TypeError, ValueError):
            return cls(RATE_LIMIT, 3600, False)
        return cls(max(limit, 0), max(window, 1), True)


@dataclass(frozen=True)
class Quota:
    """Where a caller stands in its window, as the X-FeatureRateLimit-* headers say it."""

    limit: int
    remaining: int
    reset_at: datetime

    def headers(self) -> dict[str, str]:
        return {
            "X-FeatureRateLimit-Limit": str(self.limit),
            "X-FeatureRateLimit-Remaining": str(self.remaining),
            "X-FeatureRateLimit-Reset": email.utils.format_datetime(self.reset_at, usegmt=True),
        }


class RateLimitExceeded(RateLimited):
    """The reply still carries the quota headers (see `guard_routes`)."""

    def __init__(self, quota: Quota) -> None:
        super().__init__("Rate Limit Exceeded")
        self.quota = quota


class _WindowCounter:
    """Calls per (subject, fixed window) in this process: a subject is an API key, or a cloud for
    calls authenticated otherwise (signed search URLs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, subject: str, now: datetime, window_seconds: int) -> tuple[int, datetime]:
        """Count one call; returns the calls so far in this window and when the window ends."""
        start = int(now.timestamp()) // window_seconds * window_seconds
        key = (subject, start)
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == start}
            self._counts[key] = self._counts.get(key, 0) + 1
            used = self._counts[key]
        return used, datetime.fromtimestamp(start + window_seconds, UTC)


_COUNTER = _WindowCounter()
async def settings_of(services: Services, cloud: str) -> dict[str, Any]:
    """A cloud's settings object (rate limit, folder mode, backups), remembered per process in
    `caches.cloud_settings` (forgotten on every write, like the other lookups)."""
    memory = services.caches.cloud_settings
    chosen = memory.recall(cloud)
    if chosen is None:
        chosen = await services.db(cloud_settings, cloud)
        memory.keep(cloud, chosen)
    return chosen


async def _count_call(services: Services, subject: str, limit: RateLimit) -> Quota:
    """Count one call against the limit: every node's calls when Redis is shared, else this process's."""
    now = datetime.now(UTC)
    window_start = int(now.timestamp()) // limit.window_seconds * limit.window_seconds
    shared = await services.shared.count_call(subject, window_start, limit.window_seconds)
    if shared is None:
        used, reset_at = _COUNTER.hit(subject, now, limit.window_seconds)
    else:
        used, reset_at = shared, datetime.fromtimestamp(window_start + limit.window_seconds, UTC)
    quota = Quota(limit.limit, max(limit.limit - used, 0), reset_at)
    if limit.enforced and used > limit.limit:
        raise RateLimitExceeded(quota)
    return quota


def guard_routes(routes: list[Route]) -> list[Route]:
    """Wrap each endpoint so a refused call is a 420 that still carries the quota headers
    (the shared error handler knows statuses, not headers)."""
    return [
        Route(route.path, _guarded(route.endpoint), methods=sorted(route.methods) if route.methods else None, name=route.name)
        for route in routes
    ]


def _guarded(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RateLimitExceeded as refused:
            headers = {**refused.quota.headers(), "X-Cld-Error": refused.message, "Retry-After": _seconds_until(refused.quota.reset_at)}
            return JSONResponse({"error": {"message": refused.message}}, status_code=status_for(refused), headers=headers)

    return guarded


def _seconds_until(moment: datetime) -> str:
    return str(max(int((moment - datetime.now(UTC)).total_seconds()) + 1, 1))


class Admin:
    """One authorized Admin/Search call: the services, the cloud, the request and its parameters."""

    def __init__(
        self, request: Request, services: Services, cloud: str, params: dict[str, Any], quota: Quota | None = None, api_key: str | None = None,
        cloud_options: dict[str, Any] | None = None,
    ) -> None:
        self.request = request
        self.api_key = api_key  # the key that authenticated the call (its secret signs the call's notifications)
        self.services = services
        self.cloud = cloud
        self.params = params
        self.quota = quota  # the caller's rate-limit standing; None when not authenticated by API key
        self.cloud_options = cloud_options or {}  # the cloud's settings object (catalog.cloud_settings)

    @property
    def folder_mode(self) -> str:
        """`fixed` or `dynamic` (the default): Cloudinary's two folder modes, chosen per cloud."""
        return folder_mode_of(self.cloud_options)

    async def db(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a catalog function for this cloud in a worker thread."""
        return await self.services.db(function, self.cloud, *args, **kwargs)

    def reply(self, body: Any, status: int = 200) -> JSONResponse:
        return reply(body, self.cloud, status, self.quota)

    def param(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name, default)
        return default if value is None else value

    def required(self, name: str) -> Any:
        value = self.params.get(name)
        if value in (None, "", []):
            raise Invalid(f"Missing required parameter - {name}")
        return value


async def authorize(request: Request, *, read_body: bool = True) -> Admin:
    """Check `Authorization: Basic key:secret` against the cloud in the path; 401 as Cloudinary words it.
    `read_body=False` leaves a multipart body to the handler (the query string is still read)."""
    services = services_of(request)
    cloud = request.path_params["cloud"]
    credentials = parse_basic_auth(request.headers.get("authorization", ""))
    found = await services.db(catalog.find_key, credentials[0]) if credentials and credentials[0] else None
    key = verify_basic_auth(credentials, found, cloud, ADMIN_API_REFUSALS)
    options = await settings_of(services, cloud)
    quota = await _count_call(services, f"key:{key.api_key}", RateLimit.from_settings(options))
    params = await read_params(request) if read_body else _text_params(_form_fields(request.query_params.multi_items()))
    return Admin(request, services, cloud, params, quota, key.api_key, options)


async def read_params(request: Request) -> dict[str, Any]:
    """The call's parameters as the official SDKs send them: the query string on GET; on other
    methods a JSON object (the Python SDK) or a form-encoded body (the Node SDK sends most
    Admin calls so), either possibly empty."""
    params = _form_fields(request.query_params.multi_items())
    if request.method == "GET":
        return _text_params(params)
    body = await request.body()
    if not body.strip():
        return params
    if _media_type(request) == "application/x-www-form-urlencoded":
        try:
            fields = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=10_000)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Invalid("Invalid form-encoded request body") from exc
        return _text_params({**params, **_form_fields(fields)})
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurd nesting
        raise Invalid("Invalid JSON in request body") from exc
    if not isinstance(decoded, dict):
        raise Invalid("The request body must be a JSON object")
    return _text_params({**params, **decoded})


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _form_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query-string or form pairs as parameters: `k[]=a&k[]=b` and a repeated `k=a&k=b` (the
    Node SDK's two list forms) are both the list [a, b]; an empty value is absent, as the Node
    SDK sends `k=` for what it leaves out."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        if value == "":
            continue
        name = key.removesuffix("[]")
        if key.endswith("[]") or name in params:
            present = params.get(name, [])
            params[name] = [*(present if isinstance(present, list) else [present]), value]
        else:
            params[name] = value
    return params


# Parameters that are one piece of text wherever they are read; JSON lets a client send anything.
_TEXT_PARAMS = (
    "next_cursor", "prefix", "start_at", "direction", "type", "key", "value", "expression",
    "display_name", "asset_folder", "moderation_status", "access_mode",
)


def _text_params(params: dict[str, Any]) -> dict[str, Any]:
    """A number becomes its text; a list, object or boolean is refused before it reaches a query."""
    if _has_nul(params):
        raise Invalid("Parameters must not contain NUL characters")  # no database stores them in text
    for name in _TEXT_PARAMS:
        value = params.get(name)
        if isinstance(value, (bool, list, dict)):
            raise Invalid(f"Invalid {name} - expected a string")
        if isinstance(value, (int, float)):
            params[name] = str(value)
    return params


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 32:  # deeper than any parameter we read; json.loads has its own recursion limit
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def reply(body: Any, cloud: str, status: int = 200, quota: Quota | None = None) -> JSONResponse:
    """JSON with the rate-limit headers: the caller's quota, or (signed calls without an API key)
    the cloud's reported hourly count."""
    if quota is None:
        used, reset_at = _COUNTER.hit(f"cloud:{cloud}", datetime.now(UTC), 3600)
        quota = Quota(RATE_LIMIT, max(RATE_LIMIT - used, 0), reset_at)
    # X-Request-Id, which the SDK reads too, is the telemetry middleware's (every response has one).
    return JSONResponse(body, status_code=status, headers=quota.headers())


def as_list(value: Any) -> list[str]:
    """A list parameter: a JSON array, repeated `k[]`, a bare scalar, or (for tags) `a,b`."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")




def canonical_transformation(text: str, named: Callable[[str], str | None] | None = None) -> str:
    """A transformation as the catalog keeps it, canonical (400 if it does not parse); a final
    `/png`-like component is a format and is kept as written. `named` expands `t_NAME` as
    delivery does, so a named transformation finds the derivatives recorded from it."""
    head, slash, fmt = text.rpartition("/")
    if slash and fmt and "_" not in fmt and "," not in fmt:
        return f"{transform.parse(head, named=named).canonical()}/{fmt}"
    return transform.parse(text, named=named).canonical()


def _field_names(fields: Any) -> list[str]:
    """`fields` as a comma list (the Python SDK) or a repeated parameter (the Node SDK)."""
    return [f.strip() for f in (fields.split(",") if isinstance(fields, str) else as_list(fields)) if f.strip()]


def _narrow(item: dict[str, Any], fields: Any, folder_mode: str) -> dict[str, Any]:
    """Exactly the asked keys, plus the ones Cloudinary always returns: the resource's identity
    and its folder (`folder` in fixed folder mode, `asset_folder` in dynamic)."""
    wanted = _field_names(fields)
    if not wanted:
        return item
    always = ("public_id", "asset_id", "folder" if folder_mode == "fixed" else "asset_folder")
    return {k: v for k, v in item.items() if k in always or k in wanted}


def resource_type_of(request: Request) -> str:
    """The path's `{resource_type}`, one darkroom stores (else 400, in Cloudinary's words)."""
    resource_type: str = request.path_params["resource_type"]
    if resource_type not in STORED_RESOURCE_TYPES:
        raise Invalid(f"Invalid resource type - {resource_type}")
    return resource_type


def list_item(admin: Admin, asset: Asset, *, detail: bool = False) -> dict[str, Any]:
    """A resource in an Admin listing (tags/context/metadata only when asked) or in a detail reply."""
    item = asset_json(admin.request, admin.services.settings, asset, admin.folder_mode)
    item["created_at"] = iso_time(asset.created_at)
    params = admin.params
    if not detail:
        # Cloudinary: `fields` takes precedence, so naming tags there asks for them too.
        named = _field_names(params.get("fields"))
        for name in ("tags", "context", "metadata"):
            if not (as_bool(params.get(name)) or name in named):
                item.pop(name, None)
        # Asked for, each is present on every resource, empty ones included.
        if as_bool(params.get("tags")) or "tags" in named:
            item["tags"] = list(asset.tags)
        if as_bool(params.get("metadata")) or "metadata" in named:
            item["metadata"] = dict(asset.metadata)
    if (detail or as_bool(params.get("moderations"))) and _moderated(asset):
        item["moderation_status"] = _moderation(asset)
        item["moderation"] = asset.annotations.get("moderation") or [{"kind": "manual", "status": _moderation(asset)}]
    return _narrow(item, params.get("fields"), admin.folder_mode) if not detail else item


def _moderation(asset: Asset) -> str | None:
    return getattr(asset, "moderation_status", None)


def _moderated(asset: Asset) -> bool:
    return bool(_moderation(asset))


def search_item(admin: Admin, asset: Asset, with_fields: set[str], fields: Any) -> dict[str, Any]:
    """A Search API result: flat context, search's extra fields, with_field extras (naming
    one in `fields` asks for it too, as in listings)."""
    with_fields = with_fields | set(_field_names(fields))
    url, secure_url = delivery_urls(admin.request, admin.services.settings, asset)
    item: dict[str, Any] = {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "folder": asset.folder,
        "asset_folder": asset.asset_folder,
        "filename": asset.public_id.rsplit("/", 1)[-1],
        "display_name": asset.display_name,
        "format": asset.format,
        "version": asset.version,
        "resource_type": asset.resource_type,
        "type": asset.type,
        "created_at": iso_time(asset.created_at),
        "uploaded_at": iso_time(asset.uploaded_at),
        "bytes": asset.bytes,
        "backup_bytes": 0,
        "width": asset.width,
        "height": asset.height,
        "aspect_ratio": round(asset.width / asset.height, 5) if asset.width and asset.height else None,
        "pixels": asset.width * asset.height if asset.width and asset.height else None,
        "status": getattr(asset, "status", "active"),
        "access_mode": asset.access_mode,
        "etag": asset.etag,
        "url": url,
        "secure_url": secure_url,
    }
    if admin.folder_mode == "fixed":
        del item["asset_folder"], item["display_name"]
    if asset.duration is not None:
        item["duration"] = asset.duration
    if "tags" in with_fields:
        item["tags"] = list(asset.tags)
    if "context" in with_fields:
        item["context"] = dict(asset.context)
    if "metadata" in with_fields:
        item["metadata"] = dict(asset.metadata)
    if "image_metadata" in with_fields:
        item["image_metadata"] = {}
    return _narrow(item, fields, admin.folder_mode)
