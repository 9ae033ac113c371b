"""The queue on both transports (huey on SQLite, huey on Redis): jobs run, retry with back-off,
fail for good after the last attempt, and a job whose message never reached the queue still runs."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
import sqlalchemy as sa

from darkroom.catalog import create_engine_for, migrate
from darkroom.catalog import jobs as journal
from darkroom.config import Settings
from darkroom.errors import Invalid
from darkroom.jobs import retry_delay
from darkroom.media.services import Services, build_services
from darkroom.media.tasks import job_handler

from .conftest import consume_until

REDIS_TEST_URL = "redis://127.0.0.1:6379/13"  # a database of its own, emptied of the queue's keys after each test

ran: dict[str, list[Any]] = {}  # job handlers below record their runs here, by payload["key"]


@job_handler("test.record")
async def record(_services: Services, payload: dict[str, Any]) -> None:
    ran.setdefault(payload["key"], []).append(payload["value"])


@job_handler("test.flaky")
async def flaky(_services: Services, payload: dict[str, Any]) -> None:
    runs = ran.setdefault(payload["key"], [])
    runs.append(datetime.now(UTC))
    if len(runs) <= payload["failures"]:
        raise RuntimeError(f"failure {len(runs)}")


@job_handler("test.invalid")
async def invalid(_services: Services, payload: dict[str, Any]) -> None:
    ran.setdefault(payload["key"], []).append("ran")
    raise Invalid("the payload names nothing this server has")


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Services whose queue is huey on SQLite (journal in SQLite), huey on Redis, or huey on
    SQLite with the journal in PostgreSQL."""
    redis_url = database_url = ""
    if request.param == "redis":
        try:
            redis.Redis.from_url(REDIS_TEST_URL).ping()
        except redis.RedisError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        redis_url = REDIS_TEST_URL
    if request.param == "postgres":
        database_url = request.getfixturevalue("own_postgres_url")
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, redis_url=redis_url, job_retry_seconds=0.1, job_lease_seconds=2, job_max_attempts=3
    )
    built = build_services(settings)
    built.jobs.transport.flush()
    yield built
    built.jobs.transport.flush()
    built.engine.dispose()


def test_enqueued_jobs_run_once_each(services: Services) -> None:
    key = secrets.token_hex(4)

    async def enqueue() -> list[str]:
        return [await services.jobs.enqueue("test.record", {"key": key, "value": n}) for n in range(5)]

    ids = anyio.run(enqueue)
    consume_until(services, lambda: len(ran.get(key, [])) == 5)
    assert sorted(ran[key]) == [0, 1, 2, 3, 4]
    assert all(journal.get_job(services.engine, job_id).state == "done" for job_id in ids)  # type: ignore[union-attr]
    assert services.jobs.transport.pending() == 0


def test_a_failing_job_is_retried_with_growing_delays(services: Services) -> None:
    key = secrets.token_hex(4)
    job_id = anyio.run(services.jobs.enqueue, "test.flaky", {"key": key, "failures": 2})
    consume_until(services, lambda: journal.get_job(services.engine, job_id).state == "done")  # type: ignore[union-attr]
    first, second, third = ran[key]
    assert second - first >= timedelta(seconds=retry_delay(0.1, 1))
    assert third - second >= timedelta(seconds=retry_delay(0.1, 2))
    assert journal.get_job(services.engine, job_id).attempts == 3  # type: ignore[union-attr]


def test_a_job_failing_every_attempt_is_recorded_as_failed(services: Services) -> None:
    key = secrets.token_hex(4)
    job_id = anyio.run(services.jobs.enqueue, "test.flaky", {"key": key, "failures": 99})
    consume_until(services, lambda: journal.get_job(services.engine, job_id).state == "failed")  # type: ignore[union-attr]
    record = journal.get_job(services.engine, job_id)
    assert record is not None and record.attempts == 3 and "failure 3" in record.last_error
    assert len(ran[key]) == 3


def test_a_permanent_error_fails_the_job_at_once(services: Services) -> None:
    key = secrets.token_hex(4)
    job_id = anyio.run(services.jobs.enqueue, "test.invalid", {"key": key})
    consume_until(services, lambda: journal.get_job(services.engine, job_id).state == "failed")  # type: ignore[union-attr]
    record = journal.get_job(services.engine, job_id)
    assert record is not None and record.attempts == 1 and "names nothing" in record.last_error
    assert ran[key] == ["ran"]


def test_a_job_that_keeps_killing_its_worker_fails_after_the_last_attempt(services: Services) -> None:
    """Each claim's lease runs out with no worker to finish it (as when the job crashes the
    process): the sweep queues it again until max attempts, then records it failed."""
    job_id = "crash" + secrets.token_hex(4)
    now = datetime.now(UTC)
    journal.add_job(services.engine, job_id, "test.record", {}, now)
    for attempt in range(1, 4):  # job_max_attempts=3
        claimed = journal.claim_job(services.engine, job_id, now, 2)
        assert claimed is not None and claimed.attempts == attempt
        now += timedelta(seconds=3)  # the lease expired: the worker died
        journal.jobs_to_push(services.engine, now, now - timedelta(seconds=2), 3)
    record = journal.get_job(services.engine, job_id)
    assert record is not None and record.state == "failed" and "after 3 attempts" in record.last_error
    assert journal.jobs_to_push(services.engine, now + timedelta(minutes=5), now, 3) == []


def test_a_job_whose_message_was_lost_still_runs(services: Services) -> None:
    key = secrets.token_hex(4)
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    journal.add_job(services.engine, "lost" + key, "test.record", {"key": key, "value": "late"}, long_ago)  # never pushed
    consume_until(services, lambda: ran.get(key) == ["late"])


def test_back_off_doubles_and_is_capped() -> None:
    assert [retry_delay(10, n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(10, 40) == 3600


def test_a_database_migrated_before_the_journal_gets_its_tables(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine)
    with engine.begin() as conn:  # as a database made by revision 0001 before these tables existed
        for table in ("jobs", "notification_triggers"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    migrate(engine)
    assert {"jobs", "notification_triggers"} <= set(sa.inspect(engine).get_table_names())
    assert journal.job_counts(engine) == {}
    engine.dispose()


def test_a_job_enqueued_while_the_queue_is_down_is_kept_and_runs_later(tmp_path: Path) -> None:
    key = secrets.token_hex(4)
    down = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", job_lease_seconds=1)  # nothing listens on port 1
    services = build_services(down)
    job_id = anyio.run(services.jobs.enqueue, "test.record", {"key": key, "value": "kept"})
    assert journal.get_job(services.engine, job_id).state == "queued"  # type: ignore[union-attr]

    later = time.monotonic() + 1.5
    consume_until(services, lambda: time.monotonic() > later)  # a consumer on the dead queue logs errors, never crashes
    services.engine.dispose()
    working = build_services(down.with_changes(redis_url=""))  # the same journal, a queue that works
    consume_until(working, lambda: ran.get(key) == ["kept"])
    working.engine.dispose()
