"""Checking who sent an API request: a signed form, HTTP Basic credentials, or a URL signature.

Pure: the caller looks up the key's secret and passes the current time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from darkroom.auth.errors import InvalidSignature, MissingParameter, StaleRequest
from darkroom.auth.signing import signable_params, signature_matches, string_to_sign, url_signature

__all__ = ["verify_signed_request", "parse_basic_auth", "secrets_equal", "verify_url_signature", "URL_SIGNATURE"]

URL_SIGNATURE = re.compile(r"^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$")


def verify_signed_request(params: Mapping[str, str], *, action: str, secret: str, now: int, window: int) -> None:
    """Raise unless `params` carry a fresh, valid signature made with `secret`."""
    signature = params.get("signature", "")
    timestamp = params.get("timestamp", "")
    if not timestamp:
        raise MissingParameter("Missing required parameter - timestamp")
    try:
        reported = int(timestamp)
    except ValueError:
        raise MissingParameter(f"Invalid timestamp - {timestamp}") from None
    if reported < now - window:
        moment = datetime.fromtimestamp(reported, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        raise StaleRequest(f"Stale request - reported time is {moment} which is more than {window // 3600 or 1} hour ago")
    signed = signable_params(params, action)
    if not signature_matches(signed, secret, signature):
        raise InvalidSignature(f"Invalid Signature {signature}. String to sign - '{string_to_sign(signed)}'.")


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    """`Basic base64(key:secret)` → (key, secret), or None if the header is not Basic auth."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    # NUL names no key (and PostgreSQL refuses it in a query): not usable credentials.
    return (key, secret) if sep and "\x00" not in decoded else None


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify_url_signature(signature_component: str, signed_path: str, secrets: Iterable[str]) -> bool:
    """Whether `s--SIG--` signs `signed_path` (transformation/public_id.ext, no version) with any of `secrets`."""
    match = URL_SIGNATURE.match(signature_component)
    if match is None:
        return False
    given = match.group(1)
    long = len(given) == 32
    matched = False
    for secret in secrets:
        for algorithm in (("sha256",) if long else ("sha1", "sha256")):
            expected = url_signature(signed_path, secret, algorithm=algorithm, long=long)
            matched |= hmac.compare_digest(expected.encode(), given.encode())
    return matched
