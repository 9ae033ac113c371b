"""Turn a storage URL (`DARKROOM_STORAGE_URL`) into a `BlobStore`.

Kept apart from the stores so that the URL forms, and what each query parameter
means, are documented and tested in one place.
"""

from __future__ import annotations

import ipaddress
import pathlib
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

from obstore.store import MemoryStore, S3Store, from_url

from darkroom.storage import BlobStore, InvalidStorageUrl
from darkroom.storage.local import LocalBlobStore
from darkroom.storage.object_store import ObjectBlobStore

if TYPE_CHECKING:  # obstore declares its option dicts in stubs only
    from obstore.store import ClientConfig, S3Config

# Query parameters of an s3:// URL that are passed to obstore's S3 config as they are.
S3_STRING_OPTIONS = frozenset(
    {"endpoint", "region", "access_key_id", "secret_access_key", "session_token", "conditional_put"}
)
S3_BOOL_OPTIONS = frozenset({"virtual_hosted_style_request", "skip_signature", "unsigned_payload"})
# Parameters that configure the HTTP client rather than S3.
CLIENT_BOOL_OPTIONS = frozenset({"allow_http"})


def store_from_url(url: str) -> BlobStore:
    """`file:///abs/dir`, `memory://`, `s3://bucket[/prefix]?…`, or any obstore URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return _local_store(parts)
    if parts.scheme == "memory":
        return ObjectBlobStore(MemoryStore(), description="memory://")
    if parts.scheme == "s3":
        return _s3_store(parts)
    return _other_store(url, parts)


def _local_store(parts: urllib.parse.SplitResult) -> BlobStore:
    """A folder; the path must be absolute so the store does not depend on the cwd."""
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise InvalidStorageUrl(
            "Invalid storage URL", detail="file URLs must be file:///absolute/path"
        )
    return LocalBlobStore(pathlib.Path(urllib.parse.unquote(parts.path)))


def _s3_store(parts: urllib.parse.SplitResult) -> BlobStore:
    """S3 or an S3-compatible server; credentials from the URL or the usual AWS_* env."""
    if not parts.netloc:
        raise InvalidStorageUrl("Invalid storage URL", detail="s3:// URL without a bucket")
    config, client = _s3_options(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    if _is_loopback_http(config.get("endpoint")):
        client.setdefault("allow_http", True)
    prefix = parts.path.strip("/") or None
    # _s3_options let through only the option names these TypedDicts declare.
    store = S3Store(parts.netloc, prefix=prefix, config=cast("S3Config", config), client_options=cast("ClientConfig", client))
    endpoint = config.get("endpoint", "aws")
    return ObjectBlobStore(store, description=f"s3://{parts.netloc}/{prefix or ''} at {endpoint}")


def _s3_options(query: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split query parameters into S3 config and HTTP client options; refuse unknown ones."""
    config: dict[str, Any] = {}
    client: dict[str, Any] = {}
    for name, value in query:
        if name in S3_STRING_OPTIONS:
            config[name] = value
        elif name in S3_BOOL_OPTIONS:
            config[name] = _parse_bool(name, value)
        elif name in CLIENT_BOOL_OPTIONS:
            client[name] = _parse_bool(name, value)
        else:
            raise InvalidStorageUrl(
                "Invalid storage URL", detail=f"unknown s3 URL parameter {name!r}"
            )
    return config, client


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidStorageUrl("Invalid storage URL", detail=f"{name} must be true or false")


def _is_loopback_http(endpoint: str | None) -> bool:
    """Plain http is allowed without asking only when it cannot leave the machine."""
    if not endpoint:
        return False
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _other_store(url: str, parts: urllib.parse.SplitResult) -> BlobStore:
    """gs://, az://, https:// … as obstore understands them (credentials from env)."""
    try:
        store = from_url(url)
    except Exception as exc:  # obstore raises several kinds (ValueError, OSError, its own)
        raise InvalidStorageUrl("Invalid storage URL", detail=f"{parts.scheme}: {exc}") from exc
    return ObjectBlobStore(store, description=f"{parts.scheme}://{parts.netloc}{parts.path}")
