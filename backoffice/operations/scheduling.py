"""The scheduler's traces: each job's runs counted (/metrics) and recorded (the ``job_runs`` row), and a
heartbeat written every minute by the leader, so ``dagskassa doctor`` and /metrics can tell it lives."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from backoffice.operations.metrics import JOB_RUNS
from backoffice.operations.models import HEARTBEAT, JobRun, SchedulerHeartbeat

log = logging.getLogger(__name__)

#: The scheduler beats this often (the doctor calls it dead after a few missed beats).
HEARTBEAT_SECONDS = 60

Jobs = dict[str, tuple[Callable[[], object], dict]]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def beat(sessions: sessionmaker, holder: str, now: datetime | None = None) -> None:
    """Write the heartbeat: ``holder`` (host:pid) leads and lives at ``now`` (naive UTC)."""
    now = now or utc_now()
    for _try in range(2):  # two first beats at once: the loser updates the winner's row
        with sessions() as db:
            row = db.get(SchedulerHeartbeat, HEARTBEAT, with_for_update=True)
            if row is None:
                db.add(SchedulerHeartbeat(name=HEARTBEAT, holder=holder, leader_since=now, beat_at=now))
            else:
                if row.holder != holder:
                    row.holder, row.leader_since = holder, now
                row.beat_at = now
            try:
                db.commit()
                return
            except IntegrityError:
                db.rollback()


def record_run(sessions: sessionmaker, job: str, started: datetime, error: str | None) -> None:
    """Count one run of ``job`` (started at ``started``) and keep how it ended; ``error`` None is ok."""
    JOB_RUNS.labels(job=job, outcome="failed" if error else "ok").inc()
    finished = utc_now()
    try:
        with sessions() as db:
            row = db.get(JobRun, job, with_for_update=True)
            if row is None:
                row = JobRun(job=job, runs=0, failures=0)
                db.add(row)
            row.runs += 1
            row.last_started_at, row.last_finished_at = started, finished
            row.last_outcome = "failed" if error else "ok"
            row.last_error = error
            if error:
                row.failures += 1
            else:
                row.last_success_at = finished
            db.commit()
    except Exception:  # the job's own outcome matters more than its trace
        log.exception("could not record the run of job %s", job)


def tracked(sessions: sessionmaker, job: str, function: Callable[[], object]) -> Callable[[], object]:
    """``function`` with each run recorded; an exception is recorded and raised on (APScheduler logs it)."""

    def run() -> object:
        started = utc_now()
        try:
            result = function()
        except Exception as exc:
            record_run(sessions, job, started, f"{type(exc).__name__}: {exc}"[:2000])
            raise
        record_run(sessions, job, started, None)
        return result

    return run


def with_traces(sessions: sessionmaker, jobs: Jobs) -> Jobs:
    """The scheduler's ``jobs`` (name -> (function, trigger)) with their runs recorded, plus the heartbeat
    job, which beats at once and then every minute."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    traced: Jobs = {
        name: (tracked(sessions, name, function), trigger) for name, (function, trigger) in jobs.items()
    }
    traced["heartbeat"] = (
        lambda: beat(sessions, holder),
        {"trigger": "interval", "seconds": HEARTBEAT_SECONDS, "next_run_time": datetime.now(UTC)},
    )
    return traced
