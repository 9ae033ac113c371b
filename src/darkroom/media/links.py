"""The delivery URLs darkroom's own pages and the CMS media store hand out.

Two things set them apart from the URLs in API replies: they use the scheme darkroom is
reached by (a page must load them, whatever `url`/`secure_url` say), and an asset that
only signed URLs deliver (private, authenticated, or an upload whose access mode is
authenticated) gets signed ones, made here with a secret of one of its cloud's active keys,
which never leaves the server. The console and the editor show such assets as an app with
the SDK's `sign_url` would.
"""

from __future__ import annotations

from dataclasses import dataclass

from darkroom import catalog
from darkroom.media.services import Services
from darkroom.media.shapes import delivery_path, needs_signed_url

__all__ = ["Links", "links_for"]


@dataclass(frozen=True)
class Links:
    origin: str
    signing_secret: str | None = None  # None when the cloud has no active key: signed assets then do not load

    def url(self, asset: catalog.Asset, transformation: str = "", fmt: str | None = None) -> str:
        secret = self.signing_secret if needs_signed_url(asset) else None
        return f"{self.origin}{delivery_path(asset, transformation, fmt, signing_secret=secret)}"


async def links_for(services: Services, origin: str, cloud: str) -> Links:
    """The cloud's links, signed with the secret delivery checks signatures against."""
    secrets = (await services.caches.rules_lookup.get(services, cloud)).url_secrets
    return Links(origin, str(secrets[0]) if secrets else None)
