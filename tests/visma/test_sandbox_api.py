"""The sandbox's API plumbing as Visma has it: Meta/Data pagination, $filter, the rate limit per client
and endpoint, scopes, the API module, bearer tokens, knobs and the clock over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from exporters.visma.sandbox import SandboxState
from exporters.visma.sandbox.state import Voucher, VoucherRow, new_id
from tests.visma.conftest import connect, visma_settings


def seed_vouchers(state: SandboxState, count: int, start: date = date(2026, 1, 2)) -> None:
    company = state.companies["exempelkrogen"]
    year = company.year_for(start)
    assert year is not None
    for n in range(count):
        row = [VoucherRow(1910, Decimal("1.00"), Decimal(0)), VoucherRow(3001, Decimal(0), Decimal("1.00"))]
        day = start + timedelta(days=n % 300)
        voucher = Voucher(
            new_id(), year.id, "A", company.next_number(year.id, "A"), day, f"V {n}", row, state.clock.now()
        )
        company.vouchers[voucher.id] = voucher


def test_pages_default_to_50_and_follow_page_and_pagesize(
    http: httpx.Client, bearer: dict, state: SandboxState
) -> None:
    seed_vouchers(state, 120)
    first = http.get("/v2/vouchers", headers=bearer).json()
    assert first["Meta"] | {"ServerTimeUtc": ""} == {
        "CurrentPage": 1,
        "PageSize": 50,
        "TotalNumberOfPages": 3,
        "TotalNumberOfResults": 120,
        "ServerTimeUtc": "",
    }
    assert len(first["Data"]) == 50
    last = http.get("/v2/vouchers", params={"$page": 3, "$pagesize": 50}, headers=bearer).json()
    assert [v["VoucherText"] for v in last["Data"]][-1] == "V 119" and len(last["Data"]) == 20
    small = http.get("/v2/vouchers", params={"$page": 2, "$pagesize": 7}, headers=bearer).json()
    assert small["Meta"]["TotalNumberOfPages"] == 18 and small["Data"][0]["VoucherText"] == "V 7"


def test_the_client_reads_every_page(session, state: SandboxState) -> None:
    seed_vouchers(state, 1100)  # the client asks 1000 a page: two pages
    assert len(session.client.vouchers(date(2026, 1, 1), date(2026, 12, 31))) == 1100


def test_filter_on_voucher_date(http: httpx.Client, bearer: dict, state: SandboxState) -> None:
    seed_vouchers(state, 10)
    one_day = http.get("/v2/vouchers", params={"$filter": "VoucherDate eq 2026-01-04"}, headers=bearer).json()
    assert [v["VoucherText"] for v in one_day["Data"]] == ["V 2"]
    span = "VoucherDate ge 2026-01-03T00:00:00.00Z and VoucherDate le 2026-01-05T23:59:59.00Z"
    assert (
        http.get("/v2/vouchers", params={"$filter": span}, headers=bearer).json()["Meta"][
            "TotalNumberOfResults"
        ]
        == 3
    )
    bad = http.get("/v2/vouchers", params={"$filter": "VoucherDate like 2026"}, headers=bearer)
    assert bad.status_code == 400 and bad.json()["ErrorCode"] == 6000
    bad_date = http.get("/v2/vouchers", params={"$filter": "VoucherDate eq 2026-13-45"}, headers=bearer)
    assert bad_date.status_code == 400 and bad_date.json()["ErrorCode"] == 6001


def test_rate_limit_is_600_a_minute_per_client_and_endpoint(
    http: httpx.Client, bearer: dict, state: SandboxState
) -> None:
    for _ in range(600):
        assert http.get("/v2/fiscalyears", headers=bearer).status_code == 200
    refused = http.get("/v2/fiscalyears", headers=bearer)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/json;charset=UTF-8"
    body = refused.json()
    assert body["ErrorCode"] == 4010
    assert body["DeveloperErrorMessage"].startswith(
        "API calls quota exceeded! maximum admitted 600 per Minute. Try again in"
    )
    assert (
        http.get("/v2/costcenters", headers=bearer).status_code == 200
    )  # another endpoint has its own minute
    state.clock.advance(60)
    assert http.get("/v2/fiscalyears", headers=bearer).status_code == 200


def test_scopes_module_and_tokens(http: httpx.Client, state: SandboxState) -> None:
    narrow = connect(http, visma_settings(), ("ea:api", "ea:accounting_readonly", "offline_access"))
    headers = {"Authorization": f"Bearer {narrow.access_token}"}
    assert http.get("/v2/fiscalyears", headers=headers).status_code == 200
    settings = http.get("/v2/companysettings", headers=headers)
    assert settings.status_code == 403 and settings.json()["ErrorCode"] == 4006
    posted = http.post("/v2/vouchers", json={}, headers=headers)
    assert posted.status_code == 403 and posted.json()["ErrorCode"] == 4006
    state.companies["exempelkrogen"].api_module_active = False
    module = http.get("/v2/fiscalyears", headers=headers)
    assert module.status_code == 403 and "api_standard" in module.json()["DeveloperErrorMessage"]
    assert http.get("/v2/fiscalyears", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    state.clock.advance(3601)
    assert http.get("/v2/fiscalyears", headers=headers).status_code == 401  # access tokens live an hour


def test_knobs_clock_and_company_over_http(http: httpx.Client, bearer: dict, state: SandboxState) -> None:
    admin = {"X-Sandbox-Admin": "1"}
    assert http.post("/_sandbox/knobs", json={"latency_ms": 1}).status_code == 403
    knobs = http.post(
        "/_sandbox/knobs",
        headers=admin,
        json={
            "latency_ms": 1,
            "rate_limit": {"limit": 2},
            "faults": [{"kind": "5xx", "nth": [1], "path": "/v2/costcenters"}],
        },
    ).json()
    assert (
        knobs["latency_ms"] == 1 and knobs["rate_limit"]["limit"] == 2 and knobs["faults"][0]["kind"] == "5xx"
    )
    failed = http.get("/v2/costcenters", headers=bearer)
    assert failed.status_code == 500 and failed.json()["ErrorCode"] == 5000
    assert http.get("/v2/costcenters", headers=bearer).status_code == 200
    assert http.get("/v2/costcenters", headers=bearer).status_code == 200
    assert http.get("/v2/costcenters", headers=bearer).json()["ErrorCode"] == 4010
    assert http.post("/_sandbox/knobs", json={"faults": [{"kind": "melt"}]}, headers=admin).status_code == 400
    before = state.clock.now()
    http.post("/_sandbox/clock", json={"advance_seconds": 86400}, headers=admin)
    assert (state.clock.now() - before).days == 1
    http.post("/_sandbox/companies/exempelkrogen", json={"accounting_locked_to": "2026-02-28"}, headers=admin)
    assert state.companies["exempelkrogen"].accounting_locked_to == date(2026, 2, 28)
    http.post("/_sandbox/knobs", json={"faults": []}, headers=admin)
    assert state.knobs.faults == []
    http.post("/_sandbox/reset", headers=admin)
    assert state.companies["exempelkrogen"].accounting_locked_to == date(2025, 12, 31)
    assert http.get("/v2/costcenters", headers=bearer).status_code == 401  # the tokens went with the reset


@pytest.mark.parametrize("path", ["/v2/accounts/{year}", "/v2/fiscalyears", "/v2/costcenters"])
def test_reference_lists_have_the_envelope(
    http: httpx.Client, bearer: dict, state: SandboxState, path: str
) -> None:
    year = state.companies["exempelkrogen"].year_for(date(2026, 3, 14))
    body = http.get(path.format(year=year.id), headers=bearer).json()
    assert set(body) == {"Meta", "Data"} and body["Meta"]["TotalNumberOfResults"] == len(body["Data"]) > 0
