"""How fast the Fortnox sandbox itself answers, so benchmarks of the product measure the product.

Serves the sandbox on 127.0.0.1 (threaded werkzeug) with its rate limit off, connects to each of the
three seeded companies through the consent form, then posts N vouchers (and reads them back by series)
from several threads. Prints requests per second and answer times; also the same in process
(httpx.WSGITransport), which tests use.

    .venv/bin/python bench/fortnox_sandbox.py                  # 300 vouchers, a few seconds
    .venv/bin/python bench/fortnox_sandbox.py --vouchers 2000 --threads 16
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from exporters.fortnox.sandbox import (
    CLIENT_ID,
    CLIENT_SECRET,
    SandboxServer,
    SandboxState,
    create_app,
    seeded_state,
)

REDIRECT_URI = "http://127.0.0.1:8000/cb"
BUREAU = {"email": "byra@redovisning.se", "password": "byra-sandbox"}


def connect(http: httpx.Client, tenant: int) -> str:
    """An access token for one company, through the consent form (the bureau user sees all three)."""
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "bookkeeping",
        "state": "bench",
        "response_type": "code",
        "access_type": "offline",
    }
    answer = http.post(
        "/oauth-v1/auth", data={**params, **BUREAU, "tenant": str(tenant), "decision": "grant"}
    )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    return http.post("/oauth-v1/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET)).json()["access_token"]


def voucher(day: str, n: int) -> dict:
    amount = 100 + n % 900
    return {
        "Voucher": {
            "Description": f"Z {n} Kassa 1 {day} [dk:{n:06d}]",
            "TransactionDate": day,
            "VoucherSeries": "K",
            "VoucherRows": [
                {"Account": 1910, "Debit": amount * 1.25},
                {"Account": 3001, "Credit": amount},
                {"Account": 2611, "Credit": amount * 0.25},
            ],
        }
    }


def run(
    http: httpx.Client, state: SandboxState, vouchers: int, threads: int
) -> tuple[float, list[float], int]:
    tokens = {tenant: connect(http, tenant) for tenant in state.tenants}
    tenants = list(tokens)
    day = state.clock.today().isoformat()
    times: list[float] = []
    lock = threading.Lock()

    def one(n: int) -> int:
        bearer = {"Authorization": f"Bearer {tokens[tenants[n % len(tenants)]]}"}
        started = time.perf_counter()
        posted = http.post("/3/vouchers", json=voucher(day, n), headers=bearer)
        read = http.get("/3/vouchers/sublist/K", params={"limit": 1}, headers=bearer)
        with lock:
            times.append(time.perf_counter() - started)
        return int(posted.status_code == 201 and read.status_code == 200)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(one, range(vouchers)))
    return time.perf_counter() - started, times, ok


def report(where: str, vouchers: int, wall: float, times: list[float], ok: int) -> None:
    times.sort()
    print(f"{where}:")
    print(f"  {vouchers} vouchers posted and read back ({2 * vouchers} requests), {ok} fully answered")
    print(f"  wall {wall:.2f} s, {2 * vouchers / wall:.0f} requests/s")
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"  post+read answer time: median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vouchers", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    state = seeded_state()
    state.knobs.rate_limit_enabled = False
    limits = httpx.Limits(max_connections=args.threads)
    with (
        SandboxServer(state) as sandbox,
        httpx.Client(base_url=sandbox.base_url, timeout=30, limits=limits) as http,
    ):
        over_http = run(http, state, args.vouchers, args.threads)
    report("over HTTP (127.0.0.1, threaded)", args.vouchers, *over_http)

    state = seeded_state()
    state.knobs.rate_limit_enabled = False
    with httpx.Client(
        transport=httpx.WSGITransport(app=create_app(state)), base_url="http://sandbox"
    ) as http:
        report("in process (WSGITransport)", args.vouchers, *run(http, state, args.vouchers, args.threads))
    stored = sum(len(t.vouchers) for t in state.tenants.values())
    print(f"ledger: {stored} vouchers in {len(state.tenants)} companies (in-process run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
