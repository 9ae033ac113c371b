"""Executing a `Chain` with libvips: the entry points, from a `RenderRequest` to pixels or bytes.

    render(RenderRequest(path, chain, …)) → load header, check limits → for each component,
    in the URL's order (`flow.run`: conditions, layer scopes): variables → auto-rotation →
    resize/crop → effects → radius → angle → border → background → opacity (`steps.STEPS`)
    (that much is `render_image`: pixels) → then choose the format and encode
    (`render` = `render_image` + encoding).

The chain arrives parsed: expressions as trees, `$variable` references bound by
`transform` as their values become known; nothing here reads URL text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pyvips

from darkroom.imaging import decoded, encoders, foreign, responsive
from darkroom.imaging.context import (
    ANIMATED_FORMATS,
    Rendered,
    RenderedImage,
    RenderRequest,
    RenderState,
    decode_whole,
    load_options_for,
    open_source,
    pixels,
)
from darkroom.imaging.errors import InvalidImage
from darkroom.imaging.flow import run
from darkroom.imaging.formats import EncodeOptions, choose_format, encode, encoder_quality
from darkroom.imaging.probe import content_type_for
from darkroom.imaging.effects.vector import svg_document, vectorize_effect_of, without_last_vectorize
from darkroom.transform import Chain, vectorize_options

# Targets that can hold transparency: padding there is transparent, elsewhere a colour.
_FORMATS_WITH_ALPHA = frozenset(("png", "webp", "avif", "gif")) | encoders.KEEPS_ALPHA


def _encode_options(chain: Chain, fmt: str, background: tuple[int, int, int] | None, save_data: bool) -> EncodeOptions:
    quality = next((c.quality for c in reversed(chain.components) if c.quality is not None), None)
    flags = {flag.name for component in chain.components for flag in component.flags if not component.has_flag("layer_apply")}
    keep = "none" if "strip_profile" in flags or "force_strip" in flags else "icc"
    if "keep_iptc" in flags or "keep_attribution" in flags:
        keep = "icc,iptc,exif,xmp" if keep == "icc" else "iptc,exif,xmp"
    return EncodeOptions(
        format=fmt,
        quality=encoder_quality(fmt, quality, save_data),
        progressive="progressive" in flags,
        lossy="lossy" in flags or "png8" in flags,
        keep=keep,
        background=background or (255, 255, 255),
        chroma=quality.modifier if quality and quality.modifier in ("444", "420") else None,
    )


def _has_transparency(image: pyvips.Image) -> bool:
    return bool(image.hasalpha() and image.extract_band(image.bands - 1).min() < 255)


def _decoded_source(state: RenderState, source_format: str, source_key: str) -> Callable[[], pyvips.Image] | None:
    memory = decoded.shared()
    if not memory.admits(source_format, state.width, state.height, state.pages):
        return None
    key = f"{source_key}[{state.load_options}]{'' if state.autorotate else ':no-rotate'}"
    return lambda: memory.get(key, lambda: decode_whole(state))


def _new_state(request: RenderRequest) -> RenderState:
    """Open the source (header only) and set up the per-request context."""
    chain, limits = request.chain, request.limits
    source_path = str(request.source_path)  # pyvips wants str; callers may hold a Path
    source_format = request.source_format.lower()
    autorotate = not any("ignore" in c.angle for c in chain.components)
    load_options = load_options_for(chain, source_format)
    source, width, height, pages = open_source(source_path, source_format, limits, autorotate, load_options)
    target = (chain.fetch_format or request.requested_format or source_format).lower()
    state = RenderState(
        path=source_path, limits=limits, source=source, image=None, width=width, height=height, pages=pages,
        initial_width=width, initial_height=height, autorotate=autorotate,
        transparent_pad=target in _FORMATS_WITH_ALPHA or (target.startswith("auto") and source_format == "png"),
        load_layer=request.load_layer, client_width=request.client_width, client_dpr=request.client_dpr,
        chain_dpr=chain.standalone_dpr,
        load_options=",".join(f"{key}={value}" for key, value in load_options.items() if key != "n"),
        tags=tuple(request.tags), context=dict(request.context or {}), metadata=dict(request.metadata or {}),
        deadline=None if limits.max_seconds is None else time.monotonic() + limits.max_seconds,
        regions=request.regions, model_effects=request.model_effects, find_objects=request.find_objects,
    )
    if request.source_key is not None:
        state.decoded = _decoded_source(state, source_format, request.source_key)
    if state.decoded is None and source_format in foreign.FOREIGN_SOURCES:
        # Already decoded by `open_source`: no step may read the file (libvips cannot).
        state.decoded = lambda: decode_whole(state)
    return state


def render_image(request: RenderRequest) -> RenderedImage:
    """Run the request's chain over its source and return the pixels, not yet encoded.

    For callers that combine rendered images (sprites, animations, PDFs) instead of
    delivering them: encoding and decoding again would only cost time. `accept` and
    `save_data` play no part; `requested_format` does, because padding is transparent for
    formats with alpha. Keep the source file until the image is in memory: the result may
    still read from it (`RenderedImage.image`).
    """
    state = _new_state(request)
    try:
        run(list(request.chain.components), state)
        # A sequential read without alpha can stream into the encoder; anything else is in memory.
        streaming = state.image is not None and state.sequential and not state.image.hasalpha()
        image = state.image if streaming else pixels(state)
    except pyvips.Error as error:
        raise InvalidImage("Image could not be processed", detail=str(error)) from None
    return RenderedImage(image=image, pages=state.pages, frame_height=state.height, delay=state.delay, background=state.background)


def _encodable(rendered: RenderedImage, fmt: str) -> pyvips.Image:
    """The frames `fmt` can hold: all of an animation (with its delays) or only the first."""
    if rendered.pages == 1:
        return rendered.image
    if fmt not in ANIMATED_FORMATS:
        return rendered.first_frame()
    if not rendered.delay:
        return rendered.image
    image = rendered.image.copy()
    image.set_type(pyvips.GValue.array_int_type, "delay", rendered.delay)
    return image


def render(request: RenderRequest) -> Rendered:
    """Render the request's chain over its source and encode it. Synchronous and CPU-bound:
    call it from a worker thread. User mistakes raise Invalid subclasses."""
    asked = responsive.breakpoint_request(request.chain)
    if asked is not None:  # `w_auto:breakpoints…:json`: the widths, not a picture
        return responsive.breakpoints_json(request, *asked, render)
    sized = responsive.breakpoint_request(request.chain, as_json=False)
    if sized is not None:  # `w_auto:breakpoints…`: the breakpoint that serves the client's width
        request = responsive.at_breakpoint(request, *sized, render)
    chain, requested_format, source_format = request.chain, request.requested_format, request.source_format
    target = (chain.fetch_format or requested_format or source_format).lower()
    traced = vectorize_effect_of(chain)
    # An SVG is traced once, from the final picture: the last e_vectorize's raster look
    # would only be traced again, so its pixels are not made.
    rendered = render_image(replace(request, chain=without_last_vectorize(chain)) if traced is not None and target == "svg" else request)
    try:
        # Only f_auto asks whether any pixel is transparent (a full pass over the image).
        has_alpha = _has_transparency(rendered.image) if target.startswith("auto") else rendered.image.hasalpha()
        choice = choose_format(
            chain.fetch_format, requested_format, source_format, request.accept,
            has_alpha=has_alpha, animated=rendered.pages > 1, vector=traced is not None,
        )
        image = _encodable(rendered, choice.format)
        if choice.format == "svg" and traced is not None:
            # The final picture traced with the last e_vectorize's options: steps after the
            # effect (a resize, a border) are in the drawing too.
            data = svg_document(rendered.first_frame(), vectorize_options(traced.args)).encode()
        else:
            data = encode(image, _encode_options(chain, choice.format, rendered.background, request.save_data))
    except pyvips.Error as error:
        raise InvalidImage("Image could not be processed", detail=str(error)) from None
    width, height = image.width, rendered.frame_height if choice.format in ANIMATED_FORMATS else image.height
    if choice.format == "ico":
        width, height = encoders.icon_size(data)  # an icon larger than 256 px was shrunk to fit
    return Rendered(
        data=data, format=choice.format, content_type=content_type_for(choice.format),
        width=width, height=height, vary_accept=choice.vary_accept,
    )
