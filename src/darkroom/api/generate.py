"""Generation actions of the Upload API, and the analysis fields upload and explicit add.

Actions (`POST /v1_1/{cloud}/image/{action}`), all synchronous here although Cloudinary
runs some of them in the background:

- `text`: an image of styled text, stored as type `text`; replies like an upload.
- `sprite`: the images sharing a tag (or listed in `urls[]`) stacked into one sheet, stored
  as type `sprite`, with a CSS and a JSON sidecar delivered next to it.
- `multi`: the same images as frames of an animated GIF/WebP or pages of a PDF (type `multi`).
- `explode`: each page of a multi-page asset rendered as its `pg_N` derivative.

`analysis_fields` answers `colors`, `phash`, `quality_analysis`, `faces` and `responsive_breakpoints`.
The generated types (`text`, `sprite`, `multi`) are delivered by `api/delivery.py` like
uploads; the sprite's CSS and JSON sidecars are stored derivatives that are never rendered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pyvips
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.delivery_paths import split_delivery_path
from darkroom.api.actions import ActionContext, required, resource_reply
from darkroom.api.derivatives import ClientHints, store_derivative, variant_key
from darkroom.api.callers import authenticate
from darkroom.api.ingest import delete_blobs, random_public_id
from darkroom.api.multipart import UploadForm
from darkroom.api.params import parse_bool
from darkroom.api.services import Services, services_of
from darkroom.api.shapes import delivery_host, delivery_urls
from darkroom.api.sources import fetch_remote
from darkroom.catalog import Asset, NewAsset
from darkroom.catalog.listing import Listing, list_resources
from darkroom.errors import Invalid, NotFound
from darkroom.imaging import InvalidImage, Rendered, RenderRequest, TooManyPixels, content_type_for, probe, render, render_image
from darkroom.imaging import generation, metrics
from darkroom.imaging.breakpoints import BreakpointSettings, choose_breakpoints
from darkroom.transform import Chain, parse
from darkroom.transform.colors import parse_color


__all__ = ["analysis_fields", "check_analysis_params", "explode", "multi", "routes", "sprite", "text"]

log = logging.getLogger("darkroom.generate")

MAX_SOURCES = 100  # images in one sprite or multi
MAX_PAGES = 200  # pages one explode renders
DEFAULT_FRAME_DELAY = 500  # ms between multi frames when the transformation gives no dl_
SPRITE_FORMATS = frozenset(("png", "jpg", "webp", "gif"))


# ---------------------------------------------------------------- text


async def text(ctx: ActionContext) -> Response:
    """`cloudinary.uploader.text("Hi", font_family="Arial", font_size=40, …)`."""
    content = required(ctx.params, "text")
    options = _text_options(ctx.params)
    picture = await anyio.to_thread.run_sync(lambda: generation.render_text(content, options))
    public_id = ctx.params.get("public_id") or random_public_id()
    asset = await _store_generated(ctx, "text", public_id, picture)
    return JSONResponse(await resource_reply(ctx, asset))


def _text_options(params: dict[str, str]) -> generation.TextOptions:
    """Validate the style parameters, naming the one that is wrong."""
    return generation.TextOptions(
        font_family=required(params, "font_family"),
        font_size=_int_param(params, "font_size", 12, 1, 1000),
        font_color=parse_color("font_color", params.get("font_color") or "black"),
        font_weight=_choice(params, "font_weight", ("normal", "bold"), "normal"),
        font_style=_choice(params, "font_style", ("normal", "italic"), "normal"),
        text_align=_choice(params, "text_align", ("left", "center", "right", "justify", "start", "end"), "") or None,
        background=parse_color("background", params["background"]) if params.get("background") else None,
        opacity=_int_param(params, "opacity", 100, 0, 100),
        text_decoration=_choice(params, "text_decoration", ("none", "underline", "strikethrough"), "none"),
    )


# ---------------------------------------------------------------- sprite and multi


async def sprite(ctx: ActionContext) -> Response:
    """`generate_sprite(tag)` / `generate_sprite(urls=[…])`: one sheet plus its CSS and JSON."""
    picture, tiles = await _sprite_picture(ctx)
    if ctx.params.get("mode") == "download":
        return _download(picture, _generated_id(ctx))
    asset = await _store_generated(ctx, "sprite", _generated_id(ctx), picture)
    image_url, secure_image_url = delivery_urls(ctx.request, ctx.services.settings, asset)
    infos = {tile.name: {"width": tile.width, "height": tile.height, "x": tile.x, "y": tile.y} for tile in tiles}
    css = _sprite_css(image_url.split(":", 1)[1], tiles)
    sidecar_json = json.dumps({"image_url": image_url, "secure_image_url": secure_image_url, "image_infos": infos}, indent=2)
    await _store_sidecar(ctx.services, asset, "css", css.encode())
    await _store_sidecar(ctx.services, asset, "json", sidecar_json.encode())
    css_url, secure_css_url = delivery_urls(ctx.request, ctx.services.settings, asset, fmt="css")
    json_url, secure_json_url = delivery_urls(ctx.request, ctx.services.settings, asset, fmt="json")
    return JSONResponse(
        {
            "css_url": css_url,
            "image_url": image_url,
            "json_url": json_url,
            "secure_css_url": secure_css_url,
            "secure_image_url": secure_image_url,
            "secure_json_url": secure_json_url,
            "version": asset.version,
            "public_id": asset.public_id,
            "image_infos": infos,
        }
    )


async def _sprite_picture(ctx: ActionContext) -> tuple[generation.Picture, list[generation.SpriteTile]]:
    chain = parse(ctx.params.get("transformation", ""))
    fmt = chain.fetch_format or "png"
    if fmt not in SPRITE_FORMATS:
        raise Invalid(f"Invalid sprite format - {fmt}")
    sources = await _sources(ctx)
    max_pixels = ctx.services.settings.max_image_pixels
    frames = await _render_sources(ctx, sources, _without(chain, fetch_format=None, delay=None))

    def compose() -> tuple[generation.Picture, list[generation.SpriteTile]]:
        sheet, tiles = generation.compose_sprite(list(zip([name for name, _ in sources], frames)), max_pixels=max_pixels)
        return generation.encode_picture(sheet, fmt), tiles

    return await anyio.to_thread.run_sync(compose)


def _sprite_css(image_url: str, tiles: list[generation.SpriteTile]) -> str:
    """One class per image, named for its public ID (`/` and other non-name characters as
    `_`), with the sprite as a protocol-relative background, as Cloudinary's sprite CSS has."""
    names = [_css_class(tile.name) for tile in tiles]
    lines = [f"{', '.join('.' + name for name in names)} {{ background: url('{image_url}') no-repeat; }}"]
    for name, tile in zip(names, tiles):
        lines.append(f".{name} {{ background-position: {-tile.x}px {-tile.y}px; width: {tile.width}px; height: {tile.height}px; }}")
    return "\n".join(lines) + "\n"


def _css_class(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", text)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"_{cleaned}"


async def multi(ctx: ActionContext) -> Response:
    """`multi(tag, format="gif")`: an animated GIF/WebP (or a PDF) of the tagged images, A→Z."""
    picture = await _multi_picture(ctx)
    if ctx.params.get("mode") == "download":
        return _download(picture, _generated_id(ctx))
    asset = await _store_generated(ctx, "multi", _generated_id(ctx), picture)
    url, secure_url = delivery_urls(ctx.request, ctx.services.settings, asset)
    return JSONResponse(
        {
            "url": url,
            "secure_url": secure_url,
            "public_id": asset.public_id,
            "version": asset.version,
            "asset_id": asset.asset_id,
            "format": asset.format,
            "width": asset.width,
            "height": asset.height,
            "pages": asset.pages,
            "bytes": asset.bytes,
        }
    )


async def _multi_picture(ctx: ActionContext) -> generation.Picture:
    chain = parse(ctx.params.get("transformation", ""))
    fmt = (ctx.params.get("format") or chain.fetch_format or "gif").lower()
    if fmt not in ("gif", "webp", "pdf"):
        raise Invalid(f"Invalid multi format - {fmt} (gif, webp and pdf are supported)")
    delay = next((c.delay for c in reversed(chain.components) if c.delay is not None), None) or DEFAULT_FRAME_DELAY
    sources = await _sources(ctx)
    frames = await _render_sources(ctx, sources, _without(chain, fetch_format=None, delay=None))
    max_pixels = ctx.services.settings.max_image_pixels

    def compose() -> generation.Picture:
        if fmt == "pdf":
            return generation.compose_pdf(frames)
        return generation.compose_animation(frames, fmt=fmt, delay_ms=delay, max_pixels=max_pixels)

    return await anyio.to_thread.run_sync(compose)


def _download(picture: generation.Picture, name: str) -> Response:
    """`mode=download`: the file itself, stored nowhere (what the SDK's signed download URLs ask for)."""
    filename = name.rsplit("/", 1)[-1].replace('"', "")
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{picture.format}"', "Cache-Control": "no-store"}
    return Response(picture.data, headers=headers, media_type=content_type_for(picture.format))


def _downloader(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        return await download_generated(request, action)

    return handler


async def download_generated(request: Request, action: str) -> Response:
    """`GET /v1_1/{cloud}/image/{sprite|multi}?mode=download&…&signature=…`, the URL
    `download_generated_sprite` and `download_multi` sign."""

    services = services_of(request)
    cloud = request.path_params["cloud"]
    await services.require_cloud(cloud)
    fields: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        fields.setdefault(key.removesuffix("[]"), []).append(value)
    params = {name: ",".join(values) for name, values in fields.items()}
    if params.get("mode") != "download":
        raise Invalid("Only mode=download may use GET")
    caller = await authenticate(services, request, cloud, params, action)
    ctx = ActionContext(request, services, cloud, "image", action, UploadForm(fields=fields), params, caller)
    return await (sprite(ctx) if action == "sprite" else multi(ctx))


def _generated_id(ctx: ActionContext) -> str:
    """The given public_id, else the tag, else a digest of the URLs (stable across calls)."""
    if ctx.params.get("public_id"):
        return ctx.params["public_id"]
    if ctx.params.get("tag"):
        return ctx.params["tag"]
    urls = "\n".join(ctx.form.fields.get("urls") or [])
    return hashlib.sha1(urls.encode(), usedforsecurity=False).hexdigest()[:20]


async def _sources(ctx: ActionContext) -> list[tuple[str, Asset | str]]:
    """(name, stored asset or remote URL) for each input image, in output order."""
    tag = ctx.params.get("tag", "")
    urls = ctx.form.fields.get("urls") or []
    if bool(tag) == bool(urls):
        raise Invalid("Either tag or urls must be given, but not both")
    if tag:
        page = await ctx.services.db(
            list_resources, ctx.cloud, Listing(resource_type="image", type="upload", tag=tag, max_results=MAX_SOURCES + 1)
        )
        found = sorted(page.assets, key=lambda asset: asset.public_id)
        if not found:
            raise NotFound(f"No images found with tag {tag}")
        sources: list[tuple[str, Asset | str]] = [(asset.public_id, asset) for asset in found]
    else:
        # One past the limit is enough to refuse: no catalog look-ups for the rest of a long list.
        sources = [await _url_source(ctx, url) for url in urls[: MAX_SOURCES + 1]]
    if len(sources) > MAX_SOURCES:
        raise Invalid(f"Too many images (maximum is {MAX_SOURCES})")
    return sources


async def _url_source(ctx: ActionContext, url: str) -> tuple[str, Asset | str]:
    """Our own delivery URLs resolve to the stored asset; anything else is fetched."""
    own = f"://{delivery_host(ctx.request, ctx.services.settings)}/{ctx.cloud}/image/upload/"
    if own in url:
        path = split_delivery_path(url.split(own, 1)[1].split("?", 1)[0])
        for public_id, _fmt in path.candidates("image"):
            asset = await ctx.services.db(catalog.get_asset, ctx.cloud, "image", "upload", public_id)
            if asset is not None:
                return public_id, asset
        raise NotFound(f"Resource not found - {url}")
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    return name, url


async def _render_sources(ctx: ActionContext, sources: list[tuple[str, Asset | str]], chain: Chain) -> list[pyvips.Image]:
    """Each source with `chain` applied, decoded (first frame), in order; all of them together
    may hold no more pixels than one image may."""
    limits = ctx.services.render_limits
    frames = []
    budget = limits.max_output_pixels
    for _name, source in sources:
        async with _source_file(ctx.services, source) as (path, fmt):
            # Pixels straight from the pipeline, into memory while the file is still here.
            # requested_format="png": pads are transparent, as in a PNG rendition.
            frame = await anyio.to_thread.run_sync(
                lambda: generation.in_memory(
                    render_image(RenderRequest(path, chain, source_format=fmt, requested_format="png", limits=limits)).first_frame()
                )
            )
        budget -= frame.width * frame.height
        if budget < 0:
            raise TooManyPixels("The images are too large to combine")
        frames.append(frame)
    return frames


@contextlib.asynccontextmanager
async def _source_file(services: Services, source: Asset | str) -> AsyncIterator[tuple[Path, str]]:
    """A local path and format for a stored asset or a remote URL, removed afterwards if temporary."""
    if isinstance(source, Asset):
        async with services.local_file(source.storage_key) as path:
            yield path, source.format
        return
    settings = services.settings
    spooled = await fetch_remote(
        source, services.spool_dir, max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout, allow=settings.fetch_allow
    )
    try:
        info = await anyio.to_thread.run_sync(lambda: probe(spooled.path, max_pixels=settings.max_image_pixels))
        if info.resource_type != "image":
            raise Invalid(f"Invalid image file - {source}")
        yield spooled.path, info.format
    finally:
        spooled.discard()


# ---------------------------------------------------------------- explode


_PAGE = re.compile(r"^pg_(all|\d{1,5}(?:-\d{1,5})?(?:;\d{1,5}(?:-\d{1,5})?)*)$")


async def explode(ctx: ActionContext) -> Response:
    """`explode(public_id, page="all")`: render every requested page as its `pg_N` derivative.

    Cloudinary answers at once and works in the background; here the pages are ready when
    the reply (the same `processing` shape) arrives.
    """
    public_id = required(ctx.params, "public_id")
    type_ = ctx.params.get("type") or "upload"
    asset = await ctx.services.db(catalog.get_asset, ctx.cloud, "image", type_, public_id)
    if asset is None:
        raise catalog.AssetNotFound(f"Resource not found - {public_id}")
    spec, template = _page_spec(required(ctx.params, "transformation"))
    fmt = (ctx.params.get("format") or asset.format).lower()
    cache = ctx.request.app.state.derivatives
    async with ctx.services.local_file(asset.storage_key) as source:  # fetched once for every page
        for number in _pages(spec, asset.pages or 1):
            chain = parse(template.replace("{page}", str(number)))
            await cache.get(ctx.services, asset, chain, fmt, ClientHints(), source=source)
    return JSONResponse({"status": "processing", "batch_id": ctx.params.get("batch_id") or secrets.token_hex(16)})


def _page_spec(transformation: str) -> tuple[str, str]:
    """("all" | "2-4;7", a template with `{page}` where the page parameter stood) from e.g.
    `pg_all,w_100`, so page 2's derivative is `pg_2,w_100`, the URL an SDK builds for it."""
    spec = None
    components = []
    for component in transformation.split("/"):
        params = []
        for param in filter(None, (p.strip() for p in component.split(","))):
            match = _PAGE.match(param)
            if match:
                spec = match.group(1)
            params.append("pg_{page}" if match else param)
        if params:
            components.append(",".join(params))
    if spec is None:
        raise Invalid("Invalid transformation for explode: a page parameter (pg_all or pg_N) is required")
    return spec, "/".join(components)


def _pages(spec: str, count: int) -> list[int]:
    """1-based page numbers; `all`, single pages and ranges (`2-4`, `3-` for 3 to the end)."""
    wanted: set[int] = set()
    for part in ["1-"] if spec == "all" else spec.split(";"):
        first, dash, last = part.partition("-")
        start, end = int(first), int(last) if last else count if dash else int(first)
        for page in (start, end):  # checked before the range is built: ranges come from the caller
            if not 1 <= page <= count:
                raise Invalid(f"Invalid page {page}: the file has {count} page{'s' if count != 1 else ''}")
        wanted.update(range(start, end + 1))
        if len(wanted) > MAX_PAGES:
            raise Invalid(f"Too many pages (maximum is {MAX_PAGES})")
    return sorted(wanted)


# ---------------------------------------------------------------- analysis on upload and explicit


ANALYSIS_OPTIONS = ("colors", "phash", "quality_analysis", "faces")


async def analysis_fields(ctx: ActionContext, asset: Asset, path: Path | None, params: dict[str, str] | None = None) -> dict[str, Any]:
    """The reply fields for `colors`, `phash`, `quality_analysis`, `faces` and `responsive_breakpoints`.

    `path` is the uploaded file when the caller still has it (no download needed); `params`
    defaults to the request's (upload passes them with its preset applied).
    """
    params = ctx.params if params is None else params
    wanted = {name for name in ANALYSIS_OPTIONS if parse_bool(params.get(name), False)}
    breakpoints = params.get("responsive_breakpoints")
    if asset.resource_type != "image" or not (wanted or breakpoints):
        return {}
    settings = _breakpoint_settings(breakpoints) if breakpoints else []
    async with contextlib.AsyncExitStack() as stack:
        source = path if path is not None else await stack.enter_async_context(ctx.services.local_file(asset.storage_key))
        try:
            fields = await anyio.to_thread.run_sync(lambda: metrics.analyse(source, wanted, source_width=asset.width, source_height=asset.height)) if wanted else {}
            if settings:
                fields["responsive_breakpoints"] = [await _breakpoints(ctx, asset, source, item) for item in settings]
        except InvalidImage as error:
            # The file is stored already (e.g. a PDF libvips cannot read): answer without analysis.
            log.info("no analysis for %s: %s", asset.public_id, error.detail or error.message)
            return {}
    return fields


def check_analysis_params(params: dict[str, str]) -> None:
    """Refuse a malformed `responsive_breakpoints` before anything is stored."""
    if params.get("responsive_breakpoints"):
        _breakpoint_settings(params["responsive_breakpoints"])


def _breakpoint_settings(text: str) -> list[BreakpointSettings]:
    """The SDK's JSON: a list of {create_derived, bytes_step, min_width, max_width, max_images, transformation?, format?}."""
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("Invalid responsive_breakpoints parameter: expected JSON") from None
    items = items if isinstance(items, list) else [items]
    if not items or len(items) > 10 or not all(isinstance(item, dict) for item in items):
        raise Invalid("Invalid responsive_breakpoints parameter: expected 1 to 10 objects")
    defaults = BreakpointSettings()
    result = []
    for item in items:
        try:
            result.append(
                BreakpointSettings(
                    min_width=int(item.get("min_width", defaults.min_width)),
                    max_width=int(item.get("max_width", defaults.max_width)),
                    bytes_step=int(item.get("bytes_step", defaults.bytes_step)),
                    max_images=int(item.get("max_images", defaults.max_images)),
                    create_derived=parse_bool(None if item.get("create_derived") is None else str(item["create_derived"]), False),
                    transformation=str(item.get("transformation") or ""),
                    format=str(item.get("format") or "").lower().lstrip("."),
                )
            )
        except (TypeError, ValueError):
            raise Invalid("Invalid responsive_breakpoints parameter: widths, bytes_step and max_images must be integers") from None
    return result


async def _breakpoints(ctx: ActionContext, asset: Asset, source: Path, settings: BreakpointSettings) -> dict[str, Any]:
    """One `responsive_breakpoints` item: widths chosen by size steps, largest first."""
    base = settings.transformation
    parse(base)  # a bad transformation is the caller's 400, before any work
    fmt = settings.format or asset.format
    limits = ctx.services.render_limits

    def text_for(width: int) -> str:
        return f"{base}/c_scale,w_{width}" if base else f"c_scale,w_{width}"

    measured: dict[int, Rendered] = {}  # width → its rendering: measured once, then listed and stored

    def measure(width: int) -> int:
        measured[width] = render(RenderRequest(source, parse(text_for(width)), source_format=asset.format, requested_format=fmt, limits=limits))
        return len(measured[width].data)

    def plan() -> list[int]:
        width = asset.width or 1
        if base:
            width = render(RenderRequest(source, parse(base), source_format=asset.format, requested_format=fmt, limits=limits)).width or width
        widths = choose_breakpoints(settings, width, measure)
        for chosen in widths:  # choosing may not have needed every chosen width's size
            if chosen not in measured:
                measure(chosen)
        return widths

    widths = await anyio.to_thread.run_sync(plan)
    listed = []
    for width in widths:
        transformation = text_for(width)
        rendered = measured[width]
        if settings.create_derived:  # the rendering just measured, not a second one
            variant = variant_key(parse(transformation), fmt, ClientHints())
            await store_derivative(
                ctx.services, asset, variant, rendered.data, fmt=rendered.format, width=rendered.width, height=rendered.height
            )
        url, secure_url = delivery_urls(ctx.request, ctx.services.settings, asset, transformation, fmt)
        listed.append({"width": rendered.width, "height": rendered.height, "bytes": len(rendered.data), "url": url, "secure_url": secure_url})
    item: dict[str, Any] = {"breakpoints": listed, "transformation": base}
    if settings.format:
        item["format"] = settings.format
    return item


# ---------------------------------------------------------------- storing


async def _store_generated(ctx: ActionContext, type_: str, public_id: str, picture: generation.Picture) -> Asset:
    """Blob first, then the catalog row (a new version when the ID exists), then old blobs go."""
    catalog.validate_public_id(public_id)
    services = ctx.services
    storage_key = f"{ctx.cloud}/originals/{secrets.token_hex(16)}"
    await services.store.put_bytes(storage_key, picture.data)
    new = NewAsset(
        cloud=ctx.cloud,
        resource_type="image",
        type=type_,
        public_id=public_id,
        storage_key=storage_key,
        format=picture.format,
        bytes=len(picture.data),
        etag=hashlib.md5(picture.data, usedforsecurity=False).hexdigest(),
        mime_type=content_type_for(picture.format),
        width=picture.width,
        height=picture.height,
        pages=picture.pages,
    )
    try:
        result = await services.db(catalog.save_asset, new, overwrite=True)
    except BaseException:
        await delete_blobs(services, [storage_key])
        raise
    await delete_blobs(services, list(result.replaced_storage_keys))
    ctx.request.app.state.derivatives.forget_asset(result.asset.pk)
    return result.asset


async def _store_sidecar(services: Services, asset: Asset, fmt: str, data: bytes) -> None:
    """A sprite's CSS or JSON, kept as a derivative of the sprite (so it goes when the sprite does)."""
    await store_derivative(services, asset, variant_key(Chain(), fmt, ClientHints()), data, fmt=fmt, width=None, height=None)


routes = [
    *(Route(f"/v1_1/{{cloud}}/image/{action}", _downloader(action), methods=["GET"]) for action in ("sprite", "multi")),
]


# ---------------------------------------------------------------- small helpers


def _without(chain: Chain, **cleared: Any) -> Chain:
    """The chain with some options removed from every component (e.g. the output format)."""
    return Chain(tuple(replace(component, **cleared) for component in chain.components))


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if not text:
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise Invalid(f"Invalid {name} parameter - {text}") from None
    if not low <= value <= high:
        raise Invalid(f"Invalid {name} parameter - {text} (expected {low} to {high})")
    return value


def _choice(params: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (params.get(name) or default).lower()
    if value and value not in allowed:
        raise Invalid(f"Invalid {name} parameter - {value} (expected one of {', '.join(allowed)})")
    return value

