"""Turning a spooled file and upload options into a stored asset.

Shared by the Upload API, the TinaCMS media store and the console. The order is what makes
a write visible only when complete: probe the bytes, store the blob, then record the asset
in one transaction; blobs that end up unreferenced are deleted last.
"""

from __future__ import annotations

import logging
import posixpath
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from darkroom import catalog
from darkroom.media.spool import SpooledFile, spool_bytes
from darkroom.media.params import parse_bool, parse_context, parse_list
from darkroom.media.services import Services
from darkroom.catalog import NewAsset, SaveResult
from darkroom.catalog.cloud_settings import folder_mode
from darkroom.auth.access_control import Rule, parse_access_control
from darkroom.catalog.relations import ACCESS_MODES
from darkroom.catalog.metadata_fields import validate_asset_metadata
from darkroom.errors import Invalid
from darkroom.imaging import MediaInfo, RenderRequest, normalize_format, probe, render
from darkroom.transform import parse
from darkroom.video import VideoInfo, probe_video
from darkroom.vocabulary import STORED_DELIVERY_TYPES

__all__ = ["StoredExtras", "UploadOptions", "base_public_id", "ingest", "delete_blobs", "random_public_id"]

log = logging.getLogger("darkroom.ingest")

_ID_ALPHABET = string.ascii_lowercase + string.digits


def random_public_id(length: int = 20) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class UploadOptions:
    """The Upload API parameters that decide where and how a file is stored."""

    resource_type: str = "auto"  # from the URL: image | video | raw | auto
    type: str = "upload"
    public_id: str = ""
    folder: str = ""
    asset_folder: str = ""
    use_filename: bool = False
    unique_filename: bool = True
    filename_override: str = ""
    overwrite: bool = True
    tags: tuple[str, ...] = ()
    context: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    format: str = ""  # convert the image to this format before storing it
    transformation: str = ""  # an incoming transformation, applied before storing
    allowed_formats: tuple[str, ...] = ()
    display_name: str = ""  # explicit; else `_display_name` decides
    use_filename_as_display_name: bool = False
    backup: bool = False  # keep every version of this asset, whatever the cloud's backup setting
    access_mode: str | None = None  # "authenticated": delivered to signed URLs only, as the type would be
    access_control: tuple[Rule, ...] | None = None  # auth/access_control.py; None: kept as it is (a new asset has none)

    @classmethod
    def from_params(cls, params: dict[str, str], resource_type: str, *, signed: bool) -> UploadOptions:
        type_ = params.get("type") or "upload"
        if type_ not in STORED_DELIVERY_TYPES:
            raise Invalid(f"Invalid type parameter - {type_}")
        access_mode = params.get("access_mode", "").strip() or None
        if access_mode is not None and access_mode not in ACCESS_MODES:
            raise Invalid(f"Invalid access_mode - {access_mode}")
        return cls(
            resource_type=resource_type,
            type=type_,
            public_id=params.get("public_id", "").strip(),
            folder=params.get("folder", "").strip().strip("/"),
            asset_folder=params.get("asset_folder", "").strip().strip("/"),
            use_filename=parse_bool(params.get("use_filename"), False),
            unique_filename=parse_bool(params.get("unique_filename"), True),
            filename_override=params.get("filename_override", ""),
            # Unsigned uploads never overwrite unless their preset says so (Cloudinary's default).
            overwrite=parse_bool(params.get("overwrite"), signed),
            tags=tuple(parse_list(params.get("tags"))),
            context=parse_context(params.get("context")),
            metadata=parse_context(params.get("metadata")),
            backup=parse_bool(params.get("backup"), False),
            format=params.get("format", "").lower().lstrip("."),
            transformation=params.get("transformation", ""),
            allowed_formats=tuple(f.lower() for f in parse_list(params.get("allowed_formats"))),
            display_name=params.get("display_name", "").strip(),
            use_filename_as_display_name=parse_bool(params.get("use_filename_as_display_name"), False),
            access_mode=access_mode,
            access_control=tuple(parse_access_control(params["access_control"])) if params.get("access_control") else None,
        )


def _with_access_control(annotations: dict[str, Any], rules: tuple[Rule, ...] | None) -> dict[str, Any]:
    """The asset's annotations with the upload's access_control rules (catalog keeps a replaced
    version's rules when an upload names none)."""
    return annotations if rules is None else {**annotations, "access_control": list(rules)}


@dataclass(frozen=True)
class StoredExtras:
    """What `before_storing` found that is stored with the asset (the add-ons' findings)."""

    tags: tuple[str, ...] = ()  # added to the upload's own tags (auto-tagging)
    annotations: dict[str, Any] = field(default_factory=dict)  # catalog/moderation.py
    moderation_status: str | None = None
    moderation_kinds: str | None = None
    options: UploadOptions | None = None  # the upload's options as its `eval` script left them; None: unchanged


# Work that must succeed before anything is stored: given the file as it will be stored, its
# resource type, what the probe found and the upload's options (`media.uploads` measures the
# analyses, runs `eval` and the add-ons here); what it returns is stored with the asset.
BeforeStoring = Callable[[Path, str, MediaInfo, UploadOptions], Awaitable[StoredExtras | None]]


async def ingest(services: Services, cloud: str, spooled: SpooledFile, options: UploadOptions, *, before_storing: BeforeStoring | None = None) -> SaveResult:
    """Store `spooled` as an asset of `cloud`; the spool file is left for the caller to discard."""
    if spooled.size == 0:
        raise Invalid("Empty file")  # Cloudinary's wording, whatever the resource type
    info = await anyio.to_thread.run_sync(
        lambda: probe(spooled.path, max_pixels=services.settings.max_image_pixels)
    )
    resource_type = _resource_type(options.resource_type, info)
    video: VideoInfo | None = None
    if resource_type == "video":
        video = await anyio.to_thread.run_sync(probe_video, spooled.path)
        info = MediaInfo("video", video.format, video.width, video.height)
    if resource_type == "image" and (options.transformation or _format_change(options.format, info.format)):
        converted = await _apply_incoming(services, spooled, info, options)
        try:
            return await ingest(services, cloud, converted, replace(options, transformation="", format=""), before_storing=before_storing)
        finally:
            converted.discard()
    filename = options.filename_override or spooled.filename
    fmt = info.format if resource_type != "raw" else _extension(filename)
    _check_allowed_format(fmt, options.allowed_formats)
    public_id = _public_id(options, filename, resource_type)
    catalog.validate_public_id(public_id)
    metadata = await services.db(validate_asset_metadata, cloud, options.metadata)
    asset_folder = await _asset_folder(services, cloud, options, public_id)
    extras = (await before_storing(spooled.path, resource_type, info, options) if before_storing is not None else None) or StoredExtras()
    if extras.options is not None and extras.options != options:  # `eval` changed them: check its metadata too
        options = extras.options
        metadata = await services.db(validate_asset_metadata, cloud, options.metadata)
    storage_key = f"{cloud}/originals/{secrets.token_hex(16)}"
    await services.store.put_file(storage_key, spooled.path)
    new = NewAsset(
        cloud=cloud,
        resource_type=resource_type,
        type=options.type,
        public_id=public_id,
        storage_key=storage_key,
        format=fmt,
        bytes=spooled.size,
        etag=spooled.md5,
        mime_type=info.content_type if resource_type != "raw" else "application/octet-stream",
        width=info.width if resource_type != "raw" else None,
        height=info.height if resource_type != "raw" else None,
        pages=info.pages if resource_type == "image" else None,
        duration=video.duration if video is not None else None,
        video_metadata=video.media_fields() if video is not None else {},
        asset_folder=asset_folder,
        display_name=_display_name(options, filename),
        original_filename=_original_name(filename),
        tags=(*options.tags, *extras.tags),
        context=options.context,
        metadata=metadata,
        backup=options.backup,
        annotations=_with_access_control(extras.annotations, options.access_control),
        moderation_status=extras.moderation_status,
        moderation_kinds=extras.moderation_kinds,
        access_mode=options.access_mode,
    )
    try:
        result = await services.db(catalog.save_asset, new, overwrite=options.overwrite)
    except BaseException:
        await delete_blobs(services, [storage_key])
        raise
    await delete_blobs(services, [storage_key] if result.existing else list(result.replaced_storage_keys))
    return result


async def _asset_folder(services: Services, cloud: str, options: UploadOptions, public_id: str) -> str:
    """The asset's folder: in fixed folder mode the public ID's path (`asset_folder` is ignored,
    as Cloudinary ignores it there); in dynamic mode `asset_folder`, else `folder`, checked
    like a public ID (no `..`, bounded length)."""
    if await services.db(folder_mode, cloud) == "fixed":
        return public_id.rpartition("/")[0]
    chosen = options.asset_folder or options.folder
    return catalog.validate_path(chosen, "asset_folder") if chosen else ""


def _format_change(requested: str, current: str) -> bool:
    return bool(requested) and normalize_format(requested) != normalize_format(current)


async def _apply_incoming(services: Services, spooled: SpooledFile, info: MediaInfo, options: UploadOptions) -> SpooledFile:
    """Render the incoming transformation / format conversion into a new spool file."""
    chain = parse(options.transformation)
    limits = services.render_limits
    rendered = await anyio.to_thread.run_sync(
        lambda: render(RenderRequest(spooled.path, chain, source_format=info.format, requested_format=options.format or None, limits=limits))
    )
    filename = f"{_original_name(spooled.filename)}.{rendered.format}"
    return await anyio.to_thread.run_sync(spool_bytes, services.spool_dir, "incoming-", filename, rendered.data)


def _display_name(options: UploadOptions, filename: str) -> str:
    """Cloudinary's dynamic folder mode: an explicit `display_name` wins; with
    `use_filename_as_display_name` it is the original filename without its extension (unless
    the client sent none, only a placeholder like `blob`); "" lets the catalog default to the
    public ID's last segment."""
    if options.display_name:
        return options.display_name
    original = _original_name(filename)
    if options.use_filename_as_display_name and original not in ("", *PLACEHOLDER_FILENAMES):
        return original
    return ""


def _resource_type(requested: str, info: MediaInfo) -> str:
    """`auto` trusts the sniffed bytes; `video` lets PyAV judge anything that is not an image."""
    if requested == "auto":
        return info.resource_type
    if requested == "raw":
        return "raw"
    if requested == "video" and info.resource_type == "raw":
        return "video"
    if info.resource_type != requested:
        raise Invalid(f"Invalid {requested} file")
    return requested


def _check_allowed_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if allowed and normalize_format(fmt) not in {normalize_format(a) for a in allowed}:
        raise Invalid(f"{fmt or 'unknown'} format is not allowed; allowed formats are {', '.join(allowed)}")


def _original_name(filename: str) -> str:
    """The file's name without folders or extension (Cloudinary's `original_filename`)."""
    return _stem(posixpath.basename(filename.replace("\\", "/")))


def _stem(filename: str) -> str:
    stem, dot, _ext = filename.rpartition(".")
    return stem if dot and stem else filename


def _extension(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/"))
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem and ext.isalnum() and len(ext) <= 8 else ""


# Names clients give a file they have no name for: never used as a public ID or display name.
PLACEHOLDER_FILENAMES = ("file", "blob", "stream")


def _public_id(options: UploadOptions, filename: str, resource_type: str) -> str:
    base = base_public_id(options, filename, resource_type)
    return f"{options.folder}/{base}" if options.folder else base


def base_public_id(options: UploadOptions, filename: str, resource_type: str) -> str:
    """Cloudinary's rules, before the folder: explicit ID, else the file's name (made unique), else random."""
    if options.public_id:
        return options.public_id
    stem = _stem(posixpath.basename(filename.replace("\\", "/")))
    usable = options.use_filename and stem and stem not in PLACEHOLDER_FILENAMES
    base = stem if usable else random_public_id()
    if usable and options.unique_filename:
        base = f"{base}_{random_public_id(6)}"
    if resource_type == "raw" and _extension(filename):
        base = f"{base}.{_extension(filename)}"
    return base


async def delete_blobs(services: Services, keys: list[str]) -> None:
    """Remove unreferenced blobs; a failure is logged, never surfaced (the record is already gone)."""
    for key in keys:
        try:
            await services.store.delete(key)
        except Exception:  # noqa: BLE001 - best effort, the catalog no longer points at it
            log.warning("could not delete blob %s", key, exc_info=True)
