"""``dagskassa demo``: the whole chain on one machine, from nothing, in a minute.

It starts the Fortnox sandbox, the BackOffice (web app, export workers and scheduler, on SQLite), and at
the store end a simulated printer, a simulated register and the bridge between them, as separate
processes exactly as a store would run them. A demo store is set up the way a manager would (connected
to the sandbox through its consent page, voucher series K, the BAS mapping, a register enrolled with a
one-time code); a second store is left new, to show the guided first run. The register sells a day and
closes it; the Z-report travels through the bridge to the BackOffice and on to the sandbox's ledger.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@dagskassa.se"
DEMO_PASSWORD = "dagskassa-demo"
SANDBOX_LOGIN = ("anna@exempelkrogen.se", "anna-sandbox")
STORE_ORG = "556677-8899"  # the sandbox's Exempelkrogen AB, and the simulated register's company


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the whole chain locally: sandbox, BackOffice, scheduler, register, printer"
    )
    demo.add_argument("--port", type=int, default=8000, help="BackOffice port (default 8000)")
    demo.add_argument("--sandbox-port", type=int, default=8100, help="Fortnox sandbox port (default 8100)")
    demo.add_argument("--dir", default="var/demo", help="where the demo keeps its files (wiped at start)")
    demo.add_argument("--days", type=int, default=1, help="days the register sells and closes (default 1)")
    demo.set_defaults(handler=demo_command)


def _processes_env(settings_env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DAGSKASSA_")}
    return {**clean, **settings_env}


def _wait_for_file(path: Path, process: subprocess.Popen, what: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise SystemExit(f"dagskassa demo: the {what} stopped (exit {process.returncode})")
        time.sleep(0.05)
    raise SystemExit(f"dagskassa demo: the {what} did not start within {timeout:.0f} s")


def connect_through_consent(fortnox, sessions, store_id: int, user_id: int, login: tuple[str, str]) -> None:
    """Connect a store to Fortnox as its manager would: Connect, the consent page, the callback."""
    import httpx

    from backoffice import audit
    from backoffice.models import Store, User
    from backoffice.services import fortnox as service
    from backoffice.services.mapping import settings_of

    with sessions() as db:
        store, user = db.get(Store, store_id), db.get(User, user_id)
        url = service.start_connect(db, fortnox, store, user, settings_of(db, store).invoicing)
        db.commit()
    query = dict(parse_qsl(urlsplit(url).query))
    with httpx.Client(timeout=15) as browser:
        form = {**query, "email": login[0], "password": login[1], "decision": "grant"}
        answer = browser.post(url.split("?")[0], data=form)
    callback = answer.headers["Location"]
    with sessions() as db:
        user = db.get(User, user_id)
        attempt = service.take_attempt(db, user, query["state"])
        connection_id = service.connection_row(db, db.get(Store, store_id)).id
        db.commit()
    company = service.finish_connect(fortnox, connection_id, attempt, callback)
    # No transaction may be open while Fortnox is called: the token store writes in its own.
    data = service.fetch_data(fortnox, connection_id, datetime.now(ZoneInfo("Europe/Stockholm")).date())
    with sessions() as db:
        store, user = db.get(Store, store_id), db.get(User, user_id)
        connection = service.connection_row(db, store)
        connection.tenant_id, connection.company_name = company["tenant_id"], company["company_name"]
        connection.company_org_number, connection.connected_by_id = company["org_number"], user.id
        service.save_data(db, store, user, data)
        audit.record(db, user, "fortnox.connected", store, company["company_name"])
        db.commit()


def _set_up_backoffice(settings, engine, fortnox):
    """The demo agency: a store ready to post, a new store, the demo user. Returns (store id, code)."""
    from backoffice.auth import create_user
    from backoffice.db import make_sessionmaker
    from backoffice.migrate import upgrade
    from backoffice.models import AGENCY_ADMIN, Agency, MappingEntry, Store
    from backoffice.services.mapping import settings_of
    from backoffice.services.registers import create_enrollment_code

    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as db:
        agency = Agency(name="Demokedjan")
        db.add(agency)
        db.flush()
        store = Store(agency_id=agency.id, name="Exempelkrogen", org_number=STORE_ORG)
        new_store = Store(agency_id=agency.id, name="Nya butiken (ej konfigurerad)", org_number="559012-3456")
        db.add_all([store, new_store])
        db.flush()
        user = create_user(db, DEMO_EMAIL, DEMO_PASSWORD, AGENCY_ADMIN, agency)
        db.commit()
        store_id, user_id = store.id, user.id
    connect_through_consent(fortnox, sessions, store_id, user_id, SANDBOX_LOGIN)
    with sessions() as db:
        store = db.get(Store, store_id)
        sync = settings_of(db, store)
        sync.voucher_series, sync.cost_center, sync.sync_sales = "K", "REST1", True
        sync.posting_time = ""  # each day as soon as it arrives: the demo shows it within seconds
        # BAS has no cash difference account: the demo store chose 3740 for its small differences.
        db.add(MappingEntry(store_id=store_id, kind="cash_difference", key="", account=3740))
        code, _ = create_enrollment_code(db, store, db.get(type(user), user_id))
        db.commit()
    return store_id, code


def demo_command(args: argparse.Namespace) -> int:
    import werkzeug.serving
    from cryptography.fernet import Fernet

    from backoffice.app import create_app
    from backoffice.db import make_engine, make_sessionmaker
    from backoffice.pipeline.service import Pipeline
    from backoffice.services.fortnox import Fortnox
    from exporters.fortnox import sandbox

    root = Path(args.dir).resolve()
    shutil.rmtree(root, ignore_errors=True)
    (root / "bridge").mkdir(parents=True)
    web_url = f"http://127.0.0.1:{args.port}"
    sandbox_server = sandbox.SandboxServer(sandbox.seeded_state(), port=args.sandbox_port)
    sandbox_server.start()
    sandbox_url = sandbox_server.base_url
    settings = args.settings.replace(
        database={"url": f"sqlite:///{root / 'dagskassa.sqlite'}"},
        web={
            "host": "127.0.0.1",
            "port": args.port,
            "public_url": web_url,
            "secret_key": secrets.token_urlsafe(32),
            "secure_cookies": False,
        },
        security={"encryption_keys": (Fernet.generate_key().decode(),)},
        fortnox={
            "client_id": sandbox.CLIENT_ID,
            "client_secret": sandbox.CLIENT_SECRET,
            "auth_url": f"{sandbox_url}/oauth-v1",
            "api_url": sandbox_url,
        },
        scheduler={"sweep_seconds": 10},
    )
    engine = make_engine(settings.database.url)
    fortnox = Fortnox(settings, make_sessionmaker(engine), None)
    _store_id, code = _set_up_backoffice(settings, engine, fortnox)

    web = werkzeug.serving.make_server(
        "127.0.0.1", args.port, create_app(settings, engine=engine), threaded=True
    )
    threading.Thread(target=web.serve_forever, name="backoffice", daemon=True).start()
    pipeline = Pipeline(settings, engine)
    pipeline.start_workers(2)
    pipeline.start_scheduler()

    bridge_env = _processes_env(
        {
            "DAGSKASSA_BRIDGE_BACKOFFICE_URL": web_url,
            "DAGSKASSA_BRIDGE_SPOOL_PATH": str(root / "bridge" / "spool.sqlite"),
            "DAGSKASSA_BRIDGE_TOKEN_PATH": str(root / "bridge" / "token"),
            "DAGSKASSA_BRIDGE_STATUS_PATH": str(root / "bridge" / "status.json"),
            "DAGSKASSA_LOGGING_LEVEL": "WARNING",
        }
    )
    dagskassa = [sys.executable, "-m", "config.cli"]
    children: list[subprocess.Popen] = []

    def spawn(*command: str, env=bridge_env, **kwargs) -> subprocess.Popen:
        child = subprocess.Popen([*dagskassa, *command], env=env, **kwargs)
        children.append(child)
        return child

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        printed = root / "printer.txt"
        printer = spawn("printer-sim", "--path-file", str(root / "printer.path"), "--output", str(printed),
                        stdout=subprocess.DEVNULL)  # fmt: skip
        printer_path = _wait_for_file(root / "printer.path", printer, "printer simulator")
        yesterday = datetime.now(ZoneInfo("Europe/Stockholm")).date() - timedelta(days=args.days)
        enrolled = subprocess.run(
            [*dagskassa, "bridge", "enroll", "--code", code, "--register-id", "Kassa 1",
             "--control-unit-id", "CU-0001-2345"],
            env=bridge_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if enrolled.returncode:
            raise SystemExit(f"dagskassa demo: enrolling the register failed: {enrolled.stderr}")
        register = spawn(
            "register-sim", "--path-file", str(root / "register.path"), "--days", str(args.days),
            "--start-date", yesterday.isoformat(), "--speed", "40", "--stay", stdout=subprocess.DEVNULL,
        )  # fmt: skip
        register_path = _wait_for_file(root / "register.path", register, "register simulator")
        spawn(
            "bridge",
            env={
                **bridge_env,
                "DAGSKASSA_BRIDGE_REGISTER_URL": register_path,
                "DAGSKASSA_BRIDGE_PRINTER_URL": printer_path,
            },
        )
        print(
            "\n".join(
                [
                    "",
                    "Dagskassa demo is running.",
                    f"  Open {web_url}/ and sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}",
                    f"  The Fortnox sandbox's ledger: {sandbox_url}/_sandbox/ledger",
                    f"  The register sells {args.days} day(s) and closes; the voucher appears within a minute.",
                    f"  What the receipt printer printed: {printed}",
                    "  Stop with Ctrl-C.",
                    "",
                ]
            ),
            flush=True,
        )
        stop.wait()
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        pipeline.stop()
        web.shutdown()
        sandbox_server.stop()
        engine.dispose()
    print("Dagskassa demo stopped.", flush=True)
    return 0
