"""What an image looks like, in numbers: its colours, a perceptual hash, quality scores, faces.

These answer the Upload API's `colors`, `phash`, `quality_analysis` and `faces` options.
All work on a small opaque thumbnail (analysis does not need megapixels); everything
except `load_for_analysis` and `face_boxes` is a pure function of that image:

    image = load_for_analysis("photo.jpg")
    colors(image)        # [["#D83A2B", 41.2], ["#F4F1EA", 30.5], …]
    phash(image)         # "c3a1f0e01f0f3c78" — 64 bits, DCT-based
    hamming(a, b)        # small for the same picture at another size

Synchronous and CPU-bound (libvips, numpy): call from a worker thread.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from typing import Any

import numpy as np
import pyvips

from darkroom.imaging import foreign
from darkroom.imaging.errors import InvalidImage
from darkroom.imaging.faces import DETECT_WIDTH, detect_faces

__all__ = [
    "ANALYSIS_SIZE",
    "PALETTE",
    "analyse",
    "colors",
    "face_boxes",
    "hamming",
    "load_for_analysis",
    "phash",
    "pixels",
    "predominant",
    "quality_scores",
    "thumbnail",
]

ANALYSIS_SIZE = 256  # px, the longest side analysed; enough for colours, hashes and focus

# The colour words of `predominant`, as Google's image labels name them, with a typical sRGB value.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "red": (220, 30, 30),
    "orange": (250, 140, 20),
    "yellow": (250, 225, 20),
    "green": (40, 160, 50),
    "teal": (0, 128, 128),
    "blue": (30, 70, 210),
    "purple": (120, 40, 160),
    "pink": (250, 150, 190),
    "brown": (130, 80, 35),
}


def analyse(
    path: str | os.PathLike[str],
    wanted: Collection[str],
    *,
    source_width: int | None = None,
    source_height: int | None = None,
) -> dict[str, Any]:
    """The reply fields for the wanted options among `colors`, `phash`, `quality_analysis` and `faces`.

    One analysis thumbnail serves colours, hash and quality, and is decoded only when one of
    them is wanted; faces read the file themselves at their own size. `quality_analysis`
    rates resolution from the source's size, defaulting to the thumbnail's.

        analyse("photo.jpg", {"colors", "faces"})  # {"colors": …, "predominant": …, "faces": …}
    """
    fields: dict[str, Any] = {}
    if {"colors", "phash", "quality_analysis"} & set(wanted):
        image = load_for_analysis(path)
        if "colors" in wanted:
            fields["colors"] = colors(image)
            fields["predominant"] = predominant(image)
        if "phash" in wanted:
            fields["phash"] = phash(image)
        if "quality_analysis" in wanted:
            scores = quality_scores(image, source_width=source_width or image.width, source_height=source_height or image.height)
            fields["quality_analysis"] = scores
            fields["quality_score"] = scores["pixel_score"]
    if "faces" in wanted:
        fields["faces"] = face_boxes(path)
    return fields


def load_for_analysis(path: str | os.PathLike[str], size: int = ANALYSIS_SIZE) -> pyvips.Image:
    """The first page as an opaque 3-band sRGB thumbnail in memory (transparency flattened on white)."""
    try:
        image = thumbnail(path, size)
        if image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        if image.interpretation != "srgb" or image.bands != 3:
            image = image.colourspace("srgb")
        # In memory: the thumbnail streams, and analysis reads it several times.
        return image.cast("uchar").extract_band(0, n=3).copy(interpretation="srgb").copy_memory()
    except pyvips.Error as error:
        raise InvalidImage("Image could not be analysed", detail=str(error)) from None


# Sources libvips cannot read are decoded whole (`foreign`): bounded like any render's source.
ANALYSIS_MAX_PIXELS = 100_000_000


def thumbnail(path: str | os.PathLike[str], size: int, decoded: pyvips.Image | None = None) -> pyvips.Image:
    """A thumbnail at most `size` px a side: libvips shrinks while loading; a BMP, ICO,
    JPEG XL or PDF (first page) is decoded by `foreign` first."""
    if decoded is None:
        decoded = foreign.load_file(path, max_pixels=ANALYSIS_MAX_PIXELS)
    if decoded is not None:
        return decoded.thumbnail_image(size, height=size, size="down")
    return pyvips.Image.thumbnail(str(path), size, height=size, size="down")


def pixels(image: pyvips.Image) -> np.ndarray:
    """Height × width × 3 uint8 array of an sRGB image."""
    data = image.cast("uchar").write_to_memory()
    return np.frombuffer(data, dtype=np.uint8).reshape(image.height, image.width, image.bands)[:, :, :3]


# ---------------------------------------------------------------- colours


def colors(image: pyvips.Image, *, limit: int = 32, min_percent: float = 0.5) -> list[list[str | float]]:
    """Cloudinary's `colors`: the main colours as [hex, percent of the picture], largest first.

    Pixels are grouped into an 8×8×8 cube; each group is reported as its mean colour, so a
    flat red is exactly `#FF0000`, not the corner of its bin.
    """
    flat = pixels(image).reshape(-1, 3).astype(np.int64)
    bins = (flat[:, 0] // 32) * 64 + (flat[:, 1] // 32) * 8 + flat[:, 2] // 32
    counts = np.bincount(bins, minlength=512)
    result: list[list[str | float]] = []
    for index in np.argsort(-counts, kind="stable")[:limit]:
        percent = round(100.0 * float(counts[index]) / flat.shape[0], 1)
        if counts[index] == 0 or (percent < min_percent and result):
            break
        result.append([_hex(flat[bins == index].mean(axis=0)), percent])
    return result


def predominant(image: pyvips.Image, *, min_percent: float = 1.0) -> dict[str, list[list[str | float]]]:
    """Cloudinary's `predominant`: shares of the picture by colour word, largest first."""
    flat = pixels(image).reshape(-1, 3).astype(np.float64)
    names = list(PALETTE)
    references = np.array([PALETTE[name] for name in names], dtype=np.float64)
    nearest = ((flat[:, None, :] - references[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(names))
    shares: list[list[str | float]] = [
        [names[i], round(100.0 * float(counts[i]) / flat.shape[0], 1)] for i in np.argsort(-counts, kind="stable")
    ]
    kept = [share for share in shares if float(share[1]) >= min_percent]
    return {"google": kept, "cloudinary": [list(share) for share in kept]}


def _hex(rgb: np.ndarray) -> str:
    red, green, blue = (int(round(float(v))) for v in rgb)
    return f"#{red:02X}{green:02X}{blue:02X}"


# ---------------------------------------------------------------- perceptual hash


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: `m @ x @ m.T` is the 2-D DCT of an n×n block."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m: np.ndarray = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0, :] /= np.sqrt(2.0)
    return m


_DCT32 = _dct_matrix(32)


def phash(image: pyvips.Image) -> str:
    """A 64-bit perceptual hash (16 hex digits): the 8×8 lowest DCT frequencies of a 32×32
    grey thumbnail, each bit set when above their median. Resizing or recompressing the
    picture flips few bits; a different picture flips about half."""
    grey = image.colourspace("b-w").extract_band(0)
    small = grey.thumbnail_image(32, height=32, size="force")
    block = np.frombuffer(small.cast("uchar").write_to_memory(), dtype=np.uint8).reshape(32, 32).astype(np.float64)
    low = (_DCT32 @ block @ _DCT32.T)[:8, :8].flatten()
    median = np.median(low[1:])  # the DC term says only how bright the picture is
    value = 0
    for bit in low > median:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(first: str, second: str) -> int:
    """How many of the 64 bits two hashes differ in."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")


# ---------------------------------------------------------------- quality


def quality_scores(image: pyvips.Image, *, source_width: int, source_height: int) -> dict[str, float]:
    """Cloudinary-style `quality_analysis`: each score 0..1, higher is better.

    focus from the variance of the Laplacian, noise from what a 3×3 median removes,
    contrast and exposure from the luminance, saturation from chroma, resolution from the
    source's megapixels; `pixel_score` is the mean of focus, noise, contrast, exposure and
    resolution.
    """
    rgb = pixels(image).astype(np.float64)
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722])
    scores = {
        "focus": _focus(luma),
        "noise": _noise(image, luma),
        "contrast": min(1.0, float(luma.std()) / 64.0),
        "exposure": max(0.0, 1.0 - abs(float(luma.mean()) - 118.0) / 118.0),
        "saturation": _saturation(rgb),
        "resolution": min(1.0, source_width * source_height / 8_000_000),
    }
    scores["lighting"] = (scores["contrast"] + scores["exposure"]) / 2
    scores["color_score"] = scores["saturation"]
    scores["pixel_score"] = sum(scores[name] for name in ("focus", "noise", "contrast", "exposure", "resolution")) / 5
    return {name: round(value, 2) for name, value in scores.items()}


def _focus(luma: np.ndarray) -> float:
    if min(luma.shape) < 3:
        return 0.0
    laplacian = luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:] - 4 * luma[1:-1, 1:-1]
    return float(1.0 - math.exp(-float(laplacian.var()) / 150.0))


def _noise(image: pyvips.Image, luma: np.ndarray) -> float:
    if min(luma.shape) < 3:  # a 3×3 median needs three pixels each way: nothing to measure
        return 1.0
    smooth_image = image.colourspace("b-w").extract_band(0).median(3)
    smooth = np.frombuffer(smooth_image.cast("uchar").write_to_memory(), dtype=np.uint8).reshape(luma.shape)
    sigma = float(np.median(np.abs(luma - smooth.astype(np.float64)))) * 1.4826
    return max(0.0, 1.0 - sigma / 12.0)


def _saturation(rgb: np.ndarray) -> float:
    high = rgb.max(axis=2)
    low = rgb.min(axis=2)
    return float(np.where(high > 0, (high - low) / np.maximum(high, 1), 0.0).mean())


# ---------------------------------------------------------------- faces


def face_boxes(path: str | os.PathLike[str]) -> list[list[int]]:
    """Cloudinary's `faces`: [[x, y, width, height], …] in the (upright) image's own pixels,
    most confident first. Detection runs on a thumbnail; boxes are scaled back."""
    try:
        decoded = foreign.load_file(path, max_pixels=ANALYSIS_MAX_PIXELS)
        full_width = decoded.width if decoded is not None else pyvips.Image.new_from_file(str(path)).autorot().width
        small = thumbnail(path, DETECT_WIDTH, decoded)  # detect_faces scales no further
    except pyvips.Error as error:
        raise InvalidImage("Image could not be analysed", detail=str(error)) from None
    if small.interpretation != "srgb" or small.format != "uchar":
        small = small.colourspace("srgb").cast("uchar")
    scale = full_width / small.width
    return [
        [round(box.left * scale), round(box.top * scale), round(box.width * scale), round(box.height * scale)]
        for box in detect_faces(small)
    ]
