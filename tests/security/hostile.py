"""Hostile media, built byte by byte by the tests (no binaries in the repository).

Each builder returns the file's bytes. They lie in the ways decoders have been attacked:
headers claiming sizes the data cannot back, data that decompresses a thousandfold, many
frames of a small canvas, and SVGs that reach for files, the network or a script.
"""

from __future__ import annotations

import struct
import zlib

import pyvips

# ---- PNG ------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, idat: bytes, colour_type: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for `width`×`height` with one row of data behind it."""
    return _png(width, height, zlib.compress(b"\x00" * (min(width, 4096) + 1)))


def png_bomb(width: int, height: int) -> bytes:
    """A real greyscale PNG of zeros: every row is there, and it compresses about 1000:1."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one byte per pixel
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return _png(width, height, b"".join(parts))


# ---- GIF ------------------------------------------------------------------------------


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose screen and only frame claim `width`×`height`, with a one-pixel LZW stream."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def gif_many_frames(width: int, height: int, frames: int) -> bytes:
    """An animated GIF: `frames` frames of a small canvas, tiny on disk, large decoded."""
    shade = (pyvips.Image.xyz(width, height * frames)[1] / height).cast("uint") * 37 % 256  # one colour per frame
    strip = shade.cast("uchar").bandjoin([shade.cast("uchar"), (shade * 3 % 256).cast("uchar")])
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    return bytes(strip.gifsave_buffer(effort=1, bitdepth=1))


# ---- WebP -----------------------------------------------------------------------------


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


def webp_claiming(width: int, height: int) -> bytes:
    """An animated WebP whose canvas claims `width`×`height` (at most 2^24 a side), holding
    one 1×1 frame: the canvas size alone is what a decoder would allocate."""
    tiny = bytes(pyvips.Image.black(1, 1).cast("uchar").webpsave_buffer(lossless=True))
    start = tiny.index(b"VP8L")  # the 1×1 image's bitstream chunk, header included
    frame_bitstream = tiny[start : start + 8 + int.from_bytes(tiny[start + 4 : start + 8], "little")]
    vp8x = _riff_chunk(b"VP8X", b"\x02\x00\x00\x00" + _u24(width - 1) + _u24(height - 1))  # flag: animation
    anim = _riff_chunk(b"ANIM", b"\x00\x00\x00\x00" + struct.pack("<H", 0))
    anmf = _riff_chunk(b"ANMF", _u24(0) + _u24(0) + _u24(0) + _u24(0) + _u24(100) + b"\x00" + frame_bitstream)
    body = b"WEBP" + vp8x + anim + anmf
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ---- SVG ------------------------------------------------------------------------------


def svg_external_entity(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "{target}">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text x="0" y="20">&xxe;</text></svg>'
    ).encode()


def svg_billion_laughs() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE svg [{entities}]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text y="20">&l9;</text></svg>'
    ).encode()


def svg_linking(href: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">'
        f'<image xlink:href="{href}" href="{href}" width="64" height="64"/></svg>'
    ).encode()


def svg_with_script() -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" onload="alert(1)">'
        '<script>alert(document.cookie)</script><rect width="64" height="64" fill="red"/></svg>'
    ).encode()


def svg_sized(width: int, height: int, view_box: str | None = None) -> bytes:
    box = f' viewBox="{view_box}"' if view_box else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"{box}>'
        '<rect width="100%" height="100%" fill="blue"/></svg>'
    ).encode()
