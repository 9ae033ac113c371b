"""Admin API, conditional metadata rules: `/v1_1/{cloud}/metadata_rules[/{external_id}]`.

GET lists, POST creates, PUT `/{id}` changes, DELETE `/{id}` removes; bodies are JSON, as both
SDKs send them. Thin handlers over `catalog.metadata_rules`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.api.admin_http import authorize, guard_routes
from darkroom.catalog import metadata_rules

__all__ = ["routes"]

PATH = "/v1_1/{cloud}/metadata_rules"


async def list_rules(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply({"metadata_rules": await admin.db(metadata_rules.list_rules)})


async def add_rule(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await admin.db(metadata_rules.add_rule, admin.params))


async def update_rule(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await admin.db(metadata_rules.update_rule, request.path_params["rule_id"], admin.params))


async def delete_rule(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(metadata_rules.delete_rule, request.path_params["rule_id"])
    return admin.reply({"success": True})


routes = guard_routes([
    Route(PATH, list_rules, methods=["GET"]),
    Route(PATH, add_rule, methods=["POST"]),
    Route(f"{PATH}/{{rule_id}}", update_rule, methods=["PUT"]),
    Route(f"{PATH}/{{rule_id}}", delete_rule, methods=["DELETE"]),
])
