"""Hostile media within the limits, rendered at once, against a server with the default
render memory budget (DARKROOM_RENDER_MEMORY_MB): every request is answered — a 2xx, or a
400 saying the image is too large to transform — and the server's peak resident memory
(the kernel's VmHWM) stays under its resident memory before the renders plus the budget.

Before the budget, the 1,000-frame GIF at `w_100` alone took 2.5 GB in one render.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import LiveServer, own_sqlite_server

from tests.security import hostile
from tests.security.conftest import Attacker, assert_refused

MIB = 1024 * 1024
DEFAULT_BUDGET_MIB = 512  # config: DARKROOM_RENDER_MEMORY_MB
REQUEST_TIMEOUT = 120.0  # a queued render waits for others; no answer within this is a hang

# (public ID, builder): each within the 100-megapixel limit, each a multiplier when decoded.
SOURCES = {
    "mem/frames": lambda: hostile.gif_many_frames(300, 300, 1000),  # 23 KB, 360 MB of frames
    "mem/canvas": lambda: hostile.svg_sized(9000, 9000),  # 200 bytes, 81 megapixels
    "mem/zeros": lambda: hostile.png_bomb(9000, 9000),  # 80 KB, 81 megapixels
    "mem/square": lambda: hostile.png_bomb(5000, 5000),  # 25 megapixels: full-size renders fit one at a time
}
RENDERS = [
    "w_100/mem/frames.gif", "w_90,h_60,c_fill/mem/frames.gif", "pg_3,w_200/mem/frames.png", "e_sepia/mem/frames.gif",
    "w_1900/mem/canvas.png", "e_sepia/mem/canvas.png", "c_fill,w_800,h_600/mem/canvas.jpg",
    "w_300/mem/zeros.jpg", "e_sepia/mem/zeros.png", "w_2000,h_1000,c_pad/mem/zeros.jpg",
    "e_sepia/mem/square.jpg", "e_grayscale/mem/square.png", "a_90/mem/square.jpg", "w_4000,e_blur:300/mem/square.jpg",
]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture(scope="module")
def default_budget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own (its memory is the subject), with every memory setting at its default."""
    yield from own_sqlite_server(tmp_path_factory, "darkroom-memory")


def test_hostile_renders_at_once_stay_within_the_budget(default_budget_server: LiveServer) -> None:
    attacker = Attacker(default_budget_server)
    for public_id, build in SOURCES.items():
        uploaded = attacker.upload(build(), public_id=public_id)
        assert uploaded.status_code == 200, uploaded.text
    pid = default_budget_server.process.pid
    baseline_kib = status_kib(pid, "VmRSS:")

    def deliver(path: str) -> httpx.Response:
        return httpx.get(f"{default_budget_server.base_url}/{default_budget_server.cloud}/image/upload/{path}", timeout=REQUEST_TIMEOUT)

    with ThreadPoolExecutor(max_workers=len(RENDERS)) as pool:
        answers = dict(zip(RENDERS, pool.map(deliver, RENDERS)))

    for path, answer in answers.items():
        if answer.status_code != 200:
            assert "too large" in assert_refused(answer).lower(), path
    rendered = [path for path, answer in answers.items() if answer.status_code == 200]
    # The streamed renders of the amplifiers are not refused: only full-size ones can be.
    assert {"w_100/mem/frames.gif", "w_1900/mem/canvas.png", "w_300/mem/zeros.jpg", "e_sepia/mem/square.jpg"} <= set(rendered)
    refused = set(answers) - set(rendered)
    assert {"e_sepia/mem/frames.gif", "e_sepia/mem/canvas.png", "e_sepia/mem/zeros.png"} <= refused
    peak_kib = status_kib(pid, "VmHWM:")
    assert peak_kib < baseline_kib + DEFAULT_BUDGET_MIB * 1024, f"peak {peak_kib // 1024} MiB, {baseline_kib // 1024} MiB before the renders"
