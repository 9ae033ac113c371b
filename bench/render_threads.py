"""CPU and wall time of one render in-process, at libvips's thread setting.

    VIPS_CONCURRENCY=1 .venv/bin/python bench/render_threads.py   # one libvips thread per render
    .venv/bin/python bench/render_threads.py                      # libvips's default (cores)

Renders already run side by side in darkroom (one per core in each process), so one libvips
thread per render might cost less CPU; this measures a single render each way. Run both on a
quiet machine, alternating. The renders: `c_fill,w_N,h_300` of bench/transforms.py's 1024×768
PNG (from the decoded-source memory, as delivery renders it) and its 4000×3000 JPEG, to JPEG
and WebP, N varied per render, libvips's operation cache off.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyvips

from darkroom.imaging import RenderRequest, render
from darkroom.transform import parse

SOURCES = Path(__file__).resolve().parent / ".work" / "transforms-sources"
WIDTHS = list(range(200, 1000, 4))


def per_render(path: Path, source_format: str, output: str, key: str | None, count: int) -> tuple[float, float]:
    """Wall and CPU ms per render, after one warm-up."""
    render(RenderRequest(path, parse("c_fill,w_301,h_300"), source_format=source_format, requested_format=output, source_key=key))
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        chain = parse(f"c_fill,w_{WIDTHS[i % len(WIDTHS)]},h_300")
        render(RenderRequest(path, chain, source_format=source_format, requested_format=output, source_key=key))
    return (time.perf_counter() - wall) * 1000 / count, (time.process_time() - cpu) * 1000 / count


def main() -> None:
    if not (SOURCES / "graphic.png").exists():
        raise SystemExit(f"run bench/transforms.py once first: it writes the sources to {SOURCES}")
    pyvips.cache_set_max(0)
    threads = pyvips.concurrency_get()
    cases = [("graphic.png", "png", "graphic@1", 200), ("photo.jpg", "jpg", None, 30)]
    for name, source_format, key, count in cases:
        for output in ("jpg", "webp"):
            wall, cpu = per_render(SOURCES / name, source_format, output, key, count)
            print(f"{name}→{output}  libvips threads {threads}: wall {wall:6.2f} ms  CPU {cpu:6.2f} ms")

if __name__ == "__main__":
    main()
