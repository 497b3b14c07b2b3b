"""The store's posting time: a day is posted the morning after at the store's own clock, not the moment
it arrives; summer time moves that moment in UTC; a manager's "send now" does not wait for it. The
workers run on an injected clock (the runtime's ``now``); the voucher count is the sandbox's own ledger."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Export, Store, User
from backoffice.pipeline import states
from backoffice.pipeline.posting import posting_moment
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker
from backoffice.services.exports import send_now
from backoffice.services.ingest import ingest
from backoffice.services.mapping import settings_of
from backoffice.services.registers import authenticate
from exporters.fortnox import sandbox
from tests.backoffice.factories import enrolled_token, z_report
from tests.backoffice.fortnox_world import connect_store, ledger

SANDBOX = "http://fortnox.sandbox"


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=5)


@pytest.fixture
def store(fortnox, world):
    connect_store(fortnox, world.store_a, world.manager_a)
    return world.store_a


def at(text: str):
    """A clock standing still at ``text`` (ISO 8601 with its offset)."""
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return lambda: moment


def sweep_at(fortnox, clock) -> int:
    runtime = fortnox_runtime(fortnox, now=clock, rng=random.Random(1))
    return ExportWorker(fortnox.sessions, runtime, "w1", rng=random.Random(1)).run_once()


def receive_day(engine, store_id: int, manager: str, day: date, posting_time: str = "06:00") -> None:
    """The register sends the day's Z-report (the clock of its arrival does not matter: the moment is
    the day's)."""
    report = z_report(1)
    report["business_date"] = day.isoformat()
    for name in ("opened_at", "closed_at", "generated_at"):
        report[name] = day.isoformat() + report[name][10:]
    with Session(engine) as db:
        store = db.get(Store, store_id)
        settings_of(db, store).posting_time = posting_time
        user = db.scalars(select(User).where(User.email == manager)).one()
        register = authenticate(db, enrolled_token(db, store, user))
        assert ingest(db, register, json.dumps(report).encode()).status == 201
        db.commit()


def the_export(engine) -> Export:
    with Session(engine) as db:
        return db.scalars(select(Export)).one()


@pytest.mark.parametrize(
    ("day", "posting_time", "due"),
    [
        (date(2026, 1, 14), "06:00", "2026-01-15T05:00:00+00:00"),  # winter: CET, UTC+1
        (date(2026, 7, 14), "06:00", "2026-07-15T04:00:00+00:00"),  # summer: CEST, UTC+2
        (date(2026, 3, 28), "06:00", "2026-03-29T04:00:00+00:00"),  # the night the clock goes forward
        (date(2026, 10, 24), "06:00", "2026-10-25T05:00:00+00:00"),  # the night the clock goes back
        (date(2026, 3, 28), "02:30", "2026-03-29T01:30:00+00:00"),  # skipped: 03:30 on the new clock
        (date(2026, 10, 24), "02:30", "2026-10-25T00:30:00+00:00"),  # twice: the first (summer) one
        (date(2026, 12, 31), "00:00", "2026-12-31T23:00:00+00:00"),  # midnight into the new year
    ],
)
def test_the_posting_moment_is_the_next_morning_on_the_stores_clock(day, posting_time, due):
    assert posting_moment(day, posting_time, "Europe/Stockholm") == datetime.fromisoformat(due)


def test_a_day_arriving_at_2330_waits_for_the_posting_time_then_is_sent_once(
    engine, fortnox, fortnox_state, store, world
):
    receive_day(engine, store, world.manager_a, date(2026, 1, 14))
    assert the_export(engine).state == states.READY
    for moment in ("2026-01-14T23:30:00+01:00", "2026-01-15T05:59:59+01:00"):
        assert sweep_at(fortnox, at(moment)) == 0
        assert ledger(fortnox_state) == []
    assert sweep_at(fortnox, at("2026-01-15T06:00:00+01:00")) == 1
    assert the_export(engine).state == states.POSTED
    sweep_at(fortnox, at("2026-01-15T07:00:00+01:00"))  # may retry the day's PDF attachment, not the day
    assert len(ledger(fortnox_state)) == 1


@pytest.mark.parametrize(
    ("day", "before", "after"),
    [
        # Summer time begins on 29 March: 06:00 is 04:00 UTC that morning, no longer 05:00.
        (date(2026, 3, 28), "2026-03-29T05:59:00+02:00", "2026-03-29T06:00:00+02:00"),
        # Summer time ends on 25 October: 06:00 is 05:00 UTC that morning, no longer 04:00.
        (date(2026, 10, 24), "2026-10-25T05:59:00+01:00", "2026-10-25T06:00:00+01:00"),
    ],
)
def test_on_the_nights_the_clock_changes_the_day_waits_for_six_on_the_new_clock(
    engine, fortnox, fortnox_state, store, world, day, before, after
):
    receive_day(engine, store, world.manager_a, day)
    assert sweep_at(fortnox, at(before)) == 0
    assert ledger(fortnox_state) == []
    assert sweep_at(fortnox, at(after)) == 1
    assert the_export(engine).state == states.POSTED
    assert len(ledger(fortnox_state)) == 1


def test_send_now_does_not_wait_for_the_posting_time(engine, fortnox, fortnox_state, store, world):
    receive_day(engine, store, world.manager_a, date(2026, 1, 14), posting_time="09:00")
    night = at("2026-01-14T23:45:00+01:00")
    assert sweep_at(fortnox, night) == 0
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        assert send_now(db, db.get(Store, store), manager, export) is None
        db.commit()
    assert sweep_at(fortnox, night) == 1
    assert the_export(engine).state == states.POSTED
    assert len(ledger(fortnox_state)) == 1


def test_a_day_whose_posting_time_has_passed_is_sent_at_once(engine, fortnox, fortnox_state, store, world):
    receive_day(engine, store, world.manager_a, date(2026, 1, 14), posting_time="23:59")
    assert sweep_at(fortnox, at("2026-01-20T12:00:00+01:00")) == 1
    assert len(ledger(fortnox_state)) == 1


def test_without_a_posting_time_a_day_is_sent_as_soon_as_it_arrives(
    engine, fortnox, fortnox_state, store, world
):
    assert posting_moment(date(2026, 1, 14), "", "Europe/Stockholm") is None
    receive_day(engine, store, world.manager_a, date(2026, 1, 14), posting_time="")
    assert the_export(engine).next_attempt_at is None
    assert sweep_at(fortnox, at("2026-01-14T23:31:00+01:00")) == 1
    assert len(ledger(fortnox_state)) == 1
