"""Running ffmpeg: bounded in time, its errors turned into messages a client may read."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from darkroom.errors import Invalid, TooLarge
from darkroom.video import TranscodeFailed, TranscodeTimedOut, kill_running, run_ffmpeg


def test_a_run_past_its_time_limit_is_killed_and_reported(tmp_path: Path) -> None:
    endless = ["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=25", "-f", "null", "-"]
    started = time.monotonic()
    with pytest.raises(TranscodeTimedOut) as caught:
        run_ffmpeg(endless, timeout=0.5)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, TooLarge)  # a 400, in Cloudinary's words
    assert "eager_async" in caught.value.message


def test_a_failure_names_ffmpegs_reason_without_server_paths(tmp_path: Path) -> None:
    missing = tmp_path / "secret-folder" / "missing.mp4"
    with pytest.raises(TranscodeFailed) as caught:
        run_ffmpeg(["-i", str(missing), str(tmp_path / "out.mp4")], timeout=30)
    assert isinstance(caught.value, Invalid)
    assert caught.value.message.startswith("Video transformation failed: ")
    assert "secret-folder" not in caught.value.message and "secret-folder" in (caught.value.detail or "")


def test_a_good_run_writes_its_output(tmp_path: Path) -> None:
    out = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.2", "-f", "wav", str(out)], timeout=30)
    assert out.stat().st_size > 1000


def test_a_shutdown_can_stop_every_running_transcode() -> None:
    endless = ["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=25", "-f", "null", "-"]
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_ffmpeg, endless, timeout=60)
        deadline = time.monotonic() + 10
        while kill_running() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(TranscodeFailed):
            running.result(timeout=10)
