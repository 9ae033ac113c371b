"""Signed download of an original: `GET /v1_1/{cloud}/{resource_type}/download`.

What the SDKs' `private_download_url(public_id, format, type=…, attachment=…, expires_at=…)`
builds: the query is signed like an Upload API call (the values verified as received, so
Python's `attachment=1` and Node's `attachment=true` both check), and the answer is the stored
original, streamed. It is how an app hands out a private or authenticated file for a while.
"""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.callers import authenticate
from darkroom.api.shapes import attachment
from darkroom.media.services import services_of
from darkroom.auth import StaleRequest
from darkroom.errors import Invalid, NotFound
from darkroom.vocabulary import STORED_DELIVERY_TYPES, STORED_RESOURCE_TYPES

__all__ = ["routes"]

UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")


async def download(request: Request) -> Response:
    services = services_of(request)
    cloud, resource_type = request.path_params["cloud"], request.path_params["resource_type"]
    if resource_type not in STORED_RESOURCE_TYPES:
        raise Invalid(f"Invalid resource type - {resource_type}")
    params = dict(request.query_params)
    await authenticate(services, request, cloud, params, action="download")
    _check_expiry(params.get("expires_at", ""))
    public_id = params.get("public_id", "")
    if not public_id:
        raise Invalid("Missing required parameter - public_id")
    type_ = params.get("type") or "upload"
    if type_ not in STORED_DELIVERY_TYPES:
        raise Invalid(f"Invalid type - {type_}")
    asset = await services.db(catalog.get_asset, cloud, resource_type, type_, public_id)
    if asset is None:
        raise NotFound(f"Resource not found - {public_id}")
    wanted_format = params.get("format", "")
    if wanted_format and asset.format and wanted_format.lower() != asset.format.lower():
        # The original is what this endpoint serves; a converted copy is a delivery URL's job.
        raise Invalid(f"Format {wanted_format} is not the stored format of {public_id} ({asset.format})")
    headers = {"Content-Length": str(asset.bytes), "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if params.get("attachment", "").lower() in ("1", "true"):
        headers["Content-Disposition"] = attachment(_filename(asset.public_id, asset.format))
    blob = await services.store.open(asset.storage_key)
    return StreamingResponse(blob.chunks(), headers=headers, media_type=asset.mime_type)


def _check_expiry(expires_at: str) -> None:
    """`expires_at` is signed, so only its passing matters; a value that is no time is refused."""
    if not expires_at:
        return
    if not UNIX_SECONDS.match(expires_at):
        raise Invalid(f"Invalid expires_at - {expires_at[:32]}")
    if int(expires_at) < time.time():
        raise StaleRequest("This download URL has expired")


def _filename(public_id: str, fmt: str) -> str:
    stem = public_id.rsplit("/", 1)[-1]
    return f"{stem}.{fmt}" if fmt and not stem.endswith(f".{fmt}") else stem


routes = [Route("/v1_1/{cloud}/{resource_type}/download", download, methods=["GET"])]
