"""Exactly once, shown by killing: `dagskassa worker` processes killed with SIGKILL at 200 random points
while they export a batch against the Fortnox sandbox on 127.0.0.1, a new one started each time. In the
end every Z-report is posted, and the sandbox's ledger holds each marker exactly once."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.db import make_engine, make_sessionmaker
from backoffice.migrate import upgrade
from backoffice.models import Export
from backoffice.pipeline import states
from backoffice.services.fortnox import Fortnox
from exporters.fortnox import sandbox
from tests.backoffice.factories import agency_with_store, app_settings, sandbox_fortnox
from tests.backoffice.fortnox_world import connect_store, ledger, send_days

DAGSKASSA = Path(sys.executable).with_name("dagskassa")
KILLS = int(os.environ.get("TEST_CRASH_KILLS", "200"))
DAYS = 240  # 2026-03-14 onwards: all inside the sandbox's financial year


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    worker = subprocess.Popen(
        [str(DAGSKASSA), "worker", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(worker.stdout, selectors.EVENT_READ)
    assert selector.select(timeout=30), "the worker did not start"
    assert worker.stdout.readline().strip() == "ready"
    return worker


def states_now(engine) -> Counter:
    with Session(engine) as db:
        return Counter(db.scalars(select(Export.state)))


@pytest.mark.slow
@pytest.mark.timeout(600)  # 200 worker starts of 1-2 s each on a loaded machine: correctness, not speed
def test_workers_killed_at_200_random_points_post_every_day_exactly_once(tmp_path):
    state = sandbox.seeded_state(seed=5)
    state.knobs.latency_ms = 40
    state.knobs.rate_limit_enabled = False  # the point here is dying, not waiting for Fortnox's window
    key = Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'dagskassa.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with sandbox.SandboxServer(state) as server:
        settings = app_settings(url).replace(
            fortnox=sandbox_fortnox(server.base_url, timeout_seconds=10.0),
            security={"encryption_keys": (key,)},
            web={"public_url": "http://localhost"},
        )
        with Session(engine) as db:
            _agency, store, _admin, manager = agency_with_store(db)
            db.commit()
            store_id, manager_email = store.id, manager.email
        connect_store(Fortnox(settings, make_sessionmaker(engine), None), store_id, manager_email)
        send_days(engine, store_id, manager_email, range(1, DAYS + 1))

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DAGSKASSA_")},
            "DAGSKASSA_DATABASE_URL": url,
            "DAGSKASSA_FORTNOX_CLIENT_ID": sandbox.CLIENT_ID,
            "DAGSKASSA_FORTNOX_CLIENT_SECRET": sandbox.CLIENT_SECRET,
            "DAGSKASSA_FORTNOX_AUTH_URL": f"{server.base_url}/oauth-v1",
            "DAGSKASSA_FORTNOX_API_URL": server.base_url,
            "DAGSKASSA_FORTNOX_TIMEOUT_SECONDS": "10",
            "DAGSKASSA_SECURITY_ENCRYPTION_KEYS": key,
            "DAGSKASSA_SCHEDULER_LEASE_SECONDS": "0.3",
            # No rate limit here, so no rest: a tenant let go by a worker about to be killed is taken
            # at once by the next one (with the 5 s rest the next worker waited and kills hit idle ones).
            "DAGSKASSA_SCHEDULER_TENANT_REST_SECONDS": "0",
            "DAGSKASSA_LOGGING_LEVEL": "WARNING",
        }
        rng = random.Random(2026)
        kills_while_working = kills_mid_send = 0
        for _kill in range(KILLS):
            worker = start_worker(env)
            time.sleep(rng.uniform(0.0, 0.25))
            if states_now(engine)[states.POSTED] < DAYS:
                kills_while_working += 1
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            if states_now(engine)[states.POSTING]:
                kills_mid_send += 1  # the sharpest point: "posting" committed, the answer never recorded
            worker.stdout.close()

        # A last worker left alone finishes what the killed ones left.
        worker = start_worker(env)
        deadline = time.monotonic() + 120
        while states_now(engine)[states.POSTED] < DAYS and time.monotonic() < deadline:
            time.sleep(0.5)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        worker.stdout.close()

        assert states_now(engine) == Counter({states.POSTED: DAYS})
        markers = Counter(v.description.rsplit("[", 1)[1] for v in ledger(state))
        assert len(markers) == DAYS, "a Z-report was lost"
        assert set(markers.values()) == {1}, f"posted twice: {[m for m, n in markers.items() if n > 1]}"
        # The kills must have hit work in progress, not idle workers.
        assert kills_while_working >= KILLS * 0.5
        assert kills_mid_send >= 5  # seen 9 with the pipeline as it is (a PDF step after each voucher)
    engine.dispose()
