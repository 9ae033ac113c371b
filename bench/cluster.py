"""Throughput of 1, 2 and 3 darkroom server processes sharing PostgreSQL, one blob store and
Redis, against the libvips ceiling measured in the same run; and the render count of a
same-URL burst spread over the nodes.

    .venv/bin/python bench/cluster.py                       # 240 new derivatives per size
    .venv/bin/python bench/cluster.py --renders 120 --concurrency 16

Each configuration starts N `darkroom serve` processes (PostgreSQL database `test` on
127.0.0.1, DARKROOM_TEST_PG to change; a shared local blob folder; Redis at 127.0.0.1:6379)
and a client spreading requests round-robin over them: `--renders` new derivatives (each a
new width of one 1600×1200 JPEG, so every request renders) with `--concurrency` requests
in flight. The libvips ceiling is the same renders done in this process by
`darkroom.imaging.render` on as many threads as cores, with no HTTP, database or store.
On a 2-core machine the figure flattens at 2 processes: each render already uses a core.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pyvips

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import transforms  # noqa: E402 - start, wait for and stop a server as the other benches do

PG_ADMIN = os.environ.get("DARKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DARKROOM_TEST_REDIS", "redis://127.0.0.1:6379/0")
KEY, SECRET = str(10**14 + secrets.randbelow(10**14)), secrets.token_urlsafe(18)


@contextlib.contextmanager
def database() -> Iterator[str]:
    name = f"darkroom_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def cluster(work: Path, nodes: int, database_url: str, cloud: str) -> Iterator[list[str]]:
    env = {
        **os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT / "src")),
        "CLOUDINARY_URL": f"cloudinary://{KEY}:{SECRET}@{cloud}", "DARKROOM_DATABASE_URL": database_url,
        "DARKROOM_STORAGE_URL": f"file://{work / 'blobs'}", "DARKROOM_REDIS_URL": REDIS_URL,
    }
    work.mkdir(parents=True, exist_ok=True)
    bases: list[str] = []
    with contextlib.ExitStack() as nodes_running:  # each node stopped (its whole group) on the way out
        for index in range(nodes):
            port = transforms.free_port()
            command = [sys.executable, "-m", "darkroom", "serve", "--port", str(port), "--data-dir", str(work / f"node{index}"), "--log-level", "warning"]
            nodes_running.enter_context(transforms.started(command, env, work / f"node{index}.log", f"http://127.0.0.1:{port}/health", f"node {index}"))
            bases.append(f"http://127.0.0.1:{port}")
        yield bases


def upload(base: str, cloud: str, photo: bytes) -> tuple[str, int]:
    import cloudinary
    import cloudinary.uploader

    cloudinary.config(cloud_name=cloud, api_key=KEY, api_secret=SECRET, upload_prefix=base)
    uploaded = cloudinary.uploader.upload(photo, public_id=f"bench/{secrets.token_hex(4)}")
    return uploaded["public_id"], int(uploaded["version"])


async def drive(urls: list[str], concurrency: int) -> float:
    """Requests per second for `urls`, `concurrency` at a time; any non-200 stops the bench."""
    queue = list(reversed(urls))
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=concurrency * 2)) as client:
        async def worker() -> None:
            while queue:
                url = queue.pop()
                answer = await client.get(url)
                if answer.status_code != 200:
                    raise SystemExit(f"{url}: {answer.status_code} {answer.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(urls) / (time.perf_counter() - started)


def renders(bases: list[str]) -> float:
    total = 0.0
    for base in bases:
        match = re.search(r"^darkroom_renders_total ([0-9.e+]+)$", httpx.get(f"{base}/metrics").text, re.MULTILINE)
        total += float(match.group(1)) if match else 0.0
    return total


def libvips_ceiling(photo_path: Path, widths: list[int]) -> float:
    """The same renders in this process, one per core at a time: no HTTP, database or store."""
    from darkroom.imaging import RenderLimits, RenderRequest, render
    from darkroom.transform import parse

    limits = RenderLimits(max_source_pixels=10**8, max_output_pixels=10**8)

    def one(width: int) -> None:
        render(RenderRequest(photo_path, parse(f"c_fill,w_{width},h_{width * 3 // 4}"), source_format="jpg", requested_format="jpg", limits=limits))

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, widths))
    return len(widths) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=240, help="new derivatives per configuration")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--burst", type=int, default=20, help="requests in the same-URL burst")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="darkroom-cluster-"))
    photo_path = work / "photo.jpg"
    noise = pyvips.Image.gaussnoise(1600, 1200, mean=128, sigma=40).gaussblur(1.5)
    noise.bandjoin([noise.rot180(), noise.fliphor()]).cast("uchar").write_to_file(str(photo_path), Q=88)
    photo = photo_path.read_bytes()
    widths = [200 + n for n in range(args.renders)]
    try:
        ceiling = libvips_ceiling(photo_path, widths)
        print(f"libvips ceiling (in process, {os.cpu_count()} threads): {ceiling:8.1f} renders/s")
        single = 0.0
        for nodes in (1, 2, 3):
            cloud = f"bench{nodes}"
            with database() as database_url, cluster(work / f"c{nodes}", nodes, database_url, cloud) as bases:
                public_id, version = upload(bases[0], cloud, photo)
                path = f"/{cloud}/image/upload/c_fill,h_{{h}},w_{{w}}/v{version}/{public_id}.jpg"
                urls = [bases[n % nodes] + path.format(w=w, h=w * 3 // 4) for n, w in enumerate(widths)]
                rate = asyncio.run(drive(urls, args.concurrency))
                single = single or rate
                line = f"{nodes} server process{'es' if nodes > 1 else '  '}: {rate:8.1f} renders/s  ×{rate / single:.2f} of one, {rate / ceiling:.2f} of libvips"
                before = renders(bases)
                burst = [bases[n % nodes] + path.format(w=150 + nodes, h=100) for n in range(args.burst)]
                asyncio.run(drive(burst, args.burst))
                print(f"{line}; a burst of {args.burst} requests for one new URL over {nodes} node(s): {renders(bases) - before:.0f} render(s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
