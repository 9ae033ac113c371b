"""Peak memory of full-size renders of one large photo, as a server sees it.

    .venv/bin/python bench/render_memory.py                 # a 60 MP JPEG (8000×7500)
    .venv/bin/python bench/render_memory.py --megapixels 42

Starts `darkroom serve` with a render budget large enough to admit everything
(DARKROOM_RENDER_MEMORY_MB=4096), uploads a noisy JPEG, then asks for full-size renders
one at a time (a format change, a quality change, an effect) and prints the server's
resident memory before each and its peak (`VmHWM`) after, with bytes per source pixel.
This is where the render budget's 12 bytes a pixel (imaging/memory.py) is checked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cloudinary.uploader
import httpx
import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import configure_sdk, start_server, stop_server, wait_until_healthy  # noqa: E402

RENDERS = ["photo.webp", "q_80/photo.jpg", "e_sepia/photo.jpg"]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=60.0)
    args = parser.parse_args()
    width = 8000
    height = int(args.megapixels * 1_000_000 / width)
    work = Path(tempfile.mkdtemp(prefix="darkroom-render-memory-"))
    photo = work / "photo.jpg"
    noise = pyvips.Image.gaussnoise(width, height).cast("uchar")
    noise.bandjoin([noise, noise]).jpegsave(str(photo), Q=85)
    (work / "data").mkdir()
    server = start_server(work / "data", f"sqlite:///{work / 'data' / 'darkroom.db'}", extra_env={"DARKROOM_RENDER_MEMORY_MB": "4096"})
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        cloudinary.uploader.upload(str(photo), public_id="photo")
        pixels = width * height
        print(f"source {width}x{height} ({pixels / 1e6:.0f} MP)")
        for path in RENDERS:
            before = status_kib(server.process.pid, "VmRSS:")
            response = httpx.get(f"{server.base_url}/{server.cloud}/image/upload/{path}", timeout=300)
            peak = status_kib(server.process.pid, "VmHWM:")
            print(f"{path:22} {response.status_code}  RSS before {before // 1024:5d} MiB  peak so far {peak // 1024:5d} MiB"
                  f"  ({(peak - before) * 1024 / pixels:.1f} bytes a pixel above before)")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
