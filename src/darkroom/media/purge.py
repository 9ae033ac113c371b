"""Telling a CDN or caching proxy to drop what it holds of an asset (`invalidate=true`).

Delivery labels every answer with `Surrogate-Key: asset:ID public_id:CLOUD/ID cloud:CLOUD`
(`surrogate_keys`), so a cache that understands surrogate keys (Fastly, Varnish with a ban
on the header) can drop every derivative of one asset at once. When a destroy, rename,
explicit or overwriting upload says `invalidate=true`, `purge_cached` sends one request:
`DARKROOM_PURGE_METHOD` (PURGE or BAN) to `DARKROOM_PURGE_URL` with `{cloud}`,
`{resource_type}`, `{type}`, `{public_id}` and `{asset_id}` filled in, and the asset's
keys in a `Surrogate-Key` header. No URL configured: nothing is sent.

A purge that fails is logged, never an error for the API call: the write has happened, and
versioned URLs change with every overwrite anyway (the CDN's copy of the old one is simply
never asked for again); the unversioned ones expire on their short max-age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = ["Cached", "purge_cached", "surrogate_keys"]

log = logging.getLogger(__name__)

PURGE_TIMEOUT = 5.0  # seconds; a slow CDN API does not hold up the API call longer


@dataclass(frozen=True)
class Cached:
    """What names an asset in caches: its identity, and its asset ID when known."""

    cloud: str
    resource_type: str
    type: str
    public_id: str
    asset_id: str = ""


def surrogate_keys(cloud: str, public_id: str, asset_id: str) -> str:
    """The Surrogate-Key header of an asset's deliveries: space-separated, no spaces inside a key."""
    keys = [f"public_id:{cloud}/{quote(public_id, safe='/')}", f"cloud:{cloud}"]
    if asset_id:
        keys.insert(0, f"asset:{asset_id}")
    return " ".join(keys)


async def purge_cached(services: Services, asset: Cached) -> bool:
    """Ask the configured cache to drop the asset; True if it answered 2xx (False, or nothing configured)."""
    settings = services.settings
    if not settings.purge_url:
        return False
    url = settings.purge_url.format(
        cloud=quote(asset.cloud, safe=""), resource_type=asset.resource_type, type=asset.type,
        public_id=quote(asset.public_id, safe="/"), asset_id=asset.asset_id,
    )
    headers = {"Surrogate-Key": surrogate_keys(asset.cloud, asset.public_id, asset.asset_id)}
    try:
        # The operator's URL exactly: no proxy from the environment, no redirect elsewhere.
        async with httpx.AsyncClient(timeout=PURGE_TIMEOUT, trust_env=False, follow_redirects=False) as client:
            answer = await client.request(settings.purge_method, url, headers=headers)
    except httpx.HTTPError as error:
        log.warning("purge of %s failed: %s", asset.public_id, error)
        return False
    if not answer.is_success:
        log.warning("purge of %s answered %s", asset.public_id, answer.status_code)
    return answer.is_success
