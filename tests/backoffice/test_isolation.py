"""Every page and action under a store, tried by people of another agency (and a manager of another
store), answers 404; lists never show another agency's stores; a device cannot report for another store."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import OAuthAttempt, Register, Store, User
from tests.backoffice.factories import csrf_token, enrolled_token, sign_in, z_report

#: Routes that do not name a store; each is checked below on its own terms.
UNSCOPED = {
    "/login",
    "/logout",
    "/language/<code>",
    "/",
    "/agency/",
    "/agency/check-all",
    "/agency/check-all/status",
    # An agency admin's stores and users: test_people.py (another agency's user is 404; a manager gets 404).
    "/agency/people/",
    "/agency/people/stores",
    "/agency/people/<int:user_id>/stores",
    "/agency/people/<int:user_id>/active",
    "/account/password",  # one's own password: test_people.py
    # Each user's own notification settings (and an agency admin's webhook): test_preferences.py.
    "/notifications/",
    "/notifications/webhook",
    "/fortnox/callback",
    "/visma/callback",  # the Connect attempt's state names the store: asserted below
    "/metrics",  # a bearer token or an internal address: test_metrics.py
    "/api/openapi.json",
    "/api/v1/health",
    "/api/v1/enroll",
    "/api/v1/z-reports",
    "/static/<path:filename>",
}


@pytest.fixture
def store_a_objects(client, engine, world):
    """A Z-report, a refused one, a register and a Connect attempt in store A, so their pages exist."""
    with Session(engine) as session:
        store = session.get(Store, world.store_a)
        manager = session.scalars(select(User).where(User.email == world.manager_a)).one()
        token = enrolled_token(session, store, manager)
        session.add(
            OAuthAttempt(state="state-of-a", store_id=store.id, user_id=manager.id, code_verifier="v")
        )
        session.commit()
        register_id = session.scalars(select(Register.id)).one()
    response = client.post(
        "/api/v1/z-reports", json=z_report(1), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    refused = client.post(
        "/api/v1/z-reports", json=z_report(1, float="1.00"), headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 409
    return {
        "store_id": world.store_a,
        "z_report_id": response.json["id"],
        "register_id": register_id,
        "refused_id": refused.json["refused_id"],
        "action": "resend",
    }


def _store_urls(app, values):
    urls = []
    for rule in app.url_map.iter_rules():
        if "store_id" not in rule.arguments:
            assert rule.rule in UNSCOPED, f"{rule.rule} names no store: scope it and add it here"
            continue
        with app.test_request_context():
            from flask import url_for

            # Arguments a rule fills itself (e.g. ``provider`` of the two Connect routes) are not asked.
            asked = rule.arguments - set(rule.defaults or {})
            url = url_for(rule.endpoint, **{name: values[name] for name in asked})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


@pytest.mark.parametrize("who", ["admin_b", "manager_b"])
def test_every_store_route_of_another_agency_is_404(app, client, world, store_a_objects, who):
    sign_in(client, getattr(world, who))
    token = csrf_token(client.get("/login").get_data(as_text=True))
    urls = _store_urls(app, store_a_objects)
    assert len(urls) >= 15
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token, "since": "2026-01-01"})
        assert response.status_code == 404, (method, url, response.status_code)
    assert client.get("/fortnox/callback?state=state-of-a&code=x").status_code == 404
    assert client.get("/visma/callback?state=state-of-a&code=x").status_code == 404
    listing = client.get("/agency/" if who == "admin_b" else "/", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Byrå A Butik 1" not in listing


def test_a_manager_sees_only_their_stores_and_no_agency_actions(client, engine, world):
    with Session(engine) as session:
        session.add(Store(agency_id=world.agency_a, name="Annan butik", org_number="556677-8808"))
        session.commit()
        other = session.scalars(select(Store.id).where(Store.name == "Annan butik")).one()
    sign_in(client, world.manager_a)
    assert client.get(f"/stores/{other}/").status_code == 404
    token = csrf_token(client.get(f"/stores/{world.store_a}/").get_data(as_text=True))
    assert client.post("/agency/check-all", data={"csrf_token": token}).status_code == 404
    assert "Annan butik" not in client.get("/agency/").get_data(as_text=True)


def test_a_device_of_another_agency_cannot_report_for_this_store(client, engine, world):
    with Session(engine) as session:
        store_b = session.get(Store, world.store_b)
        manager_b = session.scalars(select(User).where(User.email == world.manager_b)).one()
        token_b = enrolled_token(session, store_b, manager_b)
        session.commit()
    response = client.post(
        "/api/v1/z-reports", json=z_report(1), headers={"Authorization": f"Bearer {token_b}"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["org_number"]
