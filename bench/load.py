"""A bounded mixed load on one darkroom, then the same with hostile media mixed in.

What a busy site does at once — uploads, delivery misses (a new size each time), hits,
Admin listings and searches — at concurrency 50, against a `darkroom serve` this script
starts on 127.0.0.1 with its own data folder under bench/.work/. Each phase is bounded by a
request count and a time limit, whichever comes first. Printed per phase: requests/s, the
error count (goal 0: every well-formed request answered with its 200), p50/p99 per kind,
and the server's resident memory (RSS, summed over its process tree, sampled every 20 ms,
and the kernel's high-water mark).

The second phase mixes in hostile media (issue 15): uploads of decompression bombs (refused
from the header: a 4xx is the right answer), many-frame GIFs and big SVGs uploaded and then
rendered at a new size each time. For those, a 4xx is fine and a 5xx or no answer is an error.

    .venv/bin/python bench/load.py                              # 2 × (2,000 requests or 60 s)
    .venv/bin/python bench/load.py --requests 500 --seconds 20 --concurrency 20
    .venv/bin/python bench/load.py --frames 1000 --frame-size 300   # the issue's 23 KB GIF

Not part of the test suite. Exits 1 if a request failed (a well-formed one not answered 200, a
hostile one answered 5xx or not at all) or the server's peak RSS went over `--max-rss-mib`
(1024: one server under 1 GB with the default DARKROOM_RENDER_MEMORY_MB) in either phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pathlib
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cloudinary.utils
import httpx

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORK_DIR = HERE / ".work"  # git-ignored
sys.path.insert(0, str(ROOT))

from bench.transforms import free_port, started  # noqa: E402 - start, wait for and stop a server as the other benches do
from tests.security import hostile  # noqa: E402 - the same builders as the attack suites

CLOUD, API_KEY, API_SECRET = "load", "424242424242424", "loadsecret-" + secrets.token_hex(8)
REQUEST_TIMEOUT = 60.0
SAMPLE_EVERY = 0.02  # seconds between RSS samples

# kind → share of a phase's requests. Hostile kinds appear only in the second phase.
WELL_FORMED_MIX = {"upload": 0.15, "miss": 0.25, "hit": 0.35, "listing": 0.12, "search": 0.13}
HOSTILE_MIX = {"bomb upload": 0.04, "gif upload": 0.02, "gif render": 0.05, "svg render": 0.04}


# ------------------------------------------------------------------------ the server


@contextlib.contextmanager
def darkroom(work: pathlib.Path, workers: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`darkroom serve` in its own process group, configured by CLOUDINARY_URL alone."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = work / "load-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {**os.environ, "CLOUDINARY_URL": f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}"}
    env.pop("DARKROOM_DATA_DIR", None)
    env.pop("DARKROOM_DATABASE_URL", None)
    command = [sys.executable, "-m", "darkroom", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data_dir), "--workers", str(workers), "--log-level", "warning"]
    try:
        with started(command, env, work / "load-server.log", f"{base}/health", "darkroom") as process:
            yield process, base
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in pathlib.Path(f"/proc/{current}/task").iterdir():
                queue.extend(int(p) for p in (task / "children").read_text().split())
    return pids


def status_kib(pid: int, field_name: str) -> int:
    with contextlib.suppress(OSError, ValueError, StopIteration):
        line = next(line for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(field_name))
        return int(line.split()[1])
    return 0


class RssSampler:
    """The server tree's RSS every 20 ms while a phase runs; peak = max(samples, VmHWM)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now_kib(self) -> int:
        return sum(status_kib(pid, "VmRSS:") for pid in process_tree(self.pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, self.now_kib())
            time.sleep(SAMPLE_EVERY)

    def __enter__(self) -> RssSampler:
        for pid in process_tree(self.pid):  # reset the kernel's high-water mark (needs the same user)
            with contextlib.suppress(OSError):
                pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        high_water = max((status_kib(pid, "VmHWM:") for pid in process_tree(self.pid)), default=0)
        self.peak_kib = max(self.peak_kib, high_water)


# ------------------------------------------------------------------------ requests


@dataclass
class Outcome:
    kind: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Corpus:
    """What the requests need: files to upload, and assets already there to deliver."""

    png: bytes
    hit_urls: list[str]
    hostile_gif: bytes
    gif_id: str = "load/frames"
    svg_id: str = "load/big-svg"
    bombs: list[bytes] = field(default_factory=list)


def signed_form(**params: str) -> dict[str, str]:
    params = {"timestamp": str(int(time.time())), **params}
    return {**params, "signature": cloudinary.utils.api_sign_request(params, API_SECRET), "api_key": API_KEY}


class Load:
    """Builds each kind of request; every one is checked for the answer it must get."""

    def __init__(self, client: httpx.AsyncClient, corpus: Corpus) -> None:
        self.client = client
        self.corpus = corpus
        self.widths = iter(range(20, 10**6))  # every miss asks for a size never asked before

    async def _upload(self, data: bytes, public_id: str) -> httpx.Response:
        return await self.client.post(f"/v1_1/{CLOUD}/image/upload", data=signed_form(public_id=public_id), files={"file": ("f", data)})

    async def upload(self) -> tuple[bool, str]:
        response = await self._upload(self.corpus.png, f"load/u-{secrets.token_hex(5)}")
        return response.status_code == 200, response.text[:120]

    async def miss(self) -> tuple[bool, str]:
        response = await self.client.get(f"/{CLOUD}/image/upload/w_{next(self.widths) % 1900 + 20},h_90,c_fill/load/base.jpg")
        return response.status_code == 200, f"{response.status_code} {response.text[:100]}"

    async def hit(self) -> tuple[bool, str]:
        response = await self.client.get(random.choice(self.corpus.hit_urls))
        return response.status_code == 200, f"{response.status_code} {response.text[:100]}"

    async def listing(self) -> tuple[bool, str]:
        response = await self.client.get(f"/v1_1/{CLOUD}/resources/image", params={"max_results": "50", "prefix": "load/"}, auth=(API_KEY, API_SECRET))
        return response.status_code == 200, f"{response.status_code} {response.text[:100]}"

    async def search(self) -> tuple[bool, str]:
        body = {"expression": "folder:load AND format:png", "max_results": 30, "sort_by": [{"created_at": "desc"}]}
        response = await self.client.post(f"/v1_1/{CLOUD}/resources/search", json=body, auth=(API_KEY, API_SECRET))
        return response.status_code == 200, f"{response.status_code} {response.text[:100]}"

    # hostile: a 4xx is a right answer, a 5xx (or none) is not
    async def bomb_upload(self) -> tuple[bool, str]:
        response = await self._upload(random.choice(self.corpus.bombs), f"load/bomb-{secrets.token_hex(5)}")
        return 400 <= response.status_code < 500, f"{response.status_code} {response.text[:100]}"

    async def gif_upload(self) -> tuple[bool, str]:
        response = await self._upload(self.corpus.hostile_gif, f"load/gif-{secrets.token_hex(5)}")
        return response.status_code < 500, f"{response.status_code} {response.text[:100]}"

    async def gif_render(self) -> tuple[bool, str]:
        response = await self.client.get(f"/{CLOUD}/image/upload/w_{next(self.widths) % 250 + 20}/{self.corpus.gif_id}.gif")
        return response.status_code < 500, f"{response.status_code} {response.text[:100]}"

    async def svg_render(self) -> tuple[bool, str]:
        response = await self.client.get(f"/{CLOUD}/image/upload/w_{next(self.widths) % 1900 + 20}/{self.corpus.svg_id}.png")
        return response.status_code < 500, f"{response.status_code} {response.text[:100]}"

    def action(self, kind: str) -> Callable[[], object]:
        return getattr(self, kind.replace(" ", "_"))  # type: ignore[no-any-return]


def schedule(mix: dict[str, float], count: int, seed: int) -> list[str]:
    kinds = [kind for kind, share in mix.items() for _ in range(max(1, round(share * count)))]
    random.Random(seed).shuffle(kinds)
    return kinds[:count]


async def run_phase(base: str, corpus: Corpus, kinds: list[str], concurrency: int, seconds: float) -> tuple[list[Outcome], float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        load = Load(client, corpus)
        queue = list(reversed(kinds))
        outcomes: list[Outcome] = []
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while queue and time.monotonic() < deadline:
                kind = queue.pop()
                started = time.perf_counter()
                try:
                    ok, detail = await load.action(kind)()  # type: ignore[misc]
                except httpx.HTTPError as exc:
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                outcomes.append(Outcome(kind, time.perf_counter() - started, ok, "" if ok else detail))

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return outcomes, time.perf_counter() - began


# ------------------------------------------------------------------------ set-up and report


def build_corpus(base: str, frames: int, frame_size: int) -> Corpus:
    import pyvips

    xyz = pyvips.Image.xyz(1200, 900)
    photo = (xyz[0] / 5).bandjoin([xyz[1] / 4, (xyz[0] + xyz[1]) / 9]).cast("uchar")
    png = bytes(pyvips.Image.xyz(200, 150)[0].cast("uchar").bandjoin([pyvips.Image.black(200, 150).cast("uchar")] * 2).pngsave_buffer())
    corpus = Corpus(png=png, hit_urls=[], hostile_gif=hostile.gif_many_frames(frame_size, frame_size, frames))
    corpus.bombs = [hostile.png_claiming(100_000, 100_000), hostile.png_bomb(12_000, 12_000), hostile.gif_claiming(65_535, 65_535),
                    hostile.svg_sized(100_000, 100_000), hostile.svg_billion_laughs()]
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
        def upload(data: bytes, public_id: str) -> None:
            response = client.post(f"/v1_1/{CLOUD}/image/upload", data=signed_form(public_id=public_id), files={"file": ("f", data)})
            response.raise_for_status()

        upload(bytes(photo.jpegsave_buffer(Q=85)), "load/base")
        for i in range(20):
            upload(png, f"load/seed-{i}")
        upload(corpus.hostile_gif, corpus.gif_id)
        upload(hostile.svg_sized(9_000, 9_000), corpus.svg_id)
        corpus.hit_urls = [f"/{CLOUD}/image/upload/w_{w},c_scale/load/seed-{w % 20}.jpg" for w in range(40, 60)]
        for url in corpus.hit_urls:  # warm: these are hits from now on
            client.get(url).raise_for_status()
    return corpus


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def report(title: str, outcomes: list[Outcome], seconds: float, baseline_kib: int, peak_kib: int, hostile_kinds: set[str]) -> int:
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    errors = [o for o in outcomes if not o.ok and o.kind not in hostile_kinds]
    hostile_errors = [o for o in outcomes if not o.ok and o.kind in hostile_kinds]
    print(f"\n== {title}: {len(outcomes)} requests in {seconds:.1f} s = {len(outcomes) / seconds:.1f} req/s; "
          f"errors {len(errors)} (well-formed), {len(hostile_errors)} (hostile: 5xx or no answer)")
    print(f"   server RSS: {baseline_kib / 1024:.0f} MiB before, peak {peak_kib / 1024:.0f} MiB")
    print(f"   {'kind':<12} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for kind in sorted(by_kind):
        done = by_kind[kind]
        times = [o.seconds * 1000 for o in done]
        print(f"   {kind:<12} {len(done):>5} {percentile(times, 0.5):>8.1f} {percentile(times, 0.99):>8.1f} {sum(not o.ok for o in done):>6}")
    for outcome in (errors + hostile_errors)[:5]:
        print(f"   first errors: {outcome.kind}: {outcome.detail}")
    return len(errors) + len(hostile_errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase (at most)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds per phase (at most)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="darkroom server processes")
    parser.add_argument("--frames", type=int, default=300, help="frames of the hostile GIF")
    parser.add_argument("--frame-size", type=int, default=200, help="width and height of each of its frames")
    parser.add_argument("--max-rss-mib", type=int, default=1024, help="goal: the server's peak RSS in every phase (MiB)")
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with darkroom(WORK_DIR, args.workers) as (process, base):
        corpus = build_corpus(base, args.frames, args.frame_size)
        print(f"darkroom {base} (pid {process.pid}, {args.workers} worker(s)); concurrency {args.concurrency}; "
              f"at most {args.requests} requests or {args.seconds:g} s per phase; hostile GIF {args.frame_size}x{args.frame_size}"
              f"x{args.frames} frames ({len(corpus.hostile_gif) / 1024:.0f} KiB)")
        failures = 0
        phases = [("well-formed mix", WELL_FORMED_MIX), ("with hostile media", {**WELL_FORMED_MIX, **HOSTILE_MIX})]
        for seed, (title, mix) in enumerate(phases):
            sampler = RssSampler(process.pid)
            baseline = sampler.now_kib()
            with sampler:
                outcomes, seconds = asyncio.run(run_phase(base, corpus, schedule(mix, args.requests, seed), args.concurrency, args.seconds))
            errors = report(title, outcomes, seconds, baseline, sampler.peak_kib, set(HOSTILE_MIX))
            failures += errors
            if sampler.peak_kib > args.max_rss_mib * 1024:
                print(f"   peak RSS {sampler.peak_kib / 1024:.0f} MiB is over the goal of {args.max_rss_mib} MiB")
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
