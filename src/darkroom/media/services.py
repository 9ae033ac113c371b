"""The long-lived objects every use case needs, built once per process from Settings.

`Services` is what an edge (an HTTP handler, a console page, a CLI command) hands to a use
case: settings, the database, the blob store, the spool dir and the per-process caches.
Edges find it with `services_of(request)`; nothing else is kept on the app.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio

from darkroom import catalog
from darkroom.catalog import Engine
from darkroom.catalog.errors import CloudNotFound
from darkroom.catalog.instance import shared_secret
from darkroom.config import Settings
from darkroom.errors import Conflict
from darkroom.imaging import RenderLimits
from darkroom.jobs import JobQueue
from darkroom.media.caches import Caches
from darkroom.media.render_budget import RenderBudget
from darkroom.media.sessions import ConsoleAuth, load_session_key
from darkroom.media.shared_state import SharedState, open_shared_state
from darkroom.storage import BlobNotFound, BlobStore, open_store

__all__ = ["Services", "build_services", "services_of"]

T = TypeVar("T")

TRANSIENT_ATTEMPTS = 3  # runs of a transaction the database rolled back as a deadlock victim


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: BlobStore
    spool_dir: Path  # where request bodies are written before they reach the blob store
    caches: Caches = field(init=False)  # this process's memories, sized by the settings
    render_budget: RenderBudget = field(init=False)  # the memory renders may hold at once
    shared: SharedState = field(init=False)  # what this process shares with the deployment's others (Redis, or the database)
    jobs: JobQueue = field(init=False)  # the durable job queue: `await services.jobs.enqueue(name, payload)`
    _console_auth: ConsoleAuth | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.caches = Caches.from_settings(self.settings)
        self.render_budget = RenderBudget(self.settings.render_memory_mb * 1024 * 1024)
        self.shared = open_shared_state(self.settings, self.engine)
        self.jobs = JobQueue(self.settings, self.engine)

    @property
    def console_auth(self) -> ConsoleAuth:
        """Console sessions and CSRF, built on first use (its key may be a file in the data dir)."""
        if self._console_auth is None:
            secret = str(self.settings.session_secret)
            if not secret and self.engine.dialect.name != "sqlite":
                # A shared database means servers on other machines: each would make a key of
                # its own in its data dir and refuse the others' cookies. One key, in the database.
                secret = shared_secret(self.engine, "console_session_key", secrets.token_urlsafe(48))
            key = load_session_key(secret, Path(self.settings.data_dir))
            self._console_auth = ConsoleAuth(self.engine, key)
        return self._console_auth

    @property
    def render_limits(self) -> RenderLimits:
        """Pixel limits for every render: the same cap for the source and the output."""
        pixels = self.settings.max_image_pixels
        return RenderLimits(max_source_pixels=pixels, max_output_pixels=pixels)

    async def db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a catalog function (blocking SQLAlchemy) in a worker thread, off the event loop.

        A transaction PostgreSQL chose as a deadlock victim (or failed for serialization) was
        rolled back whole, so the function runs again; every catalog function is one
        transaction. Still failing after a few tries, the client gets a 409 to retry, not a 500.
        """
        call = functools.partial(function, self.engine, *args, **kwargs)
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await anyio.to_thread.run_sync(call)
            except Exception as error:
                if not catalog.rolled_back_transiently(error):
                    raise
                if attempt == TRANSIENT_ATTEMPTS:
                    raise Conflict("Concurrent changes to the same assets; retry the request") from None
                await anyio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def local_file(self, storage_key: str) -> AsyncIterator[Path]:
        """A file path holding a blob (libvips wants files): the store's own file when it is
        local, else a spool copy that is removed afterwards."""
        local = self.store.local_path(storage_key)
        if local is not None:
            if not Path(local).is_file():
                raise BlobNotFound("Resource not found", detail=storage_key)  # as the remote path would say
            yield Path(local)
            return
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.spool_dir / f"blob-{secrets.token_hex(8)}"
        try:
            await self.store.download_to(storage_key, temporary)
            yield temporary
        finally:
            temporary.unlink(missing_ok=True)

    async def forget_everywhere(self) -> None:
        """After a write: this process's memories now, and every other node's (`media.shared_state`)."""
        self.caches.forget()
        await self.shared.announce_write()

    async def require_cloud(self, cloud: str) -> None:
        if not await self.db(catalog.cloud_exists, cloud):
            raise CloudNotFound(f"Unknown cloud name - {cloud}")


class _HasServices(Protocol):
    """A request (or websocket) of the app `server.create_app` built: its app holds the services."""

    @property
    def app(self) -> Any: ...


def services_of(request: _HasServices) -> Services:
    """The services of the app serving `request`: the one way edges reach settings, database,
    store and caches."""
    services: Services = request.app.state.services  # set by the server's lifespan
    return services


def build_services(settings: Settings) -> Services:
    """Open the database (migrated) and the blob store; apply CLOUDINARY_URL's cloud and key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = catalog.create_engine_for(settings.resolved_database_url)
    catalog.migrate(engine)
    if settings.cloudinary_url is not None:
        creds = settings.cloudinary_url
        catalog.upsert_key(engine, creds.cloud_name, creds.api_key, creds.api_secret, label="CLOUDINARY_URL")
    store = open_store(settings.resolved_storage_url)
    spool_dir = Path(settings.data_dir) / "spool"  # crash leftovers: media.integrity's sweep
    services = Services(settings=settings, engine=engine, store=store, spool_dir=spool_dir)
    services.console_auth  # noqa: B018 - its key file is read now, at start-up, not by a request on the event loop
    return services
