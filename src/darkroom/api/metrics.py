"""Prometheus metrics: what the server answers, how fast, how many renders and cache hits.

Requests are counted by route family (a small fixed set, never the raw path: a delivery URL
names an asset, and a series per asset would swamp Prometheus) and by status. The families
are told apart by the path's first segments, so requests answered before routing (replayed
hot responses) are counted like the rest.

One process answers `/metrics` for itself, unless `darkroom serve --workers N` made a
directory for prometheus-client's multiprocess mode (`worker_metrics_dir`): then every
worker writes its counters there and whichever worker answers reports the sum.
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_left
import shutil
import tempfile
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.media.services import services_of
from darkroom.vocabulary import UPLOAD_RESOURCE_TYPES

__all__ = [
    "FAMILIES",
    "FOLD_SECONDS",
    "RequestMetrics",
    "metrics_endpoint",
    "record_build",
    "routes",
    "route_family",
    "worker_metrics_dir",
]

# A `_created` timestamp beside every counter doubles the output for nothing Prometheus uses.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated

# Route families, the `family` label.
UPLOAD, ADMIN, SEARCH, DELIVERY, CONSOLE, MEDIA_STORE, SIGN, SERVICE, OTHER = (
    "upload", "admin", "search", "delivery", "console", "media_store", "sign", "service", "other",
)
FAMILIES = (UPLOAD, ADMIN, SEARCH, DELIVERY, CONSOLE, MEDIA_STORE, SIGN, SERVICE, OTHER)

# From a cached image (a tenth of a millisecond) to a large upload or a video render (minutes).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
RENDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)

REQUESTS = Counter("darkroom_http_requests", "HTTP requests answered, by route family and status.", ["family", "status"])
DURATION = Histogram(
    "darkroom_http_request_duration_seconds", "Time from request to the last byte of the answer, by route family.",
    ["family"], buckets=LATENCY_BUCKETS,
)
BYTES_IN = Counter("darkroom_http_request_bytes", "Request body bytes received, by route family.", ["family"])
BYTES_OUT = Counter("darkroom_http_response_bytes", "Response body bytes sent, by route family.", ["family"])
RENDERS = Counter("darkroom_renders", "Derivatives rendered (failed renders included).")
RENDER_FAILURES = Counter("darkroom_render_failures", "Renders that raised an error.")
RENDER_SECONDS = Histogram(
    "darkroom_render_duration_seconds", "Time per render, waiting for a render slot and fetching the source included.",
    buckets=RENDER_BUCKETS,
)
CACHE_HITS = Counter(
    "darkroom_derivative_cache_hits",
    "Derivatives answered without rendering, by tier: replay (a repeated request), memory, shared (a render in flight), store.",
    ["tier"],
)
CACHE_MISSES = Counter("darkroom_derivative_cache_misses", "Derivatives that had to be rendered.")
BUILD = Gauge("darkroom_build_info", "The running version and build (always 1).", ["version", "build"], multiprocess_mode="max")

SERVICE_PATHS = frozenset(("", "health", "metrics", "version"))  # /, /health, /metrics, /version
CONSOLE_HEADS = frozenset(("console", "widget.js", "examples"))


def route_family(path: str, media_store_path: str) -> str:
    """Which part of darkroom answers `path` (decoded, without the query)."""
    if path.startswith(media_store_path) and (len(path) == len(media_store_path) or path[len(media_store_path)] == "/"):
        return MEDIA_STORE
    parts = path.split("/", 5)  # "", first, second, third, fourth, rest
    head = parts[1] if len(parts) > 1 else ""
    if len(parts) <= 2 and head in SERVICE_PATHS:
        return SERVICE
    if head in CONSOLE_HEADS:
        return CONSOLE
    if head == "v1_1":
        third = parts[3] if len(parts) > 3 else ""
        if third in UPLOAD_RESOURCE_TYPES:  # /v1_1/{cloud}/{resource_type}/{action}
            return UPLOAD
        if third in ("resources", "folders") and len(parts) > 4 and parts[4] == "search":
            return SEARCH
        return ADMIN
    if head == "api":
        return SIGN if path == "/api/sign" else OTHER
    if len(parts) > 2 and parts[2] == "search":  # /{cloud}/search/{signature}/{ttl}/{query}
        return SEARCH
    return DELIVERY if len(parts) > 4 else OTHER  # /{cloud}/{resource_type}/{type}/{public_id…}


class RequestMetrics:
    """Records one answered request in plain numbers, added to prometheus-client's metrics by
    `fold()`: before every scrape and every `FOLD_SECONDS` (`telemetry.running`). A cached hit
    is one of darkroom's cheapest answers, and prometheus-client takes a lock and checks its
    arguments on every increment, and walks the buckets on every histogram observation; here
    a request costs one dictionary look-up, a bisection and a few additions.

    In multiprocess mode (`--workers N`) any worker may answer the scrape, so each request is
    folded at once, as prometheus-client alone would do."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, int], _Tally] = {}  # (family, status) → not yet folded
        self._replayed = CACHE_HITS.labels("replay")
        self._at_once = _multiprocess_dir() is not None  # other workers' scrapes must see this process's requests

    def observe(self, family: str, status: int, seconds: float, received: int, sent: int, replayed: bool) -> None:
        tally = self._tallies.get((family, status))
        if tally is None:
            tally = self._tallies[(family, status)] = _Tally(family, status)
        tally.requests += 1
        tally.received += received
        tally.sent += sent
        tally.replayed += replayed
        tally.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # the first bucket whose bound is >= seconds
        tally.seconds += seconds
        if self._at_once:
            self.fold()

    def fold(self) -> None:
        """Add the tallies to the Prometheus metrics."""
        for tally in self._tallies.values():
            if tally.requests:
                tally.fold_into(self._replayed)


class _Tally:
    """One (family, status)'s requests since the last fold, and the metrics they go to."""

    __slots__ = ("buckets", "bytes_in", "bytes_out", "duration", "received", "replayed", "requests", "seconds", "sent", "total")

    def __init__(self, family: str, status: int) -> None:
        self.total = REQUESTS.labels(family, str(status))
        self.duration = DURATION.labels(family)
        self.bytes_in, self.bytes_out = BYTES_IN.labels(family), BYTES_OUT.labels(family)
        self.requests = self.received = self.sent = self.replayed = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.seconds = 0.0

    def fold_into(self, replayed_hits: Counter) -> None:
        self.total.inc(self.requests)
        if self.received:
            self.bytes_in.inc(self.received)
        if self.sent:
            self.bytes_out.inc(self.sent)
        if self.replayed:
            replayed_hits.inc(self.replayed)
        # prometheus-client observes one value at a time; its histogram keeps one value per
        # bucket (non-cumulative, +Inf last, as LATENCY_BUCKETS here) and the sum, so many
        # observations are added the way one observation would add them.
        buckets = self.duration._buckets  # noqa: SLF001 - see above; tests/api/test_observability.py checks the result
        for index, count in enumerate(self.buckets):
            if count:
                buckets[index].inc(count)
        self.duration._sum.inc(self.seconds)  # noqa: SLF001
        self.requests = self.received = self.sent = self.replayed = 0
        self.buckets = [0] * len(self.buckets)
        self.seconds = 0.0


FOLD_SECONDS = 0.5


def record_build(version: str, build: str) -> None:
    BUILD.labels(version, build).set(1)


def _multiprocess_dir() -> str | None:
    # prometheus-client's own switch, read by the library at import; set by `worker_metrics_dir`.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics` in Prometheus' text format."""
    request_metrics = getattr(request.app.state, "request_metrics", None)
    if request_metrics is not None:
        request_metrics.fold()
    if _multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return Response(body + await _job_gauges(request), media_type=CONTENT_TYPE_LATEST)


JOB_STATES = ("queued", "running", "done", "failed")


class _Collected:
    def __init__(self, family: GaugeMetricFamily) -> None:
        self.family = family

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self.family


async def _job_gauges(request: Request) -> bytes:
    """The job journal's counts by state: read from the database, so the same from any process."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return b""
    counts = await services_of(request).jobs.counts()
    family = GaugeMetricFamily("darkroom_jobs", "Jobs in the journal by state (finished ones are kept a day).", labels=["state"])
    for state in JOB_STATES:
        family.add_metric([state], counts.get(state, 0))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collected(family))  # a collector is anything with collect()
    return generate_latest(registry)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]


@contextlib.contextmanager
def worker_metrics_dir(workers: int) -> Iterator[None]:
    """With several server processes, a fresh directory where each writes its metrics, so any
    of them can report the sum; removed when the server stops. One process needs none."""
    if workers <= 1 or _multiprocess_dir():
        yield
        return
    directory = tempfile.mkdtemp(prefix="darkroom-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # inherited by the worker processes
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(directory, ignore_errors=True)
