"""The sandbox served on 127.0.0.1 (threaded werkzeug), as end-to-end tests and benchmarks use it: the
OAuth dance over real HTTP, faults on a real socket, concurrent posts, and ``dagskassa sandbox``."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from exporters.fortnox.sandbox import SandboxServer
from tests.fortnox_sandbox.conftest import post_voucher, token_request, tokens

ROOT = Path(__file__).resolve().parents[2]
TENANT = 100001


@pytest.fixture
def client(served: SandboxServer):
    with httpx.Client(base_url=served.base_url, timeout=10) as c:
        yield c


@pytest.fixture
def api(client: httpx.Client) -> httpx.Client:
    client.headers["Authorization"] = f"Bearer {tokens(client)['access_token']}"
    return client


def test_oauth_dance_reused_refresh_and_bad_client_over_http(client: httpx.Client) -> None:
    answer = tokens(client)
    info = client.get("/3/companyinformation", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert info.json()["CompanyInformation"]["CompanyName"] == "Exempelkrogen AB"

    form = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]}
    assert token_request(client, form).status_code == 200
    reused = token_request(client, form)
    bad_client = token_request(client, form, auth=("dagskassa-sandbox", "wrong"))

    assert reused.status_code == 400 and reused.headers["content-type"] == "text/html; charset=UTF-8"
    assert json.loads(reused.text) == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert bad_client.status_code == 401 and json.loads(bad_client.text)["error"] == "invalid_client"


def test_dropped_connection_over_a_real_socket(api: httpx.Client, served: SandboxServer) -> None:
    served.state.knobs.add_fault("drop", nth=(1,), method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        post_voucher(api, served.state)
    assert served.state.tenants[TENANT].vouchers == {}


def test_store_then_drop_over_a_real_socket(api: httpx.Client, served: SandboxServer) -> None:
    served.state.knobs.add_fault("store_then_drop", nth=(1,), method="POST", path="/3/vouchers")
    with pytest.raises(httpx.RemoteProtocolError):
        post_voucher(api, served.state)
    ledger = api.get("/_sandbox/ledger.json").json()["tenants"]
    assert [len(t["vouchers"]) for t in ledger if t["database_number"] == TENANT] == [1]


def test_timeout_holds_the_answer_past_the_client_s_timeout(api: httpx.Client, served: SandboxServer) -> None:
    served.state.knobs.timeout_sleep_s = 1.0
    served.state.knobs.add_fault("timeout", nth=(1,), method="POST")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/3/vouchers", json={"Voucher": {}}, timeout=0.2)
    assert served.state.tenants[TENANT].vouchers == {}


def test_concurrent_posts_get_distinct_numbers(api: httpx.Client, served: SandboxServer) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post_voucher(api, served.state), range(12)))
    numbers = sorted(a.json()["Voucher"]["VoucherNumber"] for a in answers)
    assert numbers == list(range(1, 13))


def test_dagskassa_sandbox_command_serves_and_prints_how_to_connect() -> None:
    command = [
        sys.executable,
        "-m",
        "config.cli",
        "sandbox",
        "--port",
        "0",
        "--latency-ms",
        "1",
        "--fail-rate",
        "0.25",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Fortnox sandbox on http://127.0.0.1:"), first + process.stderr.read()
        base_url = first.split(" on ")[1].strip()
        printed = "".join(process.stdout.readline() for _ in range(4))
        assert "dagskassa-sandbox" in printed and "sandbox-secret" in printed
        state = httpx.get(f"{base_url}/_sandbox/state", timeout=10).json()
        assert state["knobs"]["latency_ms"] == 1 and len(state["tenants"]) == 3
        assert [(f["kind"], f["rate"], f["status"]) for f in state["knobs"]["faults"]] == [("5xx", 0.25, 503)]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
