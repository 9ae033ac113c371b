"""Adaptive streaming on the delivery route: which URLs are a ladder's, and CORS for them.

URL layout (all under the delivery route, so signed and private assets work alike):

    {prefix}/[s--SIG--/][T/]sp_P[,…]/[T/][vN/]{id}.m3u8         HLS master playlist
    {prefix}/…same…/{id}.mpd                                     DASH manifest
    {prefix}/…same…/{id}.m3u8/v0.m3u8   (a.m3u8 for audio)       HLS media playlist of one track
    {prefix}/…same…/{id}.{m3u8|mpd}/v0/init.mp4                  a track's fMP4 initialization header
    {prefix}/…same…/{id}.{m3u8|mpd}/v0/17.m4s                    a track's segment 17 (from 0)

Manifests refer to these with URIs relative to themselves (`./dog.m3u8/v0.m3u8`,
`v0/3.m4s`), so the prefix, the signature and the version carry over unchanged. A URL
signature on the master therefore grants its whole ladder: a child URL is checked against
the master's signed text (`transformation/{id}.m3u8`), which is what its signature covers.

Players on another origin read manifests and segments with `fetch`/XHR, so every response
under such a path (errors included: hls.js and the Cloudinary player read `X-Cld-Error`)
carries CORS headers, and a preflight (a `Range` header that is not CORS-safelisted) is
answered here.
"""

from __future__ import annotations

import re
from dataclasses import replace

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.media.delivery_paths import DeliveryPath
from darkroom.media.streaming import STREAMING_FORMATS, StreamChild, parse_child, streaming_profile_of

__all__ = ["StreamingCorsMiddleware", "stream_target"]

# Delivery paths whose answers players read across origins: every video URL (manifests,
# segments, the HEAD of an `f_auto:video` source, sprites' WebVTT, error probes of an MP4
# source) and raw text tracks. Never the Admin/Upload API (`/v1_1/video/…` when a cloud is
# called "video"), the console or `/api/`: those must keep the browser's same-origin rule.
_STREAMING_PATH = re.compile(r"^/(?!v1_1/|console/|api/)[^/]+/(?:video/[^/]+/.+|raw/[^/]+/.+\.(?:vtt|srt))$")
_EXPOSED = "X-Cld-Error, Content-Length, Content-Range, Accept-Ranges, ETag"


def stream_target(path: DeliveryPath) -> tuple[DeliveryPath, StreamChild | None] | None:
    """For a ladder's URL: the master's delivery path (whose signature covers the child) and
    the child file (None for the master itself); None for any other URL."""
    manifest = path.name.rsplit(".", 1)[-1].lower() in STREAMING_FORMATS
    if not streaming_profile_of(path.transformation):
        return (path, None) if manifest else None  # refused: a ladder needs a profile
    child = parse_child(path.name)
    if child is None:
        return (path, None) if manifest else None
    suffix = "/" + child.suffix
    return replace(path, name=child.master, signed_text=path.signed_text.removesuffix(suffix)), child


class StreamingCorsMiddleware:
    """CORS for video delivery (streaming manifests and segments included) and text tracks:
    any origin may read them.

    The origin is echoed (with credentials allowed) when the request names one, since the
    Cloudinary player's error probe is a credentialed GET; otherwise `*`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _STREAMING_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        origin = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"origin"), None)
        allowed = {"Access-Control-Allow-Origin": origin or "*", "Access-Control-Expose-Headers": _EXPOSED}
        if origin:
            allowed |= {"Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
        if scope["method"] == "OPTIONS":
            preflight = {"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                         "Access-Control-Allow-Headers": "Range, Content-Range, If-Range, If-None-Match", "Access-Control-Max-Age": "600"}
            await Response(status_code=204, headers=allowed | preflight)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in allowed.items():
                    if name == "Vary" and "vary" in headers:
                        headers["Vary"] = f"{headers['Vary']}, Origin"
                    else:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)
