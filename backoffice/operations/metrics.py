"""The figures at /metrics, in the Prometheus text format (prometheus-client).

Two kinds, kept apart so a scrape stays cheap and the hot path stays free of queries:

- Events counted where they happen, in whichever process: calls to the accounting systems per tenant and
  token refreshes (:mod:`exporters.metrics`), the time from a Z-report received to its voucher posted
  (:func:`observe_posted`), the scheduler's job runs. ``dagskassa serve`` runs the web, the workers and
  the scheduler as separate processes, so it puts them all in prometheus-client's multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR`` = ``metrics.multiproc_dir``) and the web's /metrics adds them up. Each
  machine is scraped on its own: its /metrics holds the counters of that machine's processes.
- States read from the database at scrape time, a few aggregated queries (:class:`DatabaseCollector`):
  exports per state, each register's last contact, the scheduler's heartbeat and each job's last success.
  They are the same on every machine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from backoffice.db import begin_read
from backoffice.models import Export, Register
from backoffice.operations.models import HEARTBEAT, JobRun, SchedulerHeartbeat
from backoffice.pipeline.states import STATES

log = logging.getLogger(__name__)


Z_REPORT_TO_POSTED = Histogram(
    "dagskassa_export_z_report_to_posted_seconds",
    "Time from a Z-report received to its voucher posted (or found already posted), per channel.",
    ["channel"],
    # Seconds when all is well, hours to days when a person had to fix something first.
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400),
)
JOB_RUNS = Counter(
    "dagskassa_scheduler_job_runs",
    "Runs of the scheduler's jobs, per job and outcome (ok, failed).",
    ["job", "outcome"],
)


def observe_posted(channel: str, received_at: datetime, posted_at: datetime) -> None:
    """Count one export posted; ``received_at`` is the Z-report's (naive UTC, as stored), ``posted_at``
    aware or naive UTC."""
    posted = posted_at.astimezone(UTC).replace(tzinfo=None) if posted_at.tzinfo else posted_at
    Z_REPORT_TO_POSTED.labels(channel=channel).observe(max(0.0, (posted - received_at).total_seconds()))


def _timestamp(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


class DatabaseCollector:
    """The states read at scrape time: four aggregated queries in one read-only transaction."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("dagskassa_database_up", "1 if /metrics could read the database.")
        try:
            with self.sessions() as db:
                begin_read(db)
                by_state = dict(db.execute(select(Export.state, func.count()).group_by(Export.state)).all())
                registers = db.execute(
                    select(Register.store_id, Register.id, Register.last_contact_at).where(
                        Register.revoked_at.is_(None), Register.last_contact_at.is_not(None)
                    )
                ).all()
                beat = db.get(SchedulerHeartbeat, HEARTBEAT)
                jobs = db.execute(
                    select(JobRun.job, JobRun.last_success_at).where(JobRun.last_success_at.is_not(None))
                ).all()
        except Exception:
            log.exception("/metrics could not read the database")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        exports = GaugeMetricFamily("dagskassa_exports", "Exports per state, now.", labels=["state"])
        for state in sorted(set(STATES) | set(by_state)):  # every state, at 0 when empty
            exports.add_metric([state], by_state.get(state, 0))
        yield exports

        contact = GaugeMetricFamily(
            "dagskassa_register_last_contact_timestamp_seconds",
            "When each enrolled register's bridge last reached the BackOffice (Unix time).",
            labels=["store", "register"],
        )
        for store_id, register_id, last_contact_at in registers:
            contact.add_metric([str(store_id), str(register_id)], _timestamp(last_contact_at))
        yield contact

        heartbeat = GaugeMetricFamily(
            "dagskassa_scheduler_heartbeat_timestamp_seconds",
            "When the leading scheduler last wrote its heartbeat (Unix time; every minute while it lives).",
        )
        if beat is not None:
            heartbeat.add_metric([], _timestamp(beat.beat_at))
        yield heartbeat

        success = GaugeMetricFamily(
            "dagskassa_scheduler_job_last_success_timestamp_seconds",
            "When each scheduled job last finished without an error (Unix time).",
            labels=["job"],
        )
        for job, last_success_at in jobs:
            success.add_metric([job], _timestamp(last_success_at))
        yield success


def scrape(sessions: sessionmaker) -> bytes:
    """The text of one scrape: this machine's counters (every process's, in multiprocess mode) and the
    database's states."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(REGISTRY)
    registry.register(DatabaseCollector(sessions))
    return generate_latest(registry)
