"""Services.local_file: a blob as a local path, and the same 404 whichever store holds it;
Services.db: a transaction PostgreSQL rolled back as a deadlock victim runs again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.server import build_services
from darkroom.config import Settings
from darkroom.errors import Conflict
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


def _raise_sqlstate(engine: Engine, code: str) -> None:
    """A real PostgreSQL error carrying `code`, as a deadlock victim's transaction receives it."""
    with engine.begin() as conn:
        conn.execute(sa.text(f"DO $$ BEGIN RAISE EXCEPTION 'chosen as victim' USING ERRCODE = '{code}'; END $$"))


@pytest.mark.parametrize("code", ["40P01", "40001"])  # deadlock_detected, serialization_failure
def test_a_transaction_postgresql_rolled_back_as_a_deadlock_victim_runs_again(tmp_path: Path, postgres_url: str, code: str) -> None:
    services = build_services(Settings.from_env({"DARKROOM_DATA_DIR": str(tmp_path), "DARKROOM_DATABASE_URL": postgres_url}))
    calls: list[int] = []

    def victim_once(engine: Engine) -> str:
        calls.append(1)
        if len(calls) == 1:
            _raise_sqlstate(engine, code)
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT 'done'")).scalar_one())

    def always_victim(engine: Engine) -> None:
        _raise_sqlstate(engine, code)

    try:
        assert asyncio.run(services.db(victim_once)) == "done" and len(calls) == 2
        with pytest.raises(Conflict, match="retry the request"):
            asyncio.run(services.db(always_victim))
    finally:
        services.engine.dispose()


def test_other_database_errors_are_not_retried(tmp_path: Path, postgres_url: str) -> None:
    services = build_services(Settings.from_env({"DARKROOM_DATA_DIR": str(tmp_path), "DARKROOM_DATABASE_URL": postgres_url}))
    calls: list[int] = []

    def broken(engine: Engine) -> None:
        calls.append(1)
        _raise_sqlstate(engine, "57014")  # query_canceled: not a rolled-back victim to replay

    try:
        with pytest.raises(sa.exc.OperationalError):
            asyncio.run(services.db(broken))
        assert len(calls) == 1
    finally:
        services.engine.dispose()
