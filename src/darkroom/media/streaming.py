"""Adaptive streaming use cases: manifests, segments on demand, a ladder prepared ahead.

`sp_{profile}` with `.m3u8` or `.mpd` names a ladder (`video.streaming` plans it and explains
the segment design). Manifests are computed from the asset's probed facts and the profile on
every request (microseconds; nothing to cache, and a custom profile's change shows at once).
Segments are encoded when first asked for, stored as derivatives (blob + `derived` record),
and served from the store afterwards; after each request the next `PREFETCH_AHEAD` segments
of that track are encoded in the background, so a player that keeps playing finds them made.

A segment request waits for its encode (a few seconds: one segment) at most
`DARKROOM_STREAM_WAIT_SECONDS`; past that the encode goes on and the client gets
`LadderPreparing` (423, Cloudinary's answer while a video is processed). Either way the
encode is never abandoned, so a player that asks again (hls.js does after 10 s without a
byte, dash.js after any failure) ends up playing. `prepare_ladder` encodes a whole ladder:
the eager (`eager=sp_hd/m3u8`) and job entry point.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shutil
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from darkroom.catalog import Asset
from darkroom.catalog.streaming import PREDEFINED, get_profile
from darkroom.errors import DarkroomError, Invalid, NotFound
from darkroom.media.derivatives import StrictTransformationRefused, Variant, derived_storage_key, find_stored, store_derivative_file
from darkroom.transform import Chain, parse
from darkroom.video.streaming import (
    AUDIO_TRACK,
    Ladder,
    Source,
    StreamChild,
    Track,
    audio_group,
    dash_manifest,
    encode_audio_segments,
    encode_segment,
    parse_child,
    hls_master,
    hls_media_playlist,
    plan_ladder,
    split_header,
)

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = [
    "LadderPreparing",
    "SegmentWork",
    "SourceCopies",
    "StoredSegment",
    "StreamChild",
    "eager_entry",
    "parse_child",
    "STREAMING_FORMATS",
    "ladder_for",
    "manifest",
    "media_playlist",
    "prepare_ladder",
    "segment",
    "streaming_profile_of",
]

log = logging.getLogger(__name__)

# RFC 8216 names the HLS type (ffmpeg warns on the older x-mpegURL); DASH is ISO 23009-1 Annex C.
STREAMING_FORMATS = {"m3u8": "application/vnd.apple.mpegurl", "mpd": "application/dash+xml"}
AUTO_PROFILE = "4k"  # sp_auto: the widest predefined ladder, cut at the source's size
PREFETCH_AHEAD = 2  # segments of a track encoded ahead of the last one requested
ENCODE_TIMEOUT = 300.0  # seconds for one segment's ffmpeg run
SOURCE_LINGER = 120.0  # seconds a downloaded original is kept after its last encode
_SP = re.compile(r"(?:^|[/,])sp_")


class LadderPreparing(DarkroomError):
    """The segment is still being encoded; asking again shortly will find it (HTTP 423)."""


@dataclass(frozen=True)
class StoredSegment:
    """A stored init header or segment: what delivery streams, with `Range`."""

    storage_key: str
    size: int
    etag: str
    content_type: str


def streaming_profile_of(transformation: str) -> bool:
    """Whether a URL's transformation text names a streaming profile (cheap, before parsing)."""
    return bool(_SP.search(transformation))


async def ladder_for(services: Services, asset: Asset, chain: Chain) -> Ladder:
    """The asset's ladder for a chain holding `sp_`: the profile's rungs after the chain's
    other components, cut at the source's size."""
    profile = next((c.streaming_profile for c in chain.components if c.streaming_profile), None)
    if profile is None:
        raise Invalid("A streaming profile (sp_) is required to deliver m3u8 or mpd")
    common = Chain(tuple(replace(c, streaming_profile=None) for c in chain.components))
    texts = [item["transformation"] for item in await _representations(services, asset.cloud, profile)]
    named = (await services.caches.rules_lookup.get(services, asset.cloud)).named if any("t_" in text for text in texts) else {}
    rungs = [parse(text, named=named.get) for text in texts]
    return plan_ladder(_source(asset), common, rungs)


async def _representations(services: Services, cloud: str, name: str) -> list[dict[str, str]]:
    if name == "auto":
        return PREDEFINED[AUTO_PROFILE][1]
    if name in PREDEFINED:
        return PREDEFINED[name][1]
    profile = await services.db(get_profile, cloud, name)  # StreamingProfileNotFound: 404
    return list(profile["representations"])


def _source(asset: Asset) -> Source:
    media = asset.video_metadata
    has_video = bool(media.get("video")) and not media.get("is_audio", False)
    rate = media.get("frame_rate")
    return Source(
        width=asset.width or 0,
        height=asset.height or 0,
        duration=float(asset.duration or 0.0),
        frame_rate=float(rate) if isinstance(rate, (int, float)) and 1 <= rate <= 240 else 25.0,
        has_audio=bool(media.get("audio")),
        has_video=has_video and bool(asset.width and asset.height),
    )


async def manifest(services: Services, asset: Asset, chain: Chain, fmt: str, prefix: str) -> str:
    """The master playlist (`m3u8`) or MPD (`mpd`); `prefix` is the URL's last segment, escaped."""
    ladder = await ladder_for(services, asset, chain)
    if ladder.duration <= 0:
        raise Invalid("Video has no duration to stream")
    return hls_master(ladder, prefix) if fmt == "m3u8" else dash_manifest(ladder, prefix)


async def media_playlist(services: Services, asset: Asset, chain: Chain, track: str) -> str:
    ladder = await ladder_for(services, asset, chain)
    _track(ladder, track)
    return hls_media_playlist(ladder, track)


def _track(ladder: Ladder, name: str) -> Track:
    if name not in ladder.tracks:
        raise _NoSuchFile("Resource not found")
    return Track(None if name == AUDIO_TRACK else ladder.rendition(name))


class _NoSuchFile(NotFound):
    pass


async def segment(
    services: Services, asset: Asset, chain: Chain, child: StreamChild, *, may_render: Callable[[], Awaitable[bool]]
) -> StoredSegment:
    """An init header or media segment: stored, or encoded now (waiting at most `stream_wait_seconds`)."""
    ladder = await ladder_for(services, asset, chain)
    track = _track(ladder, child.track)
    index = 0 if child.part == "init" else child.index
    if index >= ladder.segment_count:
        raise _NoSuchFile("Resource not found")
    work = services.caches.streaming
    key = _SegmentKey.of(asset, ladder, track, child.part, index)
    found = await work.stored(services, key)
    if found is None:
        if not await may_render():
            raise StrictTransformationRefused("Transformation is not allowed")
        task = work.produce(services, asset, ladder, track, index)
        try:
            # Waiting is what players handle best (`DARKROOM_STREAM_WAIT_SECONDS`): hls.js gives up on
            # a request after 10 s without a byte and asks again (joining this encode), but takes a
            # 4xx such as 423 as final for that segment.
            with anyio.fail_after(services.settings.stream_wait_seconds):
                await asyncio.shield(task)
        except TimeoutError:
            raise LadderPreparing("Video is being processed, please try again later") from None
        found = await work.stored(services, key)
        if found is None:  # stored by another process meanwhile, or a lost record: one more look is all it gets
            raise LadderPreparing("Video is being processed, please try again later")
    work.prefetch(services, asset, ladder, track, index)
    return found


async def prepare_ladder(services: Services, asset: Asset, chain: Chain) -> Ladder:
    """Encode every segment of every track of the ladder now (idempotent: stored ones are
    skipped). The eager / `eager_async` entry point; a job runs it as it is."""
    ladder = await ladder_for(services, asset, chain)
    work = services.caches.streaming
    for name in ladder.tracks:
        track = _track(ladder, name)
        for index in range(ladder.segment_count):
            if await work.stored(services, _SegmentKey.of(asset, ladder, track, "segment", index)) is None:
                await work.produce(services, asset, ladder, track, index, bounded=False)  # the job queue bounds jobs
    return ladder


@dataclass(frozen=True)
class _SegmentKey:
    """A segment's identity as a derivative: what decides its bytes, not the URL's wording."""

    asset: Asset
    transformation: str  # the rendition's settings, written as a transformation
    variant: str  # "m4s:<grid>:<index>" or "mp4:<grid>:init" (grid: `Ladder.grid`)
    fmt: str

    @classmethod
    def of(cls, asset: Asset, ladder: Ladder, track: Track, part: str, index: int) -> _SegmentKey:
        variant = f"mp4:{ladder.grid}:init" if part == "init" else f"m4s:{ladder.grid}:{index}"
        return cls(asset, _settings_text(track), variant, "mp4" if part == "init" else "m4s")

    @property
    def memo(self) -> tuple[int, str, str, str]:
        return (self.asset.pk, self.asset.version_id, self.transformation, self.variant)

    @property
    def content_type(self) -> str:
        return "audio/mp4" if self.transformation.startswith("ac_") else "video/mp4"


def _settings_text(track: Track) -> str:
    rendition = track.rendition
    if rendition is None:
        return "ac_aac,af_48000,br_128k,vc_none"
    x, y, w, h = rendition.picture.crop
    quality = f",q_{rendition.crf}" if rendition.crf is not None else ""
    return (f"c_crop,h_{h},w_{w},x_{x},y_{y}/c_scale,h_{rendition.picture.height},w_{rendition.picture.width}/"
            f"br_{rendition.bit_rate},fps_{rendition.frame_rate:g},vc_h264:high:{int(rendition.level, 16) / 10}{quality}")


class SegmentWork:
    """This process's segment encodes: one at a time per segment, at most one per core (or
    DARKROOM_VIDEO_CONCURRENCY), a few ahead.

    Like new video renders (`VideoDerivatives`), the encodes players ask for are bounded: with
    `QUEUE_FACTOR` per slot under way or waiting, a request for yet another segment answers 423
    at once and starts nothing, so requests for ever new segments (other renditions, other
    profiles, other assets) cannot queue unbounded ffmpeg runs. Encoding ahead of players waits
    while their own encodes fill every slot. A job preparing a whole ladder is bounded by the
    job queue instead.

    Records of stored segments are remembered (they never change: a new version is a new key),
    so a playing client costs no database query per segment.
    """

    MEMO_SIZE = 20_000
    QUEUE_FACTOR = 4

    def __init__(self, concurrency: int = 0) -> None:
        # x264 threads each encode itself; more encodes than cores only adds contention.
        slots = concurrency or os.cpu_count() or 1
        self._slots = anyio.CapacityLimiter(slots)
        self.max_queued = self.QUEUE_FACTOR * slots
        self._requested = 0  # encodes players asked for (not those ahead of them), under way or waiting
        self._ahead = anyio.CapacityLimiter(1)  # background work ahead of players takes one slot at most
        self._inflight: dict[tuple[int, str, str, int], asyncio.Task[None]] = {}
        self._memo: OrderedDict[tuple[int, str, str, str], StoredSegment] = OrderedDict()
        self._sources = SourceCopies()

    async def stored(self, services: Services, key: _SegmentKey) -> StoredSegment | None:
        hit = self._memo.get(key.memo)
        if hit is not None:
            return hit
        stored = await find_stored(services, key.asset, Variant(key.transformation, key.variant))
        if stored is None:
            return None
        (storage_key, *_), size = stored
        found = StoredSegment(storage_key, size, storage_key.rsplit("/", 1)[-1], key.content_type)
        self.remember(key, found)
        return found

    def remember(self, key: _SegmentKey, found: StoredSegment) -> None:
        self._memo[key.memo] = found
        while len(self._memo) > self.MEMO_SIZE:
            self._memo.popitem(last=False)

    def forget_all(self) -> None:
        """Drop the remembered records (a purge of derivatives may have removed their blobs)."""
        self._memo.clear()

    def produce(
        self, services: Services, asset: Asset, ladder: Ladder, track: Track, index: int, *, ahead: bool = False, bounded: bool = True
    ) -> asyncio.Task[None]:
        """The task encoding and storing segment `index` of `track` (started if not running);
        for audio, the task encoding the group of segments that holds it. A new encode a player
        asked for (`bounded`, not `ahead`) past the queue is LadderPreparing (423)."""
        group = audio_group(ladder, index) if track.rendition is None else range(index, index + 1)
        inflight = (asset.pk, asset.version_id, _settings_text(track), group.start)
        task = self._inflight.get(inflight)
        if task is None:
            counted = bounded and not ahead
            if counted and self._requested >= self.max_queued:
                raise LadderPreparing("Video is being processed, please try again later", detail=f"{self._requested} segment encodes queued")
            task = asyncio.get_running_loop().create_task(self._encode_and_store(services, asset, ladder, track, group, ahead))
            self._inflight[inflight] = task
            self._requested += counted
            task.add_done_callback(lambda done: self._finished(inflight, done, counted))
        return task

    def _finished(self, inflight: tuple[int, str, str, int], task: asyncio.Task[None], counted: bool) -> None:
        del self._inflight[inflight]
        self._requested -= counted
        if not task.cancelled() and task.exception() is not None:
            log.warning("segment %s of asset %s not produced: %s", inflight[3], inflight[0], task.exception())

    def prefetch(self, services: Services, asset: Asset, ladder: Ladder, track: Track, index: int) -> None:
        """Start encoding the next segments of `track` in the background, if not stored yet
        and players' own encodes leave a slot free (ahead of them, encodes only compete)."""
        if self._requested >= self._slots.total_tokens:
            return
        for ahead in range(index + 1, min(index + 1 + PREFETCH_AHEAD, ladder.segment_count)):
            memo = (asset.pk, asset.version_id, _settings_text(track), f"m4s:{ladder.grid}:{ahead}")
            if memo not in self._memo:
                self.produce(services, asset, ladder, track, ahead, ahead=True)

    async def _encode_and_store(self, services: Services, asset: Asset, ladder: Ladder, track: Track, group: range, ahead: bool) -> None:
        wanted = [i for i in group if await self.stored(services, _SegmentKey.of(asset, ladder, track, "segment", i)) is None]
        if not wanted:
            if await self.stored(services, _SegmentKey.of(asset, ladder, track, "init", 0)) is not None:
                return  # made by another process, or a job, since it was asked for
            wanted = [group.start]  # only the header is missing (its blob was purged): encode for it
        services.spool_dir.mkdir(parents=True, exist_ok=True)
        folder = services.spool_dir / f"segments-{secrets.token_hex(8)}"
        folder.mkdir()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if ahead:
                    await stack.enter_async_context(self._ahead)
                source = await stack.enter_async_context(self._sources.open(services, asset.storage_key))
                files = await anyio.to_thread.run_sync(lambda: _encode(source, folder, ladder, track, group, ahead), limiter=self._slots)
            for index, file in zip(group, files):
                if index in wanted:
                    await self._store(services, asset, ladder, track, index, file)
        finally:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def _store(self, services: Services, asset: Asset, ladder: Ladder, track: Track, index: int, encoded: Path) -> None:
        """Store the fragments as the segment and, if the track has none yet, the header as its init."""
        header, media = encoded.with_suffix(".init"), encoded.with_suffix(".m4s")
        await anyio.to_thread.run_sync(lambda: _split_file(encoded, header, media))
        init_key = _SegmentKey.of(asset, ladder, track, "init", 0)
        if await self.stored(services, init_key) is None:
            await _keep(services, init_key, header)
        await _keep(services, _SegmentKey.of(asset, ladder, track, "segment", index), media)


def _encode(source: Path, folder: Path, ladder: Ladder, track: Track, group: range, background: bool) -> list[Path]:
    """The encoded files of the segments in `group` (a video track's group is one segment)."""
    if track.rendition is None:
        return encode_audio_segments(source, folder, ladder, group, timeout=ENCODE_TIMEOUT, background=background)
    out = folder / "video.mp4"
    start, length = ladder.segment(group.start)
    encode_segment(source, out, track, start, length, timeout=ENCODE_TIMEOUT, background=background)
    return [out]


class SourceCopies:
    """Local copies of originals kept in a remote store (S3), shared by the encodes of a video
    and kept `SOURCE_LINGER` seconds after the last one, so a ladder of hundreds of segments
    (or several renders of one video, `media.video_derivatives`) downloads its original once,
    not once per encode. A local store's files are used in place (`Services.local_file`)."""

    def __init__(self) -> None:
        self._copies: dict[str, _SourceCopy] = {}

    @contextlib.asynccontextmanager
    async def open(self, services: Services, storage_key: str) -> AsyncIterator[Path]:
        if services.store.local_path(storage_key) is not None:
            async with services.local_file(storage_key) as path:
                yield path
            return
        copy = self._copies.get(storage_key)
        if copy is None:
            copy = self._copies[storage_key] = _SourceCopy(asyncio.get_running_loop().create_task(_download(services, storage_key)))
        copy.users += 1
        if copy.expiry is not None:
            copy.expiry.cancel()
            copy.expiry = None
        try:
            yield await asyncio.shield(copy.ready)
        except BaseException:
            if copy.ready.done() and not copy.ready.cancelled() and copy.ready.exception() is not None:
                self._copies.pop(storage_key, None)  # a failed download is not kept: the next encode tries again
            raise
        finally:
            copy.users -= 1
            if copy.users == 0 and self._copies.get(storage_key) is copy:
                copy.expiry = asyncio.get_running_loop().call_later(SOURCE_LINGER, self._drop, storage_key, copy)

    def _drop(self, storage_key: str, copy: _SourceCopy) -> None:
        if copy.users == 0 and self._copies.get(storage_key) is copy:
            del self._copies[storage_key]
            if copy.ready.done() and not copy.ready.cancelled() and copy.ready.exception() is None:
                copy.ready.result().unlink(missing_ok=True)


@dataclass
class _SourceCopy:
    ready: asyncio.Task[Path]  # the download; its result is the local file
    users: int = 0  # encodes using it now
    expiry: asyncio.TimerHandle | None = None  # removal scheduled once unused


async def _download(services: Services, storage_key: str) -> Path:
    services.spool_dir.mkdir(parents=True, exist_ok=True)
    path = services.spool_dir / f"stream-source-{secrets.token_hex(8)}"
    try:
        await services.store.download_to(storage_key, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _split_file(encoded: Path, header: Path, media: Path) -> None:
    with encoded.open("rb") as source:
        cut = split_header(source)
        source.seek(0)
        header.write_bytes(source.read(cut))
        with media.open("wb") as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)


async def _keep(services: Services, key: _SegmentKey, file: Path) -> None:
    """Store the segment and remember it (unless the asset was destroyed or overwritten meanwhile)."""
    variant = Variant(key.transformation, key.variant)
    size = file.stat().st_size
    if await store_derivative_file(services, key.asset, variant, file, fmt=key.fmt, width=None, height=None):
        storage_key = derived_storage_key(key.asset, variant)
        services.caches.streaming.remember(key, StoredSegment(storage_key, size, storage_key.rsplit("/", 1)[-1], key.content_type))


async def eager_entry(services: Services, origin: str, asset: Asset, transformation: str, chain: Chain, fmt: str) -> dict[str, Any]:
    """An eager `sp_…/m3u8` or `sp_…/mpd`: the whole ladder encoded now; the reply's entry
    (manifests have no width or height). `eager_async` runs it in the eager job (media/eager.py)."""
    from darkroom.media.shapes import delivery_path, delivery_urls

    await prepare_ladder(services, asset, chain)
    prefix = delivery_path(asset, transformation, fmt).rsplit("/", 1)[-1]
    text = await manifest(services, asset, chain, fmt, prefix)
    url, secure_url = delivery_urls(origin, asset, transformation, fmt)
    return {"transformation": f"{transformation}/{fmt}", "bytes": len(text.encode()), "format": fmt, "url": url, "secure_url": secure_url}

