"""The long-lived objects a request handler needs, built once per app from Settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy.engine import Engine
from starlette.requests import Request

from darkroom import catalog
from darkroom.catalog.errors import CloudNotFound
from darkroom.config import Settings
from darkroom.storage import BlobStore

__all__ = ["Services", "services_of"]

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: BlobStore
    spool_dir: Path  # where request bodies are written before they reach the blob store

    async def db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a catalog function (blocking SQLAlchemy) in a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(functools.partial(function, self.engine, *args, **kwargs))

    async def require_cloud(self, cloud: str) -> None:
        if not await self.db(catalog.cloud_exists, cloud):
            raise CloudNotFound(f"Unknown cloud name - {cloud}")


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
