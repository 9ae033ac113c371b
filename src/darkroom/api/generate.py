"""The Upload API's generation actions over HTTP: `text`, `sprite`, `multi`, `explode`
(`POST /v1_1/{cloud}/image/{action}`), and the signed `GET` downloads of sprites and multis.

The work is `media.generation`'s; this module reads the request and shapes the reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from darkroom.api.actions import ActionContext, resource_reply
from darkroom.api.callers import authenticate
from darkroom.api.multipart import UploadForm
from darkroom.api.shapes import attachment, origin_of
from darkroom.errors import Invalid
from darkroom.media import generation
from darkroom.media.generation import Download
from darkroom.media.services import services_of

__all__ = ["download_generated", "explode", "multi", "routes", "sprite", "text"]


async def text(ctx: ActionContext) -> Response:
    """`cloudinary.uploader.text("Hi", font_family="Arial", font_size=40, …)`."""
    asset = await generation.make_text(ctx.services, ctx.cloud, ctx.params)
    return JSONResponse(await resource_reply(ctx, asset))


async def sprite(ctx: ActionContext) -> Response:
    """`generate_sprite(tag)` / `generate_sprite(urls=[…])`: one sheet plus its CSS and JSON."""
    made = await generation.make_sprite(ctx.services, ctx.cloud, _origin(ctx), ctx.params, _urls(ctx))
    return _reply(made)


async def multi(ctx: ActionContext) -> Response:
    """`multi(tag, format="gif")`: an animated GIF/WebP (or a PDF) of the tagged images, A→Z."""
    made = await generation.make_multi(ctx.services, ctx.cloud, _origin(ctx), ctx.params, _urls(ctx))
    return _reply(made)


async def explode(ctx: ActionContext) -> Response:
    """`explode(public_id, page="all")`: every requested page rendered as its `pg_N` derivative."""
    return JSONResponse(await generation.explode(ctx.services, ctx.cloud, ctx.params))


def _origin(ctx: ActionContext) -> str:
    return origin_of(ctx.request, ctx.services.settings)


def _urls(ctx: ActionContext) -> list[str]:
    return ctx.form.fields.get("urls") or []


def _reply(made: generation.Download | dict[str, object]) -> Response:
    if isinstance(made, Download):
        headers = {"Content-Disposition": attachment(made.filename), "Cache-Control": "no-store"}
        return Response(made.data, headers=headers, media_type=made.content_type)
    return JSONResponse(made)


def _downloader(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        return await download_generated(request, action)

    return handler


async def download_generated(request: Request, action: str) -> Response:
    """`GET /v1_1/{cloud}/image/{sprite|multi}?mode=download&…&signature=…`, the URL
    `download_generated_sprite` and `download_multi` sign."""

    services = services_of(request)
    cloud = request.path_params["cloud"]
    await services.require_cloud(cloud)
    fields: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        fields.setdefault(key.removesuffix("[]"), []).append(value)
    params = {name: ",".join(values) for name, values in fields.items()}
    if params.get("mode") != "download":
        raise Invalid("Only mode=download may use GET")
    caller = await authenticate(services, request, cloud, params, action)
    ctx = ActionContext(request, services, cloud, "image", action, UploadForm(fields=fields), params, caller)
    return await (sprite(ctx) if action == "sprite" else multi(ctx))


routes = [
    *(Route(f"/v1_1/{{cloud}}/image/{action}", _downloader(action), methods=["GET"]) for action in ("sprite", "multi")),
]
