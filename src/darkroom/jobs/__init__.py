"""darkroom's durable jobs: a journal in the catalog, huey (SQLite or Redis) as the queue.

Knows no use case: `media.tasks` registers handlers by name and hands a `Runner` to a
`Consumer`. `JobQueue.enqueue(name, payload)` is what use cases call (`services.jobs`).
"""

from darkroom.jobs.consumer import Consumer, Runner, retry_delay
from darkroom.jobs.queue import JobQueue
from darkroom.jobs.transport import Transport

__all__ = ["Consumer", "JobQueue", "Runner", "Transport", "retry_delay"]
