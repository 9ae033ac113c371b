"""`e_vectorize`: trace the picture into filled vector shapes (vtracer), as an SVG document
when the output format is SVG, or rasterised again for the look in any other format.

    e_vectorize[:colors 2-30, 10][:detail 0-1 or px, 0.3][:despeckle 0-1 or px, 0.1]
               [:paths 0-100, 100][:corners 0-100, 25]
    e_vectorize:colors:3:detail:0.5       (the same options by name)

The picture is reduced to `colors` colours and traced at `detail` of its size (a fraction,
or a width in pixels above 1); blobs smaller than `despeckle` are dropped; `paths` below 50
trace straight polygons instead of curves; `corners` is how sharp an angle stays a corner.

The SVG is written here from the traced paths, never passed through: only `<svg>`, one
`<g>` and `<path>` elements with a checked path outline, a fill colour and an offset —
no scripts, no links, no text, whatever the tracer emitted.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pyvips
from PIL import Image

from darkroom.imaging.effects.base import EffectContext, join_alpha, split_alpha
from darkroom.imaging.errors import InvalidImage, UnsupportedTransformation
from darkroom.transform import Chain, Effect, vectorize_options

__all__ = ["svg_document", "vectorize", "vectorize_effect_of", "without_last_vectorize"]

MAX_TRACE_SIDE = 1000  # px: tracing cost grows with area (1000 px, 30 colours: ~5 s); Cloudinary's detail tops out at 1000 px too
MIN_TRACE_SIDE = 16

_PATH = re.compile(r'<path d="([^"]*)" fill="(#[0-9A-Fa-f]{6})" transform="translate\((-?[\d.]+),(-?[\d.]+)\)"\s*/>')
_OUTLINE = re.compile(r"[MLCQZmlcqz0-9.\s,\-]*")


def vectorize(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """The traced picture, rasterised at the picture's size (alpha kept as it was)."""
    rgb, alpha = split_alpha(image)
    svg = svg_document(rgb, _options(effect))
    traced = pyvips.Image.svgload_buffer(svg.encode())
    traced = traced.flatten(background=[255, 255, 255]) if traced.hasalpha() else traced
    if (traced.width, traced.height) != (rgb.width, rgb.height):
        traced = traced.thumbnail_image(rgb.width, height=rgb.height, size="force")
    return join_alpha(traced.cast("uchar"), alpha)


def vectorize_effect_of(chain: Chain) -> Effect | None:
    """The chain's last `e_vectorize`: its options trace the final picture into SVG."""
    found = None
    for component in chain.components:
        for effect in component.effects:
            if effect.name == "vectorize":
                found = effect
    return found


def without_last_vectorize(chain: Chain) -> Chain:
    """The chain with its last `e_vectorize` left out (an SVG output traces the final picture)."""
    for index in range(len(chain.components) - 1, -1, -1):
        component = chain.components[index]
        effects = list(component.effects)
        for position in range(len(effects) - 1, -1, -1):
            if effects[position].name == "vectorize":
                del effects[position]
                changed = replace(component, effects=tuple(effects))
                return Chain(chain.components[:index] + (changed,) + chain.components[index + 1 :])
    return chain


def _options(effect: Effect) -> dict[str, float]:
    try:
        return vectorize_options(effect.args)
    except ValueError:
        raise UnsupportedTransformation(f"Invalid effect parameter - vectorize:{':'.join(effect.args)}") from None


def svg_document(image: pyvips.Image, options: dict[str, float]) -> str:
    """A safe SVG of `image` (sRGB; alpha is flattened onto white) traced with `options`."""
    import vtracer

    rgb = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
    rgb = rgb.cast("uchar")
    side = max(rgb.width, rgb.height)
    detail = options["detail"]
    trace_side = detail * side if detail <= 1 else detail
    trace_side = int(max(MIN_TRACE_SIDE, min(MAX_TRACE_SIDE, side, trace_side)))
    scale = trace_side / side
    small = rgb.resize(scale) if scale < 1 else rgb
    picture = Image.frombuffer("RGB", (small.width, small.height), small.write_to_memory(), "raw", "RGB", 0, 1)
    reduced = picture.quantize(colors=int(options["colors"]), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")
    png = io.BytesIO()
    reduced.save(png, "PNG", compress_level=1)
    despeckle = options["despeckle"]
    speckle = despeckle * trace_side / 10 if despeckle <= 1 else despeckle * scale
    traced = vtracer.convert_raw_image_to_svg(
        png.getvalue(),
        img_format="png",
        colormode="color",
        hierarchical="stacked",
        mode="polygon" if options["paths"] < 50 else "spline",
        filter_speckle=max(1, min(128, round(speckle))),
        color_precision=8,
        layer_difference=1,  # the palette is already reduced: keep every colour it has
        corner_threshold=round(20 + options["corners"] * 1.6),
        length_threshold=4.0,
        max_iterations=10,
        splice_threshold=45,
        path_precision=2,
    )
    palette = [(int(c[0]), int(c[1]), int(c[2])) for _, c in reduced.getcolors(maxcolors=256) or [] if isinstance(c, tuple)]
    return _write_svg(traced, rgb.width, rgb.height, small.width / rgb.width, palette)


def _nearest(fill: str, palette: list[tuple[int, int, int]]) -> str:
    """The palette colour nearest to a traced shape's fill: the tracer averages the pixels of
    each shape, edges included, so its fills drift off the `colors` the picture was reduced to."""
    red, green, blue = int(fill[1:3], 16), int(fill[3:5], 16), int(fill[5:7], 16)
    if not palette:
        return fill.upper()
    r, g, b = min(palette, key=lambda c: (c[0] - red) ** 2 + (c[1] - green) ** 2 + (c[2] - blue) ** 2)
    return f"#{r:02X}{g:02X}{b:02X}"


def _write_svg(traced: str, width: int, height: int, scale: float, palette: list[tuple[int, int, int]]) -> str:
    paths = []
    for outline, fill, dx, dy in _PATH.findall(traced):
        if not _OUTLINE.fullmatch(outline):
            raise InvalidImage("Image could not be vectorized", detail="unexpected path data from the tracer")
        colour = _nearest(fill, palette)
        paths.append(f'<path d="{outline.strip()}" fill="{colour}" transform="translate({float(dx):g},{float(dy):g})"/>')
    body = "\n".join(paths)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n<g transform="scale({1 / scale:.6g})">\n{body}\n</g>\n</svg>\n'
    )
