"""A night's work: N stores in M Fortnox companies each send one Z-report, and the pipeline posts them all
against the Fortnox sandbox served on 127.0.0.1 with its real rate limit (25 requests / 5 s per company)
and a fixed latency per request.

Prints the wall time against the floor those limits allow, the 429 count, duplicates and peak memory.
The night ends when every day is booked and its Z-report PDF is on its voucher (the requests counted
include the attachments', so the wall time must too).

The floor: one company's calls are serialised (its rate limit and single-use refresh token), so a
company needs at least max(requests x latency, the rate limit's time for its requests); companies run
in parallel, so the night's floor is the slowest company's. Requests per day are counted, not assumed:
the sandbox counts every request it serves.

    .venv/bin/python bench/nightly.py                       # 1,000 stores, 200 companies, 100 ms
    .venv/bin/python bench/nightly.py --stores 100 --companies 20 --latency-ms 100 --threads 40
    .venv/bin/python bench/nightly.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import re
import resource
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backoffice.auth import create_user
from backoffice.db import begin_read, make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.models import AGENCY_ADMIN, Agency, Export, ExportLease, MappingEntry, Store, User
from backoffice.pipeline import attachments, states
from backoffice.pipeline.runtime import fortnox_runtime
from backoffice.pipeline.worker import ExportWorker, run_workers
from backoffice.services import fortnox as fortnox_service
from backoffice.services.ingest import ingest
from backoffice.services.mapping import settings_of
from backoffice.services.registers import authenticate, create_enrollment_code, enroll
from config.settings import Settings
from exporters.core.zreport import check_digit
from exporters.fortnox import sandbox
from exporters.fortnox.sandbox.seed import seed_tenant
from exporters.fortnox.sandbox.state import User as SandboxUser

BUSINESS_DATE = None  # yesterday in the sandbox's clock, set in main()


def org_number(serial: int) -> str:
    digits = f"55{serial:07d}"
    return f"{digits[:6]}-{digits[6:]}{check_digit(digits)}"


def z_report(org: str, day: str) -> bytes:
    return json.dumps(
        {
            "register": {"id": "Kassa 1", "control_unit_id": "CU-1"},
            "org_number": org,
            "company_name": "Butik AB",
            "z_number": 1,
            "business_date": day,
            "opened_at": f"{day}T09:00:00+01:00",
            "closed_at": f"{day}T18:00:00+01:00",
            "currency": "SEK",
            "sales": [
                {"product_group": "Mat", "vat_rate": "6", "net": "5000.00", "vat": "300.00"},
                {"product_group": "Dryck", "vat_rate": "25", "net": "2000.00", "vat": "500.00"},
            ],
            "returns": [],
            "payments": [
                {"method": "card", "amount": "6000.00"},
                {"method": "swish", "amount": "1000.00"},
                {"method": "cash", "amount": "799.75"},
            ],
            "tips": [],
            "rounding": "-0.25",
        }
    ).encode()


def settings_for(url: str, base_url: str, key: str) -> Settings:
    return Settings().replace(
        database={"url": url},
        web={"secret_key": "bench", "secure_cookies": False, "public_url": "http://localhost"},
        fortnox={
            "client_id": sandbox.CLIENT_ID,
            "client_secret": sandbox.CLIENT_SECRET,
            "auth_url": f"{base_url}/oauth-v1",
            "api_url": base_url,
        },
        security={"encryption_keys": (key,)},
    )


def set_up(args, state, engine, key: str) -> None:
    """Companies in the sandbox; stores connected to them through the consent page; one Z-report each."""
    transport = httpx.WSGITransport(app=sandbox.create_app(state))
    fortnox = fortnox_service.Fortnox(
        settings_for(args.database, "http://setup", key), make_sessionmaker(engine), transport
    )
    day = BUSINESS_DATE.isoformat()
    with Session(engine) as db:
        agency = Agency(name="Benchkedjan")
        db.add(agency)
        db.flush()
        admin = create_user(db, "bench@example.se", "bench password 1", AGENCY_ADMIN, agency)
        db.commit()
        admin_id, agency_id = admin.id, agency.id
    for company in range(args.companies):
        tenant = 300000 + company
        login = (f"admin@{tenant}.example", "pw")
        seed_tenant(state, tenant, f"Bolag {tenant} AB", org_number(tenant))
        state.users[login[0]] = SandboxUser(login[0], login[1], "Admin", (tenant,), True, id=f"u{tenant}")
        for number in range(args.stores // args.companies):
            org = org_number(tenant * 10 + number)
            with Session(engine) as db:
                store = Store(agency_id=agency_id, name=f"Butik {tenant}-{number}", org_number=org)
                db.add(store)
                db.flush()
                user = db.get(User, admin_id)
                url = fortnox_service.start_connect(db, fortnox, store, user, False)
                db.add(MappingEntry(store_id=store.id, kind="cash_difference", key="", account=3740))
                sync = settings_of(db, store)
                # Due at once: the posting time of yesterday's day has passed whenever the bench runs.
                sync.voucher_series, sync.posting_time = "K", "00:00"
                code, _ = create_enrollment_code(db, store, user)
                token = enroll(
                    db, {"code": code, "register_id": "Kassa 1", "control_unit_id": "CU-1"}
                ).device_token
                db.commit()
                store_id = store.id
            query = dict(parse_qsl(urlsplit(url).query))
            with httpx.Client(transport=transport, base_url="http://setup") as browser:
                form = {**query, "email": login[0], "password": login[1], "decision": "grant"}
                callback = browser.post("/oauth-v1/auth", data=form).headers["Location"]
            with Session(engine) as db:
                attempt = fortnox_service.take_attempt(db, db.get(User, admin_id), query["state"])
                connection_id = fortnox_service.connection_row(db, db.get(Store, store_id)).id
                db.commit()
            company_info = fortnox_service.finish_connect(fortnox, connection_id, attempt, callback)
            with Session(engine) as db:
                fortnox_service.connection_row(db, db.get(Store, store_id)).tenant_id = company_info[
                    "tenant_id"
                ]
                outcome = ingest(db, authenticate(db, token), z_report(org, day))
                assert outcome.status == 201, outcome.body
                db.commit()


NUMBER = re.compile(r"/\d+")


def counted_app(state):
    """The sandbox's app counting what it serves by method and path (ids and numbers folded into ``N``),
    with two routes of the bench's own: ``POST /_bench/start`` (set the latency, zero the counts) and
    ``GET /_bench/figures`` (the counts, the markers of the vouchers, the serving process's CPU)."""
    app = sandbox.create_app(state)
    paths: Counter = Counter()

    def figures() -> dict:
        with state.lock:
            markers = Counter(
                v.description.rsplit("[", 1)[1] for t in state.tenants.values() for v in t.vouchers.values()
            )
            return {
                "requests": state.stats["requests"],
                "rate_limited": state.stats["rate_limited"],
                "markers": markers,
                "paths": paths,
                "cpu": cpu_seconds(),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }

    def counted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            if path == "/_bench/start":
                with state.lock:
                    state.knobs.latency_ms = float(environ["QUERY_STRING"].split("=")[1])
                    state.stats["requests"] = state.stats["rate_limited"] = 0
                paths.clear()
            body = json.dumps(figures()).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        paths[environ["REQUEST_METHOD"] + " " + NUMBER.sub("/N", path)] += 1
        return app(environ, start_response)

    return counted


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_with_gunicorn(state, port: int, threads: int) -> None:
    """gunicorn's threaded worker: keeps connections alive (one per client thread, as real Fortnox
    does), where werkzeug's development server closes each one and starts a thread per request."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": 1,  # one process: the sandbox's state (books, rate windows) is in its memory
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 30,
                "backlog": 2048,
                "loglevel": "warning",
            }
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self):
            return counted_app(state)

    Server().run()


def serve_with_werkzeug(state, port: int, threads: int) -> None:
    make_server("127.0.0.1", port, counted_app(state), threaded=True).serve_forever()


class Sandbox:
    """The sandbox served for the night: in a process of its own (forked after set-up, so it holds the
    companies and their tokens) by gunicorn or werkzeug, or on a thread of the bench's own process."""

    def __init__(self, state, how: str, threads: int) -> None:
        self.how, port = how, free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        if how == "thread":
            self.server = make_server("127.0.0.1", port, counted_app(state), threaded=True)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        else:
            serve = serve_with_gunicorn if how == "gunicorn" else serve_with_werkzeug
            self.process = multiprocessing.get_context("fork").Process(
                target=serve, args=(state, port, threads), daemon=True
            )
            self.process.start()
        for _ in range(200):
            try:
                httpx.get(f"{self.base_url}/_bench/figures")
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the sandbox did not answer on {self.base_url}")

    def start(self, latency_ms: float) -> dict:
        return httpx.post(f"{self.base_url}/_bench/start?latency_ms={latency_ms}").json()

    def finish(self) -> dict:
        figures = httpx.get(f"{self.base_url}/_bench/figures").json()
        if self.how == "thread":
            self.server.shutdown()
        else:
            self.process.terminate()
            self.process.join(timeout=10)
        return figures


def bench_engine(database: str, threads: int):
    if database.startswith("postgresql"):
        # One connection per worker thread (and its lease heartbeat), not the web app's small pool.
        return create_engine(database, pool_size=2 * threads + 10, max_overflow=10, pool_pre_ping=True)
    return make_engine(database)


def start_workers(database: str, settings: Settings, names: list[str], stop):
    """Export workers in threads of this process, on an engine of their own that counts transactions."""
    engine = bench_engine(database, len(names))
    transactions: Counter = Counter()
    event.listen(engine, "begin", lambda _connection: transactions.update(("begin",)))
    fortnox = fortnox_service.Fortnox(settings, make_sessionmaker(engine), None)
    runtime = fortnox_runtime(fortnox)
    workers = [ExportWorker(fortnox.sessions, runtime, name) for name in names]
    return run_workers(workers, stop), transactions, engine


def worker_process(database: str, settings: Settings, names: list[str], stop, pipe) -> None:
    """One of ``--processes`` worker processes: its workers run until ``stop``, then it reports its CPU,
    transactions and peak memory."""
    cpu_before = cpu_seconds()
    threads, transactions, engine = start_workers(database, settings, names, stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    pipe.send(
        {
            "cpu": cpu_seconds() - cpu_before,
            "transactions": transactions["begin"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def main() -> None:
    global BUSINESS_DATE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=200, help="export worker threads (default 200)")
    parser.add_argument(
        "--processes", type=int, default=1, help="worker processes sharing the threads (default 1)"
    )
    parser.add_argument("--database", default="", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--sandbox",
        choices=("gunicorn", "werkzeug", "thread"),
        default="gunicorn",
        help="serve the sandbox from a process of its own with gunicorn (default, keeps connections "
        "alive) or werkzeug (a connection per request), or from a thread of the bench's own process",
    )
    args = parser.parse_args()
    if args.processes > 1 and args.sandbox == "thread":
        parser.error("--processes forks: serve the sandbox from a process of its own")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not args.database:
        args.database = f"sqlite:///{tempfile.mkdtemp(prefix='dagskassa-nightly-')}/bench.sqlite"
    elif args.database.startswith("postgresql"):
        name = make_url(args.database).database
        admin = create_engine(make_url(args.database).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()

    state = sandbox.seeded_state(seed=1)
    BUSINESS_DATE = state.clock.today() - timedelta(days=1)
    key = Fernet.generate_key().decode()
    engine = bench_engine(args.database, args.threads)
    upgrade(engine)
    started = time.perf_counter()
    set_up(args, state, engine, key)
    print(
        f"set-up: {args.stores} stores in {args.companies} companies in {time.perf_counter() - started:.1f} s"
    )
    # Connecting the stores spent some of each company's 25 requests per 5 s; let the windows empty, as
    # they are by night.
    time.sleep(5.5)

    if args.sandbox != "thread":
        # Fork before any worker thread or pool connection exists in this process.
        engine.dispose()
    served = Sandbox(state, args.sandbox, max(64, 2 * args.threads))
    before = served.start(args.latency_ms)
    settings = settings_for(args.database, served.base_url, key)
    names = [f"bench:{n}" for n in range(args.threads)]
    total = args.stores
    if args.processes == 1:
        stop = threading.Event()
        cpu_before, started = cpu_seconds(), time.perf_counter()
        threads, transactions, worker_engine = start_workers(args.database, settings, names, stop)
    else:
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        processes, pipes = [], []
        for share in (names[n :: args.processes] for n in range(args.processes)):
            pipe, child_end = context.Pipe()
            process = context.Process(
                target=worker_process, args=(args.database, settings, share, stop, child_end), daemon=True
            )
            process.start()
            processes.append(process)
            pipes.append(pipe)
        started = time.perf_counter()
    leased: list[int] = []
    while True:
        with Session(engine) as db:
            begin_read(db)  # the watcher takes no write turn from the workers on SQLite
            done = Counter(db.scalars(select(Export.state)))
            attaching = db.scalar(
                select(func.count()).select_from(Export).where(Export.attachment_state == attachments.PENDING)
            )
            leased.append(
                db.scalar(select(func.count()).select_from(ExportLease).where(ExportLease.holder != ""))
            )
        # The night is done when every day is booked (or refused) and its Z-report is on its voucher.
        if (
            done[states.POSTED] + done[states.REJECTED] + done[states.NEEDS_ATTENTION] >= total
            and not attaching
        ):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    stop.set()
    if args.processes == 1:
        worker_cpus = [cpu_seconds() - cpu_before]
        for thread in threads:
            thread.join(timeout=30)
        transaction_count = transactions["begin"]
        worker_engine.dispose()
        worker_mb = []
    else:
        reports = [pipe.recv() for pipe in pipes]
        for process in processes:
            process.join(timeout=30)
        worker_cpus = [report["cpu"] for report in reports]
        transaction_count = sum(report["transactions"] for report in reports)
        worker_mb = [report["peak_mb"] for report in reports]
    figures = served.finish()
    requests, rate_limited, markers = figures["requests"], figures["rate_limited"], figures["markers"]
    if args.sandbox == "thread":
        figures["cpu"] = figures["peak_mb"] = None
    else:
        figures["cpu"] -= before["cpu"]
    paths = Counter(figures["paths"])

    per_company = requests / args.companies
    latency = args.latency_ms / 1000
    rate_floor = max(0.0, (per_company - 25) / 25 * 5)
    floor = max(per_company * latency, rate_floor)
    duplicates = sum(n - 1 for n in markers.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"database: {make_url(args.database).get_backend_name()}, worker threads: {args.threads} in "
        f"{args.processes} process(es)"
    )
    print(f"exports: {dict(done)}")
    print(f"requests to Fortnox: {requests} ({per_company:.1f} per company, {requests / total:.2f} per day)")
    for path, count in paths.most_common():
        print(f"    {count:6d}  {path}")
    print(
        f"wall time: {wall:.2f} s; floor: {floor:.2f} s (latency {per_company * latency:.2f} s, rate limit {rate_floor:.2f} s); ratio {wall / floor:.2f}x (aim: within 1.2x)"
    )
    print(f"429 answers: {rate_limited} (aim: 0)")
    print(f"duplicates: {duplicates} (aim: 0); vouchers: {len(markers)}")
    print(
        f"peak memory: {peak_mb:.0f} MB (aim: under 300 MB)"
        + "".join(f"; worker process {mb:.0f} MB" for mb in worker_mb)
        + (f"; the sandbox's process {figures['peak_mb']:.0f} MB" if figures["peak_mb"] else "")
    )
    # Where the time goes: the CPU both sides spent, and what the machine's cores allow for it.
    cores = len(os.sched_getaffinity(0))
    in_process = args.sandbox == "thread"
    print(
        f"CPU budget ({cores} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end):"
    )
    worker_cpu = sum(worker_cpus)
    print(
        f"    worker process(es): {worker_cpu:.2f} CPU-s = {1000 * worker_cpu / total:.1f} CPU-ms per export"
        + (" (sandbox included: same process)" if in_process else "")
        + f" ({', '.join(f'{cpu:.2f}' for cpu in worker_cpus)} s each), "
        + f"{transaction_count / total:.1f} database transactions per export"
    )
    # A process's Python threads share one core under the GIL.
    cpu_floor = max(max(worker_cpus), worker_cpu / cores)
    if figures["cpu"] is not None:
        sandbox_cpu = figures["cpu"]
        print(
            f"    sandbox process: {sandbox_cpu:.2f} CPU-s = {1000 * sandbox_cpu / max(requests, 1):.2f} CPU-ms "
            f"per request, {1000 * sandbox_cpu / total:.1f} per export"
        )
        cpu_floor = max(cpu_floor, sandbox_cpu, (worker_cpu + sandbox_cpu) / cores)
    print(
        f"    CPU floor: {cpu_floor:.2f} s (each process on one core under the GIL, all on {cores} cores) "
        f"vs the limits' floor {floor:.2f} s: within 1.2x needs CPU under {1.2 * floor:.2f} s"
    )
    print(
        f"    tenants leased at once: mean {sum(leased) / len(leased):.0f}, max {max(leased)} of {args.companies}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
