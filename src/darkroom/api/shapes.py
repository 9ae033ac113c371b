"""The JSON darkroom answers with, shaped as Cloudinary shapes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request

from darkroom.catalog import Asset
from darkroom.config import Settings

__all__ = ["delivery_host", "delivery_scheme", "delivery_urls", "asset_json", "iso_time"]


def delivery_host(request: Request, settings: Settings) -> str:
    """host[:port] that delivery URLs point at: DARKROOM_PUBLIC_URL, else the request's Host."""
    if settings.public_url:
        return urlsplit(settings.public_url).netloc
    return request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"


def delivery_path(asset: Asset, transformation: str = "", fmt: str | None = None) -> str:
    """/{cloud}/{resource_type}/{type}/[transformation/]v{version}/{public_id}[.format]"""
    fmt = asset.format if fmt is None else fmt
    name = quote(asset.public_id, safe="/")
    if fmt and asset.resource_type != "raw":
        name = f"{name}.{fmt}"
    middle = f"{transformation}/" if transformation else ""
    return f"/{asset.cloud}/{asset.resource_type}/{asset.type}/{middle}v{asset.version}/{name}"


def delivery_scheme(request: Request, settings: Settings) -> str:
    """The scheme darkroom is reached by: DARKROOM_PUBLIC_URL's, else the request's."""
    if settings.public_url:
        return urlsplit(settings.public_url).scheme or "http"
    return request.url.scheme


def delivery_urls(request: Request, settings: Settings, asset: Asset, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    """(url, secure_url) for an asset, as Cloudinary gives both.

    Cloudinary's CDN answers both schemes; darkroom answers the one it is served on, so
    both URLs use it (an https `secure_url` from a plain-http darkroom would not load).
    """
    base = f"{delivery_scheme(request, settings)}://{delivery_host(request, settings)}"
    path = delivery_path(asset, transformation, fmt)
    return f"{base}{path}", f"{base}{path}"


def iso_time(asset_time: Any) -> str:
    return asset_time.strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_json(request: Request, settings: Settings, asset: Asset) -> dict[str, Any]:
    """The resource fields common to upload, explicit, rename and the Admin API."""
    url, secure_url = delivery_urls(request, settings, asset)
    body: dict[str, Any] = {
        "asset_id": asset.asset_id,
        "public_id": asset.public_id,
        "version": asset.version,
        "version_id": asset.version_id,
        "resource_type": asset.resource_type,
        "created_at": iso_time(asset.uploaded_at),
        "tags": list(asset.tags),
        "bytes": asset.bytes,
        "type": asset.type,
        "etag": asset.etag,
        "placeholder": asset.placeholder,
        "url": url,
        "secure_url": secure_url,
        "folder": asset.folder,
        "asset_folder": asset.asset_folder,
        "display_name": asset.display_name,
        "access_mode": asset.access_mode,
    }
    if asset.resource_type != "raw":
        # Raw public IDs carry their extension; a `format` would make SDKs append it twice.
        body["format"] = asset.format
        body["width"] = asset.width
        body["height"] = asset.height
    if asset.resource_type == "image":
        body["pages"] = asset.pages or 1
    if asset.duration is not None:
        body["duration"] = asset.duration
    if asset.original_filename:
        body["original_filename"] = asset.original_filename
    if asset.context:
        body["context"] = {"custom": dict(asset.context)}
    if asset.metadata:
        body["metadata"] = dict(asset.metadata)
    return body
