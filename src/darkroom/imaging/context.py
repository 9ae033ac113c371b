"""The per-request render context: the request, the source, the current image, its frames.

`RenderRequest` is what a caller asks for (one frozen value); `RenderState` is what every
step (`steps.py`, `resize.py`, `flow.py`) reads and updates. The source stays
unopened-for-pixels until a step needs them (`pixels`), so the first resize can shrink on
load; animations are a strip of frames that `each_frame` maps over one at a time.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyvips

from darkroom.errors import Invalid
from darkroom.imaging import foreign
from darkroom.imaging.errors import InvalidImage, TooManyPixels, UnsupportedTransformation
from darkroom.imaging.expressions import evaluate_number
from darkroom.imaging.faces import detect_faces
from darkroom.imaging.regions import Regions
from darkroom.transform import AutoSize, Chain, Component, Expression, Pixels, Relative

LayerLoader = Callable[[str], "str | os.PathLike[str] | None"]
ANIMATED_SOURCES = frozenset(("gif", "webp"))
ANIMATED_FORMATS = frozenset(("gif", "webp", "pdf"))  # outputs that keep every frame (a PDF as pages)


@dataclass(frozen=True)
class RenderLimits:
    """Refuse work before it starts: pixels of the source (decompression bombs) and output."""

    max_source_pixels: int = 100_000_000
    max_output_pixels: int = 40_000_000
    max_seconds: float | None = None  # wall-clock budget, checked between steps


@dataclass(frozen=True)
class RenderRequest:
    """One rendering: the source, the chain, and what the client and the asset tell about it.

        render(RenderRequest(path, parse("c_fill,w_300,h_200"), source_format="jpg", accept=accept))
    """

    source_path: str | os.PathLike[str]  # kept until the result is in memory (it may still read from it)
    chain: Chain
    source_format: str = "jpg"
    requested_format: str | None = None  # the URL's extension; padding is transparent for formats with alpha
    accept: str | None = None  # the Accept header, for f_auto
    limits: RenderLimits = RenderLimits()
    load_layer: LayerLoader | None = None  # an overlay's loader key (`Layer.loader_key`) → its file
    # Client hints: `w_auto`, `dpr_auto`, `q_auto` under Save-Data.
    client_width: int | None = None
    client_dpr: float | None = None
    save_data: bool = False
    # The asset's, for conditions (`if_!sale!_in_tags`) and values (`ctx:!key!`, `md:!key!`).
    tags: Sequence[str] = ()
    context: Mapping[str, str] | None = None
    metadata: Mapping[str, str] | None = None
    # Names these exact source bytes (one version of one asset): with it, formats that cannot
    # shrink on load are decoded once and kept in the memory of decoded sources (`decoded.py`).
    source_key: str | None = None
    # The add-ons' areas (stored faces, custom coordinates, OCR text) and model-backed effects
    # (`e_background_removal`, `e_upscale`: name → RGB array → RGB(A) array), given by the caller.
    regions: Regions = Regions()
    model_effects: Mapping[str, Callable[[Any], Any]] | None = None
    # `g_<object>`: RGB array → [(label, confidence, (x, y, w, h))]; None: no detector configured.
    find_objects: Callable[[Any], list[tuple[str, float, tuple[int, int, int, int]]]] | None = None


@dataclass(frozen=True)
class Rendered:
    data: bytes
    format: str  # "jpg", "png", "webp", "avif", "gif"
    content_type: str
    width: int
    height: int  # of one frame for animations
    vary_accept: bool  # True when f_auto chose the format from Accept


@dataclass(frozen=True)
class RenderedImage:
    """A rendered chain before encoding: what `pipeline.render_image` returns."""

    image: pyvips.Image  # every frame stacked top to bottom; may still read from the source file
    pages: int  # animation frames
    frame_height: int  # px, of one frame
    delay: list[int] | None  # ms per frame, from `dl_`; None keeps the source's
    background: tuple[int, int, int] | None  # last `b_` colour: formats without alpha flatten onto it

    def first_frame(self) -> pyvips.Image:
        return self.image if self.pages == 1 else self.image.crop(0, 0, self.image.width, self.frame_height)


@dataclass
class RenderState:
    """The per-request context every step reads and updates."""

    path: str
    limits: RenderLimits
    source: pyvips.Image  # the opened (not yet decoded) source
    image: pyvips.Image | None  # None while the source is untouched (so it can shrink on load)
    width: int  # current width, px
    height: int  # current height of one frame, px
    pages: int  # animation frames
    initial_width: int
    initial_height: int
    autorotate: bool
    transparent_pad: bool  # pad with transparency (PNG-like targets) instead of white
    load_layer: LayerLoader | None
    client_width: int | None
    client_dpr: float | None
    chain_dpr: float | str | None  # a dpr given in a component of its own scales every size ("auto": the client's)
    load_options: str = ""  # loader option string (page, dpi) for shrink-on-load
    sequential: bool = False  # `image` streams from a sequential read: one pass only
    tags: tuple[str, ...] = ()  # the asset's tags, for `if_!sale!_in_tags`
    context: dict[str, str] = field(default_factory=dict)  # its context, for `ctx:!key!`
    metadata: dict[str, str] = field(default_factory=dict)  # its structured metadata, for `md:!key!`
    variables: dict[str, Any] = field(default_factory=dict)
    background: tuple[int, int, int] | None = None  # last b_ colour, used when flattening for JPEG
    delay: list[int] | None = None
    deadline: float | None = None  # time.monotonic() after which the next step refuses to start
    # The whole source decoded (autorotated, normalised) from the per-process memory of
    # decoded sources, when the format cannot shrink on load; None decodes from the file.
    decoded: Callable[[], pyvips.Image] | None = None
    regions: Regions = field(default_factory=Regions)  # the request's, in original pixels (regions.py)
    model_effects: Mapping[str, Callable[[Any], Any]] | None = None
    find_objects: Callable[[Any], list[tuple[str, float, tuple[int, int, int, int]]]] | None = None


# ---------------------------------------------------------------- loading and frames


def normalise(image: pyvips.Image) -> pyvips.Image:
    """sRGB, 8 bits, 3 bands (+ alpha): the one shape every step expects."""
    if image.interpretation != "srgb" or image.bands not in (3, 4):
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands == 2:
        image = image.colourspace("srgb")
    return image


MULTI_PAGE_SOURCES = frozenset(("gif", "webp", "tiff", "heic", "avif"))


def load_options_for(chain: Chain, source_format: str) -> dict[str, Any]:
    """Loader options from `pg_` (one page or frame, 1-based) and `dn_` (vector density)."""
    options: dict[str, Any] = {}
    page = next((c.page for c in chain.components if c.page is not None), None)
    density = next((c.density for c in chain.components if c.density is not None), None)
    if page is not None and source_format in foreign.DOCUMENT_SOURCES:
        options["pages"] = page  # one page, a list or ranges (`pg_3;5-7`): checked against the document
    elif page is not None and source_format in MULTI_PAGE_SOURCES:
        if not page.isdigit() or int(page) < 1:
            raise UnsupportedTransformation(f"Invalid page parameter - {page}")
        options.update(page=int(page) - 1, n=1)
    if density is not None and source_format in ("svg", *foreign.DOCUMENT_SOURCES):
        options["dpi"] = density
    return options


def open_source(
    path: str, source_format: str, limits: RenderLimits, autorotate: bool, options: dict[str, Any]
) -> tuple[pyvips.Image, int, int, int]:
    if source_format in ANIMATED_SOURCES and "n" not in options:
        options = {**options, "n": -1}
    if source_format in foreign.DOCUMENT_SOURCES:
        # The pages asked for, stacked like an animation's frames (a PDF output keeps them all).
        pages_image, page_height, count = foreign.load_pages(
            path, options.get("pages", "1"), max_pixels=limits.max_source_pixels, density=options.get("dpi")
        )
        return pages_image, pages_image.width, page_height, count
    if source_format in foreign.FOREIGN_SOURCES:
        # Decoded whole, now (the limit is checked from the header first): the steps find
        # these pixels through `RenderState.decoded`, never by reading the file themselves.
        header = foreign.load(path, source_format, max_pixels=limits.max_source_pixels)
        return header, header.width, header.height, 1
    try:
        header = pyvips.Image.new_from_file(path, **options)
    except pyvips.Error as error:
        raise InvalidImage("Invalid image file", detail=str(error)) from None
    pages = header.get("n-pages") if header.get_typeof("n-pages") else 1
    page_height = header.get("page-height") if header.get_typeof("page-height") and pages > 1 else header.height
    if pages * page_height != header.height:
        pages, page_height = 1, header.height
    width, height = header.width, page_height
    if header.width * header.height > limits.max_source_pixels:
        raise TooManyPixels("Image is too large to process", detail=f"{header.width}x{header.height}")
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    if autorotate and pages == 1 and orientation in (5, 6, 7, 8):
        width, height = height, width
    return header, width, height, pages


def with_options(state: RenderState, *, all_frames: bool = False) -> str:
    """The source path with loader options, as libvips' `thumbnail` takes them (`x.gif[page=1]`);
    `all_frames` adds `n=-1` (every frame of an animation)."""
    options = ",".join(option for option in (state.load_options, "n=-1" if all_frames else "") if option)
    return f"{state.path}[{options}]" if options else state.path


def pixels(state: RenderState) -> pyvips.Image:
    """Decode the source now (if still pristine) and return the current image."""
    if state.image is None and state.decoded is not None:
        state.image = state.decoded()
    elif state.image is None:
        state.image = decode_whole(state)
    elif state.sequential:
        state.image, state.sequential = state.image.copy_memory(), False
    return state.image


def decode_whole(state: RenderState) -> pyvips.Image:
    """The source's pixels as every step expects them: upright (unless `a_ignore`), normalised."""
    source = state.source.autorot() if state.autorotate and state.pages == 1 else state.source
    return normalise(source)


def split_frames(image: pyvips.Image, pages: int, height: int) -> list[pyvips.Image]:
    if pages == 1:
        return [image]
    return [image.crop(0, i * height, image.width, height) for i in range(pages)]


def join_frames(frames: list[pyvips.Image]) -> pyvips.Image:
    if len(frames) == 1:
        return frames[0]
    joined = pyvips.Image.arrayjoin(frames, across=1).copy()
    joined.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    return joined


def each_frame(state: RenderState, fn: Callable[[pyvips.Image], pyvips.Image]) -> None:
    frames = [fn(frame) for frame in split_frames(pixels(state), state.pages, state.height)]
    state.image = join_frames(frames)
    state.width, state.height = frames[0].width, frames[0].height


def first_frame(state: RenderState) -> pyvips.Image:
    return split_frames(pixels(state), state.pages, state.height)[0]


# ---------------------------------------------------------------- numbers


def environment(state: RenderState) -> dict[str, Any]:
    env: dict[str, Any] = {
        "w": float(state.width), "h": float(state.height), "ar": state.width / state.height,
        "iw": float(state.initial_width), "ih": float(state.initial_height),
        "iar": state.initial_width / state.initial_height, "tar": state.width / state.height,
        "pc": float(state.pages), "cp": 1.0, "du": 0.0, "idu": 0.0, "px": 0.0, "py": 0.0,
        "tags": list(state.tags), "ctx": dict(state.context), "md": dict(state.metadata), "ils": 0.0,
        # Counted at most once per evaluation, however often the expression says `fc`.
        "fc": functools.cache(lambda: float(len(detect_faces(first_frame(state))))),
    }
    env.update(state.variables)
    return env


def length(value: Any, reference: int, state: RenderState, scale: float = 1.0) -> int | None:
    """Pixels for a w/h/x/y value: absolute × dpr, a fraction of `reference`, or an expression."""
    if value is None:
        return None
    if isinstance(value, Pixels):
        return round(value.value * scale)
    if isinstance(value, Relative):
        return round(value.value * reference)
    if isinstance(value, Expression):
        return round(evaluate_number(value.parsed, environment(state)) * scale)
    if isinstance(value, AutoSize):
        if state.client_width is None:
            return None
        step = int(value.args[0]) if value.args and value.args[0].isdigit() else 1
        return max(1, -(-state.client_width // step) * step)
    raise AssertionError(value)


def dpr_of(component: Component, state: RenderState) -> float:
    dpr = component.dpr if component.dpr is not None else state.chain_dpr
    if dpr == "auto":
        return state.client_dpr or 1.0
    return float(dpr) if dpr is not None else 1.0


def positive(value: int | None, name: str) -> int | None:
    if value is not None and value <= 0:
        raise Invalid(f"Invalid {name} parameter - {value}")
    return value
