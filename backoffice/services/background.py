"""Background jobs of the BackOffice: work a person asks for that is too long for a request, such as the
agency's "check all now" (a preflight of every store, a thousand of them).

The page enqueues a job row; the scheduler process (``dagskassa scheduler``, which ``dagskassa serve``
starts beside the web app) polls for queued jobs and runs them, writing progress as it goes, so the page
can show "checked 120 of 1,000" and each store's result as it comes. One active job per (kind, agency):
``active_key`` is unique while a job is queued or running and cleared when it ends, so a second click
finds the first instead of starting another, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from backoffice import audit
from backoffice.db import Base
from backoffice.models import PreflightResult, Store, User, utcnow

if TYPE_CHECKING:
    from backoffice.services.fortnox import Fortnox

log = logging.getLogger(__name__)

CHECK_ALL = "check_all"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
#: How often the scheduler looks for queued jobs.
POLL_SECONDS = 2
#: Stores checked at once by a check-all job.
PARALLEL = 4
#: A running job that wrote no progress for this long was left by a process that died.
STALE_AFTER = timedelta(minutes=10)


class BackgroundJob(Base):
    """One job: what, for which agency, asked by whom, and how far it got."""

    __tablename__ = "backoffice_jobs"
    __table_args__ = (
        Index("ix_backoffice_jobs_agency_kind", "agency_id", "kind"),
        Index("ix_backoffice_jobs_state", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=QUEUED)
    #: ``<kind>:<agency id>`` while queued or running, NULL after: unique, so one at a time.
    active_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    #: How many items (stores) the job has, how many are done, and how many of those failed.
    total: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    #: Written with each item done: a running job whose heartbeat is old was left behind.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def latest(session: Session, agency_id: int, kind: str = CHECK_ALL) -> BackgroundJob | None:
    """The agency's newest job of ``kind`` (running, queued or ended), if any."""
    return session.scalars(
        select(BackgroundJob)
        .where(BackgroundJob.agency_id == agency_id, BackgroundJob.kind == kind)
        .order_by(BackgroundJob.id.desc())
        .limit(1)
    ).first()


def _end(job: BackgroundJob, state: str, now: datetime, error: str | None = None) -> None:
    job.state, job.active_key, job.finished_at = state, None, now
    if error:
        job.error = error


def request_check_all(
    session: Session, user: User, now: datetime | None = None
) -> tuple[BackgroundJob, bool]:
    """Queue a preflight of every store of the user's agency. Returns ``(job, True)`` for a new job, or
    the agency's job already queued or running and False. Never commits."""
    now = now or utcnow()
    key = f"{CHECK_ALL}:{user.agency_id}"
    active = session.scalars(select(BackgroundJob).where(BackgroundJob.active_key == key)).one_or_none()
    if active is not None:
        beat = active.heartbeat_at or active.started_at or active.created_at
        if active.state == QUEUED or now - beat < STALE_AFTER:
            return active, False
        _end(active, FAILED, now, "stopped without finishing (its process ended); started again")
        session.flush()
    job = BackgroundJob(kind=CHECK_ALL, agency_id=user.agency_id, requested_by_id=user.id, active_key=key)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another click won the race a moment ago
        return session.scalars(select(BackgroundJob).where(BackgroundJob.active_key == key)).one(), False
    audit.record(session, user, "preflight.check_all_requested", None, f"job {job.id}", job_id=job.id)
    return job, True


def status(session: Session, job: BackgroundJob) -> dict:
    """The job as the agency page shows it, with each store checked since it started (``{store id:
    ok}``), so the page can fill in the results as they come."""
    results = {}
    if job.started_at is not None:
        rows = session.execute(
            select(PreflightResult.store_id, PreflightResult.ok)
            .join(Store, Store.id == PreflightResult.store_id)
            .where(Store.agency_id == job.agency_id, PreflightResult.checked_at >= job.started_at)
        )
        results = {str(store_id): ok for store_id, ok in rows}
    return {
        "id": job.id,
        "state": job.state,
        "total": job.total,
        "progress": job.progress,
        "failures": job.failures,
        "error": job.error,
        "results": results,
    }


def _claim(sessions: sessionmaker, job_id: int, now: datetime) -> list[int] | None:
    """Mark a queued job running and count its stores; None if another runner took it first."""
    with sessions() as session:
        taken = session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.state == QUEUED)
            .values(state=RUNNING, started_at=now, heartbeat_at=now)
        ).rowcount
        if not taken:
            session.rollback()
            return None
        job = session.get(BackgroundJob, job_id)
        store_ids = list(
            session.scalars(select(Store.id).where(Store.agency_id == job.agency_id).order_by(Store.id))
        )
        job.total = len(store_ids)
        session.commit()
        return store_ids


def _check_store(sessions: sessionmaker, fortnox: Fortnox, job_id: int, store_id: int) -> None:
    """One store of a check-all: inputs read, Fortnox asked, the result saved with the job's progress
    in one transaction. A check that cannot run (Fortnox down, a bug) counts as a failure."""
    from backoffice.services.fortnox import fetch_preflight, preflight_input, save_preflight, store_today

    results, gone = None, False
    try:
        with sessions() as session:
            store = session.get(Store, store_id)
            gone = store is None
            given = None if gone else preflight_input(session, store, store_today(store))
        if given is not None:
            results = fetch_preflight(fortnox, given)
    except Exception:
        log.exception("check all: the preflight of store %s could not run", store_id)
    with sessions() as session:
        failed = not gone and (results is None or not save_preflight(session, store_id, results).ok)
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id)
            .values(
                progress=BackgroundJob.progress + 1,
                failures=BackgroundJob.failures + int(failed),
                heartbeat_at=utcnow(),
            )
        )
        session.commit()


def run_check_all(
    sessions: sessionmaker, fortnox: Fortnox, job_id: int, parallel: int = PARALLEL
) -> BackgroundJob | None:
    """Run one queued check-all job: the stores' preflights, ``parallel`` at a time (most of a check
    is waiting for Fortnox; each company's calls still keep to its rate limit), a failed store counted
    and the job going on. Returns the ended job, or None if it was not queued (another runner has it)."""
    store_ids = _claim(sessions, job_id, utcnow())
    if store_ids is None:
        return None
    try:
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"check-all-{job_id}") as pool:
            for done in [pool.submit(_check_store, sessions, fortnox, job_id, i) for i in store_ids]:
                done.result()
    except Exception as exc:
        log.exception("check all job %s failed", job_id)
        with sessions() as session:
            job = session.get(BackgroundJob, job_id)
            _end(job, FAILED, utcnow(), f"{type(exc).__name__}: {exc}")
            session.commit()
            return job
    with sessions() as session:
        job = session.get(BackgroundJob, job_id)
        _end(job, DONE, utcnow())
        session.commit()
        return job


RUNNERS = {CHECK_ALL: run_check_all}


def run_queued(sessions: sessionmaker, fortnox: Fortnox) -> int:
    """Run every queued job, oldest first (the scheduler calls this every few seconds). Returns how
    many ran."""
    with sessions() as session:
        queued = session.execute(
            select(BackgroundJob.id, BackgroundJob.kind)
            .where(BackgroundJob.state == QUEUED)
            .order_by(BackgroundJob.id)
        ).all()
    ran = 0
    for job_id, kind in queued:
        runner = RUNNERS.get(kind)
        if runner is not None and runner(sessions, fortnox, job_id) is not None:
            ran += 1
    return ran
