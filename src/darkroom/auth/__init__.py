"""Auth: request signatures, URL signatures, Basic credentials and signing policies."""

from darkroom.auth.errors import InvalidSignature, MissingParameter, PolicyRefused, StaleRequest, UnknownApiKey
from darkroom.auth.requests import (
    ADMIN_API_REFUSALS,
    UPLOAD_API_REFUSALS,
    KeyRefusals,
    any_secret_equal,
    parse_basic_auth,
    secrets_equal,
    usable_key,
    verify_basic_auth,
    verify_signed_request,
    verify_url_signature,
)
from darkroom.auth.signing import response_signature, sign_params, string_to_sign, url_signature

__all__ = [
    "ADMIN_API_REFUSALS",
    "UPLOAD_API_REFUSALS",
    "InvalidSignature",
    "KeyRefusals",
    "MissingParameter",
    "PolicyRefused",
    "StaleRequest",
    "UnknownApiKey",
    "any_secret_equal",
    "parse_basic_auth",
    "response_signature",
    "secrets_equal",
    "sign_params",
    "string_to_sign",
    "url_signature",
    "usable_key",
    "verify_basic_auth",
    "verify_signed_request",
    "verify_url_signature",
]
