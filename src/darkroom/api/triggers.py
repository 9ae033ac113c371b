"""Admin API, notification triggers: `/v1_1/{cloud}/triggers` (reference breadth §2).

GET lists (optionally one `event_type`), POST creates (`uri`, `event_type`, `uri_type`), PUT
`/triggers/{id}` points a trigger at `new_uri`, DELETE `/triggers/{id}` removes it, POST
`/triggers/{id}/test` answers how its (absent) filter judges a sample. Thin handlers over
`catalog.triggers`; the triggers fire through `media.notifications`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom.api.admin_http import authorize, guard_routes
from darkroom.catalog import triggers
from darkroom.catalog.triggers import Trigger

__all__ = ["routes"]

PATH = "/v1_1/{cloud}/triggers"


def _trigger_json(cloud: str, trigger: Trigger) -> dict[str, Any]:
    return {
        "id": trigger.id,
        "product_environment_id": cloud,
        "uri": trigger.uri,
        "uri_type": trigger.uri_type,
        "event_type": trigger.event_type,
        "created_at": trigger.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": trigger.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def list_triggers(request: Request) -> Response:
    admin = await authorize(request)
    found = await admin.db(triggers.list_triggers, admin.param("event_type"))
    return admin.reply({"triggers": [_trigger_json(admin.cloud, t) for t in found], "total": len(found)})


async def create(request: Request) -> Response:
    admin = await authorize(request)
    trigger = await admin.db(
        triggers.create_trigger, str(admin.required("uri")), str(admin.required("event_type")), admin.param("uri_type")
    )
    return admin.reply(_trigger_json(admin.cloud, trigger))


async def update(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(triggers.update_trigger, request.path_params["trigger_id"], str(admin.required("new_uri")))
    return admin.reply({"message": "updated"})


async def delete(request: Request) -> Response:
    admin = await authorize(request)
    await admin.db(triggers.delete_trigger, request.path_params["trigger_id"])
    return admin.reply({"message": "deleted"})


async def test(request: Request) -> Response:
    """darkroom's triggers have no filters: every sample passes."""
    admin = await authorize(request)
    trigger_id = request.path_params["trigger_id"]
    if not any(t.id == trigger_id for t in await admin.db(triggers.list_triggers, None)):
        raise triggers.TriggerNotFound(f"Trigger {trigger_id} not found")
    return admin.reply({"trigger_id": trigger_id, "filter_present": False, "filter_result": True})


routes = guard_routes([
    Route(PATH, list_triggers, methods=["GET"]),
    Route(PATH, create, methods=["POST"]),
    Route(PATH + "/{trigger_id}", update, methods=["PUT"]),
    Route(PATH + "/{trigger_id}", delete, methods=["DELETE"]),
    Route(PATH + "/{trigger_id}/test", test, methods=["POST"]),
])
