"""What every Upload API action handler shares: its context, its reply, its required parameters.

Kept apart from `upload.py` (the action table) so that modules with more actions
(`generate.py`) can use them without importing the table that imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from darkroom.api.callers import Caller, signing_key_for
from darkroom.api.multipart import UploadForm
from darkroom.media.services import Services
from darkroom.api.admin_http import settings_of
from darkroom.api.shapes import asset_json
from darkroom.catalog.cloud_settings import folder_mode_of
from darkroom.auth import MissingParameter, response_signature
from darkroom.auth.signing import algorithm_for_signature
from darkroom.catalog import Asset

__all__ = ["Action", "ActionContext", "required", "resource_reply"]


@dataclass
class ActionContext:
    request: Request
    services: Services
    cloud: str
    resource_type: str
    action: str
    form: UploadForm
    params: dict[str, str]
    caller: Caller


Action = Callable[[ActionContext], Awaitable[Response]]


async def resource_reply(ctx: ActionContext, asset: Asset) -> dict[str, Any]:
    """The asset as an upload-like reply: its JSON, the response signature, the caller's key."""
    body = asset_json(ctx.request, ctx.services.settings, asset, folder_mode_of(await settings_of(ctx.services, ctx.cloud)))
    key = await signing_key_for(ctx.services, ctx.cloud, ctx.caller)
    if key is not None:
        algorithm = algorithm_for_signature(ctx.params.get("signature", "")) or "sha1"
        body["signature"] = response_signature(asset.public_id, asset.version, key.api_secret, algorithm=algorithm)
    if ctx.caller.key is not None:
        body["api_key"] = ctx.caller.key.api_key
    return body


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise MissingParameter(f"Missing required parameter - {name}")
    return value
