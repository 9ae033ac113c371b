"""open_store: which URL gives which store, and which URLs are refused."""

from __future__ import annotations

import pytest

from darkroom.storage import InvalidStorageUrl, open_store
from darkroom.storage.object_store import ObjectBlobStore
from darkroom.storage.urls import _is_loopback_http


def test_memory_url_gives_a_memory_store() -> None:
    store = open_store("memory://")
    assert isinstance(store, ObjectBlobStore)
    assert store.description == "memory://"


@pytest.mark.parametrize("url", ["file://relative/dir", "file://otherhost/abs"])
def test_file_url_must_be_local_and_absolute(url: str) -> None:
    with pytest.raises(InvalidStorageUrl):
        open_store(url)


def test_s3_url_without_bucket_is_refused() -> None:
    with pytest.raises(InvalidStorageUrl):
        open_store("s3://?region=us-east-1")


def test_unknown_s3_parameter_is_refused() -> None:
    with pytest.raises(InvalidStorageUrl) as info:
        open_store("s3://bucket?regoin=us-east-1")
    assert "regoin" in (info.value.detail or "")


def test_bad_boolean_is_refused() -> None:
    with pytest.raises(InvalidStorageUrl):
        open_store("s3://bucket?allow_http=maybe")


def test_s3_description_hides_credentials() -> None:
    store = open_store(
        "s3://bucket/pre?endpoint=http://127.0.0.1:9000&region=us-east-1"
        "&access_key_id=AKID&secret_access_key=SECRET"
    )
    assert isinstance(store, ObjectBlobStore)
    assert "SECRET" not in repr(store) and "AKID" not in repr(store)


def test_storage_url_errors_are_value_errors() -> None:
    """Config validation can report them like any other bad setting."""
    assert issubclass(InvalidStorageUrl, ValueError)


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("http://127.0.0.1:9000", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("https://127.0.0.1:9000", False),
        ("http://10.0.0.5:9000", False),
        ("http://minio.internal:9000", False),
        (None, False),
    ],
)
def test_plain_http_is_automatic_only_on_loopback(endpoint: str | None, loopback: bool) -> None:
    assert _is_loopback_http(endpoint) is loopback


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(InvalidStorageUrl):
        open_store("ftp://example.com/x")
