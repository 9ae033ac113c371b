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
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import IO

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
        out = io.BytesIO()
        picture.save(out, "WEBP", quality=quality, method=2, **({"icc_profile": icc} if icc else {}))
        return out.getvalue()
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
