"""`darkroom fsck` on a local folder and on S3: orphans removed, missing blobs reported, nothing referenced touched."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import pyvips
import sqlalchemy as sa

from darkroom import catalog
from darkroom.catalog.backups import set_backups
from darkroom.catalog.chunks import record_and_claim
from darkroom.catalog.schema import upload_chunks
from darkroom.catalog.deletion import Target, delete_by_public_ids
from darkroom.config import Settings
from darkroom.media.ingest import UploadOptions, ingest
from darkroom.media.services import Services, build_services
from darkroom.media.spool import SpooledFile
from support import make_bucket, s3_url, start_server, stop_server, wait_until_healthy

CLOUD = "demo"
PG_ADMIN_DSN = os.environ.get("DARKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")  # as tests/conftest.py


def _env(data_dir: Path, storage_url: str = "", **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DARKROOM_", "CLOUDINARY_"))}
    env.update({"DARKROOM_DATA_DIR": str(data_dir), **extra})
    if storage_url:
        env["DARKROOM_STORAGE_URL"] = storage_url
    return env


def _fsck(env: dict[str, str], *args: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "darkroom", "fsck", "--json", *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def _png(path: Path, size: int) -> SpooledFile:
    pyvips.Image.xyz(size, size)[0].cast("uchar").write_to_file(str(path))
    data = path.read_bytes()
    return SpooledFile(path, path.name, len(data), hashlib.md5(data).hexdigest())


class Planted:
    """A store with everything fsck must tell apart."""

    def __init__(self, services: Services, tmp_path: Path) -> None:
        self.services = services
        self.tmp_path = tmp_path

    async def plant(self) -> None:
        services = self.services
        catalog.ensure_cloud(services.engine, CLOUD)
        kept = await ingest(services, CLOUD, _png(self.tmp_path / "kept.png", 20), UploadOptions(resource_type="image", public_id="fsck/kept"))
        lost = await ingest(services, CLOUD, _png(self.tmp_path / "lost.png", 24), UploadOptions(resource_type="image", public_id="fsck/lost"))
        self.kept_key, self.lost_key = kept.asset.storage_key, lost.asset.storage_key
        backed_up = await ingest(services, CLOUD, _png(self.tmp_path / "backed.png", 16), UploadOptions(resource_type="image", public_id="fsck/backed"))
        set_backups(services.engine, CLOUD, True)
        delete_by_public_ids(services.engine, CLOUD, "image", "upload", ["fsck/backed"], Target())  # its blob stays, for restore
        set_backups(services.engine, CLOUD, False)
        self.backup_key = backed_up.asset.storage_key
        await services.store.delete(self.lost_key)  # a row whose blob is gone
        self.orphans = [f"{CLOUD}/originals/{'a' * 32}", f"{CLOUD}/derived/{kept.asset.asset_id}/1/{'b' * 32}", f"{CLOUD}/chunks/gone-upload/{0:020d}"]
        for key in self.orphans:
            await services.store.put_bytes(key, b"left by a crash")
        self.in_progress = f"{CLOUD}/chunks/live-upload/{0:020d}"  # a chunked upload still arriving
        await services.store.put_bytes(self.in_progress, b"0123456789")
        record_and_claim(services.engine, CLOUD, "live-upload", 0, 9, None)
        self.abandoned = f"{CLOUD}/chunks/idle-upload/{0:020d}"  # no chunk for two days: the client gave up
        await services.store.put_bytes(self.abandoned, b"abcdefghij")
        record_and_claim(services.engine, CLOUD, "idle-upload", 0, 9, None)
        with services.engine.begin() as conn:  # as if it had arrived two days ago
            conn.execute(sa.update(upload_chunks).where(upload_chunks.c.upload_id == "idle-upload").values(created_at=datetime.now(UTC) - timedelta(days=2)))
        self.orphans.append(self.abandoned)
        self.foreign = "elsewhere/notes.txt"  # not a key darkroom writes: never judged
        await services.store.put_bytes(self.foreign, b"not ours")
        services.spool_dir.mkdir(parents=True, exist_ok=True)
        (services.spool_dir / "upload-crashed").write_bytes(b"x" * 1000)

    async def present(self, key: str) -> bool:
        return await self.services.store.size(key) is not None


def _planted(tmp_path: Path, storage_url: str = "", database_url: str = "") -> Planted:
    env = {"DARKROOM_DATA_DIR": str(tmp_path / "data")}
    if storage_url:
        env["DARKROOM_STORAGE_URL"] = storage_url
    if database_url:
        env["DARKROOM_DATABASE_URL"] = database_url
    services = build_services(Settings.from_env(env))
    planted = Planted(services, tmp_path)
    asyncio.run(planted.plant())
    return planted


def _check_repair(planted: Planted, env: dict[str, str]) -> None:
    status, young = _fsck(env)  # the default grace (1 hour): everything here is too young to remove
    assert status == 1 and young["orphan_blobs"] == [] and young["kept_within_grace"] == len(planted.orphans)
    assert young["abandoned_uploads"] == [f"{CLOUD}/idle-upload"]  # its rows go now, its chunk once older than the grace
    assert young["spool_files"] == []

    status, dry = _fsck({**env, "DARKROOM_ORPHAN_GRACE_SECONDS": "0"}, "--dry-run")
    assert status == 1 and dry["abandoned_uploads"] == []
    assert sorted(dry["orphan_blobs"]) == sorted(planted.orphans)  # type: ignore[arg-type]
    assert dry["spool_files"] == ["upload-crashed"]
    assert [row["public_id"] for row in dry["missing_blobs"]] == ["fsck/lost"]  # type: ignore[index, union-attr]
    assert all(asyncio.run(planted.present(key)) for key in planted.orphans), "a dry run removes nothing"

    status, repaired = _fsck({**env, "DARKROOM_ORPHAN_GRACE_SECONDS": "0"})
    assert status == 1, "the row without its blob remains, so fsck still fails"
    assert sorted(repaired["orphan_blobs"]) == sorted(planted.orphans)  # type: ignore[arg-type]
    assert repaired["missing_blobs"] == dry["missing_blobs"]
    assert not any(asyncio.run(planted.present(key)) for key in planted.orphans)
    for key in (planted.kept_key, planted.backup_key, planted.in_progress, planted.foreign):
        assert asyncio.run(planted.present(key)), f"{key} must be kept"
    assert not any(planted.services.spool_dir.iterdir())
    assert catalog.get_asset(planted.services.engine, CLOUD, "image", "upload", "fsck/lost") is not None, "reported, never deleted"

    catalog.delete_asset(planted.services.engine, CLOUD, "image", "upload", "fsck/lost")
    status, clean = _fsck({**env, "DARKROOM_ORPHAN_GRACE_SECONDS": "0"})
    assert status == 0 and clean["clean"] is True and clean["orphan_blobs"] == []


@pytest.fixture
def own_postgres() -> Iterator[str]:
    """A PostgreSQL database of this test's own: fsck checks every row of its catalog."""
    name = f"darkroom_fsck_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_fsck_on_a_local_folder(tmp_path: Path, database: str, request: pytest.FixtureRequest) -> None:
    database_url = request.getfixturevalue("own_postgres") if database == "postgres" else ""
    planted = _planted(tmp_path, database_url=database_url)
    blobs = tmp_path / "data" / "blobs"
    staging = blobs / CLOUD / "originals" / f"{'c' * 32}#123456"  # a copy a crash interrupted
    staging.write_bytes(b"half")
    by_hand = blobs / CLOUD / "originals" / "notes#draft"  # no key darkroom could write: never judged
    by_hand.write_bytes(b"someone's file")
    try:
        env = _env(tmp_path / "data", **({"DARKROOM_DATABASE_URL": database_url} if database_url else {}))
        _check_repair(planted, env)
    finally:
        planted.services.engine.dispose()
    assert not staging.exists()
    left = sorted(str(path.relative_to(blobs)) for path in blobs.rglob("*") if path.is_file())
    assert left == sorted([planted.kept_key, planted.backup_key, planted.in_progress, planted.foreign, str(by_hand.relative_to(blobs))])


def test_fsck_on_s3(tmp_path: Path, moto_endpoint: str) -> None:
    url = s3_url(moto_endpoint, make_bucket(moto_endpoint))
    planted = _planted(tmp_path, url)
    try:
        _check_repair(planted, _env(tmp_path / "data", url))
    finally:
        planted.services.engine.dispose()


def test_fsck_help_and_text_report(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    shown = subprocess.run([sys.executable, "-m", "darkroom", "fsck", "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0
    for word in ("--dry-run", "--json", "--grace", "Exit status", "missing"):
        assert word in shown.stdout
    done = subprocess.run([sys.executable, "-m", "darkroom", "fsck"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "0 rows without their blob" in done.stdout


def _gone(*paths: Path, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while any(path.exists() for path in paths) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(path.exists() for path in paths)


def test_a_server_sweeps_at_start_up_and_on_its_schedule(tmp_path: Path) -> None:
    """Start-up runs the sweep beside serving, then every DARKROOM_SWEEP_INTERVAL_SECONDS:
    leftovers of a crash go without anyone running fsck."""
    data_dir = tmp_path / "data"
    orphan = data_dir / "blobs" / CLOUD / "originals" / ("d" * 32)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    spool = data_dir / "spool" / "upload-left"
    spool.parent.mkdir(parents=True)
    spool.write_bytes(b"left")
    old = time.time() - 7200  # older than the default grace
    os.utime(orphan, (old, old))
    os.utime(spool, (old, old))
    server = start_server(data_dir, f"sqlite:///{data_dir / 'd.db'}", extra_env={"DARKROOM_SWEEP_INTERVAL_SECONDS": "1"})
    try:
        wait_until_healthy(server.base_url, server.process)
        assert _gone(orphan, spool)
        later = orphan.with_name("e" * 32)  # left after start-up: the schedule finds it
        later.parent.mkdir(parents=True, exist_ok=True)  # the store removes folders it empties
        later.write_bytes(b"orphan")
        os.utime(later, (old, old))
        young = orphan.with_name("f" * 32)  # within the grace: an upload in flight, kept
        young.write_bytes(b"young")
        assert _gone(later, within=15)
        assert young.exists()
    finally:
        stop_server(server)


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_sweep_settings_are_checked(value: str) -> None:
    from darkroom.config import SettingsError

    for name in ("DARKROOM_ORPHAN_GRACE_SECONDS", "DARKROOM_SWEEP_INTERVAL_SECONDS"):
        with pytest.raises(SettingsError):
            Settings.from_env({name: value})
