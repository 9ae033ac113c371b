"""`POST /api/sign`: signatures for browser apps that must not hold the secret.

Body `{"paramsToSign": {…}}`, as next-cloudinary and the upload widget send it; reply
`{"signature", "apiKey", "cloudName"}`. The caller is identified by a bearer token issued
with a signing policy (`darkroom policies create`), or by a console session when a policy
admits those (`--console`); the policy decides what may be signed.
"""

from __future__ import annotations

import json
import time

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from darkroom import catalog
from darkroom.media import throttling
from darkroom.media.services import services_of
from darkroom.media.sessions import utcnow
from darkroom.api.proxies import client_address
from darkroom.auth import PolicyRefused, UnknownApiKey, sign_params
from darkroom.auth.policy import check_params_to_sign
from darkroom.catalog import SigningPolicy
from darkroom.errors import Invalid

__all__ = ["routes"]


BEARER_SCOPE = "sign"  # the throttle of this endpoint's bearer tokens


async def sign(request: Request) -> Response:
    services = services_of(request)
    body = await _json_body(request)
    policy = await _policy_for(request, body)
    params = _params_to_sign(body)
    check_params_to_sign(
        params,
        allowed_params=policy.allowed_params,
        folder_prefix=policy.folder_prefix,
        allowed_presets=policy.allowed_presets,
        max_skew_seconds=policy.max_skew_seconds,
        now=int(time.time()),
    )
    keys = [key for key in await services.db(catalog.list_keys, policy.cloud) if key.active]
    key = next((k for k in keys if k.api_key == policy.api_key), keys[0] if keys else None)
    if key is None:
        raise PolicyRefused("The cloud has no active API key to sign with")
    signature = sign_params(params, key.api_secret)
    return JSONResponse({"signature": signature, "apiKey": key.api_key, "cloudName": policy.cloud})


async def _policy_for(request: Request, body: dict[str, object]) -> SigningPolicy:
    """The policy of the bearer token, else one admitting the signed-in console operator."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        services = services_of(request)
        policy = await services.db(catalog.find_policy_by_token, token.strip())
        if policy is None:
            client, now = client_address(request), utcnow()
            await services.db(throttling.unknown_token, BEARER_SCOPE, client, now)  # a guesser gets 429s, ever longer
            raise UnknownApiKey("Unknown signing token")
        return policy
    if await _console_operator(request) is not None:
        policies = await services_of(request).db(catalog.console_signing_policies)
        wanted = body.get("cloudName")
        for policy in policies:
            if wanted in (None, policy.cloud):
                return policy
        raise PolicyRefused("No signing policy admits console sessions")
    raise UnknownApiKey("A bearer token issued with a signing policy, or a console session, is required")


async def _console_operator(request: Request) -> str | None:
    """The signed-in console operator making this request, or None (CSRF-checked: a POST)."""
    auth = services_of(request).console_auth
    return await anyio.to_thread.run_sync(auth.request_user, request.cookies, request.headers, request.method)


async def _json_body(request: Request) -> dict[str, object]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: absurd nesting
        raise Invalid("Body must be JSON: {\"paramsToSign\": {…}}") from None
    if not isinstance(body, dict):
        raise Invalid("Body must be JSON: {\"paramsToSign\": {…}}")
    return body


def _params_to_sign(body: dict[str, object]) -> dict[str, object]:
    params = body.get("paramsToSign")
    if not isinstance(params, dict) or not params:
        raise Invalid("Body must be JSON: {\"paramsToSign\": {…}}")
    return {str(k): v for k, v in params.items() if v not in (None, "")}


routes = [Route("/api/sign", sign, methods=["POST"])]
