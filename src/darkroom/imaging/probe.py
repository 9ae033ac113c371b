"""What an uploaded file is, decided from its bytes, without decoding its pixels.

libvips picks a loader by sniffing the file's header (never its name) and reads only the
header to report dimensions, so the pixel limit is checked before any decode happens.
Images this libvips cannot read (BMP, ICO, JPEG XL, PDF) are read by `foreign`, from
their headers too; other files are classified by a few magic numbers (video, audio …) or
left as `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyvips

from darkroom.errors import Invalid, TooLarge
from darkroom.imaging import foreign
from darkroom.imaging.errors import InvalidImage
from darkroom.transform import FORMAT_ALIASES

__all__ = ["MediaInfo", "probe", "LOADER_FORMATS", "CONTENT_TYPES", "content_type_for", "normalize_format"]

# libvips loader name prefix → Cloudinary's format name.
LOADER_FORMATS = {
    "jpegload": "jpg",
    "pngload": "png",
    "webpload": "webp",
    "gifload": "gif",
    "nsgifload": "gif",
    "tiffload": "tiff",
    "heifload": "heic",  # refined to avif below from the compression field
    "svgload": "svg",
    "jp2kload": "jp2",
    "jxlload": "jxl",
    "pdfload": "pdf",
    "radload": "hdr",
    "ppmload": "ppm",
    "csvload": None,  # libvips would read any text as CSV/matrix: not an image for us
    "matrixload": None,
}

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "avif": "image/avif",
    "heic": "image/heic",
    "svg": "image/svg+xml",
    "jp2": "image/jp2",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
    "tga": "image/x-tga",
    "jxl": "image/jxl",
    "pdf": "application/pdf",
    "ppm": "image/x-portable-pixmap",
    "hdr": "image/vnd.radiance",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "ogv": "video/ogg",
    "flv": "video/x-flv",
    "ts": "video/mp2t",
    "mpeg": "video/mpeg",
    "wmv": "video/x-ms-wmv",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "zip": "application/zip",
    "json": "application/json",
    "css": "text/css; charset=utf-8",
    "txt": "text/plain",
}


def normalize_format(fmt: str) -> str:
    """Cloudinary's name for a format however it was spelled: `jpeg` → `jpg`, `tif` → `tiff`."""
    lowered = fmt.lower()
    return FORMAT_ALIASES.get(lowered, lowered)


def content_type_for(fmt: str) -> str:
    return CONTENT_TYPES.get(fmt.lower(), "application/octet-stream")


@dataclass(frozen=True)
class MediaInfo:
    resource_type: str  # image | video | raw
    format: str  # Cloudinary's format name ("" for unknown raw files)
    width: int | None = None
    height: int | None = None
    pages: int | None = None

    @property
    def content_type(self) -> str:
        return content_type_for(self.format)


def probe(path: Path, *, max_pixels: int) -> MediaInfo:
    """Classify the file at `path` by its bytes; refuse images over `max_pixels` before decoding.

    Every frame of an animation or page of a document counts: decoding them all is the cost.
    """
    image_info = _probe_image(path)
    with path.open("rb") as handle:
        head = handle.read(foreign.MAX_PDF_BYTES_SNIFFED)
    if image_info is None:
        image_info = _probe_foreign(path, head)
    if image_info is not None:
        # A document's render decodes one page; an animation's, every frame.
        frames = 1 if image_info.format in foreign.DOCUMENT_SOURCES else image_info.pages or 1
        total = (image_info.width or 0) * (image_info.height or 0) * frames
        if total > max_pixels:
            size = f"{image_info.width}x{image_info.height}" + (f"x{frames} frames" if frames > 1 else "")
            raise TooLarge(f"Image is too large: {size} is {total} pixels; the maximum is {max_pixels}")
        return image_info
    return _probe_magic(head[:64])


def _probe_foreign(path: Path, head: bytes) -> MediaInfo | None:
    """BMP, ICO, JPEG XL and PDF (`foreign`): known by their bytes, sized from their headers."""
    fmt = foreign.sniff(head)
    if fmt is None:
        return None
    try:
        header = foreign.read_header(path, fmt)
    except InvalidImage:
        if fmt in foreign.DOCUMENT_SOURCES:
            raise  # "%PDF-" says what it means to be: a broken one is refused, as Cloudinary does
        return None  # a few magic bytes by chance (a text starting "BM"): not an image
    return MediaInfo("image", fmt, header.width, header.height, header.pages)


def _probe_image(path: Path) -> MediaInfo | None:
    loader = pyvips.vips_lib.vips_foreign_find_load(str(path).encode())
    if loader == pyvips.ffi.NULL:
        return None
    name = pyvips.ffi.string(loader).decode().removeprefix("VipsForeignLoad").lower()
    # e.g. VipsForeignLoadJpegFile → "jpegfile" → jpegload → "jpg"
    fmt = next((f for prefix, f in LOADER_FORMATS.items() if name.startswith(prefix.removesuffix("load"))), "")
    if not fmt:
        return None
    try:
        image = pyvips.Image.new_from_file(str(path), access="sequential")
    except pyvips.Error as exc:
        raise Invalid("Invalid image file", detail=str(exc)) from exc
    if fmt == "heic" and _is_avif(image):
        fmt = "avif"
    pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
    height = image.get("page-height") if pages > 1 and image.get_typeof("page-height") else image.height
    return MediaInfo("image", fmt, image.width, height, pages)


def _is_avif(image: pyvips.Image) -> bool:
    if image.get_typeof("heif-compression"):
        return bool(image.get("heif-compression") == "av1")
    return False


# (offset, magic bytes, resource_type, format)
_MAGIC = (
    (4, b"ftypqt", "video", "mov"),
    (4, b"ftyp", "video", "mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video", "webm"),
    (0, b"RIFF", "video", "avi"),  # refined below: RIFF....WAVE is audio
    (0, b"ID3", "video", "mp3"),  # Cloudinary files audio under the video resource type
    (0, b"OggS", "video", "ogg"),
    (0, b"fLaC", "video", "flac"),
    (0, b"PK\x03\x04", "raw", "zip"),
)


def _probe_magic(head: bytes) -> MediaInfo:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaInfo("video", "wav")
    for offset, magic, resource_type, fmt in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return MediaInfo(resource_type, fmt)
    return MediaInfo("raw", "")
