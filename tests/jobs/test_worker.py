"""`darkroom worker`: a job whose worker is killed mid-way runs again; SIGTERM finishes the job in hand."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import cloudinary
import cloudinary.uploader
import pytest
from support import configure_sdk, own_sqlite_server, start_server, stop_server, wait_until_healthy

from darkroom.catalog.jobs import get_job
from darkroom.config import Settings
from darkroom.media.services import build_services

from .conftest import Receiver, assert_signed

HERE = Path(__file__).resolve().parent
WORKER = f"import sys; sys.path.insert(0, {str(HERE)!r}); import slow_jobs; from darkroom.cli import main; main()"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKROOM_", "CLOUDINARY_URL"))}
    return {**env, "DARKROOM_DATA_DIR": str(data_dir), "DARKROOM_JOB_LEASE_SECONDS": "3", "DARKROOM_JOB_RETRY_SECONDS": "0.2"}


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


@pytest.mark.slow
def test_a_server_without_in_process_jobs_leaves_them_to_darkroom_worker(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, sample_png: Path
) -> None:
    server_iter = own_sqlite_server(tmp_path_factory, "no-jobs", extra_env={"DARKROOM_JOBS_IN_PROCESS": "false"})
    server = next(server_iter)
    worker = None
    try:
        configure_sdk(server)
        path = f"/worker/{secrets.token_hex(4)}"
        cloudinary.uploader.upload(str(sample_png), notification_url=receiver.url(path))
        time.sleep(1.5)
        assert receiver.attempts.get(path) is None  # the server only recorded the job
        env = {**_env(server.data_dir), "DARKROOM_DATABASE_URL": server.database_url, "DARKROOM_FETCH_ALLOW": "127.0.0.1/32"}
        worker = _start_worker(env, server.data_dir / "worker.log")
        (delivery,) = receiver.wait_for(path)
        assert_signed(delivery)
    finally:
        cloudinary.reset_config()
        os.environ.pop("CLOUDINARY_URL", None)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
        next(server_iter, None)  # stops the server


@pytest.mark.slow
def test_a_webhook_pending_when_the_server_is_killed_is_delivered_after_restart(tmp_path: Path, receiver: Receiver, sample_png: Path) -> None:
    path = f"/restart/{secrets.token_hex(4)}"
    receiver.failures[path] = 1  # the first attempt fails: the job waits for its retry
    env = {"DARKROOM_JOB_RETRY_SECONDS": "2", "DARKROOM_JOB_LEASE_SECONDS": "3"}  # killed mid-attempt, it waits for its lease
    first = start_server(tmp_path, f"sqlite:///{tmp_path / 'darkroom.db'}", extra_env=env)
    try:
        wait_until_healthy(first.base_url, first.process)
        configure_sdk(first)
        cloudinary.uploader.upload(str(sample_png), notification_url=receiver.url(path))
        deadline = time.monotonic() + 20
        while receiver.attempts.get(path, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.attempts[path] == 1
    finally:
        first.process.kill()  # before the retry is due
        first.process.wait(timeout=10)
    second = start_server(tmp_path, first.database_url, extra_env=env)
    try:
        wait_until_healthy(second.base_url, second.process)
        (delivery,) = receiver.wait_for(path)
        assert receiver.attempts[path] == 2
        assert_signed(delivery)
    finally:
        cloudinary.reset_config()
        os.environ.pop("CLOUDINARY_URL", None)
        stop_server(second)
