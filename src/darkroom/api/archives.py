"""Archives: `create_archive`/`create_zip` (signed POST) and `download_archive_url`/`download_folder` (signed GET).

`POST|GET /v1_1/{cloud}/{resource_type}/generate_archive`. The members are chosen by the
catalog; their originals are copied from the blob store into a zip or tgz in the spool
folder, one at a time (never all in memory). `mode=create` stores the archive as a raw
asset and answers with it; `mode=download` (what the signed URLs use) streams it back.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import secrets
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.callers import authenticate
from darkroom.auth.requests import unix_seconds
from darkroom.media.derivatives import ClientHints
from darkroom.media.eager import EagerItem, cloud_named, parse_eager
from darkroom.media.ingest import delete_blobs
from darkroom.api.multipart import read_upload_form
from darkroom.media.params import parse_bool
from darkroom.media.services import Services, services_of
from darkroom.api.shapes import asset_json
from darkroom.catalog.archives import ArchiveMember, archive_members
from darkroom.errors import Invalid
from darkroom.vocabulary import ARCHIVE_RESOURCE_TYPES

__all__ = ["archive_download", "build_archive", "routes"]


async def _params(request: Request, services: Services) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(flat params for the signature, list params) from a multipart POST or a signed GET."""
    if request.method == "GET":
        lists: dict[str, list[str]] = {}
        flat: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            if key.endswith("[]"):
                lists.setdefault(key[:-2], []).append(value)
            else:
                flat[key] = value
        flat.update({k: ",".join(v) for k, v in lists.items()})
        return flat, lists
    form = await read_upload_form(request, services.spool_dir, services.settings.max_upload_bytes)
    if form.file is not None:
        form.file.discard()
    return form.flat(), form.fields


def _members_args(lists: dict[str, list[str]], flat: dict[str, str]) -> dict[str, Any]:
    def items(name: str) -> list[str]:
        return lists.get(name) or ([flat[name]] if flat.get(name) else [])

    return {"public_ids": items("public_ids"), "prefixes": items("prefixes"), "tags": items("tags"),
            "fully_qualified": items("fully_qualified_public_ids")}


def _entry_name(member: ArchiveMember, flat: dict[str, str], *, with_extension: bool = True) -> str:
    name = member.public_id
    if parse_bool(flat.get("use_original_filename"), False) and member.original_filename:
        name = posixpath.join(posixpath.dirname(name), member.original_filename)
    if parse_bool(flat.get("flatten_folders"), False):
        name = posixpath.basename(name)
    if with_extension and member.resource_type != "raw" and member.format:
        name = f"{name}.{member.format}"
    return name


async def _build(request: Request, services: Services, members: list[ArchiveMember], flat: dict[str, str],
                 items: list[EagerItem], target: Path) -> int:
    """Write the archive to `target`, file by file; returns how many files it holds.

    Without `transformations` each member's original goes in; with them, each image member
    goes in once per transformation, rendered through the derivative cache (so an archive
    reuses, and warms, the same derivatives delivery URLs serve). Other members go in as
    originals: transformed video in archives is not rendered here.
    """
    fmt = flat.get("target_format") or "zip"
    names: set[str] = set()
    if fmt == "zip":
        archive: Any = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED)
    else:
        archive = tarfile.open(target, "w:gz")
    try:
        for member in members:
            if items and member.resource_type == "image":
                await _add_transformed(request, services, archive, member, items, flat, names)
                continue
            name = _entry_name(member, flat)
            if name in names:
                continue
            names.add(name)
            async with services.local_file(member.storage_key) as original:  # no copy from a local store
                await anyio.to_thread.run_sync(archive.write if fmt == "zip" else archive.add, str(original), name)
    finally:
        archive.close()
    return len(names)


async def _add_transformed(request: Request, services: Services, archive: Any, member: ArchiveMember,
                           items: list[EagerItem], flat: dict[str, str], names: set[str]) -> None:
    """One entry per transformation of an image member, named by `_derived_name`."""
    asset = await services.db(catalog.get_asset, member.cloud, member.resource_type, member.type, member.public_id)
    if asset is None:  # deleted while the archive was being built
        return
    for item in items:
        derivative = await services.caches.derivatives.get(services, asset, item.chain, item.format, ClientHints())
        name = _derived_name(member, item.transformation, derivative.format, flat)
        if name in names:
            continue
        names.add(name)
        await anyio.to_thread.run_sync(_write_bytes, archive, name, derivative.data)


def _derived_name(member: ArchiveMember, transformation: str, extension: str, flat: dict[str, str]) -> str:
    """`w_100/shoes/red.jpg` (a folder per transformation); with `flatten_transformations`,
    `shoes/red_w_100.jpg`, or `shoes/red.jpg` when `skip_transformation_name` is also set."""
    stem = _entry_name(member, flat, with_extension=False)
    label = transformation.replace("/", "_") or "original"
    if not parse_bool(flat.get("flatten_transformations"), False):
        return f"{label}/{stem}.{extension}"
    if parse_bool(flat.get("skip_transformation_name"), False):
        return f"{stem}.{extension}"
    return f"{stem}_{label}.{extension}"


def _write_bytes(archive: Any, name: str, data: bytes) -> None:
    if isinstance(archive, zipfile.ZipFile):
        archive.writestr(name, data)
        return
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    archive.addfile(info, io.BytesIO(data))


async def build_archive(request: Request, services: Services, members: list[ArchiveMember], flat: dict[str, str],
                        items: list[EagerItem]) -> tuple[Path, int]:
    """The archive `flat` describes (`target_format`, naming options), written to a new spool
    file, and how many files it holds; the caller owns the file."""
    fmt = flat.get("target_format") or "zip"
    services.spool_dir.mkdir(parents=True, exist_ok=True)
    target = services.spool_dir / f"archive-{secrets.token_hex(8)}.{fmt}"
    try:
        return target, await _build(request, services, members, flat, items, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def archive_download(target: Path, flat: dict[str, str], stem: str) -> FileResponse:
    """Stream a `build_archive` file back as `stem.zip` (or `.tgz`); the file goes once sent."""
    fmt = flat.get("target_format") or "zip"
    return FileResponse(target, media_type="application/zip" if fmt == "zip" else "application/gzip",
                        filename=f"{stem}.{fmt}", background=BackgroundTask(target.unlink, missing_ok=True))


async def generate_archive(request: Request) -> Response:
    services = services_of(request)
    cloud, resource_type = request.path_params["cloud"], request.path_params["resource_type"]
    if resource_type not in ARCHIVE_RESOURCE_TYPES:
        raise Invalid(f"Invalid resource type - {resource_type}")
    await services.require_cloud(cloud)
    flat, lists = await _params(request, services)
    await authenticate(services, request, cloud, flat, "generate_archive", expiring_link=True)
    _check_request(flat)
    # A malformed transformation or unknown `t_NAME` is a 400 before any work.
    items = parse_eager(flat.get("transformations", ""), await cloud_named(services, cloud, flat.get("transformations", "")))
    members = await services.db(archive_members, cloud, resource_type, flat.get("type") or "upload", **_members_args(lists, flat))
    if not members and not parse_bool(flat.get("allow_missing"), False):
        raise catalog.AssetNotFound("No resources found for the archive")
    target, file_count = await build_archive(request, services, members, flat, items)
    if flat.get("mode") == "download":
        return archive_download(target, flat, flat.get("target_public_id") or "archive")
    try:
        return await _store(request, services, cloud, flat, target, len(members), file_count)
    finally:
        target.unlink(missing_ok=True)


def _check_request(flat: dict[str, str]) -> None:
    if (flat.get("target_format") or "zip") not in ("zip", "tgz"):
        raise Invalid(f"Invalid target_format - {flat.get('target_format')}")
    if flat.get("mode", "create") not in ("create", "download"):
        raise Invalid(f"Invalid mode - {flat.get('mode')}")
    expires_at = flat.get("expires_at")
    if expires_at and unix_seconds(expires_at, "expires_at") < time.time():
        raise Invalid("The archive link has expired")


async def _store(request: Request, services: Services, cloud: str, flat: dict[str, str], path: Path,
                 resource_count: int, file_count: int) -> Response:
    """`mode=create`: keep the archive as a raw asset and answer with it."""
    fmt = flat.get("target_format") or "zip"
    public_id = flat.get("target_public_id") or secrets.token_hex(10)
    if not public_id.endswith(f".{fmt}"):
        public_id = f"{public_id}.{fmt}"
    storage_key = f"{cloud}/originals/{secrets.token_hex(16)}"
    await services.store.put_file(storage_key, path)
    size, md5 = await anyio.to_thread.run_sync(_size_and_md5, path)
    new = catalog.NewAsset(
        cloud=cloud, resource_type="raw", type="upload", public_id=public_id, storage_key=storage_key, format=fmt,
        bytes=size, etag=md5, mime_type="application/zip" if fmt == "zip" else "application/gzip",
        asset_folder=flat.get("target_asset_folder", ""),
        tags=tuple(t for t in (flat.get("target_tags") or "").split(",") if t),
    )
    result = await services.db(catalog.save_asset, new, overwrite=True)
    await delete_blobs(services, list(result.replaced_storage_keys))
    body = asset_json(request, services.settings, result.asset)
    body.update({"resource_count": resource_count, "file_count": file_count})
    return JSONResponse(body)


def _size_and_md5(path: Path) -> tuple[int, str]:
    digest = hashlib.md5()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


routes = [Route("/v1_1/{cloud}/{resource_type}/generate_archive", generate_archive, methods=["GET", "POST"])]
