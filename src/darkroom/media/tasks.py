"""The job handlers of the use cases, by name, and the consumer that runs them.

A handler is `async def handler(services, payload) -> None`, registered with
`@job_handler("name")` in the media module whose use case it wraps; `services.jobs.enqueue`
names it. Raising retries the job with back-off, so a handler must be idempotent: it may run
twice (a worker died after the work but before recording it done).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from darkroom.errors import NotFound
from darkroom.jobs import Consumer, Runner
from darkroom.media.services import Services

__all__ = ["Handler", "job_handler", "consume", "runner_for"]

Handler = Callable[[Services, dict[str, Any]], Awaitable[None]]

# Modules that register handlers, imported before a consumer starts (they import this one).
HANDLER_MODULES = ("darkroom.media.notifications", "darkroom.media.eager")

_handlers: dict[str, Handler] = {}


class UnknownJob(NotFound):
    """A job names no registered handler (another version of darkroom enqueued it?)."""


def job_handler(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine function as the handler of jobs named `name`."""

    def register(handler: Handler) -> Handler:
        if _handlers.get(name, handler) is not handler:
            raise ValueError(f"two job handlers named {name!r}")
        _handlers[name] = handler
        return handler

    return register


def runner_for(services: Services) -> Runner:
    """What a consumer calls for each job: the handler of its name, with `services`."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)

    async def run(name: str, payload: dict[str, Any]) -> None:
        handler = _handlers.get(name)
        if handler is None:
            raise UnknownJob(f"No job handler named {name}")
        await handler(services, payload)

    return run


async def consume(services: Services, stopping: anyio.Event) -> None:
    """Run this process's job consumer until `stopping` is set (`darkroom serve`'s lifespan,
    `darkroom worker`)."""
    await Consumer(services.jobs, runner_for(services)).run(stopping)
