"""Delivery: `GET|HEAD /{cloud}/{resource_type}/{type}/[s--SIG--/][transformation/][vN/]{public_id}[.ext]`.

Originals stream straight from the blob store; anything else (a transformation, or another
image extension) goes through the derivative cache: `media.derivatives` for images (bytes),
`media.video_derivatives` for video and audio (files in the store, streamed). Errors carry `X-Cld-Error`.
Both honour one byte range (`Range`, `If-Range`: 206 or 416) so players can seek; an original's
range is read from the store alone. Query strings (the SDKs' `?_a=…`, players' `?_s=vp`) are ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from darkroom.catalog.cloud_settings import cloud_settings
from darkroom.catalog.moderation import HIDE_REJECTED, overall_status
from darkroom.media import auto_upload
from darkroom.media.lookups import AssetLookup, RulesLookup
from darkroom.api.hot_responses import mark_replayable
from darkroom.api.shapes import attachment
from darkroom.api.streaming import stream_target
from darkroom.media import streaming
from darkroom.media.streaming import StreamChild
from darkroom.media.delivery_paths import DeliveryPath, split_delivery_path
from darkroom.media.derivatives import ClientHints, Derivative, StrictTransformationRefused
from darkroom.media.video_derivatives import VideoClient
from darkroom.media.video_derivatives import describe as describe_video
from darkroom.media.purge import surrogate_keys
from darkroom.media.services import Services, services_of
from darkroom.auth import verify_url_signature
from darkroom.catalog import Asset
from darkroom.errors import NotAuthenticated, NotFound, StillProcessing
from darkroom.storage import BlobNotFound
from darkroom.imaging import normalize_format
from darkroom.transform import Chain, ParseError, parse
from darkroom.auth.access_control import anonymous_for
from darkroom.vocabulary import DELIVERY_URL_TYPES, SIGNED_DELIVERY_TYPES, STORED_RESOURCE_TYPES

__all__ = ["routes"]

# A sprite's stylesheet and map: stored when the sprite is made, never rendered.
SPRITE_SIDECARS = ("css", "json")
ONE_YEAR = 31_536_000  # seconds
VERSIONED_CACHE = f"public, max-age={ONE_YEAR}, immutable"
# An unversioned URL may mean new bytes after an overwrite: caches keep it briefly, and may
# answer from a stale copy while they fetch the new one (no client waits on a revalidation).
UNVERSIONED_CACHE = "public, max-age=300, stale-while-revalidate=3600"
# An SVG shown directly must not run scripts or load anything: it is served as a sandboxed document.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


async def deliver(request: Request) -> Response:
    cloud = request.path_params["cloud"]
    resource_type = request.path_params["resource_type"]
    type_ = request.path_params["type"]
    if resource_type not in STORED_RESOURCE_TYPES or type_ not in DELIVERY_URL_TYPES:
        raise NotFound("Resource not found")
    services = services_of(request)
    caches = services.caches
    path = split_delivery_path(_raw_rest(request))
    target = stream_target(path) if resource_type == "video" else None
    if target is not None:  # an HLS/DASH ladder: api/streaming.py has the URL layout
        return await _stream(request, services, cloud, type_, *target)
    asset, requested_format = await _find(caches.asset_lookup, services, cloud, resource_type, type_, path)
    rules = caches.rules_lookup
    await _check_access(rules, services, asset, path)
    if type_ == "sprite" and requested_format in SPRITE_SIDECARS:
        return await _sprite_sidecar(request, services, asset, requested_format, path)
    if _is_original(asset, path.transformation, requested_format):
        return await _original(request, services, asset, path)
    chain = await _chain(rules, services, cloud, path.transformation)
    if asset.resource_type == "video":
        return await _video(request, services, asset, chain, requested_format, path, lambda: _may_render(rules, services, cloud, path))
    derivative = await caches.derivatives.get(
        services,
        asset,
        chain,
        requested_format,
        ClientHints.from_headers(request.headers),
        may_render=lambda: _may_render(rules, services, cloud, path),
        answer_first=True,
    )
    return _derived_response(request, derivative, path, chain.attachment, asset)


def _raw_rest(request: Request) -> str:
    """The path after /{cloud}/{resource_type}/{type}/, still percent-encoded.

    Starlette's path parameters are decoded once already; URL signatures cover the escaped
    form and text overlays carry escaped commas and slashes, so split the raw path instead.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?", 1)[0].split("/", 4)
    expected = [request.path_params[name] for name in ("cloud", "resource_type", "type")]
    if len(parts) < 5 or [unquote(part) for part in parts[1:4]] != expected:
        # An escaped "/" (%2F) in the first three segments: the raw path does not split as the route matched.
        raise NotFound("Resource not found")
    return parts[4]


async def _sprite_sidecar(request: Request, services: Services, asset: Asset, fmt: str, path: DeliveryPath) -> Response:
    """A sprite's CSS or JSON: stored when the sprite was made (under its URL's transformation), never rendered on demand."""
    try:
        chain = parse(path.transformation) if path.transformation else Chain()
        found = await services.caches.derivatives.get(services, asset, chain, fmt, ClientHints(), may_render=False)
    except (StrictTransformationRefused, ParseError):
        raise NotFound("Resource not found") from None
    return _derived_response(request, found, path, None, asset)


async def _check_access(rules: RulesLookup, services: Services, asset: Asset, path: DeliveryPath) -> None:
    """What every delivery of an asset checks, whatever file of it the URL names (an original,
    a derivative, a streaming manifest or segment): an asset rejected by moderation is not
    found when its cloud hides rejected assets, and the URL's signature holds for the asset's
    delivery type. An asset whose access_mode is `authenticated`, or whose access_control
    rules let no one fetch it now, is delivered as an authenticated one: signed URLs only."""
    if overall_status(asset.annotations.get("moderation") or []) == "rejected" and await _hides_rejected(services, asset.cloud):
        raise NotFound("Resource not found")  # rejected by moderation, and the cloud delivers no rejected asset
    type_ = "authenticated" if asset.access_mode == "authenticated" or _outside_access_control(asset) else asset.type
    await _check_signature(rules, services, asset.cloud, type_, path)


def _outside_access_control(asset: Asset) -> bool:
    """Whether the asset has access_control rules and none lets anyone fetch it now: then it is
    delivered as an authenticated one (auth/access_control.py)."""
    access_control = asset.annotations.get("access_control") or []
    return bool(access_control) and anonymous_for(access_control, datetime.now(UTC)) is None


async def _hides_rejected(services: Services, cloud: str) -> bool:
    """The cloud's moderation setting; read only for a rejected asset, so the common path pays nothing."""
    return bool((await services.db(cloud_settings, cloud)).get(HIDE_REJECTED))


async def _find(
    lookup: AssetLookup, services: Services, cloud: str, resource_type: str, type_: str, path: DeliveryPath
) -> tuple[Asset, str | None]:
    for public_id, fmt in path.candidates(resource_type):
        asset = await lookup.get(services, cloud, resource_type, type_, public_id)
        if asset is not None:
            return asset, fmt
    fetched = await auto_upload.fetch_mapped(services, cloud, resource_type, type_, path)  # under an upload mapping
    if fetched is None:
        raise NotFound("Resource not found")
    return fetched


async def _chain(rules: RulesLookup, services: Services, cloud: str, transformation: str) -> Chain:
    """The URL's transformation parsed, its named transformations (`t_`) taken from the
    cloud's rules; those are looked up only when the URL names one."""
    named = (await rules.get(services, cloud)).named if "t_" in transformation else {}
    return parse(transformation, named=named.get)


async def _check_signature(rules: RulesLookup, services: Services, cloud: str, type_: str, path: DeliveryPath) -> None:
    """A signed URL must be signed by an active key of the cloud. The secrets are remembered
    with the cloud's other rules (`LOOKUP_TTL`): a key revoked by another process, such as
    `darkroom keys revoke`, stops signing URLs here at once when the processes share a Redis
    (`media.shared_state`), else within that time."""
    if path.signature is None and type_ not in SIGNED_DELIVERY_TYPES:
        return
    if path.signature is None:
        raise NotAuthenticated("Signature required for this resource")
    secrets = (await rules.get(services, cloud)).url_secrets
    if not verify_url_signature(path.signature, path.signed_text, secrets):
        raise NotAuthenticated("Invalid URL signature")


async def _may_render(rules: RulesLookup, services: Services, cloud: str, path: DeliveryPath) -> bool:
    """Strict transformations: only signed URLs and allowed named transformations render new derivatives.

    The cloud's setting is remembered for up to `LOOKUP_TTL` seconds (media/lookups.py): a
    change through another process, such as `darkroom clouds set --strict`, applies within that.
    """
    if path.signature is not None:
        return True
    cloud_rules = await rules.get(services, cloud)
    if not cloud_rules.strict:
        return True
    if not path.transformation:
        return False
    allowed = cloud_rules.allowed_for_strict
    components = [part for component in path.transformation.split("/") for part in component.split(",")]
    return all(part.startswith("t_") and part[2:] in allowed for part in components)


# Browsers must take the content type we computed from the bytes, never guess one from
# content (an uploaded "image" that sniffs as HTML would run as a page of this origin).
NO_SNIFFING = {"X-Content-Type-Options": "nosniff"}


def _is_original(asset: Asset, transformation: str, requested_format: str | None) -> bool:
    if transformation:
        return False
    if requested_format is None or asset.resource_type not in ("image", "video"):
        return True
    return normalize_format(requested_format) == normalize_format(asset.format)


async def _stream(request: Request, services: Services, cloud: str, type_: str, master: DeliveryPath, child: StreamChild | None) -> Response:
    """A ladder's manifest, media playlist or segment. The master's URL is looked up and
    its signature checked: it covers every file of its ladder."""
    rules = services.caches.rules_lookup
    asset, fmt = await _find(services.caches.asset_lookup, services, cloud, "video", type_, master)
    await _check_access(rules, services, asset, master)
    chain = await _chain(rules, services, cloud, master.transformation)
    if child is None or child.part == "playlist":
        if child is not None:
            text, media_type = await streaming.media_playlist(services, asset, chain, child.track), streaming.STREAMING_FORMATS["m3u8"]
        else:
            prefix = master.signed_text.rsplit("/", 1)[-1]  # the master's name as escaped in the URL
            text, media_type = await streaming.manifest(services, asset, chain, fmt or "", prefix), streaming.STREAMING_FORMATS[fmt or ""]
        # Short-lived: a custom profile's change shows within a minute.
        cache = "private, max-age=60" if asset.type in SIGNED_DELIVERY_TYPES else "public, max-age=60"
        return Response(text, headers={"Cache-Control": cache, **NO_SNIFFING}, media_type=media_type)
    found = await streaming.segment(services, asset, chain, child, may_render=lambda: _may_render(rules, services, cloud, master))
    return await _stored_response(request, services, found, _cache_control(asset, master))


async def _stored_response(request: Request, services: Services, found: streaming.StoredSegment, cache_control: str) -> Response:
    """A stored file, streamed from the blob store with one byte range if asked."""
    headers = {"ETag": f'"{found.etag}"', "Cache-Control": cache_control, "Accept-Ranges": "bytes", **NO_SNIFFING}
    try:
        return await _blob_response(request, services, found.storage_key, found.size, found.content_type, headers)
    except BlobNotFound:  # purged by another process since it was remembered: the retry makes it again
        services.caches.streaming.forget_all()
        raise streaming.LadderPreparing("Video is being processed, please try again later") from None


def _cache_control(asset: Asset, path: DeliveryPath) -> str:
    if asset.type in SIGNED_DELIVERY_TYPES:
        return "private, max-age=3600"
    access_control = asset.annotations.get("access_control")
    if access_control:
        # A shared cache must not keep serving it after its anonymous window closes.
        public_for = anonymous_for(access_control, datetime.now(UTC))
        if public_for is None:
            return "private, max-age=3600"
        if public_for < ONE_YEAR:  # an end in sight: cached briefly, and never past it
            return f"public, max-age={int(min(public_for, 300))}"
    return VERSIONED_CACHE if path.version is not None else UNVERSIONED_CACHE


def _surrogate_keys(asset: Asset) -> str:
    """Labels a CDN can purge by (`media.purge`): the asset, its public ID, its cloud."""
    return surrogate_keys(asset.cloud, asset.public_id, asset.asset_id)


def _asset_headers(asset: Asset, path: DeliveryPath) -> dict[str, str]:
    """What every answer with a file of `asset` carries: caching, ranges, purge labels, no sniffing."""
    return {"Cache-Control": _cache_control(asset, path), "Accept-Ranges": "bytes", "Surrogate-Key": _surrogate_keys(asset), **NO_SNIFFING}


def _attachment(download_name: str, asset: Asset, fmt: str) -> str:
    """`fl_attachment[:name]`'s Content-Disposition: the name given, else the public ID's last segment."""
    stem = download_name or asset.public_id.rsplit("/", 1)[-1]
    return attachment(f"{stem}.{fmt}")


def _not_modified(request: Request, etag: str) -> bool:
    return not_modified(request.headers.get("if-none-match", ""), etag)


def not_modified(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` value names `etag` (weakly compared) or is `*`."""
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(",")) or if_none_match.strip() == "*"


async def _original(request: Request, services: Services, asset: Asset, path: DeliveryPath) -> Response:
    etag = f'"{asset.etag}"'
    headers = {"ETag": etag, **_asset_headers(asset, path)}
    if asset.format == "svg":
        headers["Content-Security-Policy"] = SVG_POLICY
    # The catalog knows the size: no need to open the blob (a GET on S3) to answer a range or a HEAD.
    return await _blob_response(request, services, asset.storage_key, asset.bytes, asset.mime_type, headers)


async def _blob_response(request: Request, services: Services, storage_key: str, size: int, media_type: str, headers: dict[str, str]) -> Response:
    """A stored blob of known `size`, streamed from the store: 304 for a matching
    `If-None-Match`, one byte range (206, or 416), a HEAD without opening the blob; behind
    nginx with DARKROOM_ACCEL_REDIRECT, a GET is handed to nginx to send from the blob folder.
    `headers` carries the ETag and the caching and content headers of the answer."""
    etag = headers["ETag"]
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    accel = services.settings.accel_redirect
    if accel and request.method == "GET":
        # Access is decided: nginx sends the file from the blob folder, the client's Range included.
        headers["X-Accel-Redirect"] = accel + quote(storage_key)
        return Response(status_code=200, headers=headers, media_type=media_type)
    wanted = _requested_range(request, etag, size)
    if wanted == UNSATISFIABLE:
        return _unsatisfiable(size)
    status = 200 if wanted is None else 206
    start, end = (0, size - 1) if wanted is None else wanted
    headers["Content-Length"] = str(end - start + 1)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    blob = await services.store.open(storage_key, wanted)
    return StreamingResponse(blob.chunks(), status_code=status, headers=headers, media_type=media_type)


async def _video(
    request: Request,
    services: Services,
    asset: Asset,
    chain: Chain,
    requested_format: str | None,
    path: DeliveryPath,
    may_render: Callable[[], Awaitable[bool]],
) -> Response:
    """A video derivative (a transcode, a still, a sprite or its index), streamed from the
    store with ranges. A HEAD before it is rendered answers its type at once, from the plan
    (Cloudinary's player HEADs its `f_auto:video` source), and starts the render; a GET
    waits for it at most `video_wait` seconds, then answers 423 while it goes on."""
    videos = services.caches.video_derivatives
    client = VideoClient.from_headers(request.headers)
    # CORS (a player on another origin reads the HEAD's type, ranges, .vtt cues): api/streaming.py's middleware.
    headers = _asset_headers(asset, path)
    if request.method == "HEAD":
        found = await videos.find(services, asset, chain, requested_format, client)
        if found is None:
            output = describe_video(asset, chain, requested_format, client)
            await videos.start(services, asset, chain, requested_format, client, may_render=may_render)
            if output.vary:
                headers["Vary"] = output.vary
            return StreamingResponse(iter(()), headers=headers, media_type=output.content_type)  # no length known yet
    else:
        found = await videos.get(services, asset, chain, requested_format, client, may_render=may_render, wait=services.settings.video_wait)
    headers["ETag"] = f'"{found.etag}"'
    if found.vary:
        headers["Vary"] = found.vary
    if chain.attachment is not None:  # fl_attachment[:name]
        headers["Content-Disposition"] = _attachment(chain.attachment, asset, found.format)
    try:
        return await _blob_response(request, services, found.storage_key, found.size, found.content_type, headers)
    except BlobNotFound:  # purged since it was found: the next request renders it again
        raise StillProcessing("Video is being processed, please try again later") from None


def _derived_response(request: Request, derivative: Derivative, path: DeliveryPath, download_name: str | None, asset: Asset) -> Response:
    etag = f'"{derivative.etag}"'
    headers = {"ETag": etag, **_asset_headers(asset, path)}
    if derivative.vary_accept:
        headers["Vary"] = "Accept"
    if derivative.format == "svg":  # a traced picture (e_vectorize): safe by construction, sandboxed all the same
        headers["Content-Security-Policy"] = SVG_POLICY
    if download_name is not None:  # fl_attachment[:name]
        headers["Content-Disposition"] = _attachment(download_name, asset, derivative.format)
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    total = len(derivative.data)
    wanted = _requested_range(request, etag, total)
    if wanted == UNSATISFIABLE:
        return _unsatisfiable(total)
    if wanted is None:
        mark_replayable(request.scope)  # the same request may be answered with these bytes for a second
        body, status = derivative.data, 200
    else:
        body, status = derivative.data[wanted[0] : wanted[1] + 1], 206
        headers["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{total}"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=status, headers=headers, media_type=derivative.content_type)
    return Response(body, status_code=status, headers=headers, media_type=derivative.content_type)


# Byte ranges (RFC 9110 §14): one range per request. Several ranges would need a
# multipart/byteranges body that players never ask for; like most CDNs, such a request
# (or a malformed one) is answered in full, which the RFC allows (a server may ignore Range).
UNSATISFIABLE = (-1, -1)
# At most 18 digits (below 2**63, what S3 ranges hold): a longer number is malformed, never a
# multi-thousand-digit int() to parse.
_SINGLE_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})", re.IGNORECASE)


def _requested_range(request: Request, etag: str, total: int) -> tuple[int, int] | None:
    """The one byte range (first, last, both inclusive) to send, None for the whole
    representation, or UNSATISFIABLE when the range starts past its end."""
    header = request.headers.get("range")
    if header is None or not _if_range_holds(request, etag):
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # "-n": the last n bytes
        suffix = int(last)
        return UNSATISFIABLE if suffix == 0 or total == 0 else (max(total - suffix, 0), total - 1)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # invalid: the RFC says to ignore it
    if start >= total:
        return UNSATISFIABLE
    return start, total - 1 if last == "" else min(int(last), total - 1)


def _if_range_holds(request: Request, etag: str) -> bool:
    """`If-Range`: send the range only if the client still holds this version (strong
    ETag match). A date never matches, since delivery sends no Last-Modified."""
    given = request.headers.get("if-range")
    return given is None or given.strip() == etag


def _unsatisfiable(total: int) -> Response:
    """416, naming the size so the client can ask again; no validators or caching for an error."""
    headers = {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{total}", "X-Cld-Error": "Range Not Satisfiable"}
    return Response(status_code=416, headers=headers | NO_SNIFFING)


routes = [Route("/{cloud}/{resource_type}/{type}/{rest:path}", deliver, methods=["GET", "HEAD"])]
