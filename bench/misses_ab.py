"""PNG misses on two darkroom versions side by side: CPU per miss and req/s, slices alternated.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/misses_ab.py --before /tmp/before/src            # 6 rounds, c=4
    .venv/bin/python bench/misses_ab.py --before /tmp/before/src --clients 1 --formats jpg

Starts two `darkroom serve --workers 2` servers: "before" with `PYTHONPATH=<--before>` (that
checkout's code, this venv's packages) and "after" with this checkout. Each gets four copies of
bench/transforms.py's 1024×768 PNG (uploaded with the official SDK), so a run never repeats a
URL; then both are driven in alternating slices (before, after, before, …) of ≤ 3 s or ≤ 120
requests, `c_fill,w_N,h_300` to each format, so both see the same background load. Prints
one line per server and format (bench/transforms.py's format: req/s, p50, p99, server CPU
per request) and the after ÷ before CPU ratio. The same machinery as bench/transforms.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import transforms as T  # noqa: E402

COPIES = 4  # public IDs per server: 4 × 400 widths, more than a run asks for


def server(stack: contextlib.ExitStack, name: str, env: dict[str, str], source: pathlib.Path, formats: list[str]) -> tuple[T.Server, dict[str, list[str]]]:
    """A started server (stopped with `stack`) holding the copies, and its URLs per format."""
    import cloudinary.uploader

    work = pathlib.Path(tempfile.mkdtemp(prefix=f"ab-{name}-", dir=T.WORK_DIR))
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        process, base = stack.enter_context(T.darkroom(work))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    T.configure_sdk(base)
    for copy in range(COPIES):
        cloudinary.uploader.upload(str(source), public_id=f"g{copy}")
    urls = {fmt: [T.delivery_url(f"g{copy}", width, fmt) for copy in range(COPIES) for width in T.widths(copy % 2, T.WIDTH_BAND)]
            for fmt in formats}
    T.warm(name, [(T.delivery_url(f"g{copy}", 150, fmt), fmt, 150) for copy in range(COPIES) for fmt in formats])
    return T.Server(name, process, base, f"{base}/health"), urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the src/ folder of the other checkout")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clients", type=int, default=T.CONCURRENCY)
    parser.add_argument("--formats", default="jpg,webp")
    args = parser.parse_args()
    formats = args.formats.split(",")
    T.WORK_DIR.mkdir(parents=True, exist_ok=True)
    source = T.synthesize_sources(T.WORK_DIR / "transforms-sources")["graphic"]
    bench = T.Bench(3.0, args.rounds, 1000)
    print(f"{T.machine()}; load average {T.load_average():.2f} at the start")
    try:
        with contextlib.ExitStack() as stack:
            servers = {
                "before": server(stack, "before", {"PYTHONPATH": args.before}, source, formats),
                "after": server(stack, "after", {}, source, formats),
            }
            for _ in range(args.rounds):
                for fmt in formats:
                    for name, (running, urls) in servers.items():
                        key = f"{name}.{fmt}"
                        bench.http(key, f"{name} png→{fmt} c={args.clients}", bench.take(key, urls[fmt], 120), args.clients,
                                   running.process.pid, running.preconnect)
            bench.finish(*[f"{name}.{fmt}" for fmt in formats for name in servers])
    finally:
        bench.close()
    for fmt in formats:
        before, after = bench.results[f"before.{fmt}"], bench.results[f"after.{fmt}"]
        print(f"png→{fmt}: CPU per miss after ÷ before {after.cpu_ms / before.cpu_ms:.2f}, req/s after ÷ before {after.rate / before.rate:.2f}")


if __name__ == "__main__":
    main()
