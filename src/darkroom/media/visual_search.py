"""Visual search: the cloud's indexed images ranked by closeness to a query's features.

The candidates (up to `catalog.relations.MAX_CANDIDATES`, uploaded with `visual_search=true`)
are ranked with numpy by `imaging.insights.visual_distance`; with thousands of them that is
CPU work, so it runs in a worker thread, off the event loop.
"""

from __future__ import annotations

from typing import Any

import anyio

from darkroom.catalog import Asset, relations
from darkroom.imaging import insights
from darkroom.media.services import Services

__all__ = ["VISUAL_RESULTS", "visually_nearest"]

VISUAL_RESULTS = 50  # resources a visual search answers, best first


async def visually_nearest(services: Services, cloud: str, query: dict[str, Any], itself: str = "") -> list[Asset]:
    """The cloud's indexed images nearest `query` first (at most VISUAL_RESULTS); among equally
    close ones, the asset whose asset_id is `itself` (the one asked by) first."""
    candidates = await services.db(relations.visual_candidates, cloud)
    return await anyio.to_thread.run_sync(_ranked, candidates, query, itself)


def _ranked(candidates: list[tuple[Asset, dict[str, Any]]], query: dict[str, Any], itself: str) -> list[Asset]:
    ranked = sorted(candidates, key=lambda pair: (insights.visual_distance(query, pair[1]), pair[0].asset_id != itself))
    return [asset for asset, _ in ranked[:VISUAL_RESULTS]]
