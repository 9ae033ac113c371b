"""Signing policies: what `/api/sign` may sign for a browser app (pure).

The seed's `/api/sign` signs whatever `paramsToSign` a browser sends — a blank cheque.
A policy narrows that to named parameters, a forced folder prefix, allowed presets and a
timestamp close to now; anything else is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from darkroom.auth.errors import MalformedTimestamp, PolicyRefused
from darkroom.auth.requests import UNIX_SECONDS

__all__ = ["check_params_to_sign", "signed_timestamp", "ALWAYS_ALLOWED"]

# Parameters every signed upload carries; the upload widget adds `source`.
ALWAYS_ALLOWED = frozenset({"timestamp", "source"})


def check_params_to_sign(
    params: Mapping[str, object],
    *,
    allowed_params: tuple[str, ...],
    folder_prefix: str,
    allowed_presets: tuple[str, ...],
    max_skew_seconds: int,
    now: int,
) -> None:
    """Raise `PolicyRefused` naming the first rule `params` break."""
    for name, value in params.items():
        if name not in ALWAYS_ALLOWED and name not in allowed_params:
            raise PolicyRefused(f"Parameter not allowed by the signing policy: {name}")
        if isinstance(value, (dict, list)) and name not in ("tags", "eager", "allowed_formats"):
            raise PolicyRefused(f"Parameter {name} must be a plain value")
    _check_timestamp(params.get("timestamp"), now, max_skew_seconds)
    if folder_prefix:
        _check_folder(params, folder_prefix.strip("/"))
    if allowed_presets:
        preset = params.get("upload_preset")
        if preset not in allowed_presets:
            raise PolicyRefused(f"Upload preset not allowed by the signing policy: {preset or '(none)'}")
    public_id = str(params.get("public_id") or "")
    if ".." in public_id.split("/") or public_id.startswith("/"):
        raise PolicyRefused("public_id may not leave its folder")


def signed_timestamp(value: object) -> int:
    """paramsToSign.timestamp: an int from JSON, or a string of at most 12 ASCII digits.

    What is signed is its text, so "1_700_000_000", " 17e8" or 1.5 (which int() would read),
    JSON's Infinity and 400-digit numbers are refused with a 400.
    """
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not UNIX_SECONDS.match(text):
        raise MalformedTimestamp("paramsToSign.timestamp is required: Unix seconds, at most 12 digits")
    return int(text)


def _check_timestamp(value: object, now: int, max_skew: int) -> None:
    timestamp = signed_timestamp(value)
    if abs(now - timestamp) > max_skew:
        raise PolicyRefused(f"paramsToSign.timestamp is more than {max_skew} seconds from the server's time")


def _check_folder(params: Mapping[str, object], prefix: str) -> None:
    for name in ("folder", "asset_folder"):
        folder = str(params.get(name) or "").strip("/")
        if name == "folder" and not folder:
            raise PolicyRefused(f"folder is required and must be inside {prefix}/")
        if folder and folder != prefix and not folder.startswith(prefix + "/"):
            raise PolicyRefused(f"{name} must be inside {prefix}/")
        if ".." in folder.split("/"):
            raise PolicyRefused(f"{name} may not contain '..'")
