"""Eager transformations: derivatives rendered at upload (or `explicit`) time, listed in the reply.

`eager=c_scale,w_100|w_50/png` — items separated by `|`, each a transformation whose last
component may be a bare format. They go through the same derivative cache as delivery, so
the URL listed in the reply is already rendered when a browser asks for it.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from darkroom import catalog
from darkroom.catalog import Asset
from darkroom.errors import Invalid
from darkroom.media import streaming
from darkroom.media.derivatives import ClientHints
from darkroom.media.notifications import notify_event
from darkroom.media.params import parse_bool
from darkroom.media.services import Services
from darkroom.media.shapes import delivery_urls
from darkroom.media.tasks import job_handler
from darkroom.media.video_derivatives import render_video_derivative
from darkroom.transform import Chain, parse
from darkroom.transform.parser import NamedResolver

__all__ = ["EagerItem", "cloud_named", "defer_eager", "eager_deferred", "parse_eager", "render_eager", "split_eager"]

log = logging.getLogger("darkroom.eager")

MAX_EAGER = 20
EAGER_JOB = "eager"  # the job that renders an eager_async batch
_BARE_FORMAT = re.compile(r"^[a-z0-9]{2,5}$")


def _is_ladder(asset: Asset, item: EagerItem) -> bool:
    """`sp_…/m3u8` of a video: a streaming ladder (media/streaming.py)."""
    return asset.resource_type == "video" and item.format in streaming.STREAMING_FORMATS


def _check_renderable(asset: Asset, items: list[EagerItem]) -> None:
    if items and asset.resource_type not in ("image", "video"):
        raise Invalid("Eager transformations are supported for images and videos only")


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

    @property
    def written(self) -> str:
        """The item as the reply lists it: `w_50/png`, or the transformation alone."""
        return f"{self.transformation}/{self.format}" if self.format else self.transformation


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
    _check_renderable(asset, items)
    cache = services.caches.derivatives
    listed = []
    for item in items:
        transformation, fmt, chain = item.transformation, item.format, item.chain
        if _is_ladder(asset, item) and fmt is not None:  # sp_…/m3u8: a streaming ladder (media/streaming.py)
            listed.append(await streaming.eager_entry(services, origin, asset, transformation, chain, fmt))
            continue
        if asset.resource_type == "video":  # a transcode, a still, …: a file in the store (media/video_derivatives.py)
            listed.append(await _eager_video(services, origin, asset, item))
            continue
        derivative = await cache.get(services, asset, chain, fmt, ClientHints())
        url, secure_url = delivery_urls(origin, asset, transformation, fmt or asset.format)
        listed.append(
            {
                "transformation": item.written,
                "width": derivative.width,
                "height": derivative.height,
                "bytes": len(derivative.data),
                "format": derivative.format,
                "url": url,
                "secure_url": secure_url,
            }
        )
    return listed


async def _eager_video(services: Services, origin: str, asset: Asset, item: EagerItem) -> dict[str, Any]:
    """One eager transformation of a video or audio asset, rendered into the store as delivery would."""
    derivative = await render_video_derivative(services, asset, item.chain, item.format)
    url, secure_url = delivery_urls(origin, asset, item.transformation, item.format or asset.format)
    return {
        "transformation": item.written,
        "width": derivative.width,
        "height": derivative.height,
        "bytes": derivative.size,
        "format": derivative.format,
        "url": url,
        "secure_url": secure_url,
    }


def eager_deferred(params: dict[str, str], asset: Asset) -> bool:
    """Whether the eager items go to a job (`defer_eager`) rather than render in the request:
    when the client asks (`eager_async`), and always for video and audio, whose transcodes
    (minutes for a long one, a whole ladder for `sp_…`) must not hold an upload open."""
    return parse_bool(params.get("eager_async"), False) or asset.resource_type == "video"


async def defer_eager(
    services: Services, origin: str, asset: Asset, items: list[EagerItem], params: dict[str, str], *, api_key: str | None
) -> list[dict[str, Any]]:
    """Enqueue the eager renders of `asset` as one batch; returns the reply's `pending` entries.
    When they are done, the `eager` notification goes to `eager_notification_url`, else
    `notification_url`, else the cloud's URL and triggers."""
    _check_renderable(asset, items)
    batch_id = secrets.token_hex(32)
    await services.jobs.enqueue(EAGER_JOB, {
        "cloud": asset.cloud, "resource_type": asset.resource_type, "type": asset.type, "public_id": asset.public_id,
        "version_id": asset.version_id, "transformations": [item.written for item in items], "origin": origin, "batch_id": batch_id,
        "notification_url": params.get("eager_notification_url") or params.get("notification_url") or None, "api_key": api_key,
    })
    pending = []
    for item in items:
        url, secure_url = delivery_urls(origin, asset, item.transformation, item.format or asset.format)
        pending.append({"status": "pending", "batch_id": batch_id, "transformation": item.written, "url": url, "secure_url": secure_url})
    return pending


@job_handler(EAGER_JOB)
async def render_deferred(services: Services, job: dict[str, Any]) -> None:
    """Render a deferred batch (idempotent: the derivative cache keeps what a first run made),
    then notify. A batch whose asset was deleted or replaced since is dropped."""
    cloud = job["cloud"]
    asset = await services.db(catalog.get_asset, cloud, job["resource_type"], job["type"], job["public_id"])
    if asset is None or asset.version_id != job["version_id"]:
        log.info("eager batch %s dropped: %s/%s changed since", job["batch_id"], cloud, job["public_id"])
        return
    text = "|".join(job["transformations"])
    eager = await render_eager(services, job["origin"], asset, parse_eager(text, await cloud_named(services, cloud, text)))
    body = {
        "batch_id": job["batch_id"], "asset_id": asset.asset_id, "public_id": asset.public_id,
        "resource_type": asset.resource_type, "type": asset.type, "eager": eager,
    }
    await notify_event(services, cloud, "eager", body, url=job["notification_url"], api_key=job["api_key"])
