"""JPEG and WebP encoding through Pillow's libjpeg-turbo and libwebp, for the common case.

libvips still makes every pixel; this module only does the last step, entropy coding, when
the image is a plain 8-bit single frame. The reason is speed: the encoders bundled in
Pillow's wheels are built faster than those bundled with libvips' wheels. On this project's
benchmark derivatives and on photos (`bench/encoders.py`), the same settings give byte-identical
WebP files and JPEG files of the same size (within 0.2 %), for 13–18 % less CPU (WebP) and
22–28 % less (JPEG). Anything else — 16-bit, CMYK or Lab pixels, animations, metadata beyond
an ICC profile, very large outputs — goes to libvips as before (`try_encode` returns None).

Both encoders release the GIL while they work (JPEG only when writing to a real file, hence
the memory-backed file below), so renders in other threads and the event loop keep going.

Second, Pillow writes the formats libvips has no saver for (`encode_with_pillow`): BMP, ICO,
JPEG 2000, JPEG XL (the `pillow-jxl-plugin` encoder), PDF and TGA. These always go through Pillow, whatever the pixels; they are first
made 8-bit sRGB (or grey), because none of these files carries an ICC profile here.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from typing import IO, Callable

import pyvips
from PIL import Image

# Larger outputs stay with libvips, which streams them to the encoder instead of holding the
# whole picture in memory twice (once as pixels, once inside the encoder).
MAX_PIXELS = 16_000_000

# libvips keeps full chroma from Q 90 up unless told otherwise; the same rule here keeps the
# two paths' files alike.
FULL_CHROMA_FROM_QUALITY = 90

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def try_encode(image: pyvips.Image, fmt: str, quality: int, *, progressive: bool, keep: str, chroma: str | None) -> bytes | None:
    """The encoded file, or None when libvips should encode this image instead."""
    if fmt not in ("jpg", "webp") or not _plain(image, keep):
        return None
    mode = _MODES.get(image.bands)
    if mode is None or (fmt == "jpg" and mode == "RGBA") or (fmt == "webp" and mode == "L"):
        return None
    picture = Image.frombuffer(mode, (image.width, image.height), image.write_to_memory(), "raw", mode, 0, 1)
    icc = _icc_profile(image) if "icc" in keep.split(",") else None
    if fmt == "webp":
        webp = io.BytesIO()
        picture.save(webp, "WEBP", quality=quality, method=2, **({"icc_profile": icc} if icc else {}))
        return webp.getvalue()
    full_chroma = chroma == "444" or quality >= FULL_CHROMA_FROM_QUALITY
    with _memory_file() as out:
        picture.save(
            out, "JPEG", quality=quality, optimize=True, progressive=progressive,
            subsampling=0 if full_chroma else 2, **({"icc_profile": icc} if icc else {}),
        )
        out.seek(0)
        return out.read()


def _plain(image: pyvips.Image, keep: str) -> bool:
    """8-bit sRGB or grey, one frame, no metadata to carry but an ICC profile, not huge."""
    if image.format != "uchar" or image.width * image.height > MAX_PIXELS:
        return False
    if image.interpretation not in ("srgb", "b-w"):
        return False
    if image.get_typeof("page-height") and image.get("page-height") < image.height:
        return False  # an animation: its frames are stacked
    return set(keep.split(",")) <= {"", "none", "icc"}


def _icc_profile(image: pyvips.Image) -> bytes | None:
    if not image.get_typeof("icc-profile-data"):
        return None
    return bytes(image.get("icc-profile-data"))


def _memory_file() -> IO[bytes]:
    """A file with a descriptor but no disk behind it: Pillow's JPEG encoder lets go of the
    GIL only when it writes to a real file."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("darkroom-jpeg", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


# ---------------------------------------------------------------- formats only Pillow writes

PILLOW_FORMATS = frozenset(("bmp", "ico", "jp2", "jxl", "pdf", "tga"))
KEEPS_ALPHA = frozenset(("bmp", "ico", "jp2", "jxl", "tga"))  # PDF pages are JPEG pictures: flattened
ICO_MAX_SIDE = 256  # an ICO directory entry stores each side in one byte (0 meaning 256)
JP2_LOSSLESS_FROM = 100
PDF_DPI = 72.0  # one pixel per point: the page is as large, in points, as the image in pixels


def encode_with_pillow(image: pyvips.Image, fmt: str, *, quality: int | None, background: tuple[int, int, int]) -> bytes:
    """`image` as a BMP, ICO, JP2, PDF or TGA file.

    An animation (frames stacked, "page-height") becomes one PDF page per frame; the other
    formats hold one picture, so they get the first frame. Formats without alpha are
    flattened against `background`. `quality` is the JPEG quality of PDF pages and the
    JPEG 2000 target PSNR in dB (as libvips' jp2ksave reads Q; 100 means lossless).
    """
    frames = _frames(image) if fmt == "pdf" else _frames(image)[:1]
    pictures = [_to_pillow(_ready(frame, fmt, background)) for frame in frames]
    out = io.BytesIO()
    _SAVERS[fmt](pictures, out, quality)
    return out.getvalue()


def _frames(image: pyvips.Image) -> list[pyvips.Image]:
    height = image.get("page-height") if image.get_typeof("page-height") else image.height
    if height <= 0 or height >= image.height or image.height % height:
        return [image]
    return [image.crop(0, top, image.width, height) for top in range(0, image.height, height)]


def _ready(image: pyvips.Image, fmt: str, background: tuple[int, int, int]) -> pyvips.Image:
    """8-bit sRGB or grey pixels in a band layout `fmt` takes: 1, 3 or 4 bands."""
    image = _in_srgb(image)
    if image.hasalpha() and fmt not in KEEPS_ALPHA:
        image = image.flatten(background=list(background))
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands > 4:  # extra bands have no meaning in these formats
        image = image.extract_band(0, n=4 if image.hasalpha() else 3)
    if image.bands == 2:  # grey + alpha: BMP has no such layout, so every format gets RGBA
        image = _grey_as_rgb(image[0]).bandjoin(image[1])
    return _as_icon(image) if fmt == "ico" else image


def _in_srgb(image: pyvips.Image) -> pyvips.Image:
    """Pixels as sRGB (or grey): the profile goes into the pixels, since these files drop it."""
    if image.get_typeof("icc-profile-data"):
        try:
            return image.icc_transform("srgb", embedded=True)
        except pyvips.Error:
            pass  # a profile libvips cannot use: convert by the interpretation alone, below
    if image.interpretation == "grey16":
        return image.colourspace("b-w")
    if image.interpretation in ("cmyk", "lab", "labq", "labs", "lch", "cmc", "xyz", "yxy", "scrgb", "hsv", "rgb16"):
        return image.colourspace("srgb")
    return image


def _grey_as_rgb(grey: pyvips.Image) -> pyvips.Image:
    return grey.bandjoin([grey, grey]).copy(interpretation="srgb")


def _as_icon(image: pyvips.Image) -> pyvips.Image:
    """RGBA, at most 256 px a side with the aspect kept: PNG icons are 32-bit RGBA, as
    Windows expects, and larger sides do not fit an ICO directory entry."""
    if max(image.width, image.height) > ICO_MAX_SIDE:
        image = image.thumbnail_image(ICO_MAX_SIDE, height=ICO_MAX_SIDE, size="down")
    if image.bands == 1:
        image = _grey_as_rgb(image)
    return image if image.bands == 4 else image.bandjoin(255)


def _to_pillow(image: pyvips.Image) -> Image.Image:
    mode = _MODES[image.bands]
    return Image.frombuffer(mode, (image.width, image.height), image.write_to_memory(), "raw", mode, 0, 1)


def _save_bmp(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    picture = pictures[0]
    if picture.mode == "RGBA":
        out.write(_bmp_with_alpha(picture))
    else:
        picture.save(out, "BMP")


def _bmp_with_alpha(picture: Image.Image) -> bytes:
    """A 32-bit BMP whose header declares the alpha mask (BITMAPV4HEADER).

    Pillow writes RGBA as 32-bit BI_RGB, where the fourth byte is undeclared: readers
    (Pillow itself among them) take it as padding and show the image opaque.
    """
    pixels = picture.tobytes("raw", "BGRA", 0, -1)  # bottom-up rows, as BMP stores them
    info = struct.pack(
        "<IiiHHIIiiII4II36x3I",
        108, picture.width, picture.height, 1, 32,
        3,  # BI_BITFIELDS: the masks below say where each channel is
        len(pixels), 2835, 2835, 0, 0,  # 2835 pixels per metre is 72 dpi
        0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000,
        0x73524742,  # LCS_sRGB ("sRGB"): no endpoints or gamma follow
        0, 0, 0,
    )
    offset = 14 + len(info)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pixels


def _save_ico(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    # One entry, the image's own size: Pillow's default sizes are squares that skip it.
    pictures[0].save(out, "ICO", sizes=[pictures[0].size])


def icon_size(data: bytes) -> tuple[int, int]:
    """Width and height of an ICO file's first entry (a byte each, 0 meaning 256)."""
    width, height = data[6], data[7]
    return width or ICO_MAX_SIDE, height or ICO_MAX_SIDE


def _save_jp2(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    lossy = quality is not None and quality < JP2_LOSSLESS_FROM
    settings = {"quality_mode": "dB", "quality_layers": [quality], "irreversible": True} if lossy else {}
    pictures[0].save(out, "JPEG2000", **settings)  # no file name: Pillow writes the .jp2 container


def _save_jxl(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    import pillow_jxl  # noqa: F401  (registers its JPEG XL encoder with Pillow)

    quality = quality or 80
    pictures[0].save(out, "JXL", quality=quality, lossless=quality >= 100, effort=4)


def _save_pdf(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    first, *rest = pictures
    first.save(out, "PDF", save_all=True, append_images=rest, resolution=PDF_DPI, quality=quality or 80)


def _save_tga(pictures: list[Image.Image], out: IO[bytes], quality: int | None) -> None:
    pictures[0].save(out, "TGA")  # uncompressed: every TGA reader takes it


_SAVERS: dict[str, Callable[[list[Image.Image], IO[bytes], int | None], None]] = {
    "bmp": _save_bmp,
    "ico": _save_ico,
    "jp2": _save_jp2,
    "jxl": _save_jxl,
    "pdf": _save_pdf,
    "tga": _save_tga,
}
