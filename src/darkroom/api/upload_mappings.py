"""Admin API, upload mappings: `/v1_1/{cloud}/upload_mappings` (reference breadth §3).

One path for every method, the folder always a parameter (the query string on GET, the body
otherwise, DELETE included): GET lists, or with `folder` shows one; POST creates, PUT
replaces a folder's template, DELETE removes it. Thin handlers over `catalog.upload_mappings`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.api.admin_http import authorize, guard_routes
from darkroom.catalog import upload_mappings
from darkroom.catalog.listing import max_results_from
from darkroom.catalog.upload_mappings import Mapping

__all__ = ["routes"]

PATH = "/v1_1/{cloud}/upload_mappings"


def _mapping_json(mapping: Mapping) -> dict[str, Any]:
    return {"folder": mapping.folder, "template": mapping.template}


async def list_or_show(request: Request) -> Response:
    admin = await authorize(request)
    folder = admin.param("folder")
    if folder is not None:
        return admin.reply(_mapping_json(await admin.db(upload_mappings.get_mapping, str(folder))))
    page, cursor = await admin.db(
        upload_mappings.list_mappings, max_results_from(admin.param("max_results")), admin.param("next_cursor")
    )
    body: dict[str, Any] = {"mappings": [_mapping_json(m) for m in page]}
    if cursor:
        body["next_cursor"] = cursor
    return admin.reply(body)


async def create(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(upload_mappings.create_mapping, str(admin.required("folder")), str(admin.required("template")))
    return admin.reply({"message": "created"})


async def update(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(upload_mappings.update_mapping, str(admin.required("folder")), str(admin.required("template")))
    return admin.reply({"message": "updated"})


async def delete(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(upload_mappings.delete_mapping, str(admin.required("folder")))
    return admin.reply({"message": "deleted"})


routes = guard_routes([
    Route(PATH, list_or_show, methods=["GET"]),
    Route(PATH, create, methods=["POST"]),
    Route(PATH, update, methods=["PUT"]),
    Route(PATH, delete, methods=["DELETE"]),
])
