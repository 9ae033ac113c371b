"""The ASGI application: routes from each API module, one error mapping, shared services.

Route lists are registered in order: specific paths first, the catch-all delivery path last.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from darkroom import catalog
from darkroom.api import about, admin, admin_config, archives, delivery, downloads, media_store, metrics, search, sign, telemetry, upload
from darkroom.api.media_store import MediaStoreConfig
from darkroom.console.routes import routes as console_routes
from darkroom.api.asset_lookup import AssetLookup, ForgetOnWrite, RulesLookup
from darkroom.api.cors import UploadCorsMiddleware
from darkroom.api.derivatives import DerivativeCache
from darkroom.api.errors import exception_handlers
from darkroom.api.guards import BodyIdleTimeout, RejectNulPaths
from darkroom.api.hot_responses import HotResponses, ReplayHotResponses
from darkroom.api.routing import FirstSegmentRouter
from darkroom.api.services import Services
from darkroom.config import Settings
from darkroom.imaging import decoded as decoded_sources
from darkroom.storage import open_store

__all__ = ["create_app", "build_services"]

log = logging.getLogger("darkroom")

# Each part's routes, in order: specific paths first, delivery's catch-all path last.
ROUTE_LISTS: list[list[BaseRoute]] = [
    search.routes, admin_config.routes, admin.routes, archives.routes, downloads.routes,  # before upload's /{rt}/{action}
    sign.routes,
    upload.routes,
    media_store.routes,
    console_routes,
    delivery.routes,
]


async def health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def build_services(settings: Settings) -> Services:
    """Open the database (migrated) and the blob store; apply CLOUDINARY_URL's cloud and key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = catalog.create_engine_for(settings.resolved_database_url)
    catalog.migrate(engine)
    if settings.cloudinary_url is not None:
        creds = settings.cloudinary_url
        catalog.upsert_key(engine, creds.cloud_name, creds.api_key, creds.api_secret, label="CLOUDINARY_URL")
    store = open_store(settings.resolved_storage_url)
    spool_dir = Path(settings.data_dir) / "spool"
    _remove_stale_spool_files(spool_dir)
    return Services(settings=settings, engine=engine, store=store, spool_dir=spool_dir)


STALE_SPOOL_SECONDS = 24 * 3600


def _remove_stale_spool_files(spool_dir: Path) -> None:
    """Spool files left by a crash; a day old means no live request (of any worker) still owns them."""
    if not spool_dir.is_dir():
        return
    cutoff = time.time() - STALE_SPOOL_SECONDS
    for path in spool_dir.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            log.warning("could not remove stale spool file %s", path)


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"]), *about.routes, *metrics.routes]
    for part_routes in ROUTE_LISTS:
        routes.extend(part_routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if getattr(app.state, "services", None) is None:
            app.state.services = build_services(settings)
        async with telemetry.running(app, app.state.services):  # flushes delivery usage, last at shutdown
            yield
        await app.state.derivatives.settle()  # delivery stores new derivatives after answering
        app.state.services.engine.dispose()

    app = Starlette(
        exception_handlers=exception_handlers,
        middleware=[
            Middleware(telemetry.Telemetry),  # first: request IDs, metrics and usage for every answer, replayed ones included
            Middleware(ReplayHotResponses),  # a repeated image request skips everything below
            Middleware(RejectNulPaths), Middleware(BodyIdleTimeout), Middleware(UploadCorsMiddleware), Middleware(ForgetOnWrite),
        ],
    )
    app.router = FirstSegmentRouter(routes, lifespan=lifespan)  # delivery skips the API's routes (routing.py)
    app.state.services = services
    app.state.derivatives = DerivativeCache(render_concurrency=settings.render_concurrency, events=telemetry.MeteredCacheEvents())
    telemetry.install(app, settings)
    decoded_sources.configure(settings.decoded_cache_mb * 1024 * 1024)
    app.state.asset_lookup = AssetLookup()
    app.state.rules_lookup = RulesLookup()
    app.state.hot_responses = HotResponses()
    # Checked now, so a bad media-store setting stops start-up instead of the first request.
    app.state.media_store_config = MediaStoreConfig.from_settings(settings)
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and `darkroom serve`: settings from the environment."""
    return create_app(Settings.from_env())
