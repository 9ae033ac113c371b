"""How fast does darkroom render and serve image transformations, next to what the machine can do?

The promise (issue 3, "Performance"): on this machine, with as many server processes as the
benchmark gives darkroom (2), for a camera-like 4000×3000 JPEG (~5 MB) and a 1024×768 PNG,
every request a cache miss:

1. **ceiling** — the bare libvips pipeline, called in-process in 2 processes:
   `pyvips.Image.thumbnail(path, w, height=300, crop="centre")` (shrink-on-load, fill crop)
   and the encoder at darkroom's settings (JPEG Q80 with Huffman optimisation; WebP Q80
   effort 2), ops/s. No HTTP, no database, no storage: the most this machine can render;
2. **darkroom** over HTTP — a real `darkroom serve --workers 2` process, sources uploaded with
   the official `cloudinary` SDK, URLs built by `cloudinary.utils.cloudinary_url`
   (`c_fill,w_N,h_300`, `.jpg` and `.webp`), 4 concurrent clients: req/s, p50, p99.
   Goal: ≥ 0.8 × the ceiling; and, one client at a time, p50 ≤ 1.2 × one in-process op;
3. **thumbor** (from PyPI, in its own venv under `bench/.work/`) serving the same operation
   with `--processes 2`, unsafe URLs, file loader, no storage, no result storage.
   Goal: darkroom ≥ 2.5 × thumbor's req/s;
4. **cached hits** — the same derivative URLs, repeated and warm: darkroom's req/s against
   nginx (the Debian package, 2 worker processes, its own config in the work dir) serving the
   very bytes darkroom returned, from files. Goal: ≥ 50 % of nginx.

Every miss really is one: the width changes with every request (a permutation of a band of
widths, so each phase sees the same mix of sizes) and no width repeats within a source and
format on darkroom; the ceiling's workers switch off libvips's operation cache.

The machine is shared, so every server runs for the whole benchmark and each phase is
measured in slices, interleaved with the slices of what it is compared with (ceiling,
darkroom, thumbor, ceiling, darkroom, thumbor, …), so both sides of a ratio see the same
background load. Besides rates, it reports the CPU each side spent per operation (the
ceiling's processes; the server's process tree from /proc), which other load barely moves.

Clients are separate processes (one per concurrent client, a keep-alive `http.client` connection each),
so the GIL of the load generator does not serialise them; their CPU per request is printed,
and the nginx row shows what the client side can drive at most. Everything is loopback only;
every slice is bounded by a request count and a time limit, whichever comes first; every
server started is stopped (its whole process group).

    .venv/bin/python bench/transforms.py                   # everything, ~5 minutes
    .venv/bin/python bench/transforms.py --seconds 3 --rounds 2 --skip thumbor
    .venv/bin/python bench/transforms.py --profile         # + py-spy of darkroom's workers

Prints one line per phase, then the table of ratios against the goals and a table of CPU
per operation; writes the raw figures to `bench/.work/transforms-results.json`. Exits 1 if
a goal is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
WORK_DIR = HERE / ".work"  # git-ignored
VENV_BIN = ROOT / ".venv" / "bin"
THUMBOR_VENV = WORK_DIR / "thumbor-venv"
CLOUD, API_KEY, API_SECRET = "bench", "benchkey", "benchsecret-" + secrets.token_hex(8)

PROCESSES = 2  # server processes for darkroom and thumbor, and ceiling processes
CONCURRENCY = 4  # concurrent clients for the throughput phases
HEIGHT = 300
JPEG_Q, WEBP_Q, WEBP_EFFORT = 80, 80, 2  # darkroom's defaults (src/darkroom/imaging/formats.py)
WIDTH_BAND = 400  # distinct widths per parity: 200, 202, … 998 (+1 for the odd set)
WIDTH_STRIDE = 157  # coprime with WIDTH_BAND: a prefix of the sequence spans the band
MAX_MISS_REQUESTS = WIDTH_BAND  # a miss phase never repeats a width
REQUEST_TIMEOUT = 60.0
WARM_WIDTHS = (150, 151, 152, 153)  # outside the measured band; later the cached-hit set

FORMATS = ("jpg", "webp")


@dataclass(frozen=True)
class Source:
    name: str  # public ID and file stem
    ext: str
    width: int
    height: int

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.ext}"


SOURCES = (Source("photo", "jpg", 4000, 3000), Source("graphic", "png", 1024, 768))


def widths(parity: int, count: int) -> list[int]:
    """`count` distinct widths from the band, spread over it, even (0) or odd (1)."""
    count = min(count, WIDTH_BAND)
    return [200 + 2 * ((i * WIDTH_STRIDE) % WIDTH_BAND) + parity for i in range(count)]


# ------------------------------------------------------------------------ the sources


def synthesize_sources(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    """A camera-like photo (smooth gradients, textures at several scales, sensor noise,
    JPEG Q90: ~5 MB for 12 MP, like a phone's) and a smaller PNG made the same way."""
    import pyvips

    def photo(width: int, height: int, noise: float, seed: int) -> pyvips.Image:
        xyz = pyvips.Image.xyz(width, height)
        x, y = xyz[0] / width, xyz[1] / height
        red = x * 160 + 40 + (y * 560).sin() * 30  # sin() takes degrees
        green = y * 140 + 60 + (x * 950 + y * 380).sin() * 40
        blue = (x + y) * 90 + 30 + (x * 1600).cos() * 20
        texture = (
            pyvips.Image.perlin(width, height, cell_size=256, seed=seed) * 40
            + pyvips.Image.perlin(width, height, cell_size=32, seed=seed + 1) * 25
            + pyvips.Image.perlin(width, height, cell_size=6, seed=seed + 2) * 12
        )
        grain = pyvips.Image.gaussnoise(width, height, sigma=noise, mean=0, seed=seed + 3)
        return (red.bandjoin([green, blue]) + texture + grain).cast("uchar").copy(interpretation="srgb")

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, pathlib.Path] = {}
    for source in SOURCES:
        path = folder / source.filename
        paths[source.name] = path
        if path.exists():
            continue
        image = photo(source.width, source.height, 12.0 if source.ext == "jpg" else 4.0, seed=len(paths))
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # explicit savers: any name will do
        if source.ext == "jpg":
            image.jpegsave(str(partial), Q=90)
        else:
            image.pngsave(str(partial), compression=6)
        partial.rename(path)  # atomic: a concurrent run never reads half a file
    return paths


# ------------------------------------------------------------------------ measuring


@dataclass
class Run:
    """What one client (or one ceiling process) did in a phase."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    first_error: str | None = None
    bytes: int = 0
    started: float = 0.0  # time.perf_counter(): CLOCK_MONOTONIC, comparable across processes
    ended: float = 0.0
    cpu: float = 0.0  # CPU seconds this process spent in the loop (all its threads)


@dataclass
class Result:
    name: str
    count: int
    errors: int
    seconds: float
    rate: float  # ops or requests per second, all clients together, over all slices
    rounds: list[float]  # the rate in each slice: how steady the machine was
    p50_ms: float
    p99_ms: float
    mean_bytes: float
    cpu_ms: float  # CPU per op of whoever did the work: the ceiling's processes, or the server's
    client_cpu_ms: float  # CPU per request of the benchmark's own clients (0 for the ceiling)
    load: float  # 1-minute load average when the phase ended (2.0 = both CPUs busy)
    first_error: str | None = None

    def line(self) -> str:
        error = f"  {self.errors} errors (first: {self.first_error})" if self.errors else ""
        return (
            f"{self.name:<40} {self.rate:7.1f}/s  p50 {self.p50_ms:7.1f}  p99 {self.p99_ms:7.1f} ms"
            f"  cpu {self.cpu_ms:6.1f} ms/op (client {self.client_cpu_ms:4.1f})  n={self.count:<5} {self.seconds:4.1f} s"
            f"  {self.mean_bytes / 1024:5.1f} KiB  load {self.load:4.1f}  rounds {'/'.join(f'{r:g}' for r in self.rounds)}{error}"
        )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def load_average() -> float:
    with contextlib.suppress(OSError, ValueError):
        return float(pathlib.Path("/proc/loadavg").read_text().split()[0])
    return 0.0


def tree_cpu_seconds(pid: int | None) -> float:
    """user + system CPU of a process and all its descendants, from /proc/PID/stat."""
    if pid is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = pathlib.Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
        pending.extend(children(current))
    return total


def combine(name: str, slices: Sequence[Slice]) -> Result:
    """One phase from its slices: counts and seconds add up, latencies pool."""
    runs = [run for piece in slices for run in piece.runs]
    latencies = sorted(x for run in runs for x in run.latencies)
    count = len(latencies)
    seconds = sum(piece.seconds for piece in slices)
    errors = sum(run.errors for run in runs)
    first_error = next((run.first_error for run in runs if run.first_error), None)
    ceiling = all(piece.server_cpu is None for piece in slices)
    worker_cpu = sum(run.cpu for run in runs)
    server_cpu = sum(piece.server_cpu or 0.0 for piece in slices)
    return Result(
        name=name,
        count=count,
        errors=errors,
        seconds=seconds,
        rate=count / seconds if seconds else 0.0,
        rounds=[round(piece.count / piece.seconds, 1) for piece in slices],
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        mean_bytes=sum(run.bytes for run in runs) / count if count else 0.0,
        cpu_ms=1000 * (worker_cpu if ceiling else server_cpu) / max(count, 1),
        client_cpu_ms=0.0 if ceiling else 1000 * worker_cpu / max(count, 1),
        load=load_average(),
        first_error=first_error,
    )


def _sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def client_task(urls: list[str], start_at: float, deadline: float, preconnect: str | None) -> Run:
    """One client (runs in its own process): GET each URL in turn on one keep-alive
    connection until the list or the time runs out. Bodies are read in full.

    The standard library's `http.client`, not httpx: the clients share the 2 CPUs with the
    servers, and httpx spent ~1.2 ms of CPU per request, which the faster server paid for in
    throughput (it makes more requests); `http.client` spends about a third of that."""
    import http.client

    run = Run()
    origin = urlsplit(urls[0])
    connection = http.client.HTTPConnection(origin.hostname, origin.port, timeout=REQUEST_TIMEOUT)

    def get(url: str) -> tuple[int, bytes]:
        parts = urlsplit(url)
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.read()

    try:
        if preconnect:
            with contextlib.suppress(OSError, http.client.HTTPException):
                get(preconnect)
        _sleep_until(start_at)
        run.started, cpu = time.perf_counter(), time.process_time()
        for url in urls:
            if time.perf_counter() >= deadline:
                break
            began = time.perf_counter()
            try:
                status, body = get(url)
            except (OSError, http.client.HTTPException) as error:
                connection.close()  # the next request opens a new connection
                run.errors += 1
                run.first_error = run.first_error or f"{type(error).__name__}: {error}"
                continue
            elapsed = time.perf_counter() - began
            if status == 200 and body:
                run.latencies.append(elapsed)
                run.bytes += len(body)
            else:
                run.errors += 1
                run.first_error = run.first_error or f"HTTP {status} {url}: {body[:200]!r}"
        run.ended, run.cpu = time.perf_counter(), time.process_time() - cpu
    finally:
        connection.close()
    return run


def ceiling_task(path: str, fmt: str, sizes: list[int], start_at: float, deadline: float) -> Run:
    """The bare pipeline, in-process (its own process): thumbnail with shrink-on-load and a
    centre fill crop to w×300, then the encoder at darkroom's settings."""
    import pyvips

    pyvips.cache_set_max(0)  # every op a miss, as on the server

    def once(width: int) -> bytes:
        image = pyvips.Image.thumbnail(path, width, height=HEIGHT, crop="centre")
        if fmt == "jpg":
            return bytes(image.jpegsave_buffer(Q=JPEG_Q, optimize_coding=True, keep="icc"))
        return bytes(image.webpsave_buffer(Q=WEBP_Q, effort=WEBP_EFFORT, smart_subsample=False, keep="icc"))

    once(199)  # first use initialises libvips's loaders and threads: not counted
    run = Run()
    _sleep_until(start_at)
    run.started, cpu = time.perf_counter(), time.process_time()
    for width in sizes:
        if time.perf_counter() >= deadline:
            break
        began = time.perf_counter()
        data = once(width)
        run.latencies.append(time.perf_counter() - began)
        run.bytes += len(data)
    run.ended, run.cpu = time.perf_counter(), time.process_time() - cpu
    return run


@dataclass
class Slice:
    runs: list[Run]
    start_at: float
    server_cpu: float | None  # CPU the server's process tree spent during the slice (None: ceiling)

    @property
    def seconds(self) -> float:
        return max(max((run.ended for run in self.runs), default=self.start_at) - self.start_at, 1e-9)

    @property
    def count(self) -> int:
        return sum(len(run.latencies) for run in self.runs)


class Bench:
    """Runs slices of phases on pools of spawned processes, all clients starting at the same
    instant, and adds the slices of each phase up."""

    def __init__(self, seconds: float, rounds: int, max_hits: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding libvips threads
        self.clients = context.Pool(CONCURRENCY)
        self.renderers = context.Pool(PROCESSES)
        self.seconds = seconds
        self.rounds = rounds
        self.max_hits = max_hits
        self.names: dict[str, str] = {}
        self.slices: dict[str, list[Slice]] = {}
        self.cursors: dict[str, int] = {}
        self.results: dict[str, Result] = {}

    def close(self) -> None:
        for pool in (self.clients, self.renderers):
            pool.terminate()
            pool.join()

    def _window(self) -> tuple[float, float]:
        start_at = time.perf_counter() + 0.5  # time for every worker to pick its task up
        return start_at, start_at + self.seconds

    def take(self, key: str, sequence: Sequence[Any], per_slice: int) -> list[Any]:
        """The next items of `sequence` for phase `key`: a phase never reuses one."""
        at = self.cursors.get(key, 0)
        self.cursors[key] = at + per_slice
        return list(sequence[at:at + per_slice])

    def _add(self, key: str, name: str, piece: Slice) -> None:
        self.names[key] = name
        self.slices.setdefault(key, []).append(piece)

    def ceiling(self, key: str, name: str, path: pathlib.Path, fmt: str, processes: int, sizes: list[int]) -> None:
        if not sizes:
            return
        start_at, deadline = self._window()
        tasks = [(str(path), fmt, sizes[i::processes], start_at, deadline) for i in range(processes)]
        self._add(key, name, Slice(self.renderers.starmap(ceiling_task, tasks, chunksize=1), start_at, None))

    def http(self, key: str, name: str, urls: list[str], clients: int, server_pid: int, preconnect: str | None = None) -> None:
        if not urls:
            return
        start_at, deadline = self._window()
        tasks = [(urls[i::clients], start_at, deadline, preconnect) for i in range(clients)]
        cpu = tree_cpu_seconds(server_pid)
        runs = self.clients.starmap(client_task, tasks, chunksize=1)
        self._add(key, name, Slice(runs, start_at, tree_cpu_seconds(server_pid) - cpu))

    def finish(self, *keys: str) -> None:
        for key in keys:
            if key in self.slices:
                self.results[key] = result = combine(self.names[key], self.slices[key])
                print(result.line(), flush=True)


# ------------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: pathlib.Path, what: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def started(command: list[str], env: dict[str, str], log: pathlib.Path, ready_url: str, what: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server process in its own process group; the whole group is stopped on the way out."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(ready_url, process, log, what)
            yield process
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group we started (the server and the workers it forked), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def children(pid: int) -> list[int]:
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
            pids.extend(int(p) for p in (task / "children").read_text().split())
    return pids


# ------------------------------------------------------------------------ darkroom


def configure_sdk(base: str) -> None:
    """As an app would: one CLOUDINARY_URL, uploads to darkroom, delivery URLs on its host."""
    import cloudinary

    host = urlsplit(base).netloc
    os.environ["CLOUDINARY_URL"] = f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}?upload_prefix={base}&cname={host}"
    cloudinary.reset_config()


def delivery_url(public_id: str, width: int, fmt: str) -> str:
    import cloudinary.utils

    url, _ = cloudinary.utils.cloudinary_url(public_id, width=width, height=HEIGHT, crop="fill", format=fmt)
    return str(url)


def check_image(data: bytes, fmt: str, width: int, what: str) -> None:
    """A sanity check on one response per server: right format, right size."""
    import pyvips

    image = pyvips.Image.new_from_buffer(data, "")
    loader = str(image.get("vips-loader"))
    expected = "jpeg" if fmt == "jpg" else fmt
    if expected not in loader or (image.width, image.height) != (width, HEIGHT):
        raise RuntimeError(f"{what}: expected a {width}x{HEIGHT} {fmt}, got {image.width}x{image.height} from {loader}")


@contextlib.contextmanager
def darkroom(work: pathlib.Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = work / "darkroom-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {**os.environ, "CLOUDINARY_URL": f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}"}
    env.pop("DARKROOM_DATA_DIR", None)
    command = [str(VENV_BIN / "darkroom"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--data-dir", str(data_dir), "--workers", str(PROCESSES), "--log-level", "warning"]
    try:
        with started(command, env, work / "darkroom.log", f"{base}/health", "darkroom serve") as process:
            yield process, base
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)  # originals and derivatives: tens of MB per run


def upload_sources(paths: dict[str, pathlib.Path]) -> None:
    import cloudinary.uploader

    for source in SOURCES:
        reply = cloudinary.uploader.upload(str(paths[source.name]), public_id=source.name, overwrite=True)
        if (reply.get("width"), reply.get("height")) != (source.width, source.height):
            raise RuntimeError(f"upload of {source.filename}: unexpected reply {reply}")


@contextlib.contextmanager
def py_spy(pid: int, out: pathlib.Path, seconds: float) -> Iterator[None]:
    """py-spy over darkroom's worker processes (children of the uvicorn supervisor)."""
    binary = VENV_BIN / "py-spy"
    if not binary.exists():
        print(f"(no {binary}: `.venv/bin/pip install py-spy` to profile)")
        yield
        return
    recorders = []
    workers = [child for child in children(pid) if "spawn_main" in pathlib.Path(f"/proc/{child}/cmdline").read_text()]
    for index, worker in enumerate(workers):
        target = out.with_name(f"{out.name}-worker{index}.txt")  # collapsed stacks, one line per stack
        recorders.append(subprocess.Popen(
            [str(binary), "record", "--pid", str(worker), "--duration", str(int(seconds) + 2), "--rate", "100",
             "--threads", "--format", "raw", "--output", str(target)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
    time.sleep(1.0)  # let py-spy attach before the phase starts
    try:
        yield
    finally:
        for recorder in recorders:
            try:
                recorder.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                recorder.terminate()
                recorder.wait(timeout=10)
        print(f"py-spy profiles: {out}-worker*.txt (collapsed stacks)")


@dataclass
class Server:
    """A running server under test: its process (for CPU accounting) and how to reach it."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    preconnect: str  # a cheap URL each client fetches before the clock starts (opens its connection)


def warm(what: str, urls: list[tuple[str, str, int]]) -> None:
    """Fetch each (url, fmt) a few times (both server processes load their code and libvips);
    check the last answer's format and size. Widths outside the measured band."""
    import httpx

    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for url, fmt, width in urls:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{what} warm-up {url}: HTTP {response.status_code} {response.headers.get('x-cld-error', '')} {response.text[:300]}")
            check_image(response.content, fmt, width, f"{what} {url}")


@contextlib.contextmanager
def darkroom_ready(work: pathlib.Path, paths: dict[str, pathlib.Path]) -> Iterator[Server]:
    """darkroom serving the two sources, uploaded with the SDK, each worker warmed up."""
    with darkroom(work) as (process, base):
        configure_sdk(base)
        upload_sources(paths)
        warm("darkroom", [(delivery_url(source.name, w, fmt), fmt, w) for source in SOURCES for fmt in FORMATS for w in WARM_WIDTHS])
        yield Server("darkroom", process, base, f"{base}/health")


def hot_files(darkroom_server: Server, root: pathlib.Path) -> tuple[list[str], list[str]]:
    """A handful of rendered derivatives: their URLs, fetched until every worker has them in
    memory, and their bytes written under `root` at the same paths, for nginx."""
    import httpx

    urls = [delivery_url(source.name, w, fmt) for source in SOURCES for fmt in FORMATS for w in WARM_WIDTHS]
    shutil.rmtree(root, ignore_errors=True)
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        for url in urls:
            for _ in range(4):  # both workers' memory LRUs see it
                response = client.get(url)
            target = root / urlsplit(url).path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(response.content)
    return urls, [urlsplit(url).path for url in urls]


# ------------------------------------------------------------------------ nginx


NGINX_CONF = """\
worker_processes {processes};
daemon off;
master_process on;
{user}
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    types {{ image/jpeg jpg; image/webp webp; image/png png; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        etag on;
        location / {{ add_header Cache-Control "public, max-age=3600"; }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(work: pathlib.Path, root: pathlib.Path, probe_path: str) -> Iterator[Server | None]:
    """nginx (Debian's package) serving `root`, 2 worker processes, on a loopback port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        yield None
        return
    port = free_port()
    (work / "nginx-tmp").mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        processes=PROCESSES, work=work, root=root, port=port,
        user="user root;" if os.geteuid() == 0 else "",  # workers must read files under /work as root does
    ))
    base = f"http://127.0.0.1:{port}"
    command = [binary, "-p", str(work), "-c", str(conf), "-e", str(work / "nginx-error.log")]
    with started(command, dict(os.environ), work / "nginx.log", f"{base}{probe_path}", "nginx") as process:
        yield Server("nginx", process, base, f"{base}{probe_path}")


# ------------------------------------------------------------------------ thumbor


THUMBOR_CONF = """\
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
QUALITY = {jpeg_q}
WEBP_QUALITY = {webp_q}
PROGRESSIVE_JPEG = False
AUTO_WEBP = False
DETECTORS = []
OPTIMIZERS = []
"""


def thumbor_url(base: str, source: Source, width: int, fmt: str) -> str:
    """The same operation: fill (thumbor crops to the box's ratio, centred) to w×300."""
    return f"{base}/unsafe/{width}x{HEIGHT}/filters:quality({JPEG_Q if fmt == 'jpg' else WEBP_Q}):format({'jpeg' if fmt == 'jpg' else fmt})/{source.filename}"


def install_thumbor(work: pathlib.Path) -> str | None:
    """thumbor from PyPI into its own venv (once); returns why it could not, or None."""
    binary = THUMBOR_VENV / "bin" / "thumbor"
    if binary.exists():
        return None
    log = work / "thumbor-install.log"
    with log.open("wb") as output:
        subprocess.run([sys.executable, "-m", "venv", str(THUMBOR_VENV)], stdout=output, stderr=subprocess.STDOUT, check=False, timeout=300)
        if (THUMBOR_VENV / "bin" / "pip").exists():
            subprocess.run([str(THUMBOR_VENV / "bin" / "pip"), "install", "thumbor"], stdout=output, stderr=subprocess.STDOUT,
                           check=False, timeout=900)
    return None if binary.exists() else f"thumbor could not be installed from PyPI here (see {log}); its rows are missing"


@contextlib.contextmanager
def thumbor(work: pathlib.Path, sources_dir: pathlib.Path) -> Iterator[Server]:
    """thumbor --processes 2 (one socket, forked workers), unsafe URLs, file loader, no storage."""
    conf = work / "thumbor.conf"
    conf.write_text(THUMBOR_CONF.format(root=str(sources_dir), jpeg_q=JPEG_Q, webp_q=WEBP_Q))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(THUMBOR_VENV / "bin" / "thumbor"), "--ip", "127.0.0.1", "--port", str(port), "--conf", str(conf),
               "--log-level", "warning", "--processes", str(PROCESSES)]
    with started(command, dict(os.environ), work / "thumbor.log", f"{base}/healthcheck", "thumbor") as process:
        warm("thumbor", [(thumbor_url(base, source, w, fmt), fmt, w) for source in SOURCES for fmt in FORMATS for w in WARM_WIDTHS])
        yield Server("thumbor", process, base, f"{base}/healthcheck")


# ------------------------------------------------------------------------ the report


@dataclass
class Ratio:
    what: str
    value: float | None
    goal: str
    met: bool | None

    def line(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.2f}"
        verdict = "—" if self.met is None else "yes" if self.met else "NO"
        return f"| {self.what} | {value} | {self.goal} | {verdict} |"


def ratios(results: dict[str, Result]) -> list[Ratio]:
    def get(key: str) -> Result | None:
        return results.get(key)

    rows: list[Ratio] = []

    def add(what: str, top: float | None, bottom: float | None, goal: str, check: Callable[[float], bool]) -> None:
        value = top / bottom if top is not None and bottom else None
        rows.append(Ratio(what, value, goal, None if value is None else check(value)))

    for source in SOURCES:
        for fmt in FORMATS:
            dark = get(f"darkroom.{source.name}.{fmt}.c{CONCURRENCY}")
            ceiling = get(f"ceiling.{source.name}.{fmt}.p{PROCESSES}")
            add(f"{source.filename}→{fmt}: darkroom c={CONCURRENCY} req/s ÷ ceiling ops/s",
                dark.rate if dark else None, ceiling.rate if ceiling else None, "≥ 0.8", lambda v: v >= 0.8)
    for source in SOURCES:
        for fmt in FORMATS:
            dark = get(f"darkroom.{source.name}.{fmt}.c1")
            single = get(f"ceiling.{source.name}.{fmt}.p1")
            add(f"{source.filename}→{fmt}: darkroom c=1 p50 ÷ in-process op p50",
                dark.p50_ms if dark else None, single.p50_ms if single else None, "≤ 1.2", lambda v: v <= 1.2)
    for source in SOURCES:
        for fmt in FORMATS:
            dark = get(f"darkroom.{source.name}.{fmt}.c{CONCURRENCY}")
            thumb = get(f"thumbor.{source.name}.{fmt}.c{CONCURRENCY}")
            add(f"{source.filename}→{fmt}: darkroom req/s ÷ thumbor req/s",
                dark.rate if dark else None, thumb.rate if thumb else None, "≥ 2.5", lambda v: v >= 2.5)
    dark, web = get("darkroom.hit"), get("nginx.hit")
    add("cached hits: darkroom req/s ÷ nginx req/s", dark.rate if dark else None, web.rate if web else None,
        "≥ 0.5", lambda v: v >= 0.5)
    return rows


def cpu_table(results: dict[str, Result]) -> list[str]:
    """CPU per operation of whoever did the work, which other load on the machine changes far
    less than it changes rates: ceiling ÷ darkroom is the throughput ratio an idle machine
    would give, and so is thumbor ÷ darkroom."""
    lines = ["| CPU ms per op (same run) | ceiling | darkroom | thumbor | ceiling ÷ darkroom | thumbor ÷ darkroom | darkroom's clients |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def ms(result: Result | None) -> str:
        return f"{result.cpu_ms:.1f}" if result else "—"

    def ratio(top: Result | None, bottom: Result | None) -> str:
        return f"{top.cpu_ms / bottom.cpu_ms:.2f}" if top and bottom and bottom.cpu_ms else "—"

    for source in SOURCES:
        for fmt in FORMATS:
            ceiling = results.get(f"ceiling.{source.name}.{fmt}.p{PROCESSES}")
            dark = results.get(f"darkroom.{source.name}.{fmt}.c{CONCURRENCY}")
            thumb = results.get(f"thumbor.{source.name}.{fmt}.c{CONCURRENCY}")
            lines.append(f"| {source.filename}→{fmt} miss | {ms(ceiling)} | {ms(dark)} | {ms(thumb)} | {ratio(ceiling, dark)} | "
                         f"{ratio(thumb, dark)} | {f'{dark.client_cpu_ms:.1f}' if dark else '—'} |")
    dark, web = results.get("darkroom.hit"), results.get("nginx.hit")
    lines.append(f"| cached hit (nginx in the ceiling column) | {ms(web)} | {ms(dark)} | — | {ratio(web, dark)} | — | "
                 f"{f'{dark.client_cpu_ms:.1f}' if dark else '—'} |")
    return lines


def client_notes(results: dict[str, Result]) -> list[str]:
    """Where the load generator, not the server, set the pace."""
    notes = []
    for key in ("nginx.hit", "darkroom.hit"):
        result = results.get(key)
        if result and result.client_cpu_ms > result.cpu_ms:
            notes.append(
                f"{result.name}: the clients spent {result.client_cpu_ms:.2f} ms CPU per request, the server "
                f"{result.cpu_ms:.2f} ms: this rate is bounded by the load generator sharing the {os.cpu_count()} CPUs"
            )
    return notes


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import pyvips

    return f"{os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="time limit of each slice (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="slices per phase, interleaved across servers (default 3)")
    parser.add_argument("--max-hits", type=int, default=10_000, help="request limit of each cached-hit slice")
    parser.add_argument("--skip", action="append", default=[], choices=["ceiling", "darkroom", "nginx", "thumbor"],
                        help="leave a part out (repeatable)")
    parser.add_argument("--profile", action="store_true", help="record py-spy profiles of darkroom's workers during its c=4 phases")
    args = parser.parse_args(argv)
    rounds = max(1, args.rounds)
    per_slice = MAX_MISS_REQUESTS // rounds

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="transforms-", dir=WORK_DIR))  # servers' data, logs, profiles
    print(f"darkroom transformations benchmark — {machine()}; load average {load_average():.2f} at the start")
    print(f"{PROCESSES} processes each; {CONCURRENCY} concurrent clients; each phase {rounds} slices of ≤ {args.seconds:g} s, "
          f"≤ {per_slice} requests (misses) or ≤ {args.max_hits} (hits), slices of the compared servers interleaved; "
          f"c_fill,w_200…999,h_{HEIGHT}; work dir {work.relative_to(ROOT)}\n", flush=True)
    sources_dir = WORK_DIR / "transforms-sources"  # kept between runs: same bytes every time
    paths = synthesize_sources(sources_dir)
    for source in SOURCES:
        print(f"source {source.filename}: {source.width}×{source.height}, {paths[source.name].stat().st_size / 1e6:.2f} MB")
    print(flush=True)

    notes: list[str] = []
    if "thumbor" not in args.skip:
        why = install_thumbor(work)
        if why:
            notes.append(why)
            args.skip.append("thumbor")
    bench = Bench(args.seconds, rounds, args.max_hits)
    try:
        with contextlib.ExitStack() as stack:
            dark = stack.enter_context(darkroom_ready(work, paths)) if "darkroom" not in args.skip else None
            thumb = stack.enter_context(thumbor(work, sources_dir)) if "thumbor" not in args.skip else None
            for source in SOURCES:
                for fmt in FORMATS:
                    run_misses(bench, source, fmt, paths[source.name], dark, thumb, work, args)
            if dark is not None:
                run_hits(bench, dark, work, args)
            elif "nginx" not in args.skip:
                notes.append("nginx: serves the derivatives fetched from darkroom, so it needs the darkroom part")
    finally:
        bench.close()

    rows = ratios(bench.results)
    print("\n| ratio (same run) | value | goal | met |\n|---|---:|---|---|")
    for row in rows:
        print(row.line())
    print()
    for line in cpu_table(bench.results):
        print(line)
    notes += client_notes(bench.results)
    print(f"\n1-minute load average at the end: {load_average():.2f} (the benchmark itself keeps ~2 busy)")
    for note in notes:
        print(f"note: {note}")
    report = json.dumps({
        "machine": machine(),
        "results": {key: asdict(result) for key, result in bench.results.items()},
        "ratios": [asdict(row) for row in rows],
        "notes": notes,
    }, indent=2)
    (work / "results.json").write_text(report)
    (WORK_DIR / "transforms-results.json").write_text(report)
    return 1 if any(row.met is False for row in rows) else 0


def run_misses(bench: Bench, source: Source, fmt: str, path: pathlib.Path, dark: Server | None, thumb: Server | None,
               work: pathlib.Path, args: argparse.Namespace) -> None:
    """One source and format: rounds of (ceiling, darkroom, thumbor) at full load, then rounds
    of (one in-process op, darkroom with one client) — each pair sees the same machine."""
    per_slice = MAX_MISS_REQUESTS // bench.rounds
    even, odd = widths(0, MAX_MISS_REQUESTS), widths(1, MAX_MISS_REQUESTS)
    label = f"{source.filename}→{fmt}"
    keys = {kind: f"{kind}.{source.name}.{fmt}" for kind in ("ceiling", "darkroom", "thumbor")}
    profiling = py_spy(dark.process.pid, work / f"profile-{source.name}-{fmt}",
                       bench.rounds * 3 * (bench.seconds + 1.5)) if dark is not None and args.profile else contextlib.nullcontext()
    with profiling:
        for _ in range(bench.rounds):
            if "ceiling" not in args.skip:
                bench.ceiling(f"{keys['ceiling']}.p{PROCESSES}", f"ceiling {label} {PROCESSES} processes", path, fmt, PROCESSES,
                              bench.take(f"{keys['ceiling']}.p{PROCESSES}", even, per_slice))
            if dark is not None:
                key = f"{keys['darkroom']}.c{CONCURRENCY}"
                urls = [delivery_url(source.name, w, fmt) for w in bench.take(key, even, per_slice)]
                bench.http(key, f"darkroom {label} miss c={CONCURRENCY}", urls, CONCURRENCY, dark.process.pid, dark.preconnect)
            if thumb is not None:
                key = f"{keys['thumbor']}.c{CONCURRENCY}"
                urls = [thumbor_url(thumb.base, source, w, fmt) for w in bench.take(key, even, per_slice)]
                bench.http(key, f"thumbor {label} miss c={CONCURRENCY}", urls, CONCURRENCY, thumb.process.pid, thumb.preconnect)
    for _ in range(bench.rounds):
        if "ceiling" not in args.skip:
            bench.ceiling(f"{keys['ceiling']}.p1", f"ceiling {label} 1 op at a time", path, fmt, 1,
                          bench.take(f"{keys['ceiling']}.p1", odd, per_slice))
        if dark is not None:
            key = f"{keys['darkroom']}.c1"
            urls = [delivery_url(source.name, w, fmt) for w in bench.take(key, odd, per_slice)]
            bench.http(key, f"darkroom {label} miss c=1", urls, 1, dark.process.pid, dark.preconnect)
    bench.finish(f"{keys['ceiling']}.p{PROCESSES}", f"{keys['darkroom']}.c{CONCURRENCY}", f"{keys['thumbor']}.c{CONCURRENCY}",
                 f"{keys['ceiling']}.p1", f"{keys['darkroom']}.c1")


def run_hits(bench: Bench, dark: Server, work: pathlib.Path, args: argparse.Namespace) -> None:
    """Warm derivatives, repeated: darkroom against nginx serving the same bytes from files."""
    root = work / "nginx-root"
    urls, url_paths = hot_files(dark, root)
    with contextlib.ExitStack() as stack:
        web = stack.enter_context(nginx(work, root, url_paths[0])) if "nginx" not in args.skip else None
        if web is None and "nginx" not in args.skip:
            print("nginx: not installed (`apt-get install -y nginx`): the cached-hit goal is not measured")
        profiling = py_spy(dark.process.pid, work / "profile-hits", bench.rounds * 2 * (bench.seconds + 1.5)) if args.profile else contextlib.nullcontext()
        with profiling:
            for _ in range(bench.rounds):
                cycle = [urls[i % len(urls)] for i in range(bench.max_hits)]
                bench.http("darkroom.hit", f"darkroom hits (warm) c={CONCURRENCY}", cycle, CONCURRENCY, dark.process.pid, dark.preconnect)
                if web is not None:
                    cycle = [web.base + url_paths[i % len(url_paths)] for i in range(bench.max_hits)]
                    bench.http("nginx.hit", f"nginx same files c={CONCURRENCY}", cycle, CONCURRENCY, web.process.pid, web.preconnect)
    bench.finish("darkroom.hit", "nginx.hit")


if __name__ == "__main__":
    sys.exit(main())
