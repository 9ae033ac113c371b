"""New pictures made from text or from other pictures: the pixels behind the Upload API's
`text`, `sprite` and `multi` actions.

    picture = render_text("Hello", TextOptions(font_family="Arial", font_size=40))
    sheet, tiles = compose_sprite([("logo", logo), ("icon", icon)])
    gif = compose_animation([frame1, frame2], fmt="gif", delay_ms=500)
    pdf = compose_pdf([page1, page2])

Synchronous and CPU-bound (libvips releases the GIL): call from a worker thread. Inputs are
frames already in memory (`render_frame`: a source with a transformation applied); which
images, and with which transformation, is the business of `media.generation`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TypeAlias

import pyvips

from darkroom.imaging.errors import InvalidImage, TooManyPixels, UnsupportedTransformation
from darkroom.imaging.formats import EncodeOptions, encode
from darkroom.imaging.layers import text_image, with_alpha
from darkroom.imaging.context import RenderLimits, RenderRequest
from darkroom.imaging.pipeline import render_image
from darkroom.transform import Chain, Layer, TextStyle, rgba

__all__ = [
    "write_test_card",
    "ANIMATION_FORMATS",
    "Picture",
    "SpriteTile",
    "TextOptions",
    "compose_animation",
    "compose_pdf",
    "compose_sprite",
    "encode_picture",
    "in_memory",
    "render_frame",
    "render_text",
]

Frame: TypeAlias = pyvips.Image  # one decoded picture in memory, ready to compose

SPRITE_GAP = 2  # px of transparency between sprite tiles, so scaled tiles do not bleed
ANIMATION_FORMATS = frozenset(("gif", "webp"))


@dataclass(frozen=True)
class Picture:
    data: bytes
    format: str
    width: int
    height: int
    pages: int = 1


@dataclass(frozen=True)
class TextOptions:
    """The `text` action's style, colours already normalised by `transform.colors.parse_color`."""

    font_family: str = "Arial"
    font_size: int = 12  # px
    font_color: str = "black"
    font_weight: str = "normal"  # normal | bold
    font_style: str = "normal"  # normal | italic
    text_align: str | None = None  # left | center | right | justify | start | end
    background: str | None = None  # None: transparent
    opacity: int = 100  # 0..100, of the whole picture
    text_decoration: str = "none"  # none | underline | strikethrough


@dataclass(frozen=True)
class SpriteTile:
    """Where one image sits in a sprite sheet, in px."""

    name: str
    x: int
    y: int
    width: int
    height: int


def in_memory(image: pyvips.Image) -> pyvips.Image:
    """An input as every composer expects it: 8-bit sRGB with alpha, computed into memory
    (so it no longer reads from the file it came from)."""
    try:
        if image.interpretation != "srgb" or image.format != "uchar":
            image = image.colourspace("srgb").cast("uchar")
        return with_alpha(image).copy_memory()
    except pyvips.Error as error:
        raise InvalidImage("Image could not be processed", detail=str(error)) from None


def render_frame(source_path: str | os.PathLike[str], chain: Chain, *, source_format: str, limits: RenderLimits) -> Frame:
    """The first frame of `chain` applied to the file, in memory while the file is still there.

    Rendered as for a PNG rendition, so pads are transparent.
    """
    rendered = render_image(RenderRequest(source_path, chain, source_format=source_format, requested_format="png", limits=limits))
    return in_memory(rendered.first_frame())


def encode_picture(image: pyvips.Image, fmt: str, *, pages: int = 1) -> Picture:
    data = encode(image, EncodeOptions(format=fmt, quality=None))
    return Picture(data, fmt, image.width, image.height // pages, pages)


def render_text(text: str, options: TextOptions) -> Picture:
    """A PNG just large enough for the text, on its background (transparent by default)."""
    style = TextStyle(
        font_family=options.font_family,
        font_size=options.font_size,
        font_weight=options.font_weight,
        font_style=options.font_style,
        text_decoration=options.text_decoration,
        text_align=options.text_align,
    )
    image = with_alpha(text_image(Layer(kind="text", text=text, style=style), options.font_color))
    if options.background is not None:
        canvas = image.new_from_image(list(rgba(options.background))).copy(interpretation="srgb")
        image = canvas.composite2(image, "over").cast("uchar")
    if options.opacity < 100:
        alpha = (image.extract_band(3) * (options.opacity / 100)).cast("uchar")
        image = image.extract_band(0, n=3).bandjoin(alpha)
    return encode_picture(image.copy(interpretation="srgb"), "png")


def compose_sprite(images: list[tuple[str, pyvips.Image]], *, max_pixels: int) -> tuple[pyvips.Image, list[SpriteTile]]:
    """Stack images top to bottom, left-aligned, on transparency."""
    tiles: list[SpriteTile] = []
    y = 0
    for name, image in images:
        tiles.append(SpriteTile(name, 0, y, image.width, image.height))
        y += image.height + SPRITE_GAP
    width, height = max(t.width for t in tiles), y - SPRITE_GAP
    if width * height > max_pixels:
        raise TooManyPixels("The sprite would be too large to process", detail=f"{width}x{height}")
    sheet = pyvips.Image.black(width, height, bands=4).copy(interpretation="srgb")
    for tile, (_, image) in zip(tiles, images):
        sheet = sheet.insert(with_alpha(image), tile.x, tile.y)
    return sheet.cast("uchar"), tiles


def _fit(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Scale into width×height keeping the aspect ratio, centred on transparency."""
    image = with_alpha(image)
    if (image.width, image.height) == (width, height):
        return image
    scaled = image.thumbnail_image(width, height=height, size="both")
    left, top = (width - scaled.width) // 2, (height - scaled.height) // 2
    return scaled.embed(left, top, width, height, extend="background", background=[0, 0, 0, 0])


def compose_animation(frames: list[pyvips.Image], *, fmt: str, delay_ms: int, max_pixels: int) -> Picture:
    """An animated GIF or WebP, every frame fitted to the first one's size; loops forever."""
    if fmt not in ANIMATION_FORMATS:
        raise UnsupportedTransformation(f"Invalid format for an animation - {fmt}")
    width, height = frames[0].width, frames[0].height
    if width * height * len(frames) > max_pixels:
        raise TooManyPixels("The animation would be too large to process", detail=f"{len(frames)}x{width}x{height}")
    fitted = [_fit(frame, width, height).cast("uchar") for frame in frames]
    joined = pyvips.Image.arrayjoin(fitted, across=1).copy(interpretation="srgb")
    joined.set_type(pyvips.GValue.gint_type, "page-height", height)
    joined.set_type(pyvips.GValue.array_int_type, "delay", [delay_ms] * len(frames))
    joined.set_type(pyvips.GValue.gint_type, "loop", 0)
    return encode_picture(joined, fmt, pages=len(frames))


def compose_pdf(pages: list[pyvips.Image]) -> Picture:
    """A PDF with one JPEG page per image, 1 px = 1 pt. libvips cannot write PDF, and a
    document of DCT-encoded images is small enough to write by hand."""
    jpegs = []
    for page in pages:
        flat = page.flatten(background=[255, 255, 255]) if page.hasalpha() else page
        jpegs.append((bytes(flat.cast("uchar").jpegsave_buffer(Q=90)), flat.width, flat.height))
    return Picture(_pdf_document(jpegs), "pdf", pages[0].width, pages[0].height, len(pages))


def _pdf_document(jpegs: list[tuple[bytes, int, int]]) -> bytes:
    objects: list[bytes] = []  # object n is objects[n - 1]
    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(len(jpegs)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(jpegs)} >>".encode())
    for i, (data, width, height) in enumerate(jpegs):
        page, image, content = 3 + 3 * i, 4 + 3 * i, 5 + 3 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources << /XObject << /Im{i} {image} 0 R >> >> /Contents {content} 0 R >>".encode()
        )
        objects.append(
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB "
            f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"
        )
        drawing = f"q {width} 0 0 {height} 0 0 cm /Im{i} Do Q".encode()
        objects.append(f"<< /Length {len(drawing)} >>\nstream\n".encode() + drawing + b"\nendstream")
        assert page == len(objects) - 2
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def write_test_card(path: str | os.PathLike[str], width: int = 320, height: int = 240) -> None:
    """A small PNG with colour gradients and edges, standing in for an unknown source
    (checking transformations without the user's images: crops, gravity and effects get
    detail to work on)."""
    xyz = pyvips.Image.xyz(width, height)
    red = (xyz[0] * (255 / width)).cast("uchar")
    green = (xyz[1] * (255 / height)).cast("uchar")
    blue = ((xyz[0] + xyz[1]) % 64 * 4).cast("uchar")
    red.bandjoin([green, blue]).copy(interpretation="srgb").write_to_file(os.fspath(path))
