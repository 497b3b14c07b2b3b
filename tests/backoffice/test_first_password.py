"""A password someone else chose (the agency's people page, ``dagskassa users create``) is changed at the
first sign-in: every page leads to the change-password page until then, and the new one must differ.
Users made before (the migration's default) are not asked."""

from __future__ import annotations

import argparse
import io
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.cli import users_create_command
from backoffice.models import AuditEntry, User
from tests.backoffice.factories import app_settings, csrf_token, sign_in

NEW = "my very own password"


def _invite(client, world) -> str:
    sign_in(client, world.admin_a)
    token = csrf_token(client.get("/agency/people/").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "email": "ny@byraa.se",
        "role": "store_manager",
        "stores": [str(world.store_a)],
    }
    response = client.post("/agency/people/", data=data)
    assert response.status_code == 201
    return re.search(r'id="temporary-password">([^<]+)<', response.get_data(as_text=True)).group(1)


def _user(engine, email: str) -> User:
    with Session(engine) as session:
        return session.scalars(select(User).where(User.email == email)).one()


def _change(client, current: str, new: str, next_path: str = ""):
    page = client.get("/account/password").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "current_password": current,
        "new_password": new,
        "repeat_password": new,
    }
    return client.post(f"/account/password?next={next_path}" if next_path else "/account/password", data=data)


def test_an_invited_user_must_change_the_password_before_anything_else(app, client, engine, world):
    temporary = _invite(client, world)
    assert _user(engine, "ny@byraa.se").must_change_password

    manager = app.test_client()
    signed_in = sign_in(manager, "ny@byraa.se", temporary)
    assert signed_in.status_code == 302 and signed_in.location.startswith("/account/password")
    store_page = manager.get(f"/stores/{world.store_a}/")
    assert store_page.status_code == 302 and store_page.location.startswith("/account/password")
    page = manager.get("/account/password").get_data(as_text=True)
    assert 'id="must-change"' in page

    # A form posted meanwhile does nothing but lead to the same page.
    form = {"since": "2026-01-01", "csrf_token": csrf_token(page)}
    sent = manager.post(f"/stores/{world.store_a}/exports/post-missing", data=form)
    assert sent.status_code == 302 and sent.location.startswith("/account/password")
    with Session(engine) as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "export.post_missing")).all() == []
        )

    same = _change(manager, temporary, temporary)
    assert same.status_code == 422 and "inte det du har nu" in same.get_data(as_text=True)
    assert _user(engine, "ny@byraa.se").must_change_password

    changed = _change(manager, temporary, NEW, f"/stores/{world.store_a}/")
    assert changed.status_code == 302 and changed.location == f"/stores/{world.store_a}/"
    assert not _user(engine, "ny@byraa.se").must_change_password
    assert manager.get(f"/stores/{world.store_a}/").status_code == 200
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password_changed")).one()
        assert (entry.actor, entry.details["first_sign_in"]) == ("ny@byraa.se", True)
    assert sign_in(app.test_client(), "ny@byraa.se", temporary).status_code == 401


def test_users_made_before_are_not_asked(client, engine, world):
    assert not _user(engine, world.manager_a).must_change_password
    signed_in = sign_in(client, world.manager_a)
    assert signed_in.status_code == 302 and not signed_in.location.startswith("/account/password")
    assert client.get(f"/stores/{world.store_a}/").status_code == 200


def test_a_user_made_on_the_command_line_changes_the_password_too(app, engine, world, monkeypatch):
    args = argparse.Namespace(
        settings=app_settings(engine.url.render_as_string(hide_password=False)),
        email="forsta@byraa.se",
        role="agency_admin",
        agency="Byrå A",
        store=[],
        org_number=None,
        name="",
        password_stdin=True,
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("typed by the operator\n"))
    assert users_create_command(args) == 0
    assert _user(engine, "forsta@byraa.se").must_change_password
    client = app.test_client()
    assert sign_in(client, "forsta@byraa.se", "typed by the operator").location.startswith(
        "/account/password"
    )
    assert _change(client, "typed by the operator", NEW).status_code == 302
    assert client.get("/agency/").status_code == 200


#: Pages anyone may open (signed in or not), and the change-password page itself.
OPEN = {
    "static",
    "auth.login",
    "auth.change_password",
    "language",
    "api.openapi",
    "api.health",
    "operations.metrics",
}


def test_every_page_leads_to_the_password_change_first(app, client, engine, world):
    with Session(engine) as session:
        session.scalars(select(User).where(User.email == world.admin_a)).one().must_change_password = True
        session.commit()
    sign_in(client, world.admin_a)
    pages = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint not in OPEN]
    assert len(pages) > 15
    for rule in pages:
        # Any id will do: the password comes before the page looks anything up.
        response = client.get(re.sub(r"<[^>]+>", "1", rule.rule))
        assert (response.location or "").startswith("/account/password"), rule.rule
