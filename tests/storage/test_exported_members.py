"""Pin the storage part's public surface: other parts may use exactly these names."""

from __future__ import annotations

import darkroom.storage


def test_public_names_are_pinned() -> None:
    assert sorted(darkroom.storage.__all__) == [
        "Blob",
        "BlobEntry",
        "BlobNotFound",
        "BlobStore",
        "InvalidKey",
        "InvalidStorageUrl",
        "StorageError",
        "check_key",
        "open_store",
    ]
    for name in darkroom.storage.__all__:
        assert getattr(darkroom.storage, name) is not None
