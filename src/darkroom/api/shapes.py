"""Cloudinary's reply shapes (`media.shapes`) for a request: delivery URLs start with the
origin the request came in on, unless DARKROOM_PUBLIC_URL says otherwise."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from darkroom.catalog import Asset
from darkroom.config import Settings
from darkroom.media import shapes
from darkroom.media.shapes import iso_time

__all__ = ["asset_json", "delivery_urls", "iso_time", "origin_of"]


def origin_of(request: Request, settings: Settings) -> str:
    """scheme://host[:port] that delivery URLs for this request start with."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return shapes.delivery_origin(settings, request.url.scheme, host)


def delivery_urls(request: Request, settings: Settings, asset: Asset, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    return shapes.delivery_urls(origin_of(request, settings), asset, transformation, fmt)


def asset_json(request: Request, settings: Settings, asset: Asset) -> dict[str, Any]:
    return shapes.asset_json(origin_of(request, settings), asset)
