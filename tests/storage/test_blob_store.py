"""The BlobStore contract, run against every backend (see conftest.store)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from darkroom.api.errors import status_for
from darkroom.errors import Invalid, NotFound
from darkroom.storage import Blob, BlobNotFound, BlobStore

pytestmark = pytest.mark.anyio

KEY = "demo/originals/asset1/1"


def write_random_file(path: Path, size: int) -> str:
    """Write `size` random bytes in 1 MiB pieces; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            piece = os.urandom(min(remaining, 1024 * 1024))
            digest.update(piece)
            out.write(piece)
            remaining -= len(piece)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


async def blob_sha256(blob: Blob) -> tuple[str, int, int]:
    """Hash a blob by streaming it; also report total length and largest chunk."""
    digest = hashlib.sha256()
    total = largest = 0
    async for chunk in blob.chunks():
        digest.update(chunk)
        total += len(chunk)
        largest = max(largest, len(chunk))
    return digest.hexdigest(), total, largest


async def test_put_bytes_then_get_bytes_round_trips(store: BlobStore) -> None:
    await store.put_bytes(KEY, b"hello darkroom")
    assert await store.get_bytes(KEY) == b"hello darkroom"
    assert await store.size(KEY) == len(b"hello darkroom")


async def test_put_replaces_existing_blob(store: BlobStore) -> None:
    await store.put_bytes(KEY, b"first version, longer")
    await store.put_bytes(KEY, b"second")
    assert await store.get_bytes(KEY) == b"second"


async def test_empty_blob_is_stored(store: BlobStore) -> None:
    await store.put_bytes(KEY, b"")
    assert await store.get_bytes(KEY) == b""
    assert await store.size(KEY) == 0
    blob = await store.open(KEY)
    assert blob.size == 0
    assert [chunk async for chunk in blob.chunks()] == []


async def test_put_file_then_open_streams_the_same_bytes(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    expected = write_random_file(source, 3 * 1024 * 1024 + 17)
    await store.put_file(KEY, source)
    blob = await store.open(KEY)
    assert blob.size == 3 * 1024 * 1024 + 17
    assert (await blob_sha256(blob))[0] == expected


async def test_open_a_range_streams_only_those_bytes(store: BlobStore) -> None:
    """What a seeking video player gets: the bytes asked for, the blob's full size beside them."""
    data = bytes(index % 251 for index in range(3 * 1024 * 1024 + 17))
    await store.put_bytes(KEY, data)
    for first, last in [(0, 0), (0, 99), (1_000_000, 2_600_000), (len(data) - 5, len(data) - 1)]:
        blob = await store.open(KEY, (first, last))
        chunks = [chunk async for chunk in blob.chunks()]
        assert blob.size == len(data)
        assert b"".join(chunks) == data[first : last + 1]
        assert max(len(chunk) for chunk in chunks) <= 1024 * 1024, "chunks stay bounded"


async def test_download_to_writes_the_blob_to_a_file(store: BlobStore, tmp_path: Path) -> None:
    await store.put_bytes(KEY, b"pixels" * 1000)
    target = tmp_path / "copy.bin"
    await store.download_to(KEY, target)
    assert target.read_bytes() == b"pixels" * 1000


async def test_download_to_overwrites_an_existing_file(store: BlobStore, tmp_path: Path) -> None:
    await store.put_bytes(KEY, b"short")
    target = tmp_path / "copy.bin"
    target.write_bytes(b"a much longer previous content")
    await store.download_to(KEY, target)
    assert target.read_bytes() == b"short"


@pytest.mark.slow
async def test_big_file_is_streamed_both_ways_intact(store: BlobStore, tmp_path: Path) -> None:
    size = 50 * 1024 * 1024 + 12345  # several multipart parts plus a ragged tail
    source = tmp_path / "big.bin"
    expected = write_random_file(source, size)
    await store.put_file("demo/originals/big/1", source)
    assert await store.size("demo/originals/big/1") == size

    digest, total, largest = await blob_sha256(await store.open("demo/originals/big/1"))
    assert (digest, total) == (expected, size)
    assert largest <= 16 * 1024 * 1024, "chunks must stay bounded, not the whole blob"

    target = tmp_path / "big.copy"
    await store.download_to("demo/originals/big/1", target)
    assert file_sha256(target) == expected


async def test_missing_blob_raises_blob_not_found(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound):
        await store.get_bytes("demo/originals/missing/1")
    with pytest.raises(BlobNotFound):
        await store.open("demo/originals/missing/1")
    target = tmp_path / "never.bin"
    with pytest.raises(BlobNotFound):
        await store.download_to("demo/originals/missing/1", target)
    assert not target.exists()


def test_blob_not_found_is_a_not_found() -> None:
    assert issubclass(BlobNotFound, NotFound)
    assert status_for(BlobNotFound("x")) == 404


async def test_a_folder_is_not_a_blob(store: BlobStore) -> None:
    await store.put_bytes(KEY, b"x")
    with pytest.raises(BlobNotFound):
        await store.open("demo/originals")
    assert await store.size("demo/originals") is None


async def test_size_of_missing_blob_is_none(store: BlobStore) -> None:
    assert await store.size("demo/originals/missing/1") is None


async def test_delete_removes_and_missing_is_fine(store: BlobStore) -> None:
    await store.put_bytes(KEY, b"x")
    await store.delete(KEY)
    assert await store.size(KEY) is None
    await store.delete(KEY)
    await store.delete("never/existed")


async def test_delete_prefix_removes_whole_segments_only(store: BlobStore) -> None:
    for key in ["demo/a/1", "demo/a/2", "demo/a/sub/3", "demo/ab/1", "other/a/1"]:
        await store.put_bytes(key, key.encode())
    assert await store.delete_prefix("demo/a") == 3
    assert [await store.size(k) for k in ["demo/a/1", "demo/a/2", "demo/a/sub/3"]] == [None] * 3
    assert await store.get_bytes("demo/ab/1") == b"demo/ab/1"
    assert await store.get_bytes("other/a/1") == b"other/a/1"
    assert await store.delete_prefix("demo/a/") == 0


async def test_delete_prefix_of_many_blobs(store: BlobStore) -> None:
    for index in range(120):
        await store.put_bytes(f"cloud/derived/{index}", b"d")
    assert await store.delete_prefix("cloud/derived") == 120
    assert await store.size("cloud/derived/7") is None


async def test_keys_with_spaces_and_unicode_round_trip(store: BlobStore) -> None:
    key = "demo/originals/été photo/v1 (copy).jpg"
    await store.put_bytes(key, b"unicode")
    assert await store.get_bytes(key) == b"unicode"


@pytest.mark.parametrize(
    "key",
    ["", "/abs/key", "a/../b", "..", "a/./b", "a//b", "trailing/", "ctl\x00x", "ctl\nx", "del\x7f",
     "c1\x85x", "hash#1", "back\\slash", "x" * 1025, "seg/" + "y" * 256],
)
async def test_unsafe_keys_are_refused_by_every_method(
    store: BlobStore, tmp_path: Path, key: str
) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    calls = [
        store.put_bytes(key, b"x"),
        store.put_file(key, source),
        store.get_bytes(key),
        store.open(key),
        store.download_to(key, tmp_path / "out"),
        store.size(key),
        store.delete(key),
    ]
    if key != "trailing/":  # a prefix may end with "/"
        calls.append(store.delete_prefix(key))
    for call in calls:
        with pytest.raises(Invalid):
            await call
    with pytest.raises(Invalid):
        store.local_path(key)


async def test_readers_see_the_old_or_the_new_blob_never_a_partial_one(
    store: BlobStore, tmp_path: Path
) -> None:
    import anyio

    old, new = b"o" * 1000, tmp_path / "new.bin"
    write_random_file(new, 12 * 1024 * 1024)
    await store.put_bytes(KEY, old)
    seen: set[int | None] = set()
    done = anyio.Event()

    async def watch() -> None:
        while not done.is_set():
            seen.add(await store.size(KEY))
            await anyio.sleep(0)

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        await store.put_file(KEY, new)
        done.set()
    seen.add(await store.size(KEY))
    assert seen <= {len(old), 12 * 1024 * 1024}
    assert 12 * 1024 * 1024 in seen
