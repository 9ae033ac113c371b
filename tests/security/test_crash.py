"""`kill -9` during bursts of uploads, restart, `darkroom fsck`: nothing acknowledged lost, nothing half-stored, nothing left.

Threads upload large files (20 MB, plain and chunked with `upload_large`) and small images
against a live server; the server is killed with SIGKILL while they run, restarted on the same
data folder, and `darkroom fsck` (grace 0: nothing runs any more) sweeps it. Then:

- every upload the server acknowledged (a 200 with its public ID) is listed and delivered
  byte for byte;
- every listed asset is delivered whole (nothing half-stored is visible);
- the store holds only blobs rows reference (chunks only of uploads still in progress),
  and no half-written file; the spool is empty.

Bounded: a few seconds of uploads, one kill, one restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import httpx
import pyvips
import sqlalchemy as sa

from support import LiveServer, configure_sdk, start_server, stop_server, wait_until_healthy

LARGE_BYTES = 20 * 1024 * 1024
CHUNK_BYTES = 6 * 1024 * 1024
UPLOAD_SECONDS = 4.0  # uploads run this long before the kill
MAX_PER_THREAD = 100  # a bound only: threads upload until the kill, so some are mid-request then


@dataclass
class Acknowledged:
    """Uploads the server answered 200 to: public ID → (resource type, MD5 of the bytes sent)."""

    uploads: dict[str, tuple[str, str]] = field(default_factory=dict)
    attempted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, public_id: str, resource_type: str, data: bytes) -> None:
        with self.lock:
            self.uploads[public_id] = (resource_type, hashlib.md5(data).hexdigest())


def _small_png(seed: int) -> bytes:
    image = (pyvips.Image.xyz(64, 48)[0] + seed % 200).cast("uchar")
    return bytes(image.pngsave_buffer())


def _worker(kind: str, folder: Path, stop: threading.Event, acknowledged: Acknowledged) -> Callable[[], None]:
    def run() -> None:
        for attempt in range(MAX_PER_THREAD):
            if stop.is_set():
                return
            public_id = f"crash/{kind}-{secrets.token_hex(4)}"
            if kind == "small":
                data, resource_type = _small_png(attempt), "image"
            else:
                data, resource_type = os.urandom(LARGE_BYTES), "raw"
            path = folder / f"{public_id.replace('/', '_')}.bin"
            path.write_bytes(data)
            with acknowledged.lock:
                acknowledged.attempted += 1
            try:
                if kind == "chunked":
                    cloudinary.uploader.upload_large(str(path), public_id=public_id, resource_type=resource_type, chunk_size=CHUNK_BYTES)
                else:
                    cloudinary.uploader.upload(str(path), public_id=public_id, resource_type=resource_type)
            except Exception:  # noqa: BLE001 - the server died under this request: not acknowledged
                return
            finally:
                path.unlink(missing_ok=True)
            acknowledged.add(public_id, resource_type, data)

    return run


def _burst_then_kill(server: LiveServer, tmp_path: Path) -> Acknowledged:
    acknowledged = Acknowledged()
    stop = threading.Event()
    kinds = ["large", "large", "chunked", "small", "small", "small"]
    threads = [threading.Thread(target=_worker(kind, tmp_path, stop, acknowledged), daemon=True) for kind in kinds]
    for thread in threads:
        thread.start()
    time.sleep(UPLOAD_SECONDS)
    server.process.kill()  # SIGKILL: no shutdown, no cleanup
    server.process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return acknowledged


def _referenced_keys(database_url: str) -> tuple[set[str], set[tuple[str, str]]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            keys = {key for (key,) in conn.execute(sa.text("SELECT storage_key FROM assets UNION SELECT storage_key FROM derived"))}
            uploads = {(cloud, upload_id) for cloud, upload_id in conn.execute(sa.text("SELECT cloud, upload_id FROM upload_chunks"))}
    finally:
        engine.dispose()
    return keys, uploads


def _unreferenced(data_dir: Path, database_url: str) -> tuple[list[str], list[str]]:
    """Blobs no row references (chunks: of no upload in progress), and half-written blob files."""
    blobs = data_dir / "blobs"
    keys, in_progress = _referenced_keys(database_url)
    stored = sorted(str(path.relative_to(blobs)) for path in blobs.rglob("*") if path.is_file())
    orphans = []
    for key in (key for key in stored if "#" not in key):
        cloud, kind, rest = key.split("/", 2)
        referenced = (cloud, rest.split("/")[0]) in in_progress if kind == "chunks" else key in keys
        if not referenced:
            orphans.append(key)
    return orphans, [key for key in stored if "#" in key]


def _spool(data_dir: Path) -> list[str]:
    spool = data_dir / "spool"
    return sorted(path.name for path in spool.iterdir()) if spool.exists() else []


def _listed(resource_type: str) -> list[dict[str, object]]:
    return list(cloudinary.api.resources(resource_type=resource_type, type="upload", prefix="crash/", max_results=500)["resources"])


def test_kill_9_during_uploads_then_fsck(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database_url = f"sqlite:///{data_dir / 'darkroom.db'}"
    server = start_server(data_dir, database_url)
    wait_until_healthy(server.base_url, server.process)
    configure_sdk(server)
    acknowledged = _burst_then_kill(server, tmp_path)
    assert acknowledged.uploads, "no upload was acknowledged before the kill: nothing below would be checked"
    assert acknowledged.attempted > len(acknowledged.uploads), "the kill must interrupt uploads in flight"
    left_orphans, left_staging = _unreferenced(data_dir, database_url)
    left_spool = _spool(data_dir)

    # Restarted on the same folder with the default grace, so its own start-up sweep leaves
    # these young leftovers to fsck; nothing runs any more, so fsck needs no grace.
    restarted = start_server(data_dir, database_url)
    try:
        wait_until_healthy(restarted.base_url, restarted.process)
        configure_sdk(restarted)

        env = {**os.environ, "DARKROOM_DATA_DIR": str(data_dir), "DARKROOM_DATABASE_URL": database_url, "DARKROOM_ORPHAN_GRACE_SECONDS": "0"}
        env.pop("DARKROOM_STORAGE_URL", None)
        done = subprocess.run([sys.executable, "-m", "darkroom", "fsck", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["missing_blobs"] == []
        assert sorted(report["orphan_blobs"]) == left_orphans and report["staging_files"] == len(left_staging)
        assert sorted(report["spool_files"]) == left_spool

        listed = {item["public_id"]: item for resource_type in ("image", "raw") for item in _listed(resource_type)}
        for public_id, (resource_type, md5) in acknowledged.uploads.items():
            assert public_id in listed, f"acknowledged upload {public_id} is not listed"
            delivered = httpx.get(str(listed[public_id]["secure_url"]).replace("https://", "http://"), timeout=60)
            assert delivered.status_code == 200 and hashlib.md5(delivered.content).hexdigest() == md5, public_id
        for public_id, item in listed.items():  # nothing half-stored: whatever is listed is whole
            delivered = httpx.get(str(item["secure_url"]).replace("https://", "http://"), timeout=60)
            assert delivered.status_code == 200 and len(delivered.content) == item["bytes"], public_id

        assert _unreferenced(data_dir, database_url) == ([], []), "orphan or half-written blobs remain"
        assert _spool(data_dir) == []
    finally:
        stop_server(restarted)
