"""Both accounting sandboxes behind one BackOffice, in process: an httpx transport that routes by host
(``fortnox.sandbox``, ``visma.sandbox``) to each sandbox's WSGI app, the settings pointing at them, and a
store connected to either the way a manager does it (our Connect, the system's consent page, our
callback). :class:`Books` is what a test needs of each system's books, whichever the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_sessionmaker
from backoffice.models import Store, User
from backoffice.services.connecting import Connected, after_connect
from backoffice.services.fortnox import (
    Fortnox,
    connection_row,
    fetch_data,
    finish_connect,
    start_connect,
    store_today,
    take_attempt,
)
from backoffice.services.mapping import settings_of
from exporters.fortnox import sandbox as fortnox_sandbox
from exporters.visma import sandbox as visma_sandbox
from tests.backoffice.factories import app_settings, sandbox_fortnox

FORTNOX_URL = "http://fortnox.sandbox"
VISMA_URL = "http://visma.sandbox"
FORTNOX_TENANT = 100001
VISMA_COMPANY = "exempelkrogen"
#: Who approves on each consent page, and where the form is posted.
LOGINS = {
    "fortnox": ("anna@exempelkrogen.se", "anna-sandbox", f"{FORTNOX_URL}/oauth-v1/auth"),
    "visma": ("anna@exempelkrogen.se", "anna", f"{VISMA_URL}/connect/authorize"),
}


class HostRouter(httpx.BaseTransport):
    """One transport for the BackOffice, each request handed to the sandbox its host names."""

    def __init__(self, routes: dict[str, httpx.BaseTransport]) -> None:
        self.routes = routes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.routes[request.url.host].handle_request(request)


def settings_for(database_url: str, fortnox_url: str = FORTNOX_URL, visma_url: str = VISMA_URL, **web):
    return app_settings(database_url).replace(
        fortnox=sandbox_fortnox(fortnox_url, timeout_seconds=5.0),
        visma={
            "client_id": "dagskassa",
            "client_secret": "dagskassa-secret",
            "identity_url": visma_url,
            "api_url": visma_url,
            "timeout_seconds": 5.0,
        },
        security={"encryption_keys": (Fernet.generate_key().decode(),)},
        web={"public_url": "http://localhost", **web},
    )


@dataclass
class Books:
    """One accounting system's sandbox as a test sees it."""

    provider: str
    state: Any

    def vouchers(self) -> list[tuple[str, date, str]]:
        """(ref, date, description) of every voucher Dagskassa posted (it carries a marker)."""
        with self.state.lock:
            if self.provider == "fortnox":
                found = [
                    (f"{v.series} {v.number}", v.transaction_date, v.description)
                    for v in self.state.tenants[FORTNOX_TENANT].vouchers.values()
                ]
            else:
                found = [
                    (f"{v.series}{v.number}", v.voucher_date, v.text)
                    for v in self.state.companies[VISMA_COMPANY].vouchers.values()
                ]
        return sorted(v for v in found if "[dk:" in v[2])

    def deactivate_account(self, number: int) -> None:
        with self.state.lock:
            if self.provider == "fortnox":
                self.state.tenants[FORTNOX_TENANT].accounts[number].active = False
                return
            for (_year, account_number), account in self.state.companies[VISMA_COMPANY].accounts.items():
                if account_number == number:
                    account.is_active = False

    def remove_account(self, number: int) -> None:
        with self.state.lock:
            if self.provider == "fortnox":
                del self.state.tenants[FORTNOX_TENANT].accounts[number]
                return
            accounts = self.state.companies[VISMA_COMPANY].accounts
            for key in [key for key in accounts if key[1] == number]:
                del accounts[key]

    def drop_answer_to_next_voucher(self) -> None:
        """The next voucher is stored, and its answer never arrives (the connection drops)."""
        path = "/3/vouchers" if self.provider == "fortnox" else "/v2/vouchers"
        self.state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path=path)

    def book_by_hand(self, http: httpx.Client, access_token: str, day: date, rows: list[tuple]) -> None:
        """A voucher posted by someone else (e.g. the register's own SIE export imported): no marker."""
        auth = {"Authorization": f"Bearer {access_token}"}
        if self.provider == "fortnox":
            body = {
                "Voucher": {
                    "VoucherSeries": "K",
                    "TransactionDate": day.isoformat(),
                    "Description": "Import SIE kassarapport",
                    "VoucherRows": [
                        {"Account": a, "Debit": float(d), "Credit": float(c)} for a, d, c in rows
                    ],
                }
            }
            answer = http.post(f"{FORTNOX_URL}/3/vouchers", json=body, headers=auth)
        else:
            body = {
                "VoucherDate": day.isoformat(),
                "VoucherText": "Import SIE kassarapport",
                "Rows": [
                    {"AccountNumber": a, "DebitAmount": str(d), "CreditAmount": str(c)} for a, d, c in rows
                ],
            }
            answer = http.post(f"{VISMA_URL}/v2/vouchers", json=body, headers=auth)
        assert answer.status_code == 201, answer.text


def world_transport(fortnox_state, visma_state) -> HostRouter:
    return HostRouter(
        {
            "fortnox.sandbox": httpx.WSGITransport(app=fortnox_sandbox.create_app(fortnox_state)),
            "visma.sandbox": httpx.WSGITransport(app=visma_sandbox.create_app(visma_state)),
        }
    )


def make_connector(engine, transport: httpx.BaseTransport) -> Fortnox:
    """The BackOffice's accounting wiring over ``transport``."""
    return Fortnox(
        settings_for(engine.url.render_as_string(hide_password=False)), make_sessionmaker(engine), transport
    )


def consent(transport: httpx.BaseTransport, provider: str, url: str) -> str:
    """Play the manager on the system's consent page; returns the redirect back to our callback."""
    email, password, action = LOGINS[provider]
    query = dict(parse_qsl(urlsplit(url).query))
    with httpx.Client(transport=transport) as browser:
        page = browser.get(url)
        assert page.status_code == 200 and "Godkänn" in page.text, page.text[:300]
        form = {**query, "email": email, "password": password, "decision": "grant"}
        answer = browser.post(action, data=form)
    assert answer.status_code in (302, 303), answer.text[:300]
    return answer.headers["Location"]


def connect(
    connector: Fortnox, store_id: int, email: str, provider: str, start_date: date | None = None
) -> Connected:
    """Connect ``provider`` as the store's manager would, through the services the pages use."""
    engine = connector.sessions.kw["bind"]
    with Session(engine) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == email)).one()
        url = start_connect(db, connector, store, user, False, provider, start_date)
        db.commit()
    callback = consent(connector.transport, provider, url)
    state = dict(parse_qsl(urlsplit(callback).query))["state"]
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        attempt = take_attempt(db, user, state)
        store = db.get(Store, store_id)
        row = connection_row(db, store)
        row_id, previous, today = row.id, row.provider, store_today(store)
        db.commit()
    company = finish_connect(connector, row_id, attempt, callback)
    data = fetch_data(connector, row_id, today)
    with Session(engine) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == email)).one()
        connected = after_connect(db, store, user, attempt, previous, company, data)
        sync = settings_of(db, store)
        if provider == "fortnox" and connected.switch is None:
            sync.voucher_series = "K"
        sync.sync_sales = True
        db.commit()
    return connected


def payments_of(z_report: dict) -> list[tuple[int, Decimal, Decimal]]:
    """The rows of a hand-booked voucher with the same payments as ``z_report`` (BAS accounts)."""
    accounts = {"cash": 1910, "card": 1580}
    rows = [(accounts[p["method"]], Decimal(p["amount"]), Decimal("0")) for p in z_report["payments"]]
    total = sum((debit for _a, debit, _c in rows), Decimal("0"))
    return [*rows, (3001, Decimal("0"), total)]
