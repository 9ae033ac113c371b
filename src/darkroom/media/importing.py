"""Copying a Cloudinary library into darkroom through Cloudinary's public APIs (`darkroom import`).

What is copied, in this order:
1. the account's definitions the assets depend on: structured metadata fields, named
   transformations, upload presets (each only if the destination lacks one of that name);
2. every asset, listing by listing (`LISTINGS`: image, video, raw × upload, private,
   authenticated) through the Admin API with cursors, 500 a page, with its tags, context,
   structured metadata, asset folder, display name and moderation status; the original comes
   by a signed download (`/{resource_type}/download`, as the SDKs' `private_download_url`),
   is checked against the listing's `etag` (MD5) and `bytes`, stored like an upload, and
   keeps the source's version number and creation time.

Resumable: after each page the listing's next cursor is saved (`catalog.imports`), and each
copied asset is recorded with its checksum, so a run that is killed starts again at its last
page and skips what it had copied. Parallel with a bound: at most `parallel` downloads at
once. The source is any server speaking Cloudinary's API: Cloudinary itself, or another
darkroom (`?upload_prefix=` names its address), which is how the tests run it.

The whole import is the one async function `import_library`, run by `darkroom import` in the
foreground (its progress and report are the command's output), not as a job.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import anyio
import httpx

from darkroom import catalog
from darkroom.auth.signing import sign_params
from darkroom.catalog import imports, metadata_fields, named_transformations, presets
from darkroom.catalog.updates import AssetChanges, update_resource
from darkroom.config import Secret
from darkroom.errors import DarkroomError, Invalid, NotFound
from darkroom.media.ingest import UploadOptions, ingest
from darkroom.media.services import Services
from darkroom.media.sources import MAX_REDIRECTS, checked_request
from darkroom.media.spool import SpooledFile

__all__ = ["ImportReport", "Source", "import_library"]

log = logging.getLogger(__name__)

LISTINGS = tuple((resource_type, type_) for resource_type in ("image", "video", "raw") for type_ in ("upload", "private", "authenticated"))
PAGE_SIZE = 500  # the Admin API's largest page
ATTEMPTS = 4  # per source request: rate limits (420/429) and server errors are retried with back-off
DEFAULT_API = "https://api.cloudinary.com"


@dataclass(frozen=True)
class Source:
    """A Cloudinary account to copy from: `cloudinary://KEY:SECRET@CLOUD[?upload_prefix=…]`."""

    cloud: str
    api_key: str
    api_secret: Secret
    api_base: str  # where its APIs answer: Cloudinary's, or upload_prefix

    @classmethod
    def parse(cls, text: str) -> Source:
        parts = urlsplit(text)
        if parts.scheme != "cloudinary" or not parts.username or parts.password is None or "@" not in parts.netloc:
            raise Invalid("The source must look like cloudinary://KEY:SECRET@CLOUD[?upload_prefix=https://…]")
        cloud = parts.netloc.rsplit("@", 1)[1]
        prefix = parse_qs(parts.query).get("upload_prefix", [DEFAULT_API])[-1].rstrip("/")
        if urlsplit(prefix).scheme not in ("http", "https"):
            raise Invalid("upload_prefix must be an http(s) URL")
        if urlsplit(prefix).scheme == "http" and not _is_loopback(urlsplit(prefix).hostname or ""):
            # The Admin API calls carry KEY:SECRET as Basic auth: never in clear over a network.
            raise Invalid("upload_prefix must be https:// (plain http only to a loopback address: 127.0.0.0/8, ::1)")
        return cls(cloud, unquote(parts.username), Secret(unquote(parts.password)), prefix)

    @property
    def label(self) -> str:
        """Names the source in the checkpoint: never its secret."""
        return f"{self.cloud}:{self.api_key}@{urlsplit(self.api_base).netloc}"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ImportReport:
    listed: dict[str, int] = field(default_factory=dict)  # listing → assets the source listed (this run)
    copied: int = 0  # assets copied and verified in this run
    skipped: int = 0  # listed assets an earlier run had copied
    failed: list[str] = field(default_factory=list)  # "public_id: why"
    verified_total: int = 0  # assets of this source copied and verified, over every run
    definitions: dict[str, int] = field(default_factory=dict)  # metadata fields, named transformations, presets created
    bytes: int = 0

    @property
    def listed_total(self) -> int:
        return sum(self.listed.values())


class SourceApi:
    """The source's Admin API and signed downloads, with retries."""

    def __init__(self, source: Source, client: httpx.AsyncClient) -> None:
        self.source = source
        self.client = client

    def url(self, path: str) -> str:
        return f"{self.source.api_base}/v1_1/{self.source.cloud}/{path}"

    async def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        auth = (self.source.api_key, str(self.source.api_secret))
        for attempt in range(1, ATTEMPTS + 1):
            try:
                answer = await self.client.get(self.url(path), params=params, auth=auth)
            except httpx.TransportError:
                if attempt == ATTEMPTS:
                    raise
            else:
                if answer.status_code == 404:
                    raise NotFound(f"{path}: not found at the source")
                if answer.status_code not in (420, 429) and answer.status_code < 500:
                    answer.raise_for_status()
                    body: dict[str, Any] = answer.json()
                    return body
                if attempt == ATTEMPTS:
                    answer.raise_for_status()
            await anyio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def download_params(self, item: dict[str, Any]) -> dict[str, str]:
        """A signed `download` of the original, as `cloudinary.utils.private_download_url` builds it."""
        params = {"public_id": item["public_id"], "type": item.get("type", "upload"), "timestamp": str(int(time.time()))}
        if item.get("format"):
            params["format"] = item["format"]
        params["signature"] = sign_params(params, str(self.source.api_secret))
        params["api_key"] = self.source.api_key
        return params


async def import_library(
    services: Services,
    source: Source,
    cloud: str,
    *,
    parallel: int = 4,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> ImportReport:
    """Copy the source's library into `cloud` (see the module docstring); `dry_run` only counts."""
    report = ImportReport()
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10), follow_redirects=False, trust_env=False) as client:
        api = SourceApi(source, client)
        if not dry_run:
            await services.db(catalog.ensure_cloud, cloud)
            await _copy_definitions(services, api, cloud, report)
        limiter = anyio.CapacityLimiter(max(1, parallel))
        for resource_type, type_ in LISTINGS:
            await _copy_listing(services, api, cloud, resource_type, type_, report, limiter, dry_run, progress)
    if not dry_run:
        report.verified_total = await services.db(imports.imported_count, source.label, cloud)
        services.caches.forget()
    return report


async def _copy_listing(
    services: Services, api: SourceApi, cloud: str, resource_type: str, type_: str, report: ImportReport,
    limiter: anyio.CapacityLimiter, dry_run: bool, progress: Callable[[str], None],
) -> None:
    listing = f"{resource_type}/{type_}"
    label = api.source.label
    cursor, finished = (None, False) if dry_run else await services.db(imports.checkpoint, label, cloud, listing)
    if finished:
        progress(f"{listing}: finished in an earlier run")
        return
    while True:
        params: dict[str, Any] = {"max_results": PAGE_SIZE, "tags": "true", "context": "true", "metadata": "true", "moderations": "true"}
        if cursor:
            params["next_cursor"] = cursor
        page = await api.get(f"resources/{resource_type}/{type_}", params)
        items: list[dict[str, Any]] = page.get("resources", [])
        report.listed[listing] = report.listed.get(listing, 0) + len(items)
        if not dry_run:
            await _copy_page(services, api, cloud, items, report, limiter)
        cursor = page.get("next_cursor") or None
        if not dry_run:
            await services.db(imports.save_checkpoint, label, cloud, listing, cursor, cursor is None)
        progress(f"{listing}: {report.listed[listing]} listed, {report.copied} copied, {report.skipped} already there, {len(report.failed)} failed")
        if cursor is None:
            return


async def _copy_page(services: Services, api: SourceApi, cloud: str, items: list[dict[str, Any]], report: ImportReport, limiter: anyio.CapacityLimiter) -> None:
    done = await services.db(imports.imported_asset_ids, api.source.label, cloud, [str(item.get("asset_id", "")) for item in items])
    report.skipped += sum(1 for item in items if item.get("asset_id") in done)

    async def copy_one(item: dict[str, Any]) -> None:
        async with limiter:
            try:
                await _copy_asset(services, api, cloud, item)
                report.copied += 1
                report.bytes += int(item.get("bytes") or 0)
            except (DarkroomError, httpx.HTTPError, ChecksumMismatch) as error:
                report.failed.append(f"{item.get('public_id')}: {error}")
                log.warning("import of %s failed: %s", item.get("public_id"), error)

    async with anyio.create_task_group() as group:
        for item in items:
            if item.get("asset_id") not in done:
                group.start_soon(copy_one, item)


class ChecksumMismatch(Exception):
    """The downloaded original is not the one the source lists."""


async def _copy_asset(services: Services, api: SourceApi, cloud: str, item: dict[str, Any]) -> None:
    spooled = await _download(services, api, item)
    try:
        options = UploadOptions(
            resource_type=item["resource_type"], type=item.get("type", "upload"), public_id=item["public_id"],
            asset_folder=str(item.get("asset_folder") or ""), overwrite=True, tags=tuple(item.get("tags") or ()),
            context=dict((item.get("context") or {}).get("custom") or {}), metadata=dict(item.get("metadata") or {}),
            display_name=str(item.get("display_name") or ""),
            access_mode="authenticated" if item.get("access_mode") == "authenticated" else None,  # who may see it comes along
        )
        saved = await ingest(services, cloud, spooled, options)
    finally:
        spooled.discard()
    asset = saved.asset
    if asset.etag != spooled.md5:
        raise ChecksumMismatch(f"stored {asset.etag}, downloaded {spooled.md5}")
    moderation = item.get("moderation_status")
    if moderation:
        await services.db(update_resource, cloud, asset.resource_type, asset.type, asset.public_id, AssetChanges(moderation_status=str(moderation)))
    created = _moment(item.get("created_at"))
    if created is not None and item.get("version"):
        await services.db(imports.keep_source_dates, asset.pk, int(item["version"]), created)
    await services.db(imports.record_imported, api.source.label, cloud, str(item["asset_id"]), asset.public_id, spooled.md5, spooled.size)


async def _download(services: Services, api: SourceApi, item: dict[str, Any]) -> SpooledFile:
    """The original into the spool, its MD5 checked against the listing's etag and size."""
    services.spool_dir.mkdir(parents=True, exist_ok=True)
    path = services.spool_dir / f"import-{hashlib.sha1(str(item['asset_id']).encode()).hexdigest()[:16]}-{time.monotonic_ns()}"
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        answer = await _open_download(services, api, item)
        try:
            answer.raise_for_status()
            with path.open("wb") as handle:
                async for chunk in answer.aiter_bytes(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
                    await anyio.to_thread.run_sync(handle.write, chunk)
        finally:
            await answer.aclose()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    spooled = SpooledFile(path, str(item["public_id"]).rsplit("/", 1)[-1], size, digest.hexdigest())
    expected_md5, expected_size = item.get("etag"), item.get("bytes")
    if (expected_md5 and expected_md5 != spooled.md5) or (expected_size is not None and int(expected_size) != size):
        spooled.discard()
        raise ChecksumMismatch(f"downloaded {size} bytes with MD5 {spooled.md5}; the source lists {expected_size} bytes, {expected_md5}")
    return spooled


async def _open_download(services: Services, api: SourceApi, item: dict[str, Any]) -> httpx.Response:
    """The download's answer, streaming. Cloudinary answers a download with a redirect to its
    CDN, so redirects are followed, by hand: a hop to another origin than the source's must
    pass the SSRF address check (`media.sources`), so a source cannot point darkroom inside
    its own network."""
    request = api.client.build_request("GET", api.url(f"{item['resource_type']}/download"), params=api.download_params(item))
    url = str(request.url)  # as named, not as pinned to an address
    source_origin = urlsplit(api.source.api_base)[:2]
    for _ in range(MAX_REDIRECTS + 1):
        answer = await api.client.send(request, stream=True)
        if not answer.is_redirect:
            return answer
        await answer.aclose()
        url = urljoin(url, answer.headers.get("location", ""))
        if urlsplit(url)[:2] == source_origin:
            request = api.client.build_request("GET", url)
        else:
            request = await checked_request(api.client, url, services.settings.fetch_allow)
    raise Invalid(f"{item.get('public_id')}: too many redirects")


def _moment(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _copy_definitions(services: Services, api: SourceApi, cloud: str, report: ImportReport) -> None:
    """Metadata fields, named transformations and presets the destination lacks (by name)."""
    created = {"metadata_fields": 0, "named_transformations": 0, "upload_presets": 0}
    existing_fields = {f["external_id"] for f in await services.db(metadata_fields.list_fields, cloud)}
    for definition in (await api.get("metadata_fields")).get("metadata_fields", []):
        if definition.get("external_id") not in existing_fields:
            await services.db(metadata_fields.add_field, cloud, definition)
            created["metadata_fields"] += 1
    for listed in (await api.get("transformations", {"named": "true", "max_results": 500})).get("transformations", []):
        name = named_transformations.bare_name(str(listed["name"]))
        if await services.db(named_transformations.find_named, cloud, name) is not None:
            continue
        detail = await api.get("transformations", {"transformation": listed["name"]})
        text = detail.get("transformation") or _transformation_text(detail.get("info") or [])
        if text:
            await services.db(named_transformations.create_named, cloud, name, text, bool(detail.get("allowed_for_strict")))
            created["named_transformations"] += 1
    cursor: str | None = None
    while True:
        page = await api.get("upload_presets", {"max_results": 500, **({"next_cursor": cursor} if cursor else {})})
        for preset in page.get("presets", []):
            try:
                await services.db(presets.get_preset, cloud, preset["name"])
                continue
            except catalog.PresetNotFound:
                pass
            await services.db(presets.create_preset, cloud, {"name": preset["name"], "unsigned": preset.get("unsigned", False), **preset.get("settings", {})})
            created["upload_presets"] += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
    report.definitions = created


# Cloudinary's `info` gives a named transformation as parameter objects; their URL keys, for the
# parameters a named transformation commonly holds (an unknown one leaves the definition out).
_URL_KEYS = {
    "width": "w", "height": "h", "crop": "c", "gravity": "g", "quality": "q", "fetch_format": "f", "format": "f",
    "effect": "e", "radius": "r", "angle": "a", "background": "b", "border": "bo", "opacity": "o", "x": "x", "y": "y",
    "zoom": "z", "dpr": "dpr", "aspect_ratio": "ar", "flags": "fl", "color": "co", "overlay": "l", "underlay": "u",
    "default_image": "d", "density": "dn", "page": "pg", "named": "t", "transformation": "t",
}


def _transformation_text(info: list[dict[str, Any]]) -> str:
    components = []
    for step in info:
        parts = []
        for key, value in step.items():
            short = _URL_KEYS.get(key)
            if short is None:
                return ""
            parts.append(f"{short}_{value}")
        components.append(",".join(sorted(parts)))
    return "/".join(components)
