"""Signed downloads: the links the SDKs' utils build, each a GET signed like an Upload API call
(the values verified as received, so Python's `attachment=1` and Node's `attachment=true` both check).

- `GET /v1_1/{cloud}/{resource_type}/download` — `private_download_url(public_id, format,
  type=…, attachment=…, expires_at=…)`: the stored original, streamed. It is how an app hands
  out a private or authenticated file for a while.
- `GET /v1_1/{cloud}/download_backup` — `download_backedup_asset(asset_id, version_id)`: the
  bytes of one backed-up version (`catalog.backups`), while the cloud keeps backups.
- `GET /v1_1/{cloud}/{resource_type}/download_tag.zip` — `zip_download_url(tag, **transformation)`:
  a zip of the tagged assets (transformed, if asked), built by `api.archives` in a spool file.
"""

from __future__ import annotations

import time
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.actions import required
from darkroom.api.archives import archive_download, build_archive
from darkroom.api.callers import authenticate
from darkroom.api.shapes import attachment
from darkroom.catalog.archives import archive_members
from darkroom.catalog.backups import backed_up_version
from darkroom.media.eager import cloud_named, parse_eager
from darkroom.media.services import Services, services_of
from darkroom.auth import StaleRequest
from darkroom.auth.requests import unix_seconds
from darkroom.errors import Invalid, NotFound
from darkroom.vocabulary import STORED_DELIVERY_TYPES, STORED_RESOURCE_TYPES

__all__ = ["routes"]



async def download(request: Request) -> Response:
    services = services_of(request)
    cloud, resource_type = request.path_params["cloud"], request.path_params["resource_type"]
    if resource_type not in STORED_RESOURCE_TYPES:
        raise Invalid(f"Invalid resource type - {resource_type}")
    params = dict(request.query_params)
    await authenticate(services, request, cloud, params, action="download", expiring_link=True)
    _check_expiry(params.get("expires_at", ""))
    public_id = required(params, "public_id")
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
    as_attachment = params.get("attachment", "").lower() in ("1", "true")
    return await _stored_file(services, asset, as_attachment)


async def download_backup(request: Request) -> Response:
    services = services_of(request)
    cloud = request.path_params["cloud"]
    await services.require_cloud(cloud)
    params = dict(request.query_params)
    await authenticate(services, request, cloud, params, action="download_backup", expiring_link=True)
    asset_id, version_id = required(params, "asset_id"), required(params, "version_id")
    version = await services.db(backed_up_version, cloud, asset_id, version_id)
    if version is None:
        raise NotFound(f"Backup not found - asset {asset_id[:64]}, version {version_id[:64]}")
    return await _stored_file(services, version, as_attachment=True)


async def download_tag_zip(request: Request) -> Response:
    services = services_of(request)
    cloud, resource_type = request.path_params["cloud"], request.path_params["resource_type"]
    if resource_type not in STORED_RESOURCE_TYPES:
        raise Invalid(f"Invalid resource type - {resource_type}")
    await services.require_cloud(cloud)
    params = dict(request.query_params)
    await authenticate(services, request, cloud, params, action="download_tag", expiring_link=True)
    tag = required(params, "tag")
    transformation = params.get("transformation", "")
    items = parse_eager(transformation, await cloud_named(services, cloud, transformation))  # a bad one is a 400 before any work
    members = await services.db(archive_members, cloud, resource_type, params.get("type") or "upload", tags=[tag])
    if not members:
        raise NotFound(f"No resources found with tag {tag[:255]}")
    # One entry per asset, named by its public ID and the format it is in.
    naming = {"target_format": "zip", "flatten_transformations": "1", "skip_transformation_name": "1"}
    target, _count = await build_archive(request, services, members, naming, items)
    return archive_download(target, naming, tag.replace("/", "_").replace('"', "") or "download")




class _StoredFile(Protocol):
    """What a stored file is streamed by: an asset, or a backed-up version of one."""

    @property
    def public_id(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def storage_key(self) -> str: ...


async def _stored_file(services: Services, stored: _StoredFile, as_attachment: bool) -> Response:
    """An original (or a backed-up version of one) streamed from the store, never cached."""
    headers = {"Content-Length": str(stored.bytes), "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if as_attachment:
        headers["Content-Disposition"] = attachment(_filename(stored.public_id, stored.format))
    blob = await services.store.open(stored.storage_key)
    return StreamingResponse(blob.chunks(), headers=headers, media_type=stored.mime_type)


def _check_expiry(expires_at: str) -> None:
    """`expires_at` is signed, so only its passing matters; a value that is no time is refused."""
    if not expires_at:
        return
    if unix_seconds(expires_at, "expires_at") < time.time():
        raise StaleRequest("This download URL has expired")


def _filename(public_id: str, fmt: str) -> str:
    stem = public_id.rsplit("/", 1)[-1]
    return f"{stem}.{fmt}" if fmt and not stem.endswith(f".{fmt}") else stem


routes = [
    Route("/v1_1/{cloud}/{resource_type}/download", download, methods=["GET"]),
    Route("/v1_1/{cloud}/download_backup", download_backup, methods=["GET"]),
    Route("/v1_1/{cloud}/{resource_type}/download_tag.zip", download_tag_zip, methods=["GET"]),
]
