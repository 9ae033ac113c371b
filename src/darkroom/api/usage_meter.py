"""Delivery usage counted in memory and added to the catalog every few seconds.

`usage()` reports each cloud's delivery requests and bandwidth. A database write per image
request would cost more than the request itself (a cached hit is a tenth of a millisecond), so
each process counts per cloud in memory and adds its counts in one transaction every
`DARKROOM_USAGE_FLUSH_SECONDS`, and once more at shutdown. A crash loses at most that interval's
counts; a failed write keeps them for the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio

from darkroom.media.services import Services
from darkroom.catalog import usage

__all__ = ["UsageMeter"]

log = logging.getLogger(__name__)


class UsageMeter:
    """Per-cloud delivery counts since the last flush. Used from the event loop only."""

    def __init__(self, flush_seconds: float) -> None:
        self.flush_seconds = flush_seconds
        self._pending: dict[str, list[int]] = {}  # cloud -> [requests, body bytes]

    def delivered(self, cloud: str, sent_bytes: int) -> None:
        counts = self._pending.get(cloud)
        if counts is None:
            counts = self._pending[cloud] = [0, 0]
        counts[0] += 1
        counts[1] += sent_bytes

    async def flush(self, services: Services) -> None:
        """Add what was counted to the catalog; on failure keep it for the next flush.

        Counts are dated when flushed: a request just before midnight may land on the next day.
        """
        if not self._pending:
            return
        taken, self._pending = self._pending, {}
        day = datetime.now(UTC).date()
        counts = [usage.DeliveryCount(cloud, day, requests, sent) for cloud, (requests, sent) in taken.items()]
        try:
            await services.db(usage.add_delivery_usage, counts)
        except Exception:
            log.warning("delivery usage not recorded; retrying with the next flush", exc_info=True)
            for cloud, (requests, sent) in taken.items():
                counts_now = self._pending.setdefault(cloud, [0, 0])
                counts_now[0] += requests
                counts_now[1] += sent

    @contextlib.asynccontextmanager
    async def flushing(self, services: Services) -> AsyncIterator[None]:
        """Flush every `flush_seconds` while the app runs, and once more when it stops."""
        stop = asyncio.Event()
        flusher = asyncio.get_running_loop().create_task(self._flush_until(stop, services))
        try:
            yield
        finally:
            stop.set()
            await flusher

    async def _flush_until(self, stop: asyncio.Event, services: Services) -> None:
        while not stop.is_set():
            with anyio.move_on_after(self.flush_seconds):
                await stop.wait()
            await self.flush(services)
