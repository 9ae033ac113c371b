"""The console's video experience in Debian's Chromium: grid tiles, the player page, the widget's video options.

The player plays `sp_auto` HLS through hls.js when the set-up installed it, with the
video's WebVTT files as subtitle tracks, and falls back to the progressive MP4 (saying why)
when hls.js is missing or the stream fails. Screenshots go to test-artifacts/console/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from darkroom.console import video as console_video
from tests.console.test_browser import browser, live, page, shot, sign_in  # noqa: F401 - fixtures reused
from tests.console.video_samples import CUE_TEXT, HEIGHT, WIDTH, Uploaded, make_clip, upload_clip_and_track
from tests.support import LiveServer

PUBLIC_ID = "console-videos/clip"
PLAYER_PAGE = f"/console/assets/video/upload/{PUBLIC_ID}"

needs_hls_js = pytest.mark.skipif(not console_video.HLS_JS.is_file(), reason="hls.js is not installed (tools/install.sh needs npm)")


@pytest.fixture(scope="module")
def uploaded(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Uploaded:  # noqa: F811
    return upload_clip_and_track(live, tmp_path_factory.mktemp("console-player"), PUBLIC_ID)


@pytest.fixture
def player(page: Any, uploaded: Uploaded) -> Iterator[Any]:  # noqa: F811
    """A signed-in tab, with every darkroom answer recorded as (url, status) on `tab.answers`."""
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)))
    page.answers = answers
    # The console's Content-Security-Policy must let hls.js work (its worker, MediaSource blobs).
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    sign_in(page)
    page.wait_for_selector("#grid", state="attached")
    yield page


def mode(page: Any, expected: str) -> str:
    page.wait_for_selector(f"#player-mode[data-mode={expected}]", timeout=45_000)
    return str(page.inner_text("#player-mode"))


def plays_with_subtitles(page: Any) -> None:
    """The media clock moves and the English track shows its cues."""
    # Asked again while paused with data (a source set after the first call pauses); never awaited.
    keep_playing = """() => { const v = document.getElementById('player-video'); v.muted = true;
        if (v.paused && v.readyState >= 2) v.play().catch(() => {});
        return v.currentTime > 0.5; }"""
    page.wait_for_function(keep_playing, timeout=45_000, polling=250)
    page.wait_for_function(
        "() => { const t = document.getElementById('player-video').textTracks[0]; return t && t.mode === 'showing' && t.cues && t.cues.length === 2; }"
    )
    cues = page.evaluate("() => [...document.getElementById('player-video').textTracks[0].cues].map(c => c.text)")
    assert cues == [CUE_TEXT, f"{CUE_TEXT} again"]
    assert page.get_attribute("#player-video track", "srclang") == "en"


# ---- the library grid -------------------------------------------------------------------


def test_library_tile_of_a_video_opens_its_player(player: Any) -> None:
    tile = f"#grid .tile[data-public-id='{PUBLIC_ID}']"
    player.wait_for_selector(f"{tile} a.video-thumb")
    # A frame or, where darkroom renders none, a placeholder naming the format; never a broken image.
    player.wait_for_function(
        f"""() => {{ const a = document.querySelector("{tile} a.video-thumb");
                    const img = a.querySelector('img');
                    return a.dataset.placeholder === '1' || (img && img.complete && img.naturalWidth > 0); }}"""
    )
    shot(player, "video-01-library-tile")
    player.click(f"{tile} a.video-thumb")
    player.wait_for_url(f"**{PLAYER_PAGE}")
    player.wait_for_selector("#player-video")


def test_grid_thumbnail_is_the_videos_middle_frame_as_a_320_square(player: Any, uploaded: Uploaded) -> None:
    """Needs frames as .jpg from videos (branch `video`)."""
    img = f"#grid .tile[data-public-id='{PUBLIC_ID}'] a.video-thumb img"
    player.wait_for_selector(img)
    player.wait_for_function(f"""() => {{ const i = document.querySelector("{img}"); return i && i.complete && i.naturalWidth > 0; }}""")
    size = player.eval_on_selector(img, "i => [i.naturalWidth, i.naturalHeight]")
    assert size == [320, 320]
    assert [status for url, status in player.answers if url.endswith(f"/{PUBLIC_ID}.jpg")] == [200]


# ---- the player page --------------------------------------------------------------------


@needs_hls_js
def test_player_plays_sp_auto_hls_through_hls_js_with_subtitles(player: Any) -> None:
    """Needs `sp_auto` HLS (branch `streaming`)."""
    player.goto(PLAYER_PAGE)
    text = mode(player, "hls")
    assert "hls.js 1.7.4" in text and "sp_auto" in text, text
    plays_with_subtitles(player)
    assert player.evaluate("() => document.getElementById('player-video').currentSrc").startswith("blob:")  # MediaSource
    assert any("/sp_auto/" in url and url.endswith(f"/{PUBLIC_ID}.m3u8") and status == 200 for url, status in player.answers)
    assert player.evaluate("() => window.cspViolations") == []
    assert player.evaluate("() => performance.getEntriesByType('resource').some(e => e.name.endsWith('/hls.js/hls.worker.js'))")
    shot(player, "video-02-player-hls")


@needs_hls_js
def test_player_retries_while_darkroom_prepares_the_stream(player: Any) -> None:
    """Two 423s (Cloudinary's "being processed") on the manifest, then the real one. Needs branch `streaming`."""
    refusals = {"left": 2}

    def preparing(route: Any) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            route.fulfill(status=423, body="{}", headers={"X-Cld-Error": "Video is being processed"})
        else:
            route.continue_()

    player.route("**/sp_auto/**/*.m3u8", preparing)
    player.goto(PLAYER_PAGE)
    player.wait_for_selector("#player-mode[data-mode=preparing]")
    assert "sp_auto" in mode(player, "hls") and refusals["left"] == 0
    plays_with_subtitles(player)


def test_player_without_hls_js_installed_plays_the_mp4_and_says_so(player: Any) -> None:
    """What a set-up without Node.js gets: the page names no hls.js (console/video.py)."""

    def without_hls_js(route: Any) -> None:
        served = route.fetch()
        body = served.text().replace('data-hls-js="/console/static/vendor/hls.js/hls.esm.js"', 'data-hls-js=""')
        route.fulfill(response=served, body=body)

    player.route(f"**{PLAYER_PAGE}", without_hls_js)
    player.goto(PLAYER_PAGE)
    text = mode(player, "mp4")
    assert "hls.js is not installed" in text, text
    assert player.evaluate("() => document.getElementById('player-video').currentSrc").endswith(f"/{PUBLIC_ID}.mp4")
    plays_with_subtitles(player)
    size = player.evaluate("() => [document.getElementById('player-video').videoWidth, document.getElementById('player-video').videoHeight]")
    assert size == [WIDTH, HEIGHT]
    shot(player, "video-03-player-mp4-no-hls-js")


@needs_hls_js
def test_player_falls_back_to_the_mp4_when_the_stream_fails(player: Any) -> None:
    player.route("**/*.m3u8", lambda route: route.fulfill(status=404, body="gone", headers={"X-Cld-Error": "Resource not found"}))
    player.goto(PLAYER_PAGE)
    text = mode(player, "mp4")
    assert "The HLS stream failed (HTTP 404)" in text, text
    plays_with_subtitles(player)


@needs_hls_js
def test_player_falls_back_to_the_mp4_when_hls_js_does_not_load(player: Any) -> None:
    player.route("**/vendor/hls.js/**", lambda route: route.fulfill(status=404, body="missing"))
    player.goto(PLAYER_PAGE)
    assert "hls.js did not load" in mode(player, "mp4")
    plays_with_subtitles(player)


# ---- the upload widget ------------------------------------------------------------------


def test_widget_with_resource_type_video_offers_video_pickers_and_uploads_to_the_video_endpoint(player: Any, live: LiveServer, tmp_path: Any) -> None:  # noqa: F811
    posted: list[str] = []
    player.on("request", lambda r: posted.append(r.url) if r.method == "POST" and "/v1_1/" in r.url else None)
    player.evaluate(
        """(cloud) => {
            const box = document.createElement('div');
            box.id = 'video-widget';
            document.body.append(box);
            window.videoUploads = [];
            darkroom.createUploadWidget({
                cloudName: cloud, resourceType: 'video', sources: ['local', 'url', 'camera'], folder: 'widget-videos',
                signatureEndpoint: '/console/api/sign',
                signatureHeaders: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
                inlineContainer: '#video-widget', maxVideoFileSize: 50000000,
            }, (error, result) => { if (!error && result.event === 'success') window.videoUploads.push(result.info); }).open();
        }""",
        live.cloud,
    )
    picker = "#video-widget [data-drw=file-input]"
    assert player.get_attribute(picker, "accept") == "video/*,audio/*"
    assert player.get_attribute("#video-widget [data-drw=camera-input]", "accept") == "video/*"
    assert "Max video size: 50.0 MB" in player.inner_text("#video-widget .drw-hint")
    clip = make_clip(tmp_path)
    player.set_input_files(picker, files=[{"name": "holiday.mp4", "mimeType": "video/mp4", "buffer": clip.read_bytes()}])
    player.wait_for_function("() => window.videoUploads.length === 1")
    info = player.evaluate("() => window.videoUploads[0]")
    assert (info["resource_type"], info["width"], info["height"]) == ("video", WIDTH, HEIGHT)
    assert info["public_id"].startswith("widget-videos/")
    assert posted == [f"{live.base_url}/v1_1/{live.cloud}/video/upload"]
    shot(player, "video-04-widget-video")


def test_widget_checks_the_video_size_limit_before_sending(player: Any, live: LiveServer) -> None:  # noqa: F811
    problems = player.evaluate(
        """() => [darkroom._checkFile({maxVideoFileSize: 1000, maxFileSize: 10 ** 9}, 'a.mp4', 5000, 'video/mp4'),
                 darkroom._checkFile({maxVideoFileSize: 1000}, 'a.png', 5000, 'image/png'),
                 darkroom._checkFile({maxImageFileSize: 1000, maxFileSize: 10 ** 9}, 'a.png', 5000, 'image/png')]"""
    )
    assert "too large" in problems[0] and problems[1] is None and "too large" in problems[2]
