"""Answers for repeated image requests, replayed before the application stack runs.

A cached hit still walked the whole stack: middleware, routing, the delivery path parsed and
the transformation canonicalised, the asset and rules looked up in memory — about 0.3 ms of
CPU for bytes already in memory, where nginx spends 0.04 ms on a file. This memory keeps the
complete answers (status, headers, body) to recent derived-image requests, keyed by
everything of a request that can change the answer: method, raw path and query, and the
headers delivery reads (Accept, client hints, If-None-Match). A request with the same key is
answered from here; a request with a `Range` header never is (it goes to delivery).

What keeps it right:
- only answers delivery marks as replayable (`mark_replayable`): a 200 with a derived image,
  never an original streamed from the store, an error or a 304;
- entries live at most `LOOKUP_TTL` (1 s), the age the asset and rules memories allow: a new
  version, a destroy or a revoked key written by another process applies as soon there;
- any write through this process forgets them all at once (`ForgetOnWrite`), and on every
  node sharing a Redis before the writer answers (`media.shared_state`);
- bounded in entries and bytes.

The memory itself is `media.lookups.HotResponses`, one of the per-process caches
(`media.caches.Caches`); this module is its ASGI side. Under `darkroom serve` most repeats
never reach it: the server's HTTP protocol answers them from the same memory first
(`darkroom/hit_lane.py`); what the lane leaves (a closing connection, a slow reader) is
replayed here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.media.lookups import Answer, HotResponses

__all__ = ["REPLAYED", "ForgetOnWrite", "ReplayHotResponses", "hot_memory", "mark_replayable", "replay", "request_key"]

# Request headers delivery reads: Accept (f_auto), client hints (w_auto, dpr_auto, q_auto),
# If-None-Match (304). Any other header cannot change a derived image's answer.
KEY_HEADERS = frozenset((b"accept", b"sec-ch-width", b"width", b"sec-ch-dpr", b"dpr", b"save-data", b"if-none-match"))
SCANNED_HEADERS = KEY_HEADERS | {b"range"}
REPLAYABLE = "darkroom.replayable"  # scope key delivery sets on an answer this memory may keep
REPLAYED = "darkroom.replayed"  # scope key set on a request answered from this memory (for metrics)


def mark_replayable(scope: Scope) -> None:
    """Delivery's word that the answer it is sending may be replayed for the same request."""
    scope[REPLAYABLE] = True


def request_key(scope: Scope) -> tuple[object, ...] | None:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    keyed = []
    for name, value in scope["headers"]:  # one set look-up a header: this is the fastest path darkroom has
        if name in SCANNED_HEADERS:
            if name == b"range":
                # A ranged request is answered by delivery (206, 416 or a full 200): kept answers are
                # whole images, and a 206 is never kept, so neither side is replayed for the other.
                return None
            keyed.append((name, value))
    headers = tuple(sorted(keyed)) if keyed else ()
    return scope["method"], scope.get("raw_path") or scope["path"], scope.get("query_string", b""), headers


def hot_memory(app: object) -> HotResponses | None:
    """The app's hot-response memory; None before the lifespan has built the services.
    (Starlette's State makes this look-up costly: callers find it once and keep it.)"""
    services = getattr(getattr(app, "state", None), "services", None)
    return None if services is None else services.caches.hot_responses


async def replay(answer: Answer, send: Send) -> None:
    """Send a kept answer again (`Telemetry` adds its request ID to a copy of the start message)."""
    await send(answer.start)
    await send({"type": "http.response.body", "body": answer.body})


class ReplayHotResponses:
    """ASGI middleware: answer from the app's hot responses when it can, else run the app
    and keep its answer if delivery marked it replayable and it came in one piece."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._memory: HotResponses | None = None  # the app's, found at its first request after start-up

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        memory = self._memory
        if memory is None:
            memory = self._memory = hot_memory(scope.get("app"))
        key = request_key(scope) if memory is not None else None
        if key is None or memory is None:
            await self.app(scope, receive, send)
            return
        answer = memory.recall(key)
        if answer is not None:
            scope[REPLAYED] = True
            await replay(answer, send)
            return
        await self._run_and_keep(scope, receive, send, memory, key)

    async def _run_and_keep(self, scope: Scope, receive: Receive, send: Send, memory: HotResponses, key: tuple[object, ...]) -> None:
        start: Message | None = None
        bodies: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                bodies.append(message)
            await send(message)

        await self.app(scope, receive, capture)
        in_one_piece = len(bodies) == 1 and not bodies[0].get("more_body", False)
        if scope.get(REPLAYABLE) and start is not None and start["status"] == 200 and in_one_piece:
            memory.keep_answer(key, start, bodies[0].get("body", b""))


class ForgetOnWrite:
    """ASGI middleware: after any request that may change state, forget what the caches of
    every node remember that the write may have made stale (`Services.forget_everywhere`).

    This happens before the answer starts, so a client that has its answer finds the change
    on whichever node it asks next. A write refused with a 4xx changed nothing (a refused
    request stores nothing), so it keeps the caches: otherwise a stream of bad POSTs would
    send every delivery back to the database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        answered = False

        async def forget_then_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                if not 400 <= message["status"] < 500:
                    await _forget_everywhere(scope)
            await send(message)

        try:
            await self.app(scope, receive, forget_then_send)
        finally:
            if not answered:  # the request failed before answering, and may have written
                await _forget_everywhere(scope)


async def _forget_everywhere(scope: Scope) -> None:
    services = getattr(scope["app"].state, "services", None) if "app" in scope else None
    if services is not None:
        await services.forget_everywhere()
