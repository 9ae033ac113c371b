"""Derived assets: render once, keep in the blob store, serve hot ones from memory.

A derivative is addressed by (asset, version, variant), where the variant is the canonical
transformation plus what else decides the bytes: the URL's extension and, when `f_auto`
is present, the class of the client's Accept header. Two URLs that mean the same thing share
one derivative; a new version never finds the old one; concurrent requests for the same new
derivative wait for a single render.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom import catalog
from darkroom.api.services import Services
from darkroom.catalog import Asset
from darkroom.catalog.schema import derived
from darkroom.imaging import Rendered, content_type_for, render
from darkroom.storage import BlobNotFound
from darkroom.errors import Unauthorized
from darkroom.transform import Chain

__all__ = ["ClientHints", "Derivative", "DerivativeCache", "StrictTransformationRefused", "Variant", "store_derivative", "variant_key"]


class StrictTransformationRefused(Unauthorized):
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


class DerivativeCache:
    """Memory LRU in front of the blob store and the `derived` table, with single-flight rendering."""

    def __init__(self, max_memory_bytes: int = 64 * 1024 * 1024, render_concurrency: int = 0) -> None:
        self.max_memory_bytes = max_memory_bytes
        # libvips threads each render itself; more renders at once than cores only adds contention.
        self._render_slots = anyio.CapacityLimiter(render_concurrency or os.cpu_count() or 1)
        # (asset pk, version, variant) → derivative
        self._memory: OrderedDict[tuple[int, int, Variant], Derivative] = OrderedDict()
        self._memory_bytes = 0
        self._inflight: dict[tuple[int, int, Variant], asyncio.Future[Derivative]] = {}

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
    ) -> Derivative:
        """The derivative's bytes; if `may_render` says no (strict transformations), only an existing one.

        `may_render` may be an async callable: it is asked only when a render is needed, so
        cache hits cost no policy look-up. `source` is the original as a local file when the
        caller already has one (many derivatives of one asset): it is not fetched again.
        """
        key = (asset.pk, asset.version, variant_key(chain, requested_format, hints))
        hot = self._memory.get(key)
        if hot is not None:
            self._memory.move_to_end(key)
            return hot
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Derivative] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._load_or_render(services, asset, chain, requested_format, hints, may_render, source)
            future.set_result(result)
            self._remember(key, result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    def forget_asset(self, asset_pk: int) -> None:
        for key in [k for k in self._memory if k[0] == asset_pk]:
            self._memory_bytes -= len(self._memory.pop(key).data)

    def _remember(self, key: tuple[int, int, Variant], item: Derivative) -> None:
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
        requested_format: str | None,
        hints: ClientHints,
        may_render: bool | Callable[[], Awaitable[bool]],
        source: Path | None,
    ) -> Derivative:
        variant = variant_key(chain, requested_format, hints)
        stored = await services.db(_find_derived, asset.pk, asset.version, variant)
        if stored is not None:
            storage_key, fmt, width, height = stored
            try:
                data = await services.store.get_bytes(storage_key)
                return _derivative(data, fmt, "f_auto" in variant.transformation, width, height)
            except BlobNotFound:
                pass  # the blob vanished (a purge, a restore): render it again
        allowed = may_render if isinstance(may_render, bool) else await may_render()
        if not allowed:
            raise StrictTransformationRefused(f"Transformation {chain.canonical() or requested_format} is not allowed")
        if source is not None:
            rendered = await _render(services, asset, source, chain, requested_format, hints, self._render_slots)
        else:
            async with services.local_file(asset.storage_key) as original:
                rendered = await _render(services, asset, original, chain, requested_format, hints, self._render_slots)
        await store_derivative(services, asset, variant, rendered.data, fmt=rendered.format, width=rendered.width, height=rendered.height)
        return _derivative(rendered.data, rendered.format, rendered.vary_accept, rendered.width, rendered.height)


async def store_derivative(
    services: Services, asset: Asset, variant: Variant, data: bytes, *, fmt: str, width: int | None, height: int | None
) -> None:
    """Keep a derivative's bytes in the blob store and its record in `derived` (the newest copy wins)."""
    digest = hashlib.sha256("|".join(variant).encode()).hexdigest()[:40]
    storage_key = f"{asset.cloud}/derived/{asset.asset_id}/{asset.version}/{digest}"
    await services.store.put_bytes(storage_key, data)
    await services.db(_record_derived, asset, variant, storage_key, len(data), fmt, width, height)


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
    layers = await _layer_paths(services, asset, chain)
    limits = services.render_limits
    return await anyio.to_thread.run_sync(
        lambda: render(
            source,
            chain,
            source_format=asset.format,
            requested_format=requested_format,
            accept=hints.accept,
            limits=limits,
            load_layer=lambda public_id: layers.get(public_id),
            client_width=hints.width,
            client_dpr=hints.dpr,
            save_data=hints.save_data,
        ),
        limiter=slots,
    )


async def _layer_paths(services: Services, asset: Asset, chain: Chain) -> dict[str, Path]:
    """Overlay images, by public ID, as local files (fetched from the store when it is remote)."""
    paths: dict[str, Path] = {}
    for public_id in chain.layer_public_ids():
        layer = await services.db(catalog.get_asset, asset.cloud, "image", "upload", public_id.replace(":", "/"))
        if layer is None:
            continue
        local = services.store.local_path(layer.storage_key)
        if local is None:
            local = services.spool_dir / f"layer-{layer.asset_id}-{layer.version}"
            if not local.exists():
                await services.store.download_to(layer.storage_key, local)
        paths[public_id] = local
    return paths


def _identity(asset_pk: int, version: int, variant: Variant) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        derived.c.asset_pk == asset_pk,
        derived.c.version == version,
        derived.c.transformation == variant.transformation,
        derived.c.variant == variant.rest,
    )


def _find_derived(engine: Engine, asset_pk: int, version: int, variant: Variant) -> tuple[str, str, int | None, int | None] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(derived.c.storage_key, derived.c.format, derived.c.width, derived.c.height).where(
                *_identity(asset_pk, version, variant)
            )
        ).first()
    return None if row is None else (row.storage_key, row.format, row.width, row.height)


def _record_derived(
    engine: Engine, asset: Asset, variant: Variant, storage_key: str, size: int, fmt: str, width: int | None, height: int | None
) -> None:
    """Insert the record, replacing one an earlier render (here or in another process) left."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(derived).where(*_identity(asset.pk, asset.version, variant)))
            conn.execute(
                sa.insert(derived).values(
                    asset_pk=asset.pk,
                    version=asset.version,
                    transformation=variant.transformation,
                    variant=variant.rest,
                    format=fmt,
                    storage_key=storage_key,
                    bytes=size,
                    width=width,
                    height=height,
                    created_at=datetime.now(UTC),
                )
            )
    except sa.exc.IntegrityError:
        pass  # another process recorded the same derivative at the same moment; either copy is the same picture
