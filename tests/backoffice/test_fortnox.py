"""Fortnox wiring against the sandbox mounted in process (httpx.WSGITransport): Connect through the
consent page (state and PKCE), encrypted tokens, the import for the pickers, preflight turning red when
the series stops being manual, a refresh under the row lock, Disconnect."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.db import make_sessionmaker
from backoffice.models import (
    AuditEntry,
    FortnoxAccount,
    FortnoxConnection,
    FortnoxVoucherSeries,
    PreflightResult,
)
from backoffice.services.fortnox import DbTokenStore
from exporters.fortnox import sandbox
from exporters.fortnox.crypto import TokenCipher
from tests.backoffice.factories import app_settings, csrf_token, sandbox_fortnox, sign_in

SANDBOX = "http://fortnox.sandbox"
KEY = Fernet.generate_key().decode()


@pytest.fixture
def sandbox_app():
    return sandbox.create_app(sandbox.seeded_state(seed=1))


@pytest.fixture
def transport(sandbox_app):
    return httpx.WSGITransport(app=sandbox_app)


@pytest.fixture
def app(engine, transport):
    settings = app_settings(engine.url.render_as_string(hide_password=False)).replace(
        fortnox=sandbox_fortnox(SANDBOX),
        security={"encryption_keys": (KEY,)},
        web={"public_url": "http://localhost"},
    )
    return create_app(settings, engine=engine, fortnox_transport=transport)


def connect(client, transport, store_id: int, email="anna@exempelkrogen.se", password="anna-sandbox"):
    """Connect as a person does: our button, Fortnox's consent page, back to our callback."""
    token = csrf_token(client.get(f"/stores/{store_id}/settings").get_data(as_text=True))
    started = client.post(f"/stores/{store_id}/fortnox/connect", data={"csrf_token": token})
    assert started.status_code == 302
    consent_url = started.headers["Location"]
    query = dict(parse_qsl(urlsplit(consent_url).query))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["access_type"] == "offline"
    with httpx.Client(transport=transport, base_url=SANDBOX) as fortnox_browser:
        assert "Godkänn" in fortnox_browser.get(consent_url).text
        form = {**query, "email": email, "password": password, "decision": "grant"}
        back = fortnox_browser.post("/oauth-v1/auth", data=form)
    assert back.status_code in (302, 303)
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_connect_import_preflight_and_disconnect(app, client, engine, transport, sandbox_app, world):
    sign_in(client, world.manager_a)
    done = connect(client, transport, world.store_a)
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Fortnox är anslutet." in page and "Exempelkrogen" in page
    with Session(engine) as session:
        row = session.scalars(select(FortnoxConnection)).one()
        assert row.status == "connected" and row.tenant_id == "100001"
        assert "bookkeeping" in row.scopes.split()
        tokens = TokenCipher([KEY]).decrypt(row.tokens_enc)
        assert tokens.split('"access_token": "')[1].split('"')[0] not in row.tokens_enc
        assert session.scalar(select(func.count()).select_from(FortnoxAccount)) > 300
        series = {s.code: s.manual for s in session.scalars(select(FortnoxVoucherSeries))}
        assert series["K"] is True and series["A"] is False

    # the pickers offer Fortnox's series and cost centers; a code Fortnox lacks is refused
    url = f"/stores/{world.store_a}/settings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    refused = client.post(
        url, data={"csrf_token": token, "sync_sales": "on", "voucher_series": "Q", "posting_time": "06:00"}
    )
    assert "is not in Fortnox" in refused.get_data(as_text=True)
    saved = client.post(
        url,
        data={
            "csrf_token": token,
            "sync_sales": "on",
            "voucher_series": "K",
            "cost_center": "REST1",
            "posting_time": "06:00",
        },
    )
    assert saved.status_code == 302

    preflight = f"/stores/{world.store_a}/preflight"
    client.post(preflight, data={"csrf_token": token})
    with Session(engine) as session:
        result = session.get(PreflightResult, world.store_a)
        assert result.ok, [c for c in result.checks if not c["ok"]]

    state = sandbox_app.extensions["fortnox_sandbox"]
    with state.lock:
        for (_, code), one in state.tenants[100001].series.items():
            if code == "K":
                one.manual = False
        state.clock.advance(3700)  # the access token has died: the next call refreshes under the lock
    client.post(preflight, data={"csrf_token": token})
    page = client.get(preflight).get_data(as_text=True)
    with Session(engine) as session:
        result = session.get(PreflightResult, world.store_a)
        failed = [c for c in result.checks if not c["ok"]]
        assert [c["name"] for c in failed] == ["voucher_series"]
        assert failed[0]["fix"] and str(escape(failed[0]["fix"])) in page
        row = session.scalars(select(FortnoxConnection)).one()
        assert TokenCipher([KEY]).decrypt(row.tokens_enc) != tokens  # rotated pair saved

    token = csrf_token(client.get(url).get_data(as_text=True))
    client.post(f"/stores/{world.store_a}/fortnox/disconnect", data={"csrf_token": token})
    with Session(engine) as session:
        row = session.scalars(select(FortnoxConnection)).one()
        assert row.status == "disconnected" and row.tokens_enc is None
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("fortnox.%"))))
    assert {
        "fortnox.connect_started",
        "fortnox.connected",
        "fortnox.imported",
        "fortnox.disconnected",
    } <= actions


def test_a_callback_with_a_foreign_state_is_refused(client, transport, world):
    sign_in(client, world.manager_a)
    assert client.get("/fortnox/callback?state=made-up&code=x").status_code == 404


def test_a_dead_refresh_token_marks_the_connection_for_reconnect(
    app, client, engine, transport, sandbox_app, world
):
    sign_in(client, world.manager_a)
    connect(client, transport, world.store_a)
    state = sandbox_app.extensions["fortnox_sandbox"]
    with state.lock:
        state.refresh_tokens.clear()
        state.clock.advance(3700)
    token = csrf_token(client.get(f"/stores/{world.store_a}/preflight").get_data(as_text=True))
    client.post(f"/stores/{world.store_a}/preflight", data={"csrf_token": token})
    with Session(engine) as session:
        row = session.scalars(select(FortnoxConnection)).one()
        assert row.status == "reconnect_needed"
        assert not session.get(PreflightResult, world.store_a).ok
    page = client.get(f"/stores/{world.store_a}/").get_data(as_text=True)
    assert "Behöver anslutas igen" in page


def test_db_token_store_refreshes_once_when_the_pair_moved_on(app, client, engine, transport, world):
    sign_in(client, world.manager_a)
    connect(client, transport, world.store_a)
    with Session(engine) as session:
        connection_id = session.scalars(select(FortnoxConnection.id)).one()
    store = DbTokenStore(make_sessionmaker(engine), connection_id, TokenCipher([KEY]))
    stale = store.load()
    calls = []

    def do_refresh(tokens):
        calls.append(tokens)
        return type(tokens)(
            tokens.access_token + "x",
            tokens.refresh_token + "y",
            tokens.expires_at,
            tokens.issued_at,
            tokens.scopes,
        )

    fresh = store.refresh(stale, do_refresh)
    again = store.refresh(stale, do_refresh)  # a second worker with the same stale pair
    assert len(calls) == 1
    assert again == fresh == store.load()
