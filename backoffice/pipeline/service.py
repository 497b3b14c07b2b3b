"""The pipeline as a running thing: export workers in threads and, on the one leader, the scheduler.

``dagskassa serve`` runs both beside the web app (one machine, SQLite); ``dagskassa worker`` runs workers
only and ``dagskassa scheduler`` the scheduler only, for PostgreSQL deployments on several machines.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import Engine, select

from backoffice.db import make_sessionmaker
from backoffice.models import Export, FortnoxConnection, Store
from backoffice.notify import jobs as notify_jobs
from backoffice.notify.dispatch import Dispatcher
from backoffice.operations.scheduling import with_traces
from backoffice.pipeline import jobs, states
from backoffice.pipeline.posting import posting_moment
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker, run_workers
from backoffice.services import background
from backoffice.services.exports import preview, waiting_state
from backoffice.services.fortnox import (
    Fortnox,
    fetch_preflight,
    preflight_input,
    save_preflight,
    store_today,
)
from backoffice.services.mapping import settings_of
from config.settings import Settings

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class Pipeline:
    def __init__(
        self, settings: Settings, engine: Engine, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.fortnox = Fortnox(settings, self.sessions, transport)
        self.notifier = Dispatcher(settings, self.sessions)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.scheduler = None
        self._release_leadership = None

    # -- jobs ------------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Re-check exports waiting for sync to be turned on or a mapping fix: the ones that can now be
        built become ready (and a store that turned sync off keeps its days waiting). Every move goes
        through the state machine, so it is in the audit log. Returns how many moved."""
        moved = 0
        with self.sessions() as db:
            waiting = db.scalars(
                select(Export)
                .where(
                    (Export.state == states.RECEIVED)
                    | (
                        (Export.state == states.NEEDS_ATTENTION)
                        & Export.error_code.in_((states.WAITS_FOR_VOUCHER, states.WAITS_FOR_RECONNECT))
                    )
                )
                # Locked while the sweep decides (PostgreSQL; SQLite's write turn covers it): a person's
                # action on one of them (mark as booked, SIE instead) is never overwritten from a stale
                # row. Rows a person or a worker holds right now wait for the next sweep.
                .with_for_update(skip_locked=True)
            ).all()
            # Only the stores with a day waiting for a reconnect are looked up: not every store each minute.
            reconnecting = {e.store_id for e in waiting if e.error_code == states.WAITS_FOR_RECONNECT}
            connected = set()
            if reconnecting:
                connected = {
                    (row.store_id, row.provider)
                    for row in db.execute(
                        select(FortnoxConnection.store_id, FortnoxConnection.provider).where(
                            FortnoxConnection.status == "connected",
                            FortnoxConnection.store_id.in_(reconnecting),
                        )
                    )
                }
            for export in waiting:
                if export.error_code == states.WAITS_FOR_RECONNECT and (
                    (export.store_id, export.channel) not in connected
                ):
                    continue
                store = export.store
                _voucher, error = preview(db, store, export.z_report)
                sync = settings_of(db, store)
                due_at = posting_moment(export.business_date, sync.posting_time, store.timezone)
                target = waiting_state(error, sync.sync_sales, due_at)
                if target["state"] != export.state:
                    states.move(
                        db,
                        export,
                        target["state"],
                        now=utc_now(),
                        message=target["error_message"],
                        fix=target["error_fix"],
                        code=target["error_code"],
                        next_attempt_at=target["next_attempt_at"],
                        action="export.rechecked",
                    )
                    moved += 1
            db.commit()
        return moved

    def nightly_check(self) -> None:
        jobs.check_missing_z_reports(
            self.sessions, utc_now(), _time(self.settings.scheduler.nightly_check_at)
        )

    def preflight_all(self) -> None:
        with self.sessions() as db:
            stores = db.scalars(
                select(Store)
                .join(FortnoxConnection, FortnoxConnection.store_id == Store.id)
                .where(FortnoxConnection.status != "disconnected")
            ).all()
            inputs = [preflight_input(db, store, store_today(store)) for store in stores]
        for given in inputs:
            try:
                results = fetch_preflight(self.fortnox, given)
            except Exception:
                log.exception("preflight of store %s failed", given.store_id)
                continue
            with self.sessions() as db:
                save_preflight(db, given.store_id, results)
                db.commit()

    def keep_tokens_alive(self) -> None:
        days = timedelta(days=self.settings.scheduler.token_keepalive_days)
        for connection_id in jobs.connections_needing_keepalive(self.sessions, utc_now(), days):
            try:
                with self.fortnox.http() as http:
                    self.fortnox.client(http, connection_id).renew_tokens()
            except Exception:
                log.exception("token keep-alive of connection %s failed", connection_id)

    def run_background_jobs(self) -> int:
        """Run the jobs people queued on the pages (the agency's \"check all now\"); how many ran."""
        return background.run_queued(self.sessions, self.fortnox)

    # -- running ---------------------------------------------------------------------------------------

    def start_workers(self, count: int) -> None:
        runtime = fortnox_runtime(self.fortnox)
        prefix = f"{socket.gethostname()}:{os.getpid()}"
        lease = timedelta(seconds=self.settings.scheduler.lease_seconds)
        rest = timedelta(seconds=self.settings.scheduler.tenant_rest_seconds)
        workers = [
            ExportWorker(self.sessions, runtime, f"{prefix}:{n}", lease, rest=rest) for n in range(count)
        ]
        self.threads += run_workers(workers, self.stop_event)
        log.info("%d export workers started", count)

    def start_scheduler(self) -> bool:
        """Start the scheduler if this process becomes the leader; False if another one leads."""
        self._release_leadership = jobs.hold_leadership(self.engine)
        if self._release_leadership is None:
            log.info("another scheduler leads; this one stays idle")
            return False
        config = self.settings.scheduler
        preflight_at = _time(config.preflight_at)
        self.scheduler = jobs.build_scheduler(
            with_traces(
                self.sessions,
                {
                    **notify_jobs.scheduled(self.settings, self.sessions, self.notifier),
                    "sweep": (self.sweep, {"trigger": "interval", "seconds": config.sweep_seconds}),
                    "nightly_check": (self.nightly_check, {"trigger": "interval", "minutes": 10}),
                    "preflight": (
                        self.preflight_all,
                        {"trigger": "cron", "hour": preflight_at.hour, "minute": preflight_at.minute},
                    ),
                    "token_keepalive": (
                        self.keep_tokens_alive,
                        {"trigger": "cron", "hour": 3, "minute": 17},
                    ),
                },
            )
            # Polled every few seconds, so not traced: that would be a job_runs write each time.
            | {
                "background_jobs": (
                    self.run_background_jobs,
                    {"trigger": "interval", "seconds": background.POLL_SECONDS},
                )
            },
            config.timezone,
        )
        self.scheduler.start()
        log.info("scheduler started (leader)")
        return True

    def stop(self) -> None:
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for thread in self.threads:
            thread.join(timeout=10)
        if self._release_leadership is not None:
            self._release_leadership()
