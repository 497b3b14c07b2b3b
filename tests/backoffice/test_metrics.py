"""/metrics: scraped with the Flask test client and read with the Prometheus text parser while a day goes
through the pipeline against the Fortnox sandbox (in process); who may scrape."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.models import FortnoxConnection, Register
from backoffice.operations.scheduling import beat, tracked
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker
from backoffice.services.fortnox import DbTokenStore
from exporters.fortnox import sandbox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days

SANDBOX = "http://fortnox.sandbox"
TOKEN = "scrape-me-3f9a1c"


@pytest.fixture
def fortnox_state():
    return sandbox.seeded_state(seed=3)


@pytest.fixture
def store(fortnox, world):
    connect_store(fortnox, world.store_a, world.manager_a)
    return world.store_a


def client_for(fortnox, engine, **sections):
    settings = fortnox.settings.replace(**sections)
    return create_app(settings, engine=engine, fortnox_transport=fortnox.transport).test_client()


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def tenant_of(engine, store_id: int) -> str:
    with Session(engine) as db:
        tenant_id = db.scalars(
            select(FortnoxConnection.tenant_id).where(FortnoxConnection.store_id == store_id)
        ).one()
    return f"fortnox-tenant:{tenant_id}"


def worker(fortnox) -> ExportWorker:
    runtime = fortnox_runtime(fortnox, rng=random.Random(0))
    return ExportWorker(fortnox.sessions, runtime, "w1", rng=random.Random(0))


def test_a_posted_day_moves_the_state_gauge_the_calls_of_its_tenant_and_the_latency(
    engine, fortnox, fortnox_state, store, world
):
    client = client_for(fortnox, engine)
    tenant = tenant_of(engine, store)
    send_days(engine, store, world.manager_a, range(1, 2))
    before = scrape(client)
    assert value(before, "dagskassa_exports", state="ready") == 1
    assert value(before, "dagskassa_exports", state="posted") == 0
    assert value(before, "dagskassa_database_up") == 1

    assert worker(fortnox).run_once() == 1
    assert len(ledger(fortnox_state)) == 1
    after = scrape(client)

    assert value(after, "dagskassa_exports", state="posted") == 1
    assert value(after, "dagskassa_exports", state="ready") == 0
    assert value(after, "dagskassa_exports", state="rejected") == 0  # every state is there, at 0
    calls = "dagskassa_api_calls_total"
    assert (
        value(after, calls, service="fortnox", tenant=tenant, result="ok")
        >= value(before, calls, service="fortnox", tenant=tenant, result="ok") + 2
    )  # at least the day's vouchers read and the voucher posted
    histogram = "dagskassa_export_z_report_to_posted_seconds"
    assert (
        value(after, f"{histogram}_count", channel="fortnox")
        == value(before, f"{histogram}_count", channel="fortnox") + 1
    )
    assert value(after, f"{histogram}_bucket", channel="fortnox", le="+Inf") == value(
        after, f"{histogram}_count", channel="fortnox"
    )


def test_a_429_from_fortnox_is_counted_for_its_tenant(engine, fortnox, fortnox_state, store, world):
    client = client_for(fortnox, engine)
    tenant = tenant_of(engine, store)
    fortnox_state.knobs.add_fault("429", nth=(1,), method="POST", path="/3/vouchers")
    send_days(engine, store, world.manager_a, range(1, 2))
    labels = {"service": "fortnox", "tenant": tenant}
    before = scrape(client)
    worker(fortnox).run_once()
    after = scrape(client)
    assert (
        value(after, "dagskassa_api_calls_total", **labels, result="rate_limited")
        == value(before, "dagskassa_api_calls_total", **labels, result="rate_limited") + 1
    )
    assert value(after, "dagskassa_exports", state="retry_wait") == 1
    assert ledger(fortnox_state) == []


def test_token_refreshes_are_counted_ok_and_failed(engine, fortnox, store):
    client = client_for(fortnox, engine)
    with Session(engine) as db:
        connection_id = db.scalars(
            select(FortnoxConnection.id).where(FortnoxConnection.store_id == store)
        ).one()
    refreshes = "dagskassa_token_refreshes_total"
    before = scrape(client)
    with fortnox.http() as http:
        fortnox.client(http, connection_id).renew_tokens()
        # Revoked at Fortnox (a person disconnected the app there): the next refresh is refused.
        tokens = DbTokenStore(fortnox.sessions, connection_id, fortnox.cipher).load()
        fortnox.oauth(http).revoke(tokens)
        with pytest.raises(Exception, match="connect"):
            fortnox.client(http, connection_id).renew_tokens()
    after = scrape(client)
    assert (
        value(after, refreshes, service="fortnox", outcome="ok")
        == value(before, refreshes, service="fortnox", outcome="ok") + 1
    )
    assert (
        value(after, refreshes, service="fortnox", outcome="failed")
        == value(before, refreshes, service="fortnox", outcome="failed") + 1
    )


def test_registers_last_contact_heartbeat_and_job_runs_are_read_from_the_database(
    engine, fortnox, store, world
):
    client = client_for(fortnox, engine)
    send_days(engine, store, world.manager_a, range(1, 2))  # enrolls a register, which reports
    contact = datetime(2026, 11, 21, 6, 30)
    with Session(engine) as db:
        (register,) = db.scalars(select(Register))
        register.last_contact_at = contact
        register_id = register.id
        db.commit()
    beat(fortnox.sessions, "host-a:1", contact + timedelta(minutes=1))

    def broken() -> None:
        raise RuntimeError("the database went away")

    runs = "dagskassa_scheduler_job_runs_total"
    before = scrape(client)
    tracked(fortnox.sessions, "sweep", lambda: None)()
    with pytest.raises(RuntimeError):
        tracked(fortnox.sessions, "sweep", broken)()
    after = scrape(client)

    stamp = contact.replace(tzinfo=UTC).timestamp()
    assert (
        value(
            after,
            "dagskassa_register_last_contact_timestamp_seconds",
            store=str(store),
            register=str(register_id),
        )
        == stamp
    )
    assert value(after, "dagskassa_scheduler_heartbeat_timestamp_seconds") == stamp + 60
    assert value(after, runs, job="sweep", outcome="ok") == value(before, runs, job="sweep", outcome="ok") + 1
    assert (
        value(after, runs, job="sweep", outcome="failed")
        == value(before, runs, job="sweep", outcome="failed") + 1
    )
    last_success = value(after, "dagskassa_scheduler_job_last_success_timestamp_seconds", job="sweep")
    assert abs(last_success - datetime.now(UTC).timestamp()) < 600


def test_with_a_token_only_the_bearer_of_it_is_answered(engine, fortnox, world):
    client = client_for(fortnox, engine, web={"metrics_token": TOKEN})
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert value(scrape(client, Authorization=f"Bearer {TOKEN}"), "dagskassa_database_up") == 1


def test_without_a_token_only_internal_clients_are_answered(engine, fortnox, world):
    client = client_for(fortnox, engine)
    assert value(scrape(client), "dagskassa_database_up") == 1  # the test client is 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 404
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 404
    lan = client_for(fortnox, engine, metrics={"internal_networks": ("10.0.0.0/8",)})
    assert lan.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert lan.get("/metrics").status_code == 404  # 127.0.0.1 is no longer on the list
