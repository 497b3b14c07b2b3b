"""Company, years, accounts, series, cost centers, customers, invoices and orders; pagination; scopes and
licenses; and every answer checked against the schemas derived from Fortnox's published spec."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from exporters.fortnox.sandbox import SandboxState
from exporters.fortnox.sandbox.schemas import schema_document
from tests.fortnox_sandbox.conftest import post_voucher, tokens

TENANT = 100001


def conforms(payload: dict[str, Any], envelope: str, definition: str, listed: bool = False) -> None:
    """Assert an answer's envelope holds (a list of) ``definition`` of the derived schemas."""
    item: dict[str, Any] = {"$ref": f"#/$defs/{definition}"}
    schema = {
        "$defs": schema_document()["$defs"],
        "type": "object",
        "properties": {envelope: {"type": "array", "items": item} if listed else item},
        "required": [envelope],
    }
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(payload)


@pytest.mark.parametrize(
    ("path", "envelope", "definition", "listed"),
    [
        ("/3/companyinformation", "CompanyInformation", "CompanyInfo", False),
        ("/3/settings/company", "CompanySettings", "CompanySettings", False),
        ("/3/settings/lockedperiod", "LockedPeriod", "LockedPeriod", False),
        ("/3/me", "MeInformation", "Me", False),
        ("/3/financialyears", "FinancialYears", "FinancialYear", True),
        ("/3/financialyears/1", "FinancialYear", "FinancialYear", False),
        ("/3/accounts", "Accounts", "AccountListItem", True),
        ("/3/accounts/1910", "Account", "AccountSingleItem", False),
        ("/3/voucherseries", "VoucherSeriesCollection", "VoucherSeriesListItem", True),
        ("/3/voucherseries/K", "VoucherSeries", "VoucherSeries", False),
        ("/3/costcenters", "CostCenters", "CostCenter", True),
        ("/3/costcenters/REST1", "CostCenter", "CostCenter", False),
        ("/3/customers", "Customers", "CustomerListItem", True),
        ("/3/customers/1", "Customer", "Customer", False),
        ("/3/vouchers", "Vouchers", "VoucherListItem", True),
        ("/3/vouchers/K/1", "Voucher", "Voucher", False),
        ("/3/invoices", "Invoices", "InvoiceListItem", True),
        ("/3/invoices/1", "Invoice", "Invoice", False),
        ("/3/orders", "Orders", "OrderListItem", True),
        ("/3/orders/1", "Order", "Order", False),
    ],
)
def test_answers_match_fortnox_s_schemas(
    api: httpx.Client, state: SandboxState, path: str, envelope: str, definition: str, listed: bool
) -> None:
    assert post_voucher(api, state).status_code == 201
    row = {"AccountNumber": 3001, "DeliveredQuantity": "2", "Price": 100, "VAT": 25, "Description": "Lunch"}
    assert api.post("/3/invoices", json={"Invoice": {"CustomerNumber": "1", "InvoiceRows": [row]}}).is_success
    order_row = {"AccountNumber": 3001, "OrderedQuantity": "1", "Price": 10}
    assert api.post("/3/orders", json={"Order": {"CustomerNumber": "2", "OrderRows": [order_row]}}).is_success

    response = api.get(path)

    assert response.status_code == 200, response.text
    conforms(response.json(), envelope, definition, listed)


def test_company_and_settings(api: httpx.Client, state: SandboxState) -> None:
    info = api.get("/3/companyinformation").json()["CompanyInformation"]
    settings = api.get("/3/settings/company").json()["CompanySettings"]
    locked = api.get("/3/settings/lockedperiod").json()["LockedPeriod"]
    assert (info["DatabaseNumber"], info["OrganizationNumber"]) == (TENANT, "556677-8899")
    assert settings["DatabaseNumber"] == str(TENANT)
    assert locked["EndDate"] == f"{state.clock.today().year - 1}-12-31"


def test_financial_year_by_date(api: httpx.Client, state: SandboxState) -> None:
    year = state.clock.today().year
    this = api.get("/3/financialyears", params={"date": f"{year}-06-30"}).json()["FinancialYears"]
    none = api.get("/3/financialyears", params={"date": f"{year + 2}-01-01"}).json()["FinancialYears"]
    assert [y["Id"] for y in this] == [2] and this[0]["FromDate"] == f"{year}-01-01"
    assert none == []
    assert api.get("/3/financialyears/9").status_code == 404


def test_pagination_default_100_at_most_500(api: httpx.Client, state: SandboxState) -> None:
    total = len(state.tenants[TENANT].accounts)
    first = api.get("/3/accounts").json()
    last = api.get("/3/accounts", params={"page": 4}).json()
    everything = api.get("/3/accounts", params={"limit": 500}).json()
    too_many = api.get("/3/accounts", params={"limit": 501})

    assert first["MetaInformation"] == {"@TotalResources": total, "@TotalPages": 4, "@CurrentPage": 1}
    assert len(first["Accounts"]) == 100 and first["Accounts"][0]["Number"] < first["Accounts"][1]["Number"]
    assert len(last["Accounts"]) == total - 300 and last["MetaInformation"]["@CurrentPage"] == 4
    assert len(everything["Accounts"]) == total and everything["MetaInformation"]["@TotalPages"] == 1
    assert too_many.status_code == 400 and too_many.json()["ErrorInformation"]["code"] == 2000588


def test_accounts_carry_active_and_dimension_settings(api: httpx.Client) -> None:
    api.put("/3/accounts/3001", json={"Account": {"CostCenterSettings": "MANDATORY", "Active": False}})
    account = api.get("/3/accounts/3001").json()["Account"]
    assert (account["Active"], account["CostCenterSettings"], account["ProjectSettings"]) == (
        False,
        "MANDATORY",
        "ALLOWED",
    )
    assert api.get("/3/accounts/3999").status_code == 404
    refused = api.put("/3/accounts/3001", json={"Account": {"CostCenterSettings": "SOMETIMES"}})
    assert refused.status_code == 400


def test_voucher_series_are_per_year_and_manual_can_be_toggled(
    api: httpx.Client, state: SandboxState
) -> None:
    state.tenants[TENANT].add_financial_year(*_next_year(state), [])
    empty_year = api.get("/3/voucherseries", params={"financialyear": 3}).json()["VoucherSeriesCollection"]
    this_year = api.get("/3/voucherseries", params={"financialyear": 2}).json()["VoucherSeriesCollection"]
    changed = api.put("/3/voucherseries/A", json={"VoucherSeries": {"Manual": True}}).json()["VoucherSeries"]

    assert empty_year == []
    assert {(s["Code"], s["Manual"]) for s in this_year} == {("A", False), ("B", False), ("K", True)}
    assert changed["Manual"] is True and changed["NextVoucherNumber"] == 1
    assert api.get("/3/voucherseries/K", params={"financialyear": 3}).status_code == 404


def _next_year(state: SandboxState) -> tuple[date, date]:
    year = state.clock.today().year + 1
    return date(year, 1, 1), date(year, 12, 31)


def test_cost_centers_crud(api: httpx.Client) -> None:
    created = api.post("/3/costcenters", json={"CostCenter": {"Code": "TAKE", "Description": "Take away"}})
    duplicate = api.post("/3/costcenters", json={"CostCenter": {"Code": "TAKE", "Description": "Again"}})
    too_long = api.post("/3/costcenters", json={"CostCenter": {"Code": "SEVENCH", "Description": "x"}})
    updated = api.put("/3/costcenters/TAKE", json={"CostCenter": {"Active": False}})
    deleted = api.delete("/3/costcenters/TAKE")

    assert created.status_code == 201 and created.json()["CostCenter"]["Active"] is True
    assert duplicate.status_code == 400 and too_long.status_code == 400
    assert updated.json()["CostCenter"]["Active"] is False
    assert deleted.status_code == 204 and api.get("/3/costcenters/TAKE").status_code == 404


def test_customers_search_like_fortnox(api: httpx.Client) -> None:
    for number in ("10", "11"):
        api.post("/3/customers", json={"Customer": {"Name": f"Kund {number}", "CustomerNumber": number}})
    created = api.post(
        "/3/customers", json={"Customer": {"Name": "Nya AB", "OrganisationNumber": "556999-1234"}}
    )

    by_number = api.get("/3/customers", params={"customernumber": "1"}).json()["Customers"]
    by_org = api.get("/3/customers", params={"organisationnumber": "556999-1234"}).json()["Customers"]
    by_name = api.get("/3/customers", params={"name": "nya"}).json()["Customers"]

    assert created.status_code == 201 and created.json()["Customer"]["CustomerNumber"] == "12"
    assert [c["CustomerNumber"] for c in by_number] == ["1", "10", "11", "12"]  # LIKE, as Fortnox searches
    assert [c["Name"] for c in by_org] == ["Nya AB"] and [c["Name"] for c in by_name] == ["Nya AB"]
    taken = api.post("/3/customers", json={"Customer": {"Name": "Dubbel", "CustomerNumber": "10"}})
    assert taken.status_code == 400


def test_not_found_uses_capitalised_keys_and_fortnox_s_codes(api: httpx.Client) -> None:
    for path, code in (
        ("/3/customers/999", 2000433),
        ("/3/invoices/999", 2000434),
        ("/3/orders/999", 2000439),
    ):
        response = api.get(path)
        assert response.status_code == 404
        assert (
            response.json()["ErrorInformation"]["Code"] == code
            and "Error" in response.json()["ErrorInformation"]
        )


def test_an_invalid_filter_is_fortnox_s_recorded_answer(api: httpx.Client) -> None:
    response = api.get("/3/invoices", params={"filter": "doesntexist"})
    assert response.status_code == 400
    assert response.json() == {
        "ErrorInformation": {"error": 1, "message": "Ett ogiltigt filter har använts.", "code": 2000587}
    }


def test_an_invoice_is_created_and_booked_into_series_b(api: httpx.Client, state: SandboxState) -> None:
    day = state.clock.today().isoformat()
    rows = [
        {"AccountNumber": 3001, "DeliveredQuantity": "2", "Price": 100, "VAT": 25, "Description": "Lunch"},
        {"AccountNumber": 3002, "DeliveredQuantity": "1", "Price": 50, "VAT": 12, "Description": "Mat"},
        {"AccountNumber": 2890, "DeliveredQuantity": "1", "Price": 20, "VAT": 0, "Description": "Dricks"},
    ]
    created = api.post(
        "/3/invoices", json={"Invoice": {"CustomerNumber": "1", "InvoiceDate": day, "InvoiceRows": rows}}
    )
    invoice = created.json()["Invoice"]
    assert created.status_code == 201 and invoice["Total"] == 326.0 and invoice["Booked"] is False

    booked = api.put(f"/3/invoices/{invoice['DocumentNumber']}/bookkeep").json()["Invoice"]
    again = api.put(f"/3/invoices/{invoice['DocumentNumber']}/bookkeep")

    assert booked["Booked"] is True and booked["VoucherSeries"] == "B" and booked["VoucherNumber"] == 1
    voucher = api.get("/3/vouchers/B/1").json()["Voucher"]
    amounts = {row["Account"]: (row["Debit"], row["Credit"]) for row in voucher["VoucherRows"]}
    assert amounts == {1510: (326.0, 0.0), 3001: (0.0, 200.0), 2611: (0.0, 50.0), 3002: (0.0, 50.0),
                       2621: (0.0, 6.0), 2890: (0.0, 20.0)}  # fmt: skip
    assert voucher["ReferenceType"] == "INVOICE" and again.status_code == 400


def test_an_invoice_needs_a_known_customer_and_account(api: httpx.Client) -> None:
    unknown_customer = api.post("/3/invoices", json={"Invoice": {"CustomerNumber": "404"}})
    unknown_account = api.post(
        "/3/invoices", json={"Invoice": {"CustomerNumber": "1", "InvoiceRows": [{"AccountNumber": 3999}]}}
    )
    assert unknown_customer.json()["ErrorInformation"]["code"] == 2000433
    assert unknown_account.json()["ErrorInformation"]["code"] == 2001304


def test_an_order_becomes_an_invoice_once(api: httpx.Client) -> None:
    rows = [{"AccountNumber": 3001, "OrderedQuantity": "3", "Price": 10, "VAT": 25, "Description": "Fika"}]
    order = api.post("/3/orders", json={"Order": {"CustomerNumber": "2", "OrderRows": rows}}).json()["Order"]
    invoice = api.put(f"/3/orders/{order['DocumentNumber']}/createinvoice")
    again = api.put(f"/3/orders/{order['DocumentNumber']}/createinvoice")

    assert invoice.status_code == 200
    created = invoice.json()["Invoice"]
    assert created["Total"] == 37.5 and created["OrderReference"] == order["DocumentNumber"]
    assert api.get(f"/3/orders/{order['DocumentNumber']}").json()["Order"]["InvoiceReference"] == "1"
    assert again.status_code == 400
    listed = api.get("/3/orders", params={"filter": "invoicenotcreated"}).json()["Orders"]
    assert listed == []


def test_missing_scope_and_missing_license(http: httpx.Client, state: SandboxState) -> None:
    bearer = {"Authorization": f"Bearer {tokens(http, 'companyinformation')['access_token']}"}
    no_scope = http.get("/3/vouchers", headers=bearer)
    assert no_scope.status_code == 403 and no_scope.json()["ErrorInformation"]["code"] == 2000663

    state.tenants[TENANT].licenses.discard("companyinformation")
    no_license = http.get("/3/companyinformation", headers=bearer)
    assert no_license.status_code == 403 and no_license.json()["ErrorInformation"]["code"] == 2001101


def test_wrong_content_type_is_refused(api: httpx.Client) -> None:
    response = api.post("/3/costcenters", content=b"Code=X", headers={"Content-Type": "text/plain"})
    assert response.json()["ErrorInformation"]["code"] == 1000031


def test_a_deleted_customer_s_number_stays_taken(api: httpx.Client) -> None:
    assert api.delete("/3/customers/2").status_code == 204
    assert api.get("/3/customers/2").status_code == 404
    again = api.post("/3/customers", json={"Customer": {"Name": "Samma nummer", "CustomerNumber": "2"}})
    assert again.status_code == 400 and again.json()["ErrorInformation"]["code"] == 2000637
    auto = api.post("/3/customers", json={"Customer": {"Name": "Nästa"}}).json()["Customer"]
    assert auto["CustomerNumber"] == "3"


def test_invoice_filters(api: httpx.Client, state: SandboxState) -> None:
    old = (state.clock.today() - timedelta(days=60)).isoformat()
    row = {"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 10}
    for day in (old, state.clock.today().isoformat()):
        api.post(
            "/3/invoices", json={"Invoice": {"CustomerNumber": "1", "InvoiceDate": day, "InvoiceRows": [row]}}
        )
    api.put("/3/invoices/2/bookkeep")

    def numbers(wanted: str) -> list[str]:
        return [
            i["DocumentNumber"] for i in api.get("/3/invoices", params={"filter": wanted}).json()["Invoices"]
        ]

    assert numbers("unpaid") == ["1", "2"] and numbers("unpaidoverdue") == ["1"]
    assert numbers("unbooked") == ["1"] and numbers("cancelled") == [] and numbers("fullypaid") == []


def test_financialyeardate_picks_the_year_by_a_date(api: httpx.Client, state: SandboxState) -> None:
    last_year = f"{state.clock.today().year - 1}-05-01"
    series = api.get("/3/voucherseries/K", params={"financialyeardate": last_year}).json()["VoucherSeries"]
    nowhere = api.get("/3/voucherseries/K", params={"financialyeardate": "1999-01-01"})
    assert series["Year"] == 1 and nowhere.status_code == 400
