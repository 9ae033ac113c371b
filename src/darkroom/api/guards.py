"""Request checks that hold for every route, before any handler runs.

A NUL character in the decoded path (`%00`) can never name a cloud, an asset, a folder or a
preset, and PostgreSQL refuses NUL in text outright, so such a request would otherwise fail
deep in a query as a 500. It is refused here, once, with Cloudinary's error shape.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from darkroom.api.errors import error_response

__all__ = ["RejectNulPaths"]


class RejectNulPaths:
    """400 for any HTTP request whose decoded path contains NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope.get("path", ""):
            await error_response(400, "Invalid URL: the path contains a NUL character")(scope, receive, send)
            return
        await self.app(scope, receive, send)
