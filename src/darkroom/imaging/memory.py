"""How much memory a render may take, known from the source's header before any pixel is decoded.

A 23 KB GIF of 1,000 frames of 300×300 decodes to 360 MB; a small SVG file can declare a
9,000 px canvas. The pixel limit (`RenderLimits`) bounds each source, but not what several
renders at once hold. `render_memory_bytes` turns a header (format, size, pages) and the
chain into an upper estimate of the bytes a render holds at its peak, so that the caller can
admit renders into a process-wide budget (`media.render_budget`) instead of finding out from
the kernel's OOM killer:

    frames decoded × width × height × 4 bytes (sRGB + alpha, 8 bits: `context.normalise`)
    × working copies (the decoded source, the result, the encoder's buffers)
    + a fixed allowance (loader and encoder state, libvips' per-thread buffers)

where the size is the one the loader produces: a vector source (SVG) at its density
(`dn_`, 72 dpi by default), a PDF page at its density (150 dpi by default), and, when the chain starts with a plain resize, the resized size,
because that resize runs through `thumbnail`, which shrinks while loading and streams
(`resize._first_resize`), every frame of an animation included. Sources decoded by Pillow
or PDFium (BMP, ICO, JPEG XL, PDF: `foreign`) are held whole, plus the decoder's copies. Pure arithmetic: nothing is
opened here.

Also here: the process's libvips cache limits (`configure_libvips`) and giving freed memory
back to the system after a large render (`release_freed_memory`), since glibc keeps the
arenas a 300 MB decode grew.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass

import pyvips

from darkroom.errors import Invalid
from darkroom.imaging.foreign import page_numbers
from darkroom.imaging.geometry import is_focus_gravity
from darkroom.transform import AUTO_GRAVITY_CROPS, Chain, Component, Pixels, Relative

__all__ = ["SourceHeader", "configure_libvips", "release_freed_memory", "render_memory_bytes"]

BYTES_PER_PIXEL = 4  # every step works on 8-bit sRGB with alpha at most (context.normalise)
WORKING_COPIES = 3  # a full-size render measured 2.3× its decoded RGBA size at peak (e_sepia, 81 MP PNG)
ANIMATION_WORKING_COPIES = 4  # frames are split, mapped and joined again; measured 3.7× (e_sepia, 1,000-frame GIF)
FIXED_BYTES = 32 * 1024 * 1024  # loader, encoder and libvips thread buffers of any render
VECTOR_DPI = 72  # librsvg's and poppler's default density: the probed size is at this density
ANIMATED_SOURCES = frozenset(("gif", "webp"))  # loaded with every frame (context.open_source)
VECTOR_SOURCES = frozenset(("svg",))  # rasterised at `dn_` (context.load_options_for)
# Decoded whole by Pillow or PDFium (`foreign`), never shrunk on load: while the pixels move
# into libvips, the decoder's picture and its RGB(A) conversion are held too.
FOREIGN_SOURCES = frozenset(("bmp", "ico", "jxl", "pdf"))
FOREIGN_DECODE_COPIES = 2
DOCUMENT_DPI = 150  # a PDF's probed size is its first page at this density (`foreign.DEFAULT_DENSITY`)
# Crop modes whose first step is one resize of the whole source (no window cut from it first).
SHRINKING_CROPS = frozenset((None, "scale", "fit", "limit", "mfit", "fill", "lfill", "pad", "lpad", "mpad", "fill_pad"))


@dataclass(frozen=True)
class SourceHeader:
    """What a render's source is, from its header (`probe`), without its pixels."""

    format: str  # Cloudinary's format name: "gif", "svg", "png" …
    width: int  # px, of one frame or page (at 72 dpi for vector formats)
    height: int
    pages: int = 1  # frames of an animation, pages of a document


def render_memory_bytes(header: SourceHeader, chain: Chain) -> int:
    """An upper estimate of the bytes a render of `chain` over this source holds at its peak."""
    frames = _frames_decoded(header, chain)
    density = _density(header, chain)
    width, height = header.width * density, header.height * density
    components = list(chain.components)
    # thumbnail streams the source through an opening resize: only its result is held.
    foreign = header.format.lower() in FOREIGN_SOURCES
    streamed = bool(components) and _plain_resize(components[0]) and not foreign
    peak = 0.0 if streamed else width * height
    chain_dpr = chain.standalone_dpr if isinstance(chain.standalone_dpr, (int, float)) else 1.0
    for component in components:
        width, height = _size_after(component, width, height, chain_dpr)
        peak = max(peak, width * height)
    copies = ANIMATION_WORKING_COPIES if frames > 1 else WORKING_COPIES
    decoding = frames * header.width * density * header.height * density * BYTES_PER_PIXEL * FOREIGN_DECODE_COPIES if foreign else 0.0
    return int(frames * peak * BYTES_PER_PIXEL * copies + decoding) + FIXED_BYTES


def _frames_decoded(header: SourceHeader, chain: Chain) -> int:
    """Animations decode every frame unless `pg_` picks one; documents decode the pages
    `pg_` names (`pg_2-4`: three), the first by default."""
    if header.format.lower() == "pdf":
        spec = next((component.page for component in chain.components if component.page is not None), "1")
        try:
            return len(page_numbers(spec, max(1, header.pages)))
        except Invalid:
            return 1  # the render refuses it before decoding anything
    if header.format.lower() not in ANIMATED_SOURCES:
        return 1
    if any(component.page is not None for component in chain.components):
        return 1
    return max(1, header.pages)


def _density(header: SourceHeader, chain: Chain) -> float:
    """How much larger than its probed size a vector source or a document is rasterised
    (`dn_300`: 300/72 for SVG, 300/150 for PDF)."""
    fmt = header.format.lower()
    if fmt not in VECTOR_SOURCES and fmt != "pdf":
        return 1.0
    density = next((component.density for component in chain.components if component.density is not None), None)
    if fmt == "pdf":
        return density / DOCUMENT_DPI if density else 1.0
    return max(1.0, density / VECTOR_DPI) if density else 1.0


def _plain_resize(component: Component) -> bool:
    """A resize of the whole source and nothing before it: the renderer does it while loading."""
    if component.crop not in SHRINKING_CROPS or (component.width is None and component.height is None):
        return False
    if component.condition is not None or component.variables or component.overlay or component.underlay:
        return False  # a condition may skip the resize; a layer's chain is not the source's
    if component.crop in AUTO_GRAVITY_CROPS and is_focus_gravity(component.gravity or "center"):
        return False  # finding the face or subject looks at the decoded source first
    sized = all(isinstance(size, (Pixels, Relative)) for size in (component.width, component.height) if size is not None)
    return sized and component.x is None and component.y is None and component.aspect_ratio is None


def _size_after(component: Component, width: float, height: float, chain_dpr: float) -> tuple[float, float]:
    """An upper bound of the size after `component`'s resize (the box, or one side and the
    aspect ratio), at its own `dpr_` or the chain's standalone one. Sizes known only while
    rendering (expressions, `w_auto`, `dpr_auto`) leave it as it was; the output pixel limit
    still bounds them."""
    dpr = float(component.dpr) if isinstance(component.dpr, (int, float)) else chain_dpr
    box_w, box_h = _length(component.width, width, dpr), _length(component.height, height, dpr)
    if box_w is not None and box_h is not None:
        return box_w, box_h
    if box_w is not None:
        return box_w, height * box_w / max(width, 1.0)
    if box_h is not None:
        return width * box_h / max(height, 1.0), box_h
    return width, height


def _length(size: object, reference: float, dpr: float) -> float | None:
    if isinstance(size, Pixels):
        return size.value * dpr
    if isinstance(size, Relative):
        return size.value * reference
    return None


# ---------------------------------------------------------------- the process's memory


def configure_libvips(cache_max_bytes: int, cache_max_operations: int = 100) -> None:
    """Bound libvips' operation cache. It keeps recent operations, a loader's decoded frames
    included, for repeats within a process; darkroom keeps its own caches of results, so a
    small one suffices, and an unbounded one keeps the last hostile GIF's 360 MB alive."""
    pyvips.cache_set_max_mem(cache_max_bytes)
    pyvips.cache_set_max(cache_max_operations)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "malloc_trim") else None  # glibc only (not musl, not macOS)


def release_freed_memory() -> None:
    """Return the heap pages freed by a large render to the system (glibc's `malloc_trim`):
    otherwise the arenas keep the render's peak as the process's resident size."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
