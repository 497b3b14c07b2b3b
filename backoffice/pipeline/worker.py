"""Workers: claim a tenant, post its due exports one after another, let go.

Exports are claimed per tenant (one accounting company), not per row: one tenant's calls must be
serialised so its rate limit and its single-use refresh token are never raced, while different tenants
run in parallel, in threads of one process or in any number of processes on any number of machines.
A claim is a lease row taken with ``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite the write lock of
``BEGIN IMMEDIATE`` does the same), so two workers never hold the same tenant. A heartbeat thread renews
the leases a worker holds for as long as its process lives, however long one attempt takes (a slow
Fortnox, a full rate-limit window); only a dead process lets its lease lapse. Whoever takes a lapsed
lease finds the dead holder's ``posting`` exports and reconciles them by marker before sending anything.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backoffice.models import Export, ExportLease, FortnoxConnection, Store
from backoffice.pipeline import attachments, states
from backoffice.pipeline.exporting import ExportRuntime, attempt

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


def tenant_key():
    """The SQL expression naming an export's tenant: its accounting company, else the store itself."""
    return func.coalesce(FortnoxConnection.tenant_id, literal("store:") + cast(Store.id, String))


def due_condition(now: datetime):
    """Exports a worker holding their tenant's lease should take now: due ones, every ``posting`` one
    (only a lease holder posts, so a ``posting`` export found by the next holder was left behind), and
    posted ones whose Z-report attachment is due."""
    return or_(
        and_(
            Export.state.in_(states.DUE_STATES),
            or_(Export.next_attempt_at.is_(None), Export.next_attempt_at <= now),
        ),
        Export.state == states.POSTING,
        attachments.due_condition(now),
    )


class ExportWorker:
    """One worker. ``run_once`` is one sweep; ``run`` sweeps until told to stop."""

    def __init__(
        self,
        sessions: sessionmaker,
        runtime: ExportRuntime,
        name: str,
        lease: timedelta = LEASE,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.runtime = runtime
        self.name = name
        self.lease = lease
        self.rng = rng or random.Random()
        self._held: set[str] = set()
        self._held_lock = threading.Lock()

    def due_tenants(self, db: Session, now: datetime) -> list[str]:
        query = (
            select(tenant_key())
            .select_from(Export)
            .join(Store, Store.id == Export.store_id)
            .outerjoin(FortnoxConnection, FortnoxConnection.store_id == Store.id)
            .where(due_condition(now))
            .distinct()
        )
        keys = list(db.scalars(query))
        self.rng.shuffle(keys)
        return keys

    def claim(self, keys: Iterable[str], now: datetime) -> str | None:
        """Take the lease of one of ``keys`` that nobody holds, in one transaction; None if all are held.

        ``SKIP LOCKED`` lets many workers claim at once without waiting on each other's rows, and the
        random order spreads them over the tenants instead of all trying the first.
        """
        keys = sorted(set(keys))
        if not keys:
            return None
        with self.sessions() as db:
            known = set(db.scalars(select(ExportLease.key).where(ExportLease.key.in_(keys))))
            for key in keys:
                if key not in known:
                    try:
                        with db.begin_nested():
                            db.add(ExportLease(key=key, holder="", expires_at=now - self.lease))
                    except IntegrityError:
                        pass
            lease = db.scalars(
                select(ExportLease)
                .where(ExportLease.key.in_(keys), ExportLease.expires_at < now)
                .order_by(func.random())
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if lease is None:
                db.rollback()
                return None
            lease.holder, lease.expires_at = self.name, now + self.lease
            key = lease.key
            db.commit()
        with self._held_lock:
            self._held.add(key)
        return key

    def holds(self, key: str) -> bool:
        with self._held_lock:
            return key in self._held

    def release(self, key: str) -> None:
        with self._held_lock:
            self._held.discard(key)
        with self.sessions() as db:
            lease = db.get(ExportLease, key, with_for_update=True)
            if lease is not None and lease.holder == self.name:
                lease.holder, lease.expires_at = "", self.runtime.now() - self.lease
            db.commit()

    def _due_exports(self, key: str, now: datetime) -> list[int]:
        with self.sessions() as db:
            query = (
                select(Export.id)
                .join(Store, Store.id == Export.store_id)
                .outerjoin(FortnoxConnection, FortnoxConnection.store_id == Store.id)
                .where(tenant_key() == key, due_condition(now))
                .order_by(Export.business_date, Export.id)
            )
            return list(db.scalars(query))

    def work_tenant(self, key: str) -> int:
        """Post the tenant's due exports in date order while holding its lease; return how many were tried.

        Each export is tried at most once per call: one that stays due (an error we did not foresee) waits
        for the next sweep instead of spinning here.
        """
        tried: set[int] = set()
        while True:
            ids = [i for i in self._due_exports(key, self.runtime.now()) if i not in tried]
            if not ids:
                return len(tried)
            for export_id in ids:
                if not self.holds(key):  # the heartbeat found the lease gone: another worker has it
                    log.error("worker %s stops on %s: its lease was lost", self.name, key)
                    return len(tried)
                tried.add(export_id)
                attempt(self.sessions, export_id, self.runtime, self.name)

    def run_once(self) -> int:
        """Claim free tenants with due exports one after another and work each; return exports tried."""
        tried = 0
        worked: set[str] = set()
        while True:
            now = self.runtime.now()
            with self.sessions() as db:
                keys = set(self.due_tenants(db, now)) - worked
            key = self.claim(keys, now)
            if key is None:
                return tried
            worked.add(key)
            try:
                tried += self.work_tenant(key)
            finally:
                self.release(key)

    def heartbeat(self) -> None:
        """Renew every lease this worker holds (called by its heartbeat thread)."""
        with self._held_lock:
            held = sorted(self._held)
        if not held:
            return
        now = self.runtime.now()
        with self.sessions() as db:
            for lease in db.scalars(select(ExportLease).where(ExportLease.key.in_(held))):
                if lease.holder == self.name:
                    lease.expires_at = now + self.lease
                elif self.holds(lease.key):
                    log.error("worker %s lost the lease of %s to %s", self.name, lease.key, lease.holder)
                    with self._held_lock:
                        self._held.discard(lease.key)
            db.commit()

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 3):
            try:
                self.heartbeat()
            except Exception:
                log.exception("lease heartbeat failed")

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        threading.Thread(target=self._beat, args=(stop,), name=f"{self.name}:heartbeat", daemon=True).start()
        while not stop.is_set():
            try:
                tried = self.run_once()
            except Exception:  # one bad sweep must not end the worker; the next one retries
                log.exception("export sweep failed")
                tried = 0
            if not tried:
                stop.wait(idle_seconds)


def run_workers(workers: Iterable[ExportWorker], stop: threading.Event) -> list[threading.Thread]:
    """Start each worker in a thread of its own; they stop when ``stop`` is set."""
    threads = []
    for worker in workers:
        thread = threading.Thread(target=worker.run, args=(stop,), name=worker.name, daemon=True)
        thread.start()
        threads.append(thread)
    return threads
