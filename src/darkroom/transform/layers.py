"""`l_` / `u_` values: stored images, styled text, remote URLs, subtitles.

Text is escaped twice for `,` and `/` by the SDKs (`%252C`), once for everything else;
the splitter never sees a raw `,` or `/` inside a layer, and we decode the text here.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote, unquote

from darkroom.transform.ast import Layer, TextStyle
from darkroom.transform.errors import ParseError
from darkroom.transform.expressions import VARIABLE_NAME
from darkroom.transform.values import format_number
from darkroom.vocabulary import STORED_DELIVERY_TYPES, STORED_RESOURCE_TYPES

IMAGE_FORMATS = frozenset("jpg jpeg png webp avif gif bmp tiff tif ico svg heic jxl jp2 pdf tga".split())
_ID_PART = re.compile(r"[^\s:,/]{1,255}")
_WEIGHTS = frozenset("bold thin light normal extrabold semibold black".split())
_ALIGNS = frozenset("left center right end start justify".split())
_DECORATIONS = frozenset(("underline", "strikethrough"))


def _lenient_unquote(text: str) -> str:
    """Percent-decode valid `%XX` sequences only, keeping a literal `50% off`."""
    return re.sub(r"(?:%[0-9A-Fa-f]{2})+", lambda m: unquote(m.group(), errors="strict"), text) if "%" in text else text


def _decode(text: str) -> str:
    try:
        return _lenient_unquote(_lenient_unquote(text))
    except UnicodeDecodeError as error:
        raise ParseError("Invalid layer text", param="l", detail=str(error)) from None


def _style(key: str, text: str) -> TextStyle:
    parts = _decode(text).split("_")
    family, size = parts[0], parts[1] if len(parts) > 1 else ""
    if not family or not size.isdigit() or not 0 < int(size) <= 1000 or len(size) > 4:
        raise ParseError(f"Invalid text style - {text}", param=key)
    options: dict[str, Any] = {}  # TextStyle's keyword arguments, each set from its own token
    rest = parts[2:]
    while rest:
        token = rest.pop(0)
        if token in _WEIGHTS:
            options["font_weight"] = token
        elif token == "italic":
            options["font_style"] = token
        elif token in _DECORATIONS:
            options["text_decoration"] = token
        elif token in _ALIGNS:
            options["text_align"] = token
        elif token == "stroke":
            options["stroke"] = True
        elif token in ("letter", "line", "antialias", "hinting") and rest:
            if token in ("letter", "line"):
                if len(rest) < 2 or rest[0] != "spacing" or not re.fullmatch(r"-?\d{1,4}(\.\d{1,4})?", rest[1]):
                    raise ParseError(f"Invalid text style - {text}", param=key)
                rest.pop(0)
                value = rest.pop(0)
                options[f"{token}_spacing"] = float(value)
            else:
                options["font_" + token] = rest.pop(0)
        else:
            raise ParseError(f"Invalid text style - {text}", param=key)
    return TextStyle(font_family=family, font_size=int(size), **options)


def _format_style(style: TextStyle) -> str:
    parts = [quote(style.font_family, safe=""), str(style.font_size)]
    if style.font_weight != "normal":
        parts.append(style.font_weight)
    if style.font_style != "normal":
        parts.append(style.font_style)
    if style.text_decoration != "none":
        parts.append(style.text_decoration)
    if style.text_align:
        parts.append(style.text_align)
    if style.stroke:
        parts.append("stroke")
    if style.letter_spacing is not None:
        parts.append("letter_spacing_" + format_number(style.letter_spacing))
    if style.line_spacing is not None:
        parts.append("line_spacing_" + format_number(style.line_spacing))
    if style.font_antialias:
        parts.append("antialias_" + style.font_antialias)
    if style.font_hinting:
        parts.append("hinting_" + style.font_hinting)
    return "_".join(parts)


def _text_layer(key: str, rest: str) -> Layer:
    style_text, sep, text = rest.partition(":")
    if not sep or not text:
        raise ParseError(f"Invalid layer - text:{rest}", param=key)
    if VARIABLE_NAME.fullmatch(style_text):  # `l_text:$style:…`, the style set by `$style_!Arial_12!`
        return Layer(kind="text", style_variable=style_text, text=_decode(text))
    return Layer(kind="text", style=_style(key, style_text), text=_decode(text))


def parse_text_style(text: str) -> TextStyle:
    """A style as written in a URL or a `$variable` (`Arial_40_bold`)."""
    return _style("l", text)


def _fetch_layer(key: str, encoded: str, resource_type: str) -> Layer:
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ParseError(f"Invalid layer - fetch:{encoded}", param=key) from None
    if not re.match(r"https?://", url):
        raise ParseError(f"Invalid layer - fetch:{encoded}", param=key)
    return Layer(kind="fetch", url=url, resource_type=resource_type)


def _subtitles_layer(key: str, parts: list[str]) -> Layer:
    """`subtitles:[Font_Size:]folder:file.srt`: a raw subtitle file, optionally with its font."""
    style = None
    if len(parts) > 1 and _SUBTITLE_STYLE.fullmatch(parts[0]):
        style = _style(key, parts.pop(0))
    public_id = unquote("/".join(parts))
    if not all(_ID_PART.fullmatch(part) for part in parts) or not all(public_id.split("/")):
        raise ParseError(f"Invalid layer - subtitles:{':'.join(parts)}", param=key)
    return Layer(kind="subtitles", public_id=public_id, resource_type="raw", style=style)


# A subtitle layer's font: `Arial_20` (family and size, then the text styles' options).
_SUBTITLE_STYLE = re.compile(r"[^_:.]{1,100}_\d{1,4}(?:_[A-Za-z0-9_.\-]{1,100})?")


def parse_layer(key: str, text: str) -> Layer:
    """`sample`, `brand:logo.png`, `private:logo`, `text:Arial_40_bold:Hi`, `fetch:<b64>`."""
    if text.startswith("text:"):
        return _text_layer(key, text[5:])
    parts = text.split(":")
    resource_type = parts.pop(0) if len(parts) > 1 and parts[0] in STORED_RESOURCE_TYPES else "image"
    if parts and parts[0] == "fetch" and len(parts) == 2:
        return _fetch_layer(key, parts[1], resource_type)
    if parts and parts[0] == "subtitles" and len(parts) >= 2:
        return _subtitles_layer(key, parts[1:])
    delivery_type = parts.pop(0) if len(parts) > 1 and parts[0] in STORED_DELIVERY_TYPES else "upload"
    if not parts or not all(_ID_PART.fullmatch(part) for part in parts):
        raise ParseError(f"Invalid layer - {text}", param=key)
    public_id = unquote("/".join(parts))
    if not all(public_id.split("/")) or public_id != public_id.strip():
        raise ParseError(f"Invalid layer - {text}", param=key)
    stem, dot, extension = public_id.rpartition(".")
    fmt = None
    if dot and stem and extension.lower() in IMAGE_FORMATS:
        public_id, fmt = stem, extension.lower()
    return Layer(kind="image", public_id=public_id, format=fmt, resource_type=resource_type, delivery_type=delivery_type)


def _escape_once_decoded(text: str) -> str:
    """The text as it must read after the URL's first decode: the second (lenient) decode
    must give `text` back, so a `%` that precedes two hex digits is escaped, and `,` and
    `/` are escaped as the SDKs do (`%2C` here, `%252C` in the URL)."""
    text = re.sub(r"%(?=[0-9A-Fa-f]{2})", "%25", text)
    return text.replace(",", "%2C").replace("/", "%2F")


def format_layer(layer: Layer) -> str:
    if layer.kind == "text":
        assert layer.text is not None
        text = quote(_escape_once_decoded(layer.text), safe="")
        if layer.style_variable:
            style = layer.style_variable
        else:
            assert layer.style is not None  # a text layer has a style or a style variable
            style = _format_style(layer.style)
        return f"text:{style}:{text}"
    prefix = "" if layer.resource_type == "image" else layer.resource_type + ":"
    if layer.kind == "fetch":
        assert layer.url is not None
        return prefix + "fetch:" + base64.urlsafe_b64encode(layer.url.encode()).decode()
    if layer.kind == "subtitles":
        style = _format_style(layer.style) + ":" if layer.style is not None else ""
        return "subtitles:" + style + quote(layer.public_id or "", safe="/").replace("/", ":")
    if layer.delivery_type != "upload":
        prefix += layer.delivery_type + ":"
    public_id = quote(layer.public_id or "", safe="/").replace("/", ":")
    return prefix + public_id + ("." + layer.format if layer.format else "")
