"""Generating new images from text or from stored ones.

The use cases behind the Upload API's generation actions (`api/generate.py` holds their
HTTP side), all synchronous here although Cloudinary runs some of them in the background:

- `text`: an image of styled text, stored as type `text`; replies like an upload.
- `sprite`: the images sharing a tag (or listed in `urls[]`) stacked into one sheet, stored
  as type `sprite`, with a CSS and a JSON sidecar delivered next to it.
- `multi`: the same images as frames of an animated GIF/WebP or pages of a PDF (type `multi`).
- `explode`: each page of a multi-page asset rendered as its `pg_N` derivative.

The generated types (`text`, `sprite`, `multi`) are delivered by `api/delivery.py` like
uploads; the sprite's CSS and JSON sidecars are stored derivatives that are never rendered.
The pixels (text, sheets, animations, PDFs) are `imaging.generation`'s; delivery URLs in
the replies start with the caller's `origin` (`media.shapes.delivery_origin`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio

from darkroom import catalog
from darkroom.auth import MissingParameter
from darkroom.catalog import Asset, NewAsset
from darkroom.catalog.listing import Listing, list_resources
from darkroom.errors import Invalid, NotFound
from darkroom.imaging import TooManyPixels, content_type_for, probe
from darkroom.imaging.memory import BYTES_PER_PIXEL, FIXED_BYTES, WORKING_COPIES, SourceHeader, render_memory_bytes
from darkroom.imaging import generation
from darkroom.media.delivery_paths import split_delivery_path
from darkroom.media.derivatives import ClientHints, source_header, store_derivative, variant_key
from darkroom.media.ingest import delete_blobs, random_public_id
from darkroom.media.services import Services
from darkroom.media.shapes import delivery_urls
from darkroom.media.sources import fetch_remote
from darkroom.transform import Chain, Component, parse
from darkroom.transform.colors import parse_color

__all__ = [
    "Download",
    "explode",
    "generated_id",
    "make_multi",
    "make_sprite",
    "make_text",
]

MAX_SOURCES = 100  # images in one sprite or multi
MAX_PAGES = 200  # pages one explode renders
DEFAULT_FRAME_DELAY = 500  # ms between multi frames when the transformation gives no dl_
SPRITE_FORMATS = frozenset(("png", "jpg", "webp", "gif"))


# ---------------------------------------------------------------- text


@dataclass(frozen=True)
class Download:
    """A generated file for `mode=download`: stored nowhere, handed to the client as is."""

    data: bytes
    filename: str
    content_type: str


async def make_text(services: Services, cloud: str, params: dict[str, str]) -> Asset:
    """`cloudinary.uploader.text("Hi", font_family="Arial", font_size=40, …)`: the stored image."""
    content = _required(params, "text")
    options = _text_options(params)
    picture = await anyio.to_thread.run_sync(lambda: generation.render_text(content, options))
    public_id = params.get("public_id") or random_public_id()
    return await _store_generated(services, cloud, "text", public_id, picture)


def _text_options(params: dict[str, str]) -> generation.TextOptions:
    """Validate the style parameters, naming the one that is wrong; what is left out takes
    Cloudinary's defaults (Arial 12 px, black, normal, on a transparent background)."""
    return generation.TextOptions(
        font_family=params.get("font_family") or "Arial",
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


async def make_sprite(
    services: Services, cloud: str, origin: str, params: dict[str, str], urls: list[str]
) -> dict[str, Any] | Download:
    """`generate_sprite(tag)` / `generate_sprite(urls=[…])`: one sheet plus its CSS and JSON,
    stored; the reply's fields. With `mode=download`, the sheet itself, stored nowhere."""
    picture, tiles = await _sprite_picture(services, cloud, origin, params, urls)
    name = generated_id(params, urls)
    if params.get("mode") == "download":
        return _download(picture, name)
    asset = await _store_generated(services, cloud, "sprite", name, picture)
    shown = _url_transformation(params, keep_delay=False)
    await _store_as_shown(services, asset, shown, picture.format, picture.data)
    image_url, secure_image_url = delivery_urls(origin, asset, shown.canonical())
    infos = {tile.name: {"width": tile.width, "height": tile.height, "x": tile.x, "y": tile.y} for tile in tiles}
    css = _sprite_css(image_url.split(":", 1)[1], tiles)
    sidecar_json = json.dumps({"image_url": image_url, "secure_image_url": secure_image_url, "image_infos": infos}, indent=2)
    await _store_sidecar(services, asset, "css", css.encode(), shown)
    await _store_sidecar(services, asset, "json", sidecar_json.encode(), shown)
    css_url, secure_css_url = delivery_urls(origin, asset, shown.canonical(), fmt="css")
    json_url, secure_json_url = delivery_urls(origin, asset, shown.canonical(), fmt="json")
    return {
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


async def _sprite_picture(
    services: Services, cloud: str, origin: str, params: dict[str, str], urls: list[str]
) -> tuple[generation.Picture, list[generation.SpriteTile]]:
    chain = parse(params.get("transformation", ""))
    fmt = chain.fetch_format or "png"
    if fmt not in SPRITE_FORMATS:
        raise Invalid(f"Invalid sprite format - {fmt}")
    sources = await _sources(services, cloud, origin, params, urls)
    max_pixels = services.settings.max_image_pixels
    frames = await _render_sources(services, sources, _without(chain, fetch_format=None, delay=None))

    def compose() -> tuple[generation.Picture, list[generation.SpriteTile]]:
        sheet, tiles = generation.compose_sprite(list(zip([name for name, _ in sources], frames)), max_pixels=max_pixels)
        return generation.encode_picture(sheet, fmt), tiles

    async with services.render_budget.reserve(_composing_bytes(frames)):
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


async def make_multi(
    services: Services, cloud: str, origin: str, params: dict[str, str], urls: list[str]
) -> dict[str, Any] | Download:
    """`multi(tag, format="gif")`: an animated GIF/WebP (or a PDF) of the tagged images, A→Z,
    stored; the reply's fields. With `mode=download`, the file itself, stored nowhere."""
    picture = await _multi_picture(services, cloud, origin, params, urls)
    name = generated_id(params, urls)
    if params.get("mode") == "download":
        return _download(picture, name)
    asset = await _store_generated(services, cloud, "multi", name, picture)
    shown = _url_transformation(params, keep_delay=True)
    await _store_as_shown(services, asset, shown, picture.format, picture.data)
    url, secure_url = delivery_urls(origin, asset, shown.canonical())
    return {
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


async def _multi_picture(services: Services, cloud: str, origin: str, params: dict[str, str], urls: list[str]) -> generation.Picture:
    chain = parse(params.get("transformation", ""))
    fmt = (params.get("format") or chain.fetch_format or "gif").lower()
    if fmt not in ("gif", "webp", "pdf"):
        raise Invalid(f"Invalid multi format - {fmt} (gif, webp and pdf are supported)")
    delay = next((c.delay for c in reversed(chain.components) if c.delay is not None), None) or DEFAULT_FRAME_DELAY
    sources = await _sources(services, cloud, origin, params, urls)
    frames = await _render_sources(services, sources, _without(chain, fetch_format=None, delay=None))
    max_pixels = services.settings.max_image_pixels

    def compose() -> generation.Picture:
        if fmt == "pdf":
            return generation.compose_pdf(frames)
        return generation.compose_animation(frames, fmt=fmt, delay_ms=delay, max_pixels=max_pixels)

    async with services.render_budget.reserve(_composing_bytes(frames)):
        return await anyio.to_thread.run_sync(compose)


def _composing_bytes(frames: list[generation.Frame]) -> int:
    """The render budget a sheet or an animation of these frames takes while it is built."""
    return sum(int(frame.width * frame.height) for frame in frames) * BYTES_PER_PIXEL * WORKING_COPIES + FIXED_BYTES


def _download(picture: generation.Picture, name: str) -> Download:
    """`mode=download`: the file itself, stored nowhere (what the SDK's signed download URLs ask for)."""
    filename = name.rsplit("/", 1)[-1].replace('"', "")
    return Download(picture.data, f"{filename}.{picture.format}", content_type_for(picture.format))


def generated_id(params: dict[str, str], urls: list[str]) -> str:
    """The given public_id, else the tag, else a digest of the URLs (stable across calls)."""
    if params.get("public_id"):
        return params["public_id"]
    if params.get("tag"):
        return params["tag"]
    joined = "\n".join(urls)
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()[:20]


async def _sources(services: Services, cloud: str, origin: str, params: dict[str, str], urls: list[str]) -> list[tuple[str, Asset | str]]:
    """(name, stored asset or remote URL) for each input image, in output order."""
    tag = params.get("tag", "")
    if bool(tag) == bool(urls):
        raise Invalid("Either tag or urls must be given, but not both")
    if tag:
        page = await services.db(
            list_resources, cloud, Listing(resource_type="image", type="upload", tag=tag, max_results=MAX_SOURCES + 1)
        )
        found = sorted(page.assets, key=lambda asset: asset.public_id)
        if not found:
            raise NotFound(f"No images found with tag {tag}")
        sources: list[tuple[str, Asset | str]] = [(asset.public_id, asset) for asset in found]
    else:
        # One past the limit is enough to refuse: no catalog look-ups for the rest of a long list.
        sources = [await _url_source(services, cloud, origin, url) for url in urls[: MAX_SOURCES + 1]]
    if len(sources) > MAX_SOURCES:
        raise Invalid(f"Too many images (maximum is {MAX_SOURCES})")
    return sources


async def _url_source(services: Services, cloud: str, origin: str, url: str) -> tuple[str, Asset | str]:
    """Our own delivery URLs (either scheme) resolve to the stored asset; anything else is fetched."""
    own = f"://{origin.split('://', 1)[1]}/{cloud}/image/upload/"
    if own in url:
        path = split_delivery_path(url.split(own, 1)[1].split("?", 1)[0])
        for public_id, _fmt in path.candidates("image"):
            asset = await services.db(catalog.get_asset, cloud, "image", "upload", public_id)
            if asset is not None:
                return public_id, asset
        raise NotFound(f"Resource not found - {url}")
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    return name, url


async def _render_sources(services: Services, sources: list[tuple[str, Asset | str]], chain: Chain) -> list[generation.Frame]:
    """Each source with `chain` applied, decoded (first frame), in order; all of them together
    may hold no more pixels than one image may."""
    limits = services.render_limits
    frames = []
    budget = limits.max_output_pixels
    chain = _first_frame_only(chain)  # an animation's other frames are never decoded
    for _name, source in sources:
        async with _source_file(services, source) as (path, header):
            # Pixels straight from the pipeline, into memory while the file is still here.
            async with services.render_budget.reserve(render_memory_bytes(header, chain)):
                frame = await anyio.to_thread.run_sync(
                    lambda: generation.render_frame(path, chain, source_format=header.format, limits=limits)
                )
        budget -= frame.width * frame.height
        if budget < 0:
            raise TooManyPixels("The images are too large to combine")
        frames.append(frame)
    return frames


def _first_frame_only(chain: Chain) -> Chain:
    """`chain` loading only the first page or frame (`pg_1`), unless it names one itself."""
    if any(component.page is not None for component in chain.components):
        return chain
    first, *rest = chain.components or (Component(),)
    return replace(chain, components=(replace(first, page="1"), *rest))


@contextlib.asynccontextmanager
async def _source_file(services: Services, source: Asset | str) -> AsyncIterator[tuple[Path, SourceHeader]]:
    """A local path and header facts for a stored asset or a remote URL, removed afterwards if temporary."""
    if isinstance(source, Asset):
        async with services.local_file(source.storage_key) as path:
            yield path, source_header(source)
        return
    settings = services.settings
    spooled = await fetch_remote(
        source, services.spool_dir, max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout, allow=settings.fetch_allow
    )
    try:
        info = await anyio.to_thread.run_sync(lambda: probe(spooled.path, max_pixels=settings.max_image_pixels))
        if info.resource_type != "image":
            raise Invalid(f"Invalid image file - {source}")
        yield spooled.path, SourceHeader(info.format, info.width or 0, info.height or 0, info.pages or 1)
    finally:
        spooled.discard()


# ---------------------------------------------------------------- explode


_PAGE = re.compile(r"^pg_(all|\d{1,5}(?:-\d{1,5})?(?:;\d{1,5}(?:-\d{1,5})?)*)$")


async def explode(services: Services, cloud: str, params: dict[str, str]) -> dict[str, Any]:
    """`explode(public_id, page="all")`: render every requested page as its `pg_N` derivative.

    Cloudinary answers at once and works in the background; here the pages are ready when
    the reply (the same `processing` shape) arrives.
    """
    public_id = _required(params, "public_id")
    type_ = params.get("type") or "upload"
    asset = await services.db(catalog.get_asset, cloud, "image", type_, public_id)
    if asset is None:
        raise catalog.AssetNotFound(f"Resource not found - {public_id}")
    spec, template = _page_spec(_required(params, "transformation"))
    fmt = (params.get("format") or asset.format).lower()
    cache = services.caches.derivatives
    async with services.local_file(asset.storage_key) as source:  # fetched once for every page
        for number in _pages(spec, asset.pages or 1):
            chain = parse(template.replace("{page}", str(number)))
            await cache.get(services, asset, chain, fmt, ClientHints(), source=source)
    return {"status": "processing", "batch_id": params.get("batch_id") or secrets.token_hex(16)}


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


# ---------------------------------------------------------------- storing


async def _store_generated(services: Services, cloud: str, type_: str, public_id: str, picture: generation.Picture) -> Asset:
    """Blob first, then the catalog row (a new version when the ID exists), then old blobs go."""
    catalog.validate_public_id(public_id)
    storage_key = f"{cloud}/originals/{secrets.token_hex(16)}"
    await services.store.put_bytes(storage_key, picture.data)
    new = NewAsset(
        cloud=cloud,
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
    services.caches.derivatives.forget_asset(result.asset.pk)
    return result.asset


async def _store_sidecar(services: Services, asset: Asset, fmt: str, data: bytes, shown: Chain = Chain()) -> None:
    """A sprite's CSS or JSON, kept as a derivative of the sprite (so it goes when the sprite does),
    under the URL without a transformation and the one the reply gives."""
    for chain in {Chain(), shown}:
        await store_derivative(services, asset, variant_key(chain, fmt, ClientHints()), data, fmt=fmt, width=None, height=None)


def _url_transformation(params: dict[str, str], *, keep_delay: bool) -> Chain:
    """The transformation a sprite's or an animation's URLs carry, as Cloudinary's do: the one its
    images were rendered with, less the output format (the URL's extension says it); a multi
    keeps its frame delay."""
    chain = parse(params.get("transformation", ""))
    return _without(chain, fetch_format=None) if keep_delay else _without(chain, fetch_format=None, delay=None)


async def _store_as_shown(services: Services, asset: Asset, shown: Chain, fmt: str, data: bytes) -> None:
    """The generated file is already what the URL with its transformation means: kept as that
    derivative, so delivering the URL serves it instead of transforming it a second time."""
    if shown.components:
        await store_derivative(services, asset, variant_key(shown, fmt, ClientHints()), data, fmt=fmt, width=asset.width, height=asset.height)


# ---------------------------------------------------------------- small helpers


def _without(chain: Chain, **cleared: Any) -> Chain:
    """The chain with some options removed from every component (e.g. the output format)."""
    return Chain(tuple(replace(component, **cleared) for component in chain.components))


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise MissingParameter(f"Missing required parameter - {name}")
    return value


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

