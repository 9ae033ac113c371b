"""What every Admin and Search API handler shares: Basic auth, reading parameters, replying, resource JSON.

The SDK sends GET parameters in the query string (lists as repeated `key[]=`), and every
other method as a JSON body, DELETE included (reference §1.2). Replies carry Cloudinary's
rate-limit headers, which the SDK copies onto its response object.
"""

from __future__ import annotations

import email.utils
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from darkroom import catalog
from darkroom.api.services import Services, services_of
from darkroom.api.shapes import asset_json, delivery_urls, iso_time
from darkroom.auth import parse_basic_auth, secrets_equal
from darkroom.catalog import Asset
from darkroom.errors import BadRequest, Unauthorized

__all__ = [
    "Admin",
    "authorize",
    "read_params",
    "reply",
    "as_list",
    "as_bool",
    "list_item",
    "search_item",
    "RATE_LIMIT",
]

RATE_LIMIT = 5000  # calls per hour reported in X-FeatureRateLimit-*; darkroom reports, never refuses


class _HourlyCounter:
    """Calls per (cloud, hour), to fill the rate-limit headers the SDK expects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def hit(self, cloud: str, now: datetime) -> tuple[int, datetime]:
        hour = now.replace(minute=0, second=0, microsecond=0)
        key = (cloud, hour.isoformat())
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            used = self._counts[key]
        return max(RATE_LIMIT - used, 0), hour + timedelta(hours=1)


_COUNTER = _HourlyCounter()


class Admin:
    """One authorized Admin/Search call: the services, the cloud, the request and its parameters."""

    def __init__(self, request: Request, services: Services, cloud: str, params: dict[str, Any]) -> None:
        self.request = request
        self.services = services
        self.cloud = cloud
        self.params = params

    async def db(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a catalog function for this cloud in a worker thread."""
        return await self.services.db(function, self.cloud, *args, **kwargs)

    def reply(self, body: Any, status: int = 200) -> JSONResponse:
        return reply(body, self.cloud, status)

    def param(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name, default)
        return default if value is None else value

    def required(self, name: str) -> Any:
        value = self.params.get(name)
        if value in (None, "", []):
            raise BadRequest(f"Missing required parameter - {name}")
        return value


async def authorize(request: Request) -> Admin:
    """Check `Authorization: Basic key:secret` against the cloud in the path; 401 as Cloudinary words it."""
    services = services_of(request)
    cloud = request.path_params["cloud"]
    credentials = parse_basic_auth(request.headers.get("authorization", ""))
    if credentials is None:
        raise Unauthorized("Must supply api_key")
    key = await services.db(catalog.find_key, credentials[0])
    if key is None or not key.active or key.cloud != cloud:
        raise Unauthorized(f"Invalid api_key {credentials[0]}")
    if not secrets_equal(credentials[1], key.api_secret):
        raise Unauthorized("api_secret mismatch")
    return Admin(request, services, cloud, await read_params(request))


async def read_params(request: Request) -> dict[str, Any]:
    """Query string for GET (`k[]=` → list), a JSON object body otherwise (may be empty)."""
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.endswith("[]"):
            params.setdefault(key[:-2], []).append(value)
        else:
            params[key] = value
    if request.method == "GET":
        return params
    body = await request.body()
    if not body.strip():
        return params
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("Invalid JSON in request body") from exc
    if not isinstance(decoded, dict):
        raise BadRequest("The request body must be a JSON object")
    return {**params, **decoded}


def reply(body: Any, cloud: str, status: int = 200) -> JSONResponse:
    now = datetime.now(UTC)
    remaining, reset = _COUNTER.hit(cloud, now)
    headers = {
        "X-FeatureRateLimit-Limit": str(RATE_LIMIT),
        "X-FeatureRateLimit-Remaining": str(remaining),
        "X-FeatureRateLimit-Reset": email.utils.format_datetime(reset, usegmt=True),
        "X-Request-Id": secrets.token_hex(16),
    }
    return JSONResponse(body, status_code=status, headers=headers)


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


# Keys a `fields=` narrowing always keeps (Cloudinary keeps the identity of each resource).
_ALWAYS = ("asset_id", "public_id", "resource_type", "type")


def _narrow(item: dict[str, Any], fields: Any) -> dict[str, Any]:
    wanted = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else as_list(fields)) if f.strip()]
    if not wanted:
        return item
    return {k: v for k, v in item.items() if k in _ALWAYS or k in wanted}


def list_item(admin: Admin, asset: Asset, *, detail: bool = False) -> dict[str, Any]:
    """A resource in an Admin listing (tags/context/metadata only when asked) or in a detail reply."""
    item = asset_json(admin.request, admin.services.settings, asset)
    item["created_at"] = iso_time(asset.created_at)
    params = admin.params
    if not detail:
        for name in ("tags", "context", "metadata"):
            if not as_bool(params.get(name)):
                item.pop(name, None)
        if as_bool(params.get("tags")):
            item["tags"] = list(asset.tags)
    if (detail or as_bool(params.get("moderations"))) and _moderated(asset):
        item["moderation_status"] = _moderation(asset)
        item["moderation"] = [{"kind": "manual", "status": _moderation(asset)}]
    return _narrow(item, params.get("fields")) if not detail else item


def _moderation(asset: Asset) -> str | None:
    return getattr(asset, "moderation_status", None)


def _moderated(asset: Asset) -> bool:
    return bool(_moderation(asset))


def search_item(admin: Admin, asset: Asset, with_fields: set[str], fields: Any) -> dict[str, Any]:
    """A Search API result: flat context, search's extra fields, with_field extras."""
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
    return _narrow(item, fields)
