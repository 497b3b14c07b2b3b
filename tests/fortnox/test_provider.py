"""Fortnox behind the provider seam (exporters.providers), as the pipeline and the BackOffice use it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from config.bas import bas_default_mapping_data
from config.settings import Settings
from exporters.core import FixData, parse_mapping
from exporters.core.zreport import Customer, InvoiceLine, InvoiceSale
from exporters.fortnox.provider import FortnoxSession, invoice_reference
from exporters.fortnox.sandbox import CLIENT_ID, CLIENT_SECRET, SandboxState
from exporters.providers import PreflightRequest, get_provider
from tests.fortnox.conftest import EXEMPELKROGEN
from tests.fortnox.test_voucher_rules import day_voucher

MAPPING = parse_mapping({"cost_center": "REST1", "cash_difference": 6990}, bas_default_mapping_data())


@pytest.fixture
def session(http, sandbox: SandboxState, store) -> FortnoxSession:
    settings = Settings().replace(
        fortnox={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auth_url": "http://fortnox.sandbox/oauth-v1",
            "api_url": "http://fortnox.sandbox",
        }
    )
    provider = get_provider("fortnox")
    assert provider.scopes == (
        "bookkeeping",
        "costcenter",
        "companyinformation",
        "settings",
        "inbox",
        "connectfile",
    )
    return provider.open_session(settings, http, store, mapping=MAPPING, now=sandbox.clock.now)


def test_post_find_and_list_vouchers(session: FortnoxSession, sandbox: SandboxState, today: date) -> None:
    voucher = day_voucher(today)
    posted = session.post_voucher(voucher)
    assert posted.ref == "K 1" and posted.transaction_date == today
    found = session.find_voucher(voucher.marker, today, "K")
    assert found is not None and (found.ref, found.year) == (posted.ref, posted.year)
    # A voucher of ours is known by its marker: listed without fetching its rows. A foreign one (say,
    # imported from the register's own SIE file) is fetched, rows and all, as evidence for the guard.
    session.post_voucher(replace(voucher, description="Import kassarapport", marker=""))
    ours, foreign = session.vouchers_on(today)
    assert voucher.marker in ours.description and ours.rows == ()
    assert foreign.rows == ((1580, Decimal("1250.00"), Decimal("0.00")), (3001, Decimal("0.00"), Decimal("1000.00")),
                            (2611, Decimal("0.00"), Decimal("250.00")))  # fmt: skip
    assert session.vouchers_on(date(today.year - 1, 3, 1)) == []


def test_a_date_without_financial_year_is_a_fix_for_the_manager(session: FortnoxSession, today: date) -> None:
    with pytest.raises(FixData, match="no financial year"):
        session.post_voucher(day_voucher(date(today.year + 3, 1, 2)))


def test_invoice_with_customer_created_then_found_by_marker(session, sandbox: SandboxState, today) -> None:
    sale = InvoiceSale(
        "881",
        Customer("Nya Bolaget AB", org_number="559999-0001"),
        (InvoiceLine("Mat", "12", Decimal("100.00"), Decimal("12.00"), "Lunch"),),
    )
    posted = session.post_invoice(sale, "dk:abc.f1", as_order=False, allow_tip=False, on=today)
    invoice = sandbox.tenants[EXEMPELKROGEN].invoices[int(posted.ref)]
    assert invoice["ExternalInvoiceReference1"] == "Kvitto 881 [dk:abc.f1]"
    assert sandbox.tenants[EXEMPELKROGEN].customers[posted.customer_number]["Name"] == "Nya Bolaget AB"
    assert session.find_invoice("dk:abc.f1", today) == posted
    order = session.post_invoice(sale, "dk:abc.f2", as_order=True, allow_tip=False, on=today)
    assert session.find_invoice("dk:abc.f2", today) == order
    assert order.customer_number == posted.customer_number  # matched by org number, not created twice


def test_reference_keeps_the_marker_whole() -> None:
    reference = invoice_reference("9" * 100, "dk:0123456789ab.f12")
    assert len(reference) == 80 and reference.endswith(" [dk:0123456789ab.f12]")


def test_chart_series_cost_centers_and_preflight(session: FortnoxSession, today: date) -> None:
    assert len(session.accounts()) > 300
    assert {s.code for s in session.voucher_series(today) if s.manual} == {"K"}
    assert session.voucher_series(date(today.year + 3, 1, 1)) == []
    assert "REST1" in {c.code for c in session.cost_centers()}
    results = session.preflight(PreflightRequest(MAPPING, "K", "REST1", None, today, invoicing=True))
    assert all(result.ok for result in results), results
