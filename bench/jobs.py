"""What the job journal costs: jobs per second through darkroom's queue against huey alone.

    .venv/bin/python bench/jobs.py                  # SQLite queue, then Redis if 127.0.0.1:6379 answers
    .venv/bin/python bench/jobs.py --jobs 1000 --redis-url redis://127.0.0.1:6379/13

For each transport, in the same run: the baseline pushes N job ids through huey and pops them
(no journal); darkroom enqueues N jobs (a journal row, then the message) and one consumer
(DARKROOM_JOB_CONCURRENCY runners) claims, runs a no-op handler and records each one done.
The ratio is darkroom's rate over the baseline's. The journal is SQLite in bench/.work/.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import anyio
import redis

from darkroom.catalog import jobs as journal
from darkroom.config import Settings
from darkroom.jobs import Transport
from darkroom.media import tasks
from darkroom.media.services import Services, build_services
from darkroom.media.tasks import job_handler

WORK = Path(__file__).parent / ".work" / "jobs"


@job_handler("bench.noop")
async def noop(_services: Services, _payload: dict[str, Any]) -> None:
    pass


def baseline(settings: Settings, count: int) -> float:
    """Job ids per second through huey alone: push all, then pop all."""
    transport = Transport(settings)
    transport.flush()
    started = time.perf_counter()
    for n in range(count):
        transport.push(f"id{n}")
    popped = 0
    while popped < count:
        popped += transport.pop() is not None
    elapsed = time.perf_counter() - started
    transport.flush()
    return count / elapsed


def through_darkroom(services: Services, count: int) -> float:
    """Jobs per second from the first enqueue to the last one recorded done."""

    async def main() -> float:
        started = time.perf_counter()
        for n in range(count):
            await services.jobs.enqueue("bench.noop", {"n": n})
        stopping = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(tasks.consume, services, stopping)
            while (await services.jobs.call(journal.job_counts)).get("done", 0) < count:
                await anyio.sleep(0.02)
            elapsed = time.perf_counter() - started
            stopping.set()
        return count / elapsed

    return anyio.run(main)


def measure(name: str, settings: Settings, count: int) -> None:
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    base = baseline(settings, count)
    services = build_services(settings)
    services.jobs.transport.flush()
    rate = through_darkroom(services, count)
    services.jobs.transport.flush()
    services.engine.dispose()
    print(f"{name:7} huey alone {base:8.0f} ids/s   darkroom {rate:7.0f} jobs/s   ratio {rate / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    measure("sqlite", Settings(data_dir=WORK / "sqlite"), args.jobs)
    try:
        redis.Redis.from_url(args.redis_url).ping()
    except redis.RedisError:
        print("redis   skipped: no answer at", args.redis_url)
        return
    measure("redis", Settings(data_dir=WORK / "redis", redis_url=args.redis_url), args.jobs)


if __name__ == "__main__":
    main()
