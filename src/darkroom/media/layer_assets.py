"""The stored asset a transformation's layer (`l_…`, `u_…`) names, for images and video alike.

A layer's pixels end up in a derivative anyone with the URL can fetch, so only an asset that
is itself public may be one: delivery type `upload` (a layer URL names no other type a
client could sign for), access_mode `public`, and not rejected by moderation. Any other
asset is left out exactly like a missing one, so the renderer refuses the URL the same way
and a URL cannot tell a private asset from an absent one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkroom import catalog
from darkroom.catalog import Asset
from darkroom.catalog.moderation import overall_status

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = ["find_layer_asset"]


async def find_layer_asset(services: Services, cloud: str, resource_type: str, delivery_type: str, public_id: str) -> Asset | None:
    """The public `upload` asset a layer may use, or None (missing, or not public). A layer
    naming another delivery type (`l_video:authenticated:…`) is refused, never read as `upload`."""
    if delivery_type != "upload":
        return None
    stored = await services.db(catalog.get_asset, cloud, resource_type, "upload", public_id)
    if stored is None or stored.access_mode == "authenticated":
        return None
    if overall_status(stored.annotations.get("moderation") or []) == "rejected":
        return None
    return stored
