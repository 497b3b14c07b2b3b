"""Workers: claim a tenant, post its due exports one after another, let go.

Exports are claimed per tenant (one accounting company), not per row: one tenant's calls must be
serialised so its rate limit and its single-use refresh token are never raced, while different tenants
run in parallel, in threads of one process or in any number of processes on any number of machines.
A claim is a lease row taken with ``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite the write lock of
``BEGIN IMMEDIATE`` does the same), so two workers never hold the same tenant. A heartbeat thread renews
the leases a worker holds for as long as its process lives, however long one attempt takes (a slow
Fortnox, a full rate-limit window); only a dead process lets its lease lapse. Whoever takes a lapsed
lease finds the dead holder's ``posting`` exports and reconciles them by marker before sending anything.

A live worker's lease can lapse too, if its heartbeat is starved (on a busy SQLite a renewal that gets
no write turn in 15 s fails; one process with hundreds of threads once lost a lease that way): the
heartbeat retries within a second after a failure, renews from the moment it has its turn, and a worker
whose last renewal is older than the lease stops working the tenant before its next export. Exactly once
never rests on the lease: the export fence (fence.py) and the reconcile by marker do.

A tenant let go after requests rests for Fortnox's rate window (REST) from workers of other processes,
whose limiters have not counted those requests.

Per tenant turn three transactions besides the attempts: a read finding the due tenants whose lease is
free, the claim (the lease, the tenant's due exports) and, when nothing more is due, the look that finds
so and lets the lease go.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backoffice.db import begin_read
from backoffice.models import Export, ExportLease, FortnoxConnection, Store
from backoffice.pipeline import attachments, states
from backoffice.pipeline.exporting import ExportRuntime, attempt

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
#: How long a tenant let go after requests rests from other processes: Fortnox's rate window (25 requests
#: per 5 s). Each process counts a tenant's requests in a limiter of its own, so a holder in another
#: process would start on a window the last one may have filled (answers 429). Workers of the process
#: that let it go may take it at once: their limiter has seen those requests.
REST = timedelta(seconds=5)


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
        rest: timedelta = REST,
    ) -> None:
        self.sessions = sessions
        self.runtime = runtime
        self.name = name
        self.lease = lease
        self.rest = rest
        self.rng = rng or random.Random()
        #: The lease's holder while the tenant rests after this process let it go (see REST).
        self.resting = f"~{socket.gethostname()}:{os.getpid()}"
        #: The leases this worker holds, with when each was last written (claimed or renewed).
        self._held: dict[str, datetime] = {}
        self._held_lock = threading.Lock()
        #: Set when the process is told to stop: the tenant in hand is let go after the attempt under way
        #: (a backlog of Z-report attachments, say, is left for the next worker).
        self.stopping = threading.Event()

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

    def claim(self, skip: Iterable[str] = ()) -> tuple[str, list[int]] | None:
        """Take the lease of a tenant with due exports that nobody holds (none of ``skip``) and read its
        due exports, in one transaction after a read that finds the candidates; None if every such tenant
        is held.

        ``SKIP LOCKED`` lets many workers claim at once without waiting on each other's rows, and the
        random order spreads them over the tenants instead of all trying the first. The lease runs from
        the clock read inside the transaction, after any wait for it, not from before the wait.
        """
        keys = self._free_due_tenants(skip)
        if not keys:
            return None
        with self.sessions() as db:
            db.connection()  # begin: on SQLite this waits for the write turn
            now = self.runtime.now()
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
                .where(
                    ExportLease.key.in_(keys),
                    or_(ExportLease.expires_at < now, ExportLease.holder == self.resting),
                )
                .order_by(func.random())
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if lease is None:
                db.rollback()
                return None
            lease.holder, lease.expires_at = self.name, now + self.lease
            key = lease.key
            ids = self._due_exports(db, key, now)
            db.commit()
        self._hold(key, now)
        return key, ids

    def _free_due_tenants(self, skip: Iterable[str]) -> list[str]:
        """The tenants with due exports (none of ``skip``) whose lease looks free: one read, without the
        write turn a claim waits for, and the claim's only look at the whole backlog. Idle workers look
        every second while others work, and most looks find every such tenant held. A tenant seen free
        here may be taken, or finished, before the claim: the claim takes only a lease still free, and a
        tenant with nothing left due is let go at once (see :meth:`work_tenant`)."""
        with self.sessions() as db:
            begin_read(db)
            now = self.runtime.now()
            due = set(self.due_tenants(db, now)) - set(skip)
            if not due:
                return []
            held = set(
                db.scalars(
                    select(ExportLease.key).where(
                        ExportLease.key.in_(due),
                        ExportLease.expires_at >= now,
                        ExportLease.holder != self.resting,
                    )
                )
            )
            db.rollback()
        return sorted(due - held)

    def _hold(self, key: str, renewed_at: datetime) -> None:
        with self._held_lock:
            self._held[key] = renewed_at

    def holds(self, key: str) -> bool:
        """Whether this worker still holds ``key``'s lease: the heartbeat has not seen another holder, and
        the last renewal written is younger than the lease (a heartbeat starved for longer may have let
        it lapse, and another worker may hold it now)."""
        with self._held_lock:
            renewed_at = self._held.get(key)
        return renewed_at is not None and self.runtime.now() < renewed_at + self.lease

    def _let_go(self, db: Session, key: str, rest: bool = False) -> None:
        """Give the lease up; after requests (``rest``) other processes wait out the rate window."""
        with self._held_lock:
            self._held.pop(key, None)
        lease = db.get(ExportLease, key, with_for_update=True)
        if lease is not None and lease.holder == self.name:
            now = self.runtime.now()
            if rest and self.rest:
                lease.holder, lease.expires_at = self.resting, now + self.rest
            else:
                lease.holder, lease.expires_at = "", now - self.lease

    def release(self, key: str, rest: bool = False) -> None:
        with self.sessions() as db:
            self._let_go(db, key, rest)
            db.commit()

    def _due_exports(self, db: Session, key: str, now: datetime) -> list[int]:
        query = (
            select(Export.id)
            .join(Store, Store.id == Export.store_id)
            .outerjoin(FortnoxConnection, FortnoxConnection.store_id == Store.id)
            .where(tenant_key() == key, due_condition(now))
            .order_by(Export.business_date, Export.id)
        )
        return list(db.scalars(query))

    def _next_or_let_go(self, key: str, tried: set[int]) -> list[int]:
        """The tenant's exports due now and not tried in this turn; when there are none, the lease is let
        go in the same transaction."""
        with self.sessions() as db:
            ids = [i for i in self._due_exports(db, key, self.runtime.now()) if i not in tried]
            if not ids:
                self._let_go(db, key, rest=bool(tried))
            db.commit()
        return ids

    def work_tenant(self, key: str, ids: list[int]) -> int:
        """Post the tenant's due exports (``ids`` first) in date order while holding its lease, then let
        the lease go; return how many were tried.

        Each export is tried at most once per call: one that stays due (an error we did not foresee) waits
        for the next sweep instead of spinning here.
        """
        tried: set[int] = set()
        if not ids:  # done by someone else between the claim's reads
            self.release(key)
            return 0
        try:
            while ids:
                for export_id in ids:
                    if not self.holds(key):
                        log.error("worker %s stops on %s: its lease was lost or not renewed", self.name, key)
                        self.release(key, rest=bool(tried))
                        return len(tried)
                    if self.stopping.is_set():
                        self.release(key, rest=bool(tried))
                        return len(tried)
                    tried.add(export_id)
                    attempt(self.sessions, export_id, self.runtime, self.name)
                ids = self._next_or_let_go(key, tried)
        except BaseException:
            self.release(key, rest=bool(tried))
            raise
        return len(tried)

    def run_once(self) -> int:
        """Claim free tenants with due exports one after another and work each; return exports tried."""
        tried = 0
        worked: set[str] = set()
        while not self.stopping.is_set():
            claimed = self.claim(worked)
            if claimed is None:
                return tried
            key, ids = claimed
            worked.add(key)
            tried += self.work_tenant(key, ids)
        return tried

    def heartbeat(self) -> None:
        """Renew every lease this worker holds (called by its heartbeat thread). The new expiry runs from
        the clock read once the transaction has its turn, so time spent waiting for it is not lost."""
        with self._held_lock:
            held = sorted(self._held)
        if not held:
            return
        with self.sessions() as db:
            db.connection()  # begin: on SQLite this waits for the write turn
            now = self.runtime.now()
            # One conditional UPDATE: a lease let go (or taken over) since ``held`` was read is left alone,
            # never given a fresh expiry with nobody holding it.
            db.execute(
                update(ExportLease)
                .where(ExportLease.key.in_(held), ExportLease.holder == self.name)
                .values(expires_at=now + self.lease)
            )
            holders = dict(
                db.execute(select(ExportLease.key, ExportLease.holder).where(ExportLease.key.in_(held))).all()
            )
            db.commit()
        renewed = [key for key in held if holders.get(key) == self.name]
        for key in held:
            holder = holders.get(key)
            if holder != self.name and self.holds(
                key
            ):  # not let go by us: taken (and maybe let go) by another
                log.error("worker %s lost the lease of %s to %s", self.name, key, holder)
                with self._held_lock:
                    self._held.pop(key, None)
        with self._held_lock:
            for key in renewed:
                if key in self._held:
                    self._held[key] = now

    def _beat(self, stop: threading.Event) -> None:
        """Renew every quarter of the lease; after a failed renewal (e.g. no write turn in time on a busy
        SQLite) try again within a second instead of a quarter lease later."""
        pause = self.lease.total_seconds() / 4
        while not stop.wait(pause):
            try:
                self.heartbeat()
                pause = self.lease.total_seconds() / 4
            except Exception:
                log.exception("lease heartbeat failed; trying again in a second")
                pause = min(1.0, self.lease.total_seconds() / 4)

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        self.stopping = stop
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
