"""The client against the sandbox in process: reading the company, lists across pages, retries where
they are harmless, no blind repeat of a POST, the reconcile step by marker, tokens refreshed once on a
401, customers matched or created, invoices and orders with a tip row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import jsonschema
import pytest

from config.bas import bas_default_mapping_data
from exporters.core import NotFound, OutcomeUnknown, RetryLater, parse_mapping
from exporters.core.zreport import Customer, InvoiceLine, InvoiceSale
from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.sandbox import SandboxState
from exporters.fortnox.schemas import response_schema
from tests.fortnox.conftest import EXEMPELKROGEN, connect, make_client
from tests.fortnox.test_voucher_rules import THIS_YEAR, day_voucher, vouchers_in


def test_reading_the_company(client: FortnoxClient, today: date) -> None:
    assert client.company_information()["OrganizationNumber"] == "556677-8899"
    year = client.financial_year(today)
    assert year is not None and year.id == THIS_YEAR and year.covers(today)
    assert client.financial_year(date(today.year + 5, 1, 1)) is None
    series = {s.code: s.manual for s in client.voucher_series(THIS_YEAR)}
    assert series == {"A": False, "B": False, "K": True}
    centers = {c.code: c.active for c in client.cost_centers()}
    assert centers == {"REST1": True, "BAR1": True, "GAMMAL": False}
    assert client.locked_period_end() == date(today.year - 1, 12, 31)


def test_lists_are_read_across_every_page(client: FortnoxClient, sandbox: SandboxState) -> None:
    client.page_limit = 100
    accounts = client.accounts(THIS_YEAR)
    assert len(accounts) == len(sandbox.tenants[EXEMPELKROGEN].accounts) > 300
    assert len({a.number for a in accounts}) == len(accounts)
    assert sandbox.stats["requests"] >= 4


def test_answers_the_client_reads_match_fortnoxs_schema(client: FortnoxClient, today: date) -> None:
    posted = client.create_voucher(day_voucher(today), THIS_YEAR)
    voucher = client.get(f"/3/vouchers/K/{posted.number}", {"financialyear": THIS_YEAR})
    jsonschema.validate(voucher, response_schema("Voucher", "Voucher"))
    jsonschema.validate(
        client.get("/3/companyinformation"), response_schema("CompanyInfo", "CompanyInformation")
    )
    jsonschema.validate(
        client.get("/3/settings/lockedperiod"), response_schema("LockedPeriod", "LockedPeriod")
    )


def test_a_get_is_retried_after_5xx_and_429(client: FortnoxClient, sandbox: SandboxState) -> None:
    server_error = sandbox.knobs.add_fault("5xx", nth=(1,), path="/3/companyinformation")
    too_many = sandbox.knobs.add_fault("429", nth=(2,), path="/3/companyinformation")
    assert client.company_information()["CompanyName"] == "Exempelkrogen AB"
    assert (server_error.fired, too_many.fired, server_error.seen) == (1, 1, 3)


def test_a_get_that_keeps_failing_gives_up_with_retry_later(
    client: FortnoxClient, sandbox: SandboxState
) -> None:
    fault = sandbox.knobs.add_fault("timeout", rate=1.0, path="/3/companyinformation")
    with pytest.raises(RetryLater) as caught:
        client.company_information()
    assert not isinstance(caught.value, OutcomeUnknown)
    assert fault.fired == client.get_attempts


def test_a_post_refused_with_503_is_not_repeated(client: FortnoxClient, sandbox: SandboxState, today) -> None:
    fault = sandbox.knobs.add_fault("5xx", rate=1.0, method="POST", path="/3/vouchers")
    with pytest.raises(RetryLater) as caught:
        client.create_voucher(day_voucher(today), THIS_YEAR)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert fault.seen == 1
    assert vouchers_in(sandbox) == 0


def test_a_post_answered_500_may_have_been_stored(
    client: FortnoxClient, sandbox: SandboxState, today
) -> None:
    sandbox.knobs.add_fault("5xx", nth=(1,), method="POST", path="/3/vouchers", status=500)
    with pytest.raises(OutcomeUnknown):
        client.create_voucher(day_voucher(today), THIS_YEAR)


def test_stored_but_unanswered_is_found_again_by_its_marker(client: FortnoxClient, sandbox, today) -> None:
    """The reconcile step: the answer was lost after Fortnox stored the voucher; the marker finds it and
    nothing is posted twice."""
    client.create_voucher(day_voucher(today - timedelta(days=1)), THIS_YEAR)  # another day, same series
    voucher = day_voucher(today)
    sandbox.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")
    with pytest.raises(OutcomeUnknown):
        client.create_voucher(voucher, THIS_YEAR)
    found = client.find_posted_voucher(voucher.marker, today, THIS_YEAR, "K")
    assert found is not None and (found.series, found.number) == ("K", 2)
    assert found.transaction_date == today
    assert vouchers_in(sandbox) == 2
    assert client.find_posted_voucher("dk:000000000000", today, THIS_YEAR, "K") is None


def test_dropped_before_storing_is_not_found_and_can_be_sent_again(client, sandbox, today) -> None:
    voucher = day_voucher(today)
    sandbox.knobs.add_fault("drop", nth=(1,), method="POST", path="/3/vouchers")
    with pytest.raises(OutcomeUnknown):
        client.create_voucher(voucher, THIS_YEAR)
    assert client.find_posted_voucher(voucher.marker, today, THIS_YEAR) is None
    client.create_voucher(voucher, THIS_YEAR)
    assert client.find_posted_voucher(voucher.marker, today, THIS_YEAR) is not None
    assert vouchers_in(sandbox) == 1


def test_the_marker_matches_exactly_not_as_a_prefix(client: FortnoxClient, today: date) -> None:
    first = day_voucher(today)
    correction = first.__class__(**{**first.__dict__, "marker": first.marker + ".1",
                                    "description": first.description.replace("]", ".1]")})  # fmt: skip
    client.create_voucher(correction, THIS_YEAR)
    assert client.find_posted_voucher(first.marker, today, THIS_YEAR) is None
    assert client.find_posted_voucher(correction.marker, today, THIS_YEAR) is not None


def test_a_401_is_answered_by_one_refresh(client: FortnoxClient, sandbox: SandboxState, store) -> None:
    with sandbox.lock:
        sandbox.access_tokens.clear()  # Fortnox forgot the access token (e.g. restarted its auth)
    assert client.company_information()["CompanyName"] == "Exempelkrogen AB"
    assert store.refresh_count == 1


def test_renewing_keeps_an_idle_connection_alive_past_45_days(client, sandbox: SandboxState, store) -> None:
    for _ in range(3):
        with sandbox.lock:
            sandbox.clock.advance(timedelta(days=30).total_seconds())
        client.renew_tokens()
    assert store.refresh_count == 3
    assert client.company_information()["CompanyName"] == "Exempelkrogen AB"


def test_customer_found_by_number_then_by_org_number_else_created(client: FortnoxClient, sandbox) -> None:
    assert client.find_or_create_customer(Customer("Lunchklubben AB", number="1")) == "1"
    # a LIKE search for 556000-0001 also matches 556000-00012; only the exact one is taken
    sandbox.tenants[EXEMPELKROGEN].customers["3"] = {
        **sandbox.tenants[EXEMPELKROGEN].customers["1"], "CustomerNumber": "3", "OrganisationNumber": "556000-00012"
    }  # fmt: skip
    assert (
        client.find_or_create_customer(Customer("Lunchklubben", number="77", org_number="5560000001")) == "1"
    )
    new = client.find_or_create_customer(Customer("Nya Bolaget AB", org_number="559999-0001"))
    assert sandbox.tenants[EXEMPELKROGEN].customers[new]["OrganisationNumber"] == "559999-0001"
    assert client.find_or_create_customer(Customer("Nya Bolaget AB", org_number="559999-0001")) == new
    assert client.find_or_create_customer(Customer("Kund 500", number="500")) == "500"
    with pytest.raises(NotFound):
        client.get("/3/customers/999")


def sale(tip: str) -> InvoiceSale:
    return InvoiceSale(
        receipt_number="881",
        customer=Customer(name="Lunchklubben AB", number="1"),
        lines=(InvoiceLine("Mat", "12", Decimal("300.00"), Decimal("36.00"), "Lunch", Decimal("3")),),
        tip=Decimal(tip),
    )


@pytest.mark.parametrize("as_order", [False, True])
def test_invoice_or_order_with_a_tip_row(
    client: FortnoxClient, sandbox: SandboxState, today, as_order
) -> None:
    mapping = parse_mapping({"cost_center": "REST1"}, bas_default_mapping_data())
    posted = client.create_invoice(
        sale("40.00"), "1", mapping, today, "Kvitto 881 [dk:abc.f1]", tip_on_invoice=True, as_order=as_order
    )
    assert (posted.kind, posted.customer_number) == ("order" if as_order else "invoice", "1")
    assert posted.total == Decimal("376.00")  # 300 + 12 % VAT + a VAT-free tip of 40
    tenant = sandbox.tenants[EXEMPELKROGEN]
    document = (tenant.orders if as_order else tenant.invoices)[int(posted.ref)]
    rows = document["OrderRows" if as_order else "InvoiceRows"]
    assert [(r["AccountNumber"], r["Total"], r["VAT"], r["CostCenter"]) for r in rows] == [
        (3002, Decimal("300.00"), 12, "REST1"),
        (2890, Decimal("40.00"), 0, "REST1"),
    ]
    assert document["ExternalInvoiceReference1"] == "Kvitto 881 [dk:abc.f1]"
    assert document["CustomerNumber"] == "1"
    # the reconcile step finds it by its marker, and only by the whole marker
    assert client.find_invoice("dk:abc.f1", today, as_order) == posted
    assert client.find_invoice("dk:abc", today, as_order) is None
    assert client.find_invoice("dk:abc.f1", today + timedelta(days=1), as_order) is None


def test_over_real_http_a_post_without_answer_is_outcome_unknown_and_reconciled(
    served_sandbox, sent_bodies
) -> None:
    """Real sockets: a held request runs into the client's read timeout, a stored-then-dropped one ends
    in a closed connection; both are OutcomeUnknown, and the marker tells which one was stored."""
    sandbox = served_sandbox.state
    sandbox.knobs.timeout_sleep_s = 1.0
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3), event_hooks={"request": [sent_bodies]}) as http:
        client = make_client(
            http, sandbox, connect(http, sandbox, base=served_sandbox.url), served_sandbox.url
        )
        today = sandbox.clock.today()
        held, stored = day_voucher(today), day_voucher(today - timedelta(days=1))
        sandbox.knobs.add_fault("timeout", nth=(1,), method="POST", path="/3/vouchers")
        with pytest.raises(OutcomeUnknown) as caught:
            client.create_voucher(held, THIS_YEAR)
        assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
        sandbox.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")
        with pytest.raises(OutcomeUnknown) as caught:
            client.create_voucher(stored, THIS_YEAR)
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        assert client.find_posted_voucher(held.marker, today, THIS_YEAR) is None
        assert client.find_posted_voucher(stored.marker, stored.transaction_date, THIS_YEAR) is not None
