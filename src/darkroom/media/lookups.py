"""Short-lived, per-process memories of what delivery has just looked up: assets, each
cloud's delivery rules (strict transformations, named transformations) and whole answers
to repeated image requests (`HotResponses`, replayed by `api.hot_responses`).

A cached hit is a memory copy and a miss's overhead is a few database round trips through
the thread pool (bench/README.md, "Where darkroom's time goes"), so delivery asks the
database at most once per `ttl` seconds for each. Any state-changing request handled by
this process empties them all at once (`Caches.forget`, called by `ForgetOnWrite`), so a destroy, overwrite,
rename or named-transformation change made through this process is seen immediately, and
one made through another process (another node, the CLI's `clouds set --strict`) at once
when they share a Redis (`media.shared_state` announces every write), else within `ttl`. Missing assets are never remembered: a new upload is served at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from darkroom import catalog
from darkroom.catalog import Asset
from darkroom.catalog.named_transformations import DeliveryRules, delivery_rules

if TYPE_CHECKING:
    from darkroom.media.services import Services

__all__ = ["AssetLookup", "HotResponses", "RulesLookup", "LOOKUP_TTL", "Recent"]

# Seconds a looked-up asset or rule set is trusted: the bound on seeing another process's change.
LOOKUP_TTL = 1.0

Identity = tuple[str, str, str, str]  # cloud, resource_type, type, public_id
K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values kept for `ttl` seconds, at most `max_entries` of them and, when a subclass says
    what a value weighs (`_size`), at most `max_bytes` in all; the oldest go first."""

    def __init__(self, ttl: float, max_entries: int, max_bytes: int | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key → (monotonic time kept, value)
        self._bytes = 0

    def _size(self, value: V) -> int:
        return 0

    def recall(self, key: K) -> V | None:
        remembered = self._entries.get(key)
        if remembered is not None and time.monotonic() - remembered[0] < self.ttl:
            return remembered[1]
        return None

    def keep(self, key: K, value: V) -> None:
        self.drop(key)
        self._entries[key] = (time.monotonic(), value)
        self._bytes += self._size(value)
        while len(self._entries) > self.max_entries or (self.max_bytes is not None and self._bytes > self.max_bytes):
            self.drop(next(iter(self._entries)))

    def drop(self, key: K) -> None:
        remembered = self._entries.pop(key, None)
        if remembered is not None:
            self._bytes -= self._size(remembered[1])

    def forget_all(self) -> None:
        self._entries.clear()
        self._bytes = 0


class AssetLookup(Recent[Identity, Asset]):
    def __init__(self, ttl: float = LOOKUP_TTL, max_entries: int = 10_000) -> None:
        super().__init__(ttl, max_entries)

    async def get(self, services: Services, cloud: str, resource_type: str, type_: str, public_id: str) -> Asset | None:
        identity = (cloud, resource_type, type_, public_id)
        remembered = self.recall(identity)
        if remembered is not None:
            return remembered
        asset = await services.db(catalog.get_asset, cloud, resource_type, type_, public_id)
        if asset is None:
            self.drop(identity)
        else:
            self.keep(identity, asset)
        return asset


class RulesLookup(Recent[str, DeliveryRules]):
    """Each cloud's delivery rules. Asked only after the cloud's asset was found, so the
    clouds it holds are real ones; `max_entries` still bounds it."""

    def __init__(self, ttl: float = LOOKUP_TTL, max_entries: int = 1_000) -> None:
        super().__init__(ttl, max_entries)

    async def get(self, services: Services, cloud: str) -> DeliveryRules:
        rules = self.recall(cloud)
        if rules is None:
            rules = await services.db(delivery_rules, cloud)
            self.keep(cloud, rules)
        return rules


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer as the server sent it: the ASGI start message and the body."""

    start: MutableMapping[str, Any]  # an ASGI message
    body: bytes

    @cached_property
    def header_block(self) -> bytes:
        """The headers as HTTP/1.1 writes them (`name: value` lines), for the server's hit lane."""
        return b"".join(b"%s: %s\r\n" % (name, value) for name, value in self.start["headers"])

    @cached_property
    def not_modified_block(self) -> bytes:
        """The headers of the 304 that revalidates this answer: the same, less the body's length and type."""
        return b"".join(b"%s: %s\r\n" % (name, value) for name, value in self.start["headers"] if name not in (b"content-length", b"content-type"))

    @cached_property
    def etag(self) -> str | None:
        return next((value.decode("latin-1") for name, value in self.start["headers"] if name == b"etag"), None)


MAX_ANSWER_BYTES = 1024 * 1024  # larger answers are not worth a slot: they are rarely the hot ones


class HotResponses(Recent[tuple[object, ...], Answer]):
    """Replayable answers keyed by request (`api.hot_responses.request_key`), each valid for
    `ttl` seconds, bounded by count and bytes."""

    def __init__(self, ttl: float = LOOKUP_TTL, max_entries: int = 4096, max_bytes: int = 32 * 1024 * 1024) -> None:
        super().__init__(ttl, max_entries, max_bytes)

    def _size(self, value: Answer) -> int:
        return len(value.body)

    def keep_answer(self, key: tuple[object, ...], start: MutableMapping[str, Any], body: bytes) -> None:
        if len(body) <= MAX_ANSWER_BYTES:
            self.keep(key, Answer(start, body))
