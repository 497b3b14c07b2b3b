"""How long the agency overview takes with 1,000 stores (aim: p95 under 150 ms).

Seeds one agency with N stores (each with a Fortnox connection, a preflight of eight checks, a register,
a week of Z-reports with their exports and an open alert on some), then asks for the overview page
repeatedly through the app (Werkzeug's test client: the whole Flask request, queries and template, no
network) and prints p50/p95/max for the plain table, a sorted one and a filtered one.

    .venv/bin/python bench/agency_overview.py                     # SQLite, 1,000 stores
    .venv/bin/python bench/agency_overview.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chain import fresh_engine, seed_chain
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.auth import create_user
from backoffice.models import AGENCY_ADMIN, Alert, FortnoxConnection, PreflightResult, utcnow
from config.settings import Settings
from exporters.fortnox.preflight import CHECKS

PASSWORD = "bench password"
DAYS = 7


def seed(url: str, stores: int) -> None:
    engine = fresh_engine(url)
    now = utcnow()
    first = date(2026, 3, 1)
    with Session(engine) as session:
        agency, ids = seed_chain(
            session,
            stores,
            first,
            DAYS,
            lambda r: "posted" if r.business_date < first + timedelta(days=DAYS - 1) else "ready",
        )
        create_user(session, "admin@kedjan.se", PASSWORD, AGENCY_ADMIN, agency)
        session.execute(
            insert(FortnoxConnection),
            [
                {"store_id": i, "status": "connected", "scopes": "bookkeeping", "refresh_issued_at": now}
                for i in ids
            ],
        )
        preflights = []
        for n, store_id in enumerate(ids):
            checks = [
                {
                    "name": name,
                    "ok": not (n % 7 == 0 and name == "voucher_series"),
                    "evidence": "…",
                    "fix": "",
                }
                for name in CHECKS
            ]
            preflights.append(
                {
                    "store_id": store_id,
                    "ok": all(c["ok"] for c in checks),
                    "checks": checks,
                    "checked_at": now,
                }
            )
        session.execute(insert(PreflightResult), preflights)
        session.execute(
            insert(Alert),
            [{"store_id": i, "kind": "z_gap", "message": "Z 3 never arrived", "fix": ""} for i in ids[::10]],
        )
        session.commit()
    engine.dispose()


def measure(client, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"  {label:<28} p50 {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms   "
        f"max {ordered[-1] * 1000:6.1f} ms   ({len(ordered)} requests)"
    )


def run(url: str, stores: int, repeat: int) -> None:
    started = time.perf_counter()
    seed(url, stores)
    print(f"{url.split(':', 1)[0]}: {stores} stores seeded in {time.perf_counter() - started:.1f} s")
    settings = Settings().replace(database={"url": url}, web={"secret_key": "bench", "secure_cookies": False})
    app = create_app(settings)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": "admin@kedjan.se", "password": PASSWORD, "csrf_token": token})
    html = client.get("/agency/").get_data(as_text=True)
    assert html.count("<tr data-store=") == stores, "not every store is in the table"
    measure(client, "/agency/", 3)  # warm up
    report("overview", measure(client, "/agency/", repeat))
    report("sorted by preflight, desc", measure(client, "/agency/?sort=preflight&dir=desc", repeat))
    report("filtered, problems only", measure(client, "/agency/?q=butik+0&problems=1", repeat))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args.database_url or f"sqlite:///{folder}/bench.sqlite", args.stores, args.repeat)


if __name__ == "__main__":
    main()
