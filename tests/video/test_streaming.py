"""Adaptive streaming (`sp_…` with `.m3u8` / `.mpd`) through the official SDK and real ffmpeg.

A short clip (640x360, 5 s, with sound) is made with ffmpeg's test sources and uploaded with
the SDK; the SDK builds the streaming URLs; ffmpeg reads the whole ladder back over HTTP.
Segments are encoded on first request, so the first read of a ladder also exercises that.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import imageio_ffmpeg
import pytest

from darkroom import catalog
from darkroom.catalog.cloud_settings import set_cloud_setting
from darkroom.catalog.moderation import HIDE_REJECTED
from support import LiveServer, configure_sdk, make_authenticated, make_bucket, s3_url, start_server, stop_server, wait_until_healthy

SECONDS = 5.0
MPD = "{urn:mpeg:dash:schema:mpd:2011}"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming") / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size=640x360:rate=25:duration={SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}:sample_rate=48000",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                   check=True, timeout=60)
    return path


@pytest.fixture
def uploaded(cld_sqlite: LiveServer, clip: Path) -> Iterator[str]:
    result = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/clip", overwrite=True)
    yield result["public_id"]


def url(public_id: str, **options: object) -> str:
    built: str = cloudinary.utils.cloudinary_url(public_id, resource_type="video", **options)[0]
    return built


def variants(master: str) -> list[tuple[str, str]]:
    """(RESOLUTION, URI) of each variant of an HLS master playlist."""
    lines = master.splitlines()
    return [(re.search(r"RESOLUTION=(\d+x\d+)", line).group(1), lines[i + 1])  # type: ignore[union-attr]
            for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF") and "RESOLUTION=" in line]


def played_seconds(source: str) -> float:
    """How far ffmpeg gets decoding every stream of `source` (over HTTP), in seconds; it must
    not warn (a 404 segment, timestamps going backwards, a wrong content type)."""
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "warning", "-nostdin", "-i", source, "-map", "0", "-f", "null", "-",
                           "-progress", "pipe:1"], capture_output=True, text=True, timeout=120, check=True)
    times = [int(value) for value in re.findall(r"out_time_us=(\d+)", done.stdout)]
    assert times and not done.stderr, done.stderr
    return max(times) / 1e6


def test_sdk_hls_url_gives_a_master_whose_ladder_stops_at_the_source_size(uploaded: str) -> None:
    master_url = url(uploaded, streaming_profile="hd", format="m3u8")
    assert master_url.endswith("/video/upload/sp_hd/v1/streams/clip.m3u8")
    reply = httpx.get(master_url, headers={"Origin": "http://player.test"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert reply.headers["access-control-allow-origin"] == "http://player.test"
    assert reply.text.startswith("#EXTM3U")
    # hd's rungs are 1280x720 … 320x240 (c_limit): nothing above 640x360, no size twice.
    assert [size for size, _ in variants(reply.text)] == ["640x360", "480x270", "320x180"]
    assert 'TYPE=AUDIO' in reply.text and 'CODECS="avc1.' in reply.text


def test_rendition_playlists_and_segments_resolve_through_delivery(uploaded: str) -> None:
    master_url = url(uploaded, streaming_profile="hd", format="m3u8")
    _, first = variants(httpx.get(master_url).text)[0]
    playlist_url = urljoin(master_url, first)
    assert playlist_url.endswith("/sp_hd/v1/streams/clip.m3u8/v0.m3u8")
    playlist = httpx.get(playlist_url, timeout=60)
    assert playlist.status_code == 200 and "#EXT-X-ENDLIST" in playlist.text
    segments = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert len(segments) == 2  # 5 s in 4 s segments
    init_uri = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text).group(1)  # type: ignore[union-attr]
    init = httpx.get(urljoin(playlist_url, init_uri), timeout=60)
    assert init.status_code == 200 and init.content[4:8] == b"ftyp" and b"moov" in init.content
    segment = httpx.get(urljoin(playlist_url, segments[1]), timeout=60)
    assert segment.status_code == 200 and segment.content[4:8] == b"moof"
    assert segment.headers["content-type"] == "video/mp4" and segment.headers["access-control-allow-origin"] == "*"
    ranged = httpx.get(urljoin(playlist_url, segments[1]), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == segment.content[:100]
    assert ranged.headers["content-range"] == f"bytes 0-99/{len(segment.content)}"


def test_ffmpeg_plays_the_whole_hls_ladder_from_the_server(uploaded: str) -> None:
    assert played_seconds(url(uploaded, streaming_profile="sd", format="m3u8")) == pytest.approx(SECONDS, abs=0.3)


def test_upload_reply_playback_url_is_the_sp_auto_ladder(cld_sqlite: LiveServer, clip: Path) -> None:
    result = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/playback", overwrite=True)
    assert result["playback_url"].endswith(f"/video/upload/sp_auto/v{result['version']}/streams/playback.m3u8")
    # https like secure_url (Cloudinary's shape); this test server speaks plain http.
    assert result["playback_url"].startswith("https://")
    assert played_seconds(result["playback_url"].replace("https://", "http://", 1)) == pytest.approx(SECONDS, abs=0.3)


def test_audio_only_file_streams_its_audio_track(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    tone = tmp_path / "tone.mp3"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                    "-c:a", "libmp3lame", "-b:a", "64k", str(tone)], check=True, timeout=60)
    cloudinary.uploader.upload(str(tone), resource_type="video", public_id="streams/tone", overwrite=True)
    master_url = url("streams/tone", streaming_profile="hd", format="m3u8")
    master = httpx.get(master_url).text
    assert 'CODECS="mp4a.40.2"' in master and "RESOLUTION" not in master
    assert played_seconds(master_url) == pytest.approx(3.0, abs=0.3)


def test_dash_manifest_parses_and_ffmpeg_plays_it(uploaded: str) -> None:
    mpd_url = url(uploaded, streaming_profile="sd", format="mpd")
    reply = httpx.get(mpd_url)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/dash+xml")
    root = ET.fromstring(reply.text)
    sets = root.findall(f"{MPD}Period/{MPD}AdaptationSet")
    assert [s.get("contentType") for s in sets] == ["video", "audio"]
    widths = [int(r.get("width", 0)) for r in sets[0].findall(f"{MPD}Representation")]
    assert widths == [640, 480, 320]
    assert played_seconds(mpd_url) == pytest.approx(SECONDS, abs=0.3)


def test_player_url_with_other_components_applies_them_to_every_rendition(uploaded: str) -> None:
    # What Cloudinary's video player asks for, plus a width: every rung is at most 320 wide.
    master_url = url(uploaded, transformation=[{"quality": "auto"}, {"width": 320, "crop": "scale"}], streaming_profile="auto", format="m3u8")
    reply = httpx.get(master_url + "?_s=vp")
    assert reply.status_code == 200, reply.text
    assert [size for size, _ in variants(reply.text)] == ["320x180"]


def test_a_custom_profile_from_the_admin_api_is_followed(uploaded: str) -> None:
    name = "darkroom_tiny"
    try:
        cloudinary.api.delete_streaming_profile(name)
    except cloudinary.exceptions.NotFound:
        pass
    cloudinary.api.create_streaming_profile(name, representations=[
        {"transformation": {"width": 256, "height": 256, "crop": "limit", "bit_rate": "300k"}},
        {"transformation": {"width": 128, "height": 128, "crop": "limit", "bit_rate": "100k"}},
    ])
    master_url = url(uploaded, streaming_profile=name, format="m3u8")
    reply = httpx.get(master_url)
    assert reply.status_code == 200, reply.text
    assert [size for size, _ in variants(reply.text)] == ["256x144", "128x72"]
    assert played_seconds(master_url) == pytest.approx(SECONDS, abs=0.3)


def test_signed_ladder_of_an_authenticated_video(cld_sqlite: LiveServer, clip: Path) -> None:
    cloudinary.uploader.upload(str(clip), resource_type="video", type="authenticated", public_id="streams/secret", overwrite=True)
    signed = url("streams/secret", type="authenticated", sign_url=True, streaming_profile="sd", format="m3u8")
    master = httpx.get(signed)
    assert master.status_code == 200, master.text
    child = urljoin(signed, variants(master.text)[-1][1])
    assert "/s--" in child and httpx.get(child).status_code == 200
    unsigned = url("streams/secret", type="authenticated", streaming_profile="sd", format="m3u8")
    assert httpx.get(unsigned).status_code == 401
    assert httpx.get(urljoin(unsigned, variants(master.text)[-1][1])).status_code == 401


def test_errors_and_preflight_carry_cors(uploaded: str) -> None:
    master_url = url(uploaded, streaming_profile="hd", format="m3u8")
    missing = httpx.get(master_url.replace(".m3u8", ".m3u8/v9.m3u8"))
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"
    assert "x-cld-error" in missing.headers["access-control-expose-headers"].lower()
    unknown = httpx.get(url(uploaded, streaming_profile="no_such_profile", format="m3u8"))
    assert unknown.status_code == 404
    no_profile = httpx.get(url(uploaded, format="m3u8"))
    assert no_profile.status_code == 400 and "streaming profile" in no_profile.headers["x-cld-error"]
    preflight = httpx.options(master_url.replace(".m3u8", ".m3u8/v0/0.m4s"),
                              headers={"Origin": "http://player.test", "Access-Control-Request-Method": "GET",
                                       "Access-Control-Request-Headers": "range"})
    assert preflight.status_code == 204 and "range" in preflight.headers["access-control-allow-headers"].lower()


def test_eager_streaming_profile_prepares_the_ladder(cld_sqlite: LiveServer, clip: Path) -> None:
    result = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/eager", overwrite=True,
                                        eager=[{"streaming_profile": "sd", "format": "m3u8"}])
    [entry] = result["eager"]
    # A ladder is many encodes: the upload answers at once and the eager job prepares it.
    assert (entry["status"], entry["transformation"]) == ("pending", "sp_sd/m3u8")
    assert entry["url"].endswith("/video/upload/sp_sd/v%d/streams/eager.m3u8" % result["version"])
    assert played_seconds(entry["url"]) == pytest.approx(SECONDS, abs=0.3)


def test_ladder_of_a_video_kept_in_s3(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, clip: Path) -> None:
    """Originals and segments in an S3 bucket (moto): the original is copied to local disk
    once and shared by the segment encodes (`media.streaming.SourceCopies`)."""
    bucket = make_bucket(moto_endpoint)
    data_dir = tmp_path_factory.mktemp("s3-streaming")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'd.db'}", extra_env={"DARKROOM_STORAGE_URL": s3_url(moto_endpoint, bucket)})
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/s3", overwrite=True)
        assert played_seconds(url("streams/s3", streaming_profile="sd", format="m3u8")) == pytest.approx(SECONDS, abs=0.3)
        assert played_seconds(url("streams/s3", streaming_profile="sd", format="mpd")) == pytest.approx(SECONDS, abs=0.3)
    finally:
        stop_server(server)
        os.environ.pop("CLOUDINARY_URL", None)
        cloudinary.reset_config()


def test_a_player_asking_again_gets_the_segment_it_was_told_to_wait_for(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> None:
    """With no waiting allowed, a new segment is a 423 "being processed" (CORS-readable); the
    encode goes on, and asking again a little later gets the segment, no manual step."""
    data_dir = tmp_path_factory.mktemp("streaming-no-wait")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'd.db'}", extra_env={"DARKROOM_STREAM_WAIT_SECONDS": "0"})
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/later", overwrite=True)
        segment_url = url("streams/later", streaming_profile="sd", format="m3u8").replace(".m3u8", ".m3u8/v0/1.m4s")
        first = httpx.get(segment_url)
        assert first.status_code == 423 and first.headers["x-cld-error"].startswith("Video is being processed")
        assert first.headers["access-control-allow-origin"] == "*"
        for _ in range(100):  # a player's retries: at most 20 s
            retry = httpx.get(segment_url)
            if retry.status_code != 423:
                break
            time.sleep(0.2)
        assert retry.status_code == 200 and retry.content[4:8] == b"moof"
    finally:
        stop_server(server)
        os.environ.pop("CLOUDINARY_URL", None)
        cloudinary.reset_config()


def test_an_authenticated_or_hidden_upload_never_streams_unsigned(cld_sqlite: LiveServer, clip: Path) -> None:
    """The ladder of an `upload` video obeys the asset as its original does: access_mode
    authenticated needs a signed URL for the master, playlists and segments; a video rejected
    by moderation in a cloud that hides rejected assets is not found."""
    cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/locked", overwrite=True)
    make_authenticated(cld_sqlite, "streams/locked", "video")
    signed = url("streams/locked", sign_url=True, streaming_profile="sd", format="m3u8")
    master = httpx.get(signed)
    assert master.status_code == 200, master.text
    child = urljoin(signed, variants(master.text)[-1][1])
    assert httpx.get(child).status_code == 200
    unsigned = url("streams/locked", streaming_profile="sd", format="m3u8")
    assert httpx.get(unsigned).status_code == 401
    assert httpx.get(url("streams/locked", streaming_profile="sd", format="mpd")).status_code == 401
    assert httpx.get(urljoin(unsigned, variants(master.text)[-1][1])).status_code == 401

    cloudinary.uploader.upload(str(clip), resource_type="video", public_id="streams/rejected", moderation="manual", overwrite=True)
    cloudinary.api.update("streams/rejected", resource_type="video", moderation_status="rejected")
    rejected = url("streams/rejected", streaming_profile="sd", format="m3u8")
    assert httpx.get(rejected).status_code == 200  # Cloudinary's default: rejected assets are still delivered
    engine = catalog.create_engine_for(cld_sqlite.database_url)
    try:
        set_cloud_setting(engine, cld_sqlite.cloud, HIDE_REJECTED, True)
        assert httpx.get(rejected).status_code == 404
    finally:
        set_cloud_setting(engine, cld_sqlite.cloud, HIDE_REJECTED, None)
        engine.dispose()
