"""The queue that carries job ids from `enqueue` to a worker: huey's storage, SQLite or Redis.

A message is only a wake-up call naming a job; the job itself is its row in the catalog's
journal (`catalog.jobs`). huey drops a message once a worker has taken it, so a worker that
dies mid-job loses the message but not the job: the journal pushes it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey

from darkroom.config import Settings

__all__ = ["QUEUE_NAME", "Transport"]

QUEUE_NAME = "darkroom-jobs"  # huey's name: the SQLite table rows' queue, the Redis keys' prefix
_POP_SECONDS = 1  # how long a Redis pop blocks before a worker looks at its stop flag


def _carry(job_id: str) -> None:
    """The one huey task: never executed by huey (workers run darkroom's handlers), it only
    gives the message a registered name and carries the job id as its argument."""


class Transport:
    """A huey instance used as a queue of job ids. Its calls block: run them in a thread."""

    def __init__(self, settings: Settings) -> None:
        huey: Any
        if settings.redis_url:
            huey = RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False, blocking=True, read_timeout=_POP_SECONDS)
        else:
            path = Path(settings.data_dir) / "jobs.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            # No fsync per message: the journal is the durable record, and a message lost with
            # the machine's power is pushed again from it. (With one, bench/jobs.py measured
            # huey alone at ~80 messages/s on this VM's disk; without, thousands.)
            huey = SqliteHuey(QUEUE_NAME, filename=str(path), results=False, fsync=False)
        self._huey = huey
        self._task = huey.task(name="darkroom.job")(_carry)

    @property
    def blocking(self) -> bool:
        """Whether `pop` waits for a message (Redis) or answers at once (SQLite: callers poll)."""
        return bool(self._huey.storage.blocking)

    def push(self, job_id: str) -> None:
        self._huey.enqueue(self._task.s(job_id))

    def pop(self) -> str | None:
        """The next job id on the queue, or None (after up to a second on Redis)."""
        task = self._huey.dequeue()
        return None if task is None else str(task.args[0])

    def pending(self) -> int:
        return int(self._huey.pending_count())

    def flush(self) -> None:
        """Empty the queue (tests, and an operator starting over)."""
        self._huey.storage.flush_all()
