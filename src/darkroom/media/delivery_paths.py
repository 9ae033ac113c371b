"""Splitting a delivery URL's path into its parts (pure).

    /{cloud}/{resource_type}/{type}/[s--SIG--/][TRANSFORMATION/…][vN/]{public_id}[.ext]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from darkroom.auth.requests import URL_SIGNATURE
from darkroom.errors import Invalid
from darkroom.transform import looks_like_transformation

__all__ = ["DeliveryPath", "split_delivery_path"]

_VERSION = re.compile(r"^v([0-9]+)$")
MAX_VERSION_DIGITS = 12  # versions are Unix seconds; a longer number is refused, not parsed


@dataclass(frozen=True)
class DeliveryPath:
    signature: str | None  # the whole "s--SIG--" component, if any
    transformation: str  # "/"-joined transformation components, "" for none
    version: int | None
    name: str  # public_id with its extension, unescaped
    signed_text: str  # what a URL signature covers: transformation/name, as escaped in the URL

    def candidates(self, resource_type: str) -> list[tuple[str, str | None]]:
        """(public_id, requested format) readings of `name`, most likely first."""
        stem, dot, ext = self.name.rpartition(".")
        if resource_type == "raw" or not dot or not stem or "/" in ext:
            return [(self.name, None)]
        return [(stem, ext.lower()), (self.name, None)]


def split_delivery_path(rest: str) -> DeliveryPath:
    """Split the part after /{cloud}/{resource_type}/{type}/."""
    segments = rest.split("/")
    signature = None
    if segments and URL_SIGNATURE.match(segments[0]):
        signature = segments.pop(0)
    transformations: list[str] = []
    while len(segments) > 1 and not _VERSION.match(segments[0]) and looks_like_transformation(unquote(segments[0])):
        transformations.append(segments.pop(0))
    version = None
    if len(segments) > 1 and _VERSION.match(segments[0]):
        digits = segments.pop(0)[1:]
        if len(digits) > MAX_VERSION_DIGITS:
            raise Invalid(f"Invalid version - v{digits[:32]}")
        version = int(digits)
    escaped_name = "/".join(segments)
    if not escaped_name:
        raise Invalid("Missing public_id in delivery URL")
    name = unquote(escaped_name)
    signed_text = "/".join([*transformations, escaped_name])
    return DeliveryPath(signature, unquote("/".join(transformations)), version, name, signed_text)
