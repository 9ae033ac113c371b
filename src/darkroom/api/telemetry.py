"""The window into a running server: request IDs, access lines, metrics and delivery usage.

`Telemetry` is the outermost middleware, so it sees every request, those answered from the
hot-response memory before routing included. Per request it:

- takes the client's well-formed `X-Request-Id` or makes one, puts it in the logging context
  (`logs.request_id`) and on the response;
- times the request to its last byte and counts the bytes in and out;
- records the request in the Prometheus metrics (`metrics.RequestMetrics`) by route family;
- counts a successful delivery for its cloud's `usage()` (`UsageMeter`, flushed periodically);
- writes one access line on `darkroom.access`.

Requests answered by the server's hit lane (`darkroom.hit_lane`) never reach it; the lane
records the same things itself.

It is pure ASGI and does the least per request: two small closures, one copied header list,
a few dictionary look-ups; the access line is built only when that logger is enabled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from time import perf_counter

import anyio
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.api import about, metrics
from darkroom.media.derivatives import CacheEvents
from darkroom.api.hot_responses import REPLAYED
from darkroom.api.logs import access_log, request_id, request_id_header
from darkroom.media.services import Services
from darkroom.api.usage_meter import UsageMeter
from darkroom.config import Settings

__all__ = ["REQUEST_ID_HEADER", "MeteredCacheEvents", "Telemetry", "access_line", "header_of", "install", "record_answer", "running"]

REQUEST_ID_HEADER = b"x-request-id"
NO_BODY_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


class MeteredCacheEvents(CacheEvents):
    """The derivative cache's events as Prometheus counters and the render-time histogram."""

    def __init__(self) -> None:
        self._hits = {tier: metrics.CACHE_HITS.labels(tier) for tier in ("memory", "shared", "store")}

    def hit(self, tier: str) -> None:
        self._hits[tier].inc()

    def miss(self) -> None:
        metrics.CACHE_MISSES.inc()

    @contextlib.contextmanager
    def rendering(self) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        except Exception:
            metrics.RENDER_FAILURES.inc()
            raise
        finally:
            metrics.RENDERS.inc()
            metrics.RENDER_SECONDS.observe(perf_counter() - started)


def install(app: Starlette, settings: Settings) -> None:
    """Give the app what `Telemetry` and `running` use, and record the build being served."""
    app.state.usage_meter = UsageMeter(settings.usage_flush_seconds)
    app.state.request_metrics = metrics.RequestMetrics()
    metrics.record_build(about.version(), about.build())


@contextlib.asynccontextmanager
async def running(app: Starlette, services: Services) -> AsyncIterator[None]:
    """For the app's lifespan: delivery usage is flushed while it runs and once at the end;
    request counters are folded into Prometheus' (`RequestMetrics.fold`) likewise."""
    request_metrics: metrics.RequestMetrics = app.state.request_metrics
    async with app.state.usage_meter.flushing(services), anyio.create_task_group() as folding:
        folding.start_soon(_fold_every, request_metrics)
        try:
            yield
        finally:
            folding.cancel_scope.cancel()
            request_metrics.fold()


async def _fold_every(request_metrics: metrics.RequestMetrics) -> None:
    while True:
        await anyio.sleep(metrics.FOLD_SECONDS)
        request_metrics.fold()


def header_of(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


class Telemetry:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The app's, found at its first request (`install` put them on its state).
        self._parts: tuple[metrics.RequestMetrics, UsageMeter, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        rid = request_id_header(header_of(scope, REQUEST_ID_HEADER))
        token = request_id.set(rid.decode("ascii"))
        rid_header = (REQUEST_ID_HEADER, rid)
        status = 500  # unless the app starts an answer: it raised, and the server answers 500
        sent = received = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: replayed answers share their start message between requests.
                message = {**message, "headers": [*message.get("headers", ()), rid_header]}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, receive if scope["method"] in NO_BODY_METHODS else receive_counted, send_with_id)
        except BaseException:
            self._record(scope, status, perf_counter() - started, received, sent)
            raise  # the request ID stays set: the 500 handler and the server log the error in its name
        self._record(scope, status, perf_counter() - started, received, sent)
        request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float, received: int, sent: int) -> None:
        if self._parts is None:
            state = scope["app"].state
            self._parts = state.request_metrics, state.usage_meter, state.media_store_config.path  # create_app sets all three
        request_metrics, usage_meter, media_store_path = self._parts
        replayed = REPLAYED in scope
        family = metrics.DELIVERY if replayed else metrics.route_family(scope["path"], media_store_path)
        record_answer(request_metrics, usage_meter, scope, family, status, seconds, received, sent, replayed=replayed)


def record_answer(
    request_metrics: metrics.RequestMetrics, usage_meter: UsageMeter, scope: Scope, family: str, status: int,
    seconds: float, received: int, sent: int, *, replayed: bool,
) -> None:
    """What every answered request leaves behind: its metrics, a delivery's usage, the access
    line (built only when that logger is on). `Telemetry` calls it, and the server's hit lane."""
    request_metrics.observe(family, status, seconds, received, sent, replayed)
    if family == metrics.DELIVERY and status < 400:
        path: str = scope["path"]
        usage_meter.delivered(path[1:path.find("/", 1)], sent)
    if access_log.isEnabledFor(logging.INFO):
        access_line(scope, family, status, seconds, received, sent)


def access_line(scope: Scope, family: str, status: int, seconds: float, received: int, sent: int) -> None:
    """`CLIENT METHOD PATH STATUS DURATIONms BYTESB` (the query is left out: it may carry signatures)."""
    client = scope.get("client")
    address = client[0] if client else "-"
    milliseconds = round(seconds * 1000, 2)
    path = scope["path"].translate(CONTROL_ESCAPES)  # a %0A in a URL must not start a forged log line
    fields = {
        "client": address, "method": scope["method"], "path": path, "status": status,
        "duration_ms": milliseconds, "bytes_in": received, "bytes_out": sent, "family": family,
    }
    access_log.info(
        "%s %s %s %d %.1fms %dB", address, scope["method"], path, status, milliseconds, sent, extra={"fields": fields}
    )
