"""Choosing the output format and encoder settings (pure), and encoding (pyvips).

Precedence, as Cloudinary: an `f_` in the chain beats the URL's extension, which beats
the stored format. `f_auto` reads the Accept header: AVIF, else WebP, else PNG for images
with transparency and JPEG for the rest; animated images become animated WebP or GIF.
BMP, ICO, JPEG 2000, JPEG XL, PDF and TGA are delivered when asked for by name, never by `f_auto`;
libvips has no saver for them, so Pillow writes them (`encoders.encode_with_pillow`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from darkroom.imaging import encoders
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import Quality

OUTPUT_FORMATS = frozenset(("jpg", "png", "webp", "avif", "gif", "tiff")) | encoders.PILLOW_FORMATS
_ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff", "heif": "avif", "heic": "avif"}

# q_auto targets mapped to encoder quality per format: lower targets shrink files.
AUTO_QUALITY: dict[str, dict[str, int]] = {
    "jpg": {"best": 90, "good": 80, "eco": 68, "low": 55},
    "webp": {"best": 88, "good": 78, "eco": 65, "low": 50},
    "avif": {"best": 70, "good": 55, "eco": 45, "low": 35},
    "jxl": {"best": 90, "good": 80, "eco": 70, "low": 60},
}
DEFAULT_QUALITY = {"jpg": 80, "webp": 80, "avif": 55, "jxl": 80}
# PDF pages are JPEG pictures, so they take JPEG's qualities.
_QUALITY_AS = {"pdf": "jpg"}
# libvips' jp2ksave reads Q as the target PSNR in dB; its default, 48, gives files about the
# size of a JPEG at Q 75. q_100 is lossless. q_auto has no mapping of its own: the default.
JP2_DEFAULT_QUALITY = 48


@dataclass(frozen=True)
class FormatChoice:
    format: str
    vary_accept: bool  # True when the Accept header decided


def _accepts(accept: str | None, mime: str) -> bool:
    """Whether the Accept header names `mime` explicitly with q > 0 (wildcards don't count:
    browsers send `*/*` without meaning they decode AVIF)."""
    for item in (accept or "").split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        if kind.lower() != mime:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(q) > 0:
                return True
        except ValueError:
            continue
    return False


def choose_format(
    fetch_format: str | None,
    requested_format: str | None,
    source_format: str,
    accept: str | None,
    *,
    has_alpha: bool,
    animated: bool,
    vector: bool = False,
) -> FormatChoice:
    """Decide the output format for one request. SVG is an output only of a traced picture
    (`vector`: the chain has `e_vectorize`)."""
    wanted = fetch_format or requested_format or source_format
    wanted = _ALIASES.get(wanted.lower(), wanted.lower())
    if wanted.startswith("auto"):
        if animated:
            return FormatChoice("webp" if _accepts(accept, "image/webp") else "gif", True)
        if _accepts(accept, "image/avif"):
            return FormatChoice("avif", True)
        if _accepts(accept, "image/webp"):
            return FormatChoice("webp", True)
        return FormatChoice("png" if has_alpha else "jpg", True)
    if wanted == "svg" and vector:
        return FormatChoice("svg", False)
    if wanted not in OUTPUT_FORMATS:
        raise UnsupportedTransformation(f"Invalid extension or format - {wanted}")
    return FormatChoice(wanted, False)


def encoder_quality(fmt: str, quality: Quality | None, save_data: bool = False) -> int | None:
    """The encoder's Q for `fmt`; None for formats without a quality knob."""
    if fmt == "jp2":
        return quality.level if quality is not None and quality.level is not None else JP2_DEFAULT_QUALITY
    fmt = _QUALITY_AS.get(fmt, fmt)
    table = AUTO_QUALITY.get(fmt)
    if table is None:
        return None
    if quality is None or quality.jpegmini:
        return table["eco"] if save_data else DEFAULT_QUALITY[fmt] if quality is None else table["good"]
    if quality.auto is not None:
        return table["eco" if save_data and quality.auto == "good" else quality.auto]
    return quality.level


@dataclass(frozen=True)
class EncodeOptions:
    format: str
    quality: int | None
    progressive: bool = False
    lossy: bool = False  # png: quantise to a palette; gif: allow dithering loss
    keep: str = "icc"  # metadata kept: "none", "icc", "icc,iptc" …
    background: tuple[int, int, int] = (255, 255, 255)  # flatten colour for formats without alpha
    chroma: str | None = None  # "444" keeps full chroma in JPEG


def _keep(keep: str) -> str:
    return "|".join(keep.split(",")) if keep else "none"


def encode(image: pyvips.Image, options: EncodeOptions) -> bytes:
    """Encode with libvips, or Pillow for plain JPEG and WebP and for the formats libvips
    cannot write (`encoders.py`); animated images keep their frames where the format allows."""
    fmt = options.format
    if fmt in encoders.PILLOW_FORMATS:
        return encoders.encode_with_pillow(image, fmt, quality=options.quality, background=options.background)
    if fmt == "jpg":  # JPEG has no alpha and 8 bits: both encoders take it so
        image = image.flatten(background=list(options.background)) if image.hasalpha() else image
        image = image if image.format == "uchar" else image.cast("uchar")
    if fmt in ("jpg", "webp"):
        quality = options.quality or DEFAULT_QUALITY[fmt]
        data = encoders.try_encode(image, fmt, quality, progressive=options.progressive, keep=options.keep, chroma=options.chroma)
        if data is not None:
            return data
    return _save_with_libvips(image, options)


def _save_with_libvips(image: pyvips.Image, options: EncodeOptions) -> bytes:
    fmt, keep = options.format, _keep(options.keep)
    if fmt == "jpg":
        extra = {"subsample_mode": "off"} if options.chroma == "444" else {}
        data = image.jpegsave_buffer(Q=options.quality or DEFAULT_QUALITY["jpg"], optimize_coding=True, interlace=options.progressive, keep=keep, **extra)
    elif fmt == "png":
        data = image.pngsave_buffer(
            compression=6, interlace=options.progressive, palette=options.lossy, keep=keep, effort=1 if options.lossy else 7
        )
    elif fmt == "webp":
        data = image.webpsave_buffer(Q=options.quality or DEFAULT_QUALITY["webp"], effort=2, keep=keep, smart_subsample=False)
    elif fmt == "avif":
        data = image.heifsave_buffer(Q=options.quality or DEFAULT_QUALITY["avif"], compression="av1", effort=2, keep=keep)
    elif fmt == "gif":
        data = image.gifsave_buffer(effort=4, keep=keep)
    elif fmt == "tiff":
        data = image.tiffsave_buffer(compression="lzw", keep=keep)
    else:  # pragma: no cover - choose_format guards this
        raise UnsupportedTransformation(f"Invalid extension or format - {fmt}")
    return bytes(data)
