"""Mail end to end, through a real SMTP server on 127.0.0.1: a missing day tells the manager once with
the link and once more when it is resolved; fifty refused retries of one day make one mail; a mail
server that is down leaves the mail pending and it goes once the server is back."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.db import make_sessionmaker
from backoffice.models import Export, Store, User
from backoffice.notify.dispatch import Dispatcher
from backoffice.notify.models import MailDelivery, NotificationEvent
from backoffice.pipeline import states
from backoffice.pipeline.exporting import attempt
from backoffice.pipeline.jobs import check_missing_z_reports
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.services.exports import resend
from tests.backoffice.factories import sign_in
from tests.backoffice.fortnox_world import TENANT, ledger, send_days

from .conftest import PUBLIC_URL

#: 07:00 in Stockholm on 2026-03-16: 2026-03-15 (Z 2 in the factories) has not arrived.
MORNING = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)
CHECK_AT = time(6, 0)


def bodies(messages) -> list[str]:
    return [m.get_content() for m in messages]


def test_a_missing_day_mails_the_manager_once_with_the_link_and_once_when_resolved(
    engine, world, mailbox, dispatcher, settings
):
    sessions = make_sessionmaker(engine)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))  # 2026-03-14; enrolls the register
    for _ in range(3):  # the nightly job runs every ten minutes: still one alert, one mail
        check_missing_z_reports(sessions, MORNING, CHECK_AT)
        dispatcher.run()
    (alert,) = mailbox.to(world.manager_a)
    assert "2026-03-15" in alert["Subject"] and "Byrå A Butik 1" in alert["Subject"]
    assert alert["Subject"].endswith("Ingen Z-rapport mottagen")  # Swedish: the manager chose no language
    link = f"{PUBLIC_URL}/stores/{world.store_a}/registers"
    assert link in alert.get_content()
    assert "Dag: 2026-03-15" in alert.get_content()

    send_days(engine, world.store_a, world.manager_a, range(2, 3))  # the day arrives, late
    for _ in range(3):
        check_missing_z_reports(sessions, MORNING + timedelta(minutes=10), CHECK_AT)
        dispatcher.run()
    first, resolved = mailbox.to(world.manager_a)
    assert first is alert or first["Message-ID"] == alert["Message-ID"]
    assert resolved["Subject"].endswith("Löst: Ingen Z-rapport mottagen")
    assert "Dag: 2026-03-15" in resolved.get_content() and link in resolved.get_content()
    # The agency admin takes the daily digest by default: nothing single, both events in one mail.
    assert mailbox.to(world.admin_a) == []
    assert dispatcher.send_digests() == 1
    (digest,) = mailbox.to(world.admin_a)
    assert digest.get_content().count("Ingen Z-rapport mottagen") == 2
    assert dispatcher.send_digests() == 0

    # The link opens the page that fixes it.
    app = create_app(settings, engine=engine)
    client = app.test_client()
    sign_in(client, world.manager_a)
    assert client.get(link.removeprefix(PUBLIC_URL)).status_code == 200


# SQLite only: fifty attempts take twenty seconds under the client's own Fortnox rate limit (24 calls per
# 5 s), and the alert's dedup is the same statement on both databases (the other tests run on both).
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_fifty_refused_retries_of_a_day_make_one_mail_and_posting_it_one_more(
    engine, world, mailbox, dispatcher, fortnox, fortnox_state, connected_store
):
    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = False  # the card account: Fortnox refuses
    send_days(engine, connected_store, world.manager_a, range(1, 2))
    runtime = fortnox_runtime(fortnox, rng=random.Random(1))
    with Session(engine) as db:
        (export_id,) = db.scalars(select(Export.id))
    for retry in range(50):
        assert attempt(fortnox.sessions, export_id, runtime, "w1") == states.REJECTED
        if retry % 10 == 0:
            dispatcher.run()
        with Session(engine) as db:
            export = db.get(Export, export_id)
            user = db.scalars(select(User).where(User.email == world.manager_a)).one()
            resend(db, db.get(Store, connected_store), user, export)
            db.commit()
    (refused,) = mailbox.to(world.manager_a)
    assert refused["Subject"].endswith("Fortnox avvisade en dag")
    content = refused.get_content()
    assert "1580" in content  # what Fortnox said
    with Session(engine) as db:
        z_report_id = db.get(Export, export_id).z_report_id
    link = f"{PUBLIC_URL}/stores/{connected_store}/exports/{z_report_id}"
    assert link in content
    client = create_app(fortnox.settings, engine=engine).test_client()
    sign_in(client, world.manager_a)
    assert client.get(link.removeprefix(PUBLIC_URL)).status_code == 200  # the day's page, with its actions

    with fortnox_state.lock:
        fortnox_state.tenants[TENANT].accounts[1580].active = True
    assert attempt(fortnox.sessions, export_id, runtime, "w1") == states.POSTED
    dispatcher.run()
    dispatcher.run()
    assert len(ledger(fortnox_state)) == 1
    _, posted = mailbox.to(world.manager_a)
    assert posted["Subject"].endswith("Löst: Fortnox avvisade en dag")
    with Session(engine) as db:
        kinds = [
            (e.kind, e.event) for e in db.scalars(select(NotificationEvent).order_by(NotificationEvent.id))
        ]
    assert kinds == [("export_rejected", "opened"), ("export_rejected", "resolved")]


def test_a_mail_server_that_is_down_leaves_the_mail_pending_and_it_goes_once_later(
    engine, world, settings, smtp_port, caplog
):
    from aiosmtpd.controller import Controller

    from .conftest import Mailbox

    secret = "s3cret-smtp-password"
    down = Dispatcher(
        settings.replace(smtp={"username": "dagskassa", "password": secret}), make_sessionmaker(engine)
    )
    sessions = make_sessionmaker(engine)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    check_missing_z_reports(sessions, MORNING, CHECK_AT)
    now = datetime.now(UTC).replace(tzinfo=None)
    assert down.run(now)["mails_sent"] == 0  # nothing listens on the port yet
    with Session(engine) as db:
        (pending,) = db.scalars(select(MailDelivery).where(MailDelivery.digest.is_(False)))
        assert pending.sent_at is None and pending.attempts == 1 and pending.next_attempt_at > now
        retry_at = pending.next_attempt_at
    assert down.run(now + timedelta(seconds=1))["mails_sent"] == 0  # backing off: not even tried
    with Session(engine) as db:
        assert db.scalars(select(MailDelivery.attempts).where(MailDelivery.digest.is_(False))).one() == 1

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        # The server is up but offers no login: the password is refused to be sent, and never logged.
        assert down.run(retry_at)["mails_sent"] == 0
        assert secret not in caplog.text and "not sent" in caplog.text
        up = Dispatcher(settings, sessions)
        with Session(engine) as db:
            retry_at = db.scalars(
                select(MailDelivery.next_attempt_at).where(MailDelivery.digest.is_(False))
            ).one()
        assert up.run(retry_at)["mails_sent"] == 1
        assert up.run(retry_at + timedelta(hours=2))["mails_sent"] == 0
    finally:
        controller.stop()
    assert [m["To"] for m in box.messages] == [world.manager_a]
    assert json.dumps([m["Subject"] for m in box.messages], ensure_ascii=False).count("Ingen Z-rapport") == 1


def test_without_a_mail_server_no_mail_piles_up_for_later(engine, world, settings):
    sessions = make_sessionmaker(engine)
    quiet = Dispatcher(settings.replace(smtp={"host": ""}), sessions)
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    check_missing_z_reports(sessions, MORNING, CHECK_AT)
    assert quiet.run() == {"caught_up": 0, "fanned_out": 1, "mails_sent": 0, "webhooks_delivered": 0}
    with Session(engine) as db:
        assert db.scalars(select(MailDelivery)).all() == []
        assert db.scalars(select(NotificationEvent.fanned_out_at)).one() is not None
