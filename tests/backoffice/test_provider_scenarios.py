"""The export scenarios of the pipeline, each against the Fortnox sandbox and the Visma sandbox through
the real pipeline (ExportWorker and exporting.attempt, the provider the store's connection names), in
process: a normal day, a refusal with the system's own code, message and fix, an answer lost after the
voucher was stored (reconciled by marker, not posted twice), and a day already in the books without our
marker (held as a duplicate). Every "exactly once" is counted in the sandbox's own books."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import Export, FortnoxConnection, Store, User
from backoffice.pipeline import states
from backoffice.pipeline.runtime import accounting_runtime
from backoffice.pipeline.worker import ExportWorker
from backoffice.services.exports import send_now
from exporters.fortnox import sandbox as fortnox_sandbox
from exporters.visma import sandbox as visma_sandbox
from tests.backoffice.factories import z_report
from tests.backoffice.fortnox_world import send_days
from tests.backoffice.provider_world import (
    Books,
    connect,
    make_connector,
    payments_of,
    world_transport,
)
from tests.backoffice.test_pipeline import Clock, exports

PROVIDERS = ["fortnox", "visma"]
#: What each system answers when a voucher books on an inactive account: its code and words of its fix.
REFUSALS = {
    "fortnox": ("2099003", "1580", "Fortnox"),
    "visma": ("2000", "1580", "inactive account"),
}


@pytest.fixture
def fortnox_state():
    return fortnox_sandbox.seeded_state(seed=3)


@pytest.fixture
def visma_state():
    return visma_sandbox.seeded_state()


@pytest.fixture
def connector(engine, fortnox_state, visma_state):
    return make_connector(engine, world_transport(fortnox_state, visma_state))


@pytest.fixture(params=PROVIDERS)
def provider(request) -> str:
    return request.param


@pytest.fixture
def books(provider, fortnox_state, visma_state) -> Books:
    return Books(provider, fortnox_state if provider == "fortnox" else visma_state)


@pytest.fixture
def store(connector, provider, world) -> int:
    connected = connect(connector, world.store_a, world.manager_a, provider)
    assert connected.provider == provider and connected.switch is None
    return world.store_a


def worker(connector, clock=None, seed=0) -> ExportWorker:
    runtime = accounting_runtime(connector, now=clock or Clock(), rng=random.Random(seed))
    return ExportWorker(connector.sessions, runtime, "w1", rng=random.Random(seed))


def test_a_normal_day_is_posted_once_in_the_stores_system(engine, connector, books, store, world):
    send_days(engine, store, world.manager_a, range(1, 3))
    assert {e.channel for e in exports(engine)} == {books.provider}
    assert worker(connector).run_once() == 2
    assert [e.state for e in exports(engine)] == [states.POSTED, states.POSTED]
    posted = books.vouchers()
    assert len(posted) == 2
    assert sorted(e.external_ref for e in exports(engine)) == [ref for ref, _day, _text in posted]
    assert worker(connector).run_once() == 2  # the next sweep attaches the Z-reports (their PDFs)
    assert worker(connector).run_once() == 0
    assert len(books.vouchers()) == 2


def test_a_refusal_carries_the_systems_code_message_and_fix(engine, connector, books, store, world):
    code, in_message, in_fix = REFUSALS[books.provider]
    books.deactivate_account(1580)
    send_days(engine, store, world.manager_a, range(1, 2))
    worker(connector).run_once()
    (export,) = exports(engine)
    assert export.state == states.REJECTED
    assert export.error_code == code
    assert in_message in export.error_message
    assert in_fix in export.error_fix
    assert books.vouchers() == []


def test_an_answer_lost_after_storing_is_reconciled_by_marker(engine, connector, books, store, world):
    books.drop_answer_to_next_voucher()
    send_days(engine, store, world.manager_a, range(1, 2))
    clock = Clock()
    worker(connector, clock).run_once()
    (export,) = exports(engine)
    assert export.state == states.UNCERTAIN
    assert len(books.vouchers()) == 1
    clock.offset = timedelta(minutes=5)
    worker(connector, clock).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED
    ((ref, _day, description),) = books.vouchers()
    assert export.external_ref == ref and "[dk:" in description


def test_a_day_already_in_the_books_is_held_with_evidence(engine, connector, books, store, world):
    send_days(engine, store, world.manager_a, range(1, 2))
    (export,) = exports(engine)
    with Session(engine) as db:
        row = db.scalars(select(FortnoxConnection)).one()
        tokens = connector.token_store(row)
    access = tokens.load().access_token
    with connector.http(books.provider) as http:
        books.book_by_hand(http, access, export.business_date, payments_of(z_report(1)))
    worker(connector).run_once()
    (export,) = exports(engine)
    assert export.state == states.HELD_DUPLICATE
    assert export.evidence and "Import SIE" in export.evidence[0]["description"]
    assert books.vouchers() == []
    # The manager decides it is another day's booking and posts anyway: once, not held again.
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        assert send_now(db, db.get(Store, store), manager, export) is None
        db.commit()
    worker(connector).run_once()
    worker(connector).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED
    assert len(books.vouchers()) == 1
