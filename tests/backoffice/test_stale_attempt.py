"""A person's decision made while a worker's attempt is between its transactions is never overwritten:
on PostgreSQL the attempt's fence turns the person away; on SQLite (no fence across processes) the worker
reads the export again under its lock before it sends, and stops when the export has moved meanwhile.

The interleaving is made at the boundary to Fortnox: the guard's look-up of the day's vouchers (the call
the attempt makes between reading the export and sending it) is answered only after the manager has
acted in a transaction of their own."""

from __future__ import annotations

import random
import threading

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Export, MappingEntry, Store, User
from backoffice.pipeline import states
from backoffice.pipeline.exporting import attempt
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.services.exports import WORKER_AT_IT, mark_booked
from backoffice.services.fortnox import Fortnox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days
from tests.backoffice.test_pipeline import ingest_day, lunch_voucher_day


class ManagerActsDuringLookUp(httpx.BaseTransport):
    """Fortnox, except that the first look-up of vouchers waits for ``act`` to run (and commit)."""

    def __init__(self, sandbox: httpx.BaseTransport, act) -> None:
        self.sandbox, self.act, self.acted = sandbox, act, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.startswith("/3/vouchers") and not self.acted:
            self.acted = True
            self.act()
        return self.sandbox.handle_request(request)


def test_a_day_marked_booked_while_the_worker_looked_it_up_is_not_sent(engine, fortnox, fortnox_state, world):
    connect_store(fortnox, world.store_a, world.manager_a)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    with Session(engine) as db:
        export_id = db.scalars(select(Export.id)).one()

    refusals = []

    def mark() -> None:
        with Session(engine) as db:
            export = db.get(Export, export_id)
            store = db.get(Store, world.store_a)
            manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
            refusals.append(mark_booked(db, store, manager, export))
            db.commit()

    transport = ManagerActsDuringLookUp(fortnox.transport, mark)
    racing = Fortnox(fortnox.settings, fortnox.sessions, transport)
    runtime = fortnox_runtime(racing, rng=random.Random(0))
    attempt(racing.sessions, export_id, runtime, "w1")

    assert transport.acted, "the attempt never looked the day up"
    with Session(engine) as db:
        export = db.get(Export, export_id)
        if engine.dialect.name == "postgresql":
            # The attempt's fence (an advisory lock across processes) turns the manager away instead.
            assert refusals == [WORKER_AT_IT]
            assert len(ledger(fortnox_state)) == 1 and export.external_ref.startswith("K")
        else:
            # SQLite: no fence across processes (the web app is another process); the attempt sees the
            # move and stops before sending.
            assert refusals == [None]
            assert ledger(fortnox_state) == []
            assert export.external_ref == "marked by hand"
            assert export.attempts == 0
        assert export.state == states.POSTED


def test_the_sweep_never_overwrites_a_persons_move_from_a_stale_row(engine, fortnox, world):
    """PostgreSQL, where the sweep and a person's request run side by side: while the manager's request
    holds the export (marking the day booked), the sweep passes it by instead of waiting and then
    writing "ready" over the manager's "posted" (which would send a day already in the books)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the manager's request holds the one write turn; the sweep waits for it")
    from backoffice.pipeline.service import Pipeline

    ingest_day(engine, world.store_a, world.manager_a, lunch_voucher_day(1))
    with Session(engine) as db:
        db.add(
            MappingEntry(store_id=world.store_a, kind="payment_methods", key="lunch_voucher", account=1580)
        )
        db.commit()  # the mapping is fixed: the next sweep would make the day ready
    pipeline = Pipeline(fortnox.settings, engine)
    with Session(engine) as db:  # the manager's request, as the exports view makes it
        export = db.scalars(select(Export)).one()
        db.refresh(export, with_for_update=True)
        assert export.state == states.NEEDS_ATTENTION
        store = db.get(Store, world.store_a)
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        assert mark_booked(db, store, manager, export) is None
        db.flush()
        swept = []
        sweeper = threading.Thread(target=lambda: swept.append(pipeline.sweep()))
        sweeper.start()
        sweeper.join(timeout=5)
        assert not sweeper.is_alive(), "the sweep waited for the manager's row"
        db.commit()
    assert swept == [0]
    assert pipeline.sweep() == 0
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        assert (export.state, export.external_ref) == (states.POSTED, "marked by hand")
