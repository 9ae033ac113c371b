"""The long-lived objects a request handler needs, built once per app from Settings."""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import Request

from darkroom import catalog
from darkroom.catalog.errors import CloudNotFound
from darkroom.config import Settings
from darkroom.errors import Conflict
from darkroom.imaging import RenderLimits
from darkroom.storage import BlobNotFound, BlobStore

__all__ = ["Services", "services_of"]

T = TypeVar("T")

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back.
TRANSIENT_SQLSTATES = frozenset(("40P01", "40001"))
TRANSIENT_ATTEMPTS = 3


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: BlobStore
    spool_dir: Path  # where request bodies are written before they reach the blob store

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
            except sa.exc.OperationalError as error:
                if getattr(error.orig, "sqlstate", None) not in TRANSIENT_SQLSTATES:
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

    async def require_cloud(self, cloud: str) -> None:
        if not await self.db(catalog.cloud_exists, cloud):
            raise CloudNotFound(f"Unknown cloud name - {cloud}")


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
