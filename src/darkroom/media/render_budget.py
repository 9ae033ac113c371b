"""The process-wide memory budget renders are admitted into, in the order they asked.

Every render (a derivative, a frame of a sprite or an animation) first reserves the bytes
`imaging.render_memory_bytes` estimates from its source's header. While the renders running
hold the budget, the next one waits — without a thread and without polling, on a future the
release that makes room resolves — and the queue is first come, first served: a large render
at the head is not overtaken forever by small ones. A render that needs more than the whole
budget can never run and is refused at once (`RenderTooLarge`, a 400).

    async with services.render_budget.reserve(estimate):
        rendered = await anyio.to_thread.run_sync(...)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from darkroom.errors import TooLarge
from darkroom.imaging.memory import release_freed_memory

__all__ = ["RenderBudget", "RenderTooLarge"]

MIB = 1024 * 1024
# After a render at least this large, freed heap pages go back to the system (`malloc_trim`):
# glibc would keep them, and the process's resident size would stay at its peak.
TRIM_AFTER_BYTES = 64 * MIB


class RenderTooLarge(TooLarge):
    """One render would need more memory than this server allows all renders together."""


@dataclass
class _Waiter:
    need: int
    ready: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class RenderBudget:
    """Bytes renders may hold at once; see the module docstring."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.in_use = 0
        self._queue: collections.deque[_Waiter] = collections.deque()

    @contextlib.asynccontextmanager
    async def reserve(self, need: int) -> AsyncIterator[None]:
        """Hold `need` bytes of the budget for the block, waiting in line for them."""
        if need > self.total_bytes:
            raise RenderTooLarge(
                "Image too large to transform",
                detail=f"needs an estimated {need // MIB} MiB; DARKROOM_RENDER_MEMORY_MB is {self.total_bytes // MIB}",
            )
        await self._acquire(need)
        try:
            yield
        finally:
            self._release(need)
            if need >= TRIM_AFTER_BYTES:
                # Off the event loop (5–20 ms after a large render), and nothing waits for it.
                asyncio.get_running_loop().run_in_executor(None, release_freed_memory)

    async def _acquire(self, need: int) -> None:
        if not self._queue and self.in_use + need <= self.total_bytes:
            self.in_use += need
            return
        waiter = _Waiter(need)
        self._queue.append(waiter)
        try:
            await waiter.ready  # resolved by `_admit`, which has counted `need` in use
        except asyncio.CancelledError:
            if waiter.ready.done() and not waiter.ready.cancelled():
                self._release(need)  # admitted just as it was cancelled: give the bytes back
            else:
                with contextlib.suppress(ValueError):  # `_admit` may have dropped it already
                    self._queue.remove(waiter)
                self._admit()  # it may have been the head that held others back
            raise

    def _release(self, need: int) -> None:
        self.in_use -= need
        self._admit()

    def _admit(self) -> None:
        """Let in waiters from the head of the line while they fit."""
        while self._queue and self.in_use + self._queue[0].need <= self.total_bytes:
            waiter = self._queue.popleft()
            if waiter.ready.done():
                continue  # cancelled while waiting: its task removes nothing more
            self.in_use += waiter.need
            waiter.ready.set_result(None)

    @property
    def waiting(self) -> int:
        return len(self._queue)
