"""Derived assets: render once, keep in the blob store, serve hot ones from memory.

A derivative is addressed by (asset, version, variant), where the variant is the canonical
transformation plus what else decides the bytes: the URL's extension and, when `f_auto`
is present, the class of the client's Accept header. Two URLs that mean the same thing share
one derivative; a new version never finds the old one; concurrent requests for the same new
derivative wait for a single render.

Delivery answers before a new derivative is stored (`answer_first`): the blob and its
`derived` record are written by a background task. A crash in between loses only the cache
entry; a destroy or a new version that wins the race leaves no record, and the blob is
removed again (`store_derivative`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio

from darkroom.catalog import Asset
from darkroom.catalog.derived import find_derived, record_derived
from darkroom.imaging import Rendered, RenderRequest, content_type_for, render
from darkroom.imaging.memory import SourceHeader, render_memory_bytes
from darkroom.media.addons import render_extras
from darkroom.media.layer_assets import find_layer_asset
from darkroom.media.sources import fetch_remote
from darkroom.storage import BlobNotFound
from darkroom.errors import NotAuthenticated
from darkroom.transform import Chain

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = ["CacheEvents", "ClientHints", "Derivative", "DerivativeCache", "StrictTransformationRefused", "Variant", "derived_storage_key", "find_stored", "store_derivative", "store_derivative_file", "variant_key"]

log = logging.getLogger(__name__)


class StrictTransformationRefused(NotAuthenticated):
    """Strict transformations are on and this derivative is neither signed, allowed nor existing."""


@dataclass(frozen=True)
class Derivative:
    data: bytes
    content_type: str
    format: str
    etag: str
    vary_accept: bool
    width: int | None
    height: int | None


@dataclass(frozen=True)
class ClientHints:
    """What the request says about the client, for `f_auto`, `w_auto` and `dpr_auto`."""

    accept: str = ""
    width: int | None = None  # Sec-CH-Width / Width, in device pixels
    dpr: float | None = None  # Sec-CH-DPR / DPR
    save_data: bool = False  # Save-Data: on

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ClientHints:
        return cls(
            accept=headers.get("accept", ""),
            width=_number(headers.get("sec-ch-width") or headers.get("width"), int),
            dpr=_number(headers.get("sec-ch-dpr") or headers.get("dpr"), float),
            save_data=headers.get("save-data", "").lower() == "on",
        )


def _number(text: str | None, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(text) if text else None
    except ValueError:
        return None
    return value if value and 0 < value < 10_000 else None


_USES_CLIENT_SIZE = re.compile(r"(^|[,/])(w_auto|dpr_auto)")


def accept_class(accept: str) -> str:
    """What of an Accept header can change an `f_auto` choice."""
    lowered = accept.lower()
    return "avif" if "image/avif" in lowered else "webp" if "image/webp" in lowered else "default"


class Variant(NamedTuple):
    """A derivative's identity within one asset version, as the `derived` table stores it."""

    transformation: str  # the canonical transformation ("" = a format change only)
    rest: str  # what else decides the bytes: the URL's extension, Accept class, client hints


def variant_key(chain: Chain, requested_format: str | None, hints: ClientHints) -> Variant:
    """The derivative's identity: the canonical transformation plus whatever else decides its bytes."""
    canonical = chain.canonical()
    rest = requested_format or ""
    if "f_auto" in canonical or "q_auto" in canonical:
        rest += f"|{accept_class(hints.accept)}|{'save-data' if hints.save_data else ''}"
    if _USES_CLIENT_SIZE.search(canonical):
        rest += f"|w={hints.width or ''}|dpr={hints.dpr or ''}"
    return Variant(canonical, rest)


class CacheEvents:
    """What the derivative cache reports as it works (metrics hang on these); this one ignores them."""

    def hit(self, tier: str) -> None:
        """A derivative found without rendering: in `memory`, `shared` with a render in flight, or in the blob `store`."""

    def miss(self) -> None:
        """A derivative that must be rendered."""

    def rendering(self) -> contextlib.AbstractContextManager[object]:
        """Wraps one render (waiting for a render slot and fetching the source included)."""
        return contextlib.nullcontext()


# (asset pk, version_id, variant): one derivative of one version of one asset. Not the version
# number: SQLite reuses a destroyed asset's pk, and a re-upload within the same second gets the
# same version number, while version_id is random for every saved version.
DerivativeKey = tuple[int, str, Variant]


class DerivativeCache:
    """Memory LRU in front of the blob store and the `derived` table, with single-flight rendering.

    With `answer_first`, a new derivative is returned as soon as it is rendered and stored
    afterwards by a background task; until that task ends, the render stays registered as
    in flight, so identical requests in this process get its bytes instead of rendering
    again. `settle()` waits for the stores still running (graceful shutdown).
    """

    def __init__(self, max_memory_bytes: int = 64 * 1024 * 1024, render_concurrency: int = 0, events: CacheEvents | None = None) -> None:
        self.max_memory_bytes = max_memory_bytes
        self.events = events or CacheEvents()
        # libvips threads each render itself; more renders at once than cores only adds contention.
        self._render_slots = anyio.CapacityLimiter(render_concurrency or os.cpu_count() or 1)
        self._memory: OrderedDict[DerivativeKey, Derivative] = OrderedDict()
        self._memory_bytes = 0
        # Renders in progress, and rendered ones whose background store has not finished.
        self._inflight: dict[DerivativeKey, asyncio.Future[Derivative]] = {}
        self._storing: dict[DerivativeKey, asyncio.Task[None]] = {}  # background stores (referenced until done)

    async def get(
        self,
        services: Services,
        asset: Asset,
        chain: Chain,
        requested_format: str | None,
        hints: ClientHints,
        *,
        may_render: bool | Callable[[], Awaitable[bool]] = True,
        source: Path | None = None,
        answer_first: bool = False,
    ) -> Derivative:
        """The derivative's bytes; if `may_render` says no (strict transformations), only an existing one.

        `may_render` may be an async callable: it is asked only when a render is needed, so
        cache hits cost no policy look-up. `source` is the original as a local file when the
        caller already has one (many derivatives of one asset): it is not fetched again.
        `answer_first` stores a new derivative after returning it (delivery: the client does
        not wait for the blob store and the database); otherwise it is stored before.
        """
        variant = variant_key(chain, requested_format, hints)
        key = (asset.pk, asset.version_id, variant)
        hot = self._memory.get(key)
        if hot is not None:
            self._memory.move_to_end(key)
            self.events.hit("memory")
            return hot
        pending = self._inflight.get(key)
        if pending is not None:
            self.events.hit("shared")
            result = await asyncio.shield(pending)
            storing = self._storing.get(key)
            if storing is not None and not answer_first:
                await asyncio.shield(storing)  # this caller was promised a stored derivative
            return result
        future: asyncio.Future[Derivative] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        stored_later = False
        try:
            result, rendered, held = await self._load_or_render(services, asset, chain, variant, requested_format, hints, may_render, source)
            if rendered is not None and answer_first:
                self._store_in_background(key, services, asset, rendered, held)
                stored_later = True
            elif rendered is not None:
                async with held:  # the deployment-wide lock is freed once the derivative is stored
                    await _store_rendered(services, asset, variant, rendered)
            future.set_result(result)
            self._remember(key, result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            if not stored_later:
                del self._inflight[key]

    def forget_asset(self, asset_pk: int) -> None:
        for key in [k for k in self._memory if k[0] == asset_pk]:
            self._memory_bytes -= len(self._memory.pop(key).data)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every derivative handed out before now is stored (or has failed to be).

        At most `timeout` seconds, so a hung blob store cannot hold up a shutdown: a store
        still running then is abandoned, which loses only its cache entry.
        """
        with anyio.move_on_after(timeout):
            while self._storing:
                await asyncio.wait(list(self._storing.values()))

    def _store_in_background(self, key: DerivativeKey, services: Services, asset: Asset, rendered: Rendered, held: contextlib.AsyncExitStack) -> None:
        task = asyncio.get_running_loop().create_task(_store_quietly(services, asset, key[2], rendered, held))
        self._storing[key] = task
        task.add_done_callback(lambda _: self._release(key))

    def _release(self, key: DerivativeKey) -> None:
        """The render is stored (or failed to be): the next request for it looks in the store."""
        del self._storing[key]
        del self._inflight[key]

    def _remember(self, key: DerivativeKey, item: Derivative) -> None:
        if len(item.data) > self.max_memory_bytes // 8:
            return
        self._memory[key] = item
        self._memory_bytes += len(item.data)
        while self._memory_bytes > self.max_memory_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= len(evicted.data)

    async def _load_or_render(
        self,
        services: Services,
        asset: Asset,
        chain: Chain,
        variant: Variant,
        requested_format: str | None,
        hints: ClientHints,
        may_render: bool | Callable[[], Awaitable[bool]],
        source: Path | None,
    ) -> tuple[Derivative, Rendered | None, contextlib.AsyncExitStack]:
        """The stored derivative, or a new rendering, returned too with what the caller must
        release once it has stored the rendering (the deployment-wide render lock, if any)."""
        stored = await self._stored(services, asset, variant)
        if stored is not None:
            return stored, None, contextlib.AsyncExitStack()
        allowed = may_render if isinstance(may_render, bool) else await may_render()
        if not allowed:
            raise StrictTransformationRefused(f"Transformation {variant.transformation or requested_format} is not allowed")
        held = contextlib.AsyncExitStack()
        if services.shared.spans_nodes:
            # One render for the whole deployment: under the derivative's shared lock look
            # again (another node may have stored it while this one waited); the lock is freed
            # only when this rendering is stored, so the nodes waiting on it find it there.
            name = f"derivative|{asset.asset_id}|{asset.version_id}|{'|'.join(variant)}"
            await held.enter_async_context(services.shared.single_flight(name))
        try:
            stored = await self._stored(services, asset, variant) if services.shared.spans_nodes else None
            if stored is not None:
                await held.aclose()
                return stored, None, held
            result, rendered = await self._render_here(services, asset, chain, requested_format, hints, source)
        except BaseException:
            await held.aclose()
            raise
        return result, rendered, held

    async def _stored(self, services: Services, asset: Asset, variant: Variant) -> Derivative | None:
        stored = await services.db(find_derived, asset.pk, asset.version, variant)
        if stored is None:
            return None
        storage_key, fmt, width, height = stored
        try:
            data = await services.store.get_bytes(storage_key)
        except BlobNotFound:
            return None  # the blob vanished (a purge, a restore): render it again
        self.events.hit("store")
        return _derivative(data, fmt, "f_auto" in variant.transformation, width, height)

    async def _render_here(
        self, services: Services, asset: Asset, chain: Chain, requested_format: str | None, hints: ClientHints, source: Path | None
    ) -> tuple[Derivative, Rendered]:
        local = contextlib.nullcontext(source) if source is not None else services.local_file(asset.storage_key)
        self.events.miss()
        with self.events.rendering():
            async with local as original:
                rendered = await _render(services, asset, original, chain, requested_format, hints, self._render_slots)
        return _derivative(rendered.data, rendered.format, rendered.vary_accept, rendered.width, rendered.height), rendered


async def _store_quietly(services: Services, asset: Asset, variant: Variant, rendered: Rendered, held: contextlib.AsyncExitStack) -> None:
    try:
        async with held:  # the deployment-wide render lock, freed once stored (or failed to be)
            await _store_rendered(services, asset, variant, rendered)
    except Exception:
        # The client has its bytes; only the cache entry is lost, and the next request renders again.
        log.warning("derivative of asset %s not stored", asset.asset_id, exc_info=True)


async def _store_rendered(services: Services, asset: Asset, variant: Variant, rendered: Rendered) -> bool:
    return await store_derivative(
        services, asset, variant, rendered.data, fmt=rendered.format, width=rendered.width, height=rendered.height
    )


async def store_derivative(
    services: Services, asset: Asset, variant: Variant, data: bytes, *, fmt: str, width: int | None, height: int | None
) -> bool:
    """Keep a derivative's bytes in the blob store and its record in `derived` (the newest copy wins).

    Blob first, record second: a crash in between leaves an unreferenced blob, never a record
    without bytes. If the asset was destroyed or given a new version meanwhile, nothing is
    recorded and the blob is removed again (False): a stale derivative is never kept.
    """
    storage_key = derived_storage_key(asset, variant)
    await services.store.put_bytes(storage_key, data)
    if await services.db(record_derived, asset, variant, storage_key, len(data), fmt, width, height):
        return True
    await services.store.delete(storage_key)
    return False


async def store_derivative_file(
    services: Services, asset: Asset, variant: Variant, file: Path, *, fmt: str, width: int | None, height: int | None
) -> bool:
    """`store_derivative` for bytes in a file (videos, stream segments): streamed to the store."""
    storage_key = derived_storage_key(asset, variant)
    await services.store.put_file(storage_key, file)
    if await services.db(record_derived, asset, variant, storage_key, file.stat().st_size, fmt, width, height):
        return True
    await services.store.delete(storage_key)
    return False


def derived_storage_key(asset: Asset, variant: Variant) -> str:
    """Where a derivative's blob lives: under its asset and version, named by its variant."""
    digest = hashlib.sha256("|".join(variant).encode()).hexdigest()[:40]
    return f"{asset.cloud}/derived/{asset.asset_id}/{asset.version}/{digest}"


async def find_stored(services: Services, asset: Asset, variant: Variant) -> tuple[tuple[str, str, int | None, int | None], int] | None:
    """The derivative's record (storage_key, format, width, height) and its blob's size, if both
    are still there: a record whose blob vanished (a purge, a restore) counts as none, so the
    caller renders it again. For callers that stream the blob rather than read it."""
    record = await services.db(find_derived, asset.pk, asset.version, variant)
    if record is None:
        return None
    size = await services.store.size(record[0])
    return None if size is None else (record, size)


def _derivative(data: bytes, fmt: str, vary_accept: bool, width: int | None, height: int | None) -> Derivative:
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return Derivative(data, content_type_for(fmt), fmt, etag, vary_accept, width, height)


async def _render(
    services: Services,
    asset: Asset,
    source: Path,
    chain: Chain,
    requested_format: str | None,
    hints: ClientHints,
    slots: anyio.CapacityLimiter,
) -> Rendered:
    limits = services.render_limits
    async with contextlib.AsyncExitStack() as files:
        layers = await _layer_files(services, asset, chain, files)
        # Admitted into the process's render memory only now, with everything fetched.
        await files.enter_async_context(services.render_budget.reserve(render_memory_bytes(source_header(asset), chain)))
        regions, model_effects, find_objects = render_extras(services, asset)
        return await anyio.to_thread.run_sync(
            lambda: render(RenderRequest(
                source,
                chain,
                source_format=asset.format,
                requested_format=requested_format,
                accept=hints.accept,
                limits=limits,
                load_layer=layers.get,
                client_width=hints.width,
                client_dpr=hints.dpr,
                save_data=hints.save_data,
                source_key=asset.storage_key,  # names this version's bytes: its decoded pixels may be reused
                regions=regions,
                model_effects=model_effects,
                find_objects=find_objects,
            )),
            limiter=slots,
        )


def source_header(asset: Asset) -> SourceHeader:
    """The header facts of a stored image the render budget needs, as probed at upload."""
    return SourceHeader(asset.format, asset.width or 0, asset.height or 0, asset.pages or 1)


# A remote overlay is a picture laid on another one; its pixels are limited like any source's.
FETCH_LAYER_MAX_BYTES = 50 * 1024 * 1024


async def _layer_files(services: Services, asset: Asset, chain: Chain, files: contextlib.AsyncExitStack) -> dict[str, Path]:
    """The chain's overlay images as local files, keyed as the renderer asks for them: stored
    images by public ID (`services.local_file`: the store's own file, or a copy removed
    afterwards), `l_fetch:` images by `fetch:URL`, downloaded through the same SSRF-checked
    fetch as uploads from a URL. `files` removes every copy when the render is done."""
    paths: dict[str, Path] = {}
    for public_id in chain.layer_public_ids():
        stored = await find_layer_asset(services, asset.cloud, "image", "upload", public_id.replace(":", "/"))
        if stored is None:
            continue  # missing or not public: the renderer refuses the URL, naming the layer
        try:
            paths[public_id] = await files.enter_async_context(services.local_file(stored.storage_key))
        except BlobNotFound:
            continue  # the same refusal: its bytes are gone
    settings = services.settings
    for fetched in chain.fetched_layers():
        url, key = fetched.url, fetched.loader_key
        assert url is not None and key is not None  # fetched_layers() gives only layers with a URL
        spooled = await fetch_remote(
            url, services.spool_dir, max_bytes=FETCH_LAYER_MAX_BYTES, timeout=settings.fetch_timeout, allow=settings.fetch_allow
        )
        files.callback(spooled.discard)
        paths[key] = spooled.path
    return paths
