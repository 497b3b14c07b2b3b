"""Vouchers: every rule Fortnox enforces, refused with its code; numbering per series and year; lists,
sublists and one voucher with rows; what the API does not have."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from exporters.fortnox.sandbox import SandboxState
from exporters.fortnox.sandbox import errors as codes
from tests.fortnox_sandbox.conftest import post_voucher

TENANT = 100001


def _refused(response: httpx.Response, code: int) -> str:
    assert response.status_code == 400, response.text
    info = response.json()["ErrorInformation"]
    assert set(info) == {"error", "message", "code"}  # validation errors use lowercase keys
    assert info["code"] == code, info
    return info["message"]


def test_a_valid_voucher_is_stored_with_number_year_and_rows(api: httpx.Client, state: SandboxState) -> None:
    response = post_voucher(api, state)

    assert response.status_code == 201 and response.headers["location"] == "vouchers"
    voucher = response.json()["Voucher"]
    assert (voucher["VoucherSeries"], voucher["VoucherNumber"], voucher["Year"]) == ("K", 1, 2)
    assert [row["Account"] for row in voucher["VoucherRows"]] == [1910, 3001, 2611]
    assert voucher["VoucherRows"][1]["CostCenter"] == "REST1"
    assert len(state.tenants[TENANT].vouchers) == 1


def test_voucher_must_balance(api: httpx.Client, state: SandboxState) -> None:
    rows = [{"Account": 1910, "Debit": 100}, {"Account": 3001, "Credit": 99.99}]
    message = _refused(post_voucher(api, state, VoucherRows=rows), codes.VOUCHER_UNBALANCED)
    assert "100.00" in message and "99.99" in message


def test_voucher_needs_two_rows(api: httpx.Client, state: SandboxState) -> None:
    _refused(
        post_voucher(api, state, VoucherRows=[{"Account": 1910, "Debit": 0}]), codes.VOUCHER_TOO_FEW_ROWS
    )


def test_account_must_exist(api: httpx.Client, state: SandboxState) -> None:
    rows = [{"Account": 1910, "Debit": 10}, {"Account": 3999, "Credit": 10}]
    _refused(post_voucher(api, state, VoucherRows=rows), 2001304)


def test_account_must_be_active(api: httpx.Client, state: SandboxState) -> None:
    put = api.put("/3/accounts/1910", json={"Account": {"Active": False}})
    assert put.json()["Account"]["Active"] is False
    assert "1910" in _refused(post_voucher(api, state), codes.ACCOUNT_INACTIVE)


def test_series_must_exist_in_that_year(api: httpx.Client, state: SandboxState) -> None:
    _refused(post_voucher(api, state, VoucherSeries="Q"), codes.SERIES_NOT_FOUND)


def test_series_must_be_manual(api: httpx.Client, state: SandboxState) -> None:
    assert "(A)" in _refused(post_voucher(api, state, VoucherSeries="A"), codes.SERIES_NOT_MANUAL)
    api.put("/3/voucherseries/K", json={"VoucherSeries": {"Manual": False}})
    _refused(post_voucher(api, state), codes.SERIES_NOT_MANUAL)


def test_date_must_be_inside_a_financial_year(api: httpx.Client, state: SandboxState) -> None:
    next_year = date(state.clock.today().year + 1, 1, 15).isoformat()
    _refused(post_voucher(api, state, TransactionDate=next_year), codes.NO_FINANCIAL_YEAR)


def test_without_financialyear_the_preselected_year_is_used(api: httpx.Client, state: SandboxState) -> None:
    last_year = date(state.clock.today().year - 1, 6, 1).isoformat()
    state.tenants[TENANT].locked_until = None
    _refused(post_voucher(api, state, TransactionDate=last_year), codes.NO_FINANCIAL_YEAR)
    stored = post_voucher(api, state, params={"financialyear": 1}, TransactionDate=last_year)
    assert stored.status_code == 201 and stored.json()["Voucher"]["Year"] == 1


def test_date_must_be_after_the_locked_period(api: httpx.Client, state: SandboxState) -> None:
    today = state.clock.today()
    state.tenants[TENANT].locked_until = today
    message = _refused(post_voucher(api, state), 2000401)
    assert today.isoformat() in message


def test_cost_center_must_exist_and_be_active(api: httpx.Client, state: SandboxState) -> None:
    rows = [{"Account": 1910, "Debit": 5, "CostCenter": "NOPE"}, {"Account": 3001, "Credit": 5}]
    _refused(post_voucher(api, state, VoucherRows=rows), codes.COST_CENTER_NOT_FOUND)
    rows[0]["CostCenter"] = "GAMMAL"  # seeded inactive
    _refused(post_voucher(api, state, VoucherRows=rows), 2000947)


def test_cost_center_mandatory_where_the_account_demands_it(api: httpx.Client, state: SandboxState) -> None:
    api.put("/3/accounts/2611", json={"Account": {"CostCenterSettings": "MANDATORY"}})
    assert "2611" in _refused(post_voucher(api, state), codes.COST_CENTER_MANDATORY)
    assert post_voucher(api, state, CostCenter="REST1").status_code == 201  # the voucher's own is the default


def test_cost_center_refused_where_the_account_forbids_it(api: httpx.Client, state: SandboxState) -> None:
    api.put("/3/accounts/3001", json={"Account": {"CostCenterSettings": "NOTALLOWED"}})
    _refused(post_voucher(api, state), codes.COST_CENTER_NOT_ALLOWED)


def test_project_must_exist_and_is_mandatory_where_demanded(api: httpx.Client, state: SandboxState) -> None:
    rows = [{"Account": 1910, "Debit": 5, "Project": "P9"}, {"Account": 3001, "Credit": 5}]
    assert _refused(post_voucher(api, state, VoucherRows=rows), 2001161) == "Kan inte hitta projektet."
    api.put("/3/accounts/1910", json={"Account": {"ProjectSettings": "MANDATORY"}})
    _refused(post_voucher(api, state), codes.PROJECT_MANDATORY)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Description": "x" * 201}, codes.VALUE_OUT_OF_RANGE),
        ({"Description": ""}, codes.VALUE_OUT_OF_RANGE),
        ({"Comments": "x" * 1001}, codes.VALUE_OUT_OF_RANGE),
        ({"TransactionDate": "2026-02-30"}, codes.VALUE_OUT_OF_RANGE),
        ({"VoucherSeries": 7}, 2000106),
        ({"Unknown": "x"}, 2001399),
    ],
)
def test_fields_are_checked_against_fortnox_s_schema(
    api: httpx.Client, state: SandboxState, change: dict, code: int
) -> None:
    _refused(post_voucher(api, state, **change), code)


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"Account": 999, "Debit": 1}, codes.VALUE_OUT_OF_RANGE),
        ({"Account": 10000, "Debit": 1}, codes.VALUE_OUT_OF_RANGE),
        ({"Account": "1910", "Debit": 1}, 2000108),
        ({"Account": 1910, "Debit": "1.00"}, 2000108),
        ({"Account": 1910, "Debit": 1, "TransactionInformation": "x" * 101}, codes.VALUE_OUT_OF_RANGE),
        ({"Account": 1910, "Debit": 1, "Colour": "red"}, 2001399),
    ],
)
def test_rows_are_checked_against_fortnox_s_schema(
    api: httpx.Client, state: SandboxState, row: dict, code: int
) -> None:
    rows = [row, {"Account": 3001, "Credit": 1}]
    _refused(post_voucher(api, state, VoucherRows=rows), code)


def test_read_only_fields_are_ignored(api: httpx.Client, state: SandboxState) -> None:
    response = post_voucher(api, state, VoucherNumber=999, Year=7, ReferenceNumber="mine", ApprovalState=3)
    voucher = response.json()["Voucher"]
    assert (voucher["VoucherNumber"], voucher["Year"], voucher["ReferenceNumber"]) == (1, 2, "")


def test_bad_json_and_missing_envelope(api: httpx.Client) -> None:
    syntax = api.post("/3/vouchers", content=b"{nope", headers={"Content-Type": "application/json"})
    envelope = api.post("/3/vouchers", json={"Verifikation": {}})
    empty = api.post("/3/vouchers", content=b"", headers={"Content-Type": "application/json"})
    assert syntax.json()["ErrorInformation"]["code"] == 2002115
    assert envelope.json()["ErrorInformation"]["code"] == 2001392
    assert empty.json()["ErrorInformation"]["code"] == 2001392


def test_numbering_is_per_series_and_per_year(api: httpx.Client, state: SandboxState) -> None:
    state.tenants[TENANT].locked_until = None
    last_year = date(state.clock.today().year - 1, 12, 1).isoformat()
    api.post(
        "/3/voucherseries", params={"financialyear": 2}, json={"VoucherSeries": {"Code": "F", "Manual": True}}
    )

    numbers = [
        post_voucher(api, state).json()["Voucher"]["VoucherNumber"],
        post_voucher(api, state).json()["Voucher"]["VoucherNumber"],
        post_voucher(api, state, VoucherSeries="F").json()["Voucher"]["VoucherNumber"],
        post_voucher(api, state, params={"financialyear": 1}, TransactionDate=last_year).json()["Voucher"][
            "VoucherNumber"
        ],
    ]

    assert numbers == [1, 2, 1, 1]
    series = api.get("/3/voucherseries/K", params={"financialyear": 2}).json()["VoucherSeries"]
    assert series["NextVoucherNumber"] == 3


def test_lists_sublists_and_one_voucher_with_rows(api: httpx.Client, state: SandboxState) -> None:
    year = state.clock.today().year
    days = [f"{year}-02-01", f"{year}-02-15", f"{year}-03-01"]
    for day in days:
        assert post_voucher(api, state, TransactionDate=day).status_code == 201

    listed = api.get("/3/vouchers", params={"financialyear": 2}).json()
    window = api.get("/3/vouchers/sublist/K", params={"fromdate": days[1], "todate": days[2]}).json()
    other_series = api.get("/3/vouchers/sublist/A").json()
    one = api.get("/3/vouchers/K/2", params={"financialyear": 2}).json()["Voucher"]

    assert listed["MetaInformation"]["@TotalResources"] == 3
    assert "VoucherRows" not in listed["Vouchers"][0]
    assert [v["TransactionDate"] for v in window["Vouchers"]] == days[1:]
    assert other_series["Vouchers"] == [] and other_series["MetaInformation"]["@TotalPages"] == 0
    assert one["TransactionDate"] == days[1] and len(one["VoucherRows"]) == 3


def test_a_missing_voucher_is_a_404_with_capitalised_keys(api: httpx.Client) -> None:
    response = api.get("/3/vouchers/K/77", params={"financialyear": 2})
    assert response.status_code == 404
    assert set(response.json()["ErrorInformation"]) == {"Error", "Message", "Code"}


def test_vouchers_cannot_be_changed_or_deleted(api: httpx.Client, state: SandboxState) -> None:
    post_voucher(api, state)
    assert api.put("/3/vouchers/K/1", json={"Voucher": {}}).status_code == 405
    assert api.delete("/3/vouchers/K/1").status_code == 405
    assert len(state.tenants[TENANT].vouchers) == 1
