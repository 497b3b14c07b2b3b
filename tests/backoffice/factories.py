"""Test data: agencies, stores, users and Z-reports, made through the BackOffice's own services."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from backoffice.auth import create_user
from backoffice.models import AGENCY_ADMIN, STORE_MANAGER, Agency, Store, User
from backoffice.services.registers import create_enrollment_code, enroll
from config.settings import Settings

ORG_A = "556677-8899"
ORG_B = "556677-8881"
PASSWORD = "correct horse battery"

_DAY = {
    "schema_version": 1,
    "register": {"id": "Kassa 1", "control_unit_id": "CU-0001"},
    "org_number": ORG_A,
    "company_name": "Testkrogen AB",
    "z_number": 1,
    "business_date": "2026-03-14",
    "opened_at": "2026-03-14T10:58:00+01:00",
    "closed_at": "2026-03-14T23:41:00+01:00",
    "generated_at": "2026-03-14T23:41:12+01:00",
    "currency": "SEK",
    "sales": [
        {"product_group": "Dryck", "vat_rate": "25", "net": "400.00", "vat": "100.00"},
        {"product_group": "Mat", "vat_rate": "12", "net": "800.00", "vat": "96.00"},
    ],
    "returns": [],
    "payments": [
        {"method": "cash", "amount": "395.60"},
        {"method": "card", "amount": "1050.00"},
    ],
    "tips": [{"method": "card", "amount": "50.00"}],
    "rounding": "-0.40",
    "float": "2000.00",
    "counts": {"receipts": 18, "drawer_openings": 6, "goods_sold": 51, "services_sold": 0},
    "returns_total": {"count": 0, "amount": "0.00"},
    "discounts_total": {"count": 0, "amount": "0.00"},
    "other_reductions": {"count": 0, "amount": "0.00"},
    "unfinished_sales": {"count": 0, "amount": "0.00"},
    "copies": {"count": 0, "amount": "0.00"},
    "training": {"count": 0, "amount": "0.00"},
    "grand_totals": {"sales": "41234.00", "returns": "0.00", "net": "41234.00"},
}


def z_report(z_number: int = 1, **changes: Any) -> dict[str, Any]:
    """A complete, valid day; ``z_number`` also moves the business date one day per number."""
    report = copy.deepcopy(_DAY)
    report["z_number"] = z_number
    day = date(2026, 3, 13) + timedelta(days=z_number)
    report["business_date"] = day.isoformat()
    for name in ("opened_at", "closed_at", "generated_at"):
        report[name] = day.isoformat() + report[name][10:]
    report.update(changes)
    return report


def agency_with_store(
    session: Session, name: str = "Byrå A", org_number: str = ORG_A
) -> tuple[Agency, Store, User, User]:
    """An agency with one store, its admin and its store manager."""
    agency = Agency(name=name)
    session.add(agency)
    session.flush()
    store = Store(agency_id=agency.id, name=f"{name} Butik 1", org_number=org_number)
    session.add(store)
    session.flush()
    slug = name.lower().replace(" ", "").replace("å", "a")
    admin = create_user(session, f"admin@{slug}.se", PASSWORD, AGENCY_ADMIN, agency)
    manager = create_user(session, f"manager@{slug}.se", PASSWORD, STORE_MANAGER, agency, [store])
    return agency, store, admin, manager


def enrolled_token(session: Session, store: Store, user: User, register_id: str = "Kassa 1") -> str:
    code, _ = create_enrollment_code(session, store, user)
    return enroll(
        session, {"code": code, "register_id": register_id, "control_unit_id": "CU-0001"}
    ).device_token


def sandbox_fortnox(base_url: str, **extra: Any) -> dict[str, Any]:
    """The ``fortnox`` settings section for Dagskassa's Fortnox app at the sandbox served at ``base_url``."""
    from exporters.fortnox import sandbox

    return {
        "client_id": sandbox.CLIENT_ID,
        "client_secret": sandbox.CLIENT_SECRET,
        "auth_url": f"{base_url}/oauth-v1",
        "api_url": base_url,
        **extra,
    }


def app_settings(url: str = "sqlite://") -> Settings:
    return Settings().replace(
        database={"url": url}, web={"secret_key": "test secret key", "secure_cookies": False}
    )


def csrf_token(page_html: str) -> str:
    return page_html.split('name="csrf_token" value="')[1].split('"')[0]


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the form, CSRF token and all."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


class Unreachable:
    """The accounting system's side of the runtime: a refused day must never get this far."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, db, export):
        self.calls += 1
        raise AssertionError("the accounting system was opened for a refused day")
