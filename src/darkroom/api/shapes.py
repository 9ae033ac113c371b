"""Cloudinary's reply shapes (`media.shapes`) for a request: delivery URLs start with the
origin the request came in on, unless DARKROOM_PUBLIC_URL says otherwise."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from darkroom.catalog import Asset
from darkroom.config import Settings
from darkroom.media import shapes
from darkroom.media.shapes import iso_time

__all__ = ["attachment", "asset_json", "delivery_urls", "iso_time", "origin_of"]


def origin_of(request: Request, settings: Settings) -> str:
    """scheme://host[:port] that delivery URLs for this request start with."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return shapes.delivery_origin(settings, request.url.scheme, host)


def delivery_urls(request: Request, settings: Settings, asset: Asset, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    return shapes.delivery_urls(origin_of(request, settings), asset, transformation, fmt)


def asset_json(request: Request, settings: Settings, asset: Asset, folder_mode: str = "dynamic") -> dict[str, Any]:
    return shapes.asset_json(origin_of(request, settings), asset, folder_mode)


def attachment(filename: str) -> str:
    """`Content-Disposition` for a download named `filename`. Headers are Latin-1, so a name
    with other characters (a public ID such as `日本/写真`) gets an ASCII fallback and its exact
    form in RFC 5987's `filename*`; quotes, backslashes and control characters are dropped."""
    clean = "".join(ch for ch in filename if ch >= " " and ch not in '"\\\x7f')
    fallback = clean.encode("ascii", "replace").decode("ascii").replace("?", "_")
    if fallback == clean:
        return f'attachment; filename="{clean}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"
