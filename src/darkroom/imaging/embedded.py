"""Metadata embedded in an image file (EXIF and XMP), as the Admin API's `image_metadata` shows it.

Cloudinary answers `image_metadata=true` with the tags ExifTool finds, flat and named as
ExifTool names them (`Make`, `Model`, `DateTimeOriginal`, `Rating`, …), every value a string.
libvips already parses EXIF while reading the header (`exif-ifd0-Make` and friends) and keeps
XMP as a blob, so this reads the header only — no pixels are decoded.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree

import pyvips

from darkroom.imaging.errors import InvalidImage

__all__ = ["embedded_metadata", "exif_value"]

MAX_XMP_BYTES = 256 * 1024  # larger XMP packets are skipped rather than parsed

# libvips renders each EXIF entry as "raw (readable, Type, N components, M bytes)".
_EXIF_ENTRY = re.compile(r"^(?P<raw>.*?) \((?P<readable>.*), [A-Za-z ]+, \d+ components?, \d+ bytes\)$", re.DOTALL)
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_SKIPPED_NAMESPACES = (_RDF, "adobe:ns:meta/", "http://www.w3.org/XML/1998/namespace")
_INTERPRETATIONS = {"srgb": "RGB", "b-w": "Gray", "grey16": "Gray", "cmyk": "CMYK", "rgb16": "RGB", "lab": "Lab"}


def embedded_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """{tag: value} from the file's header: a few basics, then its EXIF, then its XMP."""
    try:
        image = pyvips.Image.new_from_file(str(path))
    except pyvips.Error as error:
        raise InvalidImage("Image metadata could not be read", detail=str(error)) from None
    fields = set(image.get_fields())
    found: dict[str, str] = {"Colorspace": _INTERPRETATIONS.get(str(image.interpretation), str(image.interpretation))}
    if image.xres > 0:
        found["DPI"] = str(round(image.xres * 25.4))
    for name in sorted(fields):
        if name.startswith("exif-ifd"):
            tag = name.split("-", 2)[2]
            found[tag] = exif_value(str(image.get(name)))
    if "xmp-data" in fields:
        found.update(_xmp_tags(bytes(image.get("xmp-data"))))
    return found


def exif_value(rendered: str) -> str:
    """The value of one libvips EXIF field: the readable form, or the raw one where libexif has none."""
    match = _EXIF_ENTRY.match(rendered)
    if not match:
        return rendered.strip()
    readable = match.group("readable").strip()
    if not readable or readable.startswith("Internal error"):
        return match.group("raw").strip()
    return readable


def _xmp_tags(packet: bytes) -> dict[str, str]:
    """Simple XMP properties: attributes of rdf:Description and leaf elements (lists joined by ", ")."""
    if len(packet) > MAX_XMP_BYTES or b"<!ENTITY" in packet:
        return {}
    try:
        root = ElementTree.fromstring(packet.rstrip(b"\0"))
    except ElementTree.ParseError:
        return {}
    tags: dict[str, str] = {}
    for element in root.iter():
        namespace, name = _split(element.tag)
        if namespace == _RDF and name == "Description":
            for attribute, value in element.attrib.items():
                attribute_namespace, attribute_name = _split(attribute)
                if attribute_namespace not in _SKIPPED_NAMESPACES:
                    tags[_exiftool_name(attribute_name)] = value
        elif namespace not in _SKIPPED_NAMESPACES:
            value = _property_value(element)
            if value:
                tags[_exiftool_name(name)] = value
    return tags


def _property_value(element: ElementTree.Element) -> str:
    items = [li.text.strip() for li in element.iter(f"{{{_RDF}}}li") if li.text and li.text.strip()]
    if items:
        return ", ".join(items)
    if len(element) == 0 and element.text:
        return element.text.strip()
    return ""


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _exiftool_name(name: str) -> str:
    """XMP's `dc:title` is ExifTool's `Title`."""
    return name[:1].upper() + name[1:]
