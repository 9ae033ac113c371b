"""`darkroom import` copies a library from a Cloudinary-speaking source (another darkroom here,
since its API is Cloudinary's) and survives being killed half-way."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.server
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import pytest
import pyvips
from support import LiveServer, configure_sdk, own_sqlite_server, start_server, stop_server, wait_until_healthy

from darkroom import catalog
from darkroom.catalog import imports

pytestmark = pytest.mark.slow

ASSETS = int(os.environ.get("DARKROOM_IMPORT_ASSETS", "200"))  # the 1,000: bench or DARKROOM_IMPORT_ASSETS=1000


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A darkroom holding a library of ASSETS assets of every kind the import copies."""
    for server in own_sqlite_server(tmp_path_factory, "import-source"):
        configure_sdk(server)
        _fill(server, tmp_path_factory.mktemp("import-files"))
        cloudinary.reset_config()
        yield server


def _fill(server: LiveServer, folder: Path) -> None:
    cloudinary.api.add_metadata_field({"external_id": "rating", "type": "integer", "label": "Rating"})
    cloudinary.api.create_transformation("thumb", "c_fill,h_50,w_50")
    cloudinary.api.create_upload_preset(name="imported_preset", folder="from-preset", tags="preset")

    def upload(n: int) -> None:
        if n % 20 == 19:
            path = folder / f"notes{n}.txt"
            path.write_text(f"raw file {n}\n" * 10)
            cloudinary.uploader.upload(str(path), resource_type="raw", public_id=f"raw/notes{n}.txt")
            return
        path = folder / f"image{n}.png"
        pyvips.Image.black(12, 8).draw_rect([n % 256, 7, 50], 0, 0, 12, 4, fill=True).cast("uchar").write_to_file(str(path))
        options: dict[str, Any] = {"public_id": f"library/image{n}", "tags": [f"batch{n % 3}", "all"], "context": {"caption": f"picture {n}"}}
        if n % 10 == 0:
            options.update(type="private")
        if n % 4 == 0:
            options.update(asset_folder=f"folders/f{n % 8}", metadata={"rating": n % 5})
        cloudinary.uploader.upload(str(path), **options)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, range(ASSETS)))
    cloudinary.api.update("library/image1", moderation_status="approved")


def _import(source: LiveServer, data_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    url = f"cloudinary://{source.api_key}:{source.api_secret}@{source.cloud}?upload_prefix={source.base_url}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDINARY_URL", "DARKROOM_"))}
    env["DARKROOM_IMPORT_FROM"] = url  # not --from: the secret stays out of the process list
    return subprocess.Popen(
        [sys.executable, "-m", "darkroom", "import", "--cloud", "copied", "--data-dir", str(data_dir), "--parallel", "4", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _source_label(source: LiveServer) -> str:
    return f"{source.cloud}:{source.api_key}@{source.host}"


def test_dry_run_counts_and_copies_nothing(source: LiveServer, tmp_path: Path) -> None:
    run = _import(source, tmp_path, "--dry-run")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err.decode()
    assert f"would copy {ASSETS} assets" in out.decode()
    engine = catalog.create_engine_for(f"sqlite:///{tmp_path / 'darkroom.db'}")
    try:
        assert imports.imported_count(engine, _source_label(source), "copied") == 0
    finally:
        engine.dispose()


def test_an_import_killed_half_way_resumes_and_copies_everything_verified(source: LiveServer, tmp_path: Path) -> None:
    engine = catalog.create_engine_for(f"sqlite:///{tmp_path / 'darkroom.db'}")
    label = _source_label(source)
    first = _import(source, tmp_path)
    deadline = time.monotonic() + 120
    copied = 0
    while time.monotonic() < deadline and first.poll() is None:
        try:
            copied = imports.imported_count(engine, label, "copied")
        except Exception:  # noqa: BLE001 - the tables appear when the import has migrated the database
            copied = 0
        if copied >= ASSETS // 3:
            break
        time.sleep(0.05)
    assert first.poll() is None, f"the import ended before it could be killed: {first.communicate()}"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert 0 < copied < ASSETS
    second = _import(source, tmp_path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err.decode()
    report = out.decode()
    assert f"verified: {ASSETS} assets in copied match the source's checksums" in report, report
    assert "copied by an earlier run" in report and " 0 failed" in report
    assert "definitions created: 0 metadata fields, 0 named transformations, 0 upload presets" in report  # by the first run
    engine.dispose()
    _check_copy(source, tmp_path)


def _check_copy(source: LiveServer, data_dir: Path) -> None:
    """The destination, served, answers like the source for what was copied."""
    key, secret = str(10**14 + secrets.randbelow(10**14)), secrets.token_urlsafe(18)
    destination = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}", cloud="copied",
                               extra_env={"CLOUDINARY_URL": f"cloudinary://{key}:{secret}@copied"})
    destination = LiveServer(destination.base_url, destination.host, "copied", key, secret, data_dir, destination.database_url, destination.process)
    try:
        wait_until_healthy(destination.base_url, destination.process)
        configure_sdk(source)
        original = cloudinary.api.resource("library/image4", metadata=True)
        approved = cloudinary.api.resource("library/image1")
        private = cloudinary.api.resource("library/image10", type="private")
        configure_sdk(destination)
        copy = cloudinary.api.resource("library/image4", metadata=True)
        for name in ("version", "etag", "bytes", "created_at", "asset_folder", "tags", "context", "metadata", "format"):
            assert copy.get(name) == original.get(name), name
        assert cloudinary.api.resource("library/image1").get("moderation_status") == approved.get("moderation_status") == "approved"
        assert cloudinary.api.resource("library/image10", type="private")["etag"] == private["etag"]
        assert cloudinary.api.resource("raw/notes19.txt", resource_type="raw")["bytes"] > 0
        assert cloudinary.api.transformation("t_thumb")["name"] == "t_thumb"
        assert cloudinary.api.upload_preset("imported_preset")["settings"]["folder"] == "from-preset"
        delivered = httpx.get(f"{destination.base_url}/copied/image/upload/v{copy['version']}/library/image4.png", timeout=30)
        assert delivered.status_code == 200 and len(delivered.content) == original["bytes"]
    finally:
        cloudinary.reset_config()
        stop_server(destination)


def test_upload_prefix_in_plain_http_is_refused_unless_loopback() -> None:
    """The Admin API calls carry the key and secret as Basic auth: never in clear over a network."""
    from darkroom.errors import Invalid
    from darkroom.media.importing import Source

    for prefix in ("http://127.0.0.1:8080", "http://127.3.4.5", "http://[::1]:9000", "https://cloudinary.example"):
        assert Source.parse(f"cloudinary://k:s@demo?upload_prefix={prefix}").api_base == prefix
    for prefix in ("http://cloudinary.example", "http://10.0.0.5:8080", "http://localhost.example"):
        with pytest.raises(Invalid, match="must be https"):
            Source.parse(f"cloudinary://k:s@demo?upload_prefix={prefix}")


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """A source whose downloads redirect to `target` (from the server's `target` attribute)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/v1_1/demo/image/download"):
            self.send_response(302)
            self.send_header("Location", self.server.target)  # type: ignore[attr-defined]
            self.end_headers()
        else:
            self.server.hits.append(self.path)  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_download_redirected_to_a_private_address_is_refused(redirecting: http.server.ThreadingHTTPServer, tmp_path: Path) -> None:
    """The source may be on loopback (configured by the operator); where it redirects a
    download is the source's choice, so another host there must pass the SSRF check."""
    from darkroom.config import Settings
    from darkroom.errors import Invalid
    from darkroom.media import importing
    from darkroom.media.services import build_services

    port = redirecting.server_address[1]
    source = importing.Source.parse(f"cloudinary://k:s@demo?upload_prefix=http://127.0.0.1:{port}")
    services = build_services(Settings(data_dir=tmp_path))
    item = {"public_id": "a", "asset_id": "x1", "resource_type": "image", "bytes": 5, "etag": hashlib.md5(b"hello").hexdigest()}

    async def download() -> bytes:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            spooled = await importing._download(services, importing.SourceApi(source, client), item)
            try:
                return spooled.path.read_bytes()
            finally:
                spooled.discard()

    try:
        redirecting.target = f"http://localhost:{port}/internal/secret"  # type: ignore[attr-defined]
        with pytest.raises(Invalid, match="non-public address"):
            anyio.run(download)
        assert redirecting.hits == []  # type: ignore[attr-defined]
        redirecting.target = f"http://127.0.0.1:{port}/files/a.png"  # type: ignore[attr-defined]  # the source itself: followed
        assert anyio.run(download) == b"hello"
    finally:
        services.engine.dispose()
