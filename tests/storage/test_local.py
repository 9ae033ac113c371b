"""What only the local-folder store does: file paths, kernel copies, no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.storage import open_store
from darkroom.storage.local import LocalBlobStore

pytestmark = pytest.mark.anyio


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_file_url_creates_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    store = open_store(f"file://{root}")
    assert isinstance(store, LocalBlobStore)
    assert root.is_dir()


async def test_local_path_is_the_stored_file(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    await store.put_bytes("demo/originals/x/1", b"abc")
    path = store.local_path("demo/originals/x/1")
    assert path == tmp_path / "demo" / "originals" / "x" / "1"
    assert path.read_bytes() == b"abc"


async def test_local_path_is_none_for_other_stores() -> None:
    assert open_store("memory://").local_path("demo/originals/x/1") is None


async def test_put_file_leaves_no_staging_file(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path / 'blobs'}")
    source = tmp_path / "src.bin"
    source.write_bytes(b"z" * 100_000)
    await store.put_file("demo/k", source)
    await store.put_file("demo/k", source)
    assert files_under(tmp_path / "blobs") == ["demo/k"]


async def test_failed_put_file_leaves_nothing_behind(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path / 'blobs'}")
    with pytest.raises(FileNotFoundError):
        await store.put_file("demo/k", tmp_path / "does-not-exist")
    assert files_under(tmp_path / "blobs") == []
    assert await store.size("demo/k") is None


async def test_staging_files_are_invisible_to_delete_prefix(tmp_path: Path) -> None:
    """obstore hides `<name>#<digits>`; a crashed write's leftover is never a blob."""
    store = open_store(f"file://{tmp_path}")
    await store.put_bytes("demo/a/1", b"x")
    (tmp_path / "demo" / "a" / "2#123").write_bytes(b"half")
    assert await store.delete_prefix("demo/a") == 1
    assert (tmp_path / "demo" / "a" / "2#123").exists(), "not a blob, so not deleted"


async def test_delete_removes_empty_folders(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    await store.put_bytes("demo/a/b/c/1", b"x")
    await store.delete("demo/a/b/c/1")
    assert not (tmp_path / "demo" / "a" / "b" / "c").exists()
