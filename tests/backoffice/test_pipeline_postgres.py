"""Many machines, shown on one: on a real PostgreSQL, four `dagskassa worker` processes race over 1,000
exports of 40 Fortnox companies (each posted once, counted in the sandbox), and four processes force 100
token refreshes on one connection (Fortnox's refresh tokens work once: a race would kill it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backoffice.db import make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.models import AuditEntry, Export, FortnoxConnection, Store
from backoffice.pipeline import states
from backoffice.services.fortnox import DbTokenStore, Fortnox
from exporters.fortnox import sandbox
from tests.backoffice.factories import agency_with_store, app_settings, sandbox_fortnox
from tests.backoffice.fortnox_world import add_companies, connect_store, send_days

DAGSKASSA = Path(sys.executable).with_name("dagskassa")
COMPANIES = 40
DAYS = 25  # 40 x 25 = 1,000 exports


@pytest.fixture
def pg_url(postgres_url, request):
    # A database per test: under pytest-xdist the two tests run at once and must not drop each other's.
    name = f"pipeline_{request.node.name[:40].lower()}_{os.getpid()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


def environment(url: str, base_url: str, key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAGSKASSA_")},
        "DAGSKASSA_DATABASE_URL": url,
        "DAGSKASSA_FORTNOX_CLIENT_ID": sandbox.CLIENT_ID,
        "DAGSKASSA_FORTNOX_CLIENT_SECRET": sandbox.CLIENT_SECRET,
        "DAGSKASSA_FORTNOX_AUTH_URL": f"{base_url}/oauth-v1",
        "DAGSKASSA_FORTNOX_API_URL": base_url,
        "DAGSKASSA_SECURITY_ENCRYPTION_KEYS": key,
        "DAGSKASSA_LOGGING_LEVEL": "WARNING",
    }


def fortnox_for(url: str, base_url: str, key: str, engine) -> Fortnox:
    settings = app_settings(url).replace(
        fortnox=sandbox_fortnox(base_url),
        security={"encryption_keys": (key,)},
        web={"public_url": "http://localhost"},
    )
    return Fortnox(settings, make_sessionmaker(engine), None)


@pytest.mark.slow
@pytest.mark.postgres
def test_four_workers_race_over_a_thousand_exports(pg_url):
    state = sandbox.seeded_state(seed=9)
    state.knobs.latency_ms = 5
    companies = add_companies(state, COMPANIES)
    key = Fernet.generate_key().decode()
    engine = make_engine(pg_url)
    upgrade(engine)
    with sandbox.SandboxServer(state) as server:
        fortnox = fortnox_for(pg_url, server.base_url, key, engine)
        for tenant, org, login in companies:
            with Session(engine) as db:
                _agency, store, _admin, manager = agency_with_store(db, f"Byrå {tenant}", org)
                db.commit()
                store_id, manager_email = store.id, manager.email
            connect_store(fortnox, store_id, manager_email, login)
            send_days(engine, store_id, manager_email, range(1, DAYS + 1), org_number=org)
        env = environment(pg_url, server.base_url, key)
        workers = [
            subprocess.Popen([str(DAGSKASSA), "worker", "--threads", "6"], env=env, stdout=subprocess.DEVNULL)
            for _ in range(4)
        ]
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with Session(engine) as db:
                    done = Counter(db.scalars(select(Export.state)))
                if done[states.POSTED] == COMPANIES * DAYS:
                    break
                time.sleep(1)
        finally:
            for worker in workers:
                worker.terminate()
            codes = [worker.wait(timeout=60) for worker in workers]
        assert codes == [0, 0, 0, 0]
        assert done == Counter({states.POSTED: COMPANIES * DAYS})
        with state.lock:
            markers = Counter(
                v.description.rsplit("[", 1)[1]
                for tenant, _org, _login in companies
                for v in state.tenants[tenant].vouchers.values()
            )
            rate_limited = state.stats["rate_limited"]
        assert len(markers) == COMPANIES * DAYS
        assert set(markers.values()) == {1}
        assert rate_limited == 0
        with Session(engine) as db:
            sends = db.scalars(select(AuditEntry.details).where(AuditEntry.action == "export.posting")).all()
        processes = {details["worker"].rsplit(":", 1)[0] for details in sends}
        assert len(processes) == 4, "every worker process took part in the race"
    engine.dispose()


REFRESHER = """
import sys
from backoffice.db import make_engine, make_sessionmaker
from backoffice.services.fortnox import Fortnox
from config.settings import load_settings

settings = load_settings()
fortnox = Fortnox(settings, make_sessionmaker(make_engine(settings.database.url)), None)
with fortnox.http() as http:
    client = fortnox.client(http, int(sys.argv[1]))
    for _ in range(int(sys.argv[2])):
        client.renew_tokens()
print("ok")
"""


@pytest.mark.postgres
def test_four_processes_forcing_refreshes_on_one_connection_never_kill_it(pg_url):
    state = sandbox.seeded_state(seed=10)
    key = Fernet.generate_key().decode()
    engine = make_engine(pg_url)
    upgrade(engine)
    with sandbox.SandboxServer(state) as server:
        fortnox = fortnox_for(pg_url, server.base_url, key, engine)
        with Session(engine) as db:
            _agency, store, _admin, manager = agency_with_store(db)
            db.commit()
            store_id, manager_email = store.id, manager.email
        connect_store(fortnox, store_id, manager_email)
        with Session(engine) as db:
            connection_id = db.scalars(
                select(FortnoxConnection.id).where(FortnoxConnection.store_id == store_id)
            ).one()
            first = DbTokenStore(fortnox.sessions, connection_id, fortnox.cipher).load()
        env = environment(pg_url, server.base_url, key)
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", REFRESHER, str(connection_id), "25"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
        assert all("invalid_grant" not in err and "Reconnect" not in err for _out, err in outputs)
        with Session(engine) as db:
            row = db.get(FortnoxConnection, connection_id)
            assert row.status == "connected", row.last_error
            store = db.get(Store, store_id)
            assert store is not None
        last = DbTokenStore(fortnox.sessions, connection_id, fortnox.cipher).load()
        assert last.refresh_token != first.refresh_token
        with fortnox.http() as http:
            assert fortnox.client(http, connection_id).company_information()["DatabaseNumber"] == 100001
    engine.dispose()
