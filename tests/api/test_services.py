"""Services.local_file: a blob as a local path, and the same 404 whichever store holds it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from darkroom.api.app import build_services
from darkroom.config import Settings
from darkroom.storage import BlobNotFound


@pytest.mark.parametrize("storage_url", ["", "memory://"])
def test_local_file_reads_a_blob_and_reports_a_missing_one_as_not_found(tmp_path: Path, storage_url: str) -> None:
    services = build_services(Settings.from_env({"DARKROOM_DATA_DIR": str(tmp_path), "DARKROOM_STORAGE_URL": storage_url}))

    async def scenario() -> None:
        await services.store.put_bytes("demo/originals/present", b"bytes")
        async with services.local_file("demo/originals/present") as path:
            assert path.read_bytes() == b"bytes"
        with pytest.raises(BlobNotFound):
            async with services.local_file("demo/originals/absent"):
                pass

    try:
        asyncio.run(scenario())
    finally:
        services.engine.dispose()
