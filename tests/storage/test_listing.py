"""`list_blobs` (what the integrity sweep walks) and `remove_stale_staging`, on every backend."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from darkroom.storage import BlobStore, InvalidKey, open_store
from darkroom.storage.local import LocalBlobStore
from darkroom.storage.object_store import LIST_PAGE

pytestmark = pytest.mark.anyio


async def _listed(store: BlobStore, prefix: str = "") -> list[tuple[str, int]]:
    return sorted([(entry.key, entry.size) async for page in store.list_blobs(prefix) for entry in page])


async def test_list_blobs_names_every_blob_with_its_size_and_time(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await store.put_bytes("demo/originals/a", b"abc")
    await store.put_bytes("demo/derived/x/1/b", b"")
    await store.put_bytes("other/c", b"12345")
    assert await _listed(store) == [("demo/derived/x/1/b", 0), ("demo/originals/a", 3), ("other/c", 5)]
    assert await _listed(store, "demo/originals") == [("demo/originals/a", 3)]
    assert await _listed(store, "dem") == [], "a prefix is whole path segments"
    async for page in store.list_blobs():
        assert all(before <= entry.modified <= datetime.now(UTC) + timedelta(seconds=5) for entry in page)


async def test_list_blobs_pages_a_large_store() -> None:
    store = open_store("memory://")
    for number in range(LIST_PAGE + 5):
        await store.put_bytes(f"demo/originals/{number:05d}", b"x")
    pages = [len(page) async for page in store.list_blobs()]
    assert sum(pages) == LIST_PAGE + 5 and max(pages) <= LIST_PAGE


async def test_list_blobs_refuses_an_unsafe_prefix(store: BlobStore) -> None:
    with pytest.raises(InvalidKey):
        async for _page in store.list_blobs("../etc"):
            pass


async def test_a_local_store_removes_only_old_staging_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put_bytes("demo/originals/kept", b"whole")
    folder = tmp_path / "blobs" / "demo" / "originals"
    old, young, lookalike = folder / "gone#123", folder / "running#456", folder / "name#x"
    for path in (old, young, lookalike):
        path.write_bytes(b"half")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(lookalike, (an_hour_ago, an_hour_ago))
    assert await store.remove_stale_staging(datetime.now(UTC) - timedelta(minutes=10)) == 1
    assert not old.exists() and young.exists() and lookalike.exists()
    listed = await _listed(store)
    assert listed == [("demo/originals/kept", 5), ("demo/originals/name#x", 4)], "listings never show staging files"


async def test_other_stores_have_no_staging_files() -> None:
    assert await open_store("memory://").remove_stale_staging(datetime.now(UTC)) == 0
