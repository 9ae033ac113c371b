"""The per-process caches, in one object with one `forget()`.

Each darkroom process keeps a few memories in front of the database and the blob store, so
that delivery's hot path costs memory reads, not round trips:

| cache | holds | stale after a write? |
|---|---|---|
| `derivatives` | rendered derivatives (memory tier), renders in flight | never: keyed by the asset's version_id |
| `video_derivatives` | video renders in flight (the files are in the blob store) | never: keyed by the asset's version_id |
| `asset_lookup` | assets delivery just looked up, for `LOOKUP_TTL` | yes: a destroy, rename or overwrite |
| `rules_lookup` | each cloud's delivery rules, for `LOOKUP_TTL` | yes: strict mode, named transformations |
| `hot_responses` | whole answers to repeated image requests | yes: as the two above |
| `streaming` | records of stored HLS/DASH segments, segment encodes in flight | yes: a purge of derivatives |
| `cloud_settings` | each cloud's settings object for the Admin API (rate limit, folder mode, backups), for `CLOUD_SETTINGS_TTL` | yes: a settings change |
| decoded sources (`imaging.decoded`) | decoded pixels of recent originals, sized here | never: keyed by the original's storage key |
| libvips' operation cache (`imaging.memory`) | recent libvips operations, bounded here | never: keyed by file and arguments |

A new cache goes here, with a line in that table, and into `forget()` if a write can make
what it holds wrong. Writes made through this process call `forget()` (the edges'
`ForgetOnWrite`, through `Services.forget_everywhere`); writes made by another process are
seen at once when the deployment shares a Redis (its announcement reaches this process's
listener, `media.shared_state`), else within `LOOKUP_TTL`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from darkroom.config import Settings
from darkroom.imaging import decoded as decoded_sources
from darkroom.imaging.memory import configure_libvips
from darkroom.media.derivatives import DerivativeCache
from typing import Any

from darkroom.media.lookups import AssetLookup, HotResponses, Recent, RulesLookup
from darkroom.media.video_derivatives import VideoDerivatives
from darkroom.media.streaming import SegmentWork

__all__ = ["Caches"]

# libvips' own operation cache: small, since the memories above keep what is worth keeping.
LIBVIPS_CACHE_BYTES = 32 * 1024 * 1024
CLOUD_SETTINGS_TTL = 2.0  # seconds; writes through any node forget it at once


@dataclass
class Caches:
    derivatives: DerivativeCache
    asset_lookup: AssetLookup
    rules_lookup: RulesLookup
    hot_responses: HotResponses
    video_derivatives: VideoDerivatives = field(default_factory=VideoDerivatives)
    streaming: SegmentWork = field(default_factory=SegmentWork)
    cloud_settings: Recent[str, dict[str, Any]] = field(default_factory=lambda: Recent(CLOUD_SETTINGS_TTL, max_entries=10_000))

    @classmethod
    def from_settings(cls, settings: Settings) -> Caches:
        """Fresh caches sized by the settings (the decoded-sources memory is the renderer's own)."""
        decoded_sources.configure(settings.decoded_cache_mb * 1024 * 1024)
        configure_libvips(LIBVIPS_CACHE_BYTES)
        return cls(
            derivatives=DerivativeCache(render_concurrency=settings.render_concurrency),
            asset_lookup=AssetLookup(),
            rules_lookup=RulesLookup(),
            hot_responses=HotResponses(),
            video_derivatives=VideoDerivatives(settings.video_concurrency, settings.video_timeout),
            streaming=SegmentWork(settings.video_concurrency),  # 0: one encode per core
        )

    def forget(self) -> None:
        """Drop everything a write may have made stale (see the table above)."""
        self.asset_lookup.forget_all()
        self.rules_lookup.forget_all()
        self.hot_responses.forget_all()
        self.streaming.forget_all()
        self.cloud_settings.forget_all()
