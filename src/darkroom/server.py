"""The ASGI application: the routes of the API and the console, middleware, lifespan.

The one place that knows both edges: `api` and `console` are peers that never import each
other; each asks `media.services_of(request)` for the services this module put on the app.
Route lists are registered in order: specific paths first, the catch-all delivery path last.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from darkroom.api import about, admin, admin_config, archives, delivery, downloads, media_store, metrics, search, sign, telemetry, upload
from darkroom.api import admin_relations, metadata_rules, triggers, unsupported, upload_mappings
from darkroom.api.media_store import MediaStoreConfig
from darkroom.console.routes import routes as console_routes
from darkroom.api.cors import UploadCorsMiddleware
from darkroom.api.streaming import StreamingCorsMiddleware
from darkroom.api.errors import exception_handlers
from darkroom.api.guards import BodyIdleTimeout, RejectNulPaths
from darkroom.api.hot_responses import ForgetOnWrite, ReplayHotResponses
from darkroom.api.logs import logging_config
from darkroom.api.metrics import worker_metrics_dir
from darkroom.api.proxies import TrustedProxies
from darkroom.api.routing import FirstSegmentRouter
from darkroom.hit_lane import HitLane
from darkroom.media import tasks
from darkroom.media.integrity import SweepThread
from darkroom.media.services import Services, build_services
from darkroom.config import Settings

# What `darkroom serve` sets up around uvicorn (the CLI reaches the edges only through here).
__all__ = ["HTTP_PROTOCOL", "app_from_env", "build_services", "create_app", "logging_config", "worker_metrics_dir"]

# uvicorn's HTTP protocol for `darkroom serve`: its httptools protocol with the hit lane.
HTTP_PROTOCOL = "darkroom.hit_lane:HitLaneProtocol"

# Each part's routes, in order: specific paths first, delivery's catch-all path last.
ROUTE_LISTS: list[Sequence[BaseRoute]] = [
    search.routes, admin_config.routes, metadata_rules.routes, upload_mappings.routes, triggers.routes, admin_relations.routes, admin.routes,
    archives.routes, downloads.routes,  # before upload's /{rt}/{action}
    sign.routes,
    unsupported.routes,  # before upload's /{rt}/{action}
    upload.routes,
    media_store.routes,
    console_routes,
    delivery.routes,
]


async def health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"]), *about.routes, *metrics.routes]
    for part_routes in ROUTE_LISTS:
        routes.extend(part_routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if getattr(app.state, "services", None) is None:
            app.state.services = _metered(build_services(settings))
        services: Services = app.state.services
        # Orphan blobs and spool files a crash left: swept now and on a schedule, in a thread
        # of its own (start-up does not wait for it); stopped at shutdown.
        sweeping = SweepThread(services).start()
        await services.shared.start(services.caches.forget)  # other nodes' writes empty this node's memories
        async with telemetry.running(app, services), _job_consumer(services):  # usage flushed last at shutdown
            yield
        await anyio.to_thread.run_sync(sweeping.stop)  # waits a little for a sweep under way
        await services.caches.derivatives.settle()  # delivery stores new derivatives after answering
        await services.caches.video_derivatives.settle()  # renders a HEAD started
        await services.shared.stop()
        app.state.services.engine.dispose()

    app = Starlette(
        exception_handlers=exception_handlers,
        middleware=[
            Middleware(TrustedProxies, proxies=settings.trusted_proxies),  # before all: the real client and scheme, for logs too
            Middleware(telemetry.Telemetry),  # first: request IDs, metrics and usage for every answer, replayed ones included
            Middleware(ReplayHotResponses),  # a repeated image request skips everything below
            Middleware(RejectNulPaths), Middleware(BodyIdleTimeout), Middleware(UploadCorsMiddleware), Middleware(StreamingCorsMiddleware), Middleware(ForgetOnWrite),
        ],
    )
    app.router = FirstSegmentRouter(routes, lifespan=lifespan)  # delivery skips the API's routes (routing.py)
    app.state.services = None if services is None else _metered(services)  # built by the lifespan when None
    telemetry.install(app, settings)
    app.state.hit_lane = HitLane(app, trusted_proxies=bool(settings.trusted_proxies))  # answers repeated image requests first
    # Checked now, so a bad media-store setting stops start-up instead of the first request.
    app.state.media_store_config = MediaStoreConfig.from_settings(settings)
    return app


@contextlib.asynccontextmanager
async def _job_consumer(services: Services) -> AsyncIterator[None]:
    """This process's job consumer (unless DARKROOM_JOBS_IN_PROCESS=false): it stops taking
    jobs at shutdown and is given JOB_STOP_GRACE seconds to finish the ones in hand; a job
    still running then goes back to the queue."""
    if not services.settings.jobs_in_process:
        yield
        return
    stopping = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(tasks.consume, services, stopping)
        try:
            yield
        finally:
            stopping.set()
            group.cancel_scope.deadline = anyio.current_time() + JOB_STOP_GRACE


JOB_STOP_GRACE = 10.0  # seconds


def _metered(services: Services) -> Services:
    """The services, their derivative cache reporting hits, misses and renders to /metrics."""
    services.caches.derivatives.events = telemetry.MeteredCacheEvents()
    return services


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and `darkroom serve`: settings from the environment."""
    return create_app(Settings.from_env())
