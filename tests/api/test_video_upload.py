"""Video and audio uploads through the official SDK: the fields Cloudinary returns, on both databases.

Sample files are made at test time with the ffmpeg that imageio-ffmpeg ships (test sources,
a second or two each), so the tests check what a real encoder writes.
"""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import httpx
import pytest
from cloudinary.exceptions import BadRequest

from support import LiveServer, ffmpeg, lavfi_sources

VIDEO_FIELDS = {"duration", "frame_rate", "bit_rate", "video", "audio", "is_audio", "rotation", "nb_frames", "width", "height", "format"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("video-samples")
    mp4 = ffmpeg(folder / "clip.mp4", *lavfi_sources(), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-shortest")
    return {
        "mp4": mp4,
        "webm": ffmpeg(folder / "clip.webm", *lavfi_sources(seconds=1), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                       "-c:a", "libopus", "-shortest"),
        # The display matrix a phone writes for a portrait recording (FFmpeg's angle is counter-clockwise).
        "rotated": ffmpeg(folder / "rotated.mp4", "-display_rotation", "-90", "-i", str(mp4), "-c", "copy"),
        "mp3": ffmpeg(folder / "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "libmp3lame", "-b:a", "64k"),
        # Several MB of barely compressible video, for upload_large's chunks.
        "large": ffmpeg(folder / "large.mp4", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
                        "-vf", "noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10"),
    }


def test_mp4_upload_returns_cloudinarys_video_fields(cld: LiveServer, samples: dict[str, Path]) -> None:
    result = cloudinary.uploader.upload(str(samples["mp4"]), resource_type="video", public_id="videos/clip")
    assert VIDEO_FIELDS <= result.keys()
    assert (result["resource_type"], result["format"], result["width"], result["height"]) == ("video", "mp4", 320, 240)
    assert result["duration"] == pytest.approx(2.0, abs=0.1)
    assert result["frame_rate"] == 25 and isinstance(result["frame_rate"], int)
    assert isinstance(result["bit_rate"], int) and result["bit_rate"] > 0
    assert (result["is_audio"], result["rotation"], result["nb_frames"], result["pages"]) == (False, 0, 50, 0)
    video = result["video"]
    assert (video["codec"], video["pix_format"], video["profile"], video["time_base"], video["dar"]) == ("h264", "yuv420p", "High", "1/12800", "4:3")
    assert isinstance(video["level"], int) and video["level"] > 0
    assert isinstance(video["bit_rate"], str) and int(video["bit_rate"]) > 0
    audio = result["audio"]
    assert (audio["codec"], audio["frequency"], audio["channels"], audio["channel_layout"]) == ("aac", 48000, 2, "stereo")
    assert isinstance(audio["bit_rate"], str) and int(audio["bit_rate"]) > 0
    assert result["url"].endswith("/video/upload/v%d/videos/clip.mp4" % result["version"])

    fetched = cloudinary.api.resource("videos/clip", resource_type="video")
    assert {key: fetched[key] for key in VIDEO_FIELDS} == {key: result[key] for key in VIDEO_FIELDS}

    original = httpx.get(result["url"])
    assert original.status_code == 200 and original.content == samples["mp4"].read_bytes()
    assert original.headers["content-type"] == "video/mp4"


def test_webm_upload_with_auto_is_a_video(cld: LiveServer, samples: dict[str, Path]) -> None:
    result = cloudinary.uploader.upload(str(samples["webm"]), resource_type="auto", public_id="videos/web")
    assert (result["resource_type"], result["format"], result["width"], result["height"]) == ("video", "webm", 320, 240)
    assert result["duration"] == pytest.approx(1.0, abs=0.1)
    assert result["video"]["codec"] == "vp9" and result["audio"]["codec"] == "opus"
    assert result["is_audio"] is False
    assert httpx.get(result["url"]).content == samples["webm"].read_bytes()


def test_rotated_video_reports_its_display_size(cld_sqlite: LiveServer, samples: dict[str, Path]) -> None:
    result = cloudinary.uploader.upload(str(samples["rotated"]), resource_type="video", public_id="videos/portrait")
    assert (result["rotation"], result["width"], result["height"]) == (90, 240, 320)


def test_audio_is_a_video_resource_with_is_audio(cld: LiveServer, samples: dict[str, Path]) -> None:
    for resource_type in ("video", "auto"):
        result = cloudinary.uploader.upload(str(samples["mp3"]), resource_type=resource_type, public_id=f"audio/tone-{resource_type}")
        assert (result["resource_type"], result["format"], result["is_audio"]) == ("video", "mp3", True)
        assert result["duration"] == pytest.approx(2.0, abs=0.1)
        assert result["video"] == {} and "frame_rate" not in result
        assert (result["audio"]["codec"], result["audio"]["channels"], result["audio"]["channel_layout"]) == ("mp3", 1, "mono")
        assert result["audio"]["bit_rate"] == "64000"
        assert httpx.get(result["url"]).headers["content-type"] == "audio/mpeg"
    fetched = cloudinary.api.resource("audio/tone-auto", resource_type="video")
    assert (fetched["is_audio"], fetched["audio"]["codec"]) == (True, "mp3")


def test_chunked_video_upload_is_probed(cld: LiveServer, samples: dict[str, Path]) -> None:
    size = samples["large"].stat().st_size
    assert size > 3_000_000  # several chunks
    result = cloudinary.uploader.upload_large(str(samples["large"]), resource_type="video", chunk_size=1_000_000, public_id="videos/large")
    assert (result["resource_type"], result["format"], result["width"], result["height"], result["bytes"]) == ("video", "mp4", 640, 360, size)
    assert result["duration"] == pytest.approx(2.0, abs=0.1)
    assert httpx.get(result["url"]).content == samples["large"].read_bytes()


def test_an_image_is_refused_as_a_video(cld_sqlite: LiveServer, sample_png: Path) -> None:
    with pytest.raises(BadRequest, match="Invalid video file"):
        cloudinary.uploader.upload(str(sample_png), resource_type="video")


def test_a_file_that_is_not_media_is_refused_as_a_video(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    for name, data in (("notes.txt", b"hello, this is text\n" * 50), ("fake.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(BadRequest, match="Invalid video file"):
            cloudinary.uploader.upload(str(path), resource_type="video")
    with pytest.raises(BadRequest, match="Invalid video file"):
        cloudinary.uploader.upload(str(tmp_path / "fake.mp4"), resource_type="auto")
