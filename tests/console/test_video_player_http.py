"""The console's video pages over HTTP in-process: grid thumbnails, the player page's sources and tracks.

What the browser does with them is in test_video_player_browser.py; here: the URLs are the
ones an app would build with the SDK, and the subtitle tracks follow the documented naming.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import cloudinary.utils
import pytest
import pyvips

from darkroom.console import video as console_video
from tests.support import ffmpeg, lavfi_sources

from .conftest import BASE, Console

VTT = b"WEBVTT\n\n00:00.000 --> 00:01.500\nHello from darkroom\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("player-http") / "clip.mp4"
    ffmpeg(out, *lavfi_sources("160x120", 1), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart")
    return out.read_bytes()


def upload(console: Console, resource_type: str, public_id: str, data: bytes, name: str, **params: str) -> dict[str, Any]:
    """A signed upload to the in-process app with the cloud's key, as the SDK would send it."""
    signed = {"timestamp": str(int(time.time())), "public_id": public_id, **params}
    signature = cloudinary.utils.api_sign_request(signed, "topsecret")
    form = {**signed, "signature": signature, "api_key": console.api_key}
    response = console.client.post(f"/v1_1/{console.cloud}/{resource_type}/upload", data=form, files={"file": (name, data)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def player_data(page: str) -> dict[str, str]:
    tag = re.search(r'<div class="player" id="player"([^>]*)>', page)
    assert tag, page
    return {name: html.unescape(value) for name, value in re.findall(r'data-([a-z0-9-]+)="([^"]*)"', tag.group(1))}


def tracks(page: str) -> list[dict[str, str]]:
    return [
        {name: html.unescape(value) for name, value in re.findall(r'([a-z-]+)="([^"]*)"', tag)}
        for tag in re.findall(r"<track ([^>]*)>", page)
    ]


def test_library_api_gives_videos_a_middle_frame_thumbnail_url(console: Console, clip: bytes) -> None:
    console.sign_in()
    uploaded = upload(console, "video", "clips/dog", clip, "dog.mp4")
    upload(console, "raw", "clips/dog.en.vtt", VTT, "dog.en.vtt")
    listed = {r["public_id"]: r for r in console.client.get("/console/api/resources").json()["resources"]}
    dog = listed["clips/dog"]
    assert dog["thumbnail_url"] == f"{BASE}/{console.cloud}/video/upload/c_fill,h_320,w_320/v{uploaded['version']}/clips/dog.jpg"
    assert "thumbnail_url" not in listed["clips/dog.en.vtt"]


def test_player_page_plays_sp_auto_hls_with_an_mp4_fallback_and_a_poster(console: Console, clip: bytes) -> None:
    console.sign_in()
    version = upload(console, "video", "clips/dog", clip, "dog.mp4")["version"]
    page = console.client.get("/console/assets/video/upload/clips/dog")
    assert page.status_code == 200
    data = player_data(page.text)
    base = f"{BASE}/{console.cloud}/video/upload"
    assert data["hls"] == f"{base}/sp_auto/v{version}/clips/dog.m3u8"
    assert data["mp4"] == f"{base}/v{version}/clips/dog.mp4"
    assert f'poster="{base}/c_limit,h_720,w_1280/v{version}/clips/dog.jpg"' in page.text
    assert '<script type="module" src="/console/static/player.js"></script>' in page.text
    # The page's own policy lets the player fetch segments and attach MediaSource blobs.
    policy = page.headers["content-security-policy"]
    assert "media-src 'self' blob:" in policy and "connect-src 'self'" in policy


def test_player_page_offers_tracks_named_after_the_video_then_chosen_ones(console: Console, clip: bytes) -> None:
    console.sign_in()
    upload(console, "video", "clips/dog", clip, "dog.mp4", context="subtitles=captions/dog-de.vtt,captions/missing.vtt")
    for public_id in ("clips/dog.vtt", "clips/dog.en.vtt", "clips/dog.pt-BR.vtt", "clips/doggo.en.vtt",
                      "clips/dog.outtakes.notes.vtt", "captions/dog-de.vtt", "captions/dog.es.vtt"):
        upload(console, "raw", public_id, VTT, public_id.rsplit("/", 1)[-1])
    page = console.client.get("/console/assets/video/upload/clips/dog?track=captions/dog.es.vtt&track=clips/dog.en.vtt")
    offered = tracks(page.text)
    assert [(t["data-public-id"], t.get("srclang", ""), t["label"]) for t in offered] == [
        ("clips/dog.en.vtt", "en", "en"),
        ("clips/dog.pt-BR.vtt", "pt-BR", "pt-BR"),
        ("clips/dog.vtt", "", "dog.vtt"),
        ("captions/dog-de.vtt", "", "dog-de.vtt"),  # chosen in the video's context (the missing one is skipped)
        ("captions/dog.es.vtt", "es", "es"),  # chosen for this visit; its name gives the language
    ]
    assert all(t["kind"] == "subtitles" for t in offered)
    assert "default" in page.text.split("<track ", 2)[1].split(">", 1)[0]  # the first track shows by default
    raw_id = "clips/dog.en.vtt"
    src = offered[0]["src"]
    assert re.fullmatch(rf"{BASE}/{console.cloud}/raw/upload/v\d+/{re.escape(raw_id)}", src)
    served = console.client.get(src.removeprefix(BASE))
    assert served.status_code == 200 and served.content == VTT
    assert 'id="add-track"' in page.text


def test_video_without_tracks_says_so(console: Console, clip: bytes) -> None:
    console.sign_in()
    upload(console, "video", "lonely", clip, "lonely.mp4")
    page = console.client.get("/console/assets/video/upload/lonely")
    assert tracks(page.text) == [] and 'id="track-list-empty"' in page.text


def test_player_page_names_hls_js_only_when_the_set_up_installed_it(console: Console, clip: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    console.sign_in()
    upload(console, "video", "clips/cat", clip, "cat.mp4")
    installed = console_video.HLS_JS.is_file()
    data = player_data(console.client.get("/console/assets/video/upload/clips/cat").text)
    assert data["hls-js"] == ("/console/static/vendor/hls.js/hls.esm.js" if installed else "")
    if installed:
        script = console.client.get(data["hls-js"])
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # Without hls.js (no npm at set-up) the page names none, and the player falls back to MP4.
    monkeypatch.setattr(console_video, "HLS_JS", tmp_path / "absent.js")
    assert player_data(console.client.get("/console/assets/video/upload/clips/cat").text)["hls-js"] == ""


@pytest.mark.parametrize(
    ("raw_id", "language"),
    [("clips/dog.vtt", ""), ("clips/dog.en.vtt", "en"), ("clips/dog.zh-Hant.vtt", "zh-Hant"), ("clips/dog.EN.VTT", "EN"),
     ("clips/doggo.vtt", None), ("clips/dog.srt", None), ("clips/dog.extra.en.vtt", None), ("other/dog.vtt", None)],
)
def test_track_names_follow_the_documented_convention(raw_id: str, language: str | None) -> None:
    assert console_video.track_language("clips/dog", raw_id) == language


def test_authenticated_assets_are_shown_through_urls_the_server_signed(console: Console, clip: bytes) -> None:
    """An authenticated asset delivers to signed URLs only: the console's URLs for it come
    signed (the secret stays on the server), and each one loads where the unsigned one is refused."""
    console.sign_in()
    picture = pyvips.Image.xyz(64, 48)[0].cast("uchar").pngsave_buffer()
    upload(console, "image", "vault/photo", picture, "photo.png", type="authenticated")
    upload(console, "video", "vault/clip", clip, "clip.mp4", type="authenticated")
    upload(console, "raw", "vault/clip.en.vtt", VTT, "clip.en.vtt", type="authenticated")
    listed = {r["public_id"]: r for r in console.client.get("/console/api/resources?folder=vault").json()["resources"]}
    photo, video = listed["vault/photo"], listed["vault/clip"]
    assert photo["signed"] is video["signed"] is True
    page = console.client.get("/console/assets/video/authenticated/vault/clip").text
    data = player_data(page)
    urls = [photo["delivery_url"], photo["thumbnail_url"], photo["preview_url"], video["thumbnail_url"], data["hls"], data["mp4"], tracks(page)[0]["src"]]
    for url in urls:
        assert "/s--" in url and "topsecret" not in url, url
        served = console.client.get(url.removeprefix(BASE))
        assert served.status_code == 200, (url, served.status_code)
        unsigned = re.sub(r"/s--[A-Za-z0-9_-]+--", "", url)
        assert console.client.get(unsigned.removeprefix(BASE)).status_code == 401, unsigned
    assert "/s--" in re.search(r'poster="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "topsecret" not in page
