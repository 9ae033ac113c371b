"""Sources the libvips build here cannot read: BMP, ICO and JPEG XL through Pillow, PDF
through PDFium (`pypdfium2`, which ships its own binary).

Each is known by its first bytes, never its name. Its size comes from the header first
(`read_header`: Pillow reads only the header on open; PDFium reads a page's size from the
document's page tree), so the pixel limit is checked before anything is decoded; `load`
then decodes into an in-memory libvips image, sRGB 8-bit with alpha where the file has it,
and the renderer carries on as with any other source.

A PDF is a document of pages, an image resource in Cloudinary's terms: its size is its first
page's at the default density (`DEFAULT_DENSITY`, 150 dpi, Cloudinary's), `pg_N` picks the
page and `dn_` the density. PDFium is not thread-safe, so every call into it holds one lock.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any
from dataclasses import dataclass

import pyvips
from PIL import Image

from darkroom.imaging.errors import InvalidImage, TooManyPixels

__all__ = [
    "DEFAULT_DENSITY",
    "DOCUMENT_SOURCES",
    "FOREIGN_SOURCES",
    "PILLOW_SOURCES",
    "ForeignHeader",
    "load",
    "jxl_size",
    "load_file",
    "load_pages",
    "page_numbers",
    "read_header",
    "sniff",
]

PILLOW_SOURCES = frozenset(("bmp", "ico", "jxl"))
DOCUMENT_SOURCES = frozenset(("pdf",))
FOREIGN_SOURCES = PILLOW_SOURCES | DOCUMENT_SOURCES
DEFAULT_DENSITY = 150  # dpi: a PDF page's pixels per inch unless `dn_` says otherwise
POINTS_PER_INCH = 72
MAX_PDF_BYTES_SNIFFED = 1024  # "%PDF-" may follow a little junk, as readers allow

_MAGIC = (
    (b"BM", "bmp"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"\xff\x0a", "jxl"),  # a bare JPEG XL codestream
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jxl"),  # the JPEG XL container
)
_PILLOW_NAMES = {"bmp": ("BMP", "DIB"), "ico": ("ICO",), "jxl": ("JXL",)}
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class ForeignHeader:
    format: str  # Cloudinary's name: bmp, ico, jxl, pdf
    width: int  # px (a PDF's first page at DEFAULT_DENSITY)
    height: int
    pages: int = 1


def sniff(head: bytes) -> str | None:
    """The format of a file starting with `head` (its first kilobyte), if it is one of these."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            plausible = _PLAUSIBLE.get(fmt)
            return fmt if plausible is None or plausible(head) else None
    if b"%PDF-" in head[:MAX_PDF_BYTES_SNIFFED]:
        return "pdf"
    return None


def _plausible_icon(head: bytes) -> bool:
    """ICO's four magic bytes are common; a real icon directory has 1-255 entries."""
    return len(head) >= 6 and 0 < int.from_bytes(head[4:6], "little") < 256


# The sizes of the DIB headers BMP files use (core, info, v2-v5): "BM" alone starts many texts.
_DIB_HEADER_SIZES = frozenset((12, 40, 52, 56, 64, 108, 124))


def _plausible_bitmap(head: bytes) -> bool:
    return len(head) >= 18 and int.from_bytes(head[14:18], "little") in _DIB_HEADER_SIZES


_PLAUSIBLE = {"ico": _plausible_icon, "bmp": _plausible_bitmap}


def read_header(path: str | os.PathLike[str], fmt: str) -> ForeignHeader:
    """Size (and pages) from the header alone; Invalid when the file is not what it claims."""
    if fmt == "pdf":
        return _pdf_header(path)
    if fmt == "jxl":  # the JPEG XL plugin decodes the whole picture on open: read its header here
        with open(path, "rb") as handle:
            size = jxl_size(handle.read(JXL_HEADER_BYTES))
        if size is None:
            raise InvalidImage("Invalid image file", detail="no JPEG XL size header")
        return ForeignHeader(fmt, *size)
    # Pillow decodes an icon's largest entry, whose PNG may be larger than its directory says:
    # the PNG's own header is read first, and a size too large is refused whatever Pillow thinks.
    hidden = _largest_png_in_icon(path) if fmt == "ico" else (0, 0)
    try:
        with _opened(path, fmt) as picture:
            width, height = picture.size
    except (OSError, ValueError, SyntaxError) as error:
        if hidden[0] * hidden[1] > 0:
            return ForeignHeader(fmt, *hidden)  # the pixel limit speaks first; decoding would fail anyway
        raise InvalidImage("Invalid image file", detail=str(error)) from None
    width, height = max((width, height), hidden, key=lambda size: size[0] * size[1])
    return ForeignHeader(fmt, width, height)


def _largest_png_in_icon(path: str | os.PathLike[str]) -> tuple[int, int]:
    """The largest size an icon's PNG entries declare in their own headers (IHDR)."""
    largest = (0, 0)
    with open(path, "rb") as handle:
        head = handle.read(6)
        count = int.from_bytes(head[4:6], "little")
        entries = handle.read(16 * count)
        for index in range(len(entries) // 16):
            offset = int.from_bytes(entries[index * 16 + 12 : index * 16 + 16], "little")
            handle.seek(offset)
            png = handle.read(24)
            if png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR":
                size = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
                largest = max(largest, size, key=lambda s: s[0] * s[1])
    return largest


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str], fmt: str) -> Iterator[Image.Image]:
    """Pillow's lazy open (header only). Its own decompression-bomb guard is ours to apply
    (`max_pixels`), so its warning is silenced and its error is our TooManyPixels."""
    _register_jxl()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=_PILLOW_NAMES[fmt]) as picture:
                yield picture
        except Image.DecompressionBombError as error:
            raise TooManyPixels("Image is too large to process", detail=str(error)) from None


def load(path: str | os.PathLike[str], fmt: str, *, max_pixels: int, page: int = 1, density: float | None = None) -> pyvips.Image:
    """The pixels, as an in-memory sRGB 8-bit image (alpha kept); the size is checked
    against `max_pixels` from the header before decoding."""
    if fmt == "pdf":
        return _pdf_page(path, page, density or DEFAULT_DENSITY, max_pixels)
    header = read_header(path, fmt)
    _check_pixels(header.width, header.height, max_pixels)
    try:
        with _opened(path, fmt) as picture:
            picture.load()
            return _from_pillow(picture)
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage("Invalid image file", detail=str(error)) from None


def load_file(path: str | os.PathLike[str], *, max_pixels: int) -> pyvips.Image | None:
    """The first page of a file libvips cannot read, known by its bytes; None for others.
    For callers that get a bare path (analysis, overlays) rather than a probed format."""
    with open(path, "rb") as handle:
        fmt = sniff(handle.read(MAX_PDF_BYTES_SNIFFED))
    return None if fmt is None else load(path, fmt, max_pixels=max_pixels)


# ---------------------------------------------------------------- JPEG XL's size header

JXL_HEADER_BYTES = 64 * 1024  # the container's boxes before the codestream are small
_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def jxl_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG XL file's first bytes (ISO/IEC 18181-1 SizeHeader), or None."""
    codestream = _jxl_codestream(head)
    if codestream is None or codestream[:2] != b"\xff\x0a":
        return None
    bits = _Bits(codestream[2:])
    try:
        small = bits.read(1)
        height = (bits.read(5) + 1) * 8 if small else bits.u32()
        ratio = bits.read(3)
        if ratio:
            numerator, denominator = _JXL_RATIOS[ratio]
            width = height * numerator // denominator
        else:
            width = (bits.read(5) + 1) * 8 if small else bits.u32()
    except IndexError:
        return None
    return width, height


def _jxl_codestream(head: bytes) -> bytes | None:
    """The codestream: the file itself, or the payload of the container's `jxlc`/first `jxlp` box."""
    if head.startswith(b"\xff\x0a"):
        return head
    offset = 0
    while offset + 8 <= len(head):
        size = int.from_bytes(head[offset : offset + 4], "big")
        kind = head[offset + 4 : offset + 8]
        header = 8
        if size == 1:  # a 64-bit size follows
            size, header = int.from_bytes(head[offset + 8 : offset + 16], "big"), 16
        if kind == b"jxlc":
            return head[offset + header :]
        if kind == b"jxlp":
            return head[offset + header + 4 :]  # after the part's index
        if size < header:
            return None
        offset += size
    return None


class _Bits:
    """Least-significant-bit-first reading, as JPEG XL packs its headers."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def read(self, count: int) -> int:
        value = 0
        for i in range(count):
            byte = self.data[(self.position + i) // 8]
            value |= ((byte >> ((self.position + i) % 8)) & 1) << i
        self.position += count
        return value

    def u32(self) -> int:
        """A dimension: two bits pick 9, 13, 18 or 30 bits of value, plus one."""
        return self.read((9, 13, 18, 30)[self.read(2)]) + 1


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise TooManyPixels("Image is too large to process", detail=f"{width}x{height}")


def _register_jxl() -> None:
    import pillow_jxl  # noqa: F401  (registers the JXL plugin with Pillow on import)


def _from_pillow(picture: Image.Image) -> pyvips.Image:
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
    rgb = picture.convert("RGBA" if has_alpha else "RGB")
    bands = 4 if has_alpha else 3
    image = pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, bands, "uchar")
    return image.copy(interpretation="srgb")


# ---------------------------------------------------------------- PDF


def _open_pdf(path: str | os.PathLike[str]) -> Any:
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise InvalidImage("Invalid PDF file", detail=str(error)) from None


def _pixels_at(points: float, density: float) -> int:
    return max(1, math.floor(points * density / POINTS_PER_INCH + 0.5))


def _pdf_header(path: str | os.PathLike[str]) -> ForeignHeader:
    with _PDFIUM:
        document = _open_pdf(path)
        try:
            pages = len(document)
            if pages == 0:
                raise InvalidImage("Invalid PDF file", detail="no pages")
            width, height = document.get_page_size(0)
        finally:
            document.close()
    return ForeignHeader("pdf", _pixels_at(width, DEFAULT_DENSITY), _pixels_at(height, DEFAULT_DENSITY), pages)


MAX_DOCUMENT_PAGES = 200  # pages one render decodes (`pg_1-`)


def page_numbers(spec: str, count: int) -> list[int]:
    """`pg_`'s pages, 1-based and in order: `3`, `3;5;7`, `3-5`, `5-` (to the end), mixed."""
    from darkroom.imaging.errors import UnsupportedTransformation

    wanted: list[int] = []
    for part in spec.split(";"):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise UnsupportedTransformation(f"Invalid page parameter - {spec}")
        start = int(first)
        end = int(last) if last else count if dash else start
        if not 1 <= start <= end <= count:
            raise UnsupportedTransformation(f"Invalid page parameter - {spec} (the document has {count} pages)")
        wanted += [page for page in range(start, end + 1) if page not in wanted]
        if len(wanted) > MAX_DOCUMENT_PAGES:
            raise UnsupportedTransformation(f"Invalid page parameter - {spec} (at most {MAX_DOCUMENT_PAGES} pages)")
    return wanted


def load_pages(path: str | os.PathLike[str], spec: str, *, max_pixels: int, density: float | None = None) -> tuple[pyvips.Image, int, int]:
    """The pages `spec` names (`pg_3;5`, `pg_2-`) stacked top to bottom, each at the first
    one's size, as an animation's frames are: (image, page height, pages). The pixels of
    every page together are held to `max_pixels`."""
    dpi = density or DEFAULT_DENSITY
    with _PDFIUM:
        document = _open_pdf(path)
        try:
            numbers = page_numbers(spec, len(document))
            points_wide, points_high = document.get_page_size(numbers[0] - 1)
        finally:
            document.close()
    width, height = _pixels_at(points_wide, dpi), _pixels_at(points_high, dpi)
    _check_pixels(width, height * len(numbers), max_pixels)
    pages = [_pdf_page(path, number, dpi, max_pixels) for number in numbers]
    pages = [page if (page.width, page.height) == (width, height) else page.thumbnail_image(width, height=height, size="force") for page in pages]
    if len(pages) == 1:
        return pages[0], height, 1
    stacked = pyvips.Image.arrayjoin(pages, across=1).copy()
    stacked.set_type(pyvips.GValue.gint_type, "page-height", height)
    return stacked, height, len(pages)


def _pdf_page(path: str | os.PathLike[str], page: int, density: float, max_pixels: int) -> pyvips.Image:
    """Page `page` (1-based) rendered at `density` dpi on white, as Cloudinary rasterises."""
    from darkroom.imaging.errors import UnsupportedTransformation

    with _PDFIUM:
        document = _open_pdf(path)
        try:
            if not 1 <= page <= len(document):
                raise UnsupportedTransformation(f"Invalid page parameter - {page} (the document has {len(document)} pages)")
            points_wide, points_high = document.get_page_size(page - 1)
            width, height = _pixels_at(points_wide, density), _pixels_at(points_high, density)
            _check_pixels(width, height, max_pixels)
            pdf_page = document[page - 1]
            try:
                bitmap = pdf_page.render(scale=density / POINTS_PER_INCH, fill_color=(255, 255, 255, 255))
                picture = bitmap.to_pil()
            finally:
                pdf_page.close()
        finally:
            document.close()
    # PDFium rounds the bitmap's sides up (875.0000001 px becomes 876): keep the size the
    # header promised, so the upload's width and height are what delivery gives.
    return _from_pillow(picture).embed(0, 0, width, height, extend="copy")
