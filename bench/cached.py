"""Cached hits at the edge's speed: five servers answering one 14 KB derivative, measured by wrk.

    apt-get install wrk nginx                         # Debian packages, once
    .venv/bin/python bench/cached.py                  # 10 s per figure
    .venv/bin/python bench/cached.py --seconds 5 --size 14000

In one run, with wrk (2 threads, 32 connections, keep-alive) against each:
1. nginx (1 worker) serving the derivative's bytes as a static file: the ceiling;
2. the same, tuned as the front is (open_file_cache): the front's like-for-like ceiling;
3. a bare uvicorn app (raw ASGI, the same uvicorn/uvloop/httptools as darkroom, configured as
   `darkroom serve` configures it) returning the same bytes and the same headers darkroom sent:
   what any ASGI app can do;
4. darkroom (`darkroom serve`, one process) answering the versioned derivative URL: a hit is
   answered by the server's hit lane (darkroom/hit_lane.py) before any ASGI task exists;
5. darkroom behind the documented nginx front (docs/nginx-front.conf: proxy_cache for
   immutable versioned URLs, 1 worker).

It prints requests per second for each and the ratios the issue sets goals for: darkroom /
bare uvicorn (goal ≥ 0.8) and the nginx front / nginx serving the file (goal ≥ 0.8). The
machine is shared: read the ratios, measured in the same run, more than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cloudinary
import cloudinary.uploader
import httpx
import pyvips

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import transforms  # noqa: E402 - start, wait for and stop a server as the other benches do

NGINX_FRONT = ROOT / "docs" / "nginx-front.conf"
OPEN_FILE_CACHE = "open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s;"  # as in the front's file

BARE_APP = r'''
import json, sys
BODY = open(sys.argv[1], "rb").read()
HEADERS = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in json.load(open(sys.argv[3]))]
START = {"type": "http.response.start", "status": 200, "headers": HEADERS}
ANSWER = {"type": "http.response.body", "body": BODY}

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send(START)
    await send(ANSWER)

import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False, proxy_headers=False)
'''

NGINX_MAIN = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
{body}
}}
"""


def nginx_config(prefix: Path, body: str) -> Path:
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(NGINX_MAIN.format(prefix=prefix, body=body))
    return path


def front_config(darkroom: str, port: int, cache_dir: Path, blobs: Path | None = None) -> str:
    """docs/nginx-front.conf with this run's addresses and folders: the configuration the docs give, as is."""
    text = NGINX_FRONT.read_text()
    text = text.replace("127.0.0.1:8088", darkroom).replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/var/cache/nginx/darkroom", str(cache_dir))
    return text if blobs is None else text.replace("/var/lib/darkroom/blobs/", f"{blobs}/")


CPU_PER_REQUEST: dict[str, float] = {}  # figure → the server's CPU microseconds per request (Python servers)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float, pid: int | None = None, name: str = "") -> float:
    """Requests per second wrk measured (2 threads, 32 connections); errors make it exit. With
    the server's `pid`, also its CPU per request (steadier than req/s on a shared machine)."""
    cpu_before = cpu_seconds(pid) if pid else 0.0
    result = subprocess.run(["wrk", "-t2", "-c32", f"-d{max(1, round(seconds))}s", url], capture_output=True, text=True, check=True)
    match = re.search(r"Requests/sec:\s+([0-9.]+)", result.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    count = re.search(r"(\d+) requests in", result.stdout)
    if match is None or errors is not None or count is None:
        raise SystemExit(f"wrk on {url}:\n{result.stdout}")
    if pid:
        CPU_PER_REQUEST[name] = (cpu_seconds(pid) - cpu_before) / int(count.group(1)) * 1e6
    return float(match.group(1))


def sample_derivative(base: str, size: int) -> tuple[str, bytes]:
    """Upload a noisy photo and find a versioned derivative URL whose bytes are about `size`."""
    photo = pyvips.Image.gaussnoise(900, 600, mean=128, sigma=30).gaussblur(1.2)
    data = photo.bandjoin([photo.rot180(), photo.fliphor()]).cast("uchar").jpegsave_buffer(Q=85)
    uploaded = cloudinary.uploader.upload(data, public_id=f"bench/cached-{secrets.token_hex(3)}")
    best: tuple[int, str, bytes] | None = None
    for width in range(120, 900, 20):
        url, _ = cloudinary.utils.cloudinary_url(uploaded["public_id"], version=uploaded["version"], width=width, crop="scale", quality=80, format="jpg")
        body = httpx.get(url, timeout=60).content
        if best is None or abs(len(body) - size) < abs(best[0] - size):
            best = (len(body), url, body)
        if len(body) > size:
            break
    assert best is not None
    return best[1], best[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per figure")
    parser.add_argument("--size", type=int, default=14_000, help="derivative size to aim for, bytes")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is missing: apt-get install wrk nginx")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    work = Path(tempfile.mkdtemp(prefix="darkroom-cached-"))
    work.chmod(0o755)  # nginx's worker (user nobody, when started as root) reads the static file here
    try:
        run(work, nginx, args.seconds, args.size)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, nginx: str, seconds: float, size: int) -> None:
    port = transforms.free_port()
    key, secret = str(10**14 + secrets.randbelow(10**14)), secrets.token_urlsafe(18)
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT / "src")), "CLOUDINARY_URL": f"cloudinary://{key}:{secret}@bench"}
    darkroom_args = [sys.executable, "-m", "darkroom", "serve", "--port", str(port), "--data-dir", str(work / "data"), "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    with transforms.started(darkroom_args, env, work / "darkroom.log", f"{base}/health", "darkroom") as server:
        os.environ["CLOUDINARY_URL"] = f"cloudinary://{key}:{secret}@bench?upload_prefix={base}&cname=127.0.0.1:{port}"
        cloudinary.reset_config()
        cloudinary.config(secure=False)
        url, body = sample_derivative(base, size)
        answered = httpx.get(url, timeout=30)
        # The bare app sends darkroom's own headers (uvicorn adds Date and Server to both).
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in answered.headers.raw if name not in (b"date", b"server")]
        (work / "headers.json").write_text(json.dumps(headers))
        path = url.split(f"127.0.0.1:{port}", 1)[1]
        print(f"derivative: {len(body)} bytes, {path}")
        static = work / "static"
        (static / Path(path).parent.relative_to("/")).mkdir(parents=True, exist_ok=True)
        (static / path.lstrip("/")).write_bytes(body)

        figures: dict[str, float] = {}
        file_port = transforms.free_port()
        file_conf = nginx_config(work / "nginx-file", f"    server {{ listen 127.0.0.1:{file_port}; root {static}; sendfile on; tcp_nopush on; }}")
        with transforms.started([nginx, "-c", str(file_conf), "-p", str(work / "nginx-file")], dict(os.environ), work / "nginx-file.log",
                                f"http://127.0.0.1:{file_port}{path}", "nginx (file)"):
            figures["nginx serving the file"] = wrk(f"http://127.0.0.1:{file_port}{path}", seconds)
        # The same, tuned as the front is (open_file_cache): the front's like-for-like ceiling.
        tuned_port = transforms.free_port()
        tuned_conf = nginx_config(work / "nginx-tuned", f"    server {{ listen 127.0.0.1:{tuned_port}; root {static}; sendfile on; tcp_nopush on; {OPEN_FILE_CACHE} }}")
        with transforms.started([nginx, "-c", str(tuned_conf), "-p", str(work / "nginx-tuned")], dict(os.environ), work / "nginx-tuned.log",
                                f"http://127.0.0.1:{tuned_port}{path}", "nginx (file, tuned)"):
            figures["nginx, file, open_file_cache"] = wrk(f"http://127.0.0.1:{tuned_port}{path}", seconds)

        bare_port = transforms.free_port()
        (work / "bare.py").write_text(BARE_APP)
        with transforms.started([sys.executable, str(work / "bare.py"), str(static / path.lstrip("/")), str(bare_port), str(work / "headers.json")], dict(os.environ),
                                work / "bare.log", f"http://127.0.0.1:{bare_port}/", "bare uvicorn") as process:
            figures["bare uvicorn, same bytes"] = wrk(f"http://127.0.0.1:{bare_port}{path}", seconds, process.pid, "bare uvicorn, same bytes")

        httpx.get(url, timeout=30)
        figures["darkroom"] = wrk(url, seconds, server.pid, "darkroom")

        front_port = transforms.free_port()
        front_conf = nginx_config(work / "nginx-front", front_config(f"127.0.0.1:{port}", front_port, work / "nginx-front" / "cache"))
        front_url = f"http://127.0.0.1:{front_port}{path}"
        with transforms.started([nginx, "-c", str(front_conf), "-p", str(work / "nginx-front")], dict(os.environ), work / "nginx-front.log",
                                front_url, "nginx (front)"):
            assert httpx.get(front_url).headers.get("x-cache-status") == "HIT", "the front did not cache the versioned URL"
            figures["darkroom behind the nginx front"] = wrk(front_url, seconds)

    for name, value in figures.items():
        cpu = f"   {CPU_PER_REQUEST[name]:5.1f} µs CPU a request" if name in CPU_PER_REQUEST else ""
        print(f"{name:34s} {value:10,.0f} req/s{cpu}")
    print(f"darkroom / bare uvicorn, by CPU    {CPU_PER_REQUEST['bare uvicorn, same bytes'] / CPU_PER_REQUEST['darkroom']:.2f}")
    print(f"darkroom / bare uvicorn            {figures['darkroom'] / figures['bare uvicorn, same bytes']:.2f}   (goal ≥ 0.8)")
    print(f"darkroom / nginx file              {figures['darkroom'] / figures['nginx serving the file']:.2f}")
    print(f"nginx front / nginx file           {figures['darkroom behind the nginx front'] / figures['nginx serving the file']:.2f}   (goal ≥ 0.8)")
    print(f"nginx front / nginx file, tuned    {figures['darkroom behind the nginx front'] / figures['nginx, file, open_file_cache']:.2f}   (both with open_file_cache)")


if __name__ == "__main__":
    main()
