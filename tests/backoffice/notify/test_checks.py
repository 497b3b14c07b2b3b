"""The checks that open and resolve alerts from the state of things, each event written once: a refresh
token about to die unrefreshed, a connection to reconnect, a register gone silent, a preflight turning
red and green again; and an export's alert opened on refusal, resolved when posted."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import Export, FortnoxConnection, Register
from backoffice.notify.checks import check_connections, check_silent_registers
from backoffice.notify.models import NotificationEvent
from backoffice.pipeline import states
from backoffice.pipeline.exporting import attempt
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.services.alerts import raise_alert
from backoffice.services.fortnox import save_preflight
from exporters.providers import CheckResult
from tests.backoffice.fortnox_world import send_days

WEEK = timedelta(days=7)


def events(engine, kind: str) -> list[str]:
    with Session(engine) as db:
        return list(
            db.scalars(
                select(NotificationEvent.event)
                .where(NotificationEvent.kind == kind)
                .order_by(NotificationEvent.id)
            )
        )


def test_a_token_about_to_die_unrefreshed_and_a_connection_to_reconnect(engine, world):
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
    naive = now.replace(tzinfo=None)
    with Session(engine) as db:
        db.add(
            FortnoxConnection(
                store_id=world.store_a, status="connected", refresh_issued_at=naive - timedelta(days=30)
            )
        )
        db.commit()
    check_connections(sessions, now, WEEK)
    assert events(engine, "token_expiring") == []  # 15 days left
    for _ in range(2):
        check_connections(sessions, now + timedelta(days=9), WEEK)  # 6 days left, never refreshed
    assert events(engine, "token_expiring") == ["opened"]
    with Session(engine) as db:  # the keep-alive refreshed it
        db.execute(update(FortnoxConnection).values(refresh_issued_at=naive + timedelta(days=9)))
        db.commit()
    check_connections(sessions, now + timedelta(days=9, hours=1), WEEK)
    assert events(engine, "token_expiring") == ["opened", "resolved"]

    with Session(engine) as db:
        db.execute(update(FortnoxConnection).values(status="reconnect_needed", last_error="invalid_grant"))
        db.commit()
    check_connections(sessions, now, WEEK)
    check_connections(sessions, now, WEEK)
    assert events(engine, "reconnect_needed") == ["opened"]
    with Session(engine) as db:
        db.execute(update(FortnoxConnection).values(status="connected"))
        db.commit()
    check_connections(sessions, now, WEEK)
    assert events(engine, "reconnect_needed") == ["opened", "resolved"]
    # Disconnected on purpose while days wait on it: the pipeline's alert stays open (no resolve-reopen
    # mail every quarter of an hour).
    with Session(engine) as db:
        db.execute(update(FortnoxConnection).values(status="disconnected"))
        raise_alert(db, world.store_a, "reconnect_needed", "Fortnox is disconnected for Byrå A Butik 1")
        db.commit()
    check_connections(sessions, now, WEEK)
    assert events(engine, "reconnect_needed") == ["opened", "resolved", "opened"]


def test_a_register_gone_silent_and_heard_from_again(engine, world):
    sessions = make_sessionmaker(engine)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    with Session(engine) as db:
        register = db.scalars(select(Register)).one()
        heard = register.last_contact_at or register.enrolled_at
    hours = timedelta(hours=36)
    assert check_silent_registers(sessions, heard + timedelta(hours=35), hours) == []
    assert check_silent_registers(sessions, heard + timedelta(hours=37), hours) == [register.id]
    check_silent_registers(sessions, heard + timedelta(hours=40), hours)
    assert events(engine, "register_silent") == ["opened"]
    with Session(engine) as db:
        db.execute(update(Register).values(last_contact_at=heard + timedelta(hours=41)))
        db.commit()
    assert check_silent_registers(sessions, heard + timedelta(hours=42), hours) == []
    assert events(engine, "register_silent") == ["opened", "resolved"]


def test_a_preflight_turning_red_and_green_again(engine, world):
    red = [CheckResult("accounts", False, "1580 is inactive", "activate 1580 in Fortnox")]
    green = [CheckResult("accounts", True, "all active")]
    for results in (red, red, green, green):
        with Session(engine) as db:
            save_preflight(db, world.store_a, results)
            db.commit()
    assert events(engine, "preflight_failed") == ["opened", "resolved"]
    with Session(engine) as db:
        opened, resolved = db.scalars(select(NotificationEvent).order_by(NotificationEvent.id)).all()
        assert opened.path == resolved.path == f"/stores/{world.store_a}/preflight"


def test_days_waiting_on_a_reconnect_are_told_once_by_the_reconnect_alert(
    engine, world, fortnox, connected_store, dispatcher, mailbox
):
    send_days(engine, connected_store, world.manager_a, range(1, 4))
    with Session(engine) as db:
        db.execute(update(FortnoxConnection).values(status="reconnect_needed", last_error="invalid_grant"))
        db.commit()
        export_ids = list(db.scalars(select(Export.id)))
    runtime = fortnox_runtime(fortnox, rng=random.Random(1))
    assert [attempt(fortnox.sessions, i, runtime, "w1") for i in export_ids] == [states.NEEDS_ATTENTION] * 3
    dispatcher.run()
    assert events(engine, "reconnect_needed") == ["opened"]
    assert events(engine, "export_needs_attention") == []
    (mail,) = mailbox.to(world.manager_a)
    assert mail["Subject"].endswith("Fortnox behöver anslutas igen")
    assert f"/stores/{connected_store}/" in mail.get_content()


# SQLite: on PostgreSQL the leader's advisory lock is the whole server's, which other test runs share.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_scheduler_runs_the_notification_jobs(engine, settings):
    from backoffice.pipeline.service import Pipeline

    pipeline = Pipeline(settings.replace(notify={"digest_at": "06:45"}), engine)
    assert pipeline.start_scheduler()
    try:
        jobs = {job.id: job for job in pipeline.scheduler.get_jobs()}
        assert {"notify_checks", "notify_dispatch", "notify_digest"} <= set(jobs)
        assert "hour='6', minute='45'" in str(jobs["notify_digest"].trigger)
    finally:
        pipeline.stop()


def test_needs_mapping_is_resolved_once_the_days_are_no_longer_waiting(
    engine, world, settings, mailbox, dispatcher
):
    from backoffice.models import MappingEntry
    from backoffice.notify.jobs import run_checks
    from backoffice.pipeline.service import Pipeline

    payments = [
        {"method": "cash", "amount": "345.60"},
        {"method": "lunch_voucher", "amount": "50.00"},  # a key the store has not mapped
        {"method": "card", "amount": "1050.00"},
    ]
    send_days(engine, world.store_a, world.manager_a, range(1, 2), payments=payments)
    sessions = make_sessionmaker(engine)
    run_checks(settings, sessions)
    assert events(engine, "unmapped") == ["opened"]  # still waiting: not resolved
    with Session(engine) as db:
        db.add(
            MappingEntry(store_id=world.store_a, kind="payment_methods", key="lunch_voucher", account=1580)
        )
        db.commit()
    assert Pipeline(settings, engine).sweep() == 1
    run_checks(settings, sessions)
    run_checks(settings, sessions)
    assert events(engine, "unmapped") == ["opened", "resolved"]
    dispatcher.run()
    subjects = [m["Subject"] for m in mailbox.to(world.manager_a)]
    assert len(subjects) == 2 and subjects[1].endswith("Löst: Konton behöver konteras")
    assert f"/stores/{world.store_a}/mapping" in mailbox.to(world.manager_a)[0].get_content()


def test_an_alert_resolved_twice_at_once_has_one_resolved_event(engine, world):
    from backoffice.models import Alert
    from backoffice.services.alerts import resolve_alerts

    with Session(engine) as db:
        raise_alert(db, world.store_a, "z_gap", "register Kassa 1: Z 2 never arrived")
        db.commit()
    sessions = make_sessionmaker(engine)
    with sessions() as first, sessions() as second:
        stale = second.scalars(select(Alert)).one()  # the second one reads it open...
        second.commit()
        assert resolve_alerts(first, [first.scalars(select(Alert)).one()]) == 1
        first.commit()
        assert resolve_alerts(second, [stale]) == 1  # ...and resolves it after the first did
        second.commit()
    assert events(engine, "z_gap") == ["opened", "resolved"]
