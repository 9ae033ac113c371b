"""A synchronous HTTP client for an ASGI app in this process (used by the media-store and console tests)."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any

import anyio.from_thread
import httpx
from starlette.applications import Starlette

__all__ = ["TestClient"]


class TestClient:
    """A synchronous client for an app in this process (httpx's ASGI transport on a portal).

    Starlette's own TestClient now warns when used with httpx; this is the same idea in
    a few lines, and warnings stay errors.
    """

    __test__ = False

    def __init__(self, app: Starlette, base_url: str) -> None:
        self.app = app
        self._portal_cm: AbstractContextManager[Any] = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        self.cookies = self._client.cookies

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(functools.partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(None, None, None)
