"""prometheus-client's multiprocess mode for real: `dagskassa serve` (gunicorn) starts an export worker
and the scheduler as processes of their own, against the Fortnox sandbox on 127.0.0.1; the web's /metrics
shows the counters those processes made (only the worker called Fortnox, only the scheduler ran jobs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.models import FortnoxConnection
from backoffice.services.fortnox import Fortnox
from exporters.fortnox import sandbox
from tests.backoffice.factories import agency_with_store, app_settings, sandbox_fortnox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days

DAGSKASSA = Path(sys.executable).with_name("dagskassa")
DAYS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_until(url: str, ready, deadline: float) -> dict:
    """Scrape until ``ready(samples)`` holds (the processes start and post on their own time)."""
    found: dict = {}
    while time.monotonic() < deadline:
        try:
            found = samples(httpx.get(url, timeout=5).text)
        except httpx.TransportError:
            found = {}
        if found and ready(found):
            return found
        time.sleep(0.3)
    return found


@pytest.mark.slow
def test_the_web_scrape_adds_up_the_worker_and_scheduler_processes(tmp_path):
    state = sandbox.seeded_state(seed=7)
    key = Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'dagskassa.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_999999.db"
    stale.write_bytes(b"left by the last run")
    with sandbox.SandboxServer(state) as server:
        settings = app_settings(url).replace(
            fortnox=sandbox_fortnox(server.base_url),
            security={"encryption_keys": (key,)},
            web={"public_url": "http://localhost"},
        )
        with Session(engine) as db:
            _agency, store, _admin, manager = agency_with_store(db)
            db.commit()
            store_id, manager_email = store.id, manager.email
        connect_store(Fortnox(settings, make_sessionmaker(engine), None), store_id, manager_email)
        with Session(engine) as db:
            tenant = "fortnox-tenant:" + db.scalars(select(FortnoxConnection.tenant_id)).one()
        send_days(engine, store_id, manager_email, range(1, DAYS + 1))

        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DAGSKASSA_", "PROMETHEUS_"))},
            "DAGSKASSA_DATABASE_URL": url,
            "DAGSKASSA_WEB_PORT": str(port),
            "DAGSKASSA_WEB_SECRET_KEY": "test secret key",
            "DAGSKASSA_FORTNOX_CLIENT_ID": sandbox.CLIENT_ID,
            "DAGSKASSA_FORTNOX_CLIENT_SECRET": sandbox.CLIENT_SECRET,
            "DAGSKASSA_FORTNOX_AUTH_URL": f"{server.base_url}/oauth-v1",
            "DAGSKASSA_FORTNOX_API_URL": server.base_url,
            "DAGSKASSA_SECURITY_ENCRYPTION_KEYS": key,
            "DAGSKASSA_SCHEDULER_SWEEP_SECONDS": "1",
            "DAGSKASSA_METRICS_MULTIPROC_DIR": str(metrics_dir),
            "DAGSKASSA_LOGGING_LEVEL": "WARNING",
        }
        serve = subprocess.Popen(
            [str(DAGSKASSA), "serve", "--workers", "1", "--threads", "2", "--export-workers", "1"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            histogram = "dagskassa_export_z_report_to_posted_seconds_count"
            found = scrape_until(
                f"http://127.0.0.1:{port}/metrics",
                lambda s: (
                    value(s, histogram, channel="fortnox") == DAYS
                    and value(s, "dagskassa_scheduler_job_runs_total", job="sweep", outcome="ok") >= 1
                ),
                time.monotonic() + 90,
            )
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    engine.dispose()

    assert len(ledger(state)) == DAYS
    # Counted in the worker process: the web made no Fortnox call and posted nothing.
    assert value(found, histogram, channel="fortnox") == DAYS
    assert value(found, "dagskassa_api_calls_total", service="fortnox", tenant=tenant, result="ok") >= DAYS
    # Counted in the scheduler process; its heartbeat read from the database.
    assert value(found, "dagskassa_scheduler_job_runs_total", job="sweep", outcome="ok") >= 1
    assert value(found, "dagskassa_scheduler_heartbeat_timestamp_seconds") > 0
    assert value(found, "dagskassa_exports", state="posted") == DAYS
    assert not stale.exists()  # serve started from an empty directory
