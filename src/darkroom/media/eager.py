"""Eager transformations: derivatives rendered at upload (or `explicit`) time, listed in the reply.

`eager=c_scale,w_100|w_50/png` — items separated by `|`, each a transformation whose last
component may be a bare format. They go through the same derivative cache as delivery, so
the URL listed in the reply is already rendered when a browser asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from darkroom.catalog import Asset
from darkroom.errors import Invalid
from darkroom.media import streaming
from darkroom.media.derivatives import ClientHints
from darkroom.media.services import Services
from darkroom.media.shapes import delivery_urls
from darkroom.transform import Chain, parse
from darkroom.transform.parser import NamedResolver

__all__ = ["EagerItem", "cloud_named", "parse_eager", "render_eager", "split_eager"]

MAX_EAGER = 20
_BARE_FORMAT = re.compile(r"^[a-z0-9]{2,5}$")


def split_eager(text: str) -> list[tuple[str, str | None]]:
    """`c_scale,w_100|w_50/png` → [("c_scale,w_100", None), ("w_50", "png")]."""
    items = [item.strip() for item in text.split("|") if item.strip()]
    if len(items) > MAX_EAGER:
        raise Invalid(f"Too many eager transformations (maximum is {MAX_EAGER})")
    result: list[tuple[str, str | None]] = []
    for item in items:
        head, _, last = item.rpartition("/")
        if _BARE_FORMAT.match(last) and "_" not in last:
            result.append((head, last))
        else:
            result.append((item, None))
    return result


@dataclass(frozen=True)
class EagerItem:
    transformation: str  # as the client wrote it
    format: str | None
    chain: Chain


def parse_eager(text: str, named: NamedResolver | None = None) -> list[EagerItem]:
    """Parse every eager item up front, so a bad one is refused before the upload is stored.
    `named` expands `t_NAME` as delivery does (`cloud_named`); the item keeps what was written."""
    return [EagerItem(transformation, fmt, parse(transformation, named=named)) for transformation, fmt in split_eager(text)]


async def cloud_named(services: Services, cloud: str, *texts: str) -> NamedResolver | None:
    """The cloud's named transformations, looked up (through delivery's rules cache) only when
    one of `texts` may use one; an unknown name is then the parser's 400."""
    if not any("t_" in text for text in texts):
        return None
    return (await services.caches.rules_lookup.get(services, cloud)).named.get


async def render_eager(services: Services, origin: str, asset: Asset, items: list[EagerItem]) -> list[dict[str, Any]]:
    """Render each eager transformation now; returns Cloudinary's `eager` list, its URLs
    starting with `origin` (`media.shapes.delivery_origin`)."""
    ladders = [item for item in items if asset.resource_type == "video" and item.format in streaming.STREAMING_FORMATS]
    if len(ladders) < len(items) and asset.resource_type != "image":
        raise Invalid("Eager transformations are supported for images only")
    cache = services.caches.derivatives
    listed = []
    for item in items:
        transformation, fmt, chain = item.transformation, item.format, item.chain
        if item in ladders and fmt is not None:  # sp_…/m3u8: a streaming ladder (media/streaming.py)
            listed.append(await streaming.eager_entry(services, origin, asset, transformation, chain, fmt))
            continue
        derivative = await cache.get(services, asset, chain, fmt, ClientHints())
        url, secure_url = delivery_urls(origin, asset, transformation, fmt or asset.format)
        listed.append(
            {
                "transformation": f"{transformation}/{fmt}" if fmt else transformation,
                "width": derivative.width,
                "height": derivative.height,
                "bytes": len(derivative.data),
                "format": derivative.format,
                "url": url,
                "secure_url": secure_url,
            }
        )
    return listed
