"""An agency admin's stores-and-users page: adding a store (org number with its check digit), inviting
a user with a temporary password shown once, choosing a manager's stores, deactivating; audited; a store
manager and another agency's admin get 404; CSRF refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import AuditEntry, Store, User, UserStore
from tests.backoffice.factories import PASSWORD, csrf_token, sign_in


def _token(client) -> str:
    return csrf_token(client.get("/agency/people/").get_data(as_text=True))


def _audit(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _user(engine, email: str) -> User:
    with Session(engine) as session:
        return session.scalars(select(User).where(User.email == email)).one()


def _managed(engine, email: str) -> set[str]:
    with Session(engine) as session:
        return set(
            session.scalars(
                select(Store.name)
                .join(UserStore, UserStore.store_id == Store.id)
                .join(User, User.id == UserStore.user_id)
                .where(User.email == email)
            )
        )


def _add_store(client, name: str, org_number: str, timezone: str = "Europe/Stockholm"):
    data = {"csrf_token": _token(client), "name": name, "org_number": org_number, "timezone": timezone}
    return client.post("/agency/people/stores", data=data)


def test_an_admin_adds_a_store_with_a_valid_org_number(client, engine, world):
    sign_in(client, world.admin_a)
    response = _add_store(client, "Södermalm", "5566778808", "Europe/Helsinki")
    assert response.status_code == 302
    with Session(engine) as session:
        store = session.scalars(select(Store).where(Store.name == "Södermalm")).one()
        assert (store.agency_id, store.org_number, store.timezone) == (
            world.agency_a,
            "556677-8808",
            "Europe/Helsinki",
        )
    (entry,) = _audit(engine, "store.created")
    assert (entry.actor, entry.store_id, entry.agency_id) == (world.admin_a, store.id, world.agency_a)
    assert "Butiken Södermalm är tillagd." in client.get("/agency/people/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("org_number", "timezone", "field", "says"),
    [
        ("556677-8809", "Europe/Stockholm", "Organisationsnummer", "the last digit should be 8"),
        ("55667788", "Europe/Stockholm", "Organisationsnummer", "is not NNNNNN-NNNN"),
        ("556677-8808", "Mars/Olympus", "Tidszon", "is not a time zone"),
    ],
)
def test_a_store_with_a_bad_org_number_or_time_zone_is_refused(
    client, engine, world, org_number, timezone, field, says
):
    sign_in(client, world.admin_a)
    response = _add_store(client, "Felbutik", org_number, timezone)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"{field}: " in page and says in page
    assert 'value="Felbutik"' in page  # the form keeps what was typed
    with Session(engine) as session:
        assert session.scalars(select(Store).where(Store.name == "Felbutik")).first() is None
    assert _audit(engine, "store.created") == []


def test_an_admin_invites_a_manager_who_signs_in_with_the_password_shown_once(app, client, engine, world):
    sign_in(client, world.admin_a)
    data = {
        "csrf_token": _token(client),
        "email": "Ny.Chef@Byraa.se",
        "name": "Ny Chef",
        "role": "store_manager",
        "stores": [str(world.store_a)],
    }
    response = client.post("/agency/people/", data=data)
    assert response.status_code == 201
    password = re.search(r'id="temporary-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert len(password) >= 10
    user = _user(engine, "ny.chef@byraa.se")
    assert (user.agency_id, user.role, user.name, user.active) == (
        world.agency_a,
        "store_manager",
        "Ny Chef",
        True,
    )
    assert password not in user.password_hash
    assert _managed(engine, "ny.chef@byraa.se") == {"Byrå A Butik 1"}
    (entry,) = [e for e in _audit(engine, "user.created") if e.subject == "ny.chef@byraa.se"]
    assert entry.actor == world.admin_a
    assert password not in client.get("/agency/people/").get_data(as_text=True)  # shown once

    manager = app.test_client()
    assert sign_in(manager, "ny.chef@byraa.se", password).status_code == 302
    # A password someone else chose is changed first (test_first_password.py).
    token = csrf_token(manager.get("/account/password").get_data(as_text=True))
    new = {
        "current_password": password,
        "new_password": "mine alone now",
        "repeat_password": "mine alone now",
    }
    assert manager.post("/account/password", data={**new, "csrf_token": token}).status_code == 302
    assert manager.get(f"/stores/{world.store_a}/").status_code == 200
    assert manager.get(f"/stores/{world.store_b}/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stores": ["other-agency"]}, "stores"),
        ({"stores": []}, "stores"),
        ({"email": "manager@byraa.se"}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"role": "superuser"}, "role"),
    ],
)
def test_an_invitation_with_a_problem_creates_nobody(client, engine, world, changes, field):
    sign_in(client, world.admin_a)
    data = {"email": "x@byraa.se", "role": "store_manager", "stores": [str(world.store_a)], **changes}
    if data["stores"] == ["other-agency"]:
        data["stores"] = [str(world.store_b)]  # agency B's store: not A's to give
    response = client.post("/agency/people/", data={"csrf_token": _token(client), **data})
    assert response.status_code == 422
    translated = {"stores": "butiker", "email": "E-post", "role": "Roll"}[field]
    assert f"{translated}: " in response.get_data(as_text=True)
    with Session(engine) as session:
        assert session.scalars(select(User).where(User.email == "x@byraa.se")).first() is None
        assert len(session.scalars(select(User)).all()) == 4


def test_an_admin_assigns_stores_and_deactivates_a_manager(app, client, engine, world):
    with Session(engine) as session:
        session.add(Store(agency_id=world.agency_a, name="Byrå A Butik 2", org_number="556677-8808"))
        session.commit()
        second = session.scalars(select(Store.id).where(Store.name == "Byrå A Butik 2")).one()
    manager = _user(engine, world.manager_a)
    signed_in_manager = app.test_client()
    sign_in(signed_in_manager, world.manager_a)

    sign_in(client, world.admin_a)
    stores = {"csrf_token": _token(client), "stores": [str(second)]}
    assert client.post(f"/agency/people/{manager.id}/stores", data=stores).status_code == 302
    assert _managed(engine, world.manager_a) == {"Byrå A Butik 2"}
    assert _audit(engine, "user.stores_changed")[0].details == {"stores": ["Byrå A Butik 2"]}
    assert signed_in_manager.get(f"/stores/{world.store_a}/").status_code == 404
    assert signed_in_manager.get(f"/stores/{second}/").status_code == 200

    off = {"csrf_token": _token(client), "active": "0"}
    assert client.post(f"/agency/people/{manager.id}/active", data=off).status_code == 302
    assert _user(engine, world.manager_a).active is False
    assert _audit(engine, "user.deactivated")[0].actor == world.admin_a
    # The manager's open session ends, and signing in again fails.
    assert signed_in_manager.get(f"/stores/{second}/").status_code == 302
    assert sign_in(app.test_client(), world.manager_a).status_code == 401

    on = {"csrf_token": _token(client), "active": "1"}
    assert client.post(f"/agency/people/{manager.id}/active", data=on).status_code == 302
    assert sign_in(app.test_client(), world.manager_a).status_code == 302
    assert len(_audit(engine, "user.activated")) == 1


def test_an_admin_cannot_deactivate_themselves(client, engine, world):
    sign_in(client, world.admin_a)
    admin = _user(engine, world.admin_a)
    response = client.post(
        f"/agency/people/{admin.id}/active",
        data={"csrf_token": _token(client), "active": "0"},
        follow_redirects=True,
    )
    assert "you cannot deactivate yourself" in response.get_data(as_text=True)
    assert _user(engine, world.admin_a).active is True
    assert _audit(engine, "user.deactivated") == []


def test_a_store_manager_cannot_reach_the_page(client, engine, world):
    sign_in(client, world.manager_a)
    token = csrf_token(client.get(f"/stores/{world.store_a}/").get_data(as_text=True))
    admin = _user(engine, world.admin_a)
    assert client.get("/agency/people/").status_code == 404
    for url in (
        "/agency/people/",
        "/agency/people/stores",
        f"/agency/people/{admin.id}/stores",
        f"/agency/people/{admin.id}/active",
    ):
        data = {
            "csrf_token": token,
            "name": "X",
            "org_number": "556677-8808",
            "email": "x@byraa.se",
            "active": "0",
        }
        assert client.post(url, data=data).status_code == 404, url
    assert _user(engine, world.admin_a).active is True
    with Session(engine) as session:
        assert session.scalars(select(Store).where(Store.name == "X")).first() is None


def test_another_agencys_admin_gets_404_for_its_users(client, engine, world):
    manager_a = _user(engine, world.manager_a)
    sign_in(client, world.admin_b)
    page = client.get("/agency/people/").get_data(as_text=True)
    assert world.manager_a not in page and "Byrå A Butik 1" not in page
    assert world.manager_b in page
    token = _token(client)
    assert (
        client.post(
            f"/agency/people/{manager_a.id}/active", data={"csrf_token": token, "active": "0"}
        ).status_code
        == 404
    )
    stores = {"csrf_token": token, "stores": [str(world.store_b)]}
    assert client.post(f"/agency/people/{manager_a.id}/stores", data=stores).status_code == 404
    assert client.post("/agency/people/999999/stores", data=stores).status_code == 404
    assert _user(engine, world.manager_a).active is True
    assert _managed(engine, world.manager_a) == {"Byrå A Butik 1"}


def test_a_form_without_its_csrf_token_is_refused(client, engine, world):
    sign_in(client, world.admin_a)
    response = client.post("/agency/people/stores", data={"name": "Utan token", "org_number": "556677-8808"})
    assert response.status_code == 400
    with Session(engine) as session:
        assert session.scalars(select(Store).where(Store.name == "Utan token")).first() is None


def test_the_page_in_english(client, world):
    sign_in(client, world.admin_a)
    client.get("/language/en")
    page = client.get("/agency/people/").get_data(as_text=True)
    assert "Stores and users" in page and "Invite a user" in page and "Store manager" in page
    client.get("/language/sv")
    page = client.get("/agency/people/").get_data(as_text=True)
    assert "Butiker och användare" in page and "Bjud in en användare" in page and "Butikschef" in page


def test_a_user_changes_the_temporary_password(app, client, engine, world):
    sign_in(client, world.manager_a)
    page = client.get("/account/password").get_data(as_text=True)
    assert "Byt lösenord" in page
    token = csrf_token(page)

    def change(current: str, new: str, repeat: str | None = None):
        data = {"csrf_token": token, "current_password": current, "new_password": new}
        return client.post(
            "/account/password", data={**data, "repeat_password": new if repeat is None else repeat}
        )

    assert "Fel lösenord." in change("not it", "a new long password").get_data(as_text=True)
    assert "minst 10 tecken" in change(PASSWORD, "short").get_data(as_text=True)
    assert "skiljer sig" in change(PASSWORD, "a new long password", "another long one").get_data(as_text=True)
    assert _audit(engine, "user.password_changed") == []
    assert change(PASSWORD, "a new long password").status_code == 302
    assert [e.actor for e in _audit(engine, "user.password_changed")] == [world.manager_a]
    assert sign_in(app.test_client(), world.manager_a).status_code == 401
    assert sign_in(app.test_client(), world.manager_a, "a new long password").status_code == 302
