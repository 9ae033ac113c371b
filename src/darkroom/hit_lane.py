"""The hit lane: a repeated image request answered by the HTTP protocol, before any ASGI task.

`darkroom serve` runs uvicorn with `HitLaneProtocol`: uvicorn's httptools protocol with one
change. When a request has been read and uvicorn would start an ASGI task for it, the lane
first looks in the hot-response memory (`api.hot_responses`, filled by delivery's replayable
answers). On a hit it writes the kept answer to the socket at once: the status line, uvicorn's
own Date header, the kept headers (encoded once per answer), an X-Request-Id (a revalidation
whose If-None-Match names a kept 200's ETag gets the 304 delivery would give); then it records
what `api.telemetry.Telemetry` records for every request (metrics, delivery usage, the access
line) and hands the connection back to uvicorn as if the task had finished.

Why: for a 14 KB cached derivative, uvicorn's ASGI machinery (scope, task, send messages, a
check of every header) costs more than darkroom's whole search for the answer, so a bare
uvicorn app returning fixed bytes was the ceiling of any ASGI answer (bench/cached.py prints
both). The lane is as careful as the ASGI path about what it answers — the memory keeps
only answers delivery marked replayable, each for at most a second, forgotten on any write —
and leaves to that path whatever it would answer differently:
- a connection that is not kept alive (HTTP/1.0, `Connection: close`): uvicorn closes it;
- a client that reads slowly (uvicorn has paused writing): the ASGI path waits for it;
- the access log on behind trusted proxies: the line needs the client `TrustedProxies` works out;
- uvicorn's concurrency limit answering 503.

It relies on these parts of uvicorn's httptools protocol (uvicorn[standard], pinned below the
next minor version in pyproject.toml): `_start_asgi_task(cycle, app)`, called once a request's
headers are read, in order, pipelined requests included; the cycle's `scope`, `keep_alive`,
`response_started`, `response_complete` and `on_response`; `server_state.default_headers`;
`flow.write_paused`; `transport`. tests/api/test_hit_lane.py drives it through sockets: pipelined
requests, HEAD, Connection: close, HTTP/1.0, request IDs, revalidations (304), metrics.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any, cast

from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from darkroom.api import metrics
from darkroom.api.delivery import not_modified
from darkroom.api.hot_responses import hot_memory, request_key
from darkroom.api.logs import access_log, request_id, request_id_header
from darkroom.api.telemetry import REQUEST_ID_HEADER, header_of, record_answer
from darkroom.api.usage_meter import UsageMeter
from darkroom.media.lookups import Answer, HotResponses

__all__ = ["HitLane", "HitLaneProtocol"]


class HitLane:
    """One per app (`create_app` puts it on the app's state): the memory it answers from and
    the app's recorders, found once the lifespan has built them."""

    def __init__(self, app: Any, trusted_proxies: bool) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies
        self._memory: HotResponses | None = None
        self._recorders: tuple[metrics.RequestMetrics, UsageMeter] | None = None
        self._defaults: tuple[list[tuple[bytes, bytes]], bytes] = ([], b"")  # uvicorn's default headers, encoded

    def answer(self, protocol: HttpToolsProtocol, cycle: RequestResponseCycle) -> bool:
        """Write the kept answer to `cycle`'s request and finish the cycle; False when there is
        none or the ASGI path must answer (see the module docstring)."""
        memory = self._memory
        if memory is None:
            memory = self._memory = hot_memory(self.app)
            if memory is None:  # the lifespan has not built the services yet
                return False
        scope = cast(Scope, cycle.scope)  # uvicorn's typed dict of the same ASGI scope
        key = request_key(scope)
        if key is None or not cycle.keep_alive or protocol.flow.write_paused:
            return False
        kept = memory.recall(key)
        if kept is not None:
            status, headers, body = kept.start["status"], kept.header_block, kept.body
        else:
            kept = _revalidated(memory, key)
            if kept is None:
                return False
            status, headers, body = 304, kept.not_modified_block, b""
        logged = access_log.isEnabledFor(logging.INFO)
        if logged and self.trusted_proxies:
            return False
        started = perf_counter()
        rid = request_id_header(header_of(scope, REQUEST_ID_HEADER))
        protocol.transport.writelines((
            STATUS_LINE[status], self._default_headers(protocol), headers, b"x-request-id: ", rid, b"\r\n\r\n", body,
        ))
        cycle.response_started = cycle.response_complete = True
        self._record(scope, status, perf_counter() - started, len(body), rid, logged)
        cycle.on_response()  # uvicorn counts the request, re-arms keep-alive or starts the next pipelined one
        return True

    def _record(self, scope: Scope, status: int, seconds: float, sent: int, rid: bytes, logged: bool) -> None:
        """What `Telemetry` records for every request it sees, the access line in this request's ID."""
        recorders = self._recorders
        if recorders is None:  # Starlette's State makes these look-ups costly: found once
            recorders = self._recorders = self.app.state.request_metrics, self.app.state.usage_meter
        token = request_id.set(rid.decode("ascii")) if logged else None
        record_answer(*recorders, scope, metrics.DELIVERY, status, seconds, 0, sent, replayed=True)
        if token is not None:
            request_id.reset(token)

    def _default_headers(self, protocol: HttpToolsProtocol) -> bytes:
        """uvicorn's Date (and Server) headers, encoded again only when uvicorn renews them (each second)."""
        headers = protocol.server_state.default_headers
        if headers is not self._defaults[0]:
            self._defaults = headers, b"".join(b"%s: %s\r\n" % pair for pair in headers)
        return self._defaults[1]


def _revalidated(memory: HotResponses, key: tuple[object, ...]) -> Answer | None:
    """For a request with `If-None-Match`: the kept 200 it revalidates, when the ETags match
    as delivery matches them (then the answer is delivery's 304: the same headers, no body)."""
    headers = cast(tuple[tuple[bytes, bytes], ...], key[3])  # request_key: method, path, query, the headers it keeps
    given = next((value for name, value in headers if name == b"if-none-match"), None)
    if given is None:
        return None
    plain = memory.recall((*key[:3], tuple(header for header in headers if header[0] != b"if-none-match")))
    if plain is None or plain.start["status"] != 200 or plain.etag is None:
        return None
    return plain if not_modified(given.decode("latin-1"), plain.etag) else None


class HitLaneProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, asking the app's `HitLane` before starting an ASGI task."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # None when the app is not darkroom's or uvicorn wrapped it (ProxyHeadersMiddleware,
        # the trace logger): then every request takes the ASGI path.
        self.hit_lane: HitLane | None = getattr(getattr(self.app, "state", None), "hit_lane", None)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        lane = self.hit_lane
        if lane is not None and app is self.app and lane.answer(self, cycle):
            return
        super()._start_asgi_task(cycle, app)
