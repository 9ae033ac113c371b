"""A consumer: runs jobs from the queue, renews their leases, retries failures with back-off.

One runs inside each `darkroom serve` process (unless DARKROOM_JOBS_IN_PROCESS=false) and in
each `darkroom worker`. Each has `job_concurrency` runners and one sweeper:

- a runner pops a job id, claims the job in the journal (so a duplicate message is a no-op),
  runs its handler while a heartbeat renews the lease, then records done, a retry at
  `retry_seconds × 2^(attempt-1)`, or failed after the last attempt;
- the sweeper pushes what the journal says is due: retries, jobs whose lease expired (their
  worker died: huey had already dropped the message), messages lost or never sent.

Stopping: set the `stopping` event; runners take no new job and finish the one they hold.
A runner cancelled mid-job (the grace ran out) gives the job back at once, uncounted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from darkroom.catalog import jobs as journal
from darkroom.catalog.jobs import JobRecord
from darkroom.errors import Invalid, NotFound
from darkroom.jobs.queue import JobQueue

__all__ = ["Consumer", "Runner", "retry_delay"]

log = logging.getLogger("darkroom.jobs")

# Runs one job: the handler registered under `name`, given the payload. Raising retries.
Runner = Callable[[str, dict[str, Any]], Awaitable[None]]

POLL_SECONDS = 0.5  # between looks at a queue that cannot block (SQLite)
ERROR_PAUSE_SECONDS = 1.0  # after the queue or the journal failed, before trying again
PRUNE_SECONDS = 600.0  # between deletions of old finished jobs from the journal
KEEP_DONE = timedelta(days=1)
KEEP_FAILED = timedelta(days=30)
MAX_RETRY_SECONDS = 3600.0


def retry_delay(first_delay: float, attempt: int) -> float:
    """Seconds before retrying after failed run number `attempt` (1, 2, …): doubled each time."""
    return min(first_delay * math.pow(2, attempt - 1), MAX_RETRY_SECONDS)


class Consumer:
    def __init__(self, queue: JobQueue, run: Runner) -> None:
        settings = queue.settings
        self.queue = queue
        self.run_job = run
        self.concurrency = settings.job_concurrency
        self.lease_seconds = settings.job_lease_seconds
        self.retry_seconds = settings.job_retry_seconds
        self.max_attempts = settings.job_max_attempts
        self.sweep_seconds = min(1.0, self.lease_seconds / 4)
        self._wake = anyio.Event()  # set by an enqueue in this process, or by the stop

    async def run(self, stopping: anyio.Event) -> None:
        """Consume until `stopping` is set and the jobs in hand are finished."""
        unsubscribe = self.queue.on_push(self._wake_runners)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._sweeper, stopping)
                group.start_soon(self._wake_on, stopping)
                async with anyio.create_task_group() as runners:
                    for _ in range(self.concurrency):
                        runners.start_soon(self._runner, stopping)
                group.cancel_scope.cancel()  # every runner has stopped: so may the sweeper
        finally:
            unsubscribe()

    def _wake_runners(self) -> None:
        self._wake.set()

    async def _wake_on(self, stopping: anyio.Event) -> None:
        await stopping.wait()
        self._wake_runners()

    async def _idle(self) -> None:
        """Wait for an enqueue in this process, a stop, or POLL_SECONDS (another process's enqueue)."""
        with anyio.move_on_after(POLL_SECONDS):
            await self._wake.wait()
        if self._wake.is_set():
            self._wake = anyio.Event()

    async def _runner(self, stopping: anyio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._take_one()
            except Exception:  # noqa: BLE001 - the queue or the database is down: a server must not die of it
                log.warning("job consumer: the queue or the journal failed; trying again shortly", exc_info=True)
                with anyio.move_on_after(ERROR_PAUSE_SECONDS):
                    await stopping.wait()

    async def _take_one(self) -> None:
        """Pop one message and run its job if this runner wins the claim (else the message was
        a duplicate, or the job is not due yet: the journal will push it again)."""
        transport = self.queue.transport
        job_id = await anyio.to_thread.run_sync(transport.pop, abandon_on_cancel=True)
        if job_id is None:
            if not transport.blocking:
                await self._idle()
            return
        record = await self.queue.call(journal.claim_job, job_id, _now(), self.lease_seconds)
        if record is not None:
            await self._run_claimed(record)

    async def _run_claimed(self, record: JobRecord) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._keep_lease, record)
            try:
                await self.run_job(record.name, record.payload)
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True):
                    await self.queue.call(journal.release_job, record.id, record.attempts, _now())
                raise
            except Exception as error:  # noqa: BLE001 - any failure of a handler is a retry (or final: see _failed)
                await self._failed(record, error)
            else:
                await self.queue.call(journal.finish_job, record.id, record.attempts, _now())
            group.cancel_scope.cancel()

    async def _failed(self, record: JobRecord, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"[:2000]
        retry_at = None
        # Bad input or a thing that is gone fails the same way every time: final at once.
        permanent = isinstance(error, (Invalid, NotFound))
        if record.attempts < self.max_attempts and not permanent:
            retry_at = _now() + timedelta(seconds=retry_delay(self.retry_seconds, record.attempts))
        log.warning(
            "job %s (%s) attempt %d failed: %s; %s", record.id, record.name, record.attempts, text,
            f"retry at {retry_at:%H:%M:%S}" if retry_at else "a permanent error, not retried" if permanent else "giving up",
            exc_info=error,
        )
        await self.queue.call(journal.retry_or_fail, record.id, record.attempts, text, retry_at, _now())

    async def _keep_lease(self, record: JobRecord) -> None:
        """Renew the claim while the handler runs, so only a dead worker's job expires."""
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            until = _now() + timedelta(seconds=self.lease_seconds)
            if not await self.queue.call(journal.renew_lease, record.id, record.attempts, until):
                log.warning("job %s lost its lease (taken over after an expiry)", record.id)
                return

    async def _sweeper(self, stopping: anyio.Event) -> None:
        pruned_at = -math.inf  # prune on the first round
        while not stopping.is_set():
            now = _now()
            try:
                due = await self.queue.call(journal.jobs_to_push, now, now - timedelta(seconds=self.lease_seconds), self.max_attempts)
                for job_id in due:
                    await anyio.to_thread.run_sync(self.queue.transport.push, job_id)
                if anyio.current_time() - pruned_at > PRUNE_SECONDS:
                    pruned_at = anyio.current_time()
                    await self.queue.call(journal.forget_finished, now - KEEP_DONE, now - KEEP_FAILED)
            except Exception:  # noqa: BLE001 - a database or Redis hiccup: try again next round
                log.warning("job sweep failed", exc_info=True)
            with anyio.move_on_after(self.sweep_seconds):
                await stopping.wait()


def _now() -> datetime:
    return datetime.now(UTC)
