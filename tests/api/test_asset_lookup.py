"""The per-process memories in front of delivery (assets, cloud rules): short-lived, forgotten on writes, missing assets never kept."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from darkroom.api.hot_responses import ForgetOnWrite
from darkroom.media.caches import Caches
from darkroom.media.derivatives import DerivativeCache
from darkroom.media.lookups import AssetLookup, HotResponses, RulesLookup


class CountingServices:
    """Stands in for Services.db: answers from a dict and counts the round trips."""

    def __init__(self, assets: dict[str, Any]) -> None:
        self.assets = assets
        self.calls = 0

    async def db(self, _function: Any, _cloud: str, _rt: str, _type: str, public_id: str) -> Any:
        self.calls += 1
        return self.assets.get(public_id)


def test_hits_within_the_ttl_cost_no_round_trip_and_expire_after() -> None:
    services = CountingServices({"a": "asset-a"})
    lookup = AssetLookup(ttl=0.2)

    async def scenario() -> None:
        assert await lookup.get(services, "c", "image", "upload", "a") == "asset-a"  # type: ignore[arg-type]
        assert await lookup.get(services, "c", "image", "upload", "a") == "asset-a"  # type: ignore[arg-type]
        assert services.calls == 1
        await asyncio.sleep(0.25)
        await lookup.get(services, "c", "image", "upload", "a")  # type: ignore[arg-type]
        assert services.calls == 2

    asyncio.run(scenario())


def test_misses_are_not_remembered() -> None:
    services = CountingServices({})
    lookup = AssetLookup(ttl=60)

    async def scenario() -> None:
        assert await lookup.get(services, "c", "image", "upload", "new") is None  # type: ignore[arg-type]
        services.assets["new"] = "uploaded since"
        assert await lookup.get(services, "c", "image", "upload", "new") == "uploaded since"  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_state_changing_requests_empty_the_memory() -> None:
    async def ok(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/x", ok, methods=["GET", "POST"])], middleware=[Middleware(ForgetOnWrite)])
    caches = Caches(DerivativeCache(), AssetLookup(ttl=60), RulesLookup(ttl=60), HotResponses(ttl=60))
    async def forget_everywhere() -> None:  # one node: what Services does without Redis
        caches.forget()

    app.state.services = SimpleNamespace(caches=caches, forget_everywhere=forget_everywhere)
    caches.asset_lookup.keep(("c", "image", "upload", "a"), "asset")  # type: ignore[arg-type]
    caches.rules_lookup.keep("c", "strict rules")  # type: ignore[arg-type]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            await client.get("/x")
            assert caches.asset_lookup.recall(("c", "image", "upload", "a")) == "asset"  # reads keep them
            assert caches.rules_lookup.recall("c") == "strict rules"
            await client.post("/x")
            assert caches.asset_lookup.recall(("c", "image", "upload", "a")) is None  # a write empties both
            assert caches.rules_lookup.recall("c") is None

    asyncio.run(scenario())


def test_cloud_rules_are_read_once_per_ttl() -> None:
    services = CountingRules()
    lookup = RulesLookup(ttl=0.2)

    async def scenario() -> None:
        assert await lookup.get(services, "c") == "rules 1"  # type: ignore[arg-type]
        assert await lookup.get(services, "c") == "rules 1"  # type: ignore[arg-type]
        await asyncio.sleep(0.25)
        assert await lookup.get(services, "c") == "rules 2"  # type: ignore[arg-type]

    asyncio.run(scenario())


class CountingRules:
    """Stands in for Services.db reading a cloud's delivery rules: each read gives a new answer."""

    def __init__(self) -> None:
        self.calls = 0

    async def db(self, _function: Any, _cloud: str) -> Any:
        self.calls += 1
        return f"rules {self.calls}"
