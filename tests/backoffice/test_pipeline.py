"""The export pipeline against the Fortnox sandbox (in process), on SQLite and PostgreSQL: a normal day,
a refusal with Fortnox's code and the fix, an answer lost after the voucher was stored, a worker that died
mid-send, a day already booked through a SIE import, and a sandbox failing a fifth of its calls.
Every assertion about "exactly once" counts vouchers in the sandbox's own ledger."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import AuditEntry, Export, FortnoxConnection, MappingEntry, Store, User, ZReportRecord
from backoffice.pipeline import states
from backoffice.pipeline.exporting import attempt
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker
from backoffice.services.exports import send_now
from backoffice.services.fortnox import (
    DbTokenStore,
)
from backoffice.services.ingest import ingest
from backoffice.services.mapping import settings_of
from backoffice.services.registers import authenticate
from exporters.fortnox import sandbox
from tests.backoffice.factories import enrolled_token, z_report
from tests.backoffice.fortnox_world import TENANT, connect_store, ledger, send_days

SANDBOX = "http://fortnox.sandbox"


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=3)


@pytest.fixture
def store(fortnox, world):
    connect_store(fortnox, world.store_a, world.manager_a)
    return world.store_a


def exports(engine) -> list[Export]:
    with Session(engine) as db:
        return list(db.scalars(select(Export).order_by(Export.business_date)))


class Clock:
    """The workers' clock: real time plus what the test moves it by (retry waits, stale claims)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def worker(fortnox, clock=None, name="w1", seed=0, guard=True) -> ExportWorker:
    runtime = fortnox_runtime(fortnox, now=clock or Clock(), rng=random.Random(seed), duplicate_guard=guard)
    return ExportWorker(fortnox.sessions, runtime, name, rng=random.Random(seed))


def test_a_normal_day_is_posted_once_and_audited(engine, fortnox, fortnox_state, store, world):
    send_days(engine, store, world.manager_a, range(1, 3))
    assert worker(fortnox).run_once() == 2
    assert [e.state for e in exports(engine)] == [states.POSTED, states.POSTED]
    assert len(ledger(fortnox_state)) == 2
    assert all(e.external_ref and e.external_ref.startswith("K") for e in exports(engine))
    assert worker(fortnox).run_once() == 2  # the next sweep attaches the Z-reports (their PDFs)
    assert worker(fortnox).run_once() == 0  # nothing due any more
    assert len(ledger(fortnox_state)) == 2
    with Session(engine) as db:
        actions = [a.action for a in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("export.posting") == 2 and actions.count("export.posted") == 2


def test_a_refusal_carries_fortnox_code_and_the_fix(engine, fortnox, fortnox_state, store, world):
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = False
    send_days(engine, store, world.manager_a, range(1, 2))
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.REJECTED
    assert "1580" in export.error_message
    assert export.error_fix
    assert ledger(fortnox_state) == []


def test_an_answer_lost_after_storing_is_reconciled_not_sent_again(
    engine, fortnox, fortnox_state, store, world
):
    fortnox_state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")
    send_days(engine, store, world.manager_a, range(1, 2))
    clock = Clock()
    worker(fortnox, clock).run_once()
    (export,) = exports(engine)
    assert export.state == states.UNCERTAIN
    assert len(ledger(fortnox_state)) == 1
    clock.offset = timedelta(minutes=5)
    worker(fortnox, clock).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED
    assert len(ledger(fortnox_state)) == 1


def test_a_worker_that_died_mid_send_is_reconciled(engine, fortnox, fortnox_state, store, world):
    send_days(engine, store, world.manager_a, range(1, 2))
    clock = Clock()
    worker(fortnox, clock).run_once()
    assert len(ledger(fortnox_state)) == 1
    # As if the worker died after Fortnox stored the voucher and before it wrote "posted".
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        export.state, export.claimed_by, export.claimed_at = states.POSTING, "dead", datetime(2026, 1, 1)
        export.external_ref = None
        db.commit()
    clock.offset = timedelta(minutes=5)
    worker(fortnox, clock, name="w2").run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED and export.external_ref
    assert len(ledger(fortnox_state)) == 1


def test_a_day_already_booked_by_a_sie_import_is_held_with_evidence(
    engine, fortnox, fortnox_state, store, world
):
    # The register's own SIE export was imported into series A: same payments, no marker.
    send_days(engine, store, world.manager_a, range(1, 2))
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        day = export.business_date
    body = {
        "Voucher": {
            "VoucherSeries": "K",
            "TransactionDate": day.isoformat(),
            "Description": "Import SIE kassarapport",
            "VoucherRows": [
                {"Account": 1910, "Debit": 395.60, "Credit": 0},
                {"Account": 1580, "Debit": 1050.00, "Credit": 0},
                {"Account": 3001, "Debit": 0, "Credit": 1445.60},
            ],
        }
    }
    with Session(engine) as db:
        row_id = db.scalars(select(FortnoxConnection.id)).one()
    access = DbTokenStore(fortnox.sessions, row_id, fortnox.cipher).load().access_token
    with httpx.Client(transport=fortnox.transport, base_url=SANDBOX) as raw:
        answer = raw.post("/3/vouchers", json=body, headers={"Authorization": f"Bearer {access}"})
    assert answer.status_code == 201, answer.text
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.HELD_DUPLICATE
    assert export.evidence and "Import SIE" in export.evidence[0]["description"]
    assert ledger(fortnox_state) == []
    # The manager looks, decides it is not the same day, and posts anyway: posted once, not held again.
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        assert send_now(db, db.get(Store, store), manager, export) is None
        db.commit()
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED
    assert len(ledger(fortnox_state)) == 1


@pytest.mark.parametrize("seed", [11, 12])
def test_a_fifth_of_calls_failing_still_posts_every_day_exactly_once(
    engine, fortnox, fortnox_state, store, world, seed
):
    for kind in ("5xx", "429", "timeout", "drop", "store_then_drop"):
        fortnox_state.knobs.add_fault(kind, rate=0.04, path="/3/")
    fortnox_state.knobs.reseed(seed)
    send_days(engine, store, world.manager_a, range(1, 9))
    clock = Clock()
    for _round in range(60):
        worker(fortnox, clock, seed=seed).run_once()
        if all(e.state == states.POSTED for e in exports(engine)):
            break
        clock.offset += timedelta(hours=1)
    assert [e.state for e in exports(engine)] == [states.POSTED] * 8
    markers = [v.description.rsplit("[", 1)[1] for v in ledger(fortnox_state)]
    assert len(markers) == 8 and len(set(markers)) == 8


def test_the_fence_keeps_a_second_attempt_off_an_export(engine, fortnox, store, world):
    # Leases keep workers apart, but only the fence makes it impossible for two attempts to overlap:
    # on PostgreSQL an advisory lock of its own connection (dropped with it), on SQLite a process lock.
    send_days(engine, store, world.manager_a, range(1, 2))
    (export,) = exports(engine)
    runtime = fortnox_runtime(fortnox)
    with runtime.fence.hold(export.id) as first:
        assert first
        with runtime.fence.hold(export.id) as second:
            assert not second
        assert attempt(fortnox.sessions, export.id, runtime, "intruder") == "busy"
    assert exports(engine)[0].state == states.READY
    with runtime.fence.hold(export.id) as again:
        assert again


def test_a_new_store_is_told_what_to_do_next_in_order(engine, fortnox, world):
    from backoffice.services.overview import first_run_steps

    def steps():
        with Session(engine) as db:
            return [(step.label, step.done) for step in first_run_steps(db, db.get(Store, world.store_a))]

    assert steps() == [
        ("Connect Fortnox or Visma", False),
        ("Choose the voucher series", False),
        ("Map the accounts", False),
        ("Enroll the register", False),
    ]
    connect_store(fortnox, world.store_a, world.manager_a)  # also picks series K
    assert [done for _label, done in steps()] == [True, True, False, False]
    with Session(engine) as db:
        db.add(MappingEntry(store_id=world.store_a, kind="cash_difference", key="", account=3740))
        db.commit()
    send_days(engine, world.store_a, world.manager_a, range(1, 2))  # enrolls a register
    assert steps() == []


def invoice_day(number: int, tip: str = "0.00") -> dict:
    """A day where one lunch (Mat 12 %: 100,00 + 12,00, and a tip) was sold on invoice to customer 1."""
    day = z_report(number)
    day["sales"][1] = {"product_group": "Mat", "vat_rate": "12", "net": "900.00", "vat": "108.00"}
    day["payments"].append({"method": "invoice", "amount": str(Decimal("112.00") + Decimal(tip))})
    if Decimal(tip):
        day["tips"].append({"method": "invoice", "amount": tip})
    day["invoice_sales"] = [
        {
            "receipt_number": f"R{number}",
            "customer": {"number": "1", "name": "Lunchklubben AB"},
            "lines": [
                {
                    "product_group": "Mat",
                    "vat_rate": "12",
                    "net": "100.00",
                    "vat": "12.00",
                    "description": "Lunch",
                }
            ],
            "tip": tip,
        }
    ]
    return day


def lunch_voucher_day(number: int) -> dict:
    """A day where 50,00 of the cash was paid with lunch vouchers, a key the store has not mapped: its
    export waits for the mapping (needs_attention) until ``lunch_voucher`` is mapped."""
    day = z_report(number)
    day["payments"] = [
        {"method": "cash", "amount": "345.60"},
        {"method": "lunch_voucher", "amount": "50.00"},
        {"method": "card", "amount": "1050.00"},
    ]
    return day


def set_sync(engine, store_id: int, **values) -> None:
    with Session(engine) as db:
        sync = settings_of(db, db.get(Store, store_id))
        for name, value in values.items():
            setattr(sync, name, value)
        db.commit()


def ingest_day(engine, store_id: int, manager: str, day: dict) -> None:
    with Session(engine) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == manager)).one()
        register = authenticate(db, enrolled_token(db, store, user, register_id="Kassa 1"))
        assert ingest(db, register, json.dumps(day).encode()).status == 201
        db.commit()


@pytest.mark.parametrize("as_order", [False, True])
def test_sales_on_invoice_become_one_invoice_or_order_and_leave_the_voucher(
    engine, fortnox, fortnox_state, store, world, as_order
):
    set_sync(engine, store, invoicing=True, use_order_instead_of_invoice=as_order, allow_tip_on_invoice=True)
    ingest_day(engine, store, world.manager_a, invoice_day(1, tip="10.00"))
    worker(fortnox).run_once()
    # Sent again after the answer was lost: the invoice is found by its marker, not created twice.
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        assert export.state == states.POSTED, export.error_message
        export.state, export.attempts = states.UNCERTAIN, 2
        db.commit()
    worker(fortnox).run_once()
    books = fortnox_state.tenants[TENANT]
    documents = list((books.orders if as_order else books.invoices).values())
    assert len(documents) == 1
    assert "[dk:" in documents[0]["ExternalInvoiceReference1"]
    rows = documents[0]["OrderRows" if as_order else "InvoiceRows"]
    assert any("10" in str(row.get("Price")) for row in rows), "the tip row"
    (voucher,) = ledger(fortnox_state)
    accounts = {row.account for row in voucher.rows}
    assert 1580 in accounts and 1510 not in accounts  # the invoice books its own sale, not the voucher
    # The voucher's sales exclude the invoiced lunch: Mat 12 % 900,00 - 100,00 on 3002.
    assert {row.account: row.credit for row in voucher.rows}[3002] == Decimal("800.00")


def test_a_tip_on_invoice_without_permission_needs_attention_with_the_reason(
    engine, fortnox, fortnox_state, store, world
):
    set_sync(engine, store, invoicing=True, allow_tip_on_invoice=False)
    ingest_day(engine, store, world.manager_a, invoice_day(1, tip="10.00"))
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.NEEDS_ATTENTION
    assert "tip" in export.error_message and "Allow tip on invoice" in export.error_fix
    assert ledger(fortnox_state) == []


def test_a_correction_after_a_mapping_change_reverses_the_voucher_and_posts_a_new_one(
    engine, fortnox, fortnox_state, store, world
):
    from backoffice.pipeline.corrections import correct

    send_days(engine, store, world.manager_a, range(1, 2))
    worker(fortnox).run_once()
    # The store decides card payments go straight to the bank account.
    with Session(engine) as db:
        db.add(MappingEntry(store_id=store, kind="payment_methods", key="card", account=1930))
        export = db.scalars(select(Export)).one()
        user = db.scalars(select(User).where(User.email == world.manager_a)).one()
        assert correct(db, db.get(Store, store), user, export, datetime.now(UTC)) is None
        assert correct(db, db.get(Store, store), user, export, datetime.now(UTC)) is not None  # not twice
        db.commit()
    worker(fortnox).run_once()
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED and export.revision == 1
    original, reversal, corrected = sorted(ledger(fortnox_state), key=lambda v: v.number)
    assert {(r.account, r.debit, r.credit) for r in reversal.rows} == {
        (r.account, r.credit, r.debit) for r in original.rows
    }
    assert 1930 in {r.account for r in corrected.rows} and 1580 not in {r.account for r in corrected.rows}
    assert len({original.description, reversal.description, corrected.description}) == 3
    with Session(engine) as db:
        export = db.get(Export, export.id)
        assert correct(db, db.get(Store, store), user, export, datetime.now(UTC)) == (
            "the voucher would be the same as the one in the books"
        )


def test_money_is_exact_in_the_database_never_a_float(engine, world):
    # PostgreSQL keeps NUMERIC; SQLite has none, so money is kept there as whole öre (an INTEGER).
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            stored = connection.exec_driver_sql(
                "SELECT typeof(gross_sales), gross_sales FROM z_reports"
            ).one()
            assert stored == ("integer", 139600)  # 400 + 100 + 800 + 96 kronor
        with Session(bind=connection) as db:
            record = db.scalars(select(ZReportRecord)).one()
            assert record.gross_sales == Decimal("1396.00") and isinstance(record.gross_sales, Decimal)


def test_a_posted_day_sent_again_creates_no_second_invoice_and_invoices_carry_the_sales_day(
    engine, fortnox, fortnox_state, store, world
):
    from backoffice.services.exports import resend

    set_sync(engine, store, invoicing=True)
    ingest_day(engine, store, world.manager_a, invoice_day(1))
    # The invoice goes through, then Fortnox refuses the voucher (an inactive account).
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = False
    worker(fortnox).run_once()
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = True
    with Session(engine) as db:
        export = db.scalars(select(Export)).one()
        assert export.state == states.REJECTED
        # The manager fixed the account in Fortnox and sends the day again.
        manager = db.scalars(select(User).where(User.email == world.manager_a)).one()
        resend(db, db.get(Store, store), manager, export)
        db.commit()
        day = export.business_date
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert export.state == states.POSTED
    (invoice,) = fortnox_state.tenants[TENANT].invoices.values()
    assert invoice["InvoiceDate"] == day.isoformat()
    assert len(ledger(fortnox_state)) == 1


def test_the_nightly_check_alerts_a_missing_day_once_at_the_stores_morning_and_resolves_it(engine, world):
    from datetime import time as time_of_day

    from backoffice.models import Alert
    from backoffice.pipeline.jobs import NO_Z_REPORT, check_missing_z_reports

    sessions = make_sessionmaker(engine)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))  # Z 1 is 2026-03-14; enrolls a register
    check_at = time_of_day(6, 0)
    # 2026-03-16 05:30 in Stockholm: 2026-03-15 is missing, but it is not morning yet.
    assert check_missing_z_reports(sessions, datetime(2026, 3, 16, 4, 30, tzinfo=UTC), check_at) == []
    # 07:00 in Stockholm: one alert, and asking again makes no second one.
    morning = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
    assert check_missing_z_reports(sessions, morning, check_at) == [(world.store_a, date(2026, 3, 15))]
    check_missing_z_reports(sessions, morning, check_at)
    with Session(engine) as db:
        alerts = db.scalars(select(Alert).where(Alert.kind == NO_Z_REPORT)).all()
        assert [(a.message, a.resolved_at is None) for a in alerts] == [
            ("No Z-report received for 2026-03-15", True)
        ]
    send_days(engine, world.store_a, world.manager_a, range(2, 3))  # Z 2 is 2026-03-15, late
    check_missing_z_reports(sessions, morning + timedelta(hours=1), check_at)
    with Session(engine) as db:
        assert db.scalars(select(Alert).where(Alert.kind == NO_Z_REPORT)).one().resolved_at is not None


def test_the_sweep_readies_a_day_once_its_mapping_is_fixed_and_audits_it(engine, fortnox, world):
    from backoffice.pipeline.service import Pipeline

    ingest_day(engine, world.store_a, world.manager_a, lunch_voucher_day(1))
    (export,) = exports(engine)
    assert export.state == states.NEEDS_ATTENTION and "lunch_voucher" in export.error_message
    pipeline = Pipeline(fortnox.settings, engine)
    assert pipeline.sweep() == 0  # nothing changed: still unmapped
    with Session(engine) as db:
        db.add(
            MappingEntry(store_id=world.store_a, kind="payment_methods", key="lunch_voucher", account=1580)
        )
        db.commit()
    assert pipeline.sweep() == 1
    (export,) = exports(engine)
    assert export.state == states.READY and export.error_message is None
    with Session(engine) as db:
        assert db.scalars(select(AuditEntry.action).where(AuditEntry.action == "export.rechecked")).one()


def test_the_sweep_leaves_a_day_waiting_for_a_person_alone(engine, fortnox, fortnox_state, store, world):
    """A day refused for a reason only a person can fix (here tips on invoice turned off) is not sent
    again by every sweep: no loop of re-readied attempts, no audit entry a minute."""
    from backoffice.pipeline.service import Pipeline

    set_sync(engine, store, invoicing=True, allow_tip_on_invoice=False)
    ingest_day(engine, store, world.manager_a, invoice_day(1, tip="10.00"))
    worker(fortnox).run_once()
    pipeline = Pipeline(fortnox.settings, engine)
    for _ in range(3):
        assert pipeline.sweep() == 0
        assert worker(fortnox).run_once() == 0
    (export,) = exports(engine)
    assert export.state == states.NEEDS_ATTENTION and export.attempts == 0
    with Session(engine) as db:
        assert not db.scalars(select(AuditEntry).where(AuditEntry.action == "export.rechecked")).all()


def test_the_sweep_readies_a_day_that_waited_for_a_reconnect_once_the_store_is_connected(
    engine, fortnox, fortnox_state, store, world
):
    from backoffice.pipeline.service import Pipeline

    def set_status(status: str) -> None:
        with Session(engine) as db:
            db.scalars(
                select(FortnoxConnection).where(FortnoxConnection.store_id == store)
            ).one().status = status
            db.commit()

    set_status("reconnect_needed")
    send_days(engine, store, world.manager_a, range(1, 2))
    worker(fortnox).run_once()
    (export,) = exports(engine)
    assert (export.state, export.error_code) == (states.NEEDS_ATTENTION, states.WAITS_FOR_RECONNECT)
    pipeline = Pipeline(fortnox.settings, engine)
    assert pipeline.sweep() == 0  # still not connected: left waiting
    set_status("connected")
    assert pipeline.sweep() == 1
    assert worker(fortnox).run_once() == 1
    assert [e.state for e in exports(engine)] == [states.POSTED]
    assert len(ledger(fortnox_state)) == 1
