"""The JSON darkroom answers with, shaped as Cloudinary shapes it, shared by the API and
the console.

Delivery URLs start with an *origin* (`scheme://host[:port]`): DARKROOM_PUBLIC_URL's, else
the one the request came in on. The edges work it out from their request
(`delivery_origin`) and pass it in, so these functions know no HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from darkroom.auth.signing import url_signature
from darkroom.catalog import Asset
from darkroom.config import Settings
from darkroom.vocabulary import SIGNED_DELIVERY_TYPES

__all__ = ["asset_json", "delivery_origin", "delivery_path", "delivery_urls", "iso_time", "needs_signed_url"]


def delivery_origin(settings: Settings, request_scheme: str, request_host: str) -> str:
    """scheme://host[:port] that delivery URLs point at: DARKROOM_PUBLIC_URL's, else the request's.

    `delivery_urls` gives `url` and `secure_url` their schemes from it; `media.links` makes
    the URLs darkroom's own pages load, on the scheme darkroom is reached by.
    """
    if settings.public_url:
        public = urlsplit(settings.public_url)
        return f"{public.scheme or 'http'}://{public.netloc}"
    return f"{request_scheme}://{request_host}"


def delivery_path(asset: Asset, transformation: str = "", fmt: str | None = None, *, signing_secret: str | None = None) -> str:
    """/{cloud}/{resource_type}/{type}/[s--SIG--/][transformation/]v{version}/{public_id}[.format],
    signed with `signing_secret` when given (as the SDK's `sign_url`: the transformation and
    the name as escaped in the URL, no version)."""
    fmt = asset.format if fmt is None else fmt
    name = quote(asset.public_id, safe="/")
    if fmt and asset.resource_type != "raw":
        name = f"{name}.{fmt}"
    middle = f"{transformation}/" if transformation else ""
    signature = f"s--{url_signature(middle + name, signing_secret)}--/" if signing_secret is not None else ""
    return f"/{asset.cloud}/{asset.resource_type}/{asset.type}/{signature}{middle}v{asset.version}/{name}"


def needs_signed_url(asset: Asset) -> bool:
    """Whether darkroom's own pages should sign this asset's URLs: delivery answers it only to
    signed URLs (private and authenticated types, an `upload` whose access mode is
    authenticated), or may at some times (access_control rules; a signed URL always loads)."""
    return asset.type in SIGNED_DELIVERY_TYPES or asset.access_mode == "authenticated" or bool(asset.annotations.get("access_control"))


def delivery_urls(origin: str, asset: Asset, transformation: str = "", fmt: str | None = None) -> tuple[str, str]:
    """(url, secure_url) for an asset as Cloudinary answers them: `url` http, `secure_url` https,
    the same host and path.

    A darkroom reached over https (DARKROOM_PUBLIC_URL is https, or the request came over TLS)
    may have no plain-http listener at all, so there `url` is https as well: an https-only
    deployment never hands out a link that cannot load. A plain-http darkroom answers
    Cloudinary's shape; its `secure_url` loads once TLS is put in front (`--tls-cert`, a proxy).
    """
    scheme, _, host = origin.partition("://")
    path = delivery_path(asset, transformation, fmt)
    secure_url = f"https://{host}{path}"
    return (secure_url if scheme == "https" else f"http://{host}{path}"), secure_url


def iso_time(asset_time: datetime) -> str:
    return asset_time.strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_json(origin: str, asset: Asset, folder_mode: str = "dynamic") -> dict[str, Any]:
    """The resource fields common to upload, explicit, rename, the Admin API and the console.
    A cloud in fixed folder mode answers `folder` alone, without dynamic mode's `asset_folder`
    and `display_name`."""
    url, secure_url = delivery_urls(origin, asset)
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
    if folder_mode == "fixed":
        del body["asset_folder"], body["display_name"]
    if asset.resource_type != "raw":
        # Raw public IDs carry their extension; a `format` would make SDKs append it twice.
        body["format"] = asset.format
        body["width"] = asset.width
        body["height"] = asset.height
    if asset.resource_type == "image":
        body["pages"] = asset.pages or 1
    elif asset.resource_type == "video":
        body["pages"] = 0  # Cloudinary's value for every video and audio file
        body["playback_url"] = delivery_urls(origin, asset, "sp_auto", "m3u8")[1]  # adaptive streaming (media/streaming.py)
    if asset.duration is not None:
        body["duration"] = asset.duration
    body.update(asset.video_metadata)
    if asset.original_filename:
        body["original_filename"] = asset.original_filename
    if asset.context:
        body["context"] = {"custom": dict(asset.context)}
    if asset.metadata:
        body["metadata"] = dict(asset.metadata)
    if asset.annotations.get("access_control"):
        body["access_control"] = list(asset.annotations["access_control"])
    return body
