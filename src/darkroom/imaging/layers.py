"""Overlays and underlays: building a layer's pixels and placing it on the base.

Placement follows Cloudinary: gravity anchors the layer on the base (default centre),
x/y push it inward from that edge; `g_face` centres it on the base's largest face.
"""

from __future__ import annotations

import os
from html import escape

import pyvips

from darkroom.errors import Invalid
from darkroom.imaging import foreign
from darkroom.imaging.errors import MissingLayer, UnsupportedTransformation
from darkroom.imaging.faces import union
from darkroom.imaging.geometry import Box, Placement, place
from darkroom.transform import Layer, rgba


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    return image if image.hasalpha() else image.bandjoin(255).copy(interpretation="srgb")


def text_image(layer: Layer, color: str | None) -> pyvips.Image:
    """Render `l_text:` with Pango; the font size is in pixels (Pango points at 72 dpi)."""
    style = layer.style
    assert style is not None and layer.text is not None
    red, green, blue, alpha = rgba(color or "black")
    words = [style.font_family]
    if style.font_weight != "normal":
        words.append(style.font_weight.capitalize())
    if style.font_style == "italic":
        words.append("Italic")
    words.append(str(style.font_size))
    markup = escape(layer.text, quote=False)
    if style.text_decoration == "underline":
        markup = f"<u>{markup}</u>"
    elif style.text_decoration == "strikethrough":
        markup = f"<s>{markup}</s>"
    spacing = f' letter_spacing="{int(style.letter_spacing * 1024)}"' if style.letter_spacing else ""
    markup = f'<span foreground="#{red:02x}{green:02x}{blue:02x}" fgalpha="{max(1, alpha * 65535 // 255)}"{spacing}>{markup}</span>'
    options: dict[str, object] = {"font": " ".join(words), "rgba": True, "dpi": 72}
    if style.text_align in ("left", "center", "right", "start", "end"):
        options["align"] = {"left": "low", "start": "low", "center": "centre", "right": "high", "end": "high"}[style.text_align]
    if style.line_spacing is not None:
        options["spacing"] = int(style.line_spacing)
    try:
        image = pyvips.Image.text(markup, **options)
    except pyvips.Error as error:
        raise UnsupportedTransformation("Invalid text layer", detail=str(error)) from None
    return image.copy(interpretation="srgb")


def load_image_layer(layer: Layer, path: str | os.PathLike[str] | None) -> pyvips.Image:
    """A stored image's or a fetched URL's pixels (not decoded yet: callers check the size first)."""
    if layer.kind not in ("image", "fetch") or layer.resource_type != "image":
        raise UnsupportedTransformation(f"Layers of type {layer.resource_type} are not supported for images")
    missing = (
        f"Error in loading {layer.url}" if layer.kind == "fetch"
        else f"Unknown or invalid referenced image {layer.public_id} of type {layer.delivery_type}"
    )
    if path is None:
        raise MissingLayer(missing)
    try:
        # A BMP, ICO, JPEG XL or PDF layer is decoded by `foreign` (libvips here cannot).
        decoded = foreign.load_file(path, max_pixels=LAYER_MAX_PIXELS)
        image = decoded if decoded is not None else pyvips.Image.new_from_file(str(path)).autorot()
    except (pyvips.Error, Invalid) as error:
        raise MissingLayer(missing, detail=str(error)) from None
    return image


# A layer libvips cannot read is decoded whole (`foreign`): at most this many pixels, the
# default source limit of a render (`RenderLimits`).
LAYER_MAX_PIXELS = 100_000_000


# Layer effects that are really blend modes (`l_texture,e_multiply`), as libvips names them.
BLEND_MODES = {"multiply": "multiply", "screen": "screen", "overlay": "overlay", "mask": "dest-in", "cut_out": "dest-out"}


def composite(
    base: pyvips.Image, layer: pyvips.Image, where: Placement, *, underlay: bool, mode: str = "over", overflow: bool = False
) -> pyvips.Image:
    """Put `layer` on (or under) `base` at `where` with a blend `mode`. With `overflow` (no
    `fl_no_overflow`), a layer reaching past the base grows the canvas, transparently, as
    Cloudinary does; otherwise it is clipped. `dest-in`/`dest-out` (mask, cut_out) keep or
    cut the base where the layer is."""
    left, top = place((layer.width, layer.height), (base.width, base.height), where, clamp=False)
    opaque = not base.hasalpha()
    base_a, layer_a = with_alpha(base), with_alpha(layer)
    if overflow and not underlay and mode == "over":
        grow_left, grow_top = max(0, -left), max(0, -top)
        width = max(base.width + grow_left, left + grow_left + layer.width)
        height = max(base.height + grow_top, top + grow_top + layer.height)
        if (width, height) != (base.width, base.height):
            base_a = base_a.embed(grow_left, grow_top, width, height, extend="background", background=[0, 0, 0, 0])
            left, top, opaque = left + grow_left, top + grow_top, False
    if underlay:
        canvas = base_a.new_from_image([0, 0, 0, 0]).copy(interpretation="srgb")
        canvas = canvas.composite2(layer_a, "over", x=left, y=top)
        result = canvas.composite2(base_a, "over")
    else:
        result = base_a.composite2(layer_a, mode, x=left, y=top)
    result = result.cast("uchar")
    if opaque and not underlay and not mode.startswith("dest"):
        result = result.extract_band(0, n=3)
    return result


def face_placement(gravity: str, faces: list[Box]) -> Box | None:
    if not faces:
        return None
    return union(faces) if gravity.startswith("faces") else faces[0]
