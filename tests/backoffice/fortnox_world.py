"""A BackOffice store connected to the Fortnox sandbox and fed Z-reports, the way a manager and a
register would do it: Connect through the consent page, Z-reports through the register API's service."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models import FortnoxConnection, Store, User
from backoffice.services.fortnox import Fortnox, connection_row, finish_connect, start_connect, take_attempt
from backoffice.services.ingest import ingest
from backoffice.services.mapping import settings_of
from backoffice.services.registers import authenticate
from exporters.core.zreport import check_digit
from exporters.fortnox.sandbox.seed import seed_tenant
from exporters.fortnox.sandbox.state import User as SandboxUser
from tests.backoffice.factories import enrolled_token, z_report

TENANT = 100001


def connect_store(
    fortnox: Fortnox,
    store_id: int,
    email: str,
    fortnox_login: tuple[str, str] = ("anna@exempelkrogen.se", "anna-sandbox"),
) -> None:
    """Connect the store as its manager would: our Connect, Fortnox's consent page, our callback."""
    with Session(fortnox.sessions.kw["bind"]) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == email)).one()
        url = start_connect(db, fortnox, store, user, invoicing=True)
        db.commit()
    query = dict(parse_qsl(urlsplit(url).query))
    with httpx.Client(transport=fortnox.transport, base_url=fortnox.settings.fortnox.api_url) as browser:
        form = {**query, "email": fortnox_login[0], "password": fortnox_login[1], "decision": "grant"}
        callback = browser.post("/oauth-v1/auth", data=form).headers["Location"]
    with Session(fortnox.sessions.kw["bind"]) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == email)).one()
        attempt = take_attempt(db, user, query["state"])
        row_id = connection_row(db, store).id
        db.commit()
    company = finish_connect(fortnox, row_id, attempt, callback)
    with Session(fortnox.sessions.kw["bind"]) as db:
        row = db.get(FortnoxConnection, row_id)
        row.tenant_id = company["tenant_id"]
        sync = settings_of(db, db.get(Store, store_id))
        sync.voucher_series, sync.sync_sales = "K", True
        db.commit()


def send_days(engine, store_id: int, manager: str, days: range, **changes) -> None:
    with Session(engine) as db:
        store = db.get(Store, store_id)
        user = db.scalars(select(User).where(User.email == manager)).one()
        register = authenticate(db, enrolled_token(db, store, user))
        for number in days:
            outcome = ingest(db, register, json.dumps(z_report(number, **changes)).encode())
            assert outcome.status == 201, outcome.body
        db.commit()


def ledger(fortnox_state, marker_part: str = "[dk:") -> list:
    """The tenant's vouchers that Dagskassa posted (they carry a marker)."""
    with fortnox_state.lock:
        tenant = fortnox_state.tenants[TENANT]
        return [v for v in tenant.vouchers.values() if marker_part in v.description]


def org_number(serial: int) -> str:
    """A valid Swedish organisation number (its Luhn check digit right) for test company ``serial``."""
    digits = f"55{serial:07d}"
    return f"{digits[:6]}-{digits[6:]}{check_digit(digits)}"


def add_companies(fortnox_state, count: int, first: int = 200001) -> list[tuple[int, str, tuple[str, str]]]:
    """``count`` more Fortnox companies, each with an administrator who may connect it:
    (tenant, org number, (email, password)) for each."""
    companies = []
    with fortnox_state.lock:
        for offset in range(count):
            tenant = first + offset
            org = org_number(tenant)
            seed_tenant(fortnox_state, tenant, f"Butik {tenant} AB", org)
            login = (f"admin@{tenant}.example", f"pw-{tenant}")
            fortnox_state.users[login[0]] = SandboxUser(
                login[0], login[1], "Admin", (tenant,), True, id=f"u{tenant}"
            )
            companies.append((tenant, org, login))
    return companies
