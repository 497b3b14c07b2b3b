"""Fortnox's rate limit and the sandbox's knobs, in process: each fault kind, on the Nth call and at a
seeded rate, set from Python and over the admin endpoints."""

from __future__ import annotations

import httpx
import pytest

from exporters.fortnox.sandbox import SandboxState
from tests.fortnox_sandbox.conftest import post_voucher, tokens

TENANT = 100001
ADMIN = {"X-Sandbox-Admin": "1"}


def _vouchers(state: SandboxState) -> int:
    return len(state.tenants[TENANT].vouchers)


def test_26th_request_in_five_seconds_gets_429_until_the_window_slides(
    api: httpx.Client, state: SandboxState
) -> None:
    answers = [api.get("/3/companyinformation").status_code for _ in range(26)]
    assert answers[:25] == [200] * 25 and answers[25] == 429
    assert api.get("/3/companyinformation").status_code == 429

    state.clock.advance(5.01)

    assert api.get("/3/companyinformation").status_code == 200
    assert state.stats["rate_limited"] == 2


def test_the_limit_is_per_client_and_tenant(http: httpx.Client, state: SandboxState) -> None:
    anna = {"Authorization": f"Bearer {tokens(http)['access_token']}"}
    bo = {"Authorization": f"Bearer {tokens(http, user=('bo@salongbjork.se', 'bo-sandbox'))['access_token']}"}
    for _ in range(25):
        http.get("/3/companyinformation", headers=anna)
    assert http.get("/3/companyinformation", headers=anna).status_code == 429
    assert http.get("/3/companyinformation", headers=bo).status_code == 200


def test_rate_limit_can_be_turned_off(api: httpx.Client, state: SandboxState) -> None:
    state.knobs.rate_limit_enabled = False
    assert {api.get("/3/companyinformation").status_code for _ in range(40)} == {200}


@pytest.mark.parametrize(("status", "content_type"), [(503, "text/html"), (500, "application/json")])
def test_injected_5xx_on_the_nth_call(
    api: httpx.Client, state: SandboxState, status: int, content_type: str
) -> None:
    state.knobs.add_fault("5xx", nth=(2,), status=status, path="/3/vouchers", method="POST")
    first, second, third = (post_voucher(api, state) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (201, status, 201)
    assert second.headers["content-type"].startswith(content_type)
    assert _vouchers(state) == 2


def test_injected_429(api: httpx.Client, state: SandboxState) -> None:
    state.knobs.add_fault("429", nth=(1,))
    refused = api.get("/3/companyinformation")
    assert refused.status_code == 429 and refused.json() == {"message": "Too Many Requests"}
    assert api.get("/3/companyinformation").status_code == 200


def test_dropped_connection_stores_nothing(api: httpx.Client, state: SandboxState) -> None:
    state.knobs.add_fault("drop", nth=(1,), method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        post_voucher(api, state)
    assert _vouchers(state) == 0
    assert post_voucher(api, state).json()["Voucher"]["VoucherNumber"] == 1


def test_store_then_drop_stores_the_voucher_but_gives_no_answer(
    api: httpx.Client, state: SandboxState
) -> None:
    state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")
    with pytest.raises(httpx.RemoteProtocolError):
        post_voucher(api, state)
    assert _vouchers(state) == 1
    listed = api.get("/3/vouchers/sublist/K").json()["Vouchers"]
    assert [v["VoucherNumber"] for v in listed] == [1]
    assert post_voucher(api, state).json()["Voucher"]["VoucherNumber"] == 2


def test_timeout_in_process_raises_read_timeout_and_stores_nothing(
    api: httpx.Client, state: SandboxState
) -> None:
    state.knobs.add_fault("timeout", nth=(1,))
    with pytest.raises(httpx.ReadTimeout):
        post_voucher(api, state)
    assert _vouchers(state) == 0


def test_rate_faults_are_deterministic_with_a_seed(api: httpx.Client, state: SandboxState) -> None:
    state.knobs.rate_limit_enabled = False

    def run(seed: int) -> list[int]:
        state.knobs.reseed(seed)
        state.knobs.faults = []
        state.knobs.add_fault("5xx", rate=0.5)
        return [api.get("/3/companyinformation").status_code for _ in range(30)]

    first, again, other = run(42), run(42), run(43)
    assert first == again and first != other
    assert 0 < first.count(503) < 30


def test_times_limits_how_often_a_fault_fires(api: httpx.Client, state: SandboxState) -> None:
    state.knobs.rate_limit_enabled = False
    fault = state.knobs.add_fault("5xx", rate=1.0, times=2)
    answers = [api.get("/3/companyinformation").status_code for _ in range(4)]
    assert answers == [503, 503, 200, 200] and fault.fired == 2 and fault.seen == 4


def test_faults_spare_the_sandbox_s_own_pages(http: httpx.Client, state: SandboxState) -> None:
    state.knobs.add_fault("drop", rate=1.0, path="/")
    assert http.get("/_sandbox/ledger.json").status_code == 200


def test_knobs_and_clock_over_http_need_the_admin_header(api: httpx.Client, state: SandboxState) -> None:
    knobs = {
        "latency_ms": 5,
        "seed": 9,
        "faults": [{"kind": "5xx", "nth": [1], "path": "/3/companyinformation"}],
    }
    refused = api.post("/_sandbox/knobs", json=knobs)
    assert refused.status_code == 403 and state.knobs.latency_ms == 0

    accepted = api.post("/_sandbox/knobs", json=knobs, headers=ADMIN)
    assert accepted.status_code == 200 and state.knobs.latency_ms == 5 and state.knobs.seed == 9
    assert api.get("/3/companyinformation").status_code == 503

    before = state.clock.now()
    api.post("/_sandbox/clock", json={"advance_seconds": 7200}, headers=ADMIN)
    assert (state.clock.now() - before).total_seconds() >= 7200
    assert api.get("/3/companyinformation").status_code == 401  # the access token is an hour old now

    bad = api.post("/_sandbox/knobs", json={"faults": [{"kind": "explode"}]}, headers=ADMIN)
    assert bad.status_code == 400 and "explode" in bad.json()["error"]


def test_admin_endpoints_change_tenants(http: httpx.Client, state: SandboxState) -> None:
    created = http.post(
        "/_sandbox/tenants",
        json={
            "database_number": 200001,
            "company_name": "Nya Butiken AB",
            "user_email": "ny@butik.se",
            "user_password": "pw",
        },
        headers=ADMIN,
    )
    locked = http.post("/_sandbox/tenants/200001/lockedperiod", json={"EndDate": "2026-03-31"}, headers=ADMIN)
    removed = http.delete("/_sandbox/tenants/200001/financialyears/2", headers=ADMIN)
    licenses = http.post(
        "/_sandbox/tenants/200001/licenses", json={"licenses": ["bookkeeping"]}, headers=ADMIN
    )

    assert created.status_code == 201 and locked.status_code == 200 and removed.status_code == 204
    assert licenses.status_code == 200
    tenant = state.tenants[200001]
    assert str(tenant.locked_until) == "2026-03-31" and list(tenant.financial_years) == [1]
    assert tenant.licenses == {"bookkeeping"} and "ny@butik.se" in state.users
    year = http.post(
        "/_sandbox/tenants/200001/financialyears", json={"FromDate": "2040-01-01", "ToDate": "2040-12-31"},
        headers=ADMIN,
    )  # fmt: skip
    assert year.json()["Id"] == 2 and (2, "K") in tenant.series


def test_ledger_page_and_json_show_what_was_posted(api: httpx.Client, state: SandboxState) -> None:
    post_voucher(api, state)
    page = api.get("/_sandbox/ledger")
    ledger = api.get("/_sandbox/ledger.json").json()["tenants"]

    assert page.status_code == 200 and "Exempelkrogen AB" in page.text and "1250.00" in page.text
    mine = next(t for t in ledger if t["database_number"] == TENANT)
    assert len(mine["vouchers"]) == 1 and mine["vouchers"][0]["rows"][0]["debit"] == "1250.00"
    assert mine["vouchers"][0]["rows"][0]["account_name"] == "Kassa"
    only = api.get("/_sandbox/ledger.json", params={"tenant": 100002}).json()["tenants"]
    assert [t["company_name"] for t in only] == ["Salong Björk AB"]


def test_reset_brings_back_the_seeds(api: httpx.Client, state: SandboxState) -> None:
    post_voucher(api, state)
    state.knobs.latency_ms = 50
    assert api.post("/_sandbox/reset", json={"seed": 3}, headers=ADMIN).status_code == 200
    assert _vouchers(state) == 0 and state.knobs.latency_ms == 0 and state.knobs.seed == 3
    assert api.get("/3/companyinformation").status_code == 401  # tokens are gone too
