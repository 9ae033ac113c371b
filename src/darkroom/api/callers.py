"""Who is calling the Upload API: a signed request, Basic credentials, or an unsigned preset.

The checks themselves are `darkroom.auth`'s pure functions; this module looks the key or
preset up in the catalog and applies preset settings the way Cloudinary applies them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from darkroom import catalog
from darkroom.media.params import encode_context
from darkroom.media.services import Services
from darkroom.auth import (
    UPLOAD_API_REFUSALS,
    MissingParameter,
    UnknownApiKey,
    parse_basic_auth,
    usable_key,
    verify_basic_auth,
    verify_signed_request,
)
from darkroom.auth.requests import unix_seconds
from darkroom.catalog import ApiKey, UploadPreset
from darkroom.errors import Invalid

__all__ = ["Caller", "authenticate", "apply_preset", "signing_key_for"]

# Parameters an unsigned upload may set itself (reference §8); the preset decides the rest.
UNSIGNED_ALLOWED = frozenset(
    {
        "upload_preset", "callback", "public_id", "folder", "asset_folder", "display_name", "tags", "context",
        "metadata", "face_coordinates", "custom_coordinates", "regions", "source", "filename_override", "timestamp",
        "file", "api_key", "resource_type", "cloud_name",
    }
)


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None  # the key that signed (or authenticated by Basic auth); None when unsigned
    preset: UploadPreset | None

    @property
    def signed(self) -> bool:
        return self.key is not None


async def authenticate(
    services: Services, request: Request, cloud: str, params: dict[str, str], action: str, *, expiring_link: bool = False
) -> Caller:
    """Establish who sent `params`, raising Cloudinary's errors for anything else.

    `expiring_link`: the request is a signed download link (download, archive), whose signed
    `expires_at` sets its life; every other signed call keeps the server's timestamp window."""
    if params.get("signature"):
        api_key = params.get("api_key", "")
        key = usable_key(api_key, await _find_key(services, api_key), cloud, UPLOAD_API_REFUSALS)
        now = int(time.time())
        window = _link_window(services, params, now) if expiring_link else services.settings.timestamp_window
        verify_signed_request(params, action=action, secret=key.api_secret, now=now, window=window)
        return Caller(key, await _preset(services, cloud, params))
    basic = parse_basic_auth(request.headers.get("authorization", ""))
    if basic is not None:
        key = verify_basic_auth(basic, await _find_key(services, basic[0]), cloud, UPLOAD_API_REFUSALS)
        return Caller(key, await _preset(services, cloud, params))
    if action != "upload":
        # Only uploads may be unsigned (with an unsigned preset); every other action needs a key.
        if params.get("api_key"):
            raise MissingParameter("Missing required parameter - signature")
        raise UnknownApiKey(UPLOAD_API_REFUSALS.missing)
    return Caller(None, await _unsigned_preset(services, cloud, params))


def _link_window(services: Services, params: dict[str, str], now: int) -> int:
    """How old a download link's signed timestamp may be. A signed `expires_at` sets the
    link's life itself, so a link made for a day works for that day (its passing is checked
    by the endpoint); without one, the server's window (an hour by default)."""
    window = services.settings.timestamp_window
    expires_at = params.get("expires_at", "")
    if expires_at and unix_seconds(expires_at, "expires_at") >= now:
        return max(window, now)  # any signing time: the signature covers expires_at
    return window


async def _find_key(services: Services, api_key: str) -> ApiKey | None:
    return await services.db(catalog.find_key, api_key) if api_key else None


async def _preset(services: Services, cloud: str, params: dict[str, str]) -> UploadPreset | None:
    name = params.get("upload_preset")
    if not name:
        return None
    try:
        return await services.db(catalog.find_upload_preset, cloud, name)
    except catalog.PresetNotFound:
        raise Invalid(f"Upload preset not found - {name}") from None


async def _unsigned_preset(services: Services, cloud: str, params: dict[str, str]) -> UploadPreset:
    if not params.get("upload_preset"):
        raise Invalid("Upload preset must be specified when using unsigned upload")
    preset = await _preset(services, cloud, params)
    assert preset is not None
    if not preset.unsigned:
        raise Invalid("Upload preset must be whitelisted for unsigned uploads")
    refused = sorted(name for name in params if name not in UNSIGNED_ALLOWED)
    if refused:
        raise Invalid(f"Invalid parameter for unsigned upload: {', '.join(refused)}")
    return preset


def apply_preset(params: dict[str, str], caller: Caller) -> dict[str, str]:
    """Preset settings are defaults; a request's own parameters win (signed, or allowed unsigned)."""
    if caller.preset is None:
        return params
    if caller.preset.disallow_public_id and params.get("public_id"):
        raise Invalid("public_id is not allowed by the upload preset")
    settings = {name: _as_param(value) for name, value in caller.preset.settings.items()}
    return {**settings, **{k: v for k, v in params.items() if v != ""}}


def _as_param(value: Any) -> str:
    """A preset value stored as JSON, encoded the way the SDK would send it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return encode_context({str(k): str(v) for k, v in value.items()})
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


async def signing_key_for(services: Services, cloud: str, caller: Caller) -> ApiKey | None:
    """The key whose secret signs the response: the caller's, else the cloud's first active one."""
    if caller.key is not None:
        return caller.key
    keys = await services.db(catalog.list_keys, cloud)
    return next((key for key in keys if key.active), None)
