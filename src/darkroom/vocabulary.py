"""Cloudinary's words for kinds of asset and ways of delivering them, named once for every part.

A stored asset has a resource type (what it is) and a delivery type (who may fetch it, and how).
Requests accept a few more words than storage holds: an upload may say `auto` and let the bytes
decide; an archive may say `all`; a delivery URL may name a type darkroom generates on request.

    STORED_RESOURCE_TYPES     image, raw, video: what an asset is
    UPLOAD_RESOURCE_TYPES     … and auto (the Upload API sniffs the file)
    ARCHIVE_RESOURCE_TYPES    … and all, auto (generate_archive)
    STORED_DELIVERY_TYPES     upload, private, authenticated: how an asset is stored
    SIGNED_DELIVERY_TYPES     private, authenticated: delivered only with a signature
    GENERATED_DELIVERY_TYPES  text, sprite, multi: made by the generation actions
    DELIVERY_URL_TYPES        stored and generated types: what a delivery URL may name
"""

from __future__ import annotations

__all__ = [
    "ARCHIVE_RESOURCE_TYPES",
    "DELIVERY_URL_TYPES",
    "GENERATED_DELIVERY_TYPES",
    "SIGNED_DELIVERY_TYPES",
    "STORED_DELIVERY_TYPES",
    "STORED_RESOURCE_TYPES",
    "UPLOAD_RESOURCE_TYPES",
]

# In the order the Admin API lists them (`GET /resources`).
STORED_RESOURCE_TYPES = ("image", "raw", "video")
UPLOAD_RESOURCE_TYPES = (*STORED_RESOURCE_TYPES, "auto")
ARCHIVE_RESOURCE_TYPES = (*STORED_RESOURCE_TYPES, "all", "auto")

STORED_DELIVERY_TYPES = ("upload", "private", "authenticated")
SIGNED_DELIVERY_TYPES = ("private", "authenticated")
GENERATED_DELIVERY_TYPES = ("text", "sprite", "multi")
DELIVERY_URL_TYPES = (*STORED_DELIVERY_TYPES, *GENERATED_DELIVERY_TYPES)
