"""The pages: sign-in, each store page, the actions, Swedish amounts, CSRF."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import AuditEntry, MappingEntry, Store, SyncSettings, User
from tests.backoffice.factories import PASSWORD, csrf_token, enrolled_token, sign_in, z_report


def _post_report(client, engine, world, report) -> int:
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, store, manager)
        session.commit()
    response = client.post("/api/v1/z-reports", json=report, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _form(client, url: str, **data):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_sign_in_wrong_password_is_refused(client, world):
    response = sign_in(client, world.manager_a, "wrong password!")
    assert response.status_code == 401
    assert "Fel e-post eller lösenord" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_manager_lands_on_their_store_in_swedish(client, world):
    response = sign_in(client, world.manager_a)
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Byrå A Butik 1" in page and "Översikt" in page and "Inga Z-rapporter än." in page
    client.get("/language/en", headers={"Referer": "http://localhost/"})
    assert "No Z-reports yet." in client.get(f"/stores/{world.store_a}/").get_data(as_text=True)


def test_export_shows_the_voucher_preview_in_swedish_amounts(client, engine, world):
    z_id = _post_report(client, engine, world, z_report(3))
    sign_in(client, world.manager_a)
    page = client.get(f"/stores/{world.store_a}/exports/{z_id}").get_data(as_text=True)
    assert "1 050,00 kr" in page  # card
    assert "Summa" in page and "1 446,00 kr" in page  # payments 1 445,60 + rounding 0,40
    overview = client.get(f"/stores/{world.store_a}/").get_data(as_text=True)
    assert "1 396,00 kr" in overview and "redo" in overview


def test_settings_are_validated_saved_and_audited(client, engine, world):
    sign_in(client, world.manager_a)
    url = f"/stores/{world.store_a}/settings"
    bad = _form(client, url, sync_sales="on", posting_time="25:00", use_order_instead_of_invoice="on")
    page = bad.get_data(as_text=True)
    assert "posting_time" in page or "Bokföringstid" in page
    assert "needs Invoice turned on" in page
    good = _form(
        client,
        url,
        sync_sales="on",
        invoicing="on",
        voucher_series="K",
        cost_center="REST1",
        posting_time="05:30",
    )
    assert good.status_code == 302
    with Session(engine) as session:
        settings = session.get(SyncSettings, world.store_a)
        assert (settings.voucher_series, settings.cost_center, settings.invoicing) == ("K", "REST1", True)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.changed")).one()
        assert entry.actor == world.manager_a and entry.details["changes"]["posting_time"] == [
            "06:00",
            "05:30",
        ]


def test_mapping_lists_unmapped_keys_first_and_saves(client, engine, world):
    report = z_report(1)
    report["payments"][0]["method"] = "klarna"
    _post_report(client, engine, world, report)
    sign_in(client, world.manager_a)
    url = f"/stores/{world.store_a}/mapping"
    page = client.get(url).get_data(as_text=True)
    rows = page.split("<tbody>")[1]
    assert rows.index("payment_methods:klarna") < rows.index("payment_methods:cash")
    assert "behöver konteras" in rows
    bad = _form(client, url, **{"acct:payment_methods:klarna": "12"})
    assert "is not an account number" in bad.get_data(as_text=True)
    saved = _form(
        client,
        url,
        **{
            "acct:payment_methods:klarna": "1581",
            "new_group": "Presentkort",
            "new_rate": "0",
            "new_account": "2421",
        },
    )
    assert saved.status_code == 302
    with Session(engine) as session:
        entries = {(e.kind, e.key): e.account for e in session.scalars(select(MappingEntry))}
    assert entries == {("payment_methods", "klarna"): 1581, ("product_groups", "Presentkort|0"): 2421}


def test_export_actions_set_state_and_audit(client, engine, world):
    z_id = _post_report(client, engine, world, z_report(2))
    sign_in(client, world.manager_a)
    detail = f"/stores/{world.store_a}/exports/{z_id}"
    token = csrf_token(client.get(detail).get_data(as_text=True))
    assert client.post(f"{detail}/mark_booked", data={"csrf_token": token}).status_code == 302
    assert "bokförd" in client.get(detail).get_data(as_text=True)
    assert client.post(f"{detail}/resend", data={"csrf_token": token}).status_code == 302
    response = client.post(
        f"/stores/{world.store_a}/exports/post-missing", data={"csrf_token": token, "since": "2026-01-01"}
    )
    assert response.status_code == 302
    with Session(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("export.%"))))
    assert actions == ["export.marked_booked", "export.resend", "export.post_missing"]


def test_registers_enroll_code_and_revoke(client, engine, world):
    sign_in(client, world.manager_a)
    url = f"/stores/{world.store_a}/registers"
    token = csrf_token(client.get(url).get_data(as_text=True))
    page = client.post(f"{url}/code", data={"csrf_token": token}).get_data(as_text=True)
    code = page.split('id="enrollment-code">')[1].split("<")[0]
    enrolled = client.post(
        "/api/v1/enroll", json={"code": code, "register_id": "Kassa 7", "control_unit_id": "CU-7"}
    )
    assert enrolled.status_code == 201
    listing = client.get(url).get_data(as_text=True)
    assert "Kassa 7" in listing and "Aktiv" in listing
    register_id = listing.split("/revoke")[0].rsplit("/", 1)[1]
    client.post(f"{url}/{register_id}/revoke", data={"csrf_token": token})
    assert "Återkallad" in client.get(url).get_data(as_text=True)
    response = client.post(
        "/api/v1/z-reports",
        json=z_report(1),
        headers={"Authorization": f"Bearer {enrolled.json['device_token']}"},
    )
    assert response.status_code == 401


def test_a_form_without_its_csrf_token_is_refused(client, engine, world):
    sign_in(client, world.manager_a)
    response = client.post(
        f"/stores/{world.store_a}/settings", data={"sync_sales": "on", "posting_time": "01:00"}
    )
    assert response.status_code == 400
    with Session(engine) as session:
        assert session.get(SyncSettings, world.store_a) is None
    login = client.post("/login", data={"email": world.manager_a, "password": PASSWORD})
    assert login.status_code == 400
