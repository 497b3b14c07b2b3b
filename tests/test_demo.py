"""The README's first command, run as a newcomer would: `./dev demo`. Within two minutes the simulated
register's day is a voucher in the Fortnox sandbox's ledger and a posted export in the BackOffice; a
Ctrl-C (SIGTERM) stops everything cleanly."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode("utf-8")


@pytest.mark.slow
def test_the_demo_posts_the_registers_day_and_stops_cleanly(tmp_path):
    web, fortnox = free_port(), free_port()
    log = (tmp_path / "demo.log").open("w")
    command = [
        "./dev",
        "demo",
        "--port",
        str(web),
        "--sandbox-port",
        str(fortnox),
        "--dir",
        str(tmp_path / "demo"),
    ]
    demo = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        vouchers = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not vouchers:
            time.sleep(1)
            try:
                ledger = json.loads(get(f"http://127.0.0.1:{fortnox}/_sandbox/ledger.json"))
            except OSError:
                continue
            vouchers = [v for t in ledger["tenants"] for v in t["vouchers"] if "[dk:" in v["description"]]
        assert len(vouchers) == 1, "no voucher reached the sandbox within two minutes"
        assert vouchers[0]["description"].startswith("Z 1 Kassa 1 ")
        assert "Logga in" in get(f"http://127.0.0.1:{web}/login") or "Sign in" in get(
            f"http://127.0.0.1:{web}/login"
        )
        with sqlite3.connect(tmp_path / "demo" / "dagskassa.sqlite") as db:
            assert db.execute("SELECT state, external_ref FROM exports").fetchall() == [("posted", "K 1")]
        assert vouchers[0]["description"] in get(f"http://127.0.0.1:{fortnox}/_sandbox/ledger")
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert demo.returncode == 0, output[-3000:]
    assert "sign in as demo@dagskassa.se" in output
    assert "Dagskassa demo stopped." in output
