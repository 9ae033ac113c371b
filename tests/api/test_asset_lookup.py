"""The per-process asset memory in front of delivery: short-lived, forgotten on writes, misses never kept."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from darkroom.api.asset_lookup import AssetLookup, ForgetOnWrite


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
    app.state.asset_lookup = AssetLookup(ttl=60)
    app.state.asset_lookup._entries[("c", "image", "upload", "a")] = (0.0, "asset")  # noqa: SLF001 - seeding the memory

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            await client.get("/x")
            assert app.state.asset_lookup._entries  # noqa: SLF001 - reads keep it
            await client.post("/x")
            assert not app.state.asset_lookup._entries  # noqa: SLF001 - a write empties it

    asyncio.run(scenario())
