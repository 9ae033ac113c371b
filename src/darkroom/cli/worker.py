"""`darkroom worker`: job consumers against the same database, store and queue as the servers."""

from __future__ import annotations

import logging
import logging.config
import signal

import anyio
import click

from darkroom.cli.options import data_dir_option, settings_for
from darkroom.media import tasks
from darkroom.media.services import Services, build_services
from darkroom.server import logging_config

__all__ = ["worker"]

log = logging.getLogger("darkroom.jobs")

STOP_GRACE = 30.0  # seconds the jobs in hand get to finish after SIGTERM; then they go back to the queue


@click.command()
@data_dir_option
@click.option("--concurrency", type=click.IntRange(min=1), default=None, metavar="N", help="Jobs at once (default: $DARKROOM_JOB_CONCURRENCY, 2).")
@click.option("--log-level", default="info", show_default=True, help="Log level.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Log lines as readable text, or as JSON objects (one a line).")
def worker(data_dir: str | None, concurrency: int | None, log_level: str, log_format: str) -> None:
    """Run jobs (eager renders, webhooks) until stopped.

    Runs jobs until SIGTERM or Ctrl-C. Uses the settings `darkroom serve` uses (DARKROOM_DATABASE_URL, DARKROOM_STORAGE_URL,
    DARKROOM_REDIS_URL …): run as many as you like, on any machine that reaches them. On
    SIGTERM it takes no new job and finishes the ones in hand; a job whose worker was killed
    is run again by another once its lease (DARKROOM_JOB_LEASE_SECONDS) expires.
    """
    settings = settings_for(data_dir)
    if concurrency is not None:
        settings = settings.with_changes(job_concurrency=concurrency)
    logging.config.dictConfig(logging_config(log_format, log_level))  # the lines `darkroom serve` writes
    services = build_services(settings)
    try:
        anyio.run(_consume_until_signalled, services)
    finally:
        services.engine.dispose()


async def _consume_until_signalled(services: Services) -> None:
    stopping = anyio.Event()
    async with anyio.create_task_group() as group:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("%s: finishing the jobs in hand", signal.Signals(signum).name)
                    stopping.set()
                    group.cancel_scope.deadline = anyio.current_time() + STOP_GRACE
                    return

        group.start_soon(stop_on_signal)
        log.info("worker started (%d at once)", services.settings.job_concurrency)
        await tasks.consume(services, stopping)
        group.cancel_scope.cancel()
