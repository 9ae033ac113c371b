"""Routing that skips the routes a path cannot match, by the path's first segment.

Starlette tries routes in order, and delivery's catch-all (`/{cloud}/{resource_type}/…`)
comes last, after some eighty API and console routes — every image request paid for trying
them all (about a third of a cached hit's CPU). Almost all of those routes begin with a
literal segment (`/v1_1/…`, `/console/…`, `/api/…`), and such a route can match only a path
that begins with the same segment, not even partially (no 405, no slash redirect). So a
path whose first segment no route spells out is tried against the other routes alone —
those that begin with a parameter, or match by code — in their original order. Any other
path goes through the whole list as before: the outcome is the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Router
from starlette.types import Receive, Scope, Send


def literal_head(route: BaseRoute) -> str | None:
    """The first path segment every match of `route` starts with, or None when the route's
    first segment is a parameter or the route matches by code (no `path`)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    head = path[1:].split("/", 1)[0]
    return None if "{" in head else head


def first_segment(scope: Scope) -> str:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path):]
    return path[1:].split("/", 1)[0]


class FirstSegmentRouter(Router):
    """Starlette's Router, with the shortcut described above for HTTP requests."""

    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        super().__init__(routes, **options)
        heads = [literal_head(route) for route in self.routes]
        self.literal_heads = frozenset(head for head in heads if head is not None)
        self.open_routes = Router(
            [route for route, head in zip(self.routes, heads) if head is None],
            redirect_slashes=self.redirect_slashes,
            default=self.default,
        )

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and first_segment(scope) not in self.literal_heads:
            await self.open_routes.app(scope, receive, send)
            return
        await super().app(scope, receive, send)
