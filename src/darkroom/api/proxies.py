"""ASGI middleware: behind trusted proxies, the scope's client and scheme are the real ones.

`auth.proxies.behind_proxies` decides; this rewrites `scope["client"]` and `scope["scheme"]`
so that everything after it (access logs, rate limits and lock-outs, `Secure` cookies,
the scheme of URLs in answers) sees the client's address and scheme, not the proxy's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from darkroom.auth.proxies import Network, behind_proxies
from darkroom.media.sessions import UNKNOWN_CLIENT

__all__ = ["TrustedProxies", "client_address"]


def client_address(request: Request) -> str:
    """The client's address for throttles and lock-outs (the real one behind trusted proxies)."""
    return request.client.host if request.client and request.client.host else UNKNOWN_CLIENT


class TrustedProxies:
    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...] = ()) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.proxies and scope["type"] in ("http", "websocket"):
            self._rewrite(scope)  # in place: the middleware outside reads what those inside write on it
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        peer = scope.get("client")
        headers = scope.get("headers") or []
        forwarded_for = [value.decode("latin-1") for key, value in headers if key == b"x-forwarded-for"]
        forwarded_proto = [value.decode("latin-1") for key, value in headers if key == b"x-forwarded-proto"]
        secure = scope.get("scheme") in ("https", "wss")
        origin = behind_proxies(peer[0] if peer else None, "https" if secure else "http", forwarded_for, forwarded_proto, self.proxies)
        scheme = origin.scheme if scope["type"] == "http" else ("wss" if origin.scheme == "https" else "ws")
        client = (origin.client, peer[1] if peer and origin.client == peer[0] else 0) if origin.client else peer
        scope["client"], scope["scheme"] = client, scheme
