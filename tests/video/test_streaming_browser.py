"""HLS in hls.js and DASH in dash.js, in Debian's Chromium, from a page on another origin.

The page is served by a second local server (another port, so another origin): the players
read darkroom's manifests and segments across origins, so CORS is exercised for real. The
players come from tests/node (npm `hls.js`, `dashjs`); nothing is fetched from the internet.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudinary.uploader
import cloudinary.utils
import imageio_ffmpeg
import pytest

from support import CHROMIUM, CHROMIUM_ARGS, Answer, LiveServer, web_origin

playwright_sync = pytest.importorskip("playwright.sync_api")

NODE_MODULES = Path(__file__).resolve().parents[1] / "node" / "node_modules"
PLAYERS = {"hls": NODE_MODULES / "hls.js" / "dist" / "hls.min.js", "dash": NODE_MODULES / "dashjs" / "dist" / "modern" / "umd" / "dash.all.min.js"}

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not all(path.exists() for path in PLAYERS.values()), reason="run `npm install` in tests/node (hls.js, dashjs)"),
]

PAGE = """<!doctype html><meta charset="utf-8"><video muted playsinline width="320"></video>
<script src="/player.js"></script>
<script>
const video = document.querySelector("video");
window.failure = null;
function play(kind, src) {
  if (kind === "hls") {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) window.failure = data.details; });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else {
    const player = dashjs.MediaPlayer().create();
    player.on("error", (event) => { window.failure = JSON.stringify(event.error || event); });
    player.initialize(video, src, false);
  }
  video.play();
}
</script>"""


@pytest.fixture(scope="module")
def clip_id(sqlite_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from support import configure_sdk

    path = tmp_path_factory.mktemp("browser-clip") / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=5",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=5:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=60)
    configure_sdk(sqlite_server)
    yield cloudinary.uploader.upload(str(path), resource_type="video", public_id="streams/browser", overwrite=True)["public_id"]


def page_answer(kind: str) -> Answer:
    """The player's own origin: the page and the player script, nothing else."""
    files = {"/": (PAGE.encode(), "text/html"), "/player.js": (PLAYERS[kind].read_bytes(), "text/javascript")}

    def answer(_method: str, target: str, _body: bytes) -> tuple[int, str, bytes]:
        body, kind_of = files.get(target.split("?")[0], (b"", ""))
        return 200 if body else 404, kind_of or "text/plain", body

    return answer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.mark.parametrize(("kind", "fmt"), [("hls", "m3u8"), ("dash", "mpd")])
def test_player_on_another_origin_plays_the_ladder(browser: Any, sqlite_server: LiveServer, clip_id: str, kind: str, fmt: str) -> None:
    source = cloudinary.utils.cloudinary_url(clip_id, resource_type="video", transformation=[{"quality": "auto"}],
                                             streaming_profile="auto", format=fmt)[0] + "?_s=vp"
    with web_origin(page_answer(kind)) as origin:
        context = browser.new_context()
        try:
            tab = context.new_page()
            outside: list[str] = []
            tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith((origin, sqlite_server.base_url, "blob:", "data:")) else None)
            tab.goto(origin + "/")
            if not tab.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.64001e\"')"):
                pytest.skip("this Chromium has no H.264 in Media Source Extensions")
            tab.evaluate("([kind, src]) => play(kind, src)", [kind, source])
            # Past the first segment (2 s) into the second: both were fetched, decoded and played.
            tab.wait_for_function("window.failure !== null || document.querySelector('video').currentTime > 2.5", timeout=60_000)
            state = tab.evaluate("({failure: window.failure, time: document.querySelector('video').currentTime,"
                                 " width: document.querySelector('video').videoWidth})")
            assert state["failure"] is None, state
            assert state["time"] > 2.5 and state["width"] in (320, 480, 640), state
            assert outside == []
        finally:
            context.close()
