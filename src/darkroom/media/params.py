"""Decoding the Upload API's encoded parameter values (reference §2).

The SDK flattens lists to `a,b`, dicts to `k=v|k=v` with `=` and `|` escaped by `\\`,
and booleans to `1`/`0` (or `true`/`false`).
"""

from __future__ import annotations

import json
import re

from darkroom.errors import Invalid

__all__ = ["parse_bool", "parse_list", "parse_context", "encode_context"]

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


def parse_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"Invalid boolean value - {value}")


def parse_list(value: str | None) -> list[str]:
    """`a, b,c` → ["a", "b", "c"]; a JSON array is accepted too."""
    if not value:
        return []
    if value.startswith("["):
        try:
            items = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise Invalid(f"Invalid list value - {value}") from exc
        return [str(item).strip() for item in items if str(item).strip()]
    return [item.strip() for item in value.split(",") if item.strip()]


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_UNESCAPED_EQUALS = re.compile(r"(?<!\\)=")


def parse_context(value: object) -> dict[str, str]:
    """`alt=My\\=alt|caption=x\\|y` → {"alt": "My=alt", "caption": "x|y"}; JSON objects too.

    `value` is text from a form, or anything at all from an Admin API JSON body.
    """
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise Invalid(f"Invalid context value - {value!r}")
    if value.startswith("{"):
        try:
            decoded = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise Invalid(f"Invalid context value - {value}") from exc
        return parse_context(decoded) if decoded else {}
    context = {}
    for pair in _UNESCAPED_PIPE.split(value):
        if not pair:
            continue
        key, text = _split_pair(pair)
        context[_unescape(key)] = _unescape(text)
    return context


def _split_pair(pair: str) -> tuple[str, str]:
    """Split at the first unescaped `=`; a key alone has an empty value."""
    parts = _UNESCAPED_EQUALS.split(pair, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def _unescape(text: str) -> str:
    return text.replace("\\=", "=").replace("\\|", "|")


def _escape(text: str) -> str:
    return text.replace("=", "\\=").replace("|", "\\|")


def encode_context(context: dict[str, str]) -> str:
    return "|".join(f"{_escape(key)}={_escape(value)}" for key, value in context.items())
