"""darkroom's own CPU per transformation miss and per cached hit, with the render stubbed out.

    .venv/bin/python bench/overhead.py            # 600 misses, 1,800 hits
    .venv/bin/python bench/overhead.py --requests 2000
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python bench/overhead.py   # another version

One `darkroom serve`-equivalent worker (uvicorn, the real app) whose `render` returns fixed
bytes, so what is measured is everything around libvips: HTTP, routing, the asset and rules
look-ups, the derived-record look-up, the background store (blob write and upsert). A
sequential keep-alive client asks for SDK-built `c_fill,w_N,h_300` URLs: a new N for every
miss, 16 repeating ones for hits. It prints the server's CPU (from /proc) per request.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx
import pyvips

ROOT = Path(__file__).resolve().parent.parent

# The worker: the real app, with the one expensive call replaced by fixed JPEG-looking bytes.
SERVER = r"""
import sys, uvicorn
import darkroom.media.derivatives as derivatives
from darkroom.imaging import Rendered
DATA = b"\xff\xd8\xff" + b"x" * 20000
derivatives.render = lambda *args, **kwargs: Rendered(DATA, "jpg", "image/jpeg", 100, 300, False)
from darkroom.server import app_from_env
uvicorn.run(app_from_env(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("the server exited")
        try:
            httpx.get(base + "/health")
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the server did not answer")


def measure(client: httpx.Client, url: object, widths: list[int], pid: int) -> tuple[float, float]:
    """Server CPU ms and wall ms per request over `widths`; waits for background stores."""
    time.sleep(0.3)
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    for width in widths:
        response = client.get(url(width))  # type: ignore[operator]
        assert response.status_code == 200, response.headers.get("x-cld-error")
    wall = time.perf_counter() - started
    time.sleep(0.3)  # the last background stores
    return (cpu_seconds(pid) - cpu_before) * 1000 / len(widths), wall * 1000 / len(widths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="misses (hits are three times as many)")
    args = parser.parse_args()

    (ROOT / "bench" / ".work").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="overhead-", dir=ROOT / "bench" / ".work"))
    port = 18000 + secrets.randbelow(1000)
    key, secret = "123456789012345", "secret-" + secrets.token_hex(8)
    env = {**os.environ, "CLOUDINARY_URL": f"cloudinary://{key}:{secret}@bench", "DARKROOM_DATA_DIR": str(work)}
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, process)
        cloudinary.config(cloud_name="bench", api_key=key, api_secret=secret, upload_prefix=base)
        source = work / "graphic.png"
        pyvips.Image.xyz(64, 48)[0].cast("uchar").write_to_file(str(source))
        cloudinary.uploader.upload(str(source), public_id="graphic")

        def url(width: int) -> str:
            return cloudinary.utils.cloudinary_url(
                "graphic", width=width, height=300, crop="fill", format="jpg", cname=f"127.0.0.1:{port}", secure=False
            )[0]

        with httpx.Client() as client:
            for width in range(10, 60):
                client.get(url(width))  # warm up: imports, the asset and rules memories
            miss = measure(client, url, list(range(1000, 1000 + args.requests)), process.pid)
            hit = measure(client, url, [10 + i % 16 for i in range(args.requests * 3)], process.pid)
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"miss: server CPU {miss[0]:.2f} ms/request, wall {miss[1]:.2f} ms/request")
    print(f"hit:  server CPU {hit[0]:.2f} ms/request, wall {hit[1]:.2f} ms/request")


if __name__ == "__main__":
    main()
