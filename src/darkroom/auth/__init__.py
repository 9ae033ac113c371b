"""Auth: request signatures, URL signatures, Basic credentials and signing policies."""

from darkroom.auth.errors import InvalidSignature, MissingParameter, PolicyRefused, StaleRequest, UnknownApiKey
from darkroom.auth.requests import parse_basic_auth, secrets_equal, verify_signed_request, verify_url_signature
from darkroom.auth.signing import response_signature, sign_params, string_to_sign, url_signature

__all__ = [
    "InvalidSignature",
    "MissingParameter",
    "PolicyRefused",
    "StaleRequest",
    "UnknownApiKey",
    "parse_basic_auth",
    "response_signature",
    "secrets_equal",
    "sign_params",
    "string_to_sign",
    "url_signature",
    "verify_signed_request",
    "verify_url_signature",
]
