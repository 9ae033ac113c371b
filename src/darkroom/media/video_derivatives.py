"""Video derivatives: transcoded files, rendered once into the spool, kept in the blob store.

Unlike image derivatives (`media.derivatives`: bytes, with a memory tier), a video derivative
is never held in memory: ffmpeg writes it into a spool folder, the blob store takes the file
(`put_file`, streamed), its `derived` record follows, and delivery streams it back from the
store with byte ranges. Stills, sprites and their WebVTT index of a video take the same road.

- Single flight: concurrent requests for one variant in this process wait for one render.
- Bounded: at most `DARKROOM_VIDEO_CONCURRENCY` renders at once (default one per two cores,
  since ffmpeg threads each render itself), each at most `DARKROOM_VIDEO_TIMEOUT` seconds.
  ffmpeg runs as a child process, waited on from a worker thread, never on the event loop.
- A HEAD for a variant not rendered yet (Cloudinary's player HEADs its `f_auto:video` source
  to learn its type) answers from the plan alone and starts the render in the background.
- A GET waits for a new render at most `DARKROOM_VIDEO_WAIT` seconds, then answers 423 ("being
  processed", which Cloudinary's player retries) while the render goes on.

`render_video_derivative` is the one function a job would call to render a variant ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from darkroom.catalog import Asset
from darkroom.errors import StillProcessing
from darkroom.media.derivatives import StrictTransformationRefused, Variant, derived_storage_key, find_stored, store_derivative, store_derivative_file
from darkroom.media.layer_assets import find_layer_asset
from darkroom.media.streaming import SourceCopies
from darkroom.transform import Chain, Layer
from darkroom.video import (
    LayerFile,
    Output,
    SourceFacts,
    TranscodeRequest,
    choose_output,
    kill_running,
    layer_key,
    plan_transcode,
    render_frame,
    render_sprite,
    render_waveform,
    run_ffmpeg,
    scratch_file,
    sprite_index,
    sprite_layout,
)

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = ["VideoClient", "VideoDerivative", "VideoDerivatives", "render_video_derivative", "source_facts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoClient:
    """What a request says about the player, for `f_auto` on video."""

    accept: str = ""
    user_agent: str = ""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> VideoClient:
        return cls(headers.get("accept", ""), headers.get("user-agent", ""))


@dataclass(frozen=True)
class VideoDerivative:
    """A stored video derivative: where its bytes are and how to describe them."""

    storage_key: str
    size: int  # bytes
    format: str
    content_type: str
    etag: str
    vary: str | None  # request headers that chose the output (f_auto), for `Vary`
    width: int | None = None  # of the picture; None for audio and WebVTT
    height: int | None = None


def source_facts(asset: Asset) -> SourceFacts:
    """The asset's probe results (recorded at upload) as the transcoder reads them."""
    media = asset.video_metadata or {}
    has_video = not media.get("is_audio", False) and bool(asset.width)
    return SourceFacts(
        width=asset.width or 0 if has_video else 0,
        height=asset.height or 0 if has_video else 0,
        duration=float(asset.duration or 0.0),
        frame_rate=float(media["frame_rate"]) if media.get("frame_rate") else None,
        has_video=has_video,
        has_audio=bool(media.get("audio")),
    )


def describe(asset: Asset, chain: Chain, requested_format: str | None, client: VideoClient) -> Output:
    """What the URL makes from this asset, decided without rendering (a 400 if it cannot)."""
    return choose_output(
        chain,
        requested_format=requested_format,
        source_format=asset.format,
        is_audio=not source_facts(asset).has_video,
        accept=client.accept,
        user_agent=client.user_agent,
    )


def _variant(chain: Chain, requested_format: str | None, output: Output) -> Variant:
    """The derivative's identity: the canonical chain, the extension and what f_auto chose."""
    rest = f"{requested_format or ''}|video"
    if output.auto is not None:
        rest += f"|auto={output.auto}:{output.format}"  # f_auto:image picks the format itself
    return Variant(chain.canonical(), rest)


def _etag(storage_key: str, size: int) -> str:
    # The key names the asset version and variant; a re-render that changed the bytes changes the size too.
    return hashlib.md5(f"{storage_key}|{size}".encode(), usedforsecurity=False).hexdigest()


class VideoDerivatives:
    """Find or render video derivatives: single flight, bounded concurrency and time.

    A render runs as a task of its own, so a request that stops waiting for it (`wait`, a
    client gone) does not stop it: the next request finds it stored, or joins it. A request
    that would start a new render while `QUEUE_FACTOR` × concurrency are under way or waiting
    for a slot gets StillProcessing (Cloudinary's 423, which its player retries) and starts
    nothing: HEADs of `w_1`, `w_2`, … cannot queue unbounded 900 s transcodes. Jobs (eager)
    pass `bounded=False`: the job queue bounds them.
    """

    QUEUE_FACTOR = 4

    def __init__(self, concurrency: int = 0, timeout: float = 900.0) -> None:
        self.concurrency = concurrency or max(1, (os.cpu_count() or 1) // 2)
        self.timeout = timeout
        self._slots = anyio.CapacityLimiter(self.concurrency)
        self._inflight: dict[tuple[int, str, Variant], asyncio.Task[VideoDerivative]] = {}
        self.max_queued = self.QUEUE_FACTOR * self.concurrency
        self._sources = SourceCopies()  # on S3, renders of one video share one download of it

    async def find(self, services: Services, asset: Asset, chain: Chain, requested_format: str | None, client: VideoClient) -> VideoDerivative | None:
        """The stored derivative, if there is one (and its blob is still there)."""
        output = describe(asset, chain, requested_format, client)
        return await self._stored(services, asset, _variant(chain, requested_format, output), output)

    async def get(
        self,
        services: Services,
        asset: Asset,
        chain: Chain,
        requested_format: str | None,
        client: VideoClient,
        *,
        may_render: bool | Callable[[], Awaitable[bool]] = True,
        wait: float | None = None,
        bounded: bool = True,
    ) -> VideoDerivative:
        """The stored derivative, rendered first if needed (joining a render in flight).

        With `wait`, at most that many seconds are spent waiting for a render: then
        StillProcessing (Cloudinary's 423) while the render goes on.
        """
        output = describe(asset, chain, requested_format, client)
        variant = _variant(chain, requested_format, output)
        stored = await self._stored(services, asset, variant, output)
        if stored is not None:
            return stored
        render = await self._render_task(services, asset, chain, output, variant, may_render, bounded=bounded)
        try:
            return await asyncio.wait_for(asyncio.shield(render), wait)
        except TimeoutError:
            raise StillProcessing("Video is being processed, please try again later", detail=variant.transformation) from None

    async def start(
        self, services: Services, asset: Asset, chain: Chain, requested_format: str | None, client: VideoClient, *, may_render: bool | Callable[[], Awaitable[bool]] = True
    ) -> None:
        """Start rendering (unless stored or under way) without waiting: a HEAD announced it."""
        output = describe(asset, chain, requested_format, client)
        variant = _variant(chain, requested_format, output)
        if await self._stored(services, asset, variant, output) is None:
            await self._render_task(services, asset, chain, output, variant, may_render, bounded=True)

    async def settle(self, timeout: float = 10.0) -> None:
        """At shutdown: wait (at most `timeout` s) for renders under way, then stop the rest
        (their ffmpeg killed, their scratch files removed) so the process can exit."""
        with anyio.move_on_after(timeout):
            while self._inflight:
                await asyncio.wait(list(self._inflight.values()))
        if self._inflight:
            killed = kill_running()
            log.warning("shutdown stopped %d video transcodes", killed)
            with anyio.move_on_after(5):
                await asyncio.wait(list(self._inflight.values()))

    async def _render_task(
        self,
        services: Services,
        asset: Asset,
        chain: Chain,
        output: Output,
        variant: Variant,
        may_render: bool | Callable[[], Awaitable[bool]],
        *,
        bounded: bool,
    ) -> asyncio.Task[VideoDerivative]:
        key = (asset.pk, asset.version_id, variant)
        if key not in self._inflight:
            allowed = may_render if isinstance(may_render, bool) else await may_render()
            if not allowed:
                raise StrictTransformationRefused(f"Transformation {variant.transformation or output.format} is not allowed")
        render = self._inflight.get(key)  # looked up after the last await: no second render can start between
        if render is None and bounded and len(self._inflight) >= self.max_queued:
            raise StillProcessing("Video is being processed, please try again later", detail=f"{len(self._inflight)} renders queued")
        if render is None:
            render = asyncio.get_running_loop().create_task(self._render(services, asset, chain, output, variant))
            self._inflight[key] = render
            render.add_done_callback(lambda done: self._finished(key, done))
        return render

    def _finished(self, key: tuple[int, str, Variant], render: asyncio.Task[VideoDerivative]) -> None:
        """A render ended: the next request looks in the store (or renders again after a failure)."""
        del self._inflight[key]
        if not render.cancelled() and render.exception() is not None:  # retrieved here: nobody may be waiting
            log.info("video derivative %s failed: %s", key[2].transformation, render.exception())

    async def _stored(self, services: Services, asset: Asset, variant: Variant, output: Output) -> VideoDerivative | None:
        found = await find_stored(services, asset, variant)
        if found is None:
            return None
        (storage_key, fmt, width, height), size = found
        return VideoDerivative(storage_key, size, fmt, output.content_type, _etag(storage_key, size), output.vary, width, height)

    async def _render(self, services: Services, asset: Asset, chain: Chain, output: Output, variant: Variant) -> VideoDerivative:
        if output.kind == "sprite_index":  # text worked out from the probe's facts: no source, no ffmpeg
            return await _store_sprite_index(services, asset, chain, output, variant)
        scratch = services.spool_dir / f"video-{secrets.token_hex(8)}"
        try:
            async with self._slots, contextlib.AsyncExitStack() as files:
                source = await files.enter_async_context(self._sources.open(services, asset.storage_key))
                layers = await _layer_files(services, asset, chain, files)
                request = TranscodeRequest(source, source_facts(asset), chain, output, layers, scratch)
                made, width, height = await anyio.to_thread.run_sync(lambda: _make(request, asset, services, self.timeout))
            storage_key = derived_storage_key(asset, variant)
            size = made.stat().st_size
            await store_derivative_file(services, asset, variant, made, fmt=output.format, width=width, height=height)
            etag = _etag(storage_key, size)
            return VideoDerivative(storage_key, size, output.format, output.content_type, etag, output.vary, width, height)
        finally:
            await anyio.to_thread.run_sync(_remove_scratch, scratch)


async def render_video_derivative(
    services: Services, asset: Asset, chain: Chain, requested_format: str | None, client: VideoClient = VideoClient()
) -> VideoDerivative:
    """Render (or find) one video derivative: what a job calls to prepare a variant ahead."""
    return await services.caches.video_derivatives.get(services, asset, chain, requested_format, client, bounded=False)


def _make(request: TranscodeRequest, asset: Asset, services: Services, timeout: float) -> tuple[Path, int | None, int | None]:
    """Write the derivative as a scratch file (blocking: ffmpeg, libvips); its path and picture size."""
    scratch, output, limits = request.scratch, request.output, services.render_limits
    assert scratch is not None
    result = scratch_file(scratch, f"out.{output.format}")
    scratch.parent.mkdir(parents=True, exist_ok=True)
    if output.kind in ("frame", "sprite", "waveform"):
        render_picture = {"frame": render_frame, "sprite": render_sprite, "waveform": render_waveform}[output.kind]
        rendered = render_picture(request.source, request.facts, request.chain, fmt=output.format, limits=limits, scratch=scratch, timeout=timeout)
        result.write_bytes(rendered.data)
        return result, rendered.width, rendered.height
    plan = plan_transcode(request)
    run_ffmpeg(plan.arguments(result), timeout=timeout)
    return result, plan.width or None, plan.height or None


async def _store_sprite_index(services: Services, asset: Asset, chain: Chain, output: Output, variant: Variant) -> VideoDerivative:
    """The WebVTT of a sprite: cues pointing into `<public id>.jpg`, the sprite of the same URL."""
    facts = source_facts(asset)
    image_name = asset.public_id.rsplit("/", 1)[-1] + ".jpg"
    data = sprite_index(sprite_layout(chain, facts), image_name, facts.duration).encode()
    await store_derivative(services, asset, variant, data, fmt=output.format, width=None, height=None)
    storage_key = derived_storage_key(asset, variant)
    return VideoDerivative(storage_key, len(data), output.format, output.content_type, _etag(storage_key, len(data)), output.vary)


def _remove_scratch(scratch: Path) -> None:
    for path in scratch.parent.glob(f"{scratch.name}-*"):
        path.unlink(missing_ok=True)


async def _layer_files(services: Services, asset: Asset, chain: Chain, files: contextlib.AsyncExitStack) -> dict[str, LayerFile]:
    """The stored files the chain's layers use, keyed by `layer_key`; a layer whose asset is
    missing or not public (`find_layer_asset`) is left out (the planner refuses the URL, naming it)."""
    found: dict[str, LayerFile] = {}
    for component in chain.components:
        layer = component.overlay
        if layer is None or layer.kind not in ("image", "subtitles") or layer.public_id is None:
            continue
        key = layer_key(layer)
        if key in found:
            continue
        stored = await find_layer_asset(services, asset.cloud, _resource_type(layer), layer.delivery_type, layer.public_id)
        if stored is None:
            continue  # missing or not public: the planner refuses the URL, naming the layer
        path = await files.enter_async_context(services.local_file(stored.storage_key))
        facts = source_facts(stored) if stored.resource_type == "video" else None
        found[key] = LayerFile(path, stored.width or 0, stored.height or 0, facts)
    return found


def _resource_type(layer: Layer) -> str:
    return "raw" if layer.kind == "subtitles" else layer.resource_type
