"""Checking who sent an API request: a signed form, HTTP Basic credentials, or a URL signature.

Pure: the caller looks up the key's secret and passes the current time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from darkroom.auth.errors import InvalidSignature, MissingParameter, StaleRequest, UnknownApiKey
from darkroom.errors import Invalid
from darkroom.auth.signing import signable_params, signature_matches, string_to_sign, url_signature

__all__ = [
    "verify_signed_request",
    "unix_seconds",
    "parse_basic_auth",
    "KeyRefusals",
    "UPLOAD_API_REFUSALS",
    "ADMIN_API_REFUSALS",
    "usable_key",
    "verify_basic_auth",
    "secrets_equal",
    "any_secret_equal",
    "verify_url_signature",
    "URL_SIGNATURE",
]

URL_SIGNATURE = re.compile(r"^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$")

# How far ahead of the server's clock a signed timestamp may be: clients' clocks drift, but
# a timestamp far in the future would keep a leaked signature valid until then.
FUTURE_SKEW_SECONDS = 300

# Unix seconds have 10 digits until the year 2286; anything longer is not a time.
TIMESTAMP = re.compile(r"^-?[0-9]{1,12}$")
UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")


def unix_seconds(value: str, name: str) -> int:
    """A signed parameter that is a time in Unix seconds: 1-12 ASCII digits, else Invalid.

    Bounded so that no signed number is unbounded: a 400-digit "time" is no time, and
    Python refuses to convert the longest ones at all.
    """
    if not UNIX_SECONDS.match(value):
        raise Invalid(f"Invalid {name} - {value[:32]}")
    return int(value)


def verify_signed_request(params: Mapping[str, str], *, action: str, secret: str, now: int, window: int) -> None:
    """Raise unless `params` carry a fresh, valid signature made with `secret`."""
    signature = params.get("signature", "")
    timestamp = params.get("timestamp", "")
    if not timestamp:
        raise MissingParameter("Missing required parameter - timestamp")
    if not TIMESTAMP.match(timestamp.strip()):
        raise MissingParameter(f"Invalid timestamp - {timestamp[:32]}")
    reported = int(timestamp)
    if reported < now - window:
        raise StaleRequest(f"Stale request - reported time is {_moment(reported)} which is more than {window // 3600 or 1} hour ago")
    if reported > now + FUTURE_SKEW_SECONDS:
        raise StaleRequest(f"Stale request - reported time is {_moment(reported)} which is more than {FUTURE_SKEW_SECONDS} seconds in the future")
    signed = signable_params(params, action)
    if not signature_matches(signed, secret, signature):
        raise InvalidSignature(f"Invalid Signature {signature}. String to sign - '{string_to_sign(signed)}'.")


def _moment(unix_seconds: int) -> str:
    """Cloudinary's way of writing a time in its errors; times out of range clamp to the year 1 or 9999."""
    try:
        return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
    except (OverflowError, OSError, ValueError):
        return "0001-01-01 00:00:00 +0000" if unix_seconds < 0 else "9999-12-31 23:59:59 +0000"


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


class StoredKey(Protocol):
    """What the checks below read of an API key as the catalog stores it."""

    @property
    def cloud(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def api_secret(self) -> str: ...


Key = TypeVar("Key", bound=StoredKey)


@dataclass(frozen=True)
class KeyRefusals:
    """How one API words its 401s for a caller's key; Cloudinary's Upload and Admin APIs differ."""

    missing: str  # no api_key given at all
    unknown: str  # a key that is unknown, revoked or another cloud's; `{api_key}` names it
    wrong_secret: str  # Basic auth with the right key and another secret


# The Upload API says "Unknown API key" (signed or Basic) and, as with signatures, does not
# name the secret; the Admin and Search APIs say "Invalid api_key" and "api_secret mismatch".
UPLOAD_API_REFUSALS = KeyRefusals("Must supply api_key", "Unknown API key {api_key}", "Invalid credentials")
ADMIN_API_REFUSALS = KeyRefusals("Must supply api_key", "Invalid api_key {api_key}", "api_secret mismatch")


def usable_key(api_key: str, key: Key | None, cloud: str, refusals: KeyRefusals) -> Key:
    """`key` (the catalog's record for `api_key`, or None) if it may act on `cloud`; raise otherwise."""
    if not api_key:
        raise UnknownApiKey(refusals.missing)
    if key is None or key.cloud != cloud or not key.active:
        raise UnknownApiKey(refusals.unknown.format(api_key=api_key))
    return key


def verify_basic_auth(credentials: tuple[str, str] | None, key: Key | None, cloud: str, refusals: KeyRefusals) -> Key:
    """The key that `credentials` (from `parse_basic_auth`) prove, given the catalog's record for their key."""
    if credentials is None:
        raise UnknownApiKey(refusals.missing)
    api_key, secret = credentials
    found = usable_key(api_key, key, cloud, refusals)
    if not secrets_equal(secret, found.api_secret):
        raise UnknownApiKey(refusals.wrong_secret)
    return found


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time for a given length: the time taken says nothing about where `given` differs."""
    return hmac.compare_digest(given.encode(), expected.encode())


def any_secret_equal(given: str, expected: Iterable[str]) -> bool:
    """Whether `given` equals any of `expected`, comparing with every one (no early exit) so the
    time taken does not say which of them matched, or how many were tried before it."""
    matched = False
    for candidate in expected:
        matched |= secrets_equal(given, candidate)
    return matched


def verify_url_signature(signature_component: str, signed_path: str, secrets: Iterable[str]) -> bool:
    """Whether `s--SIG--` signs `signed_path` (transformation/public_id.ext, no version) with any of `secrets`."""
    match = URL_SIGNATURE.match(signature_component)
    if match is None:
        return False
    given = match.group(1)
    long = len(given) == 32
    algorithms = ("sha256",) if long else ("sha1", "sha256")
    return any_secret_equal(
        given, [url_signature(signed_path, secret, algorithm=algorithm, long=long) for secret in secrets for algorithm in algorithms]
    )
