"""Who is told what: each user's kinds and stores (never a store they may not see), the agency admin's
digest, and the settings page that sets them (CSRF, Swedish by default), webhook secret shown once."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.auth import create_user
from backoffice.db import make_sessionmaker
from backoffice.models import STORE_MANAGER, Agency, Store, User, UserStore
from backoffice.notify import preferences
from backoffice.notify.models import AgencyWebhook
from backoffice.pipeline.jobs import check_missing_z_reports
from tests.backoffice.factories import PASSWORD, csrf_token, sign_in
from tests.backoffice.fortnox_world import send_days

MORNING = datetime(2026, 3, 16, 6, 0, tzinfo=UTC)


def user(db: Session, email: str) -> User:
    return db.scalars(select(User).where(User.email == email)).one()


def test_a_user_who_unticked_a_kind_or_a_store_is_told_nothing(engine, world, mailbox, dispatcher):
    with Session(engine) as db:
        agency = db.get(Agency, world.agency_a)
        second = Store(agency_id=agency.id, name="Byrå A Butik 2", org_number="556677-8899")
        db.add(second)
        db.flush()
        manager = user(db, world.manager_a)
        db.add(UserStore(user_id=manager.id, store_id=second.id))
        # The manager hears only of the second store, and tries a store of another agency too.
        choice = preferences.save(db, manager, {"no_z_report"}, {second.id, world.store_b}, digest=True)
        assert choice.store_ids == {second.id} and choice.digest is False  # digest: agency admins only
        colleague = create_user(
            db, "colleague@byraa.se", PASSWORD, STORE_MANAGER, agency, [db.get(Store, world.store_a)]
        )
        preferences.save(db, colleague, {"export_rejected", "unmapped"}, None, digest=False)  # unticked it
        preferences.save(db, user(db, world.admin_a), {"no_z_report"}, None, digest=False)
        db.commit()
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    check_missing_z_reports(make_sessionmaker(engine), MORNING, time(6, 0))
    dispatcher.run()
    assert [m["To"] for m in mailbox.messages] == [world.admin_a]
    # The other agency's people never hear of agency A's stores.
    assert mailbox.to(world.admin_b) == [] and mailbox.to(world.manager_b) == []


def test_the_settings_page_saves_choices_and_shows_the_webhook_secret_once(engine, world, settings):
    app = create_app(settings, engine=engine)
    manager = app.test_client()
    sign_in(manager, world.manager_a)
    page = manager.get("/notifications/").get_data(as_text=True)
    assert "Aviseringar" in page and "Ingen Z-rapport mottagen" in page and 'id="webhook"' not in page
    form = {
        "csrf_token": csrf_token(page),
        "kinds": ["no_z_report", "export_rejected", "no_such_kind"],
        "scope": "some",
        "stores": [str(world.store_a), str(world.store_b)],
    }
    assert manager.post("/notifications/", data=form).status_code == 302
    assert manager.post("/notifications/", data={**form, "csrf_token": "forged"}).status_code == 400
    with Session(engine) as db:
        choice = preferences.of(db, user(db, world.manager_a))
    assert choice.kinds == {"no_z_report", "export_rejected"} and choice.store_ids == {world.store_a}
    token = csrf_token(manager.get("/notifications/").get_data(as_text=True))
    assert (
        manager.post("/notifications/webhook", data={"csrf_token": token, "url": "http://x"}).status_code
        == 404
    )

    admin = app.test_client()
    sign_in(admin, world.admin_a)
    page = admin.get("/notifications/").get_data(as_text=True)
    token = csrf_token(page)
    bad = admin.post("/notifications/webhook", data={"csrf_token": token, "url": "ftp://x", "action": "save"})
    assert bad.status_code == 302
    shown = admin.post(
        "/notifications/webhook",
        data={"csrf_token": token, "url": "https://byra.example/hook", "action": "save"},
    ).get_data(as_text=True)
    secret = shown.split('id="webhook-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    again = admin.get("/notifications/").get_data(as_text=True)
    assert secret not in again and "https://byra.example/hook" in again
    renewed = admin.post(
        "/notifications/webhook",
        data={"csrf_token": token, "url": "https://byra.example/hook", "action": "new_secret"},
    ).get_data(as_text=True)
    assert renewed.split('id="webhook-secret">')[1].split("<")[0] not in (secret, "")
    with Session(engine) as db:
        hook = db.get(AgencyWebhook, world.agency_a)
        assert secret not in hook.secret_enc  # kept encrypted
    admin.post("/notifications/webhook", data={"csrf_token": token, "action": "remove"})
    with Session(engine) as db:
        assert db.get(AgencyWebhook, world.agency_a) is None


def test_the_digest_lists_a_days_events_in_one_mail(engine, world, mailbox, dispatcher):
    send_days(engine, world.store_a, world.manager_a, range(1, 2))
    send_days(engine, world.store_a, world.manager_a, range(3, 4))  # Z 2 never came: a gap, raised on ingest
    check_missing_z_reports(make_sessionmaker(engine), MORNING.replace(day=18), time(6, 0))
    dispatcher.run()
    assert mailbox.to(world.admin_a) == []  # the admin takes the digest (the default for agency admins)
    manager_subjects = sorted(m["Subject"] for m in mailbox.to(world.manager_a))
    assert len(manager_subjects) == 2 and any("Z-rapporter saknas" in s for s in manager_subjects)
    assert dispatcher.send_digests() == 1
    (digest,) = mailbox.to(world.admin_a)
    assert "2 händelser" in digest["Subject"]
    content = digest.get_content()
    assert "Z-rapporter saknas" in content and "Ingen Z-rapport mottagen" in content
    assert dispatcher.send_digests() == 0


def test_a_webhook_without_an_encryption_key_names_the_setting(engine, world, settings):
    app = create_app(settings.replace(security={"encryption_keys": ()}), engine=engine)
    admin = app.test_client()
    sign_in(admin, world.admin_a)
    token = csrf_token(admin.get("/notifications/").get_data(as_text=True))
    form = {"csrf_token": token, "url": "https://byra.example/hook", "action": "save"}
    assert admin.post("/notifications/webhook", data=form).status_code == 302
    assert "security.encryption_keys" in admin.get("/notifications/").get_data(as_text=True)
    with Session(engine) as db:
        assert db.get(AgencyWebhook, world.agency_a) is None


def test_a_webhook_into_the_servers_network_is_refused_with_the_setting_that_allows_it(
    engine, world, settings
):
    app = create_app(settings.replace(notify={"webhook_private_addresses": False}), engine=engine)
    admin = app.test_client()
    sign_in(admin, world.admin_a)
    admin.get("/language/en", headers={"Referer": "http://localhost/"})
    token = csrf_token(admin.get("/notifications/").get_data(as_text=True))
    for url, address in (
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://localhost/hook", "127.0.0.1"),
        ("http://[::1]/hook", "::1"),
    ):
        form = {"csrf_token": token, "url": url, "action": "save"}
        assert admin.post("/notifications/webhook", data=form).status_code == 302
        page = admin.get("/notifications/").get_data(as_text=True)
        assert f"The address reaches {address}" in page and "notify.webhook_private_addresses" in page
    with Session(engine) as db:
        assert db.get(AgencyWebhook, world.agency_a) is None
    form = {"csrf_token": token, "url": "https://93.184.216.34/hook", "action": "save"}
    assert 'id="webhook-secret"' in admin.post("/notifications/webhook", data=form).get_data(as_text=True)
