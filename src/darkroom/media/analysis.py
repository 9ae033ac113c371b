"""What upload and explicit add to their reply when asked: `colors`, `phash`,
`quality_analysis`, `faces` (measured by `imaging.metrics`) and `responsive_breakpoints`
(widths chosen by size steps, optionally stored as derivatives).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import anyio

from darkroom.catalog import Asset
from darkroom.errors import Invalid
from darkroom.imaging import InvalidImage, Rendered, RenderRequest, metrics, render
from darkroom.imaging.memory import render_memory_bytes
from darkroom.imaging.breakpoints import BreakpointSettings, choose_breakpoints
from darkroom.media.derivatives import ClientHints, source_header, store_derivative, variant_key
from darkroom.media.params import parse_bool
from darkroom.media.services import Services
from darkroom.media.shapes import delivery_urls
from darkroom.transform import parse

__all__ = ["ANALYSIS_OPTIONS", "analysis_fields", "check_analysis_params", "measure"]

log = logging.getLogger("darkroom.generate")


ANALYSIS_OPTIONS = ("colors", "phash", "quality_analysis", "faces")


async def measure(path: Path, resource_type: str, width: int | None, height: int | None, params: dict[str, str]) -> dict[str, Any]:
    """The reply fields for `colors`, `phash`, `quality_analysis` and `faces`, measured on a
    file: upload measures before it stores anything (`media.uploads`), so an analysis that
    fails leaves nothing stored. A file libvips cannot read (a PDF…) gets no analysis."""
    wanted = _wanted(params)
    if resource_type != "image" or not wanted:
        return {}
    try:
        return await anyio.to_thread.run_sync(lambda: metrics.analyse(path, wanted, source_width=width, source_height=height))
    except InvalidImage as error:
        log.info("no analysis for %s: %s", path.name, error.detail or error.message)
        return {}


async def analysis_fields(
    services: Services, origin: str, asset: Asset, path: Path | None, params: dict[str, str], *, measured: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The reply fields for `colors`, `phash`, `quality_analysis`, `faces` and `responsive_breakpoints`.

    `path` is the uploaded file when the caller still has it (no download needed);
    `measured`, the fields `measure` already gave for it.
    """
    breakpoints = params.get("responsive_breakpoints")
    if asset.resource_type != "image" or not (_wanted(params) or breakpoints):
        return {}
    settings = _breakpoint_settings(breakpoints) if breakpoints else []
    async with contextlib.AsyncExitStack() as stack:
        source = path if path is not None else await stack.enter_async_context(services.local_file(asset.storage_key))
        fields = dict(measured) if measured is not None else await measure(source, asset.resource_type, asset.width, asset.height, params)
        try:
            if settings:
                fields["responsive_breakpoints"] = [await _breakpoints(services, origin, asset, source, item) for item in settings]
        except InvalidImage as error:
            # The file is stored already (e.g. a PDF libvips cannot read): answer without analysis.
            log.info("no analysis for %s: %s", asset.public_id, error.detail or error.message)
            return {}
    return fields


def _wanted(params: dict[str, str]) -> set[str]:
    return {name for name in ANALYSIS_OPTIONS if parse_bool(params.get(name), False)}


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


async def _breakpoints(services: Services, origin: str, asset: Asset, source: Path, settings: BreakpointSettings) -> dict[str, Any]:
    """One `responsive_breakpoints` item: widths chosen by size steps, largest first."""
    base = settings.transformation
    parse(base)  # a bad transformation is the caller's 400, before any work
    fmt = settings.format or asset.format
    limits = services.render_limits

    def text_for(width: int) -> str:
        return f"{base}/c_scale,w_{width}" if base else f"c_scale,w_{width}"

    def rendering(transformation: str) -> RenderRequest:
        # Named for the stored bytes: a PNG or WebP is decoded once for all the widths tried.
        return RenderRequest(source, parse(transformation), source_format=asset.format, requested_format=fmt, limits=limits, source_key=asset.storage_key)

    measured: dict[int, Rendered] = {}  # width → its rendering: measured once, then listed and stored

    def measure(width: int) -> int:
        measured[width] = render(rendering(text_for(width)))
        return len(measured[width].data)

    def plan() -> list[int]:
        width = asset.width or 1
        if base:
            width = render(rendering(base)).width or width
        widths = choose_breakpoints(settings, width, measure)
        for chosen in widths:  # choosing may not have needed every chosen width's size
            if chosen not in measured:
                measure(chosen)
        return widths

    # The largest rendering is at the source's width, after the base transformation.
    # An upload's asset is stored already: a render larger than the budget runs alone rather
    # than be refused after the commit.
    need = min(render_memory_bytes(source_header(asset), parse(text_for(asset.width or 1))), services.render_budget.total_bytes)
    async with services.render_budget.reserve(need):
        widths = await anyio.to_thread.run_sync(plan)
    listed = []
    for width in widths:
        transformation = text_for(width)
        rendered = measured[width]
        if settings.create_derived:  # the rendering just measured, not a second one
            variant = variant_key(parse(transformation), fmt, ClientHints())
            await store_derivative(
                services, asset, variant, rendered.data, fmt=rendered.format, width=rendered.width, height=rendered.height
            )
        url, secure_url = delivery_urls(origin, asset, transformation, fmt)
        listed.append({"width": rendered.width, "height": rendered.height, "bytes": len(rendered.data), "url": url, "secure_url": secure_url})
    item: dict[str, Any] = {"breakpoints": listed, "transformation": base}
    if settings.format:
        item["format"] = settings.format
    return item
