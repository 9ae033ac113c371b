"""Cloudinary features darkroom does not have, refused in Cloudinary's error shape.

Without these routes the SDK's calls would miss every route and get a bare 405 or a
generic "Resource not found", which reads like a darkroom bug. Each answers 404 with
`{"error": {"message": "… is not supported by darkroom"}}`: the SDK raises
`cloudinary.exceptions.NotFound` with that message (as for an unknown upload action),
and nothing is read, stored or sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from darkroom.errors import NotFound

__all__ = ["routes"]


def _refusal(feature: str) -> Callable[[Request], Awaitable[Response]]:
    async def refuse(request: Request) -> Response:
        raise NotFound(f"{feature} is not supported by darkroom")

    return refuse


routes: list[BaseRoute] = [
    # api.analyze: Cloudinary's AI analysis (captioning, tagging, …) runs models darkroom lacks.
    Route("/v2/{cloud}/analysis/analyze/{input_type}", _refusal("The Analyze API"), methods=["POST"]),
    # api.notifications / api.ack_notifications: the notification buffer behind `poll://`
    # destinations; darkroom delivers notifications by webhook only.
    Route("/v2/notifications/{cloud}/messages", _refusal("The notifications buffer"), methods=["GET"]),
    Route("/v2/notifications/{cloud}/messages/ack", _refusal("The notifications buffer"), methods=["POST"]),
    # uploader.create_slideshow: Cloudinary's generated video slideshows.
    Route("/v1_1/{cloud}/{resource_type}/create_slideshow", _refusal("create_slideshow"), methods=["POST"]),
]
