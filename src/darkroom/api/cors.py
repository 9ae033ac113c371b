"""CORS for the Upload API's upload endpoint, so browsers can upload straight to darkroom.

Only `/v1_1/{cloud}/{resource_type}/upload` is opened, to any origin and without cookies:
what protects it is the signature (or an unsigned preset), not the origin. Everything else
keeps the browser's same-origin rule.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["UploadCorsMiddleware"]

_UPLOAD_PATH = re.compile(r"^/v1_1/[^/]+/(image|video|raw|auto)/upload$")
_ALLOWED_HEADERS = "Content-Type, Content-Range, X-Unique-Upload-Id, X-Requested-With"


class UploadCorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _UPLOAD_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            preflight = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "POST, OPTIONS",
                    "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = "X-Cld-Error"
            await send(message)

        await self.app(scope, receive, send_with_cors)
