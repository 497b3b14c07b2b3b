"""The signed webhook against real receivers on 127.0.0.1: one that verifies the signature (and refuses
a replayed delivery), and one that is down the worst way (accepts and never answers), which must not
touch an export: the export is posted while the delivery waits, and the dispatcher only backs off."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import Export, Store, User
from backoffice.notify import agency_webhooks, webhook
from backoffice.notify.dispatch import Dispatcher
from backoffice.notify.models import NotificationEvent, WebhookDelivery
from backoffice.pipeline import states
from backoffice.pipeline.exporting import attempt
from backoffice.pipeline.jobs import check_missing_z_reports
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.services.exports import resend
from tests.backoffice.fortnox_world import TENANT, send_days

MORNING = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)


def set_webhook(engine, admin_email: str, url: str, dispatcher) -> str:
    with Session(engine) as db:
        admin = db.scalars(select(User).where(User.email == admin_email)).one()
        secret = agency_webhooks.save(
            db,
            admin,
            url,
            dispatcher.cipher,
            renew_secret=False,
            private_addresses=dispatcher.settings.notify.webhook_private_addresses,
        )
        db.commit()
    return secret


def test_the_receiver_verifies_the_signature_and_refuses_a_replay(engine, world, dispatcher, receiver):
    receiver.secret = set_webhook(engine, world.admin_a, receiver.url, dispatcher)
    assert receiver.secret.startswith("whsec_")
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    check_missing_z_reports(make_sessionmaker(engine), MORNING, time(6, 0))
    assert dispatcher.run()["webhooks_delivered"] == 1
    assert dispatcher.run()["webhooks_delivered"] == 0  # delivered once
    (payload,) = receiver.accepted
    assert payload["type"] == "alert.opened" and payload["kind"] == "no_z_report"
    assert payload["day"] == "2026-03-15" and payload["store"]["id"] == world.store_a
    assert payload["link"].endswith(f"/stores/{world.store_a}/registers")

    body, headers = receiver.raw[0]
    with httpx.Client() as client:
        # The same request again ten minutes later: the timestamp is too old, refused.
        receiver.clock_offset = 600
        assert client.post(receiver.url, content=body, headers=headers).status_code == 401
        receiver.clock_offset = 0
        # A body changed on the way: the signature does not match, refused.
        forged = body.replace(b"no_z_report", b"all_is_well")
        assert client.post(receiver.url, content=forged, headers=headers).status_code == 401
        # A fresh timestamp on the old signature: refused too (the timestamp is signed).
        fresh = {**headers, webhook.TIMESTAMP_HEADER: str(int(datetime.now(UTC).timestamp()) + 1)}
        assert client.post(receiver.url, content=body, headers=fresh).status_code == 401
    assert receiver.refused == 3 and len(receiver.accepted) == 1
    with Session(engine) as db:
        assert db.scalars(select(WebhookDelivery.delivered_at)).one() is not None


def test_a_receiver_that_is_down_never_touches_an_export(
    engine, world, dispatcher, fortnox, fortnox_state, connected_store, blackhole
):
    set_webhook(engine, world.admin_a, blackhole.url, dispatcher)
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = False
    send_days(engine, connected_store, world.manager_a, range(1, 2))
    runtime = fortnox_runtime(fortnox, rng=random.Random(1))
    with Session(engine) as db:
        (export_id,) = db.scalars(select(Export.id))
    assert attempt(fortnox.sessions, export_id, runtime, "w1") == states.REJECTED
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = True
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.email == world.manager_a)).one()
        resend(db, db.get(Store, connected_store), user, db.get(Export, export_id))
        db.commit()
    assert attempt(fortnox.sessions, export_id, runtime, "w1") == states.POSTED
    # The exports are done and the receiver was never called: the events wait in the outbox.
    assert blackhole.connections == []
    with Session(engine) as db:
        events = db.scalars(select(NotificationEvent)).all()
        assert [(e.kind, e.event, e.fanned_out_at) for e in events] == [
            ("export_rejected", "opened", None),
            ("export_rejected", "resolved", None),
        ]
    # The dispatcher calls it, times out (short timeout), and backs off; both deliveries stay pending.
    now = datetime.now(UTC).replace(tzinfo=None)
    assert dispatcher.run(now)["webhooks_delivered"] == 0
    assert blackhole.connections
    with Session(engine) as db:
        deliveries = db.scalars(select(WebhookDelivery)).all()
        assert len(deliveries) == 2
        assert all(d.delivered_at is None and d.attempts == 1 and d.next_attempt_at > now for d in deliveries)
        assert all("Timeout" in d.last_error for d in deliveries)
        assert db.get(Export, export_id).state == states.POSTED


def test_verify_is_the_signature_the_dispatcher_sends():
    body = b'{"id":1}'
    headers = webhook.headers("whsec_x", 1, body, now=1_700_000_000)
    timestamp, signature = headers[webhook.TIMESTAMP_HEADER], headers[webhook.SIGNATURE_HEADER]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert webhook.verify("whsec_x", body, timestamp, signature, now=1_700_000_100)
    assert not webhook.verify("whsec_y", body, timestamp, signature, now=1_700_000_100)
    assert not webhook.verify("whsec_x", body, timestamp, signature, now=1_700_000_400)
    assert not webhook.verify("whsec_x", body, "not-a-number", signature, now=1_700_000_100)


def test_the_readmes_verify_snippet_accepts_what_the_dispatcher_signs():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text("utf-8")
    section = readme.split("## Notifications", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # the receiver's code, as a bureau would copy it
    body = b'{"id":7,"type":"alert.opened"}'
    headers = webhook.headers("whsec_readme", 7, body)
    timestamp, signature = headers[webhook.TIMESTAMP_HEADER], headers[webhook.SIGNATURE_HEADER]
    assert namespace["verify"]("whsec_readme", body, timestamp, signature)
    assert not namespace["verify"]("whsec_readme", body + b" ", timestamp, signature)
    assert not namespace["verify"]("whsec_readme", body, str(int(timestamp) - 301), signature)


def test_a_webhook_is_not_sent_into_the_servers_network_unless_the_operator_allows_it(
    engine, world, settings, receiver
):
    """Checked right before each call, not only when saved: here the receiver on 127.0.0.1 was saved while
    internal addresses were allowed, then the operator turned them off."""
    allowed = Dispatcher(settings, make_sessionmaker(engine))
    receiver.secret = set_webhook(engine, world.admin_a, receiver.url, allowed)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    check_missing_z_reports(make_sessionmaker(engine), MORNING, time(6, 0))
    closed = settings.replace(notify={"webhook_private_addresses": False})
    assert Dispatcher(closed, make_sessionmaker(engine)).run()["webhooks_delivered"] == 0
    assert receiver.raw == []  # never called
    with Session(engine) as db:
        (delivery,) = db.scalars(select(WebhookDelivery)).all()
        assert "127.0.0.1" in delivery.last_error and "webhook_private_addresses" in delivery.last_error
        delivery.next_attempt_at = datetime.now(UTC)  # due again at once
        db.commit()
    assert allowed.run()["webhooks_delivered"] == 1
    assert len(receiver.accepted) == 1


def test_private_addresses_are_named(monkeypatch):
    for url, address in (
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://192.168.0.10/hook", "192.168.0.10"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # a cloud's metadata service
        ("http://[::1]/hook", "::1"),
        ("http://[::ffff:127.0.0.1]/hook", "127.0.0.1"),
        ("http://[fd00::5]/hook", "fd00::5"),
        ("http://0.0.0.0/hook", "0.0.0.0"),
        ("http://localhost/hook", "127.0.0.1"),
    ):
        assert webhook.private_address(url) == address, url
    assert webhook.private_address("https://93.184.216.34/hook") is None
    assert webhook.private_address("https://[2606:4700::1111]/hook") is None
    assert webhook.private_address("https://name-that-does-not-resolve.invalid/hook") is None
