"""Enqueueing jobs: a journal row first, then a message on the queue.

The order matters: once the row is committed the job cannot be lost — if the message
never reaches the queue (a crash between the two, Redis down), a worker's sweep finds the
row and pushes it (`catalog.jobs.jobs_to_push`).
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from darkroom.catalog import jobs as journal
from darkroom.catalog.db import Engine
from darkroom.config import Settings
from darkroom.jobs.transport import Transport

__all__ = ["JobQueue"]

log = logging.getLogger("darkroom.jobs")

T = TypeVar("T")


class JobQueue:
    """`services.jobs`: enqueue a job by handler name; read the journal's counts."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._transport: Transport | None = None
        self._on_push: list[Callable[[], None]] = []  # this process's consumers, woken at once

    @property
    def transport(self) -> Transport:
        """Opened on first use: most processes that build services never touch the queue."""
        if self._transport is None:
            self._transport = Transport(self.settings)
        return self._transport

    async def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        """Record a job for the handler `name` and wake a worker; returns the job's id.
        `payload` must be JSON (a TypeError here, not in a worker later)."""
        json.dumps(payload)
        job_id = secrets.token_hex(16)
        await self.call(journal.add_job, job_id, name, payload, datetime.now(UTC))
        try:
            await anyio.to_thread.run_sync(self.transport.push, job_id)
        except Exception:  # noqa: BLE001 - the journal has it; a worker's sweep pushes it later
            log.warning("job %s (%s) recorded but not queued; the sweep will queue it", job_id, name, exc_info=True)
        for wake in self._on_push:
            wake()
        return job_id

    def on_push(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` (on the event loop) after each enqueue in this process, so a consumer
        here need not wait for its next look at a queue it polls; returns the unsubscriber."""
        self._on_push.append(wake)
        return lambda: self._on_push.remove(wake)

    async def counts(self) -> dict[str, int]:
        """Jobs per state in the journal: queued, running, done, failed."""
        return await self.call(journal.job_counts)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a journal function (blocking SQL) in a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(function, self.engine, *args))
