"""Cloudinary's own video player, pointed at darkroom, in Debian's Chromium.

The npm package `cloudinary-video-player` in two versions (tests/node/package.json): the
current 4.x, and 1.11.1, which next-cloudinary's `CldVideoPlayer` loads. Both are
configured the way an app points them at darkroom, with the top-level keys `cloud_name`,
`secure: false`, `cname: "127.0.0.1:PORT"` and `private_cdn: false`.

The app's page lives on its own origin (a small server here that also serves the player's
files from node_modules: no CDN). Every request the page makes is recorded; anything not on
127.0.0.1 is blocked and fails the test, so the players run on darkroom alone.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.console.test_browser import ARTIFACTS, browser, live  # noqa: F401 - fixtures reused
from tests.console.video_samples import CUE_TEXT, HEIGHT, WIDTH, Uploaded, upload_clip_and_track
from tests.support import LiveServer, web_origin

playwright_sync = pytest.importorskip("playwright.sync_api")

NODE_MODULES = Path(__file__).resolve().parents[1] / "node" / "node_modules"
# version -> (package folder, script, stylesheet): 4.x as its README loads it, 1.11.1 as next-cloudinary does.
PLAYERS = {
    "4": ("cloudinary-video-player", "player.min.js", "player.min.css"),
    "1.11.1": ("cloudinary-video-player-1", "cld-video-player.min.js", "cld-video-player.min.css"),
}
PUBLIC_ID = "players/clip"
PLAY_SECONDS = 0.5  # how far playback must get to count as playing
PLAY_TIMEOUT_MS = 45_000  # a busy 2-core machine encodes a ladder's first segments on demand

pytestmark = pytest.mark.skipif(
    not all((NODE_MODULES / folder / "dist" / script).is_file() for folder, script, _ in PLAYERS.values()),
    reason="the player packages are not installed (tools/install.sh test runs npm ci in tests/node)",
)

APP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>An app with Cloudinary's player {version}</title>
<link rel="stylesheet" href="/cvp/{version}/{css}">
<script src="/cvp/{version}/{script}"></script>
</head><body style="margin:0">
<div style="width:{width}px"><video id="player" class="cld-video-player" controls muted playsinline></video></div>
<script>
  window.playerErrors = [];
  // Options and source as an app would pass them; 4.x answers a proxy that resolves to the player.
  window.startPlayer = async (options, publicId, sourceOptions) => {{
    const player = await Promise.resolve(cloudinary.videoPlayer("player", options));
    player.on("error", () => window.playerErrors.push(JSON.stringify(player.videojs.error())));
    if (sourceOptions) player.source(publicId, sourceOptions);  // else `publicId` is among the options
    window.player = player;
    return true;
  }};
  // The player's text tracks as video.js keeps them (it may render them itself, not the browser).
  window.playerTracks = () => {{
    const list = window.player.videojs.textTracks(), tracks = [];
    for (let i = 0; i < list.length; i++) if (list[i].kind !== "metadata") tracks.push(list[i]);
    return tracks;
  }};
</script></body></html>"""


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploaded(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Uploaded:  # noqa: F811
    return upload_clip_and_track(live, tmp_path_factory.mktemp("cloudinary-player"), PUBLIC_ID)


@pytest.fixture(scope="module")
def app_origin() -> Iterator[str]:
    """The app's own origin: its page per player version, and the player's files from node_modules."""

    def answer(_method: str, target: str, _body: bytes) -> tuple[int, str, bytes]:
        parts = unquote(urlsplit(target).path).strip("/").split("/")
        if len(parts) == 2 and parts[0] == "page" and parts[1] in PLAYERS:
            _, script, css = PLAYERS[parts[1]]
            return 200, "text/html; charset=utf-8", APP_PAGE.format(version=parts[1], script=script, css=css, width=WIDTH).encode()
        if len(parts) == 3 and parts[0] == "cvp" and parts[1] in PLAYERS and "/" not in parts[2] and not parts[2].startswith("."):
            path = NODE_MODULES / PLAYERS[parts[1]][0] / "dist" / parts[2]
            if path.is_file():
                return 200, mimetypes.guess_type(path.name)[0] or "application/octet-stream", path.read_bytes()
        return 404, "text/plain", b"not here"

    with web_origin(answer) as origin:
        yield origin


class Recorded:
    """Every request the page made (URL, method) and every answer from darkroom (URL, status, content type)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.blocked: list[str] = []
        self.responses: list[tuple[str, int, str]] = []

    def answered(self, fragment: str) -> list[tuple[str, int, str]]:
        return [r for r in self.responses if fragment in r[0]]


@pytest.fixture
def app_page(browser: Any, app_origin: str) -> Iterator[tuple[Any, Recorded]]:  # noqa: F811
    context = browser.new_context(viewport={"width": WIDTH + 40, "height": HEIGHT + 200})
    tab = context.new_page()
    tab.set_default_timeout(PLAY_TIMEOUT_MS)
    recorded = Recorded()

    def gate(route: Any) -> None:
        url = route.request.url
        recorded.requests.append((url, route.request.method))
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            recorded.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", gate)
    tab.on("response", lambda r: recorded.responses.append((r.url, r.status, r.headers.get("content-type", ""))))
    yield tab, recorded
    context.close()
    assert recorded.blocked == [], f"the player tried to leave 127.0.0.1: {recorded.blocked}"


def start(page: Any, app_origin: str, live: LiveServer, version: str, source: dict[str, Any], **options: Any) -> None:  # noqa: F811
    """Open the app's page and start the player with darkroom's address, as an app would."""
    page.goto(f"{app_origin}/page/{version}")
    config = {
        "cloud_name": live.cloud, "secure": False, "cname": live.host, "private_cdn": False,
        # Usage reports go to Cloudinary's own hosts, and the default font ("Inter") comes from
        # Google Fonts: an app on darkroom alone turns the reports off and uses its page's font.
        "analytics": False, "allowUsageReport": False, "cloudinaryAnalytics": False, "fontFace": "inherit",
        **options,
    }
    page.evaluate("([config, id, source]) => startPlayer(config, id, source)", [config, PUBLIC_ID, source])


def media(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const v = document.querySelector('video');
                   const buffered = [...Array(v.buffered.length).keys()].map(i => [v.buffered.start(i), v.buffered.end(i)]);
                   return {src: v.currentSrc, time: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                           ready: v.readyState, paused: v.paused, buffered, error: v.error && v.error.code,
                           errors: window.playerErrors}; }"""
    )  # type: ignore[no-any-return]


def play_until(page: Any, recorded: Recorded, seconds: float = PLAY_SECONDS) -> dict[str, Any]:
    """Play (muted, so no gesture is needed) until the media clock passes `seconds`.

    `play()` is asked again while the element sits paused with data: a player that sets its
    source after the first call loads afresh, which pauses. Never awaited: a source that
    does not load leaves the promise pending.
    """
    keep_playing = f"""() => {{ const v = document.querySelector('video');
        if (v.paused && v.readyState >= 2) v.play().catch(() => {{}});
        return v.currentTime > {seconds}; }}"""
    try:
        page.wait_for_function(keep_playing, timeout=PLAY_TIMEOUT_MS, polling=250)
    except playwright_sync.TimeoutError:
        darkroom = [(url, status) for url, status, _ in recorded.responses if "/cvp/" not in url and "/page/" not in url]
        raise AssertionError(f"did not play: {media(page)}; darkroom answered {darkroom}") from None
    return media(page)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"cloudinary-player-{name}.png"))


versions = pytest.mark.parametrize("version", list(PLAYERS))


# ---- tests ------------------------------------------------------------------------------


def test_debian_chromium_plays_h264_and_aac_in_mp4(browser: Any) -> None:  # noqa: F811
    """The players below ask for H.264/AAC MP4: Debian builds Chromium with those codecs."""
    tab = browser.new_page()
    try:
        support = tab.evaluate(
            """() => { const v = document.createElement('video');
                       return [v.canPlayType('video/mp4; codecs="avc1.42E01E, mp4a.40.2"'),
                               MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f, mp4a.40.2"')]; }"""
        )
    finally:
        tab.close()
    assert support == ["probably", True]


@versions
def test_plays_a_progressive_mp4(app_page: tuple[Any, Recorded], app_origin: str, live: LiveServer, uploaded: Uploaded, version: str) -> None:  # noqa: F811
    page, recorded = app_page
    start(page, app_origin, live, version, {"sourceTypes": ["mp4"]})
    state = play_until(page, recorded)
    assert (state["width"], state["height"]) == (WIDTH, HEIGHT)
    assert f"{live.base_url}/{live.cloud}/video/upload/" in state["src"] and state["src"].split("?")[0].endswith(f"/{PUBLIC_ID}.mp4")
    shot(page, f"{version}-mp4")


@versions
def test_shows_a_vtt_text_track_with_cues(app_page: tuple[Any, Recorded], app_origin: str, live: LiveServer, uploaded: Uploaded, version: str) -> None:  # noqa: F811
    page, recorded = app_page
    vtt_url = uploaded.track["url"]
    start(page, app_origin, live, version, {
        "sourceTypes": ["mp4"],
        "textTracks": {"captions": {"label": "English", "language": "en", "default": True, "url": vtt_url}},
    })
    play_until(page, recorded)
    tracks = "playerTracks()"
    try:
        page.wait_for_function(f"() => {tracks}.some(t => t.mode === 'showing' && t.cues && t.cues.length > 0)")
    except playwright_sync.TimeoutError:
        state = page.evaluate(f"() => {tracks}.map(t => [t.kind, t.label, t.mode, t.cues && t.cues.length])")
        raise AssertionError(f"no cues: {state}, {recorded.answered(vtt_url)}") from None
    cues = page.evaluate(
        f"() => {tracks}.filter(t => t.mode === 'showing').flatMap(t => Array.from({{length: t.cues.length}}, (_, i) => t.cues[i].text))"
    )
    assert cues[:2] == [CUE_TEXT, f"{CUE_TEXT} again"]
    page.wait_for_selector(f".vjs-text-track-display :text('{CUE_TEXT}')")
    assert any(status == 200 for _, status, _ in recorded.answered(vtt_url))
    shot(page, f"{version}-captions")


@versions
def test_plays_an_sp_auto_hls_source_and_its_poster(app_page: tuple[Any, Recorded], app_origin: str, live: LiveServer, uploaded: Uploaded, version: str) -> None:  # noqa: F811
    """Needs `sp_auto` .m3u8 (branch `streaming`) and frames as .jpg (branch `video`)."""
    page, recorded = app_page
    # With posterOptions both versions ask darkroom for a frame (.jpg); without, 4.x asks its applet service.
    start(page, app_origin, live, version, {"sourceTypes": ["hls"], "posterOptions": {"transformation": {"width": 300, "crop": "limit"}}})
    play_until(page, recorded, 1.0)  # past the first segment boundary on a 1 s ladder as on a 2 s one
    manifests = recorded.answered(f"/sp_auto/v1/{PUBLIC_ID}.m3u8")
    assert manifests and manifests[0][1] == 200, recorded.responses
    posters = [r for r in recorded.responses if f"/{live.cloud}/video/upload/" in r[0] and urlsplit(r[0]).path.endswith(f"/{PUBLIC_ID}.jpg")]
    assert posters and all(status == 200 and kind == "image/jpeg" for _, status, kind in posters), recorded.responses
    shown = page.evaluate("() => { const p = document.querySelector('.vjs-poster img'); return p ? p.naturalWidth : -1; }")
    assert shown != 0, "the poster image did not decode"
    shot(page, f"{version}-hls")


@versions
def test_plays_a_width_320_transformation_at_320_wide(app_page: tuple[Any, Recorded], app_origin: str, live: LiveServer, uploaded: Uploaded, version: str) -> None:  # noqa: F811
    """Needs transformed video delivery (branch `video`)."""
    page, recorded = app_page
    start(page, app_origin, live, version, {"sourceTypes": ["mp4"], "transformation": {"width": 320, "crop": "scale"}})
    state = play_until(page, recorded)
    assert "/c_scale,w_320/" in state["src"], state
    assert (state["width"], state["height"]) == (320, 180)


def test_next_cloudinary_player_with_quality_and_format_auto(app_page: tuple[Any, Recorded], app_origin: str, live: LiveServer, uploaded: Uploaded) -> None:  # noqa: F811
    """The seed's `<CldVideoPlayer src=… transformation={{quality: "auto", fetch_format: "auto"}}>`: the
    options next-cloudinary gives player 1.11.1 (its `{quality: "auto"}` first), default source types,
    plus the `cname`/`secure` props that point it at darkroom.

    Needs `q_auto` and `f_auto` for video with a HEAD that answers the real Content-Type (branch `video`).
    """
    page, recorded = app_page
    next_cloudinary = {
        "autoplayMode": "never", "autoPlay": False, "controls": True, "fontFace": "", "loop": False, "muted": True,
        "publicId": PUBLIC_ID, "transformation": [{"quality": "auto"}, {"quality": "auto", "fetch_format": "auto"}],
        "showLogo": True,
    }
    page.goto(f"{app_origin}/page/1.11.1")
    config = {"cloud_name": live.cloud, "secure": False, "cname": live.host, "private_cdn": False,
              "analytics": False, "allowUsageReport": False, "cloudinaryAnalytics": False, **next_cloudinary}
    page.evaluate("([config, id]) => startPlayer(config, id, null)", [config, PUBLIC_ID])
    state = play_until(page, recorded)
    heads = [url for url, method in recorded.requests if method == "HEAD" and "/video/upload/" in url]
    assert heads and "f_auto" in heads[0], recorded.requests
    assert state["width"] == WIDTH and json.dumps(state["errors"]) == "[]"
    shot(page, "next-cloudinary-auto")
