"""What the Upload API reports about an image, and the images its generation actions make.

`colors`, `phash`, `faces`, `quality_analysis` answer upload flags of the same names; `choose_breakpoints` is
Cloudinary's responsive-breakpoints rule (widths whose files differ by about `bytes_step`);
`text_image`, `animate` and `sprite` back the `text`, `multi` and `sprite` actions. Each
takes paths or values and returns values; storing the results is the caller's business.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence

import pyvips

from darkroom.imaging import layers
from darkroom.imaging.errors import InvalidImage, UnsupportedTransformation
from darkroom.imaging.faces import detect_faces
from darkroom.imaging.formats import EncodeOptions, content_type, encode
from darkroom.imaging.pipeline import Rendered
from darkroom.transform import Layer, TextStyle

PathLike = str | os.PathLike[str]


def _load(path: PathLike, size: int) -> pyvips.Image:
    try:
        image = pyvips.Image.thumbnail(str(path), size, height=size, size="down")
    except pyvips.Error as error:
        raise InvalidImage("Invalid image file", detail=str(error)) from None
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    return image.colourspace("srgb").cast("uchar")


def colors(path: PathLike, limit: int = 12) -> list[list[object]]:
    """Predominant colours as Cloudinary lists them: `[["#RRGGBB", percent], …]`, most first.

    Pixels are grouped in 32-level bins per channel; each bin reports its mean colour.
    """
    image = _load(path, 64)
    array = image.numpy().reshape(-1, 3)
    bins = Counter(map(tuple, (array // 32).tolist()))
    total = len(array)
    result: list[list[object]] = []
    for key, count in bins.most_common(limit):
        members = array[((array // 32) == key).all(axis=1)]
        red, green, blue = (int(round(v)) for v in members.mean(axis=0))
        result.append([f"#{red:02X}{green:02X}{blue:02X}", round(100 * count / total, 1)])
    return result


def phash(path: PathLike) -> str:
    """A 64-bit perceptual hash (DCT of a 32×32 grey copy), as 16 hex digits.

    Near-identical images share most bits; compare two with a Hamming distance.
    """
    import cv2
    import numpy

    grey = _load(path, 32).thumbnail_image(32, height=32, size="force").colourspace("b-w").extract_band(0)
    coefficients = cv2.dct(numpy.float32(grey.numpy()))[:8, :8]
    low = coefficients.flatten()[1:]
    bits = (coefficients.flatten() > numpy.median(low)).astype(int)
    bits[0] = 0
    return f"{int(''.join(map(str, bits)), 2):016x}"


def quality_analysis(path: PathLike) -> dict[str, float]:
    """`quality_analysis=true`: `focus` in 0-1 from the variance of the Laplacian (sharp
    edges score high, blur and flat areas low), measured on a 512 px copy."""
    grey = _load(path, 512).colourspace("b-w").extract_band(0).cast("float")
    laplacian = grey.conv(pyvips.Image.new_from_list([[0, 1, 0], [1, -4, 1], [0, 1, 0]]), precision="float")
    variance = laplacian.deviate() ** 2
    return {"focus": round(min(1.0, variance / 1000), 3)}


def faces(path: PathLike) -> list[list[int]]:
    """Face boxes `[[x, y, w, h], …]` in the image's own pixels (the `faces=true` upload flag)."""
    try:
        image = pyvips.Image.new_from_file(str(path)).autorot()
    except pyvips.Error as error:
        raise InvalidImage("Invalid image file", detail=str(error)) from None
    if image.bands > 3 or image.interpretation != "srgb":
        image = image.colourspace("srgb")
    return [[box.left, box.top, box.width, box.height] for box in detect_faces(image.cast("uchar"))]


def choose_breakpoints(
    measure: Callable[[int], int], min_width: int, max_width: int, bytes_step: int, max_images: int
) -> list[int]:
    """Widths (largest first) whose encoded sizes differ by about `bytes_step`.

    `measure(width)` returns the bytes of the image rendered that wide. Sizes are sampled on
    a coarse grid and interpolated, so only a handful of renders are needed; the extremes
    are always included, and at most `max_images` widths come back.
    """
    if max_width <= min_width:
        return [max_width]
    grid = sorted({min_width, max_width, *range(min_width, max_width, max(1, (max_width - min_width) // 8))})
    sizes = {width: measure(width) for width in grid}
    targets: list[int] = []
    next_size = sizes[max_width] - bytes_step
    for high, low in zip(reversed(grid), list(reversed(grid))[1:]):
        while next_size > sizes[low] and sizes[high] > sizes[low]:
            fraction = (next_size - sizes[low]) / (sizes[high] - sizes[low])
            targets.append(round(low + fraction * (high - low)))
            next_size -= bytes_step
    widths = [max_width] + [w for w in targets if min_width < w < max_width] + [min_width]
    widths = sorted(set(widths), reverse=True)
    if len(widths) > max_images:
        keep = [widths[round(i * (len(widths) - 1) / (max_images - 1))] for i in range(max_images)] if max_images > 1 else [max_width]
        widths = sorted(set(keep), reverse=True)
    return widths


def text_image(text: str, style: TextStyle, color: str | None = None, background: str | None = None) -> Rendered:
    """A PNG of styled text (the Upload API's `text` action)."""
    from darkroom.transform.colors import parse_color, rgba

    image = layers.text_image(Layer("text", text=text, style=style), parse_color("co", color) if color else None)
    if background:
        fill = list(rgba(parse_color("b", background)))
        image = image.new_from_image(fill).copy(interpretation="srgb").composite2(image, "over").cast("uchar")
    data = encode(image, EncodeOptions("png", None))
    return Rendered(data, "png", content_type("png"), image.width, image.height, False)


def _frames(paths: Sequence[PathLike], width: int | None, height: int | None) -> list[pyvips.Image]:
    if not paths:
        raise UnsupportedTransformation("No images to combine")
    frames: list[pyvips.Image] = []
    for path in paths:
        try:
            image = pyvips.Image.new_from_file(str(path)).autorot()
        except pyvips.Error as error:
            raise InvalidImage("Invalid image file", detail=str(error)) from None
        image = layers.with_alpha(image.colourspace("srgb").cast("uchar"))
        if width and height:
            image = image.thumbnail_image(width, height=height, crop="centre", size="force")
        frames.append(image)
    return frames


def animate(paths: Sequence[PathLike], fmt: str = "gif", delay: int = 100, width: int | None = None, height: int | None = None) -> Rendered:
    """An animated GIF or WebP with one frame per image (the `multi` action); frames take the
    first image's size unless `width`×`height` is given."""
    if fmt not in ("gif", "webp"):
        raise UnsupportedTransformation(f"Invalid extension or format - {fmt}")
    first = _frames(paths[:1], width, height)[0]
    frames = _frames(paths, first.width, first.height)
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", first.height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [delay] * len(frames))
    data = encode(strip, EncodeOptions(fmt, 80))
    return Rendered(data, fmt, content_type(fmt), first.width, first.height, False)


def sprite(paths: Sequence[PathLike]) -> tuple[Rendered, list[tuple[int, int, int, int]]]:
    """A vertical PNG strip of the images and each one's (x, y, width, height) in it."""
    frames = _frames(paths, None, None)
    width = max(frame.width for frame in frames)
    boxes: list[tuple[int, int, int, int]] = []
    top = 0
    for frame in frames:
        boxes.append((0, top, frame.width, frame.height))
        top += frame.height
    canvas = pyvips.Image.black(width, top, bands=4).copy(interpretation="srgb").cast("uchar")
    for frame, (x, y, _, _) in zip(frames, boxes):
        canvas = canvas.insert(frame, x, y)
    data = encode(canvas, EncodeOptions("png", None))
    return Rendered(data, "png", content_type("png"), width, top, False), boxes
