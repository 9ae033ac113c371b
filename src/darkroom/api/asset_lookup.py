"""A short-lived, per-process memory of assets that delivery has just looked up.

A cached hit is a memory copy; without this, every hit would first cost a database round
trip through the thread pool (bench/README.md, "Where darkroom's time goes"). Entries live
`ttl` seconds, and any state-changing request handled by this process empties the memory
at once (`ForgetOnWrite`), so a destroy, overwrite or rename is seen immediately here and
within `ttl` by other processes. Misses are never remembered: a new upload is served at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.types import ASGIApp, Receive, Scope, Send

from darkroom import catalog
from darkroom.api.services import Services
from darkroom.catalog import Asset

__all__ = ["AssetLookup", "ForgetOnWrite"]

Identity = tuple[str, str, str, str]  # cloud, resource_type, type, public_id


class AssetLookup:
    def __init__(self, ttl: float = 1.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[Identity, tuple[float, Asset]] = OrderedDict()

    async def get(self, services: Services, cloud: str, resource_type: str, type_: str, public_id: str) -> Asset | None:
        identity = (cloud, resource_type, type_, public_id)
        remembered = self._entries.get(identity)
        now = time.monotonic()
        if remembered is not None and now - remembered[0] < self.ttl:
            return remembered[1]
        asset = await services.db(catalog.get_asset, cloud, resource_type, type_, public_id)
        if asset is None:
            self._entries.pop(identity, None)
            return None
        self._entries[identity] = (now, asset)
        self._entries.move_to_end(identity)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return asset

    def forget_all(self) -> None:
        self._entries.clear()


class ForgetOnWrite:
    """ASGI middleware: after any request that may change state, forget remembered assets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                lookup = getattr(scope["app"].state, "asset_lookup", None) if "app" in scope else None
                if lookup is not None:
                    lookup.forget_all()
