"""Request checks that hold for every route, before any handler runs.

A NUL character in the decoded path (`%00`) can never name a cloud, an asset, a folder or a
preset, and PostgreSQL refuses NUL in text outright, so such a request would otherwise fail
deep in a query as a 500. It is refused here, once, with Cloudinary's error shape.

A client that stops sending its body half-way (a Content-Length it never honours) would hold
its handler, a spool file and a connection forever: uvicorn bounds neither. Each wait for the
next body chunk is bounded instead, and the request ends with 408.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.api.errors import error_response
from darkroom.errors import TimedOut

__all__ = ["RejectNulPaths", "BodyIdleTimeout", "BODY_IDLE_SECONDS"]

BODY_IDLE_SECONDS = 60.0  # no byte of the body for this long: the client is gone or stalling on purpose


class RejectNulPaths:
    """400 for any HTTP request whose decoded path contains NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope.get("path", ""):
            await error_response(400, "Invalid URL: the path contains a NUL character")(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyIdleTimeout:
    """Bound each wait for the next request-body chunk; once the body is complete, get out of the way.

    Only the body is timed: after its last chunk, `receive()` is Starlette's wait for a
    disconnect, which may rightly last as long as a long download.
    """

    def __init__(self, app: ASGIApp, seconds: float = BODY_IDLE_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(self.seconds):
                    message = await receive()
            except TimeoutError:
                raise TimedOut(f"Request body stalled: nothing received for {self.seconds:g} seconds") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
