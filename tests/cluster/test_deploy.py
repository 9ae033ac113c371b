"""docs/deploy.md's commands run as written (placeholders filled in), and its nginx front
(docs/nginx-front.conf) caches versioned hits while darkroom still guards the rest."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from click.testing import CliRunner
from cloudinary import CloudinaryImage
from support import LiveServer, configure_sdk, free_port, own_sqlite_server, start_server, stop_server, wait_until_healthy

from darkroom.cli import main
from darkroom.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def documented_commands() -> list[list[str]]:
    """Every `darkroom …` line of the page's sh blocks, split as a shell would."""
    blocks = re.findall(r"```sh\n(.*?)```", DEPLOY.read_text(), re.S)
    return [shlex.split(line) for block in blocks for line in block.splitlines() if line.startswith("darkroom ")]


def test_the_guide_documents_the_commands_a_cluster_needs() -> None:
    assert {command[1] for command in documented_commands()} >= {"migrate", "serve", "worker", "keys", "clouds", "import", "fsck"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from own_sqlite_server(tmp_path_factory, "deploy-source")


def test_every_command_in_the_guide_runs(tmp_path: Path, source: LiveServer) -> None:
    runner = CliRunner()
    env = {"DARKROOM_DATA_DIR": str(tmp_path), "DARKROOM_DATABASE_URL": "", "CLOUDINARY_URL": ""}
    created = runner.invoke(main, ["keys", "create", "--cloud", "demo"], env=env)
    assert created.exit_code == 0, created.output
    api_key = re.search(r"\b(\d{15})\b", created.output)
    assert api_key is not None, created.output
    source_url = f"cloudinary://{source.api_key}:{source.api_secret}@{source.cloud}?upload_prefix={source.base_url}"
    for command in documented_commands():
        args = [api_key.group(1) if arg == "123456789012345" else source_url if arg.startswith("cloudinary://") else arg for arg in command[1:]]
        if args[0] in ("serve", "worker"):
            args.append("--help")  # parsed (an unknown option fails), not started: tests/cluster starts both
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, f"{shlex.join(command)}:\n{result.output}"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cached", ROOT / "bench" / "cached.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_the_nginx_front_caches_versioned_hits_and_leaves_access_to_darkroom(source: LiveServer, tmp_path: Path) -> None:
    bench = _load_bench()
    configure_sdk(source)
    picture = tmp_path / "p.png"
    pyvips.Image.xyz(40, 30)[0].cast("uchar").write_to_file(str(picture))
    public = cloudinary.uploader.upload(str(picture))
    private = cloudinary.uploader.upload(str(picture), type="authenticated")
    cloudinary.reset_config()
    prefix = Path(tempfile.mkdtemp(prefix="darkroom-front-"))  # outside pytest's 0700 folders: nginx's workers run as nobody
    prefix.chmod(0o755)
    port = free_port()
    config = bench.nginx_config(prefix, bench.front_config(source.host, port, prefix / "cache"))
    check = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(prefix)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    host = f"127.0.0.1:{port}"
    versioned = str(CloudinaryImage(public["public_id"]).build_url(cloud_name=source.cloud, cname=host, secure=False, version=public["version"], width=20, crop="scale", format="png"))
    try:
        # The bench's own start-and-wait: its first GET of the versioned URL is the miss that fills the cache.
        with bench.transforms.started([NGINX, "-c", str(config), "-p", str(prefix)], dict(os.environ), prefix / "front.log", versioned, "nginx front"):
            again = httpx.get(versioned)
            assert again.status_code == 200 and again.headers["x-cache-status"] == "HIT"
            assert again.content == httpx.get(versioned.replace(host, source.host)).content
            unsigned = str(CloudinaryImage(private["public_id"]).build_url(cloud_name=source.cloud, cname=host, secure=False, type="authenticated", version=private["version"], format="png"))
            refused = httpx.get(unsigned)
            assert refused.status_code == 401 and "x-cache-status" not in refused.headers  # darkroom decided, nginx kept nothing
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_with_accel_redirect_darkroom_decides_access_and_nginx_sends_the_files(tmp_path: Path) -> None:
    bench = _load_bench()
    folder = Path(tempfile.mkdtemp(prefix="darkroom-accel-"))  # nginx's workers (nobody) read the blob folder
    folder.chmod(0o755)
    data_dir = folder / "data"
    data_dir.mkdir(mode=0o755)
    server = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}", extra_env={"DARKROOM_ACCEL_REDIRECT": "/_darkroom_files/"})
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        picture = tmp_path / "p.png"
        pyvips.Image.xyz(64, 48)[0].cast("uchar").write_to_file(str(picture))
        original = picture.read_bytes()
        public = cloudinary.uploader.upload(str(picture), public_id="accel/public")
        private = cloudinary.uploader.upload(str(picture), public_id="accel/private", type="authenticated")
        port = free_port()
        host = f"127.0.0.1:{port}"
        config = bench.nginx_config(folder / "nginx", bench.front_config(server.host, port, folder / "nginx" / "cache", blobs=data_dir / "blobs"))
        plain = cloudinary.utils.cloudinary_url(public["public_id"], format="png", secure=False)[0]  # unversioned: darkroom every time
        through_nginx = plain.replace(server.host, host)
        with bench.transforms.started([NGINX, "-c", str(config), "-p", str(folder / "nginx")], dict(os.environ), folder / "front.log", f"http://{host}/health", "nginx front"):
            handed = httpx.get(plain)  # darkroom alone answers with the hand-over, not the bytes
            assert handed.status_code == 200 and handed.content == b"" and handed.headers["x-accel-redirect"].startswith("/_darkroom_files/")
            sent = httpx.get(through_nginx)
            assert sent.status_code == 200 and sent.content == original
            assert "x-accel-redirect" not in sent.headers and sent.headers["content-type"] == "image/png"
            for header in ("etag", "cache-control", "surrogate-key", "x-content-type-options"):
                assert sent.headers[header] == handed.headers[header], header
            ranged = httpx.get(through_nginx, headers={"Range": "bytes=0-9"})
            assert ranged.status_code == 206 and ranged.content == original[:10] and ranged.headers["content-range"] == f"bytes 0-9/{len(original)}"
            not_modified = httpx.get(through_nginx, headers={"If-None-Match": handed.headers["etag"]})
            assert not_modified.status_code == 304 and not_modified.headers["etag"] == handed.headers["etag"]
            # Access stays darkroom's: unsigned refused, signed sent; the blob folder itself is not reachable.
            unsigned = cloudinary.utils.cloudinary_url(private["public_id"], type="authenticated", format="png", secure=False)[0].replace(server.host, host)
            signed = cloudinary.utils.cloudinary_url(private["public_id"], type="authenticated", format="png", sign_url=True, secure=False)[0].replace(server.host, host)
            assert httpx.get(unsigned).status_code == 401
            assert httpx.get(signed).content == original
            assert httpx.get(f"http://{host}{handed.headers['x-accel-redirect']}").status_code == 404
    finally:
        cloudinary.reset_config()
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def test_accel_redirect_needs_a_local_blob_store() -> None:
    with pytest.raises(SettingsError, match="DARKROOM_ACCEL_REDIRECT"):
        Settings.from_env({"DARKROOM_ACCEL_REDIRECT": "/_darkroom_files/", "DARKROOM_STORAGE_URL": "s3://bucket?endpoint=http://127.0.0.1:9"})
    with pytest.raises(SettingsError, match="starts and ends with /"):
        Settings.from_env({"DARKROOM_ACCEL_REDIRECT": "_darkroom_files"})


def test_serve_starts_as_the_guide_says(tmp_path: Path) -> None:
    """`darkroom serve --host 0.0.0.0 --port … --workers 2` answers /health."""
    port = free_port()
    env = {**os.environ, "DARKROOM_DATA_DIR": str(tmp_path)}
    env.pop("CLOUDINARY_URL", None)
    env.pop("DARKROOM_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "darkroom", "serve", "--host", "0.0.0.0", "--port", str(port), "--workers", "2", "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from support import wait_until_healthy

        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        process.wait(timeout=15)
