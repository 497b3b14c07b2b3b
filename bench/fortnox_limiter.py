"""How close the client's limiter runs to Fortnox's rate limit without crossing it.

Serves the Fortnox sandbox on 127.0.0.1 (its real limit: 25 requests per 5-second sliding window per
token), connects through the OAuth consent form, then sends N GETs through one token from several
threads sharing one FortnoxClient. Prints the 429s the sandbox answered (must be 0) and the wall time
against the floor the rate limit allows: the first 25 go at once, then 25 per 5 s, so
floor = (N - 25) / 25 * 5 s (95 s for 500); the aim is within 1.15x of it.

    .venv/bin/python bench/fortnox_limiter.py                 # 500 requests, about 100 s
    .venv/bin/python bench/fortnox_limiter.py --requests 60   # a quick run
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from werkzeug.serving import make_server

from exporters.fortnox.client import FortnoxClient
from exporters.fortnox.limiter import SlidingWindowLimiter
from exporters.fortnox.oauth import FortnoxOAuth
from exporters.fortnox.sandbox import CLIENT_ID, CLIENT_SECRET, create_app, seeded_state
from exporters.fortnox.tokens import InMemoryTokenStore

FORTNOX_LIMIT, WINDOW = 25, 5.0
REDIRECT_URI = "http://127.0.0.1:8000/fortnox/callback"


def connect(http: httpx.Client, base: str) -> InMemoryTokenStore:
    """The OAuth dance as a person would do it: open the consent page, log in, approve."""
    oauth = FortnoxOAuth(http, CLIENT_ID, CLIENT_SECRET, f"{base}/oauth-v1")
    request = oauth.authorization_url(REDIRECT_URI, ["companyinformation", "bookkeeping"])
    http.get(request.url).raise_for_status()
    form = {**dict(httpx.URL(request.url).params), "decision": "grant"}
    form.update(email="anna@exempelkrogen.se", password="anna-sandbox")
    answer = http.post(f"{base}/oauth-v1/auth", data=form)
    tokens = oauth.exchange_code(answer.headers["Location"], request)
    return InMemoryTokenStore("bench", tokens)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="how many requests (default 500)")
    parser.add_argument("--threads", type=int, default=8, help="threads sharing the client (default 8)")
    parser.add_argument("--per-window", type=int, default=24, help="the client's own limit (default 24)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sandbox latency per answer")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = seeded_state()
    state.knobs.latency_ms = args.latency_ms
    server = make_server("127.0.0.1", 0, create_app(state), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=args.threads)) as http:
            store = connect(http, base)
            limiter = SlidingWindowLimiter(args.per_window, WINDOW)
            oauth = FortnoxOAuth(http, CLIENT_ID, CLIENT_SECRET, f"{base}/oauth-v1")
            client = FortnoxClient(http, store, oauth, limiter, base)
            with state.lock:
                state.stats.update(requests=0, rate_limited=0)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                names = list(
                    pool.map(lambda _: client.company_information()["CompanyName"], range(args.requests))
                )
            wall = time.perf_counter() - started
    finally:
        server.shutdown()
    floor = max(0, args.requests - FORTNOX_LIMIT) / FORTNOX_LIMIT * WINDOW
    whole_windows = (math.ceil(args.requests / FORTNOX_LIMIT) - 1) * WINDOW
    ratio = wall / floor if floor else float("nan")
    print(f"requests:          {len(names)} through one token, {args.threads} threads")
    print(
        f"sandbox saw:       {state.stats['requests']} requests, {state.stats['rate_limited']} answered 429"
    )
    print(f"429 answers:       {state.stats['rate_limited']}  (must be 0)")
    print(f"wall time:         {wall:.1f} s")
    print(f"rate-limit floor:  {floor:.1f} s  ((N - 25) / 25 * 5 s)")
    print(f"  in whole windows: {whole_windows:.1f} s  (what 25 per 5 s really allows; short runs differ)")
    print(f"wall / floor:      {ratio:.3f}  (must be <= 1.15)")
    ok = state.stats["rate_limited"] == 0 and (not floor or ratio <= 1.15)
    print("result:            " + ("OK" if ok else "NOT OK"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
