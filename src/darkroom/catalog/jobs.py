"""The job journal: one row per job, from enqueue to done or failed (darkroom.jobs' truth).

States: `queued` (waiting for `run_after`, or on the queue) → `running` (claimed by one
worker until `lease_until`, renewed while it runs) → `done`, or back to `queued` with a later
`run_after` (a retry), or `failed` after the last attempt. Claiming is one conditional UPDATE,
so two workers handed the same id (a duplicate queue message) never both run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import jobs

__all__ = [
    "JobRecord", "add_job", "claim_job", "finish_job", "forget_finished", "get_job", "job_counts", "jobs_to_push",
    "release_job", "renew_lease", "retry_or_fail",
]

PUSH_BATCH = 200  # ids handed back by one jobs_to_push call


@dataclass(frozen=True)
class JobRecord:
    id: str
    name: str
    payload: dict[str, Any]
    state: str
    attempts: int  # runs started, this one included once claimed
    last_error: str


def add_job(engine: Engine, job_id: str, name: str, payload: dict[str, Any], now: datetime) -> None:
    """Record a new job as queued and (about to be) pushed now."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(jobs).values(
                id=job_id, name=name, payload=payload, state="queued", attempts=0,
                run_after=now, pushed_at=now, created_at=now, last_error="",
            )
        )


def claim_job(engine: Engine, job_id: str, now: datetime, lease_seconds: float) -> JobRecord | None:
    """Take a queued, due job for this worker until `now + lease_seconds`; None if another
    worker has it, it is not due yet, or it is finished."""
    with engine.begin() as conn:
        claimed = conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state == "queued", jobs.c.run_after <= now)
            .values(state="running", attempts=jobs.c.attempts + 1, lease_until=now + timedelta(seconds=lease_seconds))
        ).rowcount
        if not claimed:
            return None
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
    return _record(row)


def renew_lease(engine: Engine, job_id: str, attempt: int, until: datetime) -> bool:
    """Extend a running job's claim; False if the job is no longer this attempt's."""
    with engine.begin() as conn:
        return bool(conn.execute(_mine(job_id, attempt).values(lease_until=until)).rowcount)


def finish_job(engine: Engine, job_id: str, attempt: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(_mine(job_id, attempt).values(state="done", lease_until=None, finished_at=now, last_error=""))


def retry_or_fail(engine: Engine, job_id: str, attempt: int, error: str, retry_at: datetime | None, now: datetime) -> None:
    """After a failed run: queued again from `retry_at`, or failed for good when it is None."""
    with engine.begin() as conn:
        if retry_at is None:
            conn.execute(_mine(job_id, attempt).values(state="failed", lease_until=None, finished_at=now, last_error=error))
        else:
            conn.execute(_mine(job_id, attempt).values(state="queued", lease_until=None, run_after=retry_at, last_error=error))


def release_job(engine: Engine, job_id: str, attempt: int, now: datetime) -> None:
    """Give back a job interrupted by a graceful stop: queued again at once, the run not counted."""
    with engine.begin() as conn:
        conn.execute(
            _mine(job_id, attempt).values(state="queued", attempts=jobs.c.attempts - 1, lease_until=None, run_after=now, pushed_at=None)
        )


def jobs_to_push(engine: Engine, now: datetime, stale_before: datetime, max_attempts: int) -> list[str]:
    """Ids to put on the queue now, marked as pushed: jobs whose lease expired (their worker
    died; they are queued again, or failed for good once they have had `max_attempts` runs: a
    job that kills its worker must not be retried forever), retries that came due, and queued
    jobs whose message has waited since before `stale_before` (lost with a queue, or never pushed).

    Every consumer calls this about once a second, so it writes only when it finds work: on
    SQLite a write would take the database's one write lock from uploads each time."""
    with engine.begin() as conn:
        expired = conn.execute(sa.select(jobs.c.id).where(jobs.c.state == "running", jobs.c.lease_until < now)).scalars().all()
        if expired:
            still_expired = sa.and_(jobs.c.id.in_(expired), jobs.c.state == "running", jobs.c.lease_until < now)
            stopped = "the worker stopped (lease expired)"
            conn.execute(
                sa.update(jobs)
                .where(still_expired, jobs.c.attempts >= max_attempts)
                .values(state="failed", lease_until=None, finished_at=now, last_error=f"{stopped} after {max_attempts} attempts")
            )
            conn.execute(
                sa.update(jobs)
                .where(still_expired)
                .values(state="queued", lease_until=None, run_after=now, pushed_at=None, last_error=stopped)
            )
        due = conn.execute(
            sa.select(jobs.c.id)
            .where(
                jobs.c.state == "queued",
                jobs.c.run_after <= now,
                sa.or_(jobs.c.pushed_at.is_(None), jobs.c.pushed_at < jobs.c.run_after, jobs.c.pushed_at < stale_before),
            )
            .order_by(jobs.c.run_after)
            .limit(PUSH_BATCH)
        ).scalars().all()
        if due:
            conn.execute(sa.update(jobs).where(jobs.c.id.in_(due)).values(pushed_at=now))
    return list(due)


def forget_finished(engine: Engine, done_before: datetime, failed_before: datetime) -> int:
    """Delete done jobs finished before `done_before` and failed ones before `failed_before`
    (kept longer, for an operator to read their errors); returns how many went."""
    with engine.begin() as conn:
        return int(conn.execute(
            sa.delete(jobs).where(sa.or_(
                sa.and_(jobs.c.state == "done", jobs.c.finished_at < done_before),
                sa.and_(jobs.c.state == "failed", jobs.c.finished_at < failed_before),
            ))
        ).rowcount)


def get_job(engine: Engine, job_id: str) -> JobRecord | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
    return None if row is None else _record(row)


def job_counts(engine: Engine) -> dict[str, int]:
    """Jobs per state (queued, running, done, failed)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)).all()
    return {state: int(count) for state, count in rows}


def _mine(job_id: str, attempt: int) -> sa.Update:
    """An UPDATE of the job while it is still the running attempt `attempt` (not one that a
    lease expiry handed to another worker since)."""
    return sa.update(jobs).where(jobs.c.id == job_id, jobs.c.state == "running", jobs.c.attempts == attempt)


def _record(row: sa.Row[Any]) -> JobRecord:
    return JobRecord(row.id, row.name, dict(row.payload), row.state, row.attempts, row.last_error)
