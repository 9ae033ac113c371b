"""Request and response signatures, computed exactly as the official SDKs compute them.

Pure functions: no clock, no database. The caller passes the secret and the time.

String to sign (reference §2): every parameter with a non-empty value, lists joined by
`,`, each `k=v` with `&` escaped as `%26` (signature version 2) or not (version 1),
sorted, joined by `&`, then the secret appended and hashed with sha1 or sha256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

__all__ = [
    "EXCLUDED_FROM_SIGNATURE",
    "string_to_sign",
    "sign_params",
    "signature_matches",
    "response_signature",
    "url_signature",
    "algorithm_for_signature",
    "notification_signature",
]

# Fields the SDK never signs: they travel in the path or are added after signing.
EXCLUDED_FROM_SIGNATURE = frozenset({"file", "api_key", "signature", "cloud_name", "resource_type"})
# On these actions SDK 1.46.3 sends notification_url and batch_id unsigned.
_UNSIGNED_ON_TAG_ACTIONS = frozenset({"notification_url", "batch_id"})
TAG_ACTIONS = frozenset({"tags", "context", "metadata"})

_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def signable_params(params: Mapping[str, str], action: str = "upload") -> dict[str, str]:
    """The received fields that take part in the signature."""
    excluded = EXCLUDED_FROM_SIGNATURE | (_UNSIGNED_ON_TAG_ACTIONS if action in TAG_ACTIONS else frozenset())
    return {k: v for k, v in params.items() if k not in excluded and v not in ("", None)}


def string_to_sign(params: Mapping[str, object], *, version: int = 2) -> str:
    """The canonical `k=v&k=v` string the SDK hashes (without the secret)."""
    pairs = []
    for key, value in params.items():
        text = _value_text(value)
        if not text:
            continue
        pair = f"{key}={text}"
        if version >= 2:
            pair = pair.replace("&", "%26")
        pairs.append(pair)
    return "&".join(sorted(pairs))


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def sign_params(params: Mapping[str, object], secret: str, *, algorithm: str = "sha1", version: int = 2) -> str:
    """Hex signature of `params` as the SDK's `api_sign_request` computes it."""
    return _HASHES[algorithm]((string_to_sign(params, version=version) + secret).encode()).hexdigest()


def algorithm_for_signature(signature: str) -> str | None:
    """The hex length tells the algorithm: 40 is sha1, 64 is sha256."""
    return {40: "sha1", 64: "sha256"}.get(len(signature))


def signature_matches(params: Mapping[str, object], secret: str, signature: str) -> bool:
    """Whether `signature` signs `params`, in either signature version, compared in constant time."""
    algorithm = algorithm_for_signature(signature)
    if algorithm is None:
        return False
    candidates: Iterable[int] = (2, 1)
    matched = False
    for version in candidates:
        expected = sign_params(params, secret, algorithm=algorithm, version=version)
        # Evaluate both versions whatever the first gives, so timing says nothing.
        matched |= hmac.compare_digest(expected.encode(), signature.lower().encode())
    return matched


def response_signature(public_id: str, version: int, secret: str, *, algorithm: str = "sha1") -> str:
    """The `signature` field of an upload response (always version 1, no escaping)."""
    return _HASHES[algorithm](f"public_id={public_id}&version={version}{secret}".encode()).hexdigest()


def url_signature(to_sign: str, secret: str, *, algorithm: str = "sha1", long: bool = False) -> str:
    """The `s--SIG--` component of a signed delivery URL (without the dashes)."""
    if long:
        algorithm = "sha256"
    digest = _HASHES[algorithm]((to_sign + secret).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[: 32 if long else 8]


def notification_signature(body: bytes, timestamp: int, secret: str, *, algorithm: str = "sha1") -> str:
    """`X-Cld-Signature` of a webhook: lowercase hex of HASH(body + timestamp + secret), a plain
    hash over the exact bytes sent (not an HMAC), as `verify_notification_signature` checks."""
    return _HASHES[algorithm](body + str(timestamp).encode() + secret.encode()).hexdigest()
