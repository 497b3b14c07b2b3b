"""Z-report POSTs per second into the register API, and their latency, over HTTP on 127.0.0.1.

Serves the BackOffice with ``dagskassa serve`` (gunicorn, 2 worker processes x 2 threads, the web app
alone) on a fresh database, enrolls one register per client thread, then the threads post new Z-reports
(the example restaurant day with its own Z number) at the offered rate (300/s by default) for a fixed
time (plain ``http.client``: the client shares the cores). Each Z-report goes over a connection of its
own, as it does from a register (one report a day) or through a proxy that does not keep upstream
connections alive; ``--keep-alive`` keeps one connection per client instead. Prints
requests/s, p50/p95/p99/max, and the CPU time per Z-report of the server, of the PostgreSQL backends
(when the database server runs on this machine) and of the client, with the load average: on a shared
machine the CPU times say more than the rates. Aim: 300/s with p99 under 50 ms, on SQLite and on
PostgreSQL.

It also prints how the two web worker processes shared the work. A kept-alive connection stays with the
worker process that accepted it, and a process runs Python on one core at a time: with ``--keep-alive``
one process often holds most of the 16 connections and saturates its core while the other idles (seen:
82 % and 1 %), which is the long tail, not the database. New connections go to whichever worker is free.

    .venv/bin/python bench/api_ingest.py                                    # SQLite, 5 s
    .venv/bin/python bench/api_ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/api_ingest.py --seconds 20 --rate 0              # closed loop: the ceiling
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from backoffice.db import make_engine  # noqa: E402
from backoffice.migrate import upgrade  # noqa: E402
from backoffice.models import (  # noqa: E402
    Agency,
    EnrollmentCode,
    Store,
    utcnow,
)
from backoffice.tokens import digest, new_enrollment_code  # noqa: E402

EXAMPLE = json.loads((ROOT / "examples" / "z-report-restaurant.json").read_text("utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(url: str, clients: int) -> list[str]:
    """A fresh schema with one store and one enrollment code per client."""
    engine = make_engine(url)
    if url.startswith("postgresql"):  # a database of the benchmark's own: emptied whole
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    codes = []
    with Session(engine) as session:
        agency = Agency(name="Bench")
        session.add(agency)
        session.flush()
        store = Store(agency_id=agency.id, name="Exempelkrogen", org_number=EXAMPLE["org_number"])
        session.add(store)
        session.flush()
        for _ in range(clients):
            code = new_enrollment_code()
            session.add(
                EnrollmentCode(
                    store_id=store.id, code_hash=digest(code), expires_at=utcnow() + timedelta(hours=1)
                )
            )
            codes.append(code)
        session.commit()
    engine.dispose()
    return codes


def serve(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DAGSKASSA_DATABASE_URL": url,
        "DAGSKASSA_WEB_PORT": str(port),
        "DAGSKASSA_WEB_SECRET_KEY": "bench",
        "DAGSKASSA_WEB_SECURE_COOKIES": "false",
        "DAGSKASSA_LOGGING_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "config.cli",
        "serve",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--no-upgrade",
        "--export-workers",  # the web app alone: no export workers or scheduler beside it
        "0",
        "--no-scheduler",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the BackOffice did not start")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def children_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each direct child of ``pid`` (the web worker processes of gunicorn's master)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            found[int(child)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def database_cpu_seconds(url: str) -> float:
    """CPU seconds of the PostgreSQL backends serving ``url``'s database, when the server runs on this
    machine (their titles read "postgres: <user> <database> ..."); 0 for SQLite, which runs inside the
    server's processes and is counted with them."""
    if not url.startswith("postgresql"):
        return 0.0
    database = make_url(url).database
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue
    return total


def client_loop(
    port: int,
    code: str,
    index: int,
    stop_at: float,
    interval: float,
    latencies: list[float],
    statuses: dict,
    keep_alive: bool,
) -> None:
    """One register: enroll, then post its days over one kept-alive connection. Plain ``http.client``:
    the client shares the machine with the server, so it should cost as little CPU as it can."""
    register_id = f"Kassa {index + 1}"
    http = HTTPConnection("127.0.0.1", port, timeout=10)

    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        http.request("POST", path, body, headers)
        response = http.getresponse()
        return response.status, response.read()

    enroll = {
        "code": code,
        "register_id": register_id,
        "control_unit_id": EXAMPLE["register"]["control_unit_id"],
    }
    _, answer = post("/api/v1/enroll", json.dumps(enroll).encode(), {"Content-Type": "application/json"})
    headers = {
        "Authorization": f"Bearer {json.loads(answer)['device_token']}",
        "Content-Type": "application/json",
    }
    if not keep_alive:  # the server closes after answering; http.client connects again for the next
        headers["Connection"] = "close"
    z_number = 0
    next_at = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now >= stop_at:
                return
            if interval and now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            z_number += 1
            report = dict(EXAMPLE, z_number=z_number, register={**EXAMPLE["register"], "id": register_id},
                          business_date=(date(2020, 1, 1) + timedelta(days=z_number)).isoformat())  # fmt: skip
            body = json.dumps(report).encode()
            headers["Idempotency-Key"] = f"{register_id}:z:{z_number}"
            started = time.perf_counter()
            status, _ = post("/api/v1/z-reports", body, headers)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        http.close()


def run(
    url: str, seconds: float, clients: int, rate: float, workers: int, threads: int, keep_alive: bool
) -> None:
    codes = seed(url, clients)
    port = free_port()
    server = serve(url, port, workers, threads)
    try:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        interval = clients / rate if rate else 0.0
        server_cpu, client_cpu = tree_cpu_seconds(server.pid), time.process_time()
        workers_before = children_cpu_seconds(server.pid)
        database_cpu = database_cpu_seconds(url)
        start = time.monotonic()
        pool = [
            threading.Thread(target=client_loop, args=(port, code, i, start + seconds, interval, latencies, statuses, keep_alive))
            for i, code in enumerate(codes)
        ]  # fmt: skip
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - start
        server_cpu = tree_cpu_seconds(server.pid) - server_cpu
        workers_after = children_cpu_seconds(server.pid)
        client_cpu = time.process_time() - client_cpu
        database_cpu = database_cpu_seconds(url) - database_cpu
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    kind = url.split(":", 1)[0]
    print(
        f"{kind}: {len(ordered)} Z-reports in {elapsed:.1f} s = {len(ordered) / elapsed:.0f}/s "
        f"({workers} workers x {threads} threads, {clients} clients{f', offered {rate:.0f}/s' if rate else ', closed loop'}, "
        f"{'kept-alive connections' if keep_alive else 'a connection per Z-report'}); "
        f"latency p50 {pct(0.50):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms, max {ordered[-1] * 1000:.1f} ms, "
        f"mean {statistics.fmean(ordered) * 1000:.1f} ms; statuses {statuses}"
    )
    per_request = server_cpu / len(ordered)
    database = f", PostgreSQL backends {database_cpu / len(ordered) * 1000:.2f} ms" if database_cpu else ""
    print(
        f"  CPU per Z-report: server {per_request * 1000:.2f} ms (so 2 free cores carry ~{2 / per_request:.0f}/s)"
        f"{database}, client {client_cpu / len(ordered) * 1000:.2f} ms; machine load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    # How evenly the web workers shared the load (kept-alive connections stay with the worker that
    # accepted them; one process runs Python on one core at a time).
    shares = sorted(
        (workers_after[pid] - workers_before.get(pid, 0.0) for pid in workers_after), reverse=True
    )
    print(
        "  web worker processes' CPU: "
        + ", ".join(f"{cpu:.2f} s ({cpu / elapsed:.0%} of a core)" for cpu in shares)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=16, help="concurrent registers posting")
    parser.add_argument(
        "--rate", type=float, default=300, help="offered load in requests/s (0: as fast as possible)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--keep-alive", action="store_true", help="one kept-alive connection per client for all its posts"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite"
        run(url, args.seconds, args.clients, args.rate, args.workers, args.threads, args.keep_alive)


if __name__ == "__main__":
    main()
