"""Video delivery transformations through the official SDK's URLs, checked by probing the results.

Every file is made by ffmpeg at test time (2 s, 320x240) and uploaded with the SDK; each URL
is built by `cloudinary_url(..., resource_type="video")` as an app would, fetched from a
live darkroom, and the bytes are read back with PyAV: duration, size, codecs, pixels.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import cloudinary.uploader
import httpx
import numpy
import pyvips
import pytest

from tests.video.media import probe, video_url

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"


def test_trims_keep_the_seconds_asked_for(clips: dict[str, str], fetch: Any) -> None:
    path, _ = fetch(video_url(clips["clip"], start_offset=0.5, duration=1, format="mp4"))
    assert probe(path).duration == pytest.approx(1.0, abs=0.1)
    path, _ = fetch(video_url(clips["clip"], end_offset="50p", format="mp4"))
    assert probe(path).duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"width": 160}, (160, 120)),
        ({"width": 100, "height": 100, "crop": "fill"}, (100, 100)),
        ({"width": 200, "height": 100, "crop": "pad", "background": "red"}, (200, 100)),
        ({"width": 1000, "crop": "limit"}, (320, 240)),
        ({"aspect_ratio": "1:1", "width": 120, "crop": "fill"}, (120, 120)),
        ({"width": 100, "height": 80, "crop": "crop", "gravity": "south_east"}, (100, 80)),
    ],
)
def test_resize_and_crop_give_the_frame_size(clips: dict[str, str], fetch: Any, options: dict[str, Any], size: tuple[int, int]) -> None:
    path, response = fetch(video_url(clips["clip"], format="mp4", **options))
    probed = probe(path)
    assert (probed.width, probed.height) == size
    assert (probed.video_codec, probed.audio_codec) == ("h264", "aac")
    assert response.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize(
    ("options", "codecs", "content_type"),
    [
        ({"format": "webm"}, ("vp9", "opus"), "video/webm"),
        ({"format": "mp4", "video_codec": "h265"}, ("hevc", "aac"), "video/mp4"),
        ({"format": "mp4", "audio_codec": "none"}, ("h264", None), "video/mp4"),
        ({"format": "mkv", "video_codec": "vp9", "audio_codec": "opus"}, ("vp9", "opus"), "video/x-matroska"),
        ({"format": "mp3"}, (None, "mp3"), "audio/mpeg"),
        ({"format": "m4a"}, (None, "aac"), "audio/mp4"),
        ({"format": "ogv"}, ("theora", "vorbis"), "video/ogg"),
        ({"format": "gif", "width": 80}, ("gif", None), "image/gif"),
    ],
)
def test_format_and_codecs_follow_the_url(
    clips: dict[str, str], fetch: Any, options: dict[str, Any], codecs: tuple[str | None, str | None], content_type: str
) -> None:
    path, response = fetch(video_url(clips["clip"], **options))
    probed = probe(path)
    assert (probed.video_codec, probed.audio_codec) == codecs
    assert response.headers["content-type"] == content_type


def test_h264_profile_and_quality_targets(clips: dict[str, str], fetch: Any) -> None:
    baseline, _ = fetch(video_url(clips["clip"], video_codec={"codec": "h264", "profile": "baseline", "level": "3.1"}, format="mp4"))
    assert probe(baseline).profile in ("Baseline", "Constrained Baseline")
    low, _ = fetch(video_url(clips["clip"], quality="auto:low", format="mp4", audio_codec="none"))
    best, _ = fetch(video_url(clips["clip"], quality="auto:best", format="mp4", audio_codec="none"))
    assert low.stat().st_size < best.stat().st_size
    capped, _ = fetch(video_url(clips["clip"], bit_rate="100k:constant", format="mp4", audio_codec="none"))
    assert capped.stat().st_size < 2 * 100_000 / 8 * 1.5  # 2 s at 100 kb/s, with container overhead


def test_fractional_bit_rates_transcode(clips: dict[str, str], fetch: Any) -> None:
    path, _ = fetch(video_url(clips["clip"], bit_rate="1.5m", width=160, format="mp4"))
    assert (probe(path).video_codec, probe(path).width) == ("h264", 160)


def test_too_many_loops_is_a_400_before_any_ffmpeg(clips: dict[str, str]) -> None:
    url = video_url(clips["clip"], transformation=[{"effect": "loop:100"}] * 64, format="mp4")
    response = httpx.get(url, timeout=30)
    assert response.status_code == 400 and "Too many loops" in response.headers["x-cld-error"]


def test_effects_splice_and_loop_change_the_length(clips: dict[str, str], fetch: Any) -> None:
    looped, _ = fetch(video_url(clips["clip"], effect="loop:1", format="mp4"))
    assert probe(looped).duration == pytest.approx(4.0, abs=0.15)
    faster, _ = fetch(video_url(clips["clip"], effect="accelerate:100", format="mp4"))
    assert probe(faster).duration == pytest.approx(1.0, abs=0.15)
    spliced, _ = fetch(video_url(clips["clip"], overlay="video:delivery:clip", flags="splice", format="mp4"))
    assert probe(spliced).duration == pytest.approx(4.0, abs=0.15)
    boomerang, _ = fetch(video_url(clips["clip"], transformation=[{"start_offset": 0, "duration": 1}, {"effect": "boomerang"}], format="mp4"))
    assert probe(boomerang).duration == pytest.approx(2.0, abs=0.15)


def _frame_at(path: Path, seconds: float) -> numpy.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("no frame")


def test_burned_subtitles_and_text_overlays_change_pixels(clips: dict[str, str], fetch: Any) -> None:
    plain, _ = fetch(video_url(clips["clip"], format="mp4"))
    subtitled, _ = fetch(
        video_url(clips["clip"], overlay={"resource_type": "subtitles", "public_id": clips["subtitles"], "font_family": "Arial", "font_size": 30},
                  color="yellow", format="mp4")
    )
    texted, _ = fetch(video_url(clips["clip"], overlay={"font_family": "Arial", "font_size": 40, "text": "Darkroom"}, gravity="north",
                                start_offset=0.5, format="mp4"))
    before, burned, text = (_frame_at(path, 1.0).astype(int) for path in (plain, subtitled, texted))
    # Subtitles sit at the bottom of the picture: the lower third changes, in yellow.
    lower = numpy.abs(burned[160:] - before[160:]).sum(axis=2)
    assert (lower > 120).mean() > 0.005
    assert numpy.abs(text[:80] - before[:80]).sum(axis=2).max() > 120


def test_image_extension_is_a_frame_with_image_transformations(clips: dict[str, str], fetch: Any) -> None:
    middle, response = fetch(video_url(clips["clip"], format="jpg"))
    assert response.headers["content-type"] == "image/jpeg"
    assert (pyvips.Image.new_from_file(str(middle)).width, pyvips.Image.new_from_file(str(middle)).height) == (320, 240)
    small, response = fetch(video_url(clips["clip"], start_offset=0.2, width=100, crop="scale", format="png"))
    image = pyvips.Image.new_from_file(str(small))
    assert (response.headers["content-type"], image.width, image.height) == ("image/png", 100, 75)
    first, _ = fetch(video_url(clips["clip"], start_offset=0, format="jpg"))
    assert first.read_bytes() != middle.read_bytes()  # testsrc moves: another second, another picture


def test_sprite_vtt_indexes_thumbnails_of_its_image(clips: dict[str, str], fetch: Any) -> None:
    url = video_url(clips["clip"], transformation=[{"quality": "auto"}, {"flags": "sprite"}], format="vtt")
    index, response = fetch(url)
    assert response.headers["content-type"].startswith("text/vtt")
    lines = index.read_text().splitlines()
    assert lines[0] == "WEBVTT"
    cues = [(lines[i], lines[i + 1]) for i, line in enumerate(lines) if "-->" in line]
    assert cues == [
        ("00:00:00.000 --> 00:00:01.000", "clip.jpg#xywh=0,0,160,120"),
        ("00:00:01.000 --> 00:00:02.000", "clip.jpg#xywh=160,0,160,120"),
    ]
    sheet, response = fetch(str(httpx.URL(url).join("clip.jpg")))
    assert response.headers["content-type"] == "image/jpeg"
    image = pyvips.Image.new_from_file(str(sheet))
    assert (image.width, image.height) == (320, 120)


def test_range_on_a_video_derivative(clips: dict[str, str], fetch: Any) -> None:
    url = video_url(clips["clip"], width=160, format="mp4")
    whole, response = fetch(url)
    assert response.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{whole.stat().st_size}"
    assert part.content == whole.read_bytes()[100:200]
    assert httpx.get(url, headers={"Range": f"bytes={whole.stat().st_size}-"}).status_code == 416
    _, download = fetch(video_url(clips["clip"], width=160, flags="attachment:my_clip", format="mp4"))
    assert download.headers["content-disposition"].startswith("attachment") and "my_clip.mp4" in download.headers["content-disposition"]


def test_f_auto_video_picks_by_browser_and_head_answers_the_type(clips: dict[str, str], fetch: Any) -> None:
    url = video_url(clips["clip"], transformation=[{"quality": "auto"}, {"fetch_format": "auto:video"}])
    head = httpx.head(url, headers={"User-Agent": CHROME})
    assert (head.status_code, head.headers["content-type"]) == (200, "video/webm")
    assert head.headers["vary"] == "Accept, User-Agent"
    assert head.headers["access-control-allow-origin"] == "*"
    path, response = fetch(url, **{"User-Agent": CHROME})
    assert (response.headers["content-type"], probe(path).video_codec) == ("video/webm", "vp9")
    assert httpx.head(url, headers={"User-Agent": CHROME}).headers["content-length"] == str(path.stat().st_size)
    assert httpx.head(url, headers={"User-Agent": SAFARI}).headers["content-type"] == "video/mp4"
    path, response = fetch(url, **{"User-Agent": "curl/8.0"})
    assert (response.headers["content-type"], probe(path).video_codec) == ("video/mp4", "h264")


def test_audio_only_sources_transcode_and_have_no_frames(clips: dict[str, str], fetch: Any) -> None:
    path, response = fetch(video_url(clips["tone"], format="m4a"))
    probed = probe(path)
    assert (probed.video_codec, probed.audio_codec, response.headers["content-type"]) == (None, "aac", "audio/mp4")
    assert probed.duration == pytest.approx(1.0, abs=0.1)
    path, _ = fetch(video_url(clips["tone"], format="ogg", duration=0.5))
    assert probe(path).audio_codec == "vorbis" and probe(path).duration == pytest.approx(0.5, abs=0.1)
    refused = httpx.get(video_url(clips["tone"], format="jpg"))
    assert refused.status_code == 400 and "audio" in refused.headers["x-cld-error"]
    wave, response = fetch(video_url(clips["tone"], flags="waveform", width=400, height=100, color="red", background="white", format="png"))
    picture = pyvips.Image.new_from_file(str(wave))
    assert (response.headers["content-type"], picture.width, picture.height) == ("image/png", 400, 100)
    pixels = numpy.ndarray(buffer=picture.write_to_memory(), dtype=numpy.uint8, shape=(100, 400, picture.bands))
    reds = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 80)
    assert 0.05 < reds.mean() < 0.95  # a 440 Hz tone: a red band on white


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"effect": "sepia", "format": "mp4"}, "e_sepia"),
        ({"video_codec": "prores", "format": "mp4"}, "prores"),
        ({"format": "webm", "video_codec": "h264"}, "h264"),
        ({"start_offset": 5, "format": "mp4"}, "past the end"),
        ({"overlay": "video:missing", "flags": "splice", "format": "mp4"}, "missing"),
    ],
)
def test_what_cannot_be_made_is_a_400_naming_it(clips: dict[str, str], options: dict[str, Any], named: str) -> None:
    response = httpx.get(video_url(clips["clip"], **options), headers={"Origin": "http://player.example"})
    assert response.status_code == 400
    assert named in response.headers["x-cld-error"]
    # A player on another origin reads the reason (Cloudinary's player shows it).
    assert response.headers["access-control-allow-origin"] == "http://player.example"
    assert "X-Cld-Error" in response.headers["access-control-expose-headers"]


def test_original_and_derivative_urls_of_the_same_format(clips: dict[str, str], fetch: Any) -> None:
    original, response = fetch(video_url(clips["clip"], format="mp4"))
    assert response.headers["content-type"] == "video/mp4"
    again, second = fetch(video_url(clips["clip"], format="mp4", width=160))
    cached, third = fetch(video_url(clips["clip"], format="mp4", width=160))
    assert second.headers["etag"] == third.headers["etag"] and again.read_bytes() == cached.read_bytes()


def test_eager_video_transformations_are_deferred_to_a_job(clips: dict[str, str], fetch: Any) -> None:
    # Without eager_async too: a transcode may take minutes, so the upload answers at once.
    result = cloudinary.uploader.upload(
        clips["clip_file"], resource_type="video", public_id="delivery/eager", eager=[{"width": 160, "crop": "scale", "format": "webm"}]
    )
    (eager,) = result["eager"]
    assert (eager["status"], eager["transformation"]) == ("pending", "c_scale,w_160/webm") and eager["batch_id"]
    path, _ = fetch(eager["url"])  # the job's render, or joined while it runs
    assert (probe(path).video_codec, probe(path).width) == ("vp9", 160)


def test_concurrent_requests_for_a_new_variant_share_one_render(clips: dict[str, str]) -> None:
    url = video_url(clips["clip"], width=96, format="mp4")
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: httpx.get(url, timeout=60), range(4)))
    assert {response.status_code for response in responses} == {200}
    assert len({response.headers["etag"] for response in responses}) == 1
    assert len({response.content for response in responses}) == 1
