"""What /metrics costs: one scrape with 1,000 stores (a register each, its last contact known), N days of
exports each and 200 tenants' call counters, and one counted API call on the hot path.

Prints p50/p95/max of a scrape through the app (Werkzeug's test client: the whole Flask request and its
grouped queries, no network), the size of the answer, and the cost of one ``count_call``. With
``--multiprocess`` prometheus-client writes to files as under ``dagskassa serve`` (set before it is
imported) and the scrape adds them up. A ``--database-url`` database is emptied first: give it one of its
own, never a shared one.

    .venv/bin/python bench/metrics_scrape.py                    # SQLite, 1,000 stores, 60 days
    .venv/bin/python bench/metrics_scrape.py --multiprocess --database-url postgresql+psycopg://…/bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TENANTS = 200


def seed(url: str, stores: int, days: int) -> None:
    from chain import fresh_engine, seed_chain
    from sqlalchemy.orm import Session

    from backoffice.models import utcnow
    from backoffice.pipeline.states import STATES

    engine = fresh_engine(url)
    now = utcnow()
    with Session(engine) as session:
        seed_chain(
            session,
            stores,
            date(2026, 1, 1),
            days,
            lambda r: "posted" if r.id % 10 else STATES[r.id // 10 % len(STATES)],
            lambda store_id: now - timedelta(minutes=store_id % 90),
        )
        session.commit()
    engine.dispose()


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def report(label: str, times: list[float], unit: float = 1000, unit_name: str = "ms") -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"  {label:<34} p50 {statistics.median(ordered) * unit:8.2f} {unit_name}   p95 {p95 * unit:8.2f} "
        f"{unit_name}   max {ordered[-1] * unit:8.2f} {unit_name}   ({len(ordered)} runs)"
    )


def run(url: str, stores: int, days: int, repeat: int) -> None:
    started = time.perf_counter()
    seed(url, stores, days)
    print(
        f"{url.split(':', 1)[0]}: {stores} stores, {stores * days} exports seeded in "
        f"{time.perf_counter() - started:.1f} s; multiprocess: {bool(os.environ.get('PROMETHEUS_MULTIPROC_DIR'))}"
    )
    from backoffice.app import create_app
    from config.settings import Settings
    from exporters.metrics import count_call

    for tenant in range(TENANTS):
        for status in (200, 429, 401, 400, 500, None):  # every result label of every tenant
            count_call("fortnox", f"fortnox-tenant:{tenant}", status)
    calls = 20_000
    per_call = timed(lambda: count_call("fortnox", "fortnox-tenant:7", 200), calls)
    report("count_call (one API call counted)", per_call, 1e6, "µs")

    settings = Settings().replace(database={"url": url}, web={"secret_key": "bench", "secure_cookies": False})
    client = create_app(settings).test_client()
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.status_code
    lines = answer.data.count(b"\n")
    print(f"  one scrape: {len(answer.data) / 1024:.0f} KiB, {lines} lines")
    report("GET /metrics", timed(lambda: client.get("/metrics"), repeat))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--multiprocess", action="store_true", help="prometheus-client's multiprocess mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.multiprocess:
            from backoffice.operations.multiprocess import start_multiprocess

            start_multiprocess(f"{folder}/metrics")
        run(args.database_url or f"sqlite:///{folder}/bench.sqlite", args.stores, args.days, args.repeat)


if __name__ == "__main__":
    main()
