"""State shared by every darkroom process of one deployment: invalidations, single-flight
renders and call counters.

One machine needs none of this: a process's memories (`media.caches`) are forgotten by its
own writes and trust what they hold for `LOOKUP_TTL`. Several servers behind a load balancer
need three things more, and get them from the one Redis `DARKROOM_REDIS_URL` names:

| need | with Redis | without |
|---|---|---|
| a write on one node is seen by all at once (a revoked key, strict mode, an overwrite, a delete) | every write publishes on `INVALIDATE_CHANNEL`; each node's listener forgets its memories | `LOOKUP_TTL` (1 s) staleness |
| a burst of one new URL on many nodes renders once | a short Redis lock per derivative (`single_flight`) | a PostgreSQL advisory lock when the database is PostgreSQL; else each process's own single-flight |
| Admin API rate limits count every node's calls | one counter per (key, window) in Redis (`count_call`) | a counter per process |

Lock-outs (console sign-ins, bearer tokens) are rows in the database already
(`catalog.throttles`), so every node shares them with or without Redis. Sessions,
chunked-upload progress and chunk bytes are in the database and the blob store too: any
node may receive any request.

Redis being down never fails a request: a publish that cannot be sent leaves other nodes on
`LOOKUP_TTL`, a lock that cannot be taken lets the render go ahead, a counter that cannot be
read counts in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable

import anyio
import redis
import redis.asyncio as aioredis
from redis.asyncio.lock import Lock as RedisLock
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from darkroom.catalog import Engine, locks
from darkroom.config import Settings

__all__ = ["INVALIDATE_CHANNEL", "SharedState", "announce_write_now", "open_shared_state"]

log = logging.getLogger(__name__)

INVALIDATE_CHANNEL = "darkroom:invalidate"
LOCK_SECONDS = 60.0  # a render lock's lifetime: a node that dies holding one frees it after this
WAIT_SECONDS = 60.0  # how long a node waits for another's render before rendering itself
POLL_SECONDS = 0.02  # how often a waiting node looks again
# Database render locks held (or waited for) at once by one process: each holds a connection of
# the locks' own small pool. More distinct misses at once wait their turn here; renders run
# DARKROOM_RENDER_CONCURRENCY at a time anyway.
LOCK_HOLDERS = 4
RECONNECT_SECONDS = 1.0  # pause before a lost subscription is made again


class SharedState:
    """The single-machine behaviour: nothing to announce, locks only when the database can hold
    them (PostgreSQL advisory locks), counters left to the caller's process."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.node_id = secrets.token_hex(8)  # names this process's own announcements
        supported = engine is not None and locks.supports_advisory_locks(engine)
        self._engine = locks.lock_engine(engine, LOCK_HOLDERS) if engine is not None and supported else None
        self._holders = anyio.Semaphore(LOCK_HOLDERS)  # released by whichever task stores the render
        self._lock_threads = anyio.CapacityLimiter(LOCK_HOLDERS)  # not the default pool that database queries use

    @property
    def spans_nodes(self) -> bool:
        """Whether single_flight excludes other processes (then a render is stored before its lock is freed)."""
        return self._engine is not None

    async def start(self, on_invalidate: Callable[[], None]) -> None:
        """Begin listening for other nodes' writes (`on_invalidate` forgets this node's memories)."""

    async def stop(self) -> None:
        """Stop listening and close connections."""
        if self._engine is not None:
            self._engine.dispose()

    async def announce_write(self) -> None:
        """Tell the other nodes that state changed (this node has forgotten its own memories)."""

    @contextlib.asynccontextmanager
    async def single_flight(self, name: str) -> AsyncIterator[None]:
        """Held by one process of the deployment at a time for `name` (at most WAIT_SECONDS of waiting)."""
        if self._engine is None:
            yield
            return
        engine = self._engine
        async with self._holders:
            held = None
            deadline = anyio.current_time() + WAIT_SECONDS
            while held is None:
                held = await anyio.to_thread.run_sync(locks.try_advisory_lock, engine, name, limiter=self._lock_threads)
                if held is None:
                    if anyio.current_time() > deadline:
                        log.warning("gave up waiting for another process's render of %s; rendering here", name)
                        break
                    await anyio.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                if held is not None:
                    await anyio.to_thread.run_sync(locks.release_advisory_lock, held, name, limiter=self._lock_threads)

    async def count_call(self, subject: str, window_start: int, window_seconds: int) -> int | None:
        """Calls so far in this window, every node's; None when only this process counts."""
        return None


class RedisSharedState(SharedState):
    """Invalidations by pub/sub, single-flight by Redis locks, counters by INCR."""

    def __init__(self, url: str) -> None:
        super().__init__(None)
        self.url = url
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None

    @property
    def spans_nodes(self) -> bool:
        return True

    @property
    def client(self) -> aioredis.Redis:
        # Made on first use, inside the event loop that will use it.
        if self._client is None:
            # One quick retry: with Redis away, requests go on without it rather than wait on it.
            self._client = aioredis.Redis.from_url(
                self.url, socket_timeout=5, socket_connect_timeout=1, health_check_interval=30, retry=Retry(ExponentialBackoff(cap=0.05), 1)
            )
        return self._client

    async def start(self, on_invalidate: Callable[[], None]) -> None:
        subscribed = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen(on_invalidate, subscribed))
        with anyio.move_on_after(5):  # start-up goes on without Redis; the TTL still bounds staleness
            await subscribed.wait()

    async def _listen(self, on_invalidate: Callable[[], None], subscribed: asyncio.Event) -> None:
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(INVALIDATE_CHANNEL)
                    subscribed.set()
                    on_invalidate()  # whatever was announced while unsubscribed
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and message.get("data") != self.node_id.encode():
                            on_invalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("invalidation channel lost; listening again in %ss", RECONNECT_SECONDS, exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._client is not None:
            await self._client.aclose()

    async def announce_write(self) -> None:
        try:
            await self.client.publish(INVALIDATE_CHANNEL, self.node_id)
        except redis.RedisError:
            log.warning("could not announce a write; other nodes see it within their lookup TTL", exc_info=True)

    @contextlib.asynccontextmanager
    async def single_flight(self, name: str) -> AsyncIterator[None]:
        lock = RedisLock(self.client, f"darkroom:flight:{_digest(name)}", timeout=LOCK_SECONDS, sleep=POLL_SECONDS, blocking_timeout=WAIT_SECONDS)
        try:
            held = await lock.acquire()
        except redis.RedisError:
            log.warning("single-flight lock unavailable; rendering without it", exc_info=True)
            held = False
        try:
            yield
        finally:
            if held:
                with contextlib.suppress(redis.RedisError):  # expired meanwhile: nothing left to free
                    await lock.release()

    async def count_call(self, subject: str, window_start: int, window_seconds: int) -> int | None:
        key = f"darkroom:calls:{subject}:{window_start}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_seconds + 60)
                used, _ = await pipe.execute()
            return int(used)
        except redis.RedisError:
            log.warning("shared call counter unavailable; counting in this process", exc_info=True)
            return None


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def open_shared_state(settings: Settings, engine: Engine) -> SharedState:
    """Redis when the settings name one, else what the database alone can do."""
    return RedisSharedState(settings.redis_url) if settings.redis_url else SharedState(engine)


def announce_write_now(settings: Settings) -> None:
    """For a command outside any server (`darkroom keys revoke`): tell the servers to forget."""
    if not settings.redis_url:
        return
    try:
        with redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2) as client:
            client.publish(INVALIDATE_CHANNEL, "cli")
    except redis.RedisError:
        log.warning("could not announce the change; servers see it within their lookup TTL", exc_info=True)

