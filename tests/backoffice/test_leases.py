"""Tenant leases: a worker renews its lease from the moment its renewal is written, and a worker whose
lease went unrenewed for a lease's length (a starved heartbeat) stops working the tenant, which another
worker then takes and finishes, each day posted once (counted in the sandbox's ledger). A worker that
finds every due tenant held learns it from a read, without the write turn a claim takes."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker
from exporters.fortnox import sandbox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days

SANDBOX = "http://fortnox.sandbox"


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=9)


@pytest.fixture
def store(fortnox, world):
    connect_store(fortnox, world.store_a, world.manager_a)
    return world.store_a


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


def worker(fortnox, clock: Clock, name: str) -> ExportWorker:
    runtime = fortnox_runtime(fortnox, now=clock, rng=random.Random(2))
    return ExportWorker(fortnox.sessions, runtime, name, timedelta(seconds=60), random.Random(2))


def test_a_lease_left_unrenewed_for_its_length_is_given_up_and_the_next_worker_finishes_once(
    engine, fortnox, fortnox_state, store, world
):
    send_days(engine, store, world.manager_a, range(1, 4))
    clock = Clock()
    first = worker(fortnox, clock, "w1")
    key, ids = first.claim()
    assert len(ids) == 3
    clock.moment += timedelta(seconds=61)  # its heartbeat never got a turn
    assert not first.holds(key)
    assert first.work_tenant(key, ids) == 0
    assert ledger(fortnox_state) == []
    assert worker(fortnox, clock, "w2").run_once() == 3
    assert len(ledger(fortnox_state)) == 3


def test_a_renewal_runs_from_when_it_is_written_and_keeps_the_tenant(engine, fortnox, store, world):
    send_days(engine, store, world.manager_a, range(1, 3))
    clock = Clock()
    first = worker(fortnox, clock, "w1")
    key, _ids = first.claim()
    clock.moment += timedelta(seconds=50)
    first.heartbeat()
    clock.moment += timedelta(seconds=50)  # 100 s after the claim, 50 s after the renewal
    assert first.holds(key)
    assert worker(fortnox, clock, "w2").claim() is None
    clock.moment += timedelta(seconds=11)
    assert not first.holds(key)
    assert worker(fortnox, clock, "w2").claim()[0] == key


def test_a_tenant_let_go_rests_from_other_processes_for_the_rate_window(
    engine, fortnox, fortnox_state, store, world
):
    send_days(engine, store, world.manager_a, range(1, 3))
    clock = Clock()
    first = worker(fortnox, clock, "w1")
    key, ids = first.claim()
    assert first.work_tenant(key, ids) == 2
    send_days(engine, store, world.manager_a, range(3, 4))  # due at once: its posting time has passed
    elsewhere = worker(fortnox, clock, "other:w1")
    elsewhere.resting = "~another-machine:4242"  # as a worker of another process would be
    assert elsewhere.claim() is None  # its limiter has not seen the two days' requests
    assert worker(fortnox, clock, "w2").claim()[0] == key  # same process, same limiter: at once


def test_a_worker_finding_every_due_tenant_held_takes_no_write_turn(engine, fortnox, store, world):
    send_days(engine, store, world.manager_a, range(1, 3))
    clock = Clock()
    key, _ids = worker(fortnox, clock, "w1").claim()
    statements = []
    listener = lambda _conn, _cursor, statement, *_rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert worker(fortnox, clock, "w2").claim() is None
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements  # it looked
    writes = [s for s in statements if re.search(r"BEGIN IMMEDIATE|FOR UPDATE|INSERT|UPDATE ", s)]
    assert writes == []
    clock.moment += timedelta(seconds=61)  # the lease lapsed: the next look finds it free and claims it
    assert worker(fortnox, clock, "w2").claim()[0] == key
