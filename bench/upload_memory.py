"""How much memory does the server spend to receive a 1 GB upload?

The promise (issue 2): uploads are streamed to a spool file and to storage, never held
whole in memory, so uploading a 1 GB file raises the server's resident memory by less
than 64 MB. This script checks it end to end, against a real `darkroom serve` process:

1. writes a 1 GiB file of random bytes to disk (1 MiB at a time, never whole in memory);
2. starts `darkroom serve` on a free port with its own temporary data dir, configured
   by `CLOUDINARY_URL` exactly as `make run` would be;
3. warms the server up with a small upload, then resets the kernel's peak-RSS counter;
4. uploads the file with the official Python SDK's `upload_large` (20 MB chunks with
   `Content-Range`/`X-Unique-Upload-Id`) and with one plain signed multipart POST whose
   body is streamed from disk, sampling the server's RSS every few milliseconds;
5. downloads the stored original, checking its sha256, and measures that too.

    .venv/bin/python bench/upload_memory.py            # 1 GiB, both methods
    .venv/bin/python bench/upload_memory.py --size-mb 200 --method stream
    .venv/bin/python bench/upload_memory.py --storage-url 's3://bucket?endpoint=http://127.0.0.1:9000&…'

Prints one line per phase and exits 1 if any phase raised RSS by the limit or more.
Linux only: it reads /proc/PID/status and resets VmHWM through /proc/PID/clear_refs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx

HERE = pathlib.Path(__file__).resolve().parent
WORK_DIR = HERE / ".work"  # git-ignored; on the same disk as the repository, not tmpfs
CLOUD, API_KEY, API_SECRET = "bench", "benchkey", "benchsecret-" + secrets.token_hex(8)
MIB = 1024 * 1024
SAMPLE_SECONDS = 0.005


# ---------------------------------------------------------------------------- the file


def write_random_file(path: pathlib.Path, size: int) -> str:
    """Random bytes (incompressible, no shortcut for anyone), 1 MiB at a time."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining:
            piece = os.urandom(min(MIB, remaining))
            digest.update(piece)
            out.write(piece)
            remaining -= len(piece)
    return digest.hexdigest()


# ------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def darkroom_server(
    data_dir: pathlib.Path, storage_url: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real `darkroom serve` process, as `make run` starts it; yields (process, base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CLOUDINARY_URL": f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}?upload_prefix={base}",
        "DARKROOM_PUBLIC_URL": base,
        "DARKROOM_DATA_DIR": str(data_dir),
        "DARKROOM_STORAGE_URL": storage_url,  # empty: a folder in the data dir
    }
    command = [sys.executable, "-m", "darkroom", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"]
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, process, data_dir / "server.log")
        yield process, base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: pathlib.Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"darkroom serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    sys.exit("darkroom serve did not answer /health within 60 s")


# ----------------------------------------------------------------------- the sampler


def process_tree(pid: int) -> list[int]:
    """The server and its descendants (in case serve ever forks workers)."""
    pids, index = [pid], 0
    while index < len(pids):
        with contextlib.suppress(OSError):
            for task in pathlib.Path(f"/proc/{pids[index]}/task").iterdir():
                pids.extend(int(p) for p in (task / "children").read_text().split())
        index += 1
    return pids


def status_kib(pid: int, field_name: str) -> int:
    """One `Vm…` line of /proc/PID/status, in KiB (0 if the process is gone)."""
    with contextlib.suppress(OSError):
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(pid: int) -> int:
    return sum(status_kib(p, "VmRSS") for p in process_tree(pid))


@dataclass
class RssSampler:
    """Samples the server tree's RSS in a thread; the kernel's VmHWM catches spikes between."""

    pid: int
    baseline_kib: int = 0
    peak_kib: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        reset_peak(self.pid)
        self.baseline_kib = self.peak_kib = tree_rss_kib(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        # VmHWM: the main process's true peak since reset_peak, sampled or not.
        self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmHWM"))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))
            self.samples += 1
            time.sleep(SAMPLE_SECONDS)

    @property
    def increase_mib(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024


def reset_peak(pid: int) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")


# ------------------------------------------------------------------------- uploads


def configure_sdk(base: str) -> None:
    """As an app would: everything from one CLOUDINARY_URL."""
    os.environ["CLOUDINARY_URL"] = (
        f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}?upload_prefix={base}"
    )
    cloudinary.reset_config()


def upload_large(path: pathlib.Path, public_id: str, base: str) -> dict[str, Any]:
    """The SDK's chunked upload: 20 MB parts, each its own signed multipart POST."""
    return dict(cloudinary.uploader.upload_large(
        str(path), public_id=public_id, resource_type="raw", chunk_size=20_000_000, timeout=600
    ))


def upload_streamed(path: pathlib.Path, public_id: str, base: str) -> dict[str, Any]:
    """One signed multipart POST of the whole file; the body is read from disk as sent."""
    params = {"public_id": public_id, "timestamp": str(int(time.time()))}
    params["signature"] = cloudinary.utils.api_sign_request(params, API_SECRET)
    params["api_key"] = API_KEY
    body = MultipartFile(params, path)
    response = httpx.post(
        f"{base}/v1_1/{CLOUD}/raw/upload",
        content=body.chunks(),
        headers={"Content-Type": body.content_type, "Content-Length": str(body.length)},
        timeout=600,
    )
    response.raise_for_status()
    return dict(response.json())


class MultipartFile:
    """A multipart/form-data body whose file part is streamed, with a known length."""

    def __init__(self, fields: dict[str, str], path: pathlib.Path) -> None:
        self.boundary = "darkroom-bench-" + secrets.token_hex(12)
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.path = path
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self.head, self.tail = head.encode(), f"\r\n--{self.boundary}--\r\n".encode()
        self.length = len(self.head) + path.stat().st_size + len(self.tail)

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as source:
            while piece := source.read(MIB):
                yield piece
        yield self.tail


def download_sha256(url: str) -> tuple[str, int]:
    """Stream the delivered original and hash it."""
    digest, total = hashlib.sha256(), 0
    with httpx.stream("GET", url, timeout=600) as response:
        response.raise_for_status()
        for piece in response.iter_bytes(MIB):
            digest.update(piece)
            total += len(piece)
    return digest.hexdigest(), total


# --------------------------------------------------------------------------- driver


@dataclass
class Phase:
    name: str
    increase_mib: float
    baseline_mib: float
    peak_mib: float
    seconds: float
    size: int
    samples: int

    def line(self) -> str:
        rate = self.size / MIB / self.seconds if self.seconds else 0.0
        return (f"{self.name:<24} peak RSS increase {self.increase_mib:7.1f} MiB "
                f"(baseline {self.baseline_mib:6.1f} MiB, peak {self.peak_mib:6.1f} MiB, "
                f"{self.samples} samples)  {self.seconds:6.1f} s  {rate:6.1f} MiB/s")


def measure(name: str, pid: int, size: int, action: Callable[[], None]) -> Phase:
    with RssSampler(pid) as sampler:
        started = time.monotonic()
        action()
        seconds = time.monotonic() - started
    return Phase(name, sampler.increase_mib, sampler.baseline_kib / 1024,
                 sampler.peak_kib / 1024, seconds, size, sampler.samples)


def run_upload(name: str, uploader: Callable[[pathlib.Path, str, str], dict[str, Any]],
               source: pathlib.Path, expected: str, pid: int, base: str) -> list[Phase]:
    """Upload, check the reply, then download and check the bytes; measure both."""
    size = source.stat().st_size
    replies: list[dict[str, Any]] = []
    phases = [measure(f"upload ({name})", pid, size,
                      lambda: replies.append(uploader(source, f"bench/{name}", base)))]
    reply = replies[0]
    if reply.get("bytes") != size:
        sys.exit(f"{name}: server reports {reply.get('bytes')} bytes, sent {size}")
    digests: list[tuple[str, int]] = []
    phases.append(measure(f"download ({name})", pid, size,
                          lambda: digests.append(download_sha256(reply["url"]))))
    if digests[0] != (expected, size):
        sys.exit(f"{name}: downloaded bytes differ from the uploaded file")
    return phases


def warm_up(work: pathlib.Path, base: str) -> None:
    """Load every code path once so the measurement sees the upload, not first imports."""
    small = work / "warm.bin"
    write_random_file(small, 3 * MIB)
    upload_streamed(small, "bench/warm", base)
    upload_large(small, "bench/warm-large", base)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (1024)")
    parser.add_argument("--method", choices=["upload_large", "stream", "both"], default="both")
    parser.add_argument("--limit-mb", type=float, default=64, help="fail at this increase (64)")
    parser.add_argument("--storage-url", default="",
                        help="DARKROOM_STORAGE_URL for the server (default: its data dir)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    WORK_DIR.mkdir(exist_ok=True)
    methods = {"upload_large": upload_large, "stream": upload_streamed}
    chosen = list(methods) if args.method == "both" else [args.method]
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        work = pathlib.Path(tmp)
        source = work / "upload.bin"
        print(f"writing {args.size_mb} MiB of random bytes to {source} …", flush=True)
        expected = write_random_file(source, args.size_mb * MIB)
        (work / "data").mkdir()
        with darkroom_server(work / "data", args.storage_url) as (process, base):
            configure_sdk(base)
            warm_up(work, base)
            before = tree_rss_kib(process.pid) / 1024
            print(f"darkroom serve pid {process.pid} at {base}; RSS after warm-up "
                  f"{before:.1f} MiB", flush=True)
            phases = [phase for name in chosen for phase in
                      run_upload(name, methods[name], source, expected, process.pid, base)]
            after = tree_rss_kib(process.pid) / 1024
    print(f"server RSS after warm-up {before:.1f} MiB, after every phase {after:.1f} MiB "
          f"(retained {after - before:+.1f} MiB)")
    for phase in phases:
        print(phase.line())
    worst = max(phases, key=lambda p: p.increase_mib)
    verdict = "OK" if worst.increase_mib < args.limit_mb else "OVER"
    print(f"{verdict}: largest peak RSS increase {worst.increase_mib:.1f} MiB "
          f"({worst.name}); limit {args.limit_mb:.0f} MiB")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
