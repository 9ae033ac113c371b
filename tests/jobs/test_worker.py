"""`darkroom worker`: a job whose worker is killed mid-way runs again; SIGTERM finishes the job in hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from darkroom.catalog.jobs import get_job
from darkroom.config import Settings
from darkroom.media.services import build_services

HERE = Path(__file__).resolve().parent
WORKER = f"import sys; sys.path.insert(0, {str(HERE)!r}); import slow_jobs; from darkroom.cli import main; main()"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKROOM_", "CLOUDINARY_URL"))}
    return {**env, "DARKROOM_DATA_DIR": str(data_dir), "DARKROOM_JOB_LEASE_SECONDS": "1.5", "DARKROOM_JOB_RETRY_SECONDS": "0.2"}


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", WORKER, "worker", "--log-level", "warning"], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for_marks(marks: Path, expected: list[str], worker: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marks.exists() and marks.read_text().split() == expected:
            return
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited with {worker.returncode}")
        time.sleep(0.05)
    raise AssertionError(f"marks {marks.read_text().split() if marks.exists() else []}, expected {expected}")


@pytest.mark.slow
def test_a_job_whose_worker_was_killed_runs_again_and_sigterm_lets_it_finish(tmp_path: Path) -> None:
    env = _env(tmp_path)
    services = build_services(Settings.from_env(env))
    marks, log = tmp_path / "marks.txt", tmp_path / "worker.log"
    job_id = anyio.run(services.jobs.enqueue, "test.slow", {"marks": str(marks), "seconds": 2})

    first = _start_worker(env, log)
    try:
        _wait_for_marks(marks, ["start"], first)
    finally:
        first.kill()  # SIGKILL mid-job: huey has already handed the message out
        first.wait(timeout=10)
    record = get_job(services.engine, job_id)
    assert record is not None and (record.state, record.attempts) == ("running", 1)

    second = _start_worker(env, log)
    try:
        _wait_for_marks(marks, ["start", "start"], second)  # after the first lease expired
        second.send_signal(signal.SIGTERM)  # graceful: the job in hand is finished first
        assert second.wait(timeout=20) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert marks.read_text().split() == ["start", "start", "done"]
    record = get_job(services.engine, job_id)
    assert record is not None and (record.state, record.attempts) == ("done", 2)
    services.engine.dispose()
