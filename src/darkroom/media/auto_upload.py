"""Auto-upload, Cloudinary's lazy migration: a delivery URL under a mapped folder whose asset
does not exist yet is fetched from the mapping's origin, stored, and then served as usual.

`/{cloud}/image/upload/w_50/wiki/a/b/cat.png` with the folder `wiki` mapped to
`https://origin.example/media/` fetches `https://origin.example/media/a/b/cat.png` through the
same SSRF-checked fetch as an upload from a URL (`sources.fetch_remote`, allow-list
included) and ingests it as the `upload` asset `wiki/a/b/cat`, like any upload. Later
requests find the stored copy; the origin is not asked again. A fetch the origin or the
SSRF rules refuse, or bytes that are not a file of the URL's resource type, make the
delivery a 404 whose `X-Cld-Error` says so (the origin's address stays in the log).

Concurrent first requests for one asset fetch it once: the others wait for the first and
then find the asset it stored (`_SingleFlight`, per process; across processes the catalog
keeps the first one stored, since nothing is overwritten).
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio

from darkroom import catalog
from darkroom.catalog import Asset
from darkroom.catalog.upload_mappings import mapping_for
from darkroom.errors import Invalid, NotFound
from darkroom.media.delivery_paths import DeliveryPath
from darkroom.media.ingest import UploadOptions, ingest
from darkroom.media.services import Services
from darkroom.media.sources import fetch_remote

__all__ = ["fetch_mapped"]

log = logging.getLogger("darkroom.auto_upload")

# Characters kept as they are when the rest of the public ID becomes the origin URL's path.
_PATH_SAFE = "/!$&'()*+,;=:@~"

Identity = tuple[str, str, str]  # cloud, resource_type, public_id


class _SingleFlight:
    """One lock per asset being fetched, dropped when its last waiter leaves. Used only from
    the event loop, so the table needs no lock of its own."""

    def __init__(self) -> None:
        self._locks: dict[Identity, tuple[anyio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, identity: Identity) -> AsyncIterator[None]:
        lock, waiters = self._locks.get(identity, (None, 0))
        lock = lock or anyio.Lock()
        self._locks[identity] = (lock, waiters + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiters = self._locks[identity]
            if waiters == 1:
                del self._locks[identity]
            else:
                self._locks[identity] = (lock, waiters - 1)


_IN_FLIGHT = _SingleFlight()


async def fetch_mapped(
    services: Services, cloud: str, resource_type: str, type_: str, path: DeliveryPath
) -> tuple[Asset, str | None] | None:
    """The asset a delivery URL names, fetched from its upload mapping and stored, with the
    format the URL asks for; None when the URL is not under a mapped folder."""
    if type_ != "upload":
        return None
    public_id, requested_format = path.candidates(resource_type)[0]
    try:
        catalog.validate_public_id(public_id)
    except Invalid:
        return None  # no asset could have this ID: the URL's plain 404
    found = await services.db(mapping_for, cloud, path.name)
    if found is None:
        return None
    mapping, rest = found
    async with _IN_FLIGHT.hold((cloud, resource_type, public_id)):
        stored = await services.db(catalog.get_asset, cloud, resource_type, "upload", public_id)
        if stored is None:
            stored = await _fetch_and_store(services, cloud, resource_type, public_id, mapping.source_url(quote(rest, safe=_PATH_SAFE)))
    return stored, requested_format


async def _fetch_and_store(services: Services, cloud: str, resource_type: str, public_id: str, url: str) -> Asset:
    settings = services.settings
    try:
        spooled = await fetch_remote(
            url, services.spool_dir, max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout, allow=settings.fetch_allow
        )
        try:
            options = UploadOptions(
                resource_type=resource_type, public_id=public_id, overwrite=False, asset_folder=posixpath.dirname(public_id)
            )
            result = await ingest(services, cloud, spooled, options)
        finally:
            spooled.discard()
    except Invalid as refused:  # TooLarge included
        log.info("auto-upload of %s/%s from %s refused: %s", cloud, public_id, url, refused.message)
        raise NotFound(f"Resource not found - auto-upload of {public_id} failed", detail=refused.message) from refused
    return result.asset
