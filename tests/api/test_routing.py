"""The first-segment shortcut routes every request exactly as Starlette's own router does."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from darkroom.server import ROUTE_LISTS
from darkroom.api.routing import FirstSegmentRouter, literal_head


def _named(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


class ByCode(BaseRoute):
    """Like the media store's route: matches by code, no path pattern."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.FULL, {}) if scope["path"].startswith("/media") else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("by-code")(scope, receive, send)


def _table() -> list[BaseRoute]:
    """The shapes darkroom's table has, in its order: literal heads (with a method-restricted
    one, a slash variant and a mount), a parameter head before the catch-all, a code route."""
    return [
        Route("/health", _named("health")),
        Route("/v1_1/{cloud}/resources", _named("resources"), methods=["GET"]),
        Route("/v1_1/{cloud}/{resource_type}/{action}", _named("upload"), methods=["POST"]),
        Route("/console/", _named("console")),
        Mount("/console/static", routes=[Route("/{file}", _named("static"))]),
        Route("/{cloud}/search/{signature}/{query}", _named("search")),
        ByCode(),
        Route("/{cloud}/{resource_type}/{type}/{rest:path}", _named("delivery"), methods=["GET", "HEAD"]),
    ]


PATHS = [
    "/health", "/health/", "/v1_1/demo/resources", "/v1_1/demo/image/upload", "/v1_1/demo/image", "/v1_1", "/console", "/console/",
    "/console/static/app.js", "/demo/search/abc/q", "/demo/image/upload/c_fill,w_10/sample.jpg",
    "/demo/image/upload/sample.jpg/", "/demo/image/upload", "/demo/image", "/media", "/media/x/y", "/", "/nothing",
    "/health.jpg/image/upload/x.jpg", "/v1_1x/image/upload/x.jpg",
]


async def _answers(router: Router, method: str) -> list[tuple[int, str, str | None]]:
    app = Starlette()
    app.router = router
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answers = []
        for path in PATHS:
            response = await client.request(method, path, follow_redirects=False)
            answers.append((response.status_code, response.text, response.headers.get("location")))
        return answers


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_every_path_gets_what_starlette_would_give(method: str) -> None:
    expected = asyncio.run(_answers(Router(_table()), method))
    actual = asyncio.run(_answers(FirstSegmentRouter(_table()), method))
    for path, want, got in zip(PATHS, expected, actual):
        assert got == want, path
    outcomes = {200, 307, 404} if method == "GET" else {200, 404, 405}  # the sample meets each of them
    assert {status for status, _, _ in expected} >= outcomes


def test_darkroom_table_sends_image_paths_past_the_api_routes() -> None:
    routes = [route for part in ROUTE_LISTS for route in part]
    router = FirstSegmentRouter(routes)
    assert {"v1_1", "console", "api"} <= router.literal_heads
    open_paths = [getattr(route, "path", type(route).__name__) for route in router.open_routes.routes]
    assert open_paths[-1] == "/{cloud}/{resource_type}/{type}/{rest:path}"  # still last
    assert len(open_paths) < len(routes) / 10
    assert literal_head(Route("/{cloud}/x", _named("x"))) is None
