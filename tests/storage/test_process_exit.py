"""A short-lived process that used the store exits cleanly (no SIGABRT at shutdown)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import asyncio, sys
from darkroom.storage import open_store

async def main():
    store = open_store(sys.argv[1])
    await store.put_bytes("k/1", b"x")
    await store.size("k/1")
    blob = await store.open("k/1")
    async for _ in blob.chunks():
        pass

asyncio.run(main())
"""


@pytest.mark.slow
def test_process_exits_zero_after_async_store_calls(tmp_path: Path) -> None:
    """Without the exit settle, about half of these runs ended in SIGABRT (rc 134)."""
    codes = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT, f"file://{tmp_path / str(run)}"],
            capture_output=True,
            timeout=60,
            check=False,
        ).returncode
        for run in range(12)
    ]
    assert codes == [0] * 12
